/**
 * The eventbus settings (a `jobTypeConf` or `connections` entry of class `eventbus`, or the
 * options of an {@link EventBusJobQueue}): their type, defaults and validation. The secret is
 * never shown in an issue.
 *
 * @packageDocumentation
 */
import type { Producer } from 'kafkajs';
import type { BackendSettings } from '../../core/backend.js';
import { brokerList } from '../../core/checks.js';
import type { Issue } from '../../core/errors.js';
import { SIGNATURE_MODES, type SignatureMode } from '../../events/signature.js';
import {
  isKafkaCompression,
  KAFKA_COMPRESSIONS,
  type KafkaClientName,
  type KafkaCompression,
  type KafkaSaslOptions,
  type KafkaTlsSetting,
  kafkaClientIssues,
  kafkaSecurityIssues,
} from '../../kafka/index.js';

/** Defaults of the eventbus settings. */
export const EVENTBUS_DEFAULTS = Object.freeze({
  streamPrefix: 'mediawiki.job.',
  clientId: 'switchyard-eventbus',
  /** ms to open a broker connection. */
  connectionTimeout: 3000,
  /** ms a broker request may take. */
  requestTimeout: 30_000,
  /** Retries of a failed request (owned client). */
  retries: 3,
  /** ms the broker waits for the in-sync replicas' acks. */
  ackTimeout: 30_000,
  /**
   * Most bytes of event JSON in one produce request. A bigger push is split into several requests
   * (sent together), so no partition's record batch nears the broker's `message.max.bytes` (1 MiB
   * by default).
   */
  maxBatchBytes: 262_144,
  /** Produce compression (`none`, `gzip`, `snappy`; `lz4`, `zstd` with the platformatic client). */
  compression: 'none' as KafkaCompression,
});

/** Settings of a `jobTypeConf` entry or `connections` entry of class `eventbus`. */
export interface EventBusSettings {
  /** The HMAC signing secret, MediaWiki's `$wgSecretKey` (use `${ENV}` in the config file). Required. */
  readonly secret?: string;
  /**
   * How events are signed: `mediawiki` (MediaWiki EventBus's bytes: hex HMAC-SHA1, MediaWiki's
   * sha1, root-job / request-id params) or `switchyard-v1` (HMAC-SHA256 over a subset). Default
   * `switchyard-v1`, what earlier releases wrote (docs/eventbus.md says why).
   */
  readonly signature?: SignatureMode;
  /** `mediawiki` signature: meta.domain, the wiki's server name (one, or domain → name). */
  readonly serverName?: string | Readonly<Record<string, string>>;
  /** `mediawiki` signature: meta.uri (default MediaWiki's placeholder). */
  readonly uri?: string;
  /** Broker addresses (`host:port`, a list or a comma-separated string): an owned client. */
  readonly brokers?: string | readonly string[];
  /** A host kafkajs Producer, connected by the host; never connected or disconnected by switchyard. */
  readonly producer?: Producer;
  /**
   * The Kafka client of an owned producer: `platformatic` (default on Node ≥ 22.22) or `kafkajs`
   * (default below). A host `producer` is kafkajs.
   */
  readonly client?: KafkaClientName;
  /** TLS to the brokers of an owned client (`true`: the system CAs; CA / cert / key as PEM or files). */
  readonly tls?: KafkaTlsSetting | false;
  /** SASL of an owned client: `{ mechanism: plain | scram-sha-256 | scram-sha-512, username, password }`. */
  readonly sasl?: KafkaSaslOptions;
  /** Datacenter prefix of topics (`eqiad` → `eqiad.mediawiki.job.x`); none by default. */
  readonly dcPrefix?: string | null;
  /** Stream name prefix; default `mediawiki.job.`. */
  readonly streamPrefix?: string;
  /** Kafka clientId of the owned client. */
  readonly clientId?: string;
  readonly connectionTimeout?: number;
  readonly requestTimeout?: number;
  readonly retries?: number;
  readonly ackTimeout?: number;
  /** Most bytes of event JSON per produce request; larger pushes are split. */
  readonly maxBatchBytes?: number;
  /**
   * Produce compression: `none` (default), `gzip`, `snappy` (what WMF's producers use), and with
   * the platformatic client `lz4` or `zstd`.
   */
  readonly compression?: KafkaCompression;
}

const SETTING_KEYS = [
  'secret',
  'signature',
  'serverName',
  'uri',
  'brokers',
  'producer',
  'client',
  'tls',
  'sasl',
  'dcPrefix',
  'streamPrefix',
  'clientId',
  'connectionTimeout',
  'requestTimeout',
  'retries',
  'ackTimeout',
  'maxBatchBytes',
  'compression',
] as const;

export function isProducerLike(value: unknown): value is Producer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Producer).send === 'function' &&
    typeof (value as Producer).sendBatch === 'function' &&
    typeof (value as Producer).connect === 'function'
  );
}

/**
 * Checks eventbus settings. `needsSecret`: a secret is required (connections, and entries that
 * bring their own producer or brokers; an entry without them takes the connection's).
 */
