// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs use literal ${ENV} references.
/**
 * Fuzzed config files (issue 16 point 4): seeded random mutations of valid configs (every section:
 * connections, jobTypeConf over memory / sql / redis / federated / eventbus, aggregator, runners,
 * backoffThrottling, periodic, executor), written as YAML or JSON files, some also mangled as text
 * (bytes deleted or inserted, lines swapped, YAML tags, anchors and aliases), then loaded with
 * `loadConfig`. And config objects built in code with non-JSON values (functions, symbols,
 * cycles, BigInts, class instances) given to `resolveConfig`.
 *
 * Each must either load, or fail with `SWITCHYARD_CONFIG_INVALID` whose issues each carry a path
 * and a message. Never another error, never a hang, never a secret from the environment in the
 * message, never a polluted Object.prototype.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ErrorCode, isSwitchyardError, loadConfig, resolveConfig } from '../../src/index.js';
import { within } from '../helpers/net.js';
import { recordFigures } from './figures.js';
import { announceSeed, type Rng, rngFor } from './rng.js';

announceSeed('fuzz-config');

const CASES = Number(process.env.SWITCHYARD_CHAOS_FUZZ_CASES ?? '3000');
const SECRET = 'chaos-secret-value-7f3a9c';
const ENV = { SWITCHYARD_CHAOS_SECRET: SECRET, SWITCHYARD_CHAOS_TTL: '600', SWITCHYARD_CHAOS_EMPTY: '' };

const dir = mkdtempSync(join(tmpdir(), 'switchyard-chaos-fuzz-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Tree = unknown;

/** Valid configs to mutate: the shipped example and one that uses every section. */
function bases(): Tree[] {
  const example = parseYaml(
    readFileSync(fileURLToPath(new URL('../../examples/switchyard.config.yaml', import.meta.url)), 'utf8'),
  ) as Tree;
  const full = {
    connections: {
      db: { class: 'sql', filename: join(dir, 'fuzz.sqlite'), prefix: 'fuzz_' },
      cache: { class: 'redis', url: 'redis://127.0.0.1:1', prefix: 'fz', connectTimeout: 1 },
      mem: { class: 'memory', store: 'fuzz' },
      bus: { class: 'eventbus', brokers: '127.0.0.1:1', secret: '${SWITCHYARD_CHAOS_SECRET}' },
    },
    jobTypeConf: {
      default: { class: 'sql', connection: 'db', order: 'fifo', claimTTL: '${SWITCHYARD_CHAOS_TTL:-60}' },
      refreshLinks: { class: 'redis', connection: 'cache', prefetch: 10, maxTries: 5, order: 'any' },
      sendEmail: { class: 'memory', connection: 'mem', abandonedTTL: 86400, maintenanceInterval: null },
      htmlCacheUpdate: { class: 'eventbus', connection: 'bus' },
      spread: {
        class: 'federated',
        sectionsByDomain: { enwiki: 'big' },
        partitionsBySection: { default: { m1: 50, m2: 50 }, big: { m1: 40, m2: 60 } },
        configByPartition: { m1: { class: 'memory', store: 'p1' }, m2: { class: 'memory', store: 'p2' } },
        maxPartitionsTry: 2,
      },
    },
    typesExcludedFromDefaultQueue: ['htmlCacheUpdate'],
    jobTypes: ['refreshLinks', 'sendEmail'],
    readOnlyReason: '${SWITCHYARD_CHAOS_EMPTY:-}',
    defaultDomain: 'enwiki',
    domains: ['enwiki', 'dewiki'],
    aggregator: { class: 'memory' },
    runners: {
      basic: {
        runners: 2,
        concurrency: 4,
        include: ['*'],
        exclude: ['htmlCacheUpdate'],
        claimTTL: { '*': 600 },
      },
      low: { runners: 1, include: ['sendEmail'], lowPriority: ['sendEmail'], attempts: { sendEmail: 3 } },
    },
    backoffThrottling: { refreshLinks: 5 },
    periodic: {
      nightly: { type: 'sendEmail', cron: '0 3 * * *', timezone: 'Europe/Berlin', params: { days: 30 } },
    },
    executor: {
      brokers: '127.0.0.1:1',
      secret: '${SWITCHYARD_CHAOS_SECRET}',
      defaults: { concurrency: 30, retryDelay: 60, retryFactor: 6, retryLimit: 2 },
      rules: [
        { name: 'basic', topicPattern: 'mediawiki\\.job\\..*', excludeTypes: ['htmlCacheUpdate'] },
        { name: 'html', topics: ['mediawiki.job.htmlCacheUpdate'], concurrency: 50 },
      ],
    },
  };
  return [example, full];
}

