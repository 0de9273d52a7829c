/**
 * The federated backend (promises §3): one logical queue over weighted partitions of any registered
 * backends, configured as MediaWiki's JobQueueFederated:
 *
 * ```yaml
 * jobTypeConf:
 *   default:
 *     class: federated
 *     sectionsByDomain: { enwiki: s1 }        # domain → section; others use `default`
 *     partitionsBySection:
 *       default: { rdb1: 50, pg1: 50 }         # partition → weight
 *       s1: { rdb1: 1 }
 *     configByPartition:
 *       rdb1: { class: redis, connection: redis1, prefix: fed1 }
 *       pg1: { class: sql, connection: pg }
 *     maxPartitionsTry: 2
 * ```
 *
 * @packageDocumentation
 */
import type {
  BackendContext,
  BackendModule,
  BackendSettings,
  ResolvedSettings,
  SettingsResolver,
} from '../../core/backend.js';
import { isPlainObject } from '../../core/checks.js';
import { QUEUE_OPTION_KEYS } from '../../core/config.js';
import { configInvalid, type Issue, isSwitchyardError } from '../../core/errors.js';
import type { JobQueue } from '../../core/job-queue.js';
import { defineSupports, type Supports } from '../../core/supports.js';
import { type FederatedPartitionSpec, PARTITION_NAME_PATTERN } from './placement.js';
import { FEDERATED_DEFAULTS, FederatedJobQueue } from './queue.js';

export { HashRing, ringHash } from './hash-ring.js';
export {
  type FederatedPartitionSpec,
  PARTITION_NAME_PATTERN,
  PARTITION_SEPARATOR,
  type PartitionQueueOptions,
} from './placement.js';
export {
  FEDERATED_DEFAULTS,
  FederatedJobQueue,
  type FederatedJobQueueOptions,
  federatedSupports,
} from './queue.js';

/** The section a domain without a `sectionsByDomain` entry uses. */
export const DEFAULT_SECTION = 'default';

/** Every setting of a federated `jobTypeConf` entry. */
export const FEDERATED_SETTING_KEYS: readonly string[] = Object.freeze([
  'sectionsByDomain',
  'partitionsBySection',
  'configByPartition',
  'maxPartitionsTry',
]);

/**
 * The class-level manifest (read at config load for the order check): what a federation of
 * fully capable partitions offers. Each queue declares the intersection of its partitions'.
 */
export const federatedClassSupports: Supports = defineSupports({
  pop: true,
  ack: true,
  delayedJobs: true,
  orders: ['random'],
  sizes: 'approximate',
  atomicBatchPush: false,
  typeAgnostic: false,
  durable: true,
  listing: true,
  deduplication: true,
  rootJobs: true,
  batchPop: true,
  siblingQueries: false,
  transactionalPush: false,
  wake: true,
});

/** One `configByPartition` entry after `resolveSettings`: the loaded class and its settings. */
export interface ResolvedPartitionConf {
  readonly class: string;
  readonly backend: BackendModule;
  readonly connection: string | null;
  readonly settings: BackendSettings;
}

function isModule(value: unknown): value is BackendModule {
  return (
    isPlainObject(value) &&
    typeof (value as { createQueue?: unknown }).createQueue === 'function' &&
    isPlainObject((value as { supports?: unknown }).supports)
  );
}

/**
 * Checks the shape of a federated entry: every section, weight and partition name, and that every
 * partition a section uses is configured. Partition classes are checked by `resolveSettings`.
 */
