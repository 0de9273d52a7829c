/**
 * Low-latency wake for the Redis backend: one subscriber connection per client object, shared by
 * every queue of that client in the process.
 *
 * - The push, release (no delay), maintenance and repush scripts `PUBLISH` on the queue's channel
 *   `{prefix}:{domain:type}:wake` only when the ready list goes from empty to non-empty (the
 *   length LPUSH returns equals what it pushed), so a busy queue pays nothing. The scripts derive
 *   the channel from the ready key, so no script gained a KEY or an ARGV.
 * - A waiting queue asks the hub of its client ({@link wakeHubFor}) to listen on its channel. The
 *   hub opens ONE subscriber (`client.duplicate()`, named {@link WAKE_CLIENT_NAME}) on first use,
 *   SUBSCRIBEs a channel while some waiter listens on it and UNSUBSCRIBEs when the last one
 *   leaves, and closes the subscriber when the last queue that used it closes.
 * - After the SUBSCRIBE is confirmed the waiter looks at the queue (ready + due delayed, and the
 *   earliest delayed job's due time), so a push between the runner's empty pop and its wait is
 *   never missed, and a delayed job wakes it when due.
 *
 * Messages published while the subscriber reconnects are lost; the waiter then runs out its
 * timeout and the runner polls, as without wake.
 *
 * @packageDocumentation
 */
import type { RedisClientLike } from './connection.js';
import type { QueueKeys } from './keys.js';
import type { RedisLink } from './link.js';
import { scoredMembers } from './listing.js';
import { scripts } from './script-loader.js';

/** The client name of every wake subscriber (`CLIENT LIST` shows it), with the process id. */
export const WAKE_CLIENT_NAME = `switchyard:wake:${process.pid}`;

/** What the hub needs from the duplicated client: ioredis's subscriber API. */
export interface RedisSubscriberLike {
  readonly status: string;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

function isSubscriberLike(value: unknown): value is RedisSubscriberLike {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.subscribe === 'function' &&
    typeof v.unsubscribe === 'function' &&
    typeof v.on === 'function' &&
    typeof v.quit === 'function' &&
    typeof v.disconnect === 'function'
  );
}

/** One channel's listeners, and the SUBSCRIBE that makes them live. */
interface Channel {
  readonly listeners: Set<() => void>;
  readonly subscribed: Promise<void>;
}

/**
 * The shared subscriber of one client object. Reference-counted by the queues that waited
 * through it ({@link WakeHub.acquire} / {@link WakeHub.release}).
 */
export class WakeHub {
  readonly #client: RedisClientLike;
  #subscriber: RedisSubscriberLike | null = null;
  readonly #channels = new Map<string, Channel>();
  #refs = 0;

  constructor(client: RedisClientLike) {
    this.#client = client;
  }

  /** Queues holding the hub. */
  get refs(): number {
    return this.#refs;
  }

  /** True when the client can make a subscriber (ioredis clients can: `duplicate()`). */
  get available(): boolean {
    return typeof this.#client.duplicate === 'function';
  }

  /** Takes a reference (one per queue). */
  acquire(): void {
    this.#refs++;
  }

