/**
 * The rule part of the `executor` section: `defaults` (the tunables every rule inherits),
 * `rules` (which topics, which types, how to run and retry) and `partitioners`, checked and then
 * built into {@link ExecutorRule}s and {@link PartitionerConf}s with every default filled in.
 *
 * @packageDocumentation
 */
import { isRecord } from '../core/checks.js';
import type { Issue } from '../core/errors.js';
import { EXECUTOR_DEFAULTS, type ExecutorRule, type PartitionerConf } from './config.js';
import { STATUS_ENTRY } from './http.js';
import { checkNumber, checkStringList, num, type Raw, TOPIC, unknownKeys } from './section-checks.js';

/** What `defaults` may set, and a rule may override. */
export const RULE_TUNABLES = [
  'concurrency',
  'retryDelay',
  'retryFactor',
  'retryLimit',
  'reenqueueDelay',
  'maxEventAge',
  'claimTTL',
  'rootClaimTTL',
  'endpoint',
  'httpTimeout',
  'retryDelayMs',
  'headers',
  'retryOn',
  'ignore',
  'disableDelayedExecution',
  'dropCanary',
  'startAt',
] as const;

type Tunable = (typeof RULE_TUNABLES)[number];

const RULE_KEYS = [
  'name',
  'topics',
  'topicPattern',
  'groupId',
  'types',
  'excludeTypes',
  'excludeTopics',
  ...RULE_TUNABLES,
] as const;

const PARTITIONER_KEYS = ['type', 'topic', 'key', 'stream', 'domains', 'defaultPartition'] as const;

/** Keys that say the same thing twice (a unit or a name and its alias): give one. */
const SAME_THING: ReadonlyArray<readonly [Tunable, Tunable, string]> = [
  ['retryDelayMs', 'retryDelay', 'and retryDelay say the same thing (ms and s): give one of them'],
  [
    'claimTTL',
    'maxEventAge',
    "and maxEventAge say the same thing (claimTTL is ChangeProp's name): give one of them",
  ],
];

function checkTunables(obj: Raw, path: string, issues: Issue[]): void {
  checkNumber(obj.concurrency, `${path}.concurrency`, issues, { min: 1, integer: true });
  checkNumber(obj.retryLimit, `${path}.retryLimit`, issues, { min: 0, integer: true });
  checkNumber(obj.retryFactor, `${path}.retryFactor`, issues, { min: 1 });
  for (const k of ['retryDelay', 'reenqueueDelay', 'maxEventAge', 'claimTTL', 'rootClaimTTL'] as const) {
    checkNumber(obj[k], `${path}.${k}`, issues, { min: 0, unit: 'seconds' });
  }
  checkNumber(obj.httpTimeout, `${path}.httpTimeout`, issues, { min: 0, exclusive: true, unit: 'seconds' });
  checkNumber(obj.retryDelayMs, `${path}.retryDelayMs`, issues, { min: 0, unit: 'milliseconds' });
  for (const [one, other, message] of SAME_THING) {
    if (obj[one] !== undefined && obj[other] !== undefined) issues.push({ path: `${path}.${one}`, message });
  }
  for (const k of ['retryOn', 'ignore'] as const) {
    const v = obj[k];
    if (
      v !== undefined &&
      (!Array.isArray(v) ||
        !v.every((x) => (typeof x === 'number' || typeof x === 'string') && STATUS_ENTRY.test(String(x))))
    ) {
      issues.push({
        path: `${path}.${k}`,
        message:
          "must be a list of HTTP statuses: numbers (412) or patterns with x for any digit ('5xx', '50x')",
        value: v,
      });
    }
  }
  for (const k of ['disableDelayedExecution', 'dropCanary'] as const) {
    if (obj[k] !== undefined && typeof obj[k] !== 'boolean') {
      issues.push({ path: `${path}.${k}`, message: 'must be true or false', value: obj[k] });
    }
  }
  if (obj.startAt !== undefined && obj.startAt !== 'latest' && obj.startAt !== 'earliest') {
    issues.push({
      path: `${path}.startAt`,
      message: 'must be latest or earliest',
      value: obj.startAt,
      choices: ['latest', 'earliest'],
    });
  }
  if (obj.headers !== undefined) {
    if (!isRecord(obj.headers) || !Object.values(obj.headers).every((h) => typeof h === 'string')) {
      issues.push({ path: `${path}.headers`, message: 'must be a mapping of header name → string' });
    } else {
      for (const name of Object.keys(obj.headers)) {
        if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) {
          issues.push({ path: `${path}.headers.${name}`, message: 'is not a valid HTTP header name' });
        }
      }
    }
  }
  if (obj.endpoint !== undefined && obj.endpoint !== null) {
    let ok = typeof obj.endpoint === 'string';
    if (ok) {
      try {
        const u = new URL(obj.endpoint as string);
        ok = u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        ok = false;
      }
    }
    if (!ok)
      issues.push({
        path: `${path}.endpoint`,
        message: 'must be an http(s) URL or null',
        value: obj.endpoint,
      });
  }
}

