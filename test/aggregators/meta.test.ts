/** Meta: every src/aggregators/* folder is a registered built-in with a conformance file, and vice versa. */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BUILTIN_AGGREGATORS, defaultAggregatorRegistry } from '../../src/container.js';

const repo = resolve(import.meta.dirname, '../..');

describe('built-in aggregators', () => {
  test('every src/aggregators/* folder is registered, and every built-in has a folder', () => {
    const dir = join(repo, 'src/aggregators');
    const folders = readdirSync(dir).filter((n) => statSync(join(dir, n)).isDirectory() && n !== 'scripts');
    expect(folders.sort()).toEqual(Object.keys(BUILTIN_AGGREGATORS).sort());
    expect(Object.isFrozen(BUILTIN_AGGREGATORS)).toBe(true);
  });

  test('every built-in has a conformance file under test/aggregators/', () => {
    const files = readdirSync(join(repo, 'test/aggregators'));
    for (const name of Object.keys(BUILTIN_AGGREGATORS)) {
      expect(files.some((f) => f === `${name}.test.ts` || f.startsWith(`${name}-`))).toBe(true);
    }
  });

  test('every built-in loads to a module whose name is its registry name', async () => {
    for (const name of Object.keys(BUILTIN_AGGREGATORS)) {
      const module = await defaultAggregatorRegistry.load(name);
      expect(module.name).toBe(name);
      expect(typeof module.create).toBe('function');
    }
  });

  test('an unknown class is SWITCHYARD_CONFIG_INVALID at aggregator.class with the choices', async () => {
    await expect(defaultAggregatorRegistry.load('nosuch')).rejects.toMatchObject({
      code: 'SWITCHYARD_CONFIG_INVALID',
      issues: [{ path: 'aggregator.class', value: 'nosuch', choices: ['memory', 'redis', 'sql'] }],
    });
  });
});
