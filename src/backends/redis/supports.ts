/**
 * What the Redis backend can do, and why where it differs from the default.
 *
 * @packageDocumentation
 */
import { defineSupports, type Supports } from '../../core/supports.js';

/** The Redis backend's manifest. */
export const redisSupports: Supports = defineSupports({
  pop: true,
  ack: true,
  delayedJobs: true,
  // Why not timestamp: recycled claims go to the front of the list and clocks differ between
  // processes, so pop order is push order, not enqueue-time order. Why not random: a list has no
  // O(1) random pop.
  orders: ['fifo'],
  sizes: 'exact',
  // One Lua script per batch; `#!lua` makes Redis refuse it up front when out of memory.
  atomicBatchPush: true,
  typeAgnostic: false,
  // Jobs live outside the process; across a Redis restart they are as durable as its RDB/AOF setup.
  durable: true,
  listing: true,
  deduplication: true,
  rootJobs: true,
  batchPop: true,
  siblingQueries: true,
  transactionalPush: false,
  // Pub/sub on a per-queue channel, published only when the ready list was empty (see wake.ts).
  wake: true,
  // A `paused` key checked inside the pop and ack-pop scripts (see doSetPaused).
  pause: true,
  // A hash of last ticks, compare-and-set by tick-1.lua.
  periodicTicks: true,
  // cancel-10 (a ready priority-0 job is found with LREM: O(list length)); claimsHeld is one HMGET of tokens.
  cancel: true,
  // The dedup hash counts holders per key, it does not index their ids: cancelling by key would be
  // a scan of the whole queue inside one script.
  cancelByKey: false,
  // Priority 0 in the ready list, others in a zset scored -priority·2^33 + position (includes/priority).
  priorities: true,
  // Per-group lists taken in turn by the pop scripts, claims held and rate windows in hashes (includes/groups).
  groupLimits: true,
  // pushflow-6 stores and links a flow; every script that ends a claim settles its links (includes/flow).
  dependencies: true,
});
