/**
 * The `executor` top-level config section (promises §5), typed: where the Kafka broker is, the
 * signing secret, Redis dedup, and the rules (which topics, how many jobs at once, how to retry,
 * and whether jobs run in-process or are POSTed to a job-execution endpoint), with the defaults.
 * The section is parsed from the config file by ./section.ts (the rules by ./rules-section.ts).
 *
 * Times are seconds (fractions allowed, so tests can use short delays), like the rest of the
 * config file. The secret is never put into an issue.
 *
 * @packageDocumentation
 */
import type { SignatureMode } from '../events/signature.js';
import type { KafkaClientName, KafkaCompression, KafkaSaslOptions, KafkaTlsSetting } from '../kafka/index.js';

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
  /** s: drop an event older than this (0 = never); the config key `maxEventAge` (alias `claimTTL`). */
  maxEventAge: 0,
  /** @deprecated The old name of {@link EXECUTOR_DEFAULTS.maxEventAge}. */
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
  /**
   * Seconds: an event older than this (from the later of `meta.dt` and `delay_until`) is dropped
   * as stale, 0 = never. Config key `maxEventAge`, or `claimTTL` (ChangeProp's `claim_ttl`).
   */
  readonly maxEventAge: number;
  /** Seconds: an event whose root job is older than this is dropped, 0 = never (ChangeProp's `root_claim_ttl`). */
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
