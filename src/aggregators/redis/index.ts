/**
 * The Redis aggregator (promises §7), on ioredis, in the manner of MediaWiki's
 * JobQueueAggregatorRedis: one hash of ready queues, updated by small Lua scripts so every
 * check-and-set is atomic, and a rebuild that writes a temporary hash and RENAMEs it over the
 * live one inside a script.
 *
 * Keys (all under one hash tag, so they share a Redis Cluster slot and RENAME works there):
 * - `{<prefix>}:ready` — hash: `<type length>:<type><domain>` → epoch ms of the latest
 *   non-empty mark. The length prefix keeps any characters in domains and types unambiguous.
 * - `{<prefix>}:built` — string `<builtAt>:<expiresAt>` (`expiresAt` empty = never): the map
 *   exists; without it `getAllReadyQueues()` answers null. Expiry is compared with the caller's
 *   clock, not Redis's, so every host and test agrees on it.
 * - `{<prefix>}:tmp:<random>` — a rebuild in progress (expires after 10 minutes if its writer dies).
 *
 * @packageDocumentation
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createOwnedClient, isClientLike, type RedisClientLike } from '../../backends/redis/connection.js';
import { RedisLink } from '../../backends/redis/link.js';
import type { LuaScript } from '../../backends/redis/script-loader.js';
import type { ReadyQueueMap } from '../../core/aggregator.js';
import { configInvalid } from '../../core/errors.js';
import { type AggregatorOptions, BaseAggregator, type ReadyEntry, type ReplaceHookOptions } from '../base.js';
import { type AggregatorContext, type AggregatorModule, validateRedisAggregatorSettings } from '../module.js';

/** Options of {@link RedisAggregator}: a host `client` (never closed by us) or a `url` (owned). */
export interface RedisAggregatorOptions extends AggregatorOptions {
  /** `redis://…` / `rediss://…`; the aggregator creates and closes this client. */
  readonly url?: string;
  /** A host ioredis client; never closed by the aggregator. */
  readonly client?: RedisClientLike;
  /** Key prefix (no whitespace, braces or control characters). Default `swy:aggregator`. */
  readonly prefix?: string;
  /** Seconds to wait for a usable connection before `SWITCHYARD_CONNECTION_LOST`. Default 10. */
  readonly connectTimeout?: number;
}

/** Defaults of {@link RedisAggregatorOptions}. */
export const REDIS_AGGREGATOR_DEFAULTS = Object.freeze({
  prefix: 'swy:aggregator',
  connectTimeout: 10,
});

/** Valid key prefixes: printable, no whitespace, no `{` `}` (they would break the hash tag). */
export const REDIS_AGGREGATOR_PREFIX_PATTERN: RegExp = /^[^\s{}\p{Cc}]+$/u;

/** Fields per HSET while writing a rebuild's temporary hash. */
const WRITE_CHUNK = 1000;

/** Seconds a temporary hash outlives a writer that died before the swap. */
const TMP_TTL = 600;

/** The keys of one aggregator store. */
export interface RedisAggregatorKeys {
  readonly ready: string;
  readonly built: string;
  /** A fresh temporary key for one rebuild. */
  tmp(): string;
}

/** The keys under `prefix`. */
export function redisAggregatorKeys(prefix: string): RedisAggregatorKeys {
  const tag = `{${prefix}}`;
  return Object.freeze({
    ready: `${tag}:ready`,
    built: `${tag}:built`,
    tmp: () => `${tag}:tmp:${randomUUID()}`,
  });
}

/** The hash field of (domain, type). */
export function fieldOf(domain: string, type: string): string {
  return `${type.length}:${type}${domain}`;
}

/** The (type, domain) of a hash field, or null for a field this module did not write. */
export function parseField(field: string): [type: string, domain: string] | null {
  const colon = field.indexOf(':');
  if (colon <= 0) return null;
  const n = Number(field.slice(0, colon));
  if (!Number.isInteger(n) || n <= 0 || colon + 1 + n >= field.length) return null;
  return [field.slice(colon + 1, colon + 1 + n), field.slice(colon + 1 + n)];
}

// ---------------------------------------------------------------- scripts

