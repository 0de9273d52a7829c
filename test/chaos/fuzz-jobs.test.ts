/**
 * Fuzzed job specifications (issue 16 point 4): seeded random batches of job specifications,
 * some of them poisoned (params that are not JSON: functions, Dates, BigInts, cycles, Maps, typed
 * arrays, class instances, non-finite numbers, nesting thousands deep, getters and proxies that
 * throw; fields of the wrong type), pushed to real queues: memory, SQLite, and PostgreSQL, MariaDB
 * and Redis when their services are configured.
 *
 * A batch with a poisoned specification must be refused as a whole with `SWITCHYARD_INVALID_JOB`
 * naming the index of each bad job, and nothing of it stored (the queue's counts unchanged). A
 * batch of JSON specifications is stored whole (or, when one is larger than the store takes,
 * refused whole with `SWITCHYARD_INVALID_JOB`). Any other error, or a partial write, fails. At the
 * end every stored job's params are read back and must equal what was pushed.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  canonicalJson,
  createJobQueueGroup,
  ErrorCode,
  isSwitchyardError,
  type JobQueue,
  type JsonValue,
  resolveConfig,
} from '../../src/index.js';
import { describeIfService, services } from '../helpers/env.js';
import { recordFigures } from './figures.js';
import { announceSeed, type Rng, rngFor } from './rng.js';

announceSeed('fuzz-jobs');

const CASES = Number(process.env.SWITCHYARD_CHAOS_FUZZ_CASES ?? '3000');
const TYPE = 'fuzz';
const MAX_JOB_BYTES = 64 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'switchyard-chaos-fuzz-jobs-'));
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ generators

const STRINGS = [
  '',
  'plain',
  'ünïcødé ✓ 漢字 🚂',
  'a\u0000b',
  'quote " and \\ backslash',
  "single ' quote",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal, never interpolated in params
  '${NOT_INTERPOLATED}',
  '\ud83d', // a lone surrogate
  'line\nbreak\ttab',
  '<script>alert(1)</script>',
  "'; DROP TABLE jobs; --",
];
const KEYS = ['a', 'b', 'pageId', 'title', '', ' ', 'ü', '0', '10', 'constructor', 'toString', 'x.y', 'a[0]'];

/** A random JSON value (what a push must store and give back unchanged). */
function json(rng: Rng, depth: number): JsonValue {
  const roll = rng.int(0, depth > 4 ? 5 : 8);
  switch (roll) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 2 ** 53 - 1, -(2 ** 53) + 1, 1e300, -1e-300, 42]);
    case 3:
    case 4:
      return rng.pick(STRINGS);
    case 5:
      return `s${rng.int(0, 1e9)}`;
    case 6:
      return Array.from({ length: rng.int(0, 4) }, () => json(rng, depth + 1));
    default: {
      const out: Record<string, JsonValue> = {};
      for (let i = rng.int(0, 4); i > 0; i--) out[rng.pick(KEYS)] = json(rng, depth + 1);
      return out;
    }
  }
}

function nested(depth: number, asArray: boolean): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { d: value };
  return value;
}

/** A value that is not JSON, by name. */
const POISONS: Readonly<Record<string, () => unknown>> = {
  function: () => () => 1,
  date: () => new Date(0),
  bigint: () => 10n,
  symbol: () => Symbol('s'),
  cycle: () => {
    const o: Record<string, unknown> = { k: 1 };
    o.self = { back: o };
    return o;
  },
  'undefined in an array': () => [1, undefined],
  'sparse array': () => {
    const holey: number[] = [1];
    holey[2] = 3; // index 1 is a hole
    return holey;
  },
  NaN: () => Number.NaN,
  Infinity: () => Number.NEGATIVE_INFINITY,
  Map: () => new Map([[1, 2]]),
  Set: () => new Set([1]),
  Uint8Array: () => new Uint8Array([1, 2]),
  'class instance': () =>
    new (class Point {
      x = 1;
    })(),
  RegExp: () => /x/,
  Error: () => new Error('e'),
  'boxed string': () => new String('x'),
  Promise: () => Promise.resolve(1),
  toJSON: () => ({ toJSON: () => 'x' }),
  'nested 2,000 deep': () => nested(2000, false),
  'nested 100,000 deep (arrays)': () => nested(100_000, true),
  'a getter that throws': () =>
    Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw new Error('getter threw');
      },
    }),
  'a proxy that throws': () =>
    new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('proxy threw');
        },
      },
    ),
};

