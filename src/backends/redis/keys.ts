/**
 * Key names of one Redis queue. Every key of a (domain, type) queue carries the hash tag
 * `{domain:type}`, so they all live in one Redis Cluster slot and one Lua script may touch them.
 *
 * @packageDocumentation
 */

/** The keys of one queue (see the layout in `index.ts`). */
export interface QueueKeys {
  /** `{prefix}:{domain:type}:` — every key of the queue starts with it. */
  readonly base: string;
  readonly ready: string;
  readonly delayed: string;
  readonly claimed: string;
  readonly abandoned: string;
  readonly data: string;
  readonly attempts: string;
  readonly tokens: string;
  readonly dedup: string;
  /**
   * Ready jobs of a non-zero priority (priority-0 ones are in `ready`), a zset scored
   * `-priority * 2^33 + position` (scripts/includes/priority.lua).
   */
  readonly priority: string;
  /** The INCR counter behind the priority set's positions. */
  readonly prioritySeq: string;
  /**
   * The ids of delayed jobs of a positive priority (a set beside `delayed`): while it exists no
   * handle prefetches, so a job falling due is not overtaken by lower ones in a prefetch buffer.
   */
  readonly delayedHigh: string;
  /** Exists while the queue is paused (`pause()`); the pop scripts check it. */
  readonly paused: string;
  /** Periodic schedule name → the last tick claimed (`claimPeriodicTick()`). */
  readonly ticks: string;
  /**
   * The pub/sub channel told when the ready list goes from empty to non-empty (not a key: the
   * scripts derive it from `ready`; see `wake.ts`).
   */
  readonly wake: string;
  /**
   * Flow-control groups (scripts/includes/groups.lua; the scripts derive these names from the
   * ready key, so no script gained a KEY). The turns: a list of the groups with ready jobs, in
   * turn order (escaped by {@link groupPart}), plus `''` for the keyless jobs while any group is
   * ready; it does not exist while no grouped job is ready.
   */
  readonly groupTurns: string;
  /** Group → claims it holds now. */
  readonly groupHeld: string;
  /** Group → claims in its current rate window. */
  readonly groupRate: string;
  /** Group → the end of its current rate window (ms): a zset, so maintenance prunes ended ones. */
  readonly groupWindow: string;
  /**
   * Flow jobs waiting for their dependencies, a zset id → when pushed (scripts/includes/flow.lua,
   * with the hashes `f-pending`, `f-policy` and `f-dependents` the scripts derive from it).
   */
  readonly waiting: string;
}

/** The ready list of one group (`{prefix}:{domain:type}:g:<groupPart>`; LPUSH back, RPOP front). */
export function groupReadyKey(base: string, groupKey: string): string {
  return `${base}g:${groupPart(groupKey)}`;
}

/**
 * Escapes a domain or type for a key: `%`, `:`, `{`, `}`, whitespace and control characters become
 * `%XX`, so no name can forge another queue's keys or break the hash tag. Ordinary names
 * (letters, digits, `_`, `-`, `.`) are unchanged.
 */
export function keyPart(name: string): string {
  return name.replace(/[%:{}\s\p{Cc}]/gu, (c) => {
    const bytes = Buffer.from(c, 'utf8');
    let out = '';
    for (const b of bytes) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    return out;
  });
}

/**
 * A `groupKey` as the stored header and the group's key names hold it: {@link keyPart}, and `|`
 * escaped too (the header's separator). Decoded with `decodeURIComponent`.
 */
export function groupPart(groupKey: string): string {
  return keyPart(groupKey).replace(/\|/g, '%7C');
}

