/**
 * `node --import tsx --conditions=source bench/sql-groups.ts [--jobs 20000] [--rounds 3]
 * [--workers 16] [--batch 100] [--dialects sqlite,postgres,mysql] [--before <worktree>]`
 *
 * What flow-control groups cost the SQL backend (issue 17: "drain with a per-key limit configured
 * but not binding costs ≤ 10 % vs none, same run"). Per dialect, per round, interleaved:
 * - `keyless`: jobs without a group key, a queue without `groupLimits` (the claim path every
 *   queue had before groups);
 * - `grouped`: the same jobs spread over ten group keys, a queue whose `groupLimits`
 *   (`maxConcurrent` 1,000,000, `rate` 1,000,000,000 per second) never bind;
 * - `grouped, no limits`: the same grouped jobs on a queue without `groupLimits` (round-robin over
 *   the groups only): what storing and claiming by group costs, apart from checking limits;
 * - `keyless (before)`, with `--before <dir>`: the keyless run on the `SqlJobQueue` of another
 *   checkout (e.g. a worktree at the commit before groups), to see what the schema change costs
 *   queues that never use groups.
 * Each run pushes `--jobs` jobs (untimed), then drains them with `--workers` workers doing
 * `popBatch(--batch)` + `ackBatch` (or `pop` + `ack` with `--batch 1`) on one handle, timed.
 * Servers: SWITCHYARD_PG_URL, SWITCHYARD_MYSQL_URL (a dialect whose variable is unset is
 * skipped); SQLite in a temp file.
 *
 * @packageDocumentation
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { JobQueue } from '../src/core/job-queue.js';
import type { GroupLimits } from '../src/core/queue-options.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '16' },
    batch: { type: 'string', default: '100' },
    dialects: { type: 'string', default: 'sqlite,postgres,mysql' },
    before: { type: 'string' },
  },
});
const JOBS = Number(values.jobs);
const ROUNDS = Number(values.rounds);
const WORKERS = Number(values.workers);
const BATCH = Number(values.batch);
const KEYS = Array.from({ length: 10 }, (_, i) => `tenant-${i}`);
const LIMITS: GroupLimits = { maxConcurrent: 1_000_000, rate: { max: 1_000_000_000, perSeconds: 1 } };

type QueueClass = new (options: Record<string, unknown>) => JobQueue;

async function queueClass(root: string): Promise<QueueClass> {
  const url = pathToFileURL(join(root, 'src/backends/sql/index.ts')).href;
  return ((await import(url)) as { SqlJobQueue: QueueClass }).SqlJobQueue;
}

interface Dialect {
  readonly name: string;
  readonly settings: () => Record<string, unknown>;
}

const tmp = mkdtempSync(join(tmpdir(), 'swy-sql-groups-'));
const dialects: Dialect[] = [];
for (const name of values.dialects.split(',')) {
  if (name === 'sqlite')
    dialects.push({
      name,
      settings: () => ({ client: 'better-sqlite3', filename: join(tmp, `${Math.random()}.sqlite`) }),
    });
  const env = name === 'postgres' ? 'SWITCHYARD_PG_URL' : name === 'mysql' ? 'SWITCHYARD_MYSQL_URL' : null;
  if (env === null) continue;
  const url = process.env[env];
  if (url === undefined || url === '') {
    process.stderr.write(`${name}: skipped (set ${env})\n`);
    continue;
  }
  const client = name === 'postgres' ? 'pg' : 'mysql2';
  dialects.push({ name, settings: () => ({ client, connection: url, pool: { min: 0, max: WORKERS } }) });
}

let runs = 0;

/** One run: push (untimed), drain (timed); returns jobs/s and client CPU µs per job. */
async function run(
  Queue: QueueClass,
  d: Dialect,
  grouped: boolean,
  limited: boolean,
): Promise<{ perSecond: number; cpuUs: number }> {
  runs += 1;
  const prefix = `sg${process.pid}_${runs}_`;
  const queue = new Queue({
    type: 'work',
    domain: 'bench',
    prefix,
    claimTTL: 60,
    ...d.settings(),
    ...(limited ? { groupLimits: LIMITS } : {}),
  });
  try {
    const payload = 'x'.repeat(100);
    for (let at = 0; at < JOBS; at += 1000) {
      const specs = [];
      for (let n = at; n < Math.min(JOBS, at + 1000); n++) {
        specs.push(
          grouped
            ? { type: 'work', params: { n, payload }, groupKey: KEYS[n % KEYS.length] as string }
            : { type: 'work', params: { n, payload } },
        );
      }
      await queue.push(specs);
    }
    let done = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const worker = async (): Promise<void> => {
      for (;;) {
        if (BATCH === 1) {
          const job = await queue.pop();
          if (job === null) return;
          if (!(await queue.ack(job))) throw new Error(`ack of ${job.id} failed`);
          done += 1;
        } else {
          const jobs = await queue.popBatch(BATCH);
          if (jobs.length === 0) return;
          const acked = await queue.ackBatch(jobs);
          if (acked.some((a) => !a)) throw new Error('an ack failed');
          done += jobs.length;
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (done !== JOBS) throw new Error(`${d.name}: drained ${done} of ${JOBS}`);
    return { perSecond: (JOBS / ms) * 1000, cpuUs: (cpu.user + cpu.system) / JOBS };
  } finally {
    await queue.delete();
    const db = (queue as unknown as { database: { knex(): Promise<unknown> } }).database;
    const sql = (await import('../src/backends/sql/index.js')) as {
      dropSchema(k: unknown, o: { prefix: string }): Promise<void>;
    };
    await sql.dropSchema(await db.knex(), { prefix });
    await queue.close();
  }
}

const now = await queueClass(resolve('.'));
const before = values.before === undefined ? null : await queueClass(resolve(values.before));
const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
process.stdout.write(
  `# sql groups bench: ${JOBS} jobs, ${WORKERS} workers, ${BATCH === 1 ? 'pop + ack' : `popBatch(${BATCH}) + ackBatch`}, ${ROUNDS} rounds; ${cpus().length} cores, load ${loadavg()[0]?.toFixed(2)}\n`,
);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
for (const d of dialects) {
  const variants: { label: string; Queue: QueueClass; grouped: boolean; limited: boolean }[] = [
    ...(before === null
      ? []
      : [{ label: 'keyless (before)', Queue: before, grouped: false, limited: false }]),
    { label: 'keyless', Queue: now, grouped: false, limited: false },
    { label: 'grouped, no limits', Queue: now, grouped: true, limited: false },
    { label: 'grouped', Queue: now, grouped: true, limited: true },
  ];
  const rates = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  const cpus = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order per round so drift over the run does not favour one variant.
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const r = await run(v.Queue, d, v.grouped, v.limited);
      rates.get(v.label)?.push(r.perSecond);
      cpus.get(v.label)?.push(r.cpuUs);
      process.stderr.write(
        `${d.name} ${v.label} round ${round + 1}: ${fmt.format(r.perSecond)} jobs/s, ${r.cpuUs.toFixed(1)} µs CPU/job\n`,
      );
    }
  }
  const base = median(rates.get('keyless') ?? []);
  const unlimited = median(rates.get('grouped, no limits') ?? []);
  for (const v of variants) {
    const r = rates.get(v.label) ?? [];
    const c = cpus.get(v.label) ?? [];
    process.stdout.write(
      `${d.name.padEnd(9)} ${v.label.padEnd(18)} median ${fmt.format(median(r)).padStart(7)} jobs/s (${r.map((x) => fmt.format(x)).join(' / ')}), ${median(c).toFixed(1)} µs CPU/job, ${(median(r) / base).toFixed(2)}× keyless${v.limited ? `, ${(median(r) / unlimited).toFixed(2)}× grouped without limits` : ''}\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ bench: 'sql-groups', dialect: d.name, variant: v.label, jobs: JOBS, workers: WORKERS, batch: BATCH, perSecond: r.map(Math.round), cpuUsPerJob: c.map((x) => +x.toFixed(1)) })}\n`,
    );
  }
}
rmSync(tmp, { recursive: true, force: true });
process.exit(0);
