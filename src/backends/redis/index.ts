/**
 * The Redis backend (promises §3 "redis"): every promises §2 promise through one Lua script per operation
 * (`scripts/<op>-<nKeys>.lua`), over ioredis. MediaWiki's JobQueueRedis, rebuilt with fenced
 * claims, delayed jobs released by the pop itself, and counts of every state.
 *
 * Key layout (one queue = one (domain, type); `{…}` is the Redis Cluster hash tag, so every key
 * of a queue lives in one slot; `%`, `:`, `{`, `}`, whitespace and control characters in a
 * domain or type are %-escaped):
 *
 * | key                                  | type   | holds                                                |
 * | ------------------------------------ | ------ | ---------------------------------------------------- |
 * | `{prefix}:{domain:type}:ready`       | list   | ready priority-0 ids; push LPUSH (back), pop RPOP    |
 * | `{prefix}:{domain:type}:priority`    | zset   | ready ids of other priorities → -priority·2^33 + pos |
 * | `{prefix}:{domain:type}:priority-seq`| string | INCR counter behind `priority`'s positions           |
 * | `{prefix}:{domain:type}:delayed-high`| set    | delayed ids of a positive priority (stops prefetch)  |
 * | `{prefix}:{domain:type}:delayed`     | zset   | id → release time (ms)                               |
 * | `{prefix}:{domain:type}:claimed`     | zset   | id → claimedAt (ms)                                  |
 * | `{prefix}:{domain:type}:abandoned`   | zset   | id → last claimedAt (ms); pruned abandonedTTL later  |
 * | `{prefix}:{domain:type}:data`        | hash   | id → stored job (header + JSON or gzip payload)      |
 * | `{prefix}:{domain:type}:attempts`    | hash   | id → claims so far                                   |
 * | `{prefix}:{domain:type}:tokens`      | hash   | id → live claim token (claimed jobs only)            |
 * | `{prefix}:{domain:type}:dedup`       | hash   | sha1 → number of ready/delayed jobs holding it       |
 * | `{prefix}:{domain:type}:root:<sig>`  | string | `timestamp|expiresAt` of the newest root, TTL        |
 * | `{prefix}:{domain:type}:paused`      | string | exists while paused; the pop scripts claim nothing   |
 * | `{prefix}:{domain:type}:ticks`       | hash   | periodic schedule name → last tick claimed (ms)      |
 * | `{prefix}:{domain:type}:wake`        | channel| published when `ready` goes from empty to non-empty  |
| `{prefix}:{domain:type}:g:<group>`   | list   | ready ids of one groupKey; LPUSH back, RPOP front     |
| `{prefix}:{domain:type}:g-turns`     | list   | groups with ready jobs in turn order, '' = keyless   |
| `{prefix}:{domain:type}:g-held`      | hash   | group → claims it holds now                          |
| `{prefix}:{domain:type}:g-rate`      | hash   | group → claims in its current rate window            |
| `{prefix}:{domain:type}:g-window`    | zset   | group → end of its current rate window (ms)          |
 *
 * Priorities (scripts/includes/priority.lua): a pop takes the `priority` members scored below 0
 * (positive priorities, highest first), then the `ready` list, then the rest of `priority`; within
 * one priority, push order, as the list. Stored jobs of a non-zero priority carry it in their
 * header (codec.ts, version 2), so a released, recycled or delayed job keeps it.
 *
 * Flow-control groups (scripts/includes/groups.lua, `supports.groupLimits`): a job with a
 * `groupKey` waits in its group's list, never in `ready` or `priority` (FIFO within its group:
 * its priority is stored, and kept across releases, but does not order it); `<group>` is the key
 * escaped by `groupPart` (keys.ts: keyPart, and `|`), so any key stays inside the queue's hash
 * tag. The pop scripts take the groups of `g-turns` in turn (the keyless jobs, `ready` and
 * `priority`, are the member `''`), passing over a group at its `groupLimits`, which travel as one
 * JSON ARGV built per handle; `g-turns` exists only while a grouped job is ready, so a queue that
 * never sees a group key pops as before (one EXISTS more per pop). Every end of a claim (ack,
 * release, recycle, abandon, cancel, delete, giveback) decrements `g-held`; ack reads the stored
 * jobs only while `g-held` exists. The scripts derive these names from a KEY they already have
 * (as the wake channel), so no script's KEYS changed. Limits are the popping handle's: handles of
 * one queue are expected to share them. Prefetch takes no job while grouped jobs are ready (a
 * buffered job would hold its group's slot unused). Stored jobs with a group key carry it in
 * their header (codec.ts, version 3); older blobs decode as `groupKey: null`.
 *
 * Every timestamp comes from the queue's clock (passed to the scripts), never from Redis `TIME`.
 * Orders: `fifo` (and `any` = fifo). Recycled claims go back to the FRONT of the list (as in
 * MediaWiki), and processes' clocks differ, so enqueue-time (`timestamp`) order is not promised.
 *
 * Files: `queue.ts` the queue class, `options.ts` its options, `supports.ts` its manifest, `module.ts` the registry module
 * (settings, connections), `keys.ts` key names and each script's KEYS, `script-args.ts` ids and
 * push ARGV, `claims.ts` decoding claimed jobs, `exchange.ts` the group commit of pops and acks,
 * `listing.ts` listing by state, `wake.ts` pub/sub wake, `link.ts` script and command calls,
 * `connection.ts` clients, `codec.ts` the stored form of a job.
 *
 * @packageDocumentation
 */
export { CorruptJobError } from './codec.js';
export type { RedisClientLike, RedisSettings } from './connection.js';
export { keyPart, queueKeys } from './keys.js';
export { RedisConnection, redisBackend } from './module.js';
export type { RedisErrorHandler, RedisJobQueueOptions } from './options.js';
export { RedisJobQueue } from './queue.js';
export { redisSupports } from './supports.js';
export { WAKE_CLIENT_NAME } from './wake.js';
