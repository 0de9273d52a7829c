import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real binary. */
export const BIN = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));
export const HANDLERS = fileURLToPath(new URL('./fixtures/handlers.ts', import.meta.url));
export const NO_HANDLERS = fileURLToPath(new URL('./fixtures/no-handlers.ts', import.meta.url));
export const MAP_HANDLERS = fileURLToPath(new URL('./fixtures/map-handlers.ts', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawns `switchyard ...args` (from the TS source) and collects its output. */
export function runCli(
  args: readonly string[],
  options: { readonly cwd?: string; readonly input?: string; readonly env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? tmpdir(),
      env: { ...process.env, SWITCHYARD_CLI_SOURCE: '1', SWITCHYARD_CONFIG: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A temp dir with a config file (YAML text); returns the dir and the config path. */
export function withConfig(yaml: string): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
  const config = join(dir, 'switchyard.config.yaml');
  writeFileSync(config, yaml);
  return { dir, config };
}

/** The jobTypes and runners lines every test config shares (two groups). */
export const SHARED_YAML = `jobTypes: [t1, t2, fail, slow]
runners:
  ones: { runners: 2, include: [t1, fail, slow] }
  twos: { runners: 2, concurrency: 8, include: ['*'], exclude: [t1, fail, slow] }
`;

/** A config on a fresh SQLite file. */
export function sqliteConfig(): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
  const config = join(dir, 'switchyard.config.yaml');
  writeFileSync(
    config,
    `jobTypeConf:\n  default: { class: sql, filename: ${JSON.stringify(join(dir, 'jobs.sqlite'))}, maxTries: 2 }\n${SHARED_YAML}`,
  );
  return { dir, config };
}

/** A unique name for table / key prefixes. */
export function uniquePrefix(): string {
  return `cli_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
}

/** The last non-empty stderr line. */
export function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}
