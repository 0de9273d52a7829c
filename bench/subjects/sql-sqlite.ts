/**
 * Subject `sql-sqlite`: switchyard's SQL backend on SQLite (better-sqlite3, WAL, synchronous =
 * NORMAL: the backend's own pragmas). Always runnable: every run gets a fresh database file in its
 * own temp directory, which teardown removes (with the -wal / -shm files) after dropping the tables.
 *
 * Drain defaults to `popBatch(100)` + `ackBatch` (one `UPDATE … RETURNING` and one `DELETE` per 100
 * jobs); `--drain-batch 1` measures `pop()` + `ack()`.
 *
 * @packageDocumentation
 */
import { sqliteTempTarget, sqlQueueSubject } from '../lib/sql.js';
import type { Subject } from '../lib/types.js';

/** switchyard's SQL backend on a temp SQLite file. */
const sqlSqlite: Subject = sqlQueueSubject('sql-sqlite', {
  group: 'sql',
  description: 'switchyard sql backend, SQLite temp file (WAL), claim tracking on, popBatch(100) drain',
  // One synchronous connection: ~0.2 ms per pop+ack, far less per job when batched.
  defaults: { single: 5_000, bulk: 100_000, drain: 50_000, concurrency: 16, drainBatch: 100 },
  available: () => Promise.resolve(null),
  target: () => sqliteTempTarget(),
});

export default sqlSqlite;
