/**
 * The `executor` top-level config section (promises §5): where the Kafka broker is, the signing
 * secret, Redis dedup, and the rules (which topics, how many jobs at once, how to retry, and
 * whether jobs run in-process or are POSTed to a job-execution endpoint).
 *
 * Times are seconds (fractions allowed, so tests can use short delays), like the rest of the
 * config file. The secret is never put into an issue.
 *
 * @packageDocumentation
 */

import { brokerList, isRecord } from '../core/checks.js';
import type { Issue } from '../core/errors.js';
import { configInvalid } from '../core/errors.js';
import { SIGNATURE_MODES, type SignatureMode } from '../events/signature.js';
import {
  defaultKafkaClient,
  isKafkaCompression,
  KAFKA_COMPRESSIONS,
  type KafkaClientName,
  type KafkaCompression,
  type KafkaSaslOptions,
  type KafkaTlsSetting,
  kafkaClientIssues,
  kafkaSecurityIssues,
} from '../kafka/index.js';

/** Defaults of the section and of each rule (promises §5). */
export const EXECUTOR_DEFAULTS = Object.freeze({
  clientId: 'switchyard-executor',
  service: 'switchyard',
  streamPrefix: 'mediawiki.job.',
  concurrency: 30,
  /** s: first retry delay. */
  retryDelay: 60,
  retryFactor: 6,
  retryLimit: 2,
  /** s: a longer delay_until wait is re-produced instead of slept. */
  reenqueueDelay: 20,
  /** s: drop an event older than this (0 = never). */
  claimTTL: 0,
  /** s: drop an event whose root job is older than this (MediaWiki's ROOTJOB_TTL, 30 days). */
  rootClaimTTL: 30 * 24 * 3600,
  /** s: dedup by event id. */
  idTTL: 3600,
  /** s: dedup by sha1. */
  sha1TTL: 3600,
  /** s: dedup by root event. */
  rootTTL: 24 * 3600,
  /** s: how often offsets that finished are committed. */
  commitInterval: 1,
  /** s: how often regex rules look for new topics. */
  topicRefreshInterval: 60,
  /** s: HTTP execution timeout. */
  httpTimeout: 600,
  /** ms: broker connection timeout. */
  connectionTimeout: 3000,
  /** ms: broker request timeout. */
  requestTimeout: 30_000,
  /** ms: a consumer that stops heartbeating (a killed process) leaves its group after this. */
  sessionTimeout: 30_000,
  retries: 5,
  /** s: time to finish in-flight jobs on stop before they are handed back. */
  shutdownGrace: 30,
  redisPrefix: 'switchyard:executor:',
  /** Statuses retried (ChangeProp's `retry_on`); `x` = any digit. */
  retryOn: Object.freeze(['5xx'] as Array<number | string>),
  /** Statuses that count as success (ChangeProp's `ignore`). */
  ignore: Object.freeze([412] as Array<number | string>),
  /** Where a consumer group without committed offsets starts (ChangeProp: the end). */
  startAt: 'latest' as 'latest' | 'earliest',
});

/** One partitioner rule: events of `type` are re-produced to `topic`, partition by `key`. */
export interface PartitionerConf {
  readonly type: string;
  readonly topic: string;
  /** Dotted path of the event field whose value picks the partition (ChangeProp's `partition_key`); default `database`. */
  readonly key: string;
  /**
   * `meta.stream` of the re-produced event, `{{message.meta.stream}}` expanded (ChangeProp's
   * `partition_stream`), or null to leave the event unchanged.
   */
  readonly stream: string | null;
  /** key value → partition. */
  readonly domains: Readonly<Record<string, number>>;
  /** The partition of a domain not in the map. */
  readonly defaultPartition: number;
}