export function validateFederatedSettings(settings: BackendSettings, path: string): Issue[] {
  const issues: Issue[] = [];
  const at = (...keys: string[]) => [path, ...keys].filter((k) => k !== '').join('.');
  for (const key of Object.keys(settings)) {
    if (!FEDERATED_SETTING_KEYS.includes(key)) {
      issues.push({
        path: at(key),
        message: 'is not a federated backend setting',
        choices: FEDERATED_SETTING_KEYS,
      });
    }
  }
  const { sectionsByDomain, partitionsBySection, configByPartition, maxPartitionsTry } = settings;

  const configured = isPlainObject(configByPartition) ? Object.keys(configByPartition) : [];
  if (!isPlainObject(configByPartition) || configured.length === 0) {
    issues.push({
      path: at('configByPartition'),
      message: 'must map each partition name to its backend entry ({ class, connection?, …settings })',
      value: configByPartition,
    });
  } else {
    for (const name of configured) {
      const entry = configByPartition[name];
      const p = at('configByPartition', name);
      if (!PARTITION_NAME_PATTERN.test(name)) {
        issues.push({
          path: p,
          message: `partition names must match ${PARTITION_NAME_PATTERN}`,
          value: name,
        });
      }
      if (!isPlainObject(entry)) {
        issues.push({ path: p, message: 'must be a mapping with a class and its settings', value: entry });
        continue;
      }
      if (!isModule(entry.class) && (typeof entry.class !== 'string' || entry.class.length === 0)) {
        issues.push({
          path: `${p}.class`,
          message: 'is required (a backend class name)',
          value: entry.class,
        });
      } else if (entry.class === 'federated') {
        issues.push({
          path: `${p}.class`,
          message: 'a partition cannot itself be federated',
          value: entry.class,
        });
      }
      if (
        entry.connection !== undefined &&
        entry.connection !== null &&
        typeof entry.connection !== 'string'
      ) {
        issues.push({
          path: `${p}.connection`,
          message: 'must be a connection name',
          value: entry.connection,
        });
      }
      for (const key of Object.keys(entry)) {
        if (QUEUE_OPTION_KEYS.includes(key)) {
          issues.push({
            path: `${p}.${key}`,
            message: 'is a queue option: set it on the federated entry, which passes it to every partition',
          });
        }
      }
    }
  }

  const sections = isPlainObject(partitionsBySection) ? Object.keys(partitionsBySection) : [];
  if (!isPlainObject(partitionsBySection)) {
    issues.push({
      path: at('partitionsBySection'),
      message: 'must map each section to { partition: weight }',
      value: partitionsBySection,
    });
  } else {
    if (!sections.includes(DEFAULT_SECTION)) {
      issues.push({
        path: at('partitionsBySection', DEFAULT_SECTION),
        message: 'is required: domains without a sectionsByDomain entry use it',
      });
    }
    for (const section of sections) {
      const weights = partitionsBySection[section];
      const p = at('partitionsBySection', section);
      if (!isPlainObject(weights) || Object.keys(weights).length === 0) {
        issues.push({ path: p, message: 'must map partition names to weights', value: weights });
        continue;
      }
      let positive = 0;
      for (const name of Object.keys(weights)) {
        const w = weights[name];
        if (!configured.includes(name)) {
          issues.push({
            path: `${p}.${name}`,
            message: 'is not a partition of configByPartition',
            value: name,
            choices: configured,
          });
        }
        if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
          issues.push({ path: `${p}.${name}`, message: 'must be a weight (a number ≥ 0)', value: w });
        } else if (w > 0) positive++;
      }
      if (positive === 0) issues.push({ path: p, message: 'needs at least one partition with a weight > 0' });
    }
  }

  if (sectionsByDomain !== undefined && sectionsByDomain !== null) {
    if (!isPlainObject(sectionsByDomain)) {
      issues.push({
        path: at('sectionsByDomain'),
        message: 'must map domains to sections',
        value: sectionsByDomain,
      });
    } else {
      for (const domain of Object.keys(sectionsByDomain)) {
        const section = sectionsByDomain[domain];
        if (
          typeof section !== 'string' ||
          (isPlainObject(partitionsBySection) && !sections.includes(section))
        ) {
          issues.push({
            path: at('sectionsByDomain', domain),
            message: 'is not a section of partitionsBySection',
            value: section,
            choices: sections,
          });
        }
      }
    }
  }

  if (
    maxPartitionsTry !== undefined &&
    (typeof maxPartitionsTry !== 'number' || !Number.isInteger(maxPartitionsTry) || maxPartitionsTry < 1)
  ) {
    issues.push({ path: at('maxPartitionsTry'), message: 'must be an integer ≥ 1', value: maxPartitionsTry });
  }
  return issues;
}

/**
 * Loads every partition's class, checks its connection and runs its own settings checks (issues
 * under `…configByPartition.<name>`); returns the settings with each partition resolved.
 */