/** Specification fields of the wrong type or value, by name. */
const BAD_FIELDS: Readonly<Record<string, (spec: Record<string, unknown>) => unknown>> = {
  'not an object': () => null,
  'a number': () => 7,
  'an array': () => [],
  'no params': (s) => ({ type: s.type }),
  'params an array': (s) => ({ ...s, params: [1] }),
  'params a string': (s) => ({ ...s, params: 'p' }),
  'type a number': (s) => ({ ...s, type: 5 }),
  'another type': (s) => ({ ...s, type: 'other' }),
  'releaseTimestamp a string': (s) => ({ ...s, releaseTimestamp: 'tomorrow' }),
  'releaseTimestamp NaN': (s) => ({ ...s, releaseTimestamp: Number.NaN }),
  'releaseTimestamp negative': (s) => ({ ...s, releaseTimestamp: -1 }),
  'removeDuplicates a string': (s) => ({ ...s, removeDuplicates: 'yes' }),
  'removeDuplicatesIgnoreParams a string': (s) => ({ ...s, removeDuplicatesIgnoreParams: 'a' }),
  'rootJob a string': (s) => ({ ...s, rootJob: 'root' }),
  'rootJob without a timestamp': (s) => ({ ...s, rootJob: { signature: 'x' } }),
  'requestId a number': (s) => ({ ...s, requestId: 4 }),
  'priority a fraction': (s) => ({ ...s, priority: 1.5 }),
  'priority out of range': (s) => ({ ...s, priority: 2_000_000 }),
  'priority a string': (s) => ({ ...s, priority: '1' }),
  'another domain': (s) => ({ ...s, domain: 'elsewhere' }),
};

interface Case {
  readonly specs: unknown[];
  /** Indexes of specifications that must be refused. */
  readonly poisoned: number[];
  /** What was poisoned, for messages. */
  readonly what: string[];
  /** A JSON specification larger than the store may take (refusal allowed). */
  readonly oversized: boolean;
  /** case id → canonical JSON of the params each valid spec stores. */
  readonly expected: Map<string, string>;
}

function poisonParams(rng: Rng, params: Record<string, unknown>, poison: unknown): void {
  // Somewhere inside: top level, in a nested object or in an array.
  const key = rng.pick(KEYS.filter((k) => k !== ''));
  switch (rng.int(0, 2)) {
    case 0:
      params[key] = poison;
      break;
    case 1:
      params.nested = { deeper: { [key]: poison } };
      break;
    default:
      params.list = [1, 'two', poison];
  }
}

function makeCase(rng: Rng, k: number, sizes: { huge: number }): Case {
  const specs: unknown[] = [];
  const poisoned: number[] = [];
  const what: string[] = [];
  const expected = new Map<string, string>();
  let oversized = false;
  const poisonRate = rng.pick([0, 0, 0.05, 0.2, 0.5]);
  const n = rng.int(1, 12);
  for (let i = 0; i < n; i++) {
    const id = `${k}.${i}`;
    const params: Record<string, unknown> = { ...(json(rng, 0) as object), case: id };
    if (Array.isArray(params)) throw new Error('unreachable');
    const spec: Record<string, unknown> = { type: TYPE, params };
    if (rng.chance(0.1)) spec.releaseTimestamp = Date.now() + 3_600_000;
    if (rng.chance(0.1)) spec.removeDuplicates = true; // params are unique (case id): never a duplicate
    if (rng.chance(0.05)) spec.requestId = `req-${id}`;
    // Every fuzzed backend has priorities (federated and eventbus are not fuzzed here).
    if (rng.chance(0.1)) spec.priority = rng.int(-5, 5);
    if (rng.chance(poisonRate)) {
      if (rng.chance(0.6)) {
        const name = rng.pick(Object.keys(POISONS));
        poisonParams(rng, params, (POISONS[name] as () => unknown)());
        what.push(`jobs[${i}].params: ${name}`);
        specs.push(spec);
      } else {
        const name = rng.pick(Object.keys(BAD_FIELDS));
        what.push(`jobs[${i}]: ${name}`);
        specs.push((BAD_FIELDS[name] as (s: Record<string, unknown>) => unknown)(spec));
      }
      poisoned.push(i);
      continue;
    }
    if (rng.chance(0.01)) {
      params.blob = 'x'.repeat(sizes.huge);
      oversized = true;
    }
    specs.push(spec);
    expected.set(id, canonicalJson(JSON.parse(JSON.stringify(params)) as JsonValue));
  }
  return { specs, poisoned, what, oversized, expected };
}

