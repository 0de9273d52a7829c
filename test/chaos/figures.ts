/**
 * The chaos suite's figures: each test prints one line on stderr and appends one JSON line to
 * `test-artifacts/chaos/figures.jsonl` (gitignored), which the README table is made from.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = fileURLToPath(new URL('../../test-artifacts/chaos/', import.meta.url));

/** One backend's soak. */
export interface SoakFigures {
  readonly backend: string;
  readonly jobs: number;
  readonly runners: number;
  /** Runner processes started in all (the first ones plus one per kill). */
  readonly spawns: number;
  readonly kills: number;
  readonly restarts: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly duplicatesAfterKill: number;
  readonly duplicatesAfterRestart: number;
  /** Typed store errors a runner's run() threw (then retried), e.g. during a server restart. */
  readonly runErrors: number;
  readonly pushMs: number;
  readonly drainMs: number;
  readonly wallMs: number;
}

/** Anything else a chaos test measured. */
export type Figures = SoakFigures | (Readonly<Record<string, string | number>> & { readonly test: string });

/** Prints `figures` and appends them to the figures file. */
export function recordFigures(figures: Figures): void {
  const line = JSON.stringify({ ...figures, at: new Date().toISOString(), node: process.version });
  process.stderr.write(`chaos figures: ${line}\n`);
  try {
    mkdirSync(out, { recursive: true });
    appendFileSync(join(out, 'figures.jsonl'), `${line}\n`);
  } catch {
    // a read-only checkout: the stderr line is enough
  }
}
