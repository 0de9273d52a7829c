/**
 * The Redis backend's connection side: the structural client type the queue talks to, its
 * settings and their validation, owned clients built from a URL (ioredis), the bounded wait for a
 * usable connection, and the mapping of driver errors to switchyard's codes.
 *
 * @packageDocumentation
 */
import { Cluster, Redis } from 'ioredis';
import type { BackendSettings } from '../../core/backend.js';
import { redactUrl } from '../../core/checks.js';
import { configInvalid, ErrorCode, type Issue, SwitchyardError, wrapDriverError } from '../../core/errors.js';

export { redactUrl };

/**
 * What the backend needs from a Redis client: an ioredis `Redis` instance satisfies it. Only
 * `call` is on the hot path; the rest is for the connection wait and for closing owned clients.
 */
export interface RedisClientLike {
  /** ioredis status: `wait`, `connecting`, `connect`, `ready`, `reconnecting`, `close`, `end`. */
  readonly status: string;
  /** Sends one command; resolves with its reply. */
  call(command: string, args: (string | Buffer | number)[]): Promise<unknown>;
  on(event: string, listener: (arg: unknown) => void): unknown;
  removeListener(event: string, listener: (arg: unknown) => void): unknown;
  /** Starts connecting a lazily-connecting client. */
  connect(): Promise<void>;
  /** Closes after pending replies. */
  quit(): Promise<unknown>;
  /** Closes at once. */
  disconnect(): void;
  /**
   * A new connection with the same options (ioredis `Redis` and `Cluster` have it); the wake
   * subscriber is made with it.
   * Without it, `waitForJobs()` cannot subscribe and runs out its timeout (callers poll).
   */
  duplicate?(...args: never[]): unknown;
  /** True on an ioredis `Cluster` (its `duplicate` takes startup nodes and cluster options). */
  readonly isCluster?: boolean;
  /** Connection options, read for the store identity (ioredis has them). */
  readonly options?: {
    readonly host?: string | undefined;
    readonly port?: number | undefined;
    readonly db?: number | undefined;
    readonly path?: string | null | undefined;
    readonly keyPrefix?: string | undefined;
  };
}

/** Backend settings of the Redis backend (a `connections` entry or a `jobTypeConf` entry). */
export interface RedisSettings {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://…`; the backend owns this client. */
  readonly url?: string;
  /**
   * A Redis Cluster instead of `url`: some of its nodes as `redis://` or `rediss://` URLs (the
   * startup nodes; the client learns the rest). Credentials and TLS come from the first URL; the
   * backend owns the ioredis `Cluster` client. Every key of a queue carries one hash tag, so each
   * queue's scripts run on one node.
   */
  readonly cluster?: readonly string[];
  /** A host-provided ioredis client; never closed by switchyard. */
  readonly client?: RedisClientLike;
  /** Key prefix. Default `swy`. No whitespace, braces or control characters. */
  readonly prefix?: string;
  /** Seconds to wait for a usable connection before `SWITCHYARD_CONNECTION_LOST`. Default 10. */
  readonly connectTimeout?: number;
  /** Gzip payloads whose JSON exceeds this many bytes; null / absent = never. */
  readonly compressAbove?: number | null;
  /**
   * Jobs a queue handle claims ahead of its `pop()` calls (0 = none, the default; at most 1000).
   * See the README's redis section: buffered jobs are claimed, so other handles do not see them.
   */
  readonly prefetch?: number;
}

/** The largest {@link RedisSettings.prefetch}: jobs per script call. */
export const MAX_PREFETCH = 1000;

/** Defaults of {@link RedisSettings}. */
export const REDIS_DEFAULTS = Object.freeze({
  prefix: 'swy',
  connectTimeout: 10,
});

/** Every setting name, for "is not a setting" messages. */
export const REDIS_SETTING_KEYS: readonly string[] = Object.freeze([
  'url',
  'cluster',
  'client',
  'prefix',
  'connectTimeout',
  'compressAbove',
  'prefetch',
]);