// ------------------------------------------------------------------ the fuzz loop

async function counts(q: JobQueue<typeof TYPE>): Promise<number> {
  return (await q.getSize()) + (await q.getDelayedCount()) + (await q.getAcquiredCount());
}

async function fuzz(name: string, q: JobQueue<typeof TYPE>, cases: number, huge: number): Promise<void> {
  const started = performance.now();
  const rng = rngFor(`fuzz-jobs:${name}`);
  const failures: string[] = [];
  const stored = new Map<string, string>();
  let refused = 0;
  let accepted = 0;
  let oversizedRefused = 0;
  let specsTried = 0;
  for (let k = 0; k < cases && failures.length < 10; k++) {
    const c = makeCase(rng, k, { huge });
    specsTried += c.specs.length;
    const before = await counts(q);
    let outcome: unknown = null;
    try {
      outcome = await q.push(c.specs as never);
    } catch (err) {
      outcome = err;
    }
    const after = await counts(q);
    const label = `case ${k} (${c.what.join('; ') || (c.oversized ? 'oversized' : 'valid')})`;
    if (c.poisoned.length > 0) {
      if (!isSwitchyardError(outcome, ErrorCode.INVALID_JOB)) {
        failures.push(`${label}: expected SWITCHYARD_INVALID_JOB, got ${show(outcome)}`);
        continue;
      }
      for (const i of c.poisoned) {
        if (
          !outcome.issues.some((issue) => issue.path === `jobs[${i}]` || issue.path.startsWith(`jobs[${i}].`))
        ) {
          failures.push(
            `${label}: no issue names jobs[${i}] (${outcome.issues.map((x) => x.path).join(', ')})`,
          );
        }
      }
      if (after !== before)
        failures.push(`${label}: refused, but the queue went from ${before} to ${after} jobs`);
      refused++;
      continue;
    }
    if (isSwitchyardError(outcome, ErrorCode.INVALID_JOB) && c.oversized) {
      if (after !== before)
        failures.push(`${label}: refused, but the queue went from ${before} to ${after} jobs`);
      oversizedRefused++;
      continue;
    }
    const result = outcome as { inserted?: unknown; duplicates?: unknown };
    if (typeof result?.inserted !== 'number') {
      failures.push(`${label}: a valid batch failed: ${show(outcome)}`);
      continue;
    }
    if (result.inserted !== c.specs.length || after - before !== c.specs.length) {
      failures.push(
        `${label}: pushed ${c.specs.length}, inserted ${String(result.inserted)}, queue grew by ${after - before}`,
      );
    }
    for (const [id, params] of c.expected) stored.set(id, params);
    accepted++;
  }
  // Read back: every stored job holds exactly the params pushed.
  let checked = 0;
  for (const state of ['ready', 'delayed'] as const) {
    for await (const job of q.list(state)) {
      const id = String((job.params as { case?: unknown }).case);
      const want = stored.get(id);
      const got = canonicalJson(job.params as JsonValue);
      if (want === undefined) failures.push(`stored job ${id} was never accepted`);
      else if (want !== got && failures.length < 10)
        failures.push(`job ${id}: stored ${got.slice(0, 200)}, pushed ${want.slice(0, 200)}`);
      checked++;
    }
  }
  if (checked !== stored.size) failures.push(`${stored.size} jobs accepted, ${checked} stored`);
  recordFigures({
    test: `fuzz-jobs ${name}`,
    batches: Math.min(cases, accepted + refused + oversizedRefused),
    specs: specsTried,
    refused,
    accepted,
    oversizedRefused,
    readBack: checked,
    ms: Math.round(performance.now() - started),
  });
  expect(failures).toEqual([]);
  expect(refused).toBeGreaterThan(0);
  expect(accepted).toBeGreaterThan(0);
}

