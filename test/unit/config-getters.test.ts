/**
 * A config built in code whose getters (or proxy traps) throw is a SWITCHYARD_CONFIG_INVALID issue
 * at the value's path, never the host's exception out of resolveConfig. Found by the chaos suite's
 * config fuzzing (test/chaos/fuzz-config.test.ts).
 */
import { expect, test } from 'vitest';
import { ErrorCode, isSwitchyardError, resolveConfig } from '../../src/index.js';

function throwingGetter(key: string): object {
  return Object.defineProperty({}, key, {
    enumerable: true,
    get() {
      throw new Error('getter threw');
    },
  });
}

test('a throwing getter or proxy in a config object is an issue naming its path', async () => {
  const proxy = new Proxy(
    {},
    {
      ownKeys() {
        throw new Error('proxy threw');
      },
    },
  );
  const list = ['a'];
  Object.defineProperty(list, 1, {
    enumerable: true,
    get() {
      throw new Error('element threw');
    },
  });
  const err = await resolveConfig({
    connections: { mem: throwingGetter('class') },
    jobTypeConf: { a: { class: 'memory' }, b: proxy },
    jobTypes: list,
  }).catch((e: unknown) => e);
  expect(isSwitchyardError(err, ErrorCode.CONFIG_INVALID)).toBe(true);
  const issues = isSwitchyardError(err) ? err.issues.map((i) => [i.path, i.message]) : [];
  expect(issues).toEqual(
    expect.arrayContaining([
      ['connections.mem.class', 'cannot be read: getter threw'],
      ['jobTypeConf.b', 'cannot be read: proxy threw'],
      ['jobTypes[1]', 'cannot be read: element threw'],
    ]),
  );
});