const WEIRD: readonly (() => unknown)[] = [
  () => null,
  () => true,
  () => false,
  () => 0,
  () => -1,
  () => 1.5,
  () => 2 ** 53 + 2,
  () => Number.NaN,
  () => Number.POSITIVE_INFINITY,
  () => '',
  () => ' ',
  () => 'x'.repeat(5000),
  () => 'memory',
  () => 'sql',
  () => 'redis',
  () => 'federated',
  () => 'nonexistent-class',
  () => '${SWITCHYARD_CHAOS_UNSET}',
  () => '${SWITCHYARD_CHAOS_SECRET}',
  () => '${SWITCHYARD_CHAOS_UNSET:-7}',
  () => '${',
  () => '$${literal}',
  () => '-5',
  () => '1e3',
  () => '*',
  () => [],
  () => [[]],
  () => ['a', 1, null],
  () => ({}),
  () => ({ class: 'memory' }),
  () => ({ class: 'sql', connection: 'nope' }),
  () => JSON.parse('{"__proto__": {"polluted": "yes"}}') as unknown,
  () => ({ constructor: { prototype: { polluted: 'yes' } } }),
  () => ({ toString: 5, valueOf: null, hasOwnProperty: 'x' }),
];

/** Every path (list of keys) to a node of `tree`. */
function paths(
  tree: Tree,
  at: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(at);
  if (Array.isArray(tree)) {
    for (let i = 0; i < tree.length; i++) paths(tree[i], [...at, i], out);
  } else if (tree !== null && typeof tree === 'object')
    for (const k of Object.keys(tree)) paths((tree as Record<string, unknown>)[k], [...at, k], out);
  return out;
}

function clone(tree: Tree): Tree {
  return structuredClone(tree);
}

function parentOf(tree: Tree, path: (string | number)[]): Record<string | number, unknown> | null {
  let node: unknown = tree;
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
  return node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>) : null;
}

/** One to three structural mutations. */
function mutateTree(rng: Rng, base: Tree): Tree {
  const tree = clone(base);
  for (let m = rng.int(1, 3); m > 0; m--) {
    const all = paths(tree).filter((p) => p.length > 0);
    if (all.length === 0) break;
    const path = rng.pick(all);
    const parent = parentOf(tree, path);
    const key = path[path.length - 1] as string | number;
    if (parent === null) continue;
    switch (rng.int(0, 6)) {
      case 0:
      case 1:
      case 2:
        parent[key] = (rng.pick(WEIRD) as () => unknown)();
        break;
      case 3:
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete parent[key];
        break;
      case 4: // a typo of the key
        if (!Array.isArray(parent) && typeof key === 'string' && key.length > 1) {
          const value = parent[key];
          delete parent[key];
          const i = rng.int(0, key.length - 1);
          parent[key.slice(0, i) + key.slice(i + 1)] = value;
        }
        break;
      case 5: // an unknown key beside it
        if (!Array.isArray(parent))
          parent[rng.pick(['bogus', 'claimTtl', 'Class', '__proto__', 'prototype'])] = 1;
        break;
      default: {
        // a number out of range, or the same value as a string
        const value = parent[key];
        if (typeof value === 'number')
          parent[key] = rng.pick([-value, value * 1e9, value + 0.5, String(value)]);
        else if (typeof value === 'string')
          parent[key] = rng.pick([value.toUpperCase(), `${value} `, Number(value.length)]);
        else parent[key] = (rng.pick(WEIRD) as () => unknown)();
      }
    }
  }
  return tree;
}

const NOISE = [
  ':',
  '{',
  '}',
  '[',
  ']',
  ',',
  '"',
  "'",
  '\n',
  '\t',
  ' ',
  '-',
  '#',
  '&a',
  '*a',
  '!',
  '|',
  '>',
  '%',
  '@',
  '`',
  '\u0000',
  '\ufeff',
  '\ud800',
  '!!binary',
  '!!js/function',
  '<<: *a',
  '? ',
  '...',
  '---',
];

