/**
 * The periodic scheduler: pushes each schedule's job once per cron tick, however many processes
 * run a scheduler over the same stores. Every scheduler computes the same ticks (the scheduled
 * times, from the cron expression in its time zone) and asks the job type's queue to claim the
 * tick (`claimPeriodicTick`, a compare-and-set in the store); only the winner pushes.
 *
 * - A tick is claimed before the push. If the push then fails (three tries, 1 s apart) the tick
 *   is lost and logged: at most once per tick, never twice.
 * - Ticks that fell due while no scheduler ran: `missed: skip` (default) fires none of them;
 *   `missed: once` fires the latest one at start (compared with the last tick the store holds).
 * - A scheduler that is late (a blocked event loop, a slow store) fires the latest due tick and
 *   skips the earlier ones, so a backlog of ticks never turns into a burst of jobs.
 *
 * @packageDocumentation
 */
import { Cron } from 'croner';
import { sleep } from '../core/checks.js';
import { type Clock, systemClock } from '../core/clock.js';
import { configInvalid, type Issue } from '../core/errors.js';
import type { JobQueue } from '../core/job-queue.js';
import type { PeriodicEntry } from './config.js';

/** Where the scheduler finds the queue of a schedule's job type. */
export interface PeriodicQueueSource {
  group(domain?: string): { get(type: string): JobQueue };
}

/** The scheduler's log output. */
export interface PeriodicLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Options of {@link PeriodicScheduler}. */
export interface PeriodicSchedulerOptions {
  readonly clock?: Clock;
  readonly logger?: PeriodicLogger;
  /** Longest single sleep, ms (the clock is read again after it). Default 30,000. */
  readonly maxSleepMs?: number;
}

/** What one {@link PeriodicScheduler.runDue} call did. */
export interface PeriodicRound {
  /** Schedules whose tick this scheduler claimed and pushed. */
  readonly pushed: ReadonlyArray<{ readonly name: string; readonly tick: number }>;
  /** Schedules whose due tick another scheduler had claimed already. */
  readonly claimedElsewhere: readonly string[];
  /** Schedules whose claim or push failed (logged). */
  readonly failed: readonly string[];
}

/** Look-back windows for the latest due tick (see #latestDue); 10 years at most. */
const LOOKBACK_MS = [1e3, 6e4, 36e5, 864e5, 32 * 864e5, 366 * 864e5, 3660 * 864e5] as const;
/** Ticks walked inside one window at most. */
const MAX_SCAN = 100_000;

interface ScheduleState {
  readonly entry: PeriodicEntry;
  readonly cron: Cron;
  readonly queue: JobQueue;
  /** Ticks up to this one are done (fired here, elsewhere, or skipped). */
  seen: number;
}

const silent: PeriodicLogger = { info() {}, warn() {}, error() {} };

/** Runs the schedules of a `periodic` config section over a farm's queues. */
export class PeriodicScheduler {
  readonly #source: PeriodicQueueSource;
  readonly #entries: readonly PeriodicEntry[];
  readonly #clock: Clock;
  readonly #logger: PeriodicLogger;
  readonly #maxSleepMs: number;
  #states: ScheduleState[] | null = null;

  constructor(
    source: PeriodicQueueSource,
    entries: readonly PeriodicEntry[],
    options: PeriodicSchedulerOptions = {},
  ) {
    this.#source = source;
    this.#entries = entries;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silent;
    this.#maxSleepMs = options.maxSleepMs ?? 30_000;
  }

  /** The schedules. */
  get entries(): readonly PeriodicEntry[] {
    return this.#entries;
  }