/** Checks `defaults`, `rules` and `partitioners` of the section `value` (a mapping). */
export function checkRuleParts(value: Raw, path: string, issues: Issue[]): void {
  if (value.defaults !== undefined) {
    if (!isRecord(value.defaults))
      issues.push({ path: `${path}.defaults`, message: 'must be a mapping', choices: RULE_TUNABLES });
    else {
      unknownKeys(value.defaults, RULE_TUNABLES, `${path}.defaults`, issues, 'a rule default');
      checkTunables(value.defaults, `${path}.defaults`, issues);
    }
  }
  if (!Array.isArray(value.rules) || value.rules.length === 0) {
    issues.push({
      path: `${path}.rules`,
      message: 'must be a non-empty list of rules (name, topics or topicPattern, …)',
    });
  } else {
    const names = new Set<string>();
    value.rules.forEach((rule: unknown, i: number) => {
      const rp = `${path}.rules[${i}]`;
      if (!isRecord(rule)) {
        issues.push({ path: rp, message: 'must be a mapping', choices: RULE_KEYS });
        return;
      }
      unknownKeys(rule, RULE_KEYS, rp, issues, 'a rule setting');
      if (typeof rule.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(rule.name)) {
        issues.push({
          path: `${rp}.name`,
          message: 'is required: letters, digits, ., _ and -',
          value: rule.name,
        });
      } else if (names.has(rule.name)) {
        issues.push({ path: `${rp}.name`, message: 'is used by an earlier rule', value: rule.name });
      } else names.add(rule.name);
      checkStringList(rule.topics, `${rp}.topics`, issues, TOPIC);
      if (rule.topicPattern !== undefined) {
        try {
          if (typeof rule.topicPattern !== 'string') throw new Error('not a string');
          new RegExp(rule.topicPattern);
        } catch {
          issues.push({
            path: `${rp}.topicPattern`,
            message: 'must be a regular expression',
            value: rule.topicPattern,
          });
        }
      }
      const hasTopics = Array.isArray(rule.topics) && rule.topics.length > 0;
      if (!hasTopics && rule.topicPattern === undefined) {
        issues.push({
          path: `${rp}.topics`,
          message: 'a rule needs topics (names) or topicPattern (a regex)',
        });
      }
      if (rule.groupId !== undefined && (typeof rule.groupId !== 'string' || rule.groupId.length === 0)) {
        issues.push({ path: `${rp}.groupId`, message: 'must be a non-empty string', value: rule.groupId });
      }
      checkStringList(rule.types, `${rp}.types`, issues);
      checkStringList(rule.excludeTypes, `${rp}.excludeTypes`, issues);
      checkStringList(rule.excludeTopics, `${rp}.excludeTopics`, issues, TOPIC);
      checkTunables(rule, rp, issues);
    });
  }
  if (value.partitioners !== undefined) checkPartitioners(value.partitioners, path, issues);
}

function checkPartitioners(partitioners: unknown, path: string, issues: Issue[]): void {
  if (!Array.isArray(partitioners)) {
    issues.push({ path: `${path}.partitioners`, message: 'must be a list', value: partitioners });
    return;
  }
  partitioners.forEach((p: unknown, i: number) => {
    const pp = `${path}.partitioners[${i}]`;
    if (!isRecord(p)) {
      issues.push({ path: pp, message: 'must be a mapping', choices: PARTITIONER_KEYS });
      return;
    }
    unknownKeys(p, PARTITIONER_KEYS, pp, issues, 'a partitioner setting');
    if (typeof p.type !== 'string' || p.type.length === 0) {
      issues.push({
        path: `${pp}.type`,
        message: 'is required: the job type to partition',
        value: p.type,
      });
    }
    if (typeof p.topic !== 'string' || !TOPIC.test(p.topic)) {
      issues.push({ path: `${pp}.topic`, message: 'is required: the partitioned topic', value: p.topic });
    }
    if (!isRecord(p.domains)) {
      issues.push({
        path: `${pp}.domains`,
        message: 'is required: a mapping of domain → partition number',
      });
    } else {
      for (const [d, n] of Object.entries(p.domains)) {
        checkNumber(n, `${pp}.domains.${d}`, issues, { min: 0, integer: true });
      }
    }
    checkNumber(p.defaultPartition, `${pp}.defaultPartition`, issues, { min: 0, integer: true });
    if (p.key !== undefined && (typeof p.key !== 'string' || !/^[^.\s]+(\.[^.\s]+)*$/.test(p.key))) {
      issues.push({
        path: `${pp}.key`,
        message: 'must be a dotted path of the event (database, meta.domain, params.x)',
        value: p.key,
      });
    }
    if (
      p.stream !== undefined &&
      p.stream !== null &&
      (typeof p.stream !== 'string' || p.stream.length === 0)
    ) {
      issues.push({
        path: `${pp}.stream`,
        message: "must be a stream name; {{message.meta.stream}} is the event's",
        value: p.stream,
      });
    }
  });
}

