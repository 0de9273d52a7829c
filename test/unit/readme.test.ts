import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';

// README is the front door: what it shows must run as written and name what the code raises.
const repo = resolve(import.meta.dirname, '../..');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');

describe('README', () => {
  test('the quick start is the demo example, verbatim', () => {
    const section = readme.slice(readme.indexOf('## Quick start'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(readFileSync(join(repo, 'examples/quick-start/main.ts'), 'utf8'));
  });

  test('the demo runs as written on embedded SQLite and shows jobs flowing', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', 'examples/quick-start/main.ts'],
      { cwd: repo, encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('ready per type: { sendEmail: 1, refreshLinks: 1 }');
    expect(run.stdout).toContain('ran refreshLinks {"pageId":1} (attempt 1)');
    expect(run.stdout).toContain('ran sendEmail {"to":"ada@example.org"} (attempt 1)');
    expect(run.stdout).toMatch(/refreshLinks\s*│\s*0\s*│\s*0\s*│\s*1\s*│\s*0/);
    expect(run.stdout).toMatch(/sendEmail\s*│\s*0\s*│\s*0\s*│\s*0\s*│\s*0/);
  }, 60_000);

  test('every error code has its own heading', () => {
    for (const code of Object.values(ErrorCode)) expect(readme).toContain(`### ${code}\n`);
  });
});
