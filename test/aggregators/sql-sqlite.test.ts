/** The aggregator conformance suite on the sql aggregator over SQLite (a temporary file). Always runs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { SqlAggregator } from '../../src/aggregators/sql/index.js';
import { SqlDatabase } from '../../src/backends/sql/database.js';
import { runSqlAggregatorConformance } from './sql-shared.js';

const dir = mkdtempSync(join(tmpdir(), 'swy-agg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runSqlAggregatorConformance('sql (SQLite)', () => SqlDatabase.open({ filename: join(dir, 'agg.sqlite') }));

test('an owned database (connection settings) is opened lazily and closed by close()', async () => {
  const agg = new SqlAggregator({ connection: { filename: join(dir, 'owned.sqlite') }, prefix: 'own_' });
  expect(await agg.getAllReadyQueues()).toBeNull();
  await agg.replaceReadyQueues({ t: ['d'] });
  expect(await agg.getAllReadyQueues()).toEqual({ t: ['d'] });
  await agg.close();
  const again = new SqlAggregator({ connection: { filename: join(dir, 'owned.sqlite') }, prefix: 'own_' });
  expect(await again.getAllReadyQueues()).toEqual({ t: ['d'] });
  await again.close();
});

test('bad options throw a TypeError', () => {
  expect(() => new SqlAggregator({ prefix: 'Bad-Prefix' })).toThrow(TypeError);
});