/** Text-level damage: bytes deleted or inserted, lines swapped or repeated, the end cut. */
function mangleText(rng: Rng, text: string): string {
  let out = text;
  for (let m = rng.int(1, 3); m > 0; m--) {
    const at = rng.int(0, Math.max(0, out.length - 1));
    switch (rng.int(0, 5)) {
      case 0:
        out = out.slice(0, at) + out.slice(at + rng.int(1, 20));
        break;
      case 1:
        out = out.slice(0, at) + rng.pick(NOISE) + out.slice(at);
        break;
      case 2: {
        const lines = out.split('\n');
        const i = rng.int(0, lines.length - 1);
        const j = rng.int(0, lines.length - 1);
        [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
        out = lines.join('\n');
        break;
      }
      case 3: {
        const lines = out.split('\n');
        const i = rng.int(0, lines.length - 1);
        lines.splice(i, 0, lines[i] as string);
        out = lines.join('\n');
        break;
      }
      case 4:
        out = out.slice(0, at);
        break;
      default:
        // an alias bomb: a few anchors each referring to the previous one many times
        out = `a0: &a0 [x, x, x, x, x, x, x, x, x, x]\na1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\na2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]\na3: [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]\n${out}`;
    }
  }
  return out;
}

/** Non-JSON values a config built in code may carry by mistake. */
const CODE_VALUES: readonly (() => unknown)[] = [
  () => () => 'a function',
  () => Symbol('s'),
  () => 10n,
  () => new Date(0),
  () => new Map([['class', 'memory']]),
  () =>
    new (class Settings {
      class = 'memory';
    })(),
  () => {
    const o: Record<string, unknown> = { class: 'memory' };
    o.self = o;
    return o;
  },
  () => undefined,
  () => Object.create(null) as unknown,
  () =>
    Object.defineProperty({}, 'class', {
      enumerable: true,
      get() {
        throw new Error('getter threw');
      },
    }),
];

interface Tally {
  loaded: number;
  refused: number;
  failures: string[];
}

function judge(label: string, outcome: unknown, tally: Tally): void {
  if (!(outcome instanceof Error)) {
    tally.loaded++;
    return;
  }
  if (!isSwitchyardError(outcome, ErrorCode.CONFIG_INVALID)) {
    tally.failures.push(`${label}: ${outcome.name}: ${outcome.message.slice(0, 300)}`);
    return;
  }
  if (outcome.issues.length === 0) tally.failures.push(`${label}: CONFIG_INVALID without issues`);
  for (const issue of outcome.issues) {
    if (typeof issue.path !== 'string' || typeof issue.message !== 'string' || issue.message.length === 0) {
      tally.failures.push(`${label}: an issue without a path or message: ${JSON.stringify(issue)}`);
    }
  }
  const shown = outcome.issues.map(
    (i) => `${i.path} ${i.message} ${typeof i.value === 'string' ? i.value : ''}`,
  );
  if (outcome.message.includes(SECRET) || shown.some((line) => line.includes(SECRET))) {
    const where = outcome.message
      .split('\n')
      .filter((line) => line.includes(SECRET))
      .map((line) => line.replaceAll(SECRET, '<SECRET>').trim());
    tally.failures.push(`${label}: the error shows the secret from the environment: ${where.join(' | ')}`);
  }
  tally.refused++;
}

async function attempt(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return await within(fn(), 10_000, 'config load hung for 10 s');
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

describe('fuzzed configs', () => {
  test(`${CASES} mutated config files (YAML and JSON, some mangled as text) load or fail with SWITCHYARD_CONFIG_INVALID`, async () => {
    const started = performance.now();
    const rng = rngFor('fuzz-config:files');
    const all = bases();
    for (const base of all) {
      const outcome = await attempt(() => resolveConfig(base, { env: ENV }));
      expect(outcome instanceof Error ? outcome.message : 'loaded').toBe('loaded');
    }
    const tally: Tally = { loaded: 0, refused: 0, failures: [] };
    let mangled = 0;
    for (let k = 0; k < CASES && tally.failures.length < 10; k++) {
      const tree = mutateTree(rng, rng.pick(all));
      const json = rng.chance(0.3);
      let text = json ? (JSON.stringify(tree, null, 2) ?? '') : stringifyYaml(tree);
      if (rng.chance(0.4)) {
        text = mangleText(rng, text);
        mangled++;
      }
      const file = join(dir, json ? `case-${k}.json` : `case-${k}.yaml`);
      writeFileSync(file, text);
      judge(`case ${k} (${file})`, await attempt(() => loadConfig({ path: file, env: ENV })), tally);
      if ((Object.prototype as Record<string, unknown>).polluted !== undefined) {
        tally.failures.push(`case ${k}: Object.prototype was polluted`);
        delete (Object.prototype as Record<string, unknown>).polluted;
      }
      if (tally.failures.length === 0) rmSync(file);
    }
    recordFigures({
      test: 'fuzz-config files',
      cases: CASES,
      mangledAsText: mangled,
      loaded: tally.loaded,
      refused: tally.refused,
      ms: Math.round(performance.now() - started),
    });
    expect(tally.failures).toEqual([]);
    expect(tally.refused).toBeGreaterThan(CASES / 2);
  }, 300_000);

  test(`${Math.floor(CASES / 3)} config objects built in code with non-JSON values fail with SWITCHYARD_CONFIG_INVALID or load`, async () => {
    const started = performance.now();
    const rng = rngFor('fuzz-config:objects');
    const all = bases();
    const tally: Tally = { loaded: 0, refused: 0, failures: [] };
    const cases = Math.floor(CASES / 3);
    for (let k = 0; k < cases && tally.failures.length < 10; k++) {
      const tree = clone(rng.pick(all));
      const targets = paths(tree).filter((p) => p.length > 0);
      const path = rng.pick(targets);
      const parent = parentOf(tree, path);
      const value = (rng.pick(CODE_VALUES) as () => unknown)();
      if (parent !== null) parent[path[path.length - 1] as string | number] = value;
      judge(
        `object case ${k} (${path.join('.')})`,
        await attempt(() => resolveConfig(tree, { env: ENV })),
        tally,
      );
    }
    recordFigures({
      test: 'fuzz-config objects',
      cases,
      loaded: tally.loaded,
      refused: tally.refused,
      ms: Math.round(performance.now() - started),
    });
    expect(tally.failures).toEqual([]);
  }, 300_000);
});
