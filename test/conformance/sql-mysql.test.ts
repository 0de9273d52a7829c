/**
 * The conformance suite on the sql backend over MySQL / MariaDB: one pool for the file, tables under a
 * unique prefix, dropped in teardown. Runs when SWITCHYARD_MYSQL_URL is set (test/helpers/env.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { dropSchema, SqlDatabase, SqlJobQueue, sqlSupports } from '../../src/backends/sql/index.js';
import { runBackendConformance } from '../../src/testing/index.js';
import { describeIfService, services } from '../helpers/env.js';

describeIfService(services.mysql, 'sql backend on MySQL/MariaDB', (url) => {
  const prefix = `syc_${randomUUID().replaceAll('-', '').slice(0, 8)}_`;
  // Opened in setup: a skipped block still runs this callback (with an empty URL).
  let database: SqlDatabase | null = null;

  runBackendConformance({
    name: 'sql (MySQL/MariaDB)',
    supports: sqlSupports,
    describe,
    test,
    beforeAll,
    afterAll,
    factory: (options) => {
      if (!database) throw new Error('the conformance setup did not open the database');
      return new SqlJobQueue({ ...options, database });
    },
    setup: async () => {
      database = SqlDatabase.open({ connection: url, prefix, pool: { max: 10 } });
      await database.ensureSchema(prefix, 'on-first-use');
    },
    teardown: async () => {
      if (!database) return;
      await dropSchema(await database.knex(), { prefix });
      await database.close();
    },
  });
});