/** Key prefixes: printable, no whitespace, no `{` `}` (they would break the Cluster hash tag). */
const PREFIX_PATTERN = /^[^\s{}\p{Cc}]+$/u;

/** Checks Redis settings; `path` prefixes each issue. Never puts a URL (it may hold a password) in an issue. */
export function validateRedisSettings(settings: BackendSettings, path: string): Issue[] {
  const issues: Issue[] = [];
  const at = (k: string) => (path ? `${path}.${k}` : k);
  for (const key of Object.keys(settings)) {
    if (!REDIS_SETTING_KEYS.includes(key)) {
      issues.push({ path: at(key), message: 'is not a redis backend setting', choices: REDIS_SETTING_KEYS });
    }
  }
  const { url, client, prefix, connectTimeout, compressAbove, prefetch } = settings;
  if (url !== undefined) {
    if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
      issues.push({
        path: at('url'),
        message: 'must be a redis:// or rediss:// URL',
        ...(typeof url === 'string' ? {} : { value: url }),
      });
    } else {
      try {
        new URL(url);
      } catch {
        issues.push({ path: at('url'), message: 'is not a valid URL' });
      }
    }
  }
  const { cluster } = settings;
  if (cluster !== undefined) {
    if (!Array.isArray(cluster) || cluster.length === 0) {
      issues.push({
        path: at('cluster'),
        message: 'must be a non-empty list of redis:// or rediss:// node URLs',
      });
    } else {
      cluster.forEach((node: unknown, i: number) => {
        if (typeof node !== 'string' || !/^rediss?:\/\//.test(node) || !URL.canParse(node)) {
          issues.push({
            path: at(`cluster[${i}]`),
            message: 'must be a redis:// or rediss:// URL',
            ...(typeof node === 'string' ? {} : { value: node }),
          });
        }
      });
    }
    if (url !== undefined || client !== undefined) {
      issues.push({ path: at('cluster'), message: 'give one of url, cluster or client' });
    }
  }
  if (client !== undefined && !isClientLike(client)) {
    issues.push({ path: at('client'), message: 'must be an ioredis client (with call, status and quit)' });
  }
  if (url !== undefined && client !== undefined) {
    issues.push({ path: at('client'), message: 'give either url or client, not both' });
  }
  if (prefix !== undefined && (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix))) {
    issues.push({
      path: at('prefix'),
      message: 'must be a non-empty key prefix without whitespace, braces or control characters',
      value: prefix,
    });
  }
  if (
    connectTimeout !== undefined &&
    (typeof connectTimeout !== 'number' || !Number.isFinite(connectTimeout) || connectTimeout <= 0)
  ) {
    issues.push({
      path: at('connectTimeout'),
      message: 'must be a number of seconds > 0',
      value: connectTimeout,
    });
  }
  if (
    compressAbove !== undefined &&
    compressAbove !== null &&
    (typeof compressAbove !== 'number' || !Number.isInteger(compressAbove) || compressAbove < 0)
  ) {
    issues.push({
      path: at('compressAbove'),
      message: 'must be a number of bytes ≥ 0, or null',
      value: compressAbove,
    });
  }
  if (
    prefetch !== undefined &&
    (typeof prefetch !== 'number' || !Number.isInteger(prefetch) || prefetch < 0 || prefetch > MAX_PREFETCH)
  ) {
    issues.push({
      path: at('prefetch'),
      message: `must be an integer from 0 to ${MAX_PREFETCH} (jobs claimed ahead per handle)`,
      value: prefetch,
    });
  }
  return issues;
}

/** Throws `SWITCHYARD_CONFIG_INVALID` when the settings have problems. */
export function assertRedisSettings(settings: BackendSettings, source: string): void {
  const issues = validateRedisSettings(settings, '');
  if (issues.length > 0) throw configInvalid(issues, source);
}

