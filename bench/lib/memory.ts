/**
 * Memory measurement without timers. A queue in this process never yields to the event loop while
 * it is busy (every `await` resolves as a microtask), so a `setInterval` sampler would never fire.
 * Instead the phase loops call {@link MemorySampler.tick} per job and the sampler reads
 * `process.memoryUsage()` (about 3 µs) every K jobs.
 *
 * @packageDocumentation
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const MB = 1024 * 1024;

/** How a full GC was obtained: `--expose-gc`, the V8-flag fallback, or not at all. */
export type GcSource = 'expose-gc' | 'v8-flag' | 'none';

let gcFn: (() => void) | null = null;
let gcSource: GcSource = 'none';

function initGc(): void {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    gcFn = () => (exposed as () => void)();
    gcSource = 'expose-gc';
    return;
  }
  try {
    // Fallback for runs without --expose-gc: turn the flag on, then fetch gc from a new context.
    setFlagsFromString('--expose-gc');
    const fromContext: unknown = runInNewContext('gc');
    if (typeof fromContext === 'function') {
      gcFn = () => (fromContext as () => void)();
      gcSource = 'v8-flag';
    }
  } catch {
    gcFn = null;
  }
}
initGc();

/** Where the full-GC function came from (`none` means heap deltas include garbage). */
export function gcAvailable(): GcSource {
  return gcSource;
}

/** Runs a full, synchronous GC when one is available; a no-op otherwise. */
export function fullGc(): void {
  if (gcFn === null) return;
  gcFn();
  gcFn(); // second pass collects what the first one's finalisers released
}

/** What a {@link MemorySampler} saw over one measured run, in MB. */
export interface MemoryStats {
  /** Highest process RSS seen (absolute, MB). */
  readonly rssPeakMB: number;
  /** Highest RSS minus RSS at the start (MB). */
  readonly rssDeltaMB: number;
  /** heapUsed at the end minus at the start, both after a full GC when available (MB). */
  readonly heapDeltaMB: number;
  /** Highest heapUsed minus heapUsed at the start (MB): the transient working set. */
  readonly heapPeakMB: number;
  /** How many samples were taken. */
  readonly samples: number;
}

/**
 * Tracks RSS and heapUsed peaks over a run. Call {@link MemorySampler.start} (after a GC), then
 * {@link MemorySampler.tick} from the hot loop, then {@link MemorySampler.finish}.
 */
export class MemorySampler {
  readonly #every: number;
  #countdown: number;
  #rss0 = 0;
  #heap0 = 0;
  #rssPeak = 0;
  #heapPeak = 0;
  #samples = 0;

  /** @param every - sample once per this many jobs (≥ 1). */
  constructor(every: number) {
    this.#every = Math.max(1, Math.floor(every));
    this.#countdown = this.#every;
  }

  /** Records the baseline; call after {@link fullGc}. */
  start(): void {
    const m = process.memoryUsage();
    this.#rss0 = m.rss;
    this.#heap0 = m.heapUsed;
    this.#rssPeak = m.rss;
    this.#heapPeak = m.heapUsed;
    this.#samples = 1;
    this.#countdown = this.#every;
  }

  /** Counts `n` processed jobs; samples when K jobs have passed since the last sample. */
  tick(n: number): void {
    this.#countdown -= n;
    if (this.#countdown <= 0) {
      this.#countdown = this.#every;
      this.sample();
    }
  }

  /** Takes a sample now. */
  sample(): void {
    const m = process.memoryUsage();
    if (m.rss > this.#rssPeak) this.#rssPeak = m.rss;
    if (m.heapUsed > this.#heapPeak) this.#heapPeak = m.heapUsed;
    this.#samples++;
  }

  /** Takes a last sample, runs a full GC, and reports against the baseline. */
  finish(): MemoryStats {
    this.sample();
    fullGc();
    const end = process.memoryUsage();
    return {
      rssPeakMB: this.#rssPeak / MB,
      rssDeltaMB: (this.#rssPeak - this.#rss0) / MB,
      heapDeltaMB: (end.heapUsed - this.#heap0) / MB,
      heapPeakMB: (this.#heapPeak - this.#heap0) / MB,
      samples: this.#samples,
    };
  }
}