/** One executor rule, with every default filled in. */
export interface ExecutorRule {
  readonly name: string;
  /** Exact topic names. */
  readonly topics: readonly string[];
  /** A topic regex (matched against whole names), or null. */
  readonly topicPattern: RegExp | null;
  /** The consumer group; default `{service}-{name}`. */
  readonly groupId: string;
  readonly concurrency: number;
  readonly retryDelay: number;
  readonly retryFactor: number;
  readonly retryLimit: number;
  readonly reenqueueDelay: number;
  readonly claimTTL: number;
  readonly rootClaimTTL: number;
  /** POST each event here instead of running an in-process handler; null = in-process. */
  readonly endpoint: string | null;
  readonly httpTimeout: number;
  /** Only these types (null = all). */
  readonly types: readonly string[] | null;
  /** Types this rule leaves alone (they are committed without running). */
  readonly excludeTypes: readonly string[];
  /** Topics never consumed, even when named or matched (ChangeProp's `exclude_topics`). */
  readonly excludeTopics: readonly string[];
  /** Extra HTTP request headers; `{{message.a.b}}` is a field of the event. */
  readonly headers: Readonly<Record<string, string>>;
  /** HTTP statuses retried (ChangeProp's `retry_on`): numbers or patterns such as `5xx`. */
  readonly retryOn: ReadonlyArray<number | string>;
  /** HTTP statuses that count as success (ChangeProp's `ignore`). */
  readonly ignore: ReadonlyArray<number | string>;
  /** Run events at once, ignoring `delay_until` (ChangeProp's `disable_delayed_execution`). */
  readonly disableDelayedExecution: boolean;
  /** Drop canary events (`meta.domain: canary`, WMF's stream monitoring) without running them. */
  readonly dropCanary: boolean;
  /** Where a new consumer group (no committed offsets) starts: the end (ChangeProp) or the beginning. */
  readonly startAt: 'latest' | 'earliest';
}

/** The resolved `executor` section. */
export interface ExecutorConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** The HMAC secret of job events (MediaWiki's `$wgSecretKey`). Never logged. */
  readonly secret: string;
  /**
   * The signature scheme accepted: `mediawiki` (MediaWiki EventBus's) or `switchyard-v1`; null
   * (no `signature` setting) accepts either (docs/eventbus.md).
   */
  readonly signature: SignatureMode | null;
  /** Names retry (`{service}.retry.{stream}`) and error (`{service}.error`) topics. */
  readonly service: string;
  /** Datacenter prefix of the retry and error topics (and stripped from stream names). */
  readonly dcPrefix: string | null;
  /** Redis URL for dedup; null = no dedup. */
  readonly redis: string | null;
  readonly redisPrefix: string;
  readonly dedup: {
    readonly idTTL: number;
    readonly sha1TTL: number;
    readonly rootTTL: number;
    /** Record the event id when the check passes, as ChangeProp (a replay of a running event is skipped too). */
    readonly idAtCheck: boolean;
  };
  /** Create missing retry / error / partitioned topics at start (default true). */
  readonly createTopics: boolean;
  /**
   * The Kafka client library: `platformatic` (the default on Node ≥ 22.22) or `kafkajs` (the
   * default below; see src/kafka/index.ts).
   */
  readonly client: KafkaClientName;
  /** TLS to the brokers (`true`: the system CAs; see src/kafka/security.ts). */
  readonly tls: KafkaTlsSetting | null;
  /** SASL authentication (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512); the password is never logged. */
  readonly sasl: KafkaSaslOptions | null;
  /** Compression of what the executor produces (retry, error, re-enqueued, partitioned). */
  readonly compression: KafkaCompression;
  readonly commitInterval: number;
  readonly topicRefreshInterval: number;
  readonly connectionTimeout: number;
  readonly requestTimeout: number;
  readonly sessionTimeout: number;
  readonly retries: number;
  readonly shutdownGrace: number;
  readonly rules: readonly ExecutorRule[];
  readonly partitioners: readonly PartitionerConf[];
}

const SECTION_KEYS = [
  'brokers',
  'clientId',
  'secret',
  'signature',
  'service',
  'dcPrefix',
  'redis',
  'redisPrefix',
  'dedup',
  'createTopics',
  'client',
  'tls',
  'sasl',
  'compression',
  'commitInterval',
  'topicRefreshInterval',
  'connectionTimeout',
  'requestTimeout',
  'sessionTimeout',
  'retries',
  'shutdownGrace',
  'defaults',
  'rules',
  'partitioners',
] as const;