/** True when `value` looks like an ioredis client. */
export function isClientLike(value: unknown): value is RedisClientLike {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    typeof c.call === 'function' &&
    typeof c.quit === 'function' &&
    typeof c.on === 'function' &&
    typeof c.status === 'string'
  );
}

/** Last error seen on each owned client (ioredis emits them as events). */
const lastErrors = new WeakMap<RedisClientLike, unknown>();

/**
 * A client for `url`, owned by the caller (close it with `quit`). Connects lazily on first use.
 * Fails fast rather than queueing forever: a command waits for a reconnection at most once
 * (`maxRetriesPerRequest: 1`), and the queue bounds the wait for a connection by `connectTimeout`.
 */
export function createOwnedClient(url: string, connectTimeoutSeconds: number): RedisClientLike {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: Math.max(1, Math.round(connectTimeoutSeconds * 1000)),
    maxRetriesPerRequest: 1,
  });
  // An owned client's errors surface through the calls that hit them; keep the last one for the
  // message and keep ioredis from logging "Unhandled error event".
  client.on('error', (err: unknown) => lastErrors.set(client, err));
  return client;
}

/**
 * An ioredis `Cluster` over the startup nodes `urls`, owned by the caller, with the same
 * fail-fast options as {@link createOwnedClient}; user, password, TLS and database come from the
 * first URL (a cluster has one database, 0).
 */
export function createOwnedCluster(urls: readonly string[], connectTimeoutSeconds: number): RedisClientLike {
  const first = new URL(urls[0] as string);
  const tls = first.protocol === 'rediss:' ? { tls: {} } : {};
  const cluster = new Cluster(
    urls.map((u) => {
      const n = new URL(u);
      return { host: n.hostname, port: n.port === '' ? 6379 : Number(n.port) };
    }),
    {
      lazyConnect: true,
      redisOptions: {
        connectTimeout: Math.max(1, Math.round(connectTimeoutSeconds * 1000)),
        maxRetriesPerRequest: 1,
        ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
        ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
        ...tls,
      },
    },
  );
  cluster.on('error', (err: unknown) => lastErrors.set(cluster as unknown as RedisClientLike, err));
  return cluster as unknown as RedisClientLike;
}

/** The client that `settings` (with `url` or `cluster`) asks the backend to own. */
export function createOwnedFrom(settings: RedisSettings, connectTimeoutSeconds: number): RedisClientLike {
  return settings.cluster !== undefined
    ? createOwnedCluster(settings.cluster, connectTimeoutSeconds)
    : createOwnedClient(settings.url as string, connectTimeoutSeconds);
}

/** How messages name the server(s) of `settings` (passwords redacted). */
export function describeSettings(settings: RedisSettings): string | null {
  if (settings.url !== undefined) return redactUrl(settings.url);
  if (settings.cluster !== undefined) return `cluster ${settings.cluster.map(redactUrl).join(', ')}`;
  return null;
}

/** Redis replies that mean the credentials were refused. */
function isAuthError(err: unknown): boolean {
  return err instanceof Error && /^(WRONGPASS|NOAUTH|NOPERM)\b|invalid password/i.test(err.message);
}

/** Driver errors that mean the connection is unusable (not a bad command). */
function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  const code = (err as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    /^(ECONN|ETIMEDOUT|ENOTFOUND|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_)/.test(code)
  ) {
    return true;
  }
  return /Connection is closed|Stream isn't writeable|connect ETIMEDOUT|Command timed out/i.test(err.message);
}

/**
 * Wraps a driver error: credentials and connection failures become `SWITCHYARD_CONNECTION_LOST`,
 * anything else `SWITCHYARD_BACKEND_ERROR`; the original stays as `cause`.
 */