  /** Drops a reference; the last one closes the subscriber and forgets the hub. */
  async release(): Promise<void> {
    if (this.#refs === 0) return;
    this.#refs--;
    if (this.#refs > 0) return;
    if (hubs.get(this.#client) === this) hubs.delete(this.#client);
    const sub = this.#subscriber;
    this.#subscriber = null;
    this.#channels.clear();
    if (sub === null || sub.status === 'end') return;
    if (sub.status !== 'ready') {
      sub.disconnect();
      return;
    }
    try {
      await sub.quit();
    } catch {
      sub.disconnect();
    }
  }

  /**
   * Calls `listener` on every message of `channel` until the returned function is called.
   * Resolves once the server confirmed the SUBSCRIBE (messages published after that arrive).
   *
   * @throws the driver's error when the subscriber cannot subscribe (the listener is removed).
   */
  async listen(channel: string, listener: () => void): Promise<() => void> {
    let entry = this.#channels.get(channel);
    if (entry === undefined) {
      const sub = this.#open();
      entry = { listeners: new Set(), subscribed: sub.subscribe(channel).then(() => {}) };
      this.#channels.set(channel, entry);
    }
    const current = entry;
    current.listeners.add(listener);
    const unlisten = (): void => {
      if (!current.listeners.delete(listener) || current.listeners.size > 0) return;
      if (this.#channels.get(channel) !== current) return;
      this.#channels.delete(channel);
      // Ordered on the one connection: a later SUBSCRIBE of the channel comes after this.
      this.#subscriber?.unsubscribe(channel).catch(() => {});
    };
    try {
      await current.subscribed;
    } catch (error) {
      unlisten();
      throw error;
    }
    return unlisten;
  }

  #open(): RedisSubscriberLike {
    if (this.#subscriber !== null && this.#subscriber.status !== 'end') return this.#subscriber;
    // A released hub opens nothing (no connection may outlive the last queue).
    if (this.#refs === 0) throw new Error('the wake hub was released');
    const duplicate = this.#client.duplicate;
    if (typeof duplicate !== 'function') throw new TypeError('the Redis client has no duplicate()');
    // A Cluster's duplicate takes (startupNodes, options); a Redis's takes options. On a Cluster,
    // PUBLISH reaches every node, so one subscriber anywhere hears every queue's wake.
    const name = { connectionName: WAKE_CLIENT_NAME };
    const open = duplicate as (...args: unknown[]) => unknown;
    const sub =
      this.#client.isCluster === true
        ? open.call(this.#client, undefined, { redisOptions: name })
        : open.call(this.#client, name);
    if (!isSubscriberLike(sub)) throw new TypeError('the Redis client duplicate() is not a subscriber');
    // Errors surface as failed SUBSCRIBEs (the waiter then polls); keep ioredis from logging them.
    sub.on('error', () => {});
    sub.on('message', (channel: string) => {
      const entry = this.#channels.get(channel);
      if (entry) for (const listener of [...entry.listeners]) listener();
    });
    this.#subscriber = sub;
    return sub;
  }
}

const hubs = new Map<RedisClientLike, WakeHub>();

/** The hub of `client` (created on first use; one per client object and process). */
export function wakeHubFor(client: RedisClientLike): WakeHub {
  let hub = hubs.get(client);
  if (hub === undefined) {
    hub = new WakeHub(client);
    hubs.set(client, hub);
  }
  return hub;
}

/** What a wait reads of its queue. */
export interface WakeTarget {
  /** The wake channel as the server names it. */
  readonly channel: string;
  readonly link: RedisLink;
  readonly keys: QueueKeys;
  /** size-3's KEYS. */
  readonly sizeKeys: readonly string[];
  /** The queue's clock. */
  now(): number;
}

/**
 * Listens on the queue's wake channel through `hub`, then looks at the queue: true at once when
 * jobs are ready, else on a message, or when the earliest delayed job falls due; false when
 * `signal` aborts (the base class enforces the timeout).
 */
export async function waitForWake(
  hub: WakeHub,
  target: WakeTarget,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  let woken = false;
  let wake: (() => void) | null = null;
  const unlisten = await hub.listen(target.channel, () => {
    woken = true;
    wake?.();
  });
  // A wake is a hint, never taken on trust: a push to a paused queue publishes too, and on a Redis
  // Cluster a message can arrive well after it was published (the cluster bus forwards it): a
  // push's wake after that job was popped already. Each wake looks at the queue again (a wake is
  // rare: only an empty → non-empty ready list publishes). While paused nothing is ready, so only
  // resume() (which clears the flag, then publishes) ends the wait.
  const readyNow = async (): Promise<boolean> => {
    try {
      const [size, flag] = await Promise.all([
        target.link.eval(scripts().size, target.sizeKeys, [target.now()]),
        target.link.command('EXISTS', [target.keys.paused]),
      ]);
      return Number(flag) !== 1 && Number(size) > 0;
    } catch {
      return true; // cannot tell: a spurious wake costs the caller one empty pop, a lost one a timeout
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    if (signal.aborted) return false;
    const k = target.keys;
    const now = target.now();
    const [ready, first, pausedFlag] = (await Promise.all([
      target.link.eval(scripts().size, target.sizeKeys, [now]),
      target.link.command('ZRANGE', [k.delayed, 0, 0, 'WITHSCORES']),
      target.link.command('EXISTS', [k.paused]),
    ])) as [unknown, unknown[], unknown];
    // Paused: ready jobs do not count and no delayed job is awaited; resume() publishes.
    const paused = Number(pausedFlag) === 1;
    if (!paused && Number(ready) > 0) return true;
    if (signal.aborted) return false;
    return await new Promise<boolean>((resolve) => {
      const due = paused ? undefined : scoredMembers(first).values().next().value;
      if (due !== undefined) {
        const ms = Math.max(0, due - target.now());
        if (ms <= timeoutMs) timer = setTimeout(() => resolve(true), ms);
      }
      wake = () => {
        void readyNow().then((ready) => {
          if (ready) resolve(true);
        });
      };
      signal.addEventListener('abort', () => resolve(false), { once: true });
      // A wake that came while the state was read (a push or a resume() just after it): look again.
      if (woken) wake();
    });
  } finally {
    clearTimeout(timer);
    unlisten();
  }
}
