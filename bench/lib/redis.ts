/**
 * Helpers shared by the Redis-backed subjects (`redis`, `bee-queue`): where Redis is, whether it
 * answers, and deleting everything a run left under its key prefix.
 *
 * @packageDocumentation
 */
import type { RedisClientLike } from '../../src/backends/redis/index.js';

/** The environment variable naming the Redis the Redis subjects use. */
export const REDIS_URL_ENV = 'SWITCHYARD_REDIS_URL';

/** The Redis URL from {@link REDIS_URL_ENV}, or undefined when it is not set. */
export function redisBenchUrl(): string | undefined {
  const url = process.env[REDIS_URL_ENV];
  return url === undefined || url === '' ? undefined : url;
}

/** Opens an ioredis client on `url` (connected, no retries beyond one per request). */
export async function openRedis(url: string): Promise<RedisClientLike> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000 });
  client.on('error', () => {
    // Surfaces through the failing command; keeps ioredis from logging "Unhandled error event".
  });
  await client.connect();
  return client;
}

/** Null when {@link REDIS_URL_ENV} is set and the server answers PING, else why not. */
export async function redisAvailable(): Promise<string | null> {
  const url = redisBenchUrl();
  if (url === undefined) return `set ${REDIS_URL_ENV} (e.g. redis://127.0.0.1:6379)`;
  let client: RedisClientLike | null = null;
  try {
    client = await openRedis(url);
    await client.call('PING', []);
    return null;
  } catch (error) {
    return `redis at ${REDIS_URL_ENV} did not answer: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    client?.disconnect();
  }
}

/** Escapes the glob characters of a key prefix for `SCAN MATCH`. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Deletes every key that starts with `prefix` (SCAN + UNLINK); returns how many were deleted. */
export async function deleteKeysWithPrefix(client: RedisClientLike, prefix: string): Promise<number> {
  const match = `${globEscape(prefix)}*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const reply = (await client.call('SCAN', [cursor, 'MATCH', match, 'COUNT', 1000])) as [string, string[]];
    cursor = String(reply[0]);
    const keys = reply[1];
    if (keys.length > 0) deleted += Number(await client.call('UNLINK', keys));
  } while (cursor !== '0');
  return deleted;
}
