/**
 * The `executor` section's parser: the section as written (after `${ENV}` interpolation) in, the
 * typed {@link ExecutorConfig} and every issue out. `loadConfig` runs it once (through
 * `CONFIG_SECTIONS`, as {@link validateExecutorSection}); `startExecutor` then gets the
 * same value for the frozen `config.sections.executor` without walking it again.
 *
 * This file checks the connection and the section-wide settings; the rules, their defaults and
 * the partitioners are ./rules-section.ts.
 *
 * @packageDocumentation
 */
import { brokerList, isRecord, type Parsed, parsedOnce } from '../core/checks.js';
import { configInvalid, type Issue } from '../core/errors.js';
import { SIGNATURE_MODES, type SignatureMode } from '../events/signature.js';
import {
  defaultKafkaClient,
  isKafkaCompression,
  KAFKA_COMPRESSIONS,
  type KafkaClientName,
  type KafkaSaslOptions,
  type KafkaTlsSetting,
  kafkaClientIssues,
  kafkaSecurityIssues,
} from '../kafka/index.js';
import { EXECUTOR_DEFAULTS, type ExecutorConfig } from './config.js';
import { buildPartitioners, buildRules, checkRuleParts } from './rules-section.js';
import { checkNumber, num, type Raw, TOPIC, unknownKeys } from './section-checks.js';

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

const DEDUP_KEYS = ['idTTL', 'sha1TTL', 'rootTTL', 'idAtCheck'] as const;

/** Every issue of the section `value` (a mapping). */
function checkSection(value: Raw, path: string): Issue[] {
  const issues: Issue[] = [];
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
  checkRuleParts(value, path, issues);
  return issues;
}

/** The typed section of a checked one, defaults filled in, frozen. */
function buildSection(s: Raw): ExecutorConfig {
  const d = EXECUTOR_DEFAULTS;
  const service = (s.service as string | undefined) ?? d.service;
  const dedup = (isRecord(s.dedup) ? s.dedup : {}) as Raw;
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
    rules: Object.freeze(buildRules(s, service)),
    partitioners: Object.freeze(buildPartitioners(s)),
  });
}

/** Every config this parser made: handed back as they are (their identity, never their shape). */
const made = new WeakSet<ExecutorConfig>();

function parseSection(value: unknown, path: string): Parsed<ExecutorConfig | null> {
  if (typeof value === 'object' && value !== null && made.has(value as ExecutorConfig)) {
    return { value: value as ExecutorConfig, issues: [] };
  }
  if (!isRecord(value)) {
    return {
      value: null,
      issues: [{ path, message: 'must be a mapping (brokers, secret, rules, …)', choices: SECTION_KEYS }],
    };
  }
  const issues = checkSection(value, path);
  if (issues.length > 0) return { value: null, issues };
  const config = buildSection(value);
  made.add(config);
  return { value: config, issues };
}

const parseOnce = parsedOnce(parseSection);

/**
 * Parses an `executor` section: the typed value (null when there are issues) and every issue
 * with its path. A config this parser made is handed back as it is; a frozen section object is
 * parsed once (`loadConfig` parses it, `startExecutor` reuses the result).
 */
export function parseExecutorSection(value: unknown, path = 'executor'): Parsed<ExecutorConfig | null> {
  return parseOnce(value, path);
}

/**
 * The issues of an `executor` section as written (after `${ENV}` interpolation). Registered in
 * `CONFIG_SECTIONS`, so `loadConfig` reports them with everything else's.
 */
export function validateExecutorSection(value: unknown, path = 'executor'): Issue[] {
  return [...parseExecutorSection(value, path).issues];
}

/**
 * The executor settings of a raw `executor` section (as in the config file), defaults filled
 * in; for users who build the section in code. A config it made is returned as it is.
 *
 * @throws `SWITCHYARD_CONFIG_INVALID` listing every problem (a missing secret included).
 */
export function resolveExecutorConfig(section: unknown, path = 'executor'): ExecutorConfig {
  const { value, issues } = parseExecutorSection(section, path);
  if (value === null) throw configInvalid([...issues], `${path} section`);
  return value;
}