/** The keys of the (domain, type) queue under `prefix`. */
export function queueKeys(prefix: string, domain: string, type: string): QueueKeys {
  const base = `${prefix}:{${keyPart(domain)}:${keyPart(type)}}:`;
  return Object.freeze({
    base,
    ready: `${base}ready`,
    delayed: `${base}delayed`,
    claimed: `${base}claimed`,
    abandoned: `${base}abandoned`,
    data: `${base}data`,
    attempts: `${base}attempts`,
    tokens: `${base}tokens`,
    dedup: `${base}dedup`,
    priority: `${base}priority`,
    prioritySeq: `${base}priority-seq`,
    delayedHigh: `${base}delayed-high`,
    paused: `${base}paused`,
    ticks: `${base}ticks`,
    wake: `${base}wake`,
    groupTurns: `${base}g-turns`,
    groupHeld: `${base}g-held`,
    groupRate: `${base}g-rate`,
    groupWindow: `${base}g-window`,
    waiting: `${base}waiting`,
  });
}

/**
 * The KEYS of every script of a queue, in the order each script's header lists them (built once
 * per queue, so a call site names a script, not its keys).
 */
export interface ScriptKeys {
  readonly push: readonly string[];
  readonly pushPlain: readonly string[];
  readonly pushFlow: readonly string[];
  /** pop-11 and ackpop-11. */
  readonly pop: readonly string[];
  readonly ack: readonly string[];
  readonly release: readonly string[];
  readonly giveBack: readonly string[];
  readonly extend: readonly string[];
  readonly delete: readonly string[];
  readonly maintenance: readonly string[];
  readonly repush: readonly string[];
  readonly resume: readonly string[];
  /** size-3. */
  readonly size: readonly string[];
  /** stats-6. */
  readonly stats: readonly string[];
  readonly promote: readonly string[];
  readonly tick: readonly string[];
  /** cancel-10: delete-11's keys but the priority sequence. */
  readonly cancel: readonly string[];
}

/** The {@link ScriptKeys} of the queue whose keys are `k`. */
export function scriptKeys(k: QueueKeys): ScriptKeys {
  return Object.freeze({
    push: [k.data, k.ready, k.delayed, k.dedup, k.priority, k.prioritySeq, k.delayedHigh],
    pushPlain: [k.data, k.ready],
    pushFlow: [k.data, k.ready, k.delayed, k.priority, k.prioritySeq, k.delayedHigh],
    pop: [
      k.ready,
      k.delayed,
      k.data,
      k.claimed,
      k.attempts,
      k.tokens,
      k.dedup,
      k.paused,
      k.priority,
      k.prioritySeq,
      k.delayedHigh,
    ],
    ack: [k.tokens, k.claimed, k.data, k.attempts],
    release: [
      k.tokens,
      k.claimed,
      k.attempts,
      k.data,
      k.ready,
      k.delayed,
      k.abandoned,
      k.dedup,
      k.priority,
      k.prioritySeq,
      k.delayedHigh,
    ],
    giveBack: [k.tokens, k.claimed, k.attempts, k.data, k.ready, k.dedup, k.priority, k.prioritySeq],
    extend: [k.tokens, k.claimed],
    delete: [
      k.ready,
      k.delayed,
      k.claimed,
      k.abandoned,
      k.data,
      k.attempts,
      k.tokens,
      k.dedup,
      k.priority,
      k.prioritySeq,
      k.delayedHigh,
    ],
    maintenance: [
      k.claimed,
      k.tokens,
      k.attempts,
      k.data,
      k.ready,
      k.abandoned,
      k.dedup,
      k.delayed,
      k.priority,
      k.prioritySeq,
      k.delayedHigh,
    ],
    repush: [k.abandoned, k.data, k.attempts, k.ready, k.dedup, k.priority, k.prioritySeq],
    resume: [k.paused, k.ready, k.delayed, k.priority],
    size: [k.ready, k.delayed, k.priority],
    stats: [k.ready, k.delayed, k.claimed, k.abandoned, k.data, k.priority],
    promote: [k.delayed, k.ready, k.data, k.priority, k.prioritySeq, k.delayedHigh],
    tick: [k.ticks],
    cancel: [
      k.ready,
      k.delayed,
      k.claimed,
      k.abandoned,
      k.data,
      k.attempts,
      k.tokens,
      k.dedup,
      k.priority,
      k.delayedHigh,
    ],
  });
}

/** The root-job record of `signature` in the queue whose keys start with `base`. */
export function rootKey(base: string, signature: string): string {
  return `${base}root:${signature}`;
}
