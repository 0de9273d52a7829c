/**
 * How a Redis user of switchyard talks to its client: scripts by SHA with a load on NOSCRIPT,
 * plain commands, a wait for a client that is still connecting, and one error shape naming the
 * operation and the (redacted) server. Shared by the Redis backend and the Redis aggregator.
 */
import { ensureReady, type RedisClientLike, wrapRedisError } from './connection.js';
import { isNoScript, type LuaScript, scriptArgv } from './script-loader.js';

export class RedisLink {
  readonly #client: RedisClientLike;
  readonly #timeoutMs: number;
  readonly #where: string;

  /**
   * @param timeoutMs how long a call waits for a client that is not ready yet.
   * @param where the server as messages name it (already redacted).
   */
  constructor(client: RedisClientLike, timeoutMs: number, where: string) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    this.#where = where;
  }

  /**
   * Runs a script with EVALSHA; on NOSCRIPT (first use, a restart, a `SCRIPT FLUSH`, a failover)
   * once more with EVAL, which caches it on the server. The common case (a ready client that knows
   * the script) adds one `.catch` to the driver's promise and nothing else.
   */
  eval(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (this.#client.status !== 'ready') return this.#evalWhenReady(script, keys, args);
    let argv: (string | number)[];
    try {
      argv = scriptArgv(script, keys, args);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#client.call('EVALSHA', argv).catch((err: unknown) => this.#retryAsEval(err, script, argv));
  }

  #retryAsEval(err: unknown, script: LuaScript, argv: (string | number)[]): Promise<unknown> {
    if (!isNoScript(err)) return Promise.reject(wrapRedisError(err, `script ${script.name}`, this.#where));
    argv[0] = script.source;
    return this.#client.call('EVAL', argv).catch((e: unknown) => {
      throw wrapRedisError(e, `script ${script.name}`, this.#where);
    });
  }

  async #evalWhenReady(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      await ensureReady(this.#client, this.#timeoutMs, this.#where);
    } catch (err) {
      throw wrapRedisError(err, `script ${script.name}`, this.#where);
    }
    return this.eval(script, keys, args);
  }

  /** Runs one command, waiting for the client to be ready first. */
  async command(command: string, args: (string | number)[]): Promise<unknown> {
    try {
      if (this.#client.status !== 'ready') await ensureReady(this.#client, this.#timeoutMs, this.#where);
      return await this.#client.call(command, args);
    } catch (err) {
      throw wrapRedisError(err, command, this.#where);
    }
  }
}
