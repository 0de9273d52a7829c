/**
 * The redis backend as the registry loads it: settings and connection validation, shared
 * `connections` entries, and building a {@link RedisJobQueue} from a config entry.
 *
 * @packageDocumentation
 */
import type {
  BackendConnection,
  BackendContext,
  BackendModule,
  BackendSettings,
} from '../../core/backend.js';
import { configInvalid, type Issue } from '../../core/errors.js';
import type { JobQueue } from '../../core/job-queue.js';
import {
  closeClient,
  createOwnedFrom,
  isClientLike,
  REDIS_DEFAULTS,
  type RedisClientLike,
  type RedisSettings,
  validateRedisSettings,
} from './connection.js';
import type { RedisJobQueueOptions } from './options.js';
import { RedisJobQueue } from './queue.js';
import { redisSupports } from './supports.js';
/** The handle of a shared `connections` entry of class redis. */
export class RedisConnection {
  constructor(
    /** The client every queue of the connection uses. */
    readonly client: RedisClientLike,
    /** True when the connection opened the client (and closes it). */
    readonly owned: boolean,
    /** The connection's settings (prefix, connectTimeout, compressAbove), defaults for its queues. */
    readonly settings: RedisSettings,
  ) {}
}

function validateConnectionSettings(settings: BackendSettings, path: string): Issue[] {
  const issues = validateRedisSettings(settings, path);
  if (settings.url === undefined && settings.client === undefined && settings.cluster === undefined) {
    issues.push({
      path: `${path}.url`,
      message: 'is required (or cluster, or a client in a config built in code)',
    });
  }
  return issues;
}

/** Picks the settings a queue inherits from its connection and entry (entry wins). */
function mergedSettings(conn: RedisConnection | null, entry: BackendSettings): RedisJobQueueOptionsTail {
  const pick = <K extends 'prefix' | 'connectTimeout' | 'compressAbove' | 'prefetch'>(key: K): unknown =>
    entry[key] !== undefined ? entry[key] : conn?.settings[key];
  const out: { -readonly [K in keyof RedisJobQueueOptionsTail]: RedisJobQueueOptionsTail[K] } = {};
  const prefix = pick('prefix');
  if (typeof prefix === 'string') out.prefix = prefix;
  const timeout = pick('connectTimeout');
  if (typeof timeout === 'number') out.connectTimeout = timeout;
  const compress = pick('compressAbove');
  if (typeof compress === 'number' || compress === null) out.compressAbove = compress;
  const prefetch = pick('prefetch');
  if (typeof prefetch === 'number') out.prefetch = prefetch;
  return out;
}

type RedisJobQueueOptionsTail = Pick<
  RedisJobQueueOptions,
  'prefix' | 'connectTimeout' | 'compressAbove' | 'prefetch'
>;

/** Settings that belong on a `connections` entry, not on an entry that names one. */
const REDIS_CONNECTION_KEYS: readonly string[] = Object.freeze(['url', 'cluster', 'client']);

/** The redis backend as the registry loads it. */
export const redisBackend: BackendModule = Object.freeze({
  name: 'redis',
  supports: redisSupports,
  validateSettings: validateRedisSettings,
  validateConnection: validateConnectionSettings,
  connectionKeys: REDIS_CONNECTION_KEYS,
  openConnection(settings: BackendSettings): BackendConnection {
    const issues = validateConnectionSettings(settings, 'connection');
    if (issues.length > 0) throw configInvalid(issues, 'redis connection');
    const s = settings as RedisSettings;
    const handle = isClientLike(s.client)
      ? new RedisConnection(s.client, false, s)
      : new RedisConnection(createOwnedFrom(s, s.connectTimeout ?? REDIS_DEFAULTS.connectTimeout), true, s);
    return {
      handle,
      close: async () => {
        if (handle.owned) await closeClient(handle.client);
      },
    };
  },
  createQueue(context: BackendContext): JobQueue {
    const entry = context.settings;
    const raw = context.connection?.handle;
    if (raw !== undefined && !(raw instanceof RedisConnection)) {
      throw configInvalid(
        [{ path: 'connection', message: 'is not a redis connection', value: context.connectionName }],
        `redis queue "${context.queue.type}"`,
      );
    }
    const conn = raw ?? null;
    const own = REDIS_CONNECTION_KEYS.find((k) => entry[k] !== undefined);
    if (conn && own !== undefined) {
      throw configInvalid(
        [
          {
            path: own,
            message: `belongs in the connection "${context.connectionName}" this entry names, not in the entry`,
          },
        ],
        `redis queue "${context.queue.type}"`,
      );
    }
    const tail = mergedSettings(conn, entry);
    if (conn) return new RedisJobQueue({ ...context.queue, ...tail, client: conn.client });
    if (isClientLike(entry.client))
      return new RedisJobQueue({ ...context.queue, ...tail, client: entry.client });
    if (typeof entry.url === 'string')
      return new RedisJobQueue({ ...context.queue, ...tail, url: entry.url });
    if (Array.isArray(entry.cluster))
      return new RedisJobQueue({ ...context.queue, ...tail, cluster: entry.cluster as string[] });
    throw configInvalid(
      [{ path: 'url', message: 'a redis queue needs a connection, a url, a cluster or a client' }],
      `redis queue "${context.queue.type}"`,
    );
  },
});
