#!/usr/bin/env node
// tsc compiles only .ts: copy the non-TypeScript files backends read at run time (Lua scripts,
// the job-event schema)
// from src/ to dist/, keeping their paths.
import { cpSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const assets = ['backends/redis/scripts', 'events/mediawiki-job-1.0.0.yaml', 'aggregators/redis/scripts'];
for (const rel of assets) {
  const from = join(root, 'src', rel);
  if (existsSync(from)) cpSync(from, join(root, 'dist', rel), { recursive: true });
}
