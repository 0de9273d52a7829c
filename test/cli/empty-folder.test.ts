/**
 * Issue 14 point 6: the CLI in an empty folder. No config file means the embedded SQLite default
 * (said once on stderr); `show-jobs` lists types the store holds that the config does not
 * declare; a handlers module may export plain functions; `switchyard init` writes a starter
 * config that works as written.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from './helpers.js';

function emptyDir(): string {
  return mkdtempSync(join(tmpdir(), 'switchyard-empty-'));
}

/** A handlers module in `dir` whose `hello` appends each job's params to `ran.txt`. */
function writeHandlers(dir: string, style: 'default-functions' | 'named-functions'): string {
  const file = join(dir, style === 'default-functions' ? 'handlers.mjs' : 'named.mjs');
  const body =
    style === 'default-functions'
      ? `export default {\n  hello: async (job) => {\n    appendFileSync(out, JSON.stringify(job.params) + '\\n');\n  },\n};\n`
      : `export async function hello(job) {\n  appendFileSync(out, JSON.stringify(job.params) + '\\n');\n}\nexport const version = '1';\n`;
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs';\nconst out = new URL('./ran.txt', import.meta.url);\n${body}`,
  );
  return file;
}

function ranLines(dir: string): string[] {
  const file = join(dir, 'ran.txt');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
}

