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

test('a host knex instance is used as is and never destroyed', async () => {
  const { default: knexFactory } = await import('knex');
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: join(dir, 'host.sqlite') },
    useNullAsDefault: true,
  });
  const agg = new SqlAggregator({ knex, prefix: 'host_' });
  await agg.replaceReadyQueues({ t: ['d'] });
  expect(await agg.getAllReadyQueues()).toEqual({ t: ['d'] });
  await agg.close();
  const rows = await knex.raw('SELECT COUNT(*) AS n FROM host_aggregator_ready');
  expect(rows).toEqual([{ n: 1 }]);
  await knex.destroy();
});

test('createAggregator() without a pool opens a private database from the named connection', async () => {
  const { createAggregator, resolveConfig } = await import('../../src/container.js');
  const file = join(dir, 'named.sqlite');
  const config = await resolveConfig({
    connections: { db: { class: 'sql', filename: file } },
    jobTypeConf: { default: { class: 'sql', connection: 'db' } },
    aggregator: { class: 'sql', connection: 'db', cacheTTL: 30 },
  });
  const agg = (await createAggregator(config)) as SqlAggregator;
  expect(agg).toBeInstanceOf(SqlAggregator);
  expect(agg.cacheTTL).toBe(30);
  expect(agg.tables.ready).toBe('switchyard_aggregator_ready');
  await agg.replaceReadyQueues({});
  expect(await agg.getAllReadyQueues()).toEqual({});
  await agg.close();
});
