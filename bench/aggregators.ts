/**
 * `node --import tsx bench/aggregators.ts [--queues 5000] [--reads 50] [--concurrency 32]`:
 * measures each aggregator on a map of N ready (domain, type) queues — the swap
 * (`replaceReadyQueues`), the lookup (`getAllReadyQueues`, the call a runner service makes per
 * scheduling round) and notification throughput (`notifyQueueNonEmpty` / `notifyQueueEmpty`
 * with C concurrent callers) — and prints a Markdown table.
 *
 * Runs memory and SQLite always; Redis, PostgreSQL and MySQL when SWITCHYARD_REDIS_URL,
 * SWITCHYARD_PG_URL and SWITCHYARD_MYSQL_URL are set. Every store uses a fresh prefix and is
 * cleaned up afterwards.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BaseAggregator } from '../src/aggregators/base.js';
import { MemoryAggregator } from '../src/aggregators/memory/index.js';
import { RedisAggregator } from '../src/aggregators/redis/index.js';
import { SqlAggregator } from '../src/aggregators/sql/index.js';
import { SqlDatabase } from '../src/backends/sql/database.js';

const { values } = parseArgs({
  options: {
    queues: { type: 'string', default: '5000' },
    reads: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '32' },
  },
});
const QUEUES = Number(values.queues);
const READS = Number(values.reads);
const CONCURRENCY = Number(values.concurrency);

interface Subject {
  readonly name: string;
  open(): Promise<BaseAggregator>;
  cleanup(agg: BaseAggregator): Promise<void>;
}

const tag = randomUUID().replaceAll('-', '').slice(0, 8);
const dir = mkdtempSync(join(tmpdir(), 'swy-aggbench-'));

function sqlSubject(name: string, open: () => SqlDatabase): Subject {
  let db: SqlDatabase | null = null;
  return {
    name,
    async open() {
      db = open();
      const agg = new SqlAggregator({ database: db, prefix: `bench_${tag}_`, cacheTTL: null });
      await agg.ensureSchema();
      return agg;
    },
    async cleanup(agg) {
      await (agg as SqlAggregator).dropSchema();
      await agg.close();
      await db?.close();
    },
  };
}

const subjects: Subject[] = [
  {
    name: 'memory',
    open: async () => new MemoryAggregator({ cacheTTL: null }),
    cleanup: (agg) => agg.close(),
  },
  sqlSubject('sql (SQLite, WAL file)', () => SqlDatabase.open({ filename: join(dir, 'bench.sqlite') })),
];
const redisUrl = process.env.SWITCHYARD_REDIS_URL;
if (redisUrl) {
  subjects.push({
    name: 'redis',
    open: async () => new RedisAggregator({ url: redisUrl, prefix: `swy-aggbench-${tag}`, cacheTTL: null }),
    async cleanup(agg) {
      await agg.purge();
      await agg.close();
    },
  });
}
const pgUrl = process.env.SWITCHYARD_PG_URL;
if (pgUrl) subjects.push(sqlSubject('sql (PostgreSQL)', () => SqlDatabase.open({ connection: pgUrl })));
const myUrl = process.env.SWITCHYARD_MYSQL_URL;
if (myUrl) subjects.push(sqlSubject('sql (MySQL)', () => SqlDatabase.open({ connection: myUrl })));

/** N queues spread over 50 job types (a farm of N/50 wikis). */
function mapOf(n: number): { map: Record<string, string[]>; pairs: [string, string][] } {
  const types = 50;
  const map: Record<string, string[]> = {};
  const pairs: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    const type = `jobType${i % types}`;
    const domain = `wiki${Math.floor(i / types)}`;
    const list = map[type];
    if (list) list.push(domain);
    else map[type] = [domain];
    pairs.push([domain, type]);
  }
  return { map, pairs };
}

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Runs `op` for each item with `CONCURRENCY` callers; returns ops per second. */
async function throughput<T>(items: readonly T[], op: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await op(item);
      }
    }),
  );
  return (items.length / (performance.now() - start)) * 1000;
}

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

interface Row {
  name: string;
  swapMs: number;
  readMedian: number;
  readP95: number;
  nonEmptyOps: number;
  emptyOps: number;
}

async function measure(subject: Subject): Promise<Row> {
  const agg = await subject.open();
  try {
    const { map, pairs } = mapOf(QUEUES);
    await agg.replaceReadyQueues({}); // warm up: connection, schema, scripts
    const swapMs = await timeMs(() => agg.replaceReadyQueues(map));
    const check = await agg.getAllReadyQueues();
    const seen = Object.values(check ?? {}).reduce((n, d) => n + d.length, 0);
    if (seen !== QUEUES) throw new Error(`${subject.name}: expected ${QUEUES} ready queues, read ${seen}`);
    const reads: number[] = [];
    for (let i = 0; i < READS; i++) reads.push(await timeMs(() => agg.getAllReadyQueues()));
    reads.sort((a, b) => a - b);
    const nonEmptyOps = await throughput(pairs, ([d, t]) => agg.notifyQueueNonEmpty(d, t));
    const later = Date.now() + 1000;
    const emptyOps = await throughput(pairs, ([d, t]) => agg.notifyQueueEmpty(d, t, later));
    const after = await agg.getAllReadyQueues();
    if (after === null || Object.keys(after).length !== 0) throw new Error(`${subject.name}: not emptied`);
    return {
      name: subject.name,
      swapMs,
      readMedian: quantile(reads, 0.5),
      readP95: quantile(reads, 0.95),
      nonEmptyOps,
      emptyOps,
    };
  } finally {
    await subject.cleanup(agg);
  }
}

const rows: Row[] = [];
for (const subject of subjects) {
  try {
    rows.push(await measure(subject));
  } catch (error) {
    process.stderr.write(`${subject.name}: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
rmSync(dir, { recursive: true, force: true });

const cpu = cpus()[0]?.model ?? 'unknown CPU';
process.stdout.write(
  `\nAggregators: ${fmt(QUEUES, 0)} ready queues (50 types), ${READS} reads, ${CONCURRENCY} concurrent notifiers; ` +
    `Node ${process.version}, ${cpus().length} × ${cpu}\n\n`,
);
process.stdout.write(
  '| aggregator | swap (replaceReadyQueues) ms | getAllReadyQueues median ms | p95 ms | notifyQueueNonEmpty ops/s | notifyQueueEmpty ops/s |\n',
);
process.stdout.write('|---|---:|---:|---:|---:|---:|\n');
for (const r of rows) {
  process.stdout.write(
    `| ${r.name} | ${fmt(r.swapMs)} | ${fmt(r.readMedian, 2)} | ${fmt(r.readP95, 2)} | ${fmt(r.nonEmptyOps, 0)} | ${fmt(r.emptyOps, 0)} |\n`,
  );
}