export async function resolveFederatedSettings(
  settings: BackendSettings,
  path: string,
  resolver: SettingsResolver,
): Promise<ResolvedSettings> {
  const issues: Issue[] = [];
  const raw = settings.configByPartition as Record<string, Record<string, unknown>>;
  const resolved: Record<string, ResolvedPartitionConf> = {};
  for (const name of Object.keys(raw)) {
    const p = `${path}.configByPartition.${name}`;
    const { class: cls, connection, ...rest } = raw[name] as Record<string, unknown>;
    let backend: BackendModule;
    let className: string;
    if (isModule(cls)) {
      backend = cls;
      className = backend.name ?? '(inline)';
    } else {
      className = cls as string;
      try {
        backend = await resolver.loadBackend(className);
      } catch (error) {
        const detail = isSwitchyardError(error) ? (error.issues[0]?.message ?? error.message) : String(error);
        issues.push({
          path: `${p}.class`,
          message: detail,
          value: className,
          choices: resolver.backendNames,
        });
        continue;
      }
    }
    if (!backend.supports.pop) {
      issues.push({
        path: `${p}.class`,
        message: 'is a push-only backend; every partition must be able to pop',
        value: className,
      });
      continue;
    }
    let conn: string | null = null;
    if (typeof connection === 'string') {
      const connClass = resolver.connectionClass(connection);
      if (connClass === null) {
        issues.push({
          path: `${p}.connection`,
          message: 'is not a connection',
          value: connection,
          choices: resolver.connectionNames,
        });
        continue;
      }
      if (connClass !== className) {
        issues.push({
          path: `${p}.connection`,
          message: `names a connection of class ${connClass}, but this partition's class is ${className}`,
          value: connection,
        });
        continue;
      }
      conn = connection;
    }
    let partSettings: BackendSettings = rest;
    const own = backend.validateSettings?.(rest, p) ?? [];
    issues.push(...own);
    if (own.length === 0 && backend.resolveSettings) {
      const r = await backend.resolveSettings(rest, p, resolver);
      issues.push(...r.issues);
      partSettings = r.settings;
    }
    resolved[name] = Object.freeze({ class: className, backend, connection: conn, settings: partSettings });
  }
  return { settings: { ...settings, configByPartition: resolved }, issues };
}

/** The section of `domain` and its partition weights. */
function weightsFor(settings: BackendSettings, domain: string): Array<[string, number]> {
  const sections = (settings.sectionsByDomain ?? {}) as Record<string, string>;
  const section = Object.hasOwn(sections, domain) ? (sections[domain] as string) : DEFAULT_SECTION;
  const bySection = settings.partitionsBySection as Record<string, Record<string, number>>;
  return Object.entries(bySection[section] ?? {});
}

function createFederatedQueue(context: BackendContext): JobQueue {
  const { settings } = context;
  const where = `federated queue "${context.queue.type}"`;
  const confs = settings.configByPartition as Record<string, unknown>;
  const partitions: FederatedPartitionSpec[] = weightsFor(settings, context.queue.domain).map(
    ([name, weight]) => {
      const conf = confs[name];
      if (!isPlainObject(conf) || !isModule(conf.backend)) {
        throw configInvalid(
          [
            {
              path: `configByPartition.${name}`,
              message: 'is not resolved: build federated queues from a config resolved by resolveConfig()',
            },
          ],
          where,
        );
      }
      const part = conf as unknown as ResolvedPartitionConf;
      let connection = null;
      if (part.connection !== null) {
        if (!context.connections) {
          throw configInvalid(
            [
              {
                path: `configByPartition.${name}.connection`,
                message: 'needs the named connections of a group or farm',
                value: part.connection,
              },
            ],
            where,
          );
        }
        connection = context.connections.connection(part.connection);
      }
      return {
        name,
        weight,
        create: (queue) =>
          part.backend.createQueue({
            queue: { ...queue, metrics: context.queue.metrics },
            settings: part.settings,
            connection,
            connectionName: part.connection,
            ...(context.connections ? { connections: context.connections } : {}),
          }),
      };
    },
  );
  const maxTry = settings.maxPartitionsTry;
  return new FederatedJobQueue({
    ...context.queue,
    partitions,
    maxPartitionsTry: typeof maxTry === 'number' ? maxTry : FEDERATED_DEFAULTS.maxPartitionsTry,
  });
}

/** The federated backend as the registry loads it. */
export const federatedBackend: BackendModule = Object.freeze({
  name: 'federated',
  supports: federatedClassSupports,
  validateSettings: validateFederatedSettings,
  resolveSettings: resolveFederatedSettings,
  createQueue: createFederatedQueue,
});