describe('switchyard in an empty folder', () => {
  test('push with no config uses ./switchyard.sqlite and says so once on stderr', async () => {
    const dir = emptyDir();
    const r = await runCli(['push', '--type', 'hello', '--params', '{}'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('pushed 1 job');
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^switchyard: no config file in .*: using the embedded SQLite queue \.\/switchyard\.sqlite/,
    );
    expect(existsSync(join(dir, 'switchyard.sqlite'))).toBe(true);

    const shown = await runCli(['show-jobs', '--json'], { cwd: dir });
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual({
      domain: 'default',
      ready: 1,
      claimed: 0,
      delayed: 0,
      abandoned: 0,
    });
  });

  test('push accepts removeDuplicatesIgnoreParams in JSON lines', async () => {
    const dir = emptyDir();
    const lines = [
      {
        type: 'hello',
        params: { page: 1, ts: 1 },
        removeDuplicates: true,
        removeDuplicatesIgnoreParams: ['ts'],
      },
      {
        type: 'hello',
        params: { page: 1, ts: 2 },
        removeDuplicates: true,
        removeDuplicatesIgnoreParams: ['ts'],
      },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n');
    const r = await runCli(['push', '--json'], { cwd: dir, input: `${lines}\n` });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ jobs: 2, inserted: 1, duplicates: 1 });
  });

  test('show-jobs lists types the store holds but the config does not declare, marked', async () => {
    const dir = emptyDir();
    expect((await runCli(['push', '--type', 'hello', '--params', '{"n":1}'], { cwd: dir })).code).toBe(0);
    expect((await runCli(['push', '--type', 'hello', '--params', '{"n":2}'], { cwd: dir })).code).toBe(0);
    expect(
      (await runCli(['push', '--type', 'other', '--params', '{}', '--domain', 'elsewhere'], { cwd: dir }))
        .code,
    ).toBe(0);
    // Now a config over the same file that declares another type only.
    writeFileSync(
      join(dir, 'switchyard.config.yaml'),
      'jobTypeConf:\n  default: { class: sql, filename: ./switchyard.sqlite }\njobTypes: [declared]\n',
    );
    const group = await runCli(['show-jobs', '--group', '--json'], { cwd: dir });
    expect(group.code, group.stderr).toBe(0);
    expect(JSON.parse(group.stdout)).toEqual({
      declared: { ready: 0, claimed: 0, delayed: 0, abandoned: 0, waiting: 0 },
      hello: { ready: 2, claimed: 0, delayed: 0, abandoned: 0, waiting: 0, undeclared: true },
    });
    const table = await runCli(['show-jobs', '--group'], { cwd: dir });
    expect(table.stdout).toMatch(/^hello \(undeclared\)\s+2\s+0\s+0\s+0$/m);
    const totals = await runCli(['show-jobs', '--json'], { cwd: dir });
    expect(JSON.parse(totals.stdout)).toMatchObject({ ready: 2 });
    const other = await runCli(['show-jobs', '--group', '--json', '--domain', 'elsewhere'], { cwd: dir });
    expect(JSON.parse(other.stdout)).toEqual({
      declared: { ready: 0, claimed: 0, delayed: 0, abandoned: 0, waiting: 0 },
      other: { ready: 1, claimed: 0, delayed: 0, abandoned: 0, waiting: 0, undeclared: true },
    });
    const all = await runCli(['show-jobs', '--group', '--all-domains', '--json'], { cwd: dir });
    expect(all.code, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual({
      default: {
        declared: { ready: 0, claimed: 0, delayed: 0, abandoned: 0, waiting: 0 },
        hello: { ready: 2, claimed: 0, delayed: 0, abandoned: 0, waiting: 0, undeclared: true },
      },
      elsewhere: {
        declared: { ready: 0, claimed: 0, delayed: 0, abandoned: 0, waiting: 0 },
        other: { ready: 1, claimed: 0, delayed: 0, abandoned: 0, waiting: 0, undeclared: true },
      },
    });
    const allTable = await runCli(['show-jobs', '--group', '--all-domains'], { cwd: dir });
    expect(allTable.stdout).toMatch(/^domain\s+type\s+ready/);
    expect(allTable.stdout).toMatch(/^elsewhere\s+other \(undeclared\)\s+1\s+0\s+0\s+0$/m);
    const needsGroup = await runCli(['show-jobs', '--all-domains'], { cwd: dir });
    expect(needsGroup.code).toBe(2);
    const listed = await runCli(['show-jobs', '--list', '--type', 'hello', '--json'], { cwd: dir });
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as unknown[]).length).toBe(2);
  });

  test('a handlers module exporting plain functions (default map or named exports) runs the jobs', async () => {
    for (const style of ['default-functions', 'named-functions'] as const) {
      const dir = emptyDir();
      const handlers = writeHandlers(dir, style);
      for (const n of [1, 2, 3]) {
        const p = await runCli(['push', '--type', 'hello', '--params', JSON.stringify({ n })], { cwd: dir });
        expect(p.code, p.stderr).toBe(0);
      }
      const r = await runCli(['run-jobs', '--handlers', handlers, '--json'], { cwd: dir });
      expect(r.code, `${style}: ${r.stderr}`).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ jobs: 3, ok: 3 });
      expect(ranLines(dir).sort()).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    }
  });

  test('init writes a starter config, refuses to overwrite without --force; push then runner drains', async () => {
    const dir = emptyDir();
    const init = await runCli(['init'], { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/^wrote switchyard\.config\.yaml/);
    const file = join(dir, 'switchyard.config.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^# /);
    expect(text).toContain('jobTypes: [hello]');

    writeFileSync(file, `${text}# edited\n`);
    const again = await runCli(['init'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toMatch(/^switchyard: switchyard\.config\.yaml already exists: pass --force/);
    expect(readFileSync(file, 'utf8')).toContain('# edited');
    const forced = await runCli(['init', '--force'], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(text);

    const handlers = writeHandlers(dir, 'default-functions');
    for (const n of [1, 2]) {
      const p = await runCli(['push', '--type', 'hello', '--params', JSON.stringify({ n })], { cwd: dir });
      expect(p.code, p.stderr).toBe(0);
      expect(p.stderr).toBe(''); // a config file now: no defaults notice
    }
    const run = await runCli(['runner', '--handlers', handlers, '--until-empty', '--json'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ jobs: 2, ok: 2 });
    expect(ranLines(dir).sort()).toEqual(['{"n":1}', '{"n":2}']);
    const left = await runCli(['show-jobs', '--json'], { cwd: dir });
    expect(JSON.parse(left.stdout)).toMatchObject({ ready: 0, claimed: 0 });
  });

  test('runner with no config finds jobs of an undeclared type its handlers handle', async () => {
    const dir = emptyDir();
    const handlers = writeHandlers(dir, 'named-functions');
    expect((await runCli(['push', '--type', 'hello', '--params', '{"n":9}'], { cwd: dir })).code).toBe(0);
    const run = await runCli(['runner', '--handlers', handlers, '--until-empty', '--json'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ jobs: 1, ok: 1 });
    expect(run.stderr.trim().split('\n')).toHaveLength(1); // the defaults notice, once
  });
});
