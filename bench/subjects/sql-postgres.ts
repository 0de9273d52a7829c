/**
 * Subject `sql-postgres`: switchyard's SQL backend on the PostgreSQL named by `SWITCHYARD_PG_URL`,
 * in group `postgres` with its peers `pg-boss` and `graphile-worker` (same server).
 *
 * Every run uses its own table prefix (`swy_<run>_`) and its own knex pool (max = drain workers);
 * teardown drops the prefix's tables (`dropSchema`). Drain defaults to `popBatch(100)` + `ackBatch`
 * from 16 workers on one queue object, which coalesces the pops waiting together into one
 * `UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED) RETURNING` (up to 1,000 rows) and the acks
 * waiting together into one `DELETE` (src/backends/sql/coalescer.ts); `--drain-batch 1` measures
 * `pop()` + `ack()`, coalesced the same way.
 *
 * @packageDocumentation
 */
import { envUrl, PG_URL_ENV, pgAvailable, sqlQueueSubject } from '../lib/sql.js';
import type { Subject } from '../lib/types.js';

/** switchyard's SQL backend on PostgreSQL. */
const sqlPostgres: Subject = sqlQueueSubject('sql-postgres', {
  group: 'postgres',
  description: `switchyard sql backend on PostgreSQL (${PG_URL_ENV}), claim tracking on, popBatch(100) drain`,
  // Every claim / ack commits (fsync): sized for a few seconds per run on 2 cores.
  defaults: { single: 5_000, bulk: 100_000, drain: 20_000, concurrency: 16, drainBatch: 100 },
  available: pgAvailable,
  target: (ctx) => {
    const url = envUrl(PG_URL_ENV);
    if (url === undefined) throw new Error(`sql-postgres subject: ${PG_URL_ENV} is not set`);
    return { settings: { client: 'pg', connection: url, pool: { min: 0, max: ctx.concurrency } } };
  },
});

export default sqlPostgres;