function show(value: unknown): string {
  if (isSwitchyardError(value)) return `${value.code}: ${value.message.slice(0, 300)}`;
  if (value instanceof Error) return `${value.name}: ${value.message.slice(0, 300)}`;
  try {
    return JSON.stringify(value)?.slice(0, 200) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The fuzz queue: `entry` as its jobTypeConf entry, naming `connection` (when given) as `store`. */
async function queueOf(
  name: string,
  entry: Record<string, unknown>,
  connection?: Record<string, unknown>,
): Promise<JobQueue<typeof TYPE>> {
  const config = await resolveConfig({
    ...(connection === undefined ? {} : { connections: { store: connection } }),
    jobTypeConf: {
      default: { class: 'memory' },
      [TYPE]: connection === undefined ? entry : { ...entry, class: connection.class, connection: 'store' },
    },
  });
  const group = createJobQueueGroup(config, `fuzz-${name}-${randomUUID().slice(0, 8)}`);
  const q = group.get(TYPE);
  await q.delete();
  cleanups.push(async () => {
    await q.delete();
    await group.close();
  });
  return q;
}

// One fixed table prefix / key prefix for the fuzz queues on shared servers (each run has its own
// domain and deletes its jobs), so runs leave no tables behind.
const SQL_PREFIX = 'swychaos_fuzz_';

describe('fuzzed job specifications', () => {
  test(`memory: ${CASES} batches`, async () => {
    await fuzz('memory', await queueOf('memory', { class: 'memory' }), CASES, 300_000);
  }, 300_000);
  test(`SQLite: ${CASES} batches`, async () => {
    const q = await queueOf('sqlite', {
      class: 'sql',
      filename: join(dir, 'fuzz.sqlite'),
      maxJobBytes: MAX_JOB_BYTES,
    });
    await fuzz('SQLite', q, CASES, MAX_JOB_BYTES + 1);
  }, 300_000);
});

const serviceCases = Math.max(100, Math.floor(CASES / 4));

describeIfService(services.postgres, 'fuzzed job specifications: PostgreSQL', (url) => {
  test(`${serviceCases} batches`, async () => {
    const q = await queueOf(
      'pg',
      { prefix: SQL_PREFIX },
      // maxJobBytes on the connection (an entry's own limit overrides it since the fix this suite
      // prompted: test/integration/sql.test.ts).
      { class: 'sql', connection: url, maxJobBytes: MAX_JOB_BYTES },
    );
    await fuzz('PostgreSQL', q, serviceCases, MAX_JOB_BYTES + 1);
  }, 300_000);
});

describeIfService(services.mysql, 'fuzzed job specifications: MariaDB', (url) => {
  test(`${serviceCases} batches`, async () => {
    const q = await queueOf(
      'mysql',
      { prefix: SQL_PREFIX },
      // maxJobBytes on the connection (an entry's own limit overrides it since the fix this suite
      // prompted: test/integration/sql.test.ts).
      { class: 'sql', connection: url, maxJobBytes: MAX_JOB_BYTES },
    );
    await fuzz('MariaDB', q, serviceCases, MAX_JOB_BYTES + 1);
  }, 300_000);
});

describeIfService(services.redis, 'fuzzed job specifications: Redis', (url) => {
  test(`${serviceCases} batches`, async () => {
    const q = await queueOf('redis', { prefix: 'swychaos-fuzz' }, { class: 'redis', url });
    await fuzz('Redis', q, serviceCases, 300_000);
  }, 300_000);
});
