/**
 * Subject `sql-mysql`: switchyard's SQL backend on the MySQL / MariaDB named by
 * `SWITCHYARD_MYSQL_URL` (group `sql`; no peer library on MySQL is benchmarked).
 *
 * Every run uses its own table prefix (`swy_<run>_`) and its own knex pool (max = drain workers);
 * teardown drops the prefix's tables (`dropSchema`). Drain defaults to `popBatch(100)` + `ackBatch`
 * (`SELECT … FOR UPDATE SKIP LOCKED` + `UPDATE` in one transaction, one `DELETE` per batch);
 * `--drain-batch 1` measures `pop()` + `ack()`.
 *
 * @packageDocumentation
 */
import { envUrl, MYSQL_URL_ENV, mysqlAvailable, sqlQueueSubject } from '../lib/sql.js';
import type { Subject } from '../lib/types.js';

/** switchyard's SQL backend on MySQL / MariaDB. */
const sqlMysql: Subject = sqlQueueSubject('sql-mysql', {
  group: 'sql',
  description: `switchyard sql backend on MySQL/MariaDB (${MYSQL_URL_ENV}), claim tracking on, popBatch(100) drain`,
  defaults: { single: 5_000, bulk: 100_000, drain: 20_000, concurrency: 16, drainBatch: 100 },
  available: mysqlAvailable,
  target: (ctx) => {
    const url = envUrl(MYSQL_URL_ENV);
    if (url === undefined) throw new Error(`sql-mysql subject: ${MYSQL_URL_ENV} is not set`);
    return { settings: { client: 'mysql2', connection: url, pool: { min: 0, max: ctx.concurrency } } };
  },
});

export default sqlMysql;