export function wrapRedisError(err: unknown, what: string, where: string): SwitchyardError {
  if (err instanceof SwitchyardError) return err;
  if (isAuthError(err)) return authFailed(err, where);
  const code = isConnectionError(err) ? ErrorCode.CONNECTION_LOST : ErrorCode.BACKEND_ERROR;
  return wrapDriverError(err, `${what} on ${where}`, code);
}

function authFailed(err: unknown, where: string): SwitchyardError {
  const detail = err instanceof Error ? err.message : String(err);
  return new SwitchyardError(
    ErrorCode.CONNECTION_LOST,
    `Redis at ${where} refused the credentials (check the user and password of the connection): ${detail}`,
    { cause: err },
  );
}

const waits = new WeakMap<RedisClientLike, Promise<void>>();

/**
 * Resolves once `client` is ready; rejects with `SWITCHYARD_CONNECTION_LOST` after `timeoutMs`
 * (naming the last driver error), at once when the credentials are refused or the client was
 * closed. Concurrent callers share one wait per client.
 */
export function ensureReady(client: RedisClientLike, timeoutMs: number, where: string): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  let wait = waits.get(client);
  if (!wait) {
    wait = waitReady(client, timeoutMs, where).finally(() => waits.delete(client));
    waits.set(client, wait);
  }
  return wait;
}

function waitReady(client: RedisClientLike, timeoutMs: number, where: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (client.status === 'end') {
      reject(
        new SwitchyardError(ErrorCode.CONNECTION_LOST, `the Redis connection to ${where} is closed`, {
          cause: lastErrors.get(client),
        }),
      );
      return;
    }
    let last: unknown = lastErrors.get(client);
    const cleanup = () => {
      clearTimeout(timer);
      client.removeListener('ready', onReady);
      client.removeListener('error', onError);
      client.removeListener('end', onEnd);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (err: unknown) => {
      last = err;
      if (isAuthError(err)) {
        cleanup();
        reject(authFailed(err, where));
      }
    };
    const onEnd = () => {
      cleanup();
      reject(lost(`the Redis connection to ${where} ended`, last));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(lost(`could not reach Redis at ${where} within ${timeoutMs / 1000} s`, last));
    }, timeoutMs);
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('end', onEnd);
    if (client.status === 'wait') {
      // Errors arrive as events; the promise's rejection is the same error.
      client.connect().catch(() => {});
    }
  });
}

function lost(message: string, cause: unknown): SwitchyardError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new SwitchyardError(
    ErrorCode.CONNECTION_LOST,
    `${message}${detail}`,
    cause === undefined ? {} : { cause },
  );
}

let anonymousClients = 0;
const clientIds = new WeakMap<RedisClientLike, string>();

/**
 * Where `client` points, for `storeKey` and messages: `host:port/db` (plus ioredis's keyPrefix),
 * or a per-process client identity when the options do not say.
 */
export function describeClient(client: RedisClientLike): string {
  const o = client.options;
  if (o && (typeof o.host === 'string' || typeof o.path === 'string')) {
    const addr = typeof o.path === 'string' && o.path ? o.path : `${o.host}:${o.port ?? 6379}`;
    return `${addr}/${o.db ?? 0}${o.keyPrefix ? `+${o.keyPrefix}` : ''}`;
  }
  let id = clientIds.get(client);
  if (!id) {
    id = `client-${++anonymousClients}`;
    clientIds.set(client, id);
  }
  return id;
}

/**
 * Closes a client we own: QUIT when connected (pending replies arrive first) and wait until the
 * socket is gone, so no handle outlives `close()`; otherwise disconnect at once (a client that is
 * reconnecting has no socket: ioredis just stops retrying).
 */
export async function closeClient(client: RedisClientLike): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    const ended = onceEnded(client, 2_000);
    try {
      await client.quit();
      await ended;
      return;
    } catch {
      // fall through to a hard close
    }
  }
  client.disconnect();
}

/** Resolves on the client's `end` event, or after `ms` at the latest. */
function onceEnded(client: RedisClientLike, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.removeListener('end', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    client.on('end', done);
  });
}
