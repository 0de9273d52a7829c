/**
 * The conformance suite on the sql backend over SQLite: one temporary database file (WAL) for
 * the whole file, opened through the backend's own connection path. Always runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { SqlDatabase, SqlJobQueue, sqlSupports } from '../../src/backends/sql/index.js';
import { runBackendConformance } from '../../src/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-sqlite-'));
const database = SqlDatabase.open({ filename: join(dir, 'conformance.sqlite') });

runBackendConformance({
  name: 'sql (SQLite)',
  supports: sqlSupports,
  describe,
  test,
  beforeAll,
  afterAll,
  factory: (options) => new SqlJobQueue({ ...options, database }),
  setup: async () => {
    await database.ensureSchema(database.prefix, 'on-first-use');
  },
  teardown: async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  },
});
