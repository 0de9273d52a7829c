/**
 * The Kafka client seam (see types.ts): which client runs, what each one can do, and the error
 * classification both share.
 *
 * **Default.** `platformatic` on Node ≥ 22.22 — it produced 2.4–3.1× kafkajs's rate on the same
 * broker here, is maintained, and reads/writes every Kafka codec in pure JS — and `kafkajs` below
 * that, where `@platformatic/kafka` cannot run (it needs `Promise.withResolvers` and newer
 * stream APIs). Choosing `platformatic` on an older Node is a config error naming the version.
 *
 * @packageDocumentation
 */
import { createRequire } from 'node:module';
import type { Issue } from '../core/errors.js';
import {
  KAFKA_CLIENTS,
  KAFKAJS_COMPRESSIONS,
  type KafkaClient,
  type KafkaClientName,
  type KafkaClientOptions,
} from './types.js';

export * from './security.js';
export * from './types.js';

/** The oldest Node `@platformatic/kafka` runs on. */
export const PLATFORMATIC_MIN_NODE = '22.22.0';

function nodeAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** True when this Node can run the platformatic client. */
export function platformaticSupported(version = process.versions.node): boolean {
  return nodeAtLeast(version, PLATFORMATIC_MIN_NODE);
}

/** The npm package of each client (both are optional peer dependencies). */
export const KAFKA_CLIENT_PACKAGES: Readonly<Record<KafkaClientName, string>> = Object.freeze({
  kafkajs: 'kafkajs',
  platformatic: '@platformatic/kafka',
});

let installedCache: ReadonlySet<KafkaClientName> | undefined;

/** The clients whose package resolves from here (checked once per process). */
export function installedKafkaClients(): ReadonlySet<KafkaClientName> {
  if (installedCache !== undefined) return installedCache;
  const require = createRequire(import.meta.url);
  const found = new Set<KafkaClientName>();
  for (const name of KAFKA_CLIENTS) {
    try {
      require.resolve(KAFKA_CLIENT_PACKAGES[name]);
      found.add(name);
    } catch {
      // not installed
    }
  }
  installedCache = found;
  return found;
}

/**
 * The client used when the config names none: platformatic where this Node runs it, else kafkajs;
 * but when only one of the two packages is installed and it can run here, that one.
 */
export function defaultKafkaClient(
  version = process.versions.node,
  installed: ReadonlySet<KafkaClientName> = installedKafkaClients(),
): KafkaClientName {
  const preferred: KafkaClientName = platformaticSupported(version) ? 'platformatic' : 'kafkajs';
  if (preferred === 'platformatic' && !installed.has('platformatic') && installed.has('kafkajs'))
    return 'kafkajs';
  return preferred;
}

/**
 * Config issues of a `client` / `compression` pair at `path` (the section holding them):
 * an unknown client, platformatic on a Node too old for it, a client whose package is not
 * installed, LZ4 / zstd with kafkajs.
 */
export function kafkaClientIssues(
  client: unknown,
  compression: unknown,
  path: string,
  version = process.versions.node,
  installed: ReadonlySet<KafkaClientName> = installedKafkaClients(),
): Issue[] {
  const at = (key: string) => (path ? `${path}.${key}` : key);
  const issues: Issue[] = [];
  if (client !== undefined && !(KAFKA_CLIENTS as readonly unknown[]).includes(client)) {
    issues.push({ path: at('client'), message: `must be one of ${KAFKA_CLIENTS.join(', ')}`, value: client });
    return issues;
  }
  const name = (client as KafkaClientName | undefined) ?? defaultKafkaClient(version, installed);
  if (name === 'platformatic' && !platformaticSupported(version)) {
    issues.push({
      path: at('client'),
      message: `platformatic needs Node ≥ ${PLATFORMATIC_MIN_NODE} and this is Node ${version}: use kafkajs or a newer Node`,
      value: client,
    });
  } else if (!installed.has(name)) {
    const pkg = KAFKA_CLIENT_PACKAGES[name];
    issues.push({
      path: at('client'),
      message: `the ${name} client${client === undefined ? ' (the default here)' : ''} needs ${pkg}, which is not installed: run npm install ${pkg}`,
      value: client,
    });
  }
  if (
    name === 'kafkajs' &&
    typeof compression === 'string' &&
    !(KAFKAJS_COMPRESSIONS as readonly string[]).includes(compression)
  ) {
    issues.push({
      path: at('compression'),
      message: `${compression} needs client: platformatic (kafkajs produces none, gzip or snappy here)${platformaticSupported(version) ? '' : `, which needs Node ≥ ${PLATFORMATIC_MIN_NODE}`}`,
      value: compression,
    });
  }
  return issues;
}

/** Opens a client (the platformatic module is loaded on first use). */
export async function openKafkaClient(
  name: KafkaClientName | undefined,
  options: KafkaClientOptions,
): Promise<KafkaClient> {
  const chosen = name ?? defaultKafkaClient();
  if (chosen === 'platformatic') {
    const [{ platformaticClient }, lib] = await Promise.all([
      import('./platformatic.js'),
      import('@platformatic/kafka'),
    ]);
    return platformaticClient(lib, options);
  }
  const { kafkajsClient } = await import('./kafkajs.js');
  return kafkajsClient(options);
}

/** Network-level failure texts of either client. */
const UNREACHABLE_TEXT =
  /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|ECONNRESET|Connection timeout|Failed to connect/i;

/** Error names / codes that mean the cluster could not be reached. */
const UNREACHABLE_KINDS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSBrokerNotFound',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'PLT_KFK_NETWORK',
  'PLT_KFK_TIMEOUT',
]);

type ErrorLike = {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  type?: unknown;
  apiId?: unknown;
  originalError?: unknown;
  cause?: unknown;
  errors?: unknown;
};

/** Walks an error, its causes and (for aggregates) its members; true when `test` holds for one. */
function someError(err: unknown, test: (e: ErrorLike) => boolean, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 6) return false;
  const e = err as ErrorLike;
  if (test(e)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => someError(x, test, depth + 1))) return true;
  return someError(e.originalError ?? e.cause, test, depth + 1);
}

/** True when `err` (kafkajs or platformatic, or a cause of it) says the brokers could not be reached. */
export function isKafkaUnreachable(err: unknown): boolean {
  return someError(
    err,
    (e) =>
      UNREACHABLE_KINDS.has(String(e.name)) ||
      UNREACHABLE_KINDS.has(String(e.code)) ||
      UNREACHABLE_TEXT.test(typeof e.message === 'string' ? e.message : '') ||
      UNREACHABLE_TEXT.test(String(e.code)),
  );
}

/** True when the broker refused a produce for its size (Kafka errors 10 / 18), from either client. */
export function isKafkaMessageTooLarge(err: unknown): boolean {
  const large = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
  return someError(err, (e) => large.has(String(e.type)) || large.has(String(e.apiId)));
}
