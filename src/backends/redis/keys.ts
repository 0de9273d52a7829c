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
  /** Exists while the queue is paused (`pause()`); the pop scripts check it. */
  readonly paused: string;
  /** Periodic schedule name → the last tick claimed (`claimPeriodicTick()`). */
  readonly ticks: string;
  /**
   * The pub/sub channel told when the ready list goes from empty to non-empty (not a key: the
   * scripts derive it from `ready`; see `wake.ts`).
   */
  readonly wake: string;
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
    paused: `${base}paused`,
    ticks: `${base}ticks`,
    wake: `${base}wake`,
  });
}

/** The root-job record of `signature` in the queue whose keys start with `base`. */
export function rootKey(base: string, signature: string): string {
  return `${base}root:${signature}`;
}