const RULE_TUNABLES = [
  'concurrency',
  'retryDelay',
  'retryFactor',
  'retryLimit',
  'reenqueueDelay',
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

const DEDUP_KEYS = ['idTTL', 'sha1TTL', 'rootTTL', 'idAtCheck'] as const;
const PARTITIONER_KEYS = ['type', 'topic', 'key', 'stream', 'domains', 'defaultPartition'] as const;
const STATUS_ENTRY = /^[1-5][0-9x]{2}$/;

type Raw = Record<string, unknown>;

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

function unknownKeys(
  obj: Raw,
  allowed: readonly string[],
  path: string,
  issues: Issue[],
  what: string,
): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key))
      issues.push({ path: `${path}.${key}`, message: `is not ${what}`, choices: allowed });
  }
}

function checkNumber(
  v: unknown,
  path: string,
  issues: Issue[],
  opts: { min: number; integer?: boolean; exclusive?: boolean; unit?: string },
): void {
  if (v === undefined) return;
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (opts.exclusive ? v > opts.min : v >= opts.min) &&
    (!opts.integer || Number.isInteger(v));
  if (!ok) {
    const what = opts.integer ? 'an integer' : `${opts.unit ?? 'a number'}`;
    issues.push({ path, message: `must be ${what} ${opts.exclusive ? '>' : '≥'} ${opts.min}`, value: v });
  }
}