/** The rules of a checked section, each with the section's `defaults` and then the built-in ones. */
export function buildRules(s: Raw, service: string): ExecutorRule[] {
  const d = EXECUTOR_DEFAULTS;
  const defaults = (isRecord(s.defaults) ? s.defaults : {}) as Raw;
  return (s.rules as Raw[]).map((r): ExecutorRule => {
    const pick = (k: Tunable, fallback: number) => num(r[k] ?? defaults[k], fallback);
    const get = <T>(k: Tunable, fallback: T): T => (r[k] ?? defaults[k] ?? fallback) as T;
    const endpoint = (r.endpoint ?? defaults.endpoint ?? null) as string | null;
    // retryDelayMs (ChangeProp's unit) of the rule wins over the defaults' retryDelay, and back.
    const delayMs = r.retryDelayMs ?? (r.retryDelay === undefined ? defaults.retryDelayMs : undefined);
    const retryDelay = typeof delayMs === 'number' ? delayMs / 1000 : pick('retryDelay', d.retryDelay);
    // claimTTL (ChangeProp's name) is maxEventAge; the rule's wins over the defaults' either way.
    const maxEventAge = num(
      r.maxEventAge ?? r.claimTTL ?? defaults.maxEventAge ?? defaults.claimTTL,
      d.maxEventAge,
    );
    return Object.freeze({
      name: r.name as string,
      topics: Object.freeze([...((r.topics as string[] | undefined) ?? [])]),
      topicPattern: typeof r.topicPattern === 'string' ? new RegExp(`^(?:${r.topicPattern})$`) : null,
      groupId: (r.groupId as string | undefined) ?? `${service}-${r.name as string}`,
      concurrency: pick('concurrency', d.concurrency),
      retryDelay,
      retryFactor: pick('retryFactor', d.retryFactor),
      retryLimit: pick('retryLimit', d.retryLimit),
      reenqueueDelay: pick('reenqueueDelay', d.reenqueueDelay),
      maxEventAge,
      rootClaimTTL: pick('rootClaimTTL', d.rootClaimTTL),
      endpoint,
      httpTimeout: pick('httpTimeout', d.httpTimeout),
      types: Array.isArray(r.types) ? Object.freeze([...(r.types as string[])]) : null,
      excludeTypes: Object.freeze([...((r.excludeTypes as string[] | undefined) ?? [])]),
      excludeTopics: Object.freeze([...((r.excludeTopics as string[] | undefined) ?? [])]),
      headers: Object.freeze({ ...get<Record<string, string>>('headers', {}) }),
      retryOn: Object.freeze([...get<Array<number | string>>('retryOn', [...d.retryOn])]),
      ignore: Object.freeze([...get<Array<number | string>>('ignore', [...d.ignore])]),
      disableDelayedExecution: get('disableDelayedExecution', false),
      dropCanary: get('dropCanary', true),
      startAt: get<'latest' | 'earliest'>('startAt', d.startAt),
    });
  });
}

/** The partitioners of a checked section (none without the key). */
export function buildPartitioners(s: Raw): PartitionerConf[] {
  return ((s.partitioners as Raw[] | undefined) ?? []).map(
    (p): PartitionerConf =>
      Object.freeze({
        type: p.type as string,
        topic: p.topic as string,
        key: (p.key as string | undefined) ?? 'database',
        stream: (p.stream as string | null | undefined) ?? null,
        domains: Object.freeze({ ...(p.domains as Record<string, number>) }),
        defaultPartition: num(p.defaultPartition, 0),
      }),
  );
}
