/**
 * The sql backend as the registry loads it (`class: sql`): connections from `connections`
 * entries, settings validated at config time, and a {@link SqlJobQueue} per queue (on the named
 * connection's database, or a private one).
 *
 * @packageDocumentation
 */
import type { BackendContext, BackendModule, BackendSettings } from '../../core/backend.js';
import { configInvalid, type Issue } from '../../core/errors.js';
import type { JobQueue } from '../../core/job-queue.js';
import { SqlDatabase } from './database.js';
import { SqlJobQueue, sqlSupports } from './queue.js';
import {
  CONNECTION_KEYS,
  type MigrateMode,
  type SqlConnectionSettings,
  validateSqlSettings,
} from './settings.js';

/** Opens a `connections` entry of class `sql` (no I/O until the first query). */
function openConnection(settings: BackendSettings) {
  const db = SqlDatabase.open(settings as SqlConnectionSettings);
  return { handle: db, close: () => db.close() };
}

function createQueue(context: BackendContext): JobQueue {
  const settings = context.settings as SqlConnectionSettings & Record<string, unknown>;
  const connection = context.connection;
  if (connection === null) return new SqlJobQueue({ ...context.queue, ...settings });
  const handle = connection.handle;
  const where = `jobTypeConf.${context.queue.type}`;
  const issues: Issue[] = [];
  if (!(handle instanceof SqlDatabase)) {
    issues.push({
      path: `${where}.connection`,
      message: 'is not a sql connection',
      value: context.connectionName,
    });
  }
  for (const key of SQL_CONNECTION_KEYS) {
    if (settings[key] !== undefined) {
      issues.push({
        path: `${where}.${key}`,
        message: `belongs on the connection entry (connections.${context.connectionName ?? '?'}), not next to connection`,
      });
    }
  }
  if (issues.length > 0) throw configInvalid(issues, `sql queue "${context.queue.type}"`);
  const overrides: { prefix?: string; migrate?: MigrateMode; maxJobBytes?: number } = {};
  if (settings.prefix !== undefined) overrides.prefix = settings.prefix;
  if (settings.migrate !== undefined) overrides.migrate = settings.migrate;
  // The entry's limit wins over the connection's (found by the chaos suite's job fuzzing: it was dropped).
  if (settings.maxJobBytes !== undefined) overrides.maxJobBytes = settings.maxJobBytes;
  return new SqlJobQueue({ ...context.queue, ...overrides, database: handle as SqlDatabase });
}

/** Settings that belong on a `connections` entry, not on an entry that names one. */
const SQL_CONNECTION_KEYS: readonly string[] = Object.freeze([...CONNECTION_KEYS, 'knex']);

/** The sql backend as the registry loads it (`class: sql`). */
export const sqlBackend: BackendModule = Object.freeze({
  name: 'sql',
  supports: sqlSupports,
  validateSettings: (settings: BackendSettings, path: string) => validateSqlSettings(settings, path),
  validateConnection: (settings: BackendSettings, path: string) => validateSqlSettings(settings, path),
  connectionKeys: SQL_CONNECTION_KEYS,
  openConnection,
  createQueue,
});