interface AggregatorScripts {
  readonly notifyNonEmpty: LuaScript;
  readonly notifyEmpty: LuaScript;
  readonly read: LuaScript;
  readonly swap: LuaScript;
  readonly purge: LuaScript;
}

let loaded: AggregatorScripts | null = null;

/** The `.lua` folder: beside this module, else the `src/` copy (a dist build without assets). */
function scriptsDir(): URL {
  const here = new URL('./scripts/', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const fromSource = new URL('../../../src/aggregators/redis/scripts/', import.meta.url);
  if (existsSync(fileURLToPath(fromSource))) return fromSource;
  throw new Error(
    `switchyard redis aggregator: Lua scripts not found at ${fileURLToPath(here)} ` +
      '(copy src/aggregators/redis/scripts there in the build step)',
  );
}

function loadScript(dir: URL, name: string): LuaScript {
  const source = readFileSync(new URL(`${name}.lua`, dir), 'utf8');
  const m = /-(\d+)$/.exec(name);
  return Object.freeze({
    name,
    numberOfKeys: Number(m?.[1] ?? 0),
    source,
    sha1: createHash('sha1').update(source).digest('hex'),
  });
}

function scripts(): AggregatorScripts {
  if (loaded) return loaded;
  const dir = scriptsDir();
  loaded = Object.freeze({
    notifyNonEmpty: loadScript(dir, 'notify-nonempty-1'),
    notifyEmpty: loadScript(dir, 'notify-empty-1'),
    read: loadScript(dir, 'read-2'),
    swap: loadScript(dir, 'swap-3'),
    purge: loadScript(dir, 'purge-2'),
  });
  return loaded;
}

// ---------------------------------------------------------------- the aggregator

const nothing = (): void => {};

/** The ready-queue map in Redis. */
export class RedisAggregator extends BaseAggregator {
  readonly name = 'redis';
  /** The key prefix. */
  readonly prefix: string;
  /** The keys of this store (for operators and tests). */
  readonly keys: RedisAggregatorKeys;
  readonly #client: RedisClientLike;
  readonly #owned: boolean;
  readonly #timeoutMs: number;
  readonly #link: RedisLink;
  readonly #where: string;
  readonly #scripts: AggregatorScripts;

  /** @throws `TypeError` for missing or contradictory connection options or a bad prefix. */
  constructor(options: RedisAggregatorOptions) {
    super(options);
    const prefix = options.prefix ?? REDIS_AGGREGATOR_DEFAULTS.prefix;
    if (typeof prefix !== 'string' || !REDIS_AGGREGATOR_PREFIX_PATTERN.test(prefix)) {
      throw new TypeError(
        `RedisAggregator({ prefix }): must be a key prefix without whitespace, braces or control characters, got ${String(prefix)}`,
      );
    }
    const timeout = options.connectTimeout ?? REDIS_AGGREGATOR_DEFAULTS.connectTimeout;
    if (!(typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0)) {
      throw new TypeError(`RedisAggregator({ connectTimeout }): must be seconds > 0, got ${String(timeout)}`);
    }
    if (options.client !== undefined && options.url !== undefined) {
      throw new TypeError('RedisAggregator: give either client or url, not both');
    }
    if (options.client !== undefined) {
      if (!isClientLike(options.client))
        throw new TypeError('RedisAggregator({ client }): not an ioredis client');
      this.#client = options.client;
      this.#owned = false;
    } else if (typeof options.url === 'string') {
      this.#client = createOwnedClient(options.url, timeout);
      this.#owned = true;
    } else {
      throw new TypeError('RedisAggregator: needs a client or a url');
    }
    this.prefix = prefix;
    this.keys = redisAggregatorKeys(prefix);
    this.#timeoutMs = timeout * 1000;
    this.#where = `redis aggregator ${prefix}`;
    this.#link = new RedisLink(this.#client, this.#timeoutMs, this.#where);
    this.#scripts = scripts();
  }

  protected doNotifyNonEmpty(domain: string, type: string, at: number): Promise<void> {
    const field = fieldOf(domain, type);
    return this.#link.eval(this.#scripts.notifyNonEmpty, [this.keys.ready], [field, at]).then(nothing);
  }

  protected doNotifyEmpty(domain: string, type: string, observedAt: number): Promise<void> {
    const field = fieldOf(domain, type);
    return this.#link.eval(this.#scripts.notifyEmpty, [this.keys.ready], [field, observedAt]).then(nothing);
  }

  protected async doGetAllReadyQueues(now: number): Promise<ReadyQueueMap | null> {
    const reply = (await this.#link.eval(this.#scripts.read, [this.keys.ready, this.keys.built], [])) as [
      unknown,
      unknown,
    ];
    const built = reply[0];
    if (typeof built !== 'string' && !Buffer.isBuffer(built)) return null;
    const text = String(built);
    const expires = text.slice(text.indexOf(':') + 1);
    if (expires !== '' && now >= Number(expires)) return null;
    const out: Record<string, string[]> = {};
    for (const raw of reply[1] as unknown[]) {
      const parsed = parseField(String(raw));
      if (!parsed) continue;
      const [type, domain] = parsed;
      const list = out[type];
      if (list) list.push(domain);
      else out[type] = [domain];
    }
    return out;
  }

  protected async doReplaceReadyQueues(
    entries: readonly ReadyEntry[],
    options: ReplaceHookOptions,
  ): Promise<void> {
    const tmp = this.keys.tmp();
    const at = String(options.builtAt);
    let args: string[] = [];
    let first = true;
    const flush = async (): Promise<void> => {
      await this.#link.command('HSET', [tmp, ...args]);
      if (first) await this.#link.command('EXPIRE', [tmp, TMP_TTL]);
      first = false;
      args = [];
    };
    for (const [type, domains] of entries) {
      for (const domain of domains) {
        args.push(fieldOf(domain, type), at);
        if (args.length >= WRITE_CHUNK * 2) await flush();
      }
    }
    if (args.length > 0) await flush();
    const marker = `${options.builtAt}:${options.expiresAt ?? ''}`;
    await this.#link.eval(this.#scripts.swap, [this.keys.ready, this.keys.built, tmp], [at, marker]);
  }

  protected async doPurge(): Promise<void> {
    await this.#link.eval(this.#scripts.purge, [this.keys.ready, this.keys.built], []);
  }

  protected override async doClose(): Promise<void> {
    if (!this.#owned || this.#client.status === 'end') return;
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }
}

/**
 * The redis aggregator as the registry loads it: `aggregator: { class: redis, connection?, url?,
 * prefix?, connectTimeout?, cacheTTL? }`. A named connection of class redis lends its client (or,
 * without a farm's pool, its URL / client is used for a private one).
 */
export const redisAggregator: AggregatorModule = Object.freeze({
  name: 'redis',
  validateSettings: validateRedisAggregatorSettings,
  create(context: AggregatorContext): RedisAggregator {
    const where = 'redis aggregator';
    const issues = validateRedisAggregatorSettings(context.settings, context.path);
    if (issues.length > 0) throw configInvalid(issues, where);
    const s = context.settings;
    const common = {
      ...(typeof s.prefix === 'string' ? { prefix: s.prefix } : {}),
      ...(typeof s.connectTimeout === 'number' ? { connectTimeout: s.connectTimeout } : {}),
      ...(context.cacheTTL === undefined ? {} : { cacheTTL: context.cacheTTL }),
      ...(context.clock === undefined ? {} : { clock: context.clock }),
    };
    const conf = context.connectionConf;
    if (conf !== null) {
      if (s.url !== undefined) {
        throw configInvalid(
          [{ path: `${context.path}.url`, message: `give either connection or url, not both` }],
          where,
        );
      }
      const lent = (context.connection?.handle as { client?: unknown } | undefined)?.client;
      if (isClientLike(lent)) return new RedisAggregator({ ...common, client: lent });
      const own = conf.settings;
      if (isClientLike(own.client)) return new RedisAggregator({ ...common, client: own.client });
      if (typeof own.url === 'string') return new RedisAggregator({ ...common, url: own.url });
      throw configInvalid(
        [
          {
            path: `${context.path}.connection`,
            message: 'is not a redis connection (with a url or client)',
            value: conf.name,
          },
        ],
        where,
      );
    }
    if (typeof s.url === 'string') return new RedisAggregator({ ...common, url: s.url });
    throw configInvalid(
      [{ path: `${context.path}.url`, message: 'a redis aggregator needs a connection or a url' }],
      where,
    );
  },
});
