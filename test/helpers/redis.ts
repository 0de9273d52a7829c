/** Redis clean-up shared by the suites that run on a real server. */
import type { Redis } from 'ioredis';

/** Deletes every key matching `pattern` (SCAN, so a big keyspace is never blocked). */
export async function deleteKeysMatching(client: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}
