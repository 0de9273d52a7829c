/**
 * `switchyard demo`: jobs flowing through the embedded SQLite default with no services and no
 * config — push, a show-jobs table, a runner draining the queue, the table again.
 *
 * @packageDocumentation
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../container.js';
import { createJobQueueGroup } from '../core/farm.js';
import { getStateCounts } from '../core/job-queue.js';
import type { JobQueueGroup } from '../core/job-queue-group.js';
import { defineHandlers, silentLogger } from '../runner/handlers.js';
import { JobRunner } from '../runner/runner.js';
import { type CommonOptions, loadCliConfig, output } from './context.js';
import { ExitCode } from './exit-codes.js';
import { Progress } from './progress.js';
import { STATES, type TypeCounts } from './queue-commands.js';

const TYPES = ['sendEmail', 'refreshLinks', 'htmlCacheUpdate'];

async function snapshot(group: JobQueueGroup): Promise<Record<string, TypeCounts>> {
  const out: Record<string, TypeCounts> = {};
  for (const type of TYPES) out[type] = await getStateCounts(group.get(type));
  return out;
}

function render(counts: Record<string, TypeCounts>): string {
  const rows = [
    ['type', ...STATES],
    ...Object.entries(counts).map(([t, c]) => [t, ...STATES.map((s) => String(c[s as keyof TypeCounts]))]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map(
      (r) =>
        `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')}`,
    )
    .join('\n');
}

/** Options of `demo`. */
export interface DemoOptions extends CommonOptions {
  readonly jobs?: number;
}

/** Runs `demo`. With `--config` it uses that config; else a throwaway SQLite file. */
export async function demoCommand(options: DemoOptions): Promise<number> {
  const dir = options.config === undefined ? mkdtempSync(join(tmpdir(), 'switchyard-demo-')) : null;
  const config =
    dir === null
      ? await loadCliConfig(options)
      : await resolveConfig({
          jobTypes: TYPES,
          jobTypeConf: { default: { class: 'sql', filename: join(dir, 'demo.sqlite') } },
        });
  const group = createJobQueueGroup(config, options.domain ?? 'demowiki');
  const say = (line: string): void => {
    if (!options.json) process.stdout.write(`${line}\n`);
  };
  try {
    for (const type of TYPES) await group.get(type).delete();
    const n = options.jobs ?? 60;
    say(
      dir === null
        ? `switchyard demo on ${config.source}`
        : 'switchyard demo: embedded SQLite in a temporary directory, no services',
    );
    const specs = Array.from({ length: n }, (_, i) => ({
      type: TYPES[i % TYPES.length] as string,
      params: { item: Math.floor(i / TYPES.length) },
      removeDuplicates: true,
    }));
    const first = await group.push(specs);
    const again = await group.push(specs.slice(0, 6)); // identical to ready jobs: skipped
    await group.push({
      type: 'sendEmail',
      params: { to: 'later@example.org' },
      releaseTimestamp: Date.now() + 3_600_000,
    });
    const before = await snapshot(group);
    say(
      `\npushed ${first.inserted + 1} jobs (one delayed by an hour); ${again.duplicates} identical re-pushes skipped as duplicates:`,
    );
    say(render(before));
    const total = Object.values(before).reduce((a, c) => a + c.ready, 0);
    const handlers = defineHandlers({
      sendEmail: { run: () => new Promise<void>((r) => setTimeout(r, 10)) },
      refreshLinks: { run: () => new Promise<void>((r) => setTimeout(r, 5)) },
      htmlCacheUpdate: { run: () => new Promise<void>((r) => setTimeout(r, 2)), workItemCount: () => 1 },
    });
    const runner = new JobRunner(group, { handlers, logger: silentLogger });
    const progress = new Progress({ label: 'running', total, enabled: !options.json });
    let done = 0;
    let reached = 'none-ready';
    while (true) {
      const r = await runner.run({ maxJobs: 5, concurrency: 4 });
      done += r.jobs.length;
      progress.update(done);
      reached = r.reached;
      if (r.reached !== 'job-limit') break;
    }
    progress.finish();
    const after = await snapshot(group);
    say(`\nran ${done} jobs (stopped: ${reached}); what is left:`);
    say(render(after));
    say(
      '\nnext: write a switchyard.config.yaml and try `switchyard push`, `switchyard show-jobs --group`, `switchyard runner` (see docs/cli.md)',
    );
    if (options.json)
      output(
        options,
        { pushed: first.inserted + 1, duplicates: again.duplicates, before, ran: done, after },
        '',
      );
    return ExitCode.OK;
  } finally {
    await group.close();
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }
}
