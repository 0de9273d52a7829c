/**
 * The Redis pop scripts' form of `groupLimits` (queue.ts groupLimitsArg): '' for none; else the
 * defaults and each per-key entry resolved (an entry replaces the defaults), keys escaped as the
 * stored header and key names hold them, 0 = no limit, rate windows in ms.
 */
import { describe, expect, test } from 'vitest';
import { groupLimitsArg } from '../../src/backends/redis/queue.js';

describe('redis groupLimits ARGV', () => {
  test('none is the empty string', () => {
    expect(groupLimitsArg(null)).toBe('');
  });

  test('defaults, and per-key entries that replace them, keys escaped', () => {
    expect(JSON.parse(groupLimitsArg({ maxConcurrent: 2 }))).toEqual({ d: [2, 0, 0] });
    expect(
      JSON.parse(
        groupLimitsArg({
          maxConcurrent: 1,
          rate: { max: 5, perSeconds: 1.5 },
          keys: { 'a:{b}|': { maxConcurrent: 3 }, free: {}, r: { rate: { max: 1, perSeconds: 60 } } },
        }),
      ),
    ).toEqual({
      d: [1, 5, 1500],
      k: { 'a%3A%7Bb%7D%7C': [3, 0, 0], free: [0, 0, 0], r: [0, 1, 60_000] },
    });
  });
});
