#!/usr/bin/env node
// The `switchyard` command. Runs the built CLI (dist/cli/main.js); in a development checkout
// without a build (or with SWITCHYARD_CLI_SOURCE=1) it runs the TypeScript source through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
const useSource = process.env.SWITCHYARD_CLI_SOURCE === '1' || !existsSync(fileURLToPath(dist));

let cli;
if (useSource && existsSync(fileURLToPath(source))) {
  const { register } = await import('tsx/esm/api');
  register();
  // Resolve `switchyard` (e.g. from a --handlers module) to its source too, like --conditions=source.
  const { register: registerHooks } = await import('node:module');
  registerHooks(
    'data:text/javascript,export function resolve(s, c, next) { return next(s, { ...c, conditions: [...c.conditions, "source"] }); }',
  );
  cli = await import(source.href);
} else if (existsSync(fileURLToPath(dist))) {
  cli = await import(dist.href);
} else {
  process.stderr.write('switchyard: dist/cli/main.js is missing; run `npm run build`\n');
  process.exit(70);
}

const code = await cli.main(process.argv);
process.exitCode = code;
// Exit even if a driver left a handle open; stdout/stderr are synchronous for files and pipes.
setTimeout(() => process.exit(code), 2000).unref();