export function checkSettings(settings: BackendSettings, path: string, needsSecret: boolean): Issue[] {
  const issues: Issue[] = [];
  const p = (k: string) => (path ? `${path}.${k}` : k);
  for (const key of Object.keys(settings)) {
    if (!(SETTING_KEYS as readonly string[]).includes(key)) {
      issues.push({ path: p(key), message: 'is not an eventbus setting', choices: SETTING_KEYS });
    }
  }
  const s = settings as Record<string, unknown>;
  if (s.secret === undefined) {
    if (needsSecret) {
      issues.push({
        path: p('secret'),
        message:
          "is required: the HMAC key that signs job events, MediaWiki's $wgSecretKey (interpolate it from an environment variable)",
      });
    }
  } else if (typeof s.secret !== 'string' || s.secret.length === 0) {
    // Never show the value: it may be (part of) the secret.
    issues.push({ path: p('secret'), message: 'must be a non-empty string' });
  }
  if (s.signature !== undefined && !(SIGNATURE_MODES as readonly unknown[]).includes(s.signature)) {
    issues.push({
      path: p('signature'),
      message: 'must be mediawiki or switchyard-v1',
      value: s.signature,
      choices: SIGNATURE_MODES,
    });
  }
  if (s.serverName !== undefined) {
    const names = s.serverName;
    const ok =
      (typeof names === 'string' && names.length > 0) ||
      (typeof names === 'object' &&
        names !== null &&
        !Array.isArray(names) &&
        Object.values(names).every((n) => typeof n === 'string' && n.length > 0));
    if (!ok) {
      issues.push({
        path: p('serverName'),
        message: 'must be a server name, or a mapping of domain → server name',
        value: names,
      });
    }
  }
  if (s.uri !== undefined && (typeof s.uri !== 'string' || s.uri.length === 0 || /\s/.test(s.uri))) {
    issues.push({ path: p('uri'), message: 'must be a URI (no whitespace)', value: s.uri });
  }
  if (s.brokers !== undefined && s.producer !== undefined) {
    issues.push({ path: p('producer'), message: 'give either producer or brokers, not both' });
  }
  if (s.brokers !== undefined && brokerList(s.brokers) === null) {
    issues.push({
      path: p('brokers'),
      message: 'must be host:port addresses (a list or a comma-separated string)',
      value: s.brokers,
    });
  }
  if (s.producer !== undefined && !isProducerLike(s.producer)) {
    issues.push({ path: p('producer'), message: 'must be a kafkajs Producer' });
  }
  if (s.dcPrefix !== undefined && s.dcPrefix !== null) {
    if (typeof s.dcPrefix !== 'string' || !/^[A-Za-z0-9_-]+$/.test(s.dcPrefix)) {
      issues.push({
        path: p('dcPrefix'),
        message: 'must be a name of letters, digits, _ and - (no dots), or null',
        value: s.dcPrefix,
      });
    }
  }
  if (
    s.streamPrefix !== undefined &&
    (typeof s.streamPrefix !== 'string' || !/^[A-Za-z0-9._-]*$/.test(s.streamPrefix))
  ) {
    issues.push({ path: p('streamPrefix'), message: 'must be a topic-name prefix', value: s.streamPrefix });
  }
  if (s.compression !== undefined && !isKafkaCompression(s.compression)) {
    issues.push({
      path: p('compression'),
      message: `must be one of ${KAFKA_COMPRESSIONS.join(', ')}`,
      value: s.compression,
      choices: KAFKA_COMPRESSIONS,
    });
  } else if (s.producer !== undefined && s.client !== undefined && s.client !== 'kafkajs') {
    issues.push({
      path: p('client'),
      message: 'a host producer is a kafkajs Producer: client must be kafkajs (or left out)',
      value: s.client,
    });
  } else {
    issues.push(...kafkaClientIssues(s.producer !== undefined ? 'kafkajs' : s.client, s.compression, path));
  }
  issues.push(...kafkaSecurityIssues(s.tls, s.sasl, path));
  if (s.producer !== undefined) {
    for (const k of ['tls', 'sasl'] as const) {
      if (s[k] !== undefined) {
        issues.push({
          path: p(k),
          message: 'configure it on the host producer: switchyard does not build that client',
        });
      }
    }
  }
  if (s.clientId !== undefined && (typeof s.clientId !== 'string' || s.clientId.length === 0)) {
    issues.push({ path: p('clientId'), message: 'must be a non-empty string', value: s.clientId });
  }
  for (const key of ['connectionTimeout', 'requestTimeout', 'ackTimeout'] as const) {
    const v = s[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
      issues.push({ path: p(key), message: 'must be milliseconds ≥ 1', value: v });
    }
  }
  if (
    s.maxBatchBytes !== undefined &&
    (typeof s.maxBatchBytes !== 'number' || !Number.isInteger(s.maxBatchBytes) || s.maxBatchBytes < 1024)
  ) {
    issues.push({
      path: p('maxBatchBytes'),
      message: 'must be an integer ≥ 1024 (bytes)',
      value: s.maxBatchBytes,
    });
  }
  if (
    s.retries !== undefined &&
    (typeof s.retries !== 'number' || !Number.isInteger(s.retries) || s.retries < 0)
  ) {
    issues.push({ path: p('retries'), message: 'must be an integer ≥ 0', value: s.retries });
  }
  return issues;
}

/** Validates a `jobTypeConf` entry of class eventbus. */
export function validateEventBusSettings(settings: BackendSettings, path: string): Issue[] {
  const own = settings.brokers !== undefined || settings.producer !== undefined;
  return checkSettings(settings, path, own);
}

/** Validates a `connections` entry of class eventbus (a secret is always required). */
export function validateEventBusConnection(settings: BackendSettings, path: string): Issue[] {
  const issues = checkSettings(settings, path, true);
  if (settings.brokers === undefined && settings.producer === undefined) {
    issues.push({ path: path ? `${path}.brokers` : 'brokers', message: 'is required (or give a producer)' });
  }
  return issues;
}
