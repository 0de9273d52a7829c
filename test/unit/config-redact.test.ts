/**
 * An environment value never shows in a config error, not even among the valid choices of another
 * key. Found by the chaos suite's config fuzzing (test/chaos/fuzz-config.test.ts): with
 * `domains: ['${SECRET}', …]` and a `defaultDomain` not among them, the issue listed the secret's
 * value as a valid choice.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs use literal ${ENV} references.
import { expect, test } from 'vitest';
import { formatIssues } from '../../src/core/errors.js';
import { isSwitchyardError, resolveConfig } from '../../src/index.js';

test('choices listed in an issue are scrubbed of environment values', async () => {
  const secret = 'a-secret-from-the-environment-42';
  const err = await resolveConfig(
    { domains: ['${DOMAIN_SECRET}', 'dewiki'], defaultDomain: 'enwiki' },
    { env: { DOMAIN_SECRET: secret } },
  ).catch((e: unknown) => e);
  expect(isSwitchyardError(err)).toBe(true);
  if (!isSwitchyardError(err)) return;
  expect(err.issues.map((i) => i.path)).toContain('defaultDomain');
  expect(err.message).not.toContain(secret);
  expect(formatIssues(err.issues)).not.toContain(secret);
  for (const issue of err.issues)
    for (const choice of issue.choices ?? []) expect(choice).not.toContain(secret);
});
