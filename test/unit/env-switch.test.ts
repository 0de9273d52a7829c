import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

// The skip-or-fail switch is what keeps CI honest, so it gets a test of its own: a tiny suite that
// needs an unset service is run in a child vitest, once plain and once as CI runs it.
const repo = resolve(import.meta.dirname, '../..');

function runProbe(env: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-env-'));
  const file = join(dir, 'probe.test.ts');
  writeFileSync(
    file,
    `import { test } from 'vitest';
import { describeIfService, services } from ${JSON.stringify(join(repo, 'test/helpers/env.ts'))};
const probe = { ...services.redis, variable: 'SWITCHYARD_PROBE_UNSET_URL' };
describeIfService(probe, 'probe suite', () => { test('runs', () => {}); });
test('always', () => {});
`,
  );
  const result = spawnSync(
    process.execPath,
    [join(repo, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir, '--dir', dir, file],
    { cwd: repo, env: { ...process.env, ...env, SWITCHYARD_PROBE_UNSET_URL: '' }, encoding: 'utf8' },
  );
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe('service switches', () => {
  test('an absent service skips with one line saying how to enable it', () => {
    const { status, output } = runProbe({ SWITCHYARD_REQUIRE_SERVICES: '' });
    expect(status).toBe(0);
    expect(output).toContain('suites skipped: set SWITCHYARD_PROBE_UNSET_URL');
  }, 60_000);

  test('SWITCHYARD_REQUIRE_SERVICES=1 turns the skip into a failure', () => {
    const { status, output } = runProbe({ SWITCHYARD_REQUIRE_SERVICES: '1' });
    expect(status).not.toBe(0);
    expect(output).toContain('SWITCHYARD_REQUIRE_SERVICES=1 but SWITCHYARD_PROBE_UNSET_URL is unset');
  }, 60_000);
});
