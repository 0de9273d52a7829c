/**
 * The memory aggregator: the reference implementation (promises §7). One process, no I/O; every
 * operation is a synchronous step on a JavaScript map, so each is atomic by construction.
 *
 * Storage: `marks` (type → domain → epoch ms of the latest non-empty mark) and a built marker
 * (`builtAt`, `expiresAt`). A swap builds a new marks map and replaces the reference.
 *
 * Instances are private unless they name a `store`: every instance naming the same store in one
 * process shares its state (a farm and a runner service built from one config, or tests).
 *
 * @packageDocumentation
 */
import type { ReadyQueueMap } from '../../core/aggregator.js';
import { configInvalid } from '../../core/errors.js';
import { type AggregatorOptions, BaseAggregator, type ReadyEntry, type ReplaceHookOptions } from '../base.js';
import {
  type AggregatorContext,
  type AggregatorModule,
  validateMemoryAggregatorSettings,
} from '../module.js';

/** Options of {@link MemoryAggregator}. */
export interface MemoryAggregatorOptions extends AggregatorOptions {
  /** Share state with every instance naming the same store in this process. Default: private. */
  readonly store?: string;
}

/** The state of one memory store. */
class MemoryAggregatorState {
  marks = new Map<string, Map<string, number>>();
  builtAt: number | null = null;
  expiresAt: number | null = null;
}

const namedStores = new Map<string, MemoryAggregatorState>();

/** Forgets a named store's state (tests). */
export function resetMemoryAggregatorStore(name: string): void {
  namedStores.delete(name);
}

/** The reference aggregator, in process memory. */
export class MemoryAggregator extends BaseAggregator {
  readonly name = 'memory';
  readonly #state: MemoryAggregatorState;

  /** @throws `TypeError` for a bad `cacheTTL` or `store`. */
  constructor(options: MemoryAggregatorOptions = {}) {
    super(options);
    const store = options.store;
    if (store === undefined) {
      this.#state = new MemoryAggregatorState();
    } else {
      if (typeof store !== 'string' || store.length === 0) {
        throw new TypeError(`MemoryAggregator({ store }): must be a non-empty string, got ${String(store)}`);
      }
      let state = namedStores.get(store);
      if (!state) {
        state = new MemoryAggregatorState();
        namedStores.set(store, state);
      }
      this.#state = state;
    }
  }

  protected doNotifyNonEmpty(domain: string, type: string, at: number): Promise<void> {
    const marks = this.#state.marks;
    let domains = marks.get(type);
    if (!domains) {
      domains = new Map();
      marks.set(type, domains);
    }
    const prev = domains.get(domain);
    if (prev === undefined || prev < at) domains.set(domain, at);
    return Promise.resolve();
  }

  protected doNotifyEmpty(domain: string, type: string, observedAt: number): Promise<void> {
    const domains = this.#state.marks.get(type);
    const prev = domains?.get(domain);
    if (domains && prev !== undefined && prev < observedAt) {
      domains.delete(domain);
      if (domains.size === 0) this.#state.marks.delete(type);
    }
    return Promise.resolve();
  }

  protected doGetAllReadyQueues(now: number): Promise<ReadyQueueMap | null> {
    const s = this.#state;
    if (s.builtAt === null || (s.expiresAt !== null && now >= s.expiresAt)) return Promise.resolve(null);
    const out: Record<string, string[]> = {};
    for (const [type, domains] of s.marks) if (domains.size > 0) out[type] = [...domains.keys()];
    return Promise.resolve(out);
  }

  protected doReplaceReadyQueues(entries: readonly ReadyEntry[], options: ReplaceHookOptions): Promise<void> {
    const { builtAt, expiresAt } = options;
    const next = new Map<string, Map<string, number>>();
    for (const [type, domains] of entries) next.set(type, new Map(domains.map((d) => [d, builtAt])));
    for (const [type, domains] of this.#state.marks) {
      for (const [domain, at] of domains) {
        if (at <= builtAt) continue;
        let kept = next.get(type);
        if (!kept) {
          kept = new Map();
          next.set(type, kept);
        }
        kept.set(domain, at);
      }
    }
    this.#state.marks = next;
    this.#state.builtAt = builtAt;
    this.#state.expiresAt = expiresAt;
    return Promise.resolve();
  }

  protected doPurge(): Promise<void> {
    this.#state.marks = new Map();
    this.#state.builtAt = null;
    this.#state.expiresAt = null;
    return Promise.resolve();
  }
}

/** The memory aggregator as the registry loads it (`aggregator: { class: memory, store? }`). */
export const memoryAggregator: AggregatorModule = Object.freeze({
  name: 'memory',
  validateSettings: validateMemoryAggregatorSettings,
  create(context: AggregatorContext): MemoryAggregator {
    const issues = validateMemoryAggregatorSettings(context.settings, context.path);
    if (context.connectionConf !== null) {
      issues.push({
        path: `${context.path}.connection`,
        message: 'the memory aggregator takes no connection (use store to share state)',
        value: context.connectionConf.name,
      });
    }
    if (issues.length > 0) throw configInvalid(issues, 'memory aggregator');
    const store = context.settings.store;
    return new MemoryAggregator({
      ...(typeof store === 'string' ? { store } : {}),
      ...(context.cacheTTL === undefined ? {} : { cacheTTL: context.cacheTTL }),
      ...(context.clock === undefined ? {} : { clock: context.clock }),
    });
  },
});