  /**
   * Resolves each schedule's queue and starting point (idempotent; {@link run} and
   * {@link runDue} call it).
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` naming `periodic.<name>.type` when the type routes to a
   *   backend without `supports.periodicTicks` (e.g. eventbus).
   */
  async init(): Promise<void> {
    if (this.#states !== null) return;
    const now = this.#clock.now();
    const issues: Issue[] = [];
    const states: ScheduleState[] = [];
    for (const entry of this.#entries) {
      const group = entry.domain === null ? this.#source.group() : this.#source.group(entry.domain);
      const queue = group.get(entry.type);
      if (!queue.supports.periodicTicks) {
        issues.push({
          path: `periodic.${entry.name}.type`,
          message: `${entry.type} routes to ${String(queue)}, which cannot hold periodic ticks (supports.periodicTicks); route it to memory, sql, redis or federated`,
          value: entry.type,
        });
        continue;
      }
      const cron = new Cron(entry.cron, { timezone: entry.timezone, paused: true });
      let seen = now;
      if (entry.missed === 'once') {
        const last = await queue.lastPeriodicTick(entry.name);
        if (last !== null && last < now) seen = last;
      }
      states.push({ entry, cron, queue, seen });
    }
    if (issues.length > 0) throw configInvalid(issues, 'periodic config');
    this.#states = states;
  }

  /** The next tick of each schedule after what is done (Unix ms), by name. */
  async nextTicks(): Promise<Record<string, number | null>> {
    await this.init();
    const out: Record<string, number | null> = {};
    for (const s of this.#states ?? []) out[s.entry.name] = this.#next(s, s.seen);
    return out;
  }

  /** Claims and pushes the latest due tick of every schedule that has one. */
  async runDue(): Promise<PeriodicRound> {
    await this.init();
    const now = this.#clock.now();
    const pushed: Array<{ name: string; tick: number }> = [];
    const claimedElsewhere: string[] = [];
    const failed: string[] = [];
    for (const s of this.#states ?? []) {
      const tick = this.#latestDue(s, now);
      if (tick === null) continue;
      s.seen = tick;
      const { name } = s.entry;
      let claimed: boolean;
      try {
        claimed = await s.queue.claimPeriodicTick(name, tick);
      } catch (err) {
        this.#logger.error('periodic: claiming a tick failed; the tick is skipped here', {
          schedule: name,
          tick: new Date(tick).toISOString(),
          error: String(err),
        });
        failed.push(name);
        continue;
      }
      if (!claimed) {
        claimedElsewhere.push(name);
        continue;
      }
      if (await this.#push(s, tick)) pushed.push({ name, tick });
      else failed.push(name);
    }
    return { pushed, claimedElsewhere, failed };
  }

  /** Runs {@link runDue} at every tick until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    await this.init();
    while (!signal.aborted) {
      await this.runDue();
      const now = this.#clock.now();
      let next = Number.POSITIVE_INFINITY;
      for (const s of this.#states ?? []) next = Math.min(next, this.#next(s, Math.max(s.seen, now)) ?? next);
      const wait = Math.min(this.#maxSleepMs, Math.max(0, next - now));
      if (!(await sleep(Number.isFinite(wait) ? wait : this.#maxSleepMs, signal))) return;
    }
  }

  async #push(s: ScheduleState, tick: number): Promise<boolean> {
    const { entry } = s;
    for (let attempt = 1; ; attempt++) {
      try {
        await s.queue.push({ type: entry.type, params: entry.params });
        this.#logger.info('periodic: pushed', { schedule: entry.name, tick: new Date(tick).toISOString() });
        return true;
      } catch (err) {
        if (attempt >= 3) {
          this.#logger.error(
            'periodic: the tick was claimed but its push failed 3 times; this tick is lost',
            {
              schedule: entry.name,
              tick: new Date(tick).toISOString(),
              error: String(err),
            },
          );
          return false;
        }
        await sleep(1000);
      }
    }
  }

  /** The first tick after `after`, or null when the schedule never fires again. */
  #next(s: ScheduleState, after: number): number | null {
    return s.cron.nextRun(new Date(after))?.getTime() ?? null;
  }

  /**
   * The latest tick in (seen, now], or null. Looks back over growing windows (1 s, 1 min, 1 h, …)
   * so that catching up from an old stored tick never walks every tick since then.
   */
  #latestDue(s: ScheduleState, now: number): number | null {
    for (const window of LOOKBACK_MS) {
      const from = Math.max(s.seen, now - window);
      let next = this.#next(s, from);
      if (next === null) return null;
      if (next <= now) {
        let latest = next;
        for (let i = 0; i < MAX_SCAN; i++) {
          next = this.#next(s, latest);
          if (next === null || next > now) break;
          latest = next;
        }
        return latest;
      }
      if (from === s.seen) return null;
    }
    return null;
  }
}