function checkTunables(obj: Raw, path: string, issues: Issue[]): void {
  checkNumber(obj.concurrency, `${path}.concurrency`, issues, { min: 1, integer: true });
  checkNumber(obj.retryLimit, `${path}.retryLimit`, issues, { min: 0, integer: true });
  checkNumber(obj.retryFactor, `${path}.retryFactor`, issues, { min: 1 });
  for (const k of ['retryDelay', 'reenqueueDelay', 'claimTTL', 'rootClaimTTL'] as const) {
    checkNumber(obj[k], `${path}.${k}`, issues, { min: 0, unit: 'seconds' });
  }
  checkNumber(obj.httpTimeout, `${path}.httpTimeout`, issues, { min: 0, exclusive: true, unit: 'seconds' });
  checkNumber(obj.retryDelayMs, `${path}.retryDelayMs`, issues, { min: 0, unit: 'milliseconds' });
  if (obj.retryDelayMs !== undefined && obj.retryDelay !== undefined) {
    issues.push({
      path: `${path}.retryDelayMs`,
      message: 'and retryDelay say the same thing (ms and s): give one of them',
    });
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

function checkStringList(v: unknown, path: string, issues: Issue[], pattern?: RegExp): void {
  if (v === undefined) return;
  if (
    !Array.isArray(v) ||
    !v.every((t) => typeof t === 'string' && t.length > 0 && (!pattern || pattern.test(t)))
  ) {
    issues.push({ path, message: 'must be a list of names', value: v });
  }
}

/**
 * Validates the `executor` section as written (after `${ENV}` interpolation). Registered in
 * `CONFIG_SECTIONS`, so `loadConfig` reports its issues with everything else's.
 */
export function validateExecutorSection(value: unknown, path = 'executor'): Issue[] {
  const issues: Issue[] = [];
  if (!isRecord(value)) {
    return [{ path, message: 'must be a mapping (brokers, secret, rules, …)', choices: SECTION_KEYS }];
  }
  unknownKeys(value, SECTION_KEYS, path, issues, 'an executor setting');
  if (value.brokers === undefined) {
    issues.push({
      path: `${path}.brokers`,
      message: 'is required: host:port addresses of the Kafka cluster',
    });
  } else if (brokerList(value.brokers) === null) {
    issues.push({
      path: `${path}.brokers`,
      message: 'must be host:port addresses (a list or a comma-separated string)',
      value: value.brokers,
    });
  }
  if (value.secret === undefined) {
    issues.push({
      path: `${path}.secret`,
      message:
        "is required: the HMAC key job events are signed with, MediaWiki's $wgSecretKey (interpolate it from an environment variable)",
    });
  } else if (typeof value.secret !== 'string' || value.secret.length === 0) {
    issues.push({ path: `${path}.secret`, message: 'must be a non-empty string' });
  }
  if (
    value.signature !== undefined &&
    value.signature !== null &&
    !(SIGNATURE_MODES as readonly unknown[]).includes(value.signature)
  ) {
    issues.push({
      path: `${path}.signature`,
      message: 'must be mediawiki or switchyard-v1 (or absent: accept either)',
      value: value.signature,
      choices: SIGNATURE_MODES,
    });
  }
  for (const k of ['clientId', 'service', 'redisPrefix'] as const) {
    const v = value[k];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) {
      issues.push({ path: `${path}.${k}`, message: 'must be a non-empty string', value: v });
    }
  }
  if (value.service !== undefined && typeof value.service === 'string' && !TOPIC.test(value.service)) {
    issues.push({ path: `${path}.service`, message: 'must be a topic-name part', value: value.service });
  }
  if (value.dcPrefix !== undefined && value.dcPrefix !== null) {
    if (typeof value.dcPrefix !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value.dcPrefix)) {
      issues.push({
        path: `${path}.dcPrefix`,
        message: 'must be letters, digits, _ and - (no dots), or null',
        value: value.dcPrefix,
      });
    }
  }
  if (value.redis !== undefined && value.redis !== null) {
    if (typeof value.redis !== 'string' || !/^rediss?:\/\//.test(value.redis)) {
      // A Redis URL may hold a password: never show it.
      issues.push({
        path: `${path}.redis`,
        message: 'must be a redis:// or rediss:// URL, or null (no dedup)',
      });
    }
  }
  if (value.dedup !== undefined) {
    if (!isRecord(value.dedup))
      issues.push({ path: `${path}.dedup`, message: 'must be a mapping', choices: DEDUP_KEYS });
    else {
      unknownKeys(value.dedup, DEDUP_KEYS, `${path}.dedup`, issues, 'a dedup setting');
      if (value.dedup.idAtCheck !== undefined && typeof value.dedup.idAtCheck !== 'boolean') {
        issues.push({
          path: `${path}.dedup.idAtCheck`,
          message: 'must be true or false',
          value: value.dedup.idAtCheck,
        });
      }
      for (const k of ['idTTL', 'sha1TTL', 'rootTTL'] as const) {
        checkNumber(value.dedup[k], `${path}.dedup.${k}`, issues, {
          min: 0,
          exclusive: true,
          unit: 'seconds',
        });
      }
    }
  }
  if (value.compression !== undefined && !isKafkaCompression(value.compression)) {
    issues.push({
      path: `${path}.compression`,
      message: `must be one of ${KAFKA_COMPRESSIONS.join(', ')}`,
      value: value.compression,
      choices: KAFKA_COMPRESSIONS,
    });
  } else {
    issues.push(...kafkaClientIssues(value.client, value.compression, path));
  }
  issues.push(...kafkaSecurityIssues(value.tls, value.sasl, path));
  if (value.createTopics !== undefined && typeof value.createTopics !== 'boolean') {
    issues.push({
      path: `${path}.createTopics`,
      message: 'must be true or false',
      value: value.createTopics,
    });
  }
  for (const k of ['commitInterval', 'topicRefreshInterval'] as const) {
    checkNumber(value[k], `${path}.${k}`, issues, { min: 0, exclusive: true, unit: 'seconds' });
  }
  checkNumber(value.shutdownGrace, `${path}.shutdownGrace`, issues, { min: 0, unit: 'seconds' });
  checkNumber(value.sessionTimeout, `${path}.sessionTimeout`, issues, { min: 6000, integer: true });
  for (const k of ['connectionTimeout', 'requestTimeout'] as const) {
    checkNumber(value[k], `${path}.${k}`, issues, { min: 1, integer: true });
  }
  checkNumber(value.retries, `${path}.retries`, issues, { min: 0, integer: true });
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
  if (value.partitioners !== undefined) {
    if (!Array.isArray(value.partitioners)) {
      issues.push({ path: `${path}.partitioners`, message: 'must be a list', value: value.partitioners });
    } else {
      value.partitioners.forEach((p: unknown, i: number) => {
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
  }
  return issues;
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

/**
 * The executor settings of a config section, defaults filled in.
 *
 * @throws `SWITCHYARD_CONFIG_INVALID` listing every problem (a missing secret included).
 */
export function resolveExecutorConfig(section: unknown, path = 'executor'): ExecutorConfig {
  const issues = validateExecutorSection(section, path);
  if (issues.length > 0) throw configInvalid(issues, `${path} section`);
  const s = section as Raw;
  const d = EXECUTOR_DEFAULTS;
  const defaults = (isRecord(s.defaults) ? s.defaults : {}) as Raw;
  const service = (s.service as string | undefined) ?? d.service;
  const dedup = (isRecord(s.dedup) ? s.dedup : {}) as Raw;
  const rules = (s.rules as Raw[]).map((r): ExecutorRule => {
    const pick = (k: (typeof RULE_TUNABLES)[number], fallback: number) => num(r[k] ?? defaults[k], fallback);
    const get = <T>(k: (typeof RULE_TUNABLES)[number], fallback: T): T =>
      (r[k] ?? defaults[k] ?? fallback) as T;
    const endpoint = (r.endpoint ?? defaults.endpoint ?? null) as string | null;
    // retryDelayMs (ChangeProp's unit) of the rule wins over the defaults' retryDelay, and back.
    const delayMs = r.retryDelayMs ?? (r.retryDelay === undefined ? defaults.retryDelayMs : undefined);
    const retryDelay = typeof delayMs === 'number' ? delayMs / 1000 : pick('retryDelay', d.retryDelay);
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
      claimTTL: pick('claimTTL', d.claimTTL),
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
  const partitioners = ((s.partitioners as Raw[] | undefined) ?? []).map(
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
  return Object.freeze({
    brokers: Object.freeze(brokerList(s.brokers) as string[]),
    clientId: (s.clientId as string | undefined) ?? d.clientId,
    secret: s.secret as string,
    signature: (s.signature as SignatureMode | null | undefined) ?? null,
    service,
    dcPrefix: (s.dcPrefix as string | null | undefined) ?? null,
    redis: (s.redis as string | null | undefined) ?? null,
    redisPrefix: (s.redisPrefix as string | undefined) ?? d.redisPrefix,
    dedup: Object.freeze({
      idTTL: num(dedup.idTTL, d.idTTL),
      sha1TTL: num(dedup.sha1TTL, d.sha1TTL),
      rootTTL: num(dedup.rootTTL, d.rootTTL),
      idAtCheck: (dedup.idAtCheck as boolean | undefined) ?? false,
    }),
    createTopics: (s.createTopics as boolean | undefined) ?? true,
    client: (s.client as KafkaClientName | undefined) ?? defaultKafkaClient(),
    tls: s.tls === undefined || s.tls === false ? null : Object.freeze(s.tls as KafkaTlsSetting),
    sasl: s.sasl === undefined ? null : Object.freeze({ ...(s.sasl as KafkaSaslOptions) }),
    compression: isKafkaCompression(s.compression) ? s.compression : 'none',
    commitInterval: num(s.commitInterval, d.commitInterval),
    topicRefreshInterval: num(s.topicRefreshInterval, d.topicRefreshInterval),
    connectionTimeout: num(s.connectionTimeout, d.connectionTimeout),
    requestTimeout: num(s.requestTimeout, d.requestTimeout),
    sessionTimeout: num(s.sessionTimeout, d.sessionTimeout),
    retries: num(s.retries, d.retries),
    shutdownGrace: num(s.shutdownGrace, d.shutdownGrace),
    rules: Object.freeze(rules),
    partitioners: Object.freeze(partitioners),
  });
}
