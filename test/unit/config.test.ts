// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${ENV} references in config strings.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { memoryBackend } from '../../src/backends/memory/index.js';
import {
  CONFIG_SECTIONS,
  createRegistry,
  loadConfig as loadConfigWithDefaults,
} from '../../src/container.js';
import type { BackendModule, BackendSettings } from '../../src/core/backend.js';
import { systemClock } from '../../src/core/clock.js';
import {
  type BackendRegistryLike,
  CONFIG_KEYS,
  DEFAULT_JOB_TYPE_CONF,
  loadConfig,
  QUEUE_OPTION_KEYS,
  resolveConfig,
} from '../../src/core/config.js';
import type { ResolvedConfig } from '../../src/core/config-types.js';
import { ErrorCode, type Issue, SwitchyardError } from '../../src/core/errors.js';
import { noopMetrics } from '../../src/core/metrics.js';
import { defineSupports, type Order } from '../../src/core/supports.js';

const repo = resolve(import.meta.dirname, '../..');

// ------------------------------------------------------------------ fakes

interface FakeOptions {
  readonly orders?: readonly Order[];
  readonly connections?: boolean;
  readonly settings?: readonly string[];
}

/** A tiny backend module: it is never asked for a queue here, only validated against. */
function fakeBackend(options: FakeOptions = {}): BackendModule {
  const allowed = options.settings ?? [];
  const validate = (settings: BackendSettings, path: string): Issue[] =>
    Object.keys(settings)
      .filter((k) => !allowed.includes(k))
      .map((k) => ({
        path: `${path}.${k}`,
        message: 'is not a fake setting',
        value: settings[k],
        choices: allowed,
      }));
  return {
    supports: defineSupports({ pop: true, ack: true, orders: [...(options.orders ?? ['fifo'])] }),
    validateSettings: validate,
    ...(options.connections === false
      ? {}
      : {
          validateConnection: validate,
          openConnection: () => ({ handle: null, close: async () => {} }),
        }),
    createQueue: () => {
      throw new Error('not used in config tests');
    },
  };
}

/** A structural registry over fixed modules (no container), recording loads. */
function registryOf(modules: Record<string, BackendModule>): BackendRegistryLike & { loads: string[] } {
  const loads: string[] = [];
  return {
    loads,
    names: () => Object.keys(modules),
    load: async (name) => {
      loads.push(name);
      const m = modules[name];
      if (!m) throw new Error(`unknown ${name}`);
      return m;
    },
  };
}

const memoryLike = fakeBackend({ orders: ['fifo', 'timestamp', 'random'], settings: ['store'] });
const redisLike = fakeBackend({ orders: ['fifo'], settings: ['url', 'prefix'] });
const pushOnly: BackendModule = {
  supports: defineSupports({ pop: false }),
  createQueue: () => {
    throw new Error('not used');
  },
};
/** Stands in for the SQL backend: the implicit default entry's class. */
const sqlLike = fakeBackend({ orders: ['fifo', 'timestamp', 'random'], settings: ['filename', 'prefix'] });
const registry = registryOf({ memory: memoryLike, redis: redisLike, pushonly: pushOnly, sql: sqlLike });

async function configError(promise: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SwitchyardError);
    expect((err as SwitchyardError).code).toBe(ErrorCode.CONFIG_INVALID);
    return err as SwitchyardError;
  }
  throw new Error('expected SWITCHYARD_CONFIG_INVALID');
}

function issueAt(err: SwitchyardError, path: string): Issue {
  const found = err.issues.find((i) => i.path === path);
  if (!found) throw new Error(`no issue at ${path}; issues: ${JSON.stringify(err.issues, null, 2)}`);
  return found;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'switchyard-config-'));
}

// ------------------------------------------------------------------ resolving

describe('config sections owned outside the core', () => {
  const sections = {
    runners: (value: unknown, path: string) =>
      typeof value === 'object' && value !== null ? [] : [{ path, message: 'must be a mapping', value }],
    thrower: () => {
      throw new Error('boom');
    },
  };

  test('a section with a validator is accepted, interpolated, frozen and kept under sections', async () => {
    const config = await resolveConfig(
      { runners: { basic: { runners: '${N}' } } },
      { registry, env: { N: '3' }, sections },
    );
    expect(config.sections).toEqual({ runners: { basic: { runners: '3' } } });
    expect(Object.isFrozen(config.sections.runners)).toBe(true);
    expect(Object.keys((await resolveConfig({}, { registry, sections })).sections)).toEqual([]);
  });

  test("a section's issues join the one error, and an unknown key lists the section names", async () => {
    const err = await configError(
      resolveConfig({ runners: 7, thrower: {}, runnerz: {}, jobTypes: 'x' }, { registry, sections }),
    );
    expect(issueAt(err, 'runners').message).toBe('must be a mapping');
    expect(issueAt(err, 'thrower').message).toMatch(/the thrower section validator threw: boom/);
    expect(issueAt(err, 'runnerz').choices).toEqual(expect.arrayContaining(['runners', 'jobTypeConf']));
    expect(err.issues.some((i) => i.path === 'jobTypes')).toBe(true);
  });

  test('without a validator a section key is not a config key', async () => {
    const err = await configError(resolveConfig({ runners: {} }, { registry }));
    expect(issueAt(err, 'runners').message).toBe('is not a config key');
  });
});

describe('resolveConfig()', () => {
  test('an empty config gets every default, with the implicit default entry', async () => {
    const config = await resolveConfig({}, { registry, env: {} });
    expect(config.source).toBe('object');
    expect(Object.keys(config.connections)).toEqual([]);
    expect(Object.keys(config.jobTypeConf)).toEqual(['default']);
    expect(config.jobTypeConf.default).toMatchObject({
      path: 'jobTypeConf.default',
      class: DEFAULT_JOB_TYPE_CONF.class,
      connection: null,
      settings: {},
    });
    expect(config.jobTypeConf.default.backend).toBe(sqlLike);
    expect(config.typesExcludedFromDefaultQueue).toEqual([]);
    expect(config.jobTypes).toEqual([]);
    expect(config.readOnlyReason).toBeNull();
    expect(config.defaultDomain).toBe('default');
    expect(config.domains).toEqual([]);
    // undefined and YAML's empty-valued keys (null) mean "absent" too.
    await expect(resolveConfig(undefined, { registry })).resolves.toBeDefined();
    await expect(
      resolveConfig({ connections: null, jobTypeConf: null, jobTypes: null }, { registry }),
    ).resolves.toBeDefined();
  });

  test('the default entry is the single constant, and is frozen', () => {
    // Embedded SQLite (./switchyard.sqlite) is the zero-infrastructure default.
    expect(DEFAULT_JOB_TYPE_CONF).toEqual({ class: 'sql' });
    expect(Object.isFrozen(DEFAULT_JOB_TYPE_CONF)).toBe(true);
  });

  test('a full config resolves: connections, options, settings split from options, lists', async () => {
    const config = await resolveConfig(
      {
        $schema: './schema.json',
        connections: {
          shared: { class: 'memory', store: 's1' },
          cache: { class: 'redis', url: 'redis://x' },
        },
        jobTypeConf: {
          default: { class: 'memory', connection: 'shared', claimTTL: 60, maxTries: 4, order: 'fifo' },
          refreshLinks: {
            class: 'redis',
            connection: 'cache',
            prefix: 'sy',
            order: 'fifo',
            abandonedTTL: 10,
            rootJobTTL: 20,
            maintenanceInterval: null,
            readOnlyReason: 'migrating',
          },
          htmlCacheUpdate: { class: 'memory', store: 'private', maintenanceInterval: 5 },
        },
        typesExcludedFromDefaultQueue: ['htmlCacheUpdate', 'htmlCacheUpdate'],
        jobTypes: ['refreshLinks', 'htmlCacheUpdate'],
        readOnlyReason: 'all down',
        defaultDomain: 'enwiki',
        domains: ['enwiki', 'dewiki'],
      },
      { registry, source: 'inline test' },
    );
    expect(config.source).toBe('inline test');
    expect(config.connections.shared).toEqual({
      path: 'connections.shared',
      name: 'shared',
      class: 'memory',
      backend: memoryLike,
      settings: { store: 's1' },
    });
    expect(config.connections.cache?.settings).toEqual({ url: 'redis://x' });
    expect(config.jobTypeConf.default).toEqual({
      path: 'jobTypeConf.default',
      class: 'memory',
      backend: memoryLike,
      connection: 'shared',
      queue: { claimTTL: 60, maxTries: 4, order: 'fifo' },
      settings: {},
    });
    expect(config.jobTypeConf.refreshLinks).toEqual({
      path: 'jobTypeConf.refreshLinks',
      class: 'redis',
      backend: redisLike,
      connection: 'cache',
      queue: {
        order: 'fifo',
        abandonedTTL: 10,
        rootJobTTL: 20,
        maintenanceInterval: null,
        readOnlyReason: 'migrating',
      },
      settings: { prefix: 'sy' },
    });
    expect(config.jobTypeConf.htmlCacheUpdate).toMatchObject({
      settings: { store: 'private' },
      queue: { maintenanceInterval: 5 },
    });
    // Absent options stay absent (the JobQueue defaults apply), they are not filled in.
    expect('claimTTL' in (config.jobTypeConf.htmlCacheUpdate?.queue ?? {})).toBe(false);
    expect(config.typesExcludedFromDefaultQueue).toEqual(['htmlCacheUpdate']);
    expect(config.jobTypes).toEqual(['refreshLinks', 'htmlCacheUpdate']);
    expect(config.readOnlyReason).toBe('all down');
    expect(config.defaultDomain).toBe('enwiki');
    expect(config.domains).toEqual(['enwiki', 'dewiki']);
  });

  test('each class is loaded once, however many entries name it', async () => {
    const reg = registryOf({ memory: memoryLike, redis: redisLike });
    await resolveConfig(
      {
        connections: { a: { class: 'memory' }, b: { class: 'memory' } },
        jobTypeConf: { default: { class: 'memory' }, x: { class: 'memory' }, y: { class: 'memory' } },
      },
      { registry: reg },
    );
    expect(reg.loads).toEqual(['memory']);
  });

  test('the result is deeply frozen; the caller object and host objects in settings are not', async () => {
    class HostClient {
      calls = 0;
    }
    const client = new HostClient();
    const raw = {
      connections: { db: { class: 'redis', url: 'redis://x', prefix: { nested: ['a'] } } },
      jobTypeConf: { default: { class: 'memory' }, t: { class: 'redis', url: client } },
      jobTypes: ['t'],
    };
    const reg = registryOf({ memory: memoryLike, redis: fakeBackend({ settings: ['url', 'prefix'] }) });
    const config = await resolveConfig(raw, { registry: reg });
    const frozen = (v: unknown) => Object.isFrozen(v);
    expect(frozen(config)).toBe(true);
    expect(frozen(config.connections)).toBe(true);
    expect(frozen(config.connections.db)).toBe(true);
    expect(frozen(config.connections.db?.settings)).toBe(true);
    expect(frozen((config.connections.db?.settings.prefix as { nested: string[] }).nested)).toBe(true);
    expect(frozen(config.jobTypeConf)).toBe(true);
    expect(frozen(config.jobTypeConf.t)).toBe(true);
    expect(frozen(config.jobTypes)).toBe(true);
    expect(frozen(config.domains)).toBe(true);
    expect(() => {
      (config.jobTypes as string[]).push('x');
    }).toThrow(TypeError);
    expect(() => {
      (config as unknown as Record<string, unknown>).defaultDomain = 'x';
    }).toThrow(TypeError);
    // The host's client is passed by reference and left usable; the caller's object is untouched.
    expect(config.jobTypeConf.t?.settings.url).toBe(client);
    expect(frozen(client)).toBe(false);
    expect(frozen(raw)).toBe(false);
    expect(frozen(raw.connections.db)).toBe(false);
    raw.jobTypes.push('still mutable');
  });

  test('type and connection names are own keys only: no inherited or prototype-polluting names', async () => {
    // JSON.parse (like the YAML parser) makes "__proto__" an ordinary own key.
    const raw: unknown = JSON.parse(
      '{"connections": {"__proto__": {"class": "memory"}}, "jobTypeConf": {"__proto__": {"class": "memory"}}}',
    );
    const config = await resolveConfig(raw, { registry });
    expect(Object.keys(config.jobTypeConf).sort()).toEqual(['__proto__', 'default']);
    expect(Object.keys(config.connections)).toEqual(['__proto__']);
    expect(config.jobTypeConf.constructor).toBeUndefined();
    expect(config.jobTypeConf.toString).toBeUndefined();
    expect(({} as Record<string, unknown>).class).toBeUndefined();
  });

  test('a connection-less entry for a push-only backend skips the order check; an order is still a name', async () => {
    await expect(
      resolveConfig({ jobTypeConf: { default: { class: 'pushonly', order: 'fifo' } } }, { registry }),
    ).resolves.toBeDefined();
    const err = await configError(
      resolveConfig({ jobTypeConf: { default: { class: 'pushonly', order: 'lifo' } } }, { registry }),
    );
    expect(issueAt(err, 'jobTypeConf.default.order').choices).toEqual(['fifo', 'timestamp', 'random', 'any']);
  });

  test('an empty readOnlyReason means writable', async () => {
    const config = await resolveConfig(
      { readOnlyReason: '', jobTypeConf: { default: { class: 'memory', readOnlyReason: '' } } },
      { registry },
    );
    expect(config.readOnlyReason).toBeNull();
    expect(config.jobTypeConf.default.queue.readOnlyReason).toBeNull();
  });

  test('an inline BackendModule is accepted as class (configs built in code)', async () => {
    const inline = fakeBackend({ settings: ['x'] });
    const config = await resolveConfig(
      {
        connections: { c: { class: inline } },
        jobTypeConf: { default: { class: inline, connection: 'c', x: 1 } },
      },
      { registry },
    );
    expect(config.jobTypeConf.default.backend).toBe(inline);
    expect(config.jobTypeConf.default.class).toBe('(inline)');
    expect(config.connections.c?.backend).toBe(inline);
  });
});

// ------------------------------------------------------------------ one error listing everything

describe('a bad config', () => {
  const bad = {
    connections: {
      cache: { class: 'redis', url: 'redis://x' },
      nope: { class: 'mysql' },
      noopen: { class: 'closed' },
      broken: 'redis://y',
      weird: { class: 'redis', colour: 'blue' },
    },
    jobTypeConf: {
      default: { class: 'memory', claimTTL: -5, order: 'random' },
      refreshLinks: { class: 'memory', order: 'timestamp', connection: 'cache' },
      unknownClass: { class: 'sqlite' },
      badOrder: { class: 'redis', order: 'random' },
      notAnOrder: { class: 'redis', order: 'lifo' },
      ghost: { class: 'memory', connection: 'nowhere' },
      noClass: { claimTTL: 5 },
      types: {
        class: 'memory',
        maxTries: 0,
        abandonedTTL: 'soon',
        maintenanceInterval: -1,
        readOnlyReason: 3,
      },
      typo: { class: 'memory', claimTtl: 5, colour: 'blue' },
      notAMapping: 'memory',
    },
    typesExcludedFromDefaultQueue: 'htmlCacheUpdate',
    jobTypes: ['ok', 7, ''],
    readOnlyReason: false,
    defaultDomain: 42,
    domains: { enwiki: true },
    aggregater: { class: 'redis' },
  };
  const reg = registryOf({
    memory: memoryLike,
    redis: redisLike,
    closed: fakeBackend({ connections: false }),
  });

  test('throws one SWITCHYARD_CONFIG_INVALID listing every problem with its path', async () => {
    const err = await configError(resolveConfig(bad, { registry: reg, source: 'bad.yaml' }));
    const expected: Array<[string, Partial<Issue>]> = [
      ['aggregater', { choices: CONFIG_KEYS }],
      ['readOnlyReason', { value: false }],
      ['defaultDomain', { value: 42 }],
      ['domains', { value: { enwiki: true } }],
      ['typesExcludedFromDefaultQueue', { value: 'htmlCacheUpdate' }],
      ['jobTypes[1]', { value: 7 }],
      ['jobTypes[2]', { value: '' }],
      ['connections.nope.class', { value: 'mysql', choices: ['closed', 'memory', 'redis'] }],
      ['connections.noopen.class', { value: 'closed' }],
      ['connections.broken', { value: 'redis://y' }],
      ['connections.weird.colour', { value: 'blue', choices: ['url', 'prefix'] }],
      ['jobTypeConf.default.claimTTL', { value: -5 }],
      ['jobTypeConf.refreshLinks.connection', { value: 'cache' }],
      ['jobTypeConf.unknownClass.class', { value: 'sqlite', choices: ['closed', 'memory', 'redis'] }],
      ['jobTypeConf.badOrder.order', { value: 'random', choices: ['fifo', 'any'] }],
      ['jobTypeConf.notAnOrder.order', { value: 'lifo', choices: ['fifo', 'timestamp', 'random', 'any'] }],
      [
        'jobTypeConf.ghost.connection',
        { value: 'nowhere', choices: ['cache', 'nope', 'noopen', 'broken', 'weird'] },
      ],
      ['jobTypeConf.noClass.class', { choices: ['closed', 'memory', 'redis'] }],
      ['jobTypeConf.types.maxTries', { value: 0 }],
      ['jobTypeConf.types.abandonedTTL', { value: 'soon' }],
      ['jobTypeConf.types.maintenanceInterval', { value: -1 }],
      ['jobTypeConf.types.readOnlyReason', { value: 3 }],
      ['jobTypeConf.typo.claimTtl', { choices: ['claimTTL'] }],
      ['jobTypeConf.typo.colour', { value: 'blue', choices: ['store'] }],
      ['jobTypeConf.notAMapping', { value: 'memory' }],
    ];
    for (const [path, fields] of expected) expect(issueAt(err, path)).toMatchObject(fields);
    expect(err.issues).toHaveLength(expected.length);
    // The message lists every issue: path, value and choices.
    expect(err.message).toContain(`invalid switchyard config bad.yaml (${expected.length} problems)`);
    for (const [path] of expected) expect(err.message).toContain(`  - ${path}: `);
    expect(err.message).toContain(
      'jobTypeConf.badOrder.order: is not supported by this backend (got "random"; valid: fifo, any)',
    );
    expect(err.message).toContain(
      'jobTypeConf.unknownClass.class: is not a registered backend class (got "sqlite"; valid: closed, memory, redis)',
    );
    expect(err.message).toContain('aggregater: is not a config key (valid: connections, jobTypeConf,');
    expect(issueAt(err, 'jobTypeConf.refreshLinks.connection').message).toContain('class redis');
    expect(issueAt(err, 'connections.noopen.class').message).toContain('openConnection');
  });

  test('a root that is not a mapping is one issue', async () => {
    const err = await configError(resolveConfig(['memory'], { registry }));
    expect(err.issues).toEqual([
      { path: '', message: 'must be a mapping of config keys', value: ['memory'], choices: CONFIG_KEYS },
    ]);
  });

  test('an explicit default entry needs a class; the implicit one names itself when its class is missing', async () => {
    const err = await configError(resolveConfig({ jobTypeConf: { default: { claimTTL: 1 } } }, { registry }));
    expect(issueAt(err, 'jobTypeConf.default.class').message).toContain('required');
    const empty = registryOf({ redis: redisLike });
    const err2 = await configError(resolveConfig({}, { registry: empty }));
    const issue = issueAt(err2, 'jobTypeConf.default.class');
    expect(issue).toMatchObject({ value: DEFAULT_JOB_TYPE_CONF.class, choices: ['redis'] });
    expect(issue.message).toContain('implicit default');
  });

  test('defaultDomain must be one of the farm domains when both are given', async () => {
    const err = await configError(
      resolveConfig({ defaultDomain: 'frwiki', domains: ['enwiki'] }, { registry }),
    );
    expect(issueAt(err, 'defaultDomain')).toMatchObject({ value: 'frwiki', choices: ['enwiki'] });
  });

  test('a backend validator that throws is reported, not propagated', async () => {
    const throwing: BackendModule = {
      ...fakeBackend(),
      validateSettings: () => {
        throw new Error('oops');
      },
    };
    const err = await configError(
      resolveConfig({ jobTypeConf: { default: { class: 'memory' }, t: { class: throwing } } }, { registry }),
    );
    expect(issueAt(err, 'jobTypeConf.t').message).toContain('validateSettings threw: oops');
  });

  test('a registry load failure is reported under the path that named the class', async () => {
    const failing: BackendRegistryLike = {
      names: () => ['memory', 'sql'],
      load: async (name) => {
        if (name === 'memory') return memoryLike;
        throw new Error('driver exploded');
      },
    };
    const err = await configError(
      resolveConfig({ jobTypeConf: { t: { class: 'sql' } } }, { registry: failing }),
    );
    expect(issueAt(err, 'jobTypeConf.t.class')).toMatchObject({ value: 'sql' });
    expect(err.message).toContain('driver exploded');
  });
});

// ------------------------------------------------------------------ environment

describe('${ENV} interpolation', () => {
  test('substitutes variables and defaults anywhere in strings, nested and in lists', async () => {
    const config = await resolveConfig(
      {
        connections: { c: { class: '${BACKEND}', url: 'redis://${HOST:-localhost}:${PORT:-6379}/0' } },
        jobTypeConf: {
          default: { class: 'memory', store: '${STORE:-fallback}' },
          t: { class: 'redis', connection: 'c', prefix: '${EMPTY:-was-empty}' },
        },
        jobTypes: ['${TYPE}', 'literal $${NOT_A_VAR} and $$ kept'],
        defaultDomain: '${DOMAIN:-default}',
      },
      { registry, env: { BACKEND: 'redis', HOST: 'db.internal', TYPE: 'refreshLinks', EMPTY: '' } },
    );
    expect(config.connections.c?.class).toBe('redis');
    expect(config.connections.c?.settings.url).toBe('redis://db.internal:6379/0');
    expect(config.jobTypeConf.default.settings.store).toBe('fallback');
    expect(config.jobTypeConf.t?.settings.prefix).toBe('was-empty');
    expect(config.jobTypes).toEqual(['refreshLinks', 'literal ${NOT_A_VAR} and $$ kept']);
    expect(config.defaultDomain).toBe('default');
  });

  test('an interpolated numeric queue option becomes a number; a literal numeric string does not', async () => {
    const config = await resolveConfig(
      { jobTypeConf: { default: { class: 'memory', claimTTL: '${TTL:-600}', maxTries: '${TRIES}' } } },
      { registry, env: { TRIES: '7' } },
    );
    expect(config.jobTypeConf.default.queue.claimTTL).toBe(600);
    expect(config.jobTypeConf.default.queue.maxTries).toBe(7);
    const err = await configError(
      resolveConfig({ jobTypeConf: { default: { class: 'memory', claimTTL: '600' } } }, { registry }),
    );
    expect(issueAt(err, 'jobTypeConf.default.claimTTL').value).toBe('600');
  });

  test('a missing variable without a default is an issue naming the path and the variable, and nothing else at that path', async () => {
    const err = await configError(
      resolveConfig(
        {
          connections: { c: { class: 'redis', url: '${REDIS_URL}' } },
          jobTypeConf: { default: { class: '${BACKEND_CLASS}' } },
        },
        { registry, env: {} },
      ),
    );
    expect(err.issues.map((i) => i.path)).toEqual(['connections.c.url', 'jobTypeConf.default.class']);
    expect(issueAt(err, 'connections.c.url').message).toContain('REDIS_URL');
    expect(issueAt(err, 'jobTypeConf.default.class').message).toContain('BACKEND_CLASS');
    expect(err.message).toContain('${REDIS_URL:-default}');
  });

  test('malformed and unterminated references are issues', async () => {
    const err = await configError(
      resolveConfig({ jobTypes: ['${1BAD}', '${OPEN'], defaultDomain: '${A-B}' }, { registry, env: {} }),
    );
    expect(issueAt(err, 'jobTypes[0]').message).toContain('malformed');
    expect(issueAt(err, 'jobTypes[1]').message).toContain('unterminated');
    expect(issueAt(err, 'defaultDomain').message).toContain('malformed');
  });

  test('environment values never appear in the error; the path and variable name do', async () => {
    const SECRET = 'hunter2-very-secret';
    const env = { DB_PASSWORD: SECRET, CLAIM: SECRET, NAME: SECRET };
    // A backend that echoes bad values in its messages, as careless validators do.
    const echo: BackendModule = {
      ...fakeBackend(),
      validateConnection: (settings, path) => [
        {
          path: `${path}.password`,
          message: `password ${String(settings.password)} is too short`,
          value: settings.password,
        },
        { path, message: 'connection rejected', value: settings },
      ],
    };
    const err = await configError(
      resolveConfig(
        {
          connections: { db: { class: 'echo', password: 'pw:${DB_PASSWORD}' } },
          jobTypeConf: { default: { class: 'memory', claimTTL: '${CLAIM}', order: '${NAME}' } },
          jobTypes: ['${NAME}', 5],
        },
        { registry: registryOf({ memory: memoryLike, echo }), env },
      ),
    );
    expect(err.message).not.toContain(SECRET);
    expect(JSON.stringify(err.issues)).not.toContain(SECRET);
    expect(issueAt(err, 'connections.db.password').message).toContain('${DB_PASSWORD}');
    expect(issueAt(err, 'connections.db.password')).not.toHaveProperty('value');
    expect(issueAt(err, 'connections.db')).not.toHaveProperty('value');
    expect(issueAt(err, 'jobTypeConf.default.claimTTL').message).toContain('${CLAIM}');
    expect(issueAt(err, 'jobTypeConf.default.order').message).toContain('${NAME}');
    // Values that did not come from the environment are still shown.
    expect(issueAt(err, 'jobTypes[1]').value).toBe(5);
    expect(err.message).toContain('connections.db.password');
  });
});

// ------------------------------------------------------------------ files

describe('loadConfig()', () => {
  const yamlText = `# comment
connections:
  shared: { class: memory, store: "\${STORE:-s}" }
jobTypeConf:
  default:
    class: memory
    connection: shared
  refreshLinks:
    class: redis
    order: fifo
jobTypes: [refreshLinks]
`;

  test('loads YAML, names the file as source, interpolates from options.env', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'switchyard.config.yaml'), yamlText);
    const config = await loadConfig({ cwd: dir, registry, env: { STORE: 'from-env' } });
    expect(config.source).toBe(join(dir, 'switchyard.config.yaml'));
    expect(config.connections.shared?.settings).toEqual({ store: 'from-env' });
    expect(config.jobTypeConf.refreshLinks?.queue.order).toBe('fifo');
    expect(config.jobTypes).toEqual(['refreshLinks']);
  });

  test('loads JSON', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'switchyard.config.json'),
      JSON.stringify({ jobTypeConf: { default: { class: 'redis', claimTTL: 5 } }, domains: ['a'] }),
    );
    const config = await loadConfig({ cwd: dir, registry });
    expect(config.jobTypeConf.default).toMatchObject({ class: 'redis', queue: { claimTTL: 5 } });
    expect(config.domains).toEqual(['a']);
  });

  test('discovery prefers .yaml, then .yml, then .json', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'switchyard.config.json'), '{"jobTypes": ["json"]}');
    expect((await loadConfig({ cwd: dir, registry })).jobTypes).toEqual(['json']);
    writeFileSync(join(dir, 'switchyard.config.yml'), 'jobTypes: [yml]');
    expect((await loadConfig({ cwd: dir, registry })).jobTypes).toEqual(['yml']);
    writeFileSync(join(dir, 'switchyard.config.yaml'), 'jobTypes: [yaml]');
    expect((await loadConfig({ cwd: dir, registry })).jobTypes).toEqual(['yaml']);
  });

  test('an explicit path is resolved against cwd and may have any name', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'conf'));
    writeFileSync(join(dir, 'conf', 'queues.yaml'), 'jobTypes: [a]');
    writeFileSync(join(dir, 'conf', 'queues.json'), '{"jobTypes": ["b"]}');
    expect((await loadConfig({ cwd: dir, path: 'conf/queues.yaml', registry })).jobTypes).toEqual(['a']);
    expect((await loadConfig({ path: join(dir, 'conf/queues.json'), registry })).jobTypes).toEqual(['b']);
  });

  test('an empty or comment-only file is an empty config', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'switchyard.config.yaml'), '# nothing yet\n');
    const config = await loadConfig({ cwd: dir, registry });
    expect(config.jobTypeConf.default.class).toBe(DEFAULT_JOB_TYPE_CONF.class);
  });

  test('no file found lists the names looked for', async () => {
    const dir = tempDir();
    const err = await configError(loadConfig({ cwd: dir, registry }));
    expect(err.issues[0]?.choices).toEqual([
      'switchyard.config.yaml',
      'switchyard.config.yml',
      'switchyard.config.json',
    ]);
    expect(err.message).toContain(dir);
  });

  test('a missing explicit file names the path', async () => {
    const dir = tempDir();
    const err = await configError(loadConfig({ cwd: dir, path: 'nope.yaml', registry }));
    expect(err.issues[0]).toMatchObject({ message: 'config file not found', value: join(dir, 'nope.yaml') });
    expect(err.cause).toBeDefined();
  });

  test('YAML syntax errors and duplicate keys are all reported with line and column', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'switchyard.config.yaml'), 'jobTypes: [a]\njobTypes: [b]\nconnections: [x,\n');
    const err = await configError(loadConfig({ cwd: dir, registry }));
    expect(err.issues.length).toBeGreaterThanOrEqual(2);
    // A cascade of follow-on syntax errors is cut short.
    writeFileSync(join(dir, 'flood.yaml'), 'a: { b: ${X} }\nc: 1\nd: 2\ne: 3\nf: 4\ng: 5\n');
    const flood = await configError(loadConfig({ cwd: dir, path: 'flood.yaml', registry }));
    expect(flood.issues.length).toBeLessThanOrEqual(7);
    expect(flood.message).toContain('more syntax error');
    expect(flood.message).toContain('quote strings that use ${…}');
    expect(err.message).toContain('line 2, column 1');
    expect(err.message).toContain('unique');
  });

  test('JSON is strict: bad tokens and duplicate keys are errors, without echoing the file', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'switchyard.config.json'),
      '{\n  "jobTypes": ["a"],\n  "jobTypes": ["b"],\n  "readOnlyReason": nope\n}',
    );
    const err = await configError(loadConfig({ cwd: dir, registry }));
    expect(err.message).toContain('JSON syntax error at line 3');
    expect(err.message).toContain('line 4');
    expect(err.message).not.toContain('"jobTypes": ["a"]');
  });

  test('a config error from a file names the file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'switchyard.config.yaml'), 'jobTypeConf:\n  default:\n    class: nosuch\n');
    const err = await configError(loadConfig({ cwd: dir, registry }));
    expect(err.message).toContain(
      `invalid switchyard config ${join(dir, 'switchyard.config.yaml')} (1 problem)`,
    );
    expect(issueAt(err, 'jobTypeConf.default.class')).toMatchObject({ value: 'nosuch' });
  });
});

// ------------------------------------------------------------------ JSON Schema

describe('the JSON Schema', () => {
  const schema: unknown = JSON.parse(
    readFileSync(join(repo, 'schema/switchyard.config.schema.json'), 'utf8'),
  );
  const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });
  const validate = ajv.compile(schema as object);
  const exampleText = readFileSync(join(repo, 'examples/switchyard.config.yaml'), 'utf8');

  test('compiles under ajv strict mode', () => {
    expect(typeof validate).toBe('function');
  });

  test('the example config validates', () => {
    const ok = validate(parseYaml(exampleText));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  test('the configs these tests load validate too, and bad ones do not', () => {
    for (const good of [
      parseYaml('jobTypeConf:\n  default: { class: memory, claimTTL: "${TTL:-5}", order: fifo }\n'),
      { jobTypeConf: { default: { class: 'my-backend', url: 'x', anything: { goes: true } } } },
      { connections: { c: { class: 'memory', store: 's' } }, readOnlyReason: null, $schema: 'x' },
      { aggregator: { class: 'redis', connection: 'c', cacheTTL: 60, prefix: 'p' } },
      { aggregator: { class: 'my-aggregator', cacheTTL: null, custom: 1 } },
      {},
    ]) {
      expect(validate(good), JSON.stringify(validate.errors)).toBe(true);
    }
    for (const badConfig of [
      { aggregater: {} },
      { aggregator: { cacheTTL: 5 } },
      { aggregator: { class: 'memory', cacheTTL: 0 } },
      { jobTypeConf: { default: { claimTTL: 5 } } },
      { jobTypeConf: { default: { class: 'memory', order: 'lifo' } } },
      { jobTypeConf: { default: { class: 'memory', claimTTL: -1 } } },
      { connections: { c: { store: 's' } } },
      { jobTypes: 'a' },
    ]) {
      expect(validate(badConfig), JSON.stringify(badConfig)).toBe(false);
    }
  });

  test('documents exactly the keys resolveConfig accepts', () => {
    const s = schema as {
      properties: Record<string, { description?: string }>;
      definitions: { queueConf: { properties: Record<string, { description?: string }> } };
    };
    expect(
      Object.keys(s.properties)
        .filter((k) => k !== '$schema')
        .sort(),
    ).toEqual([...CONFIG_KEYS, ...Object.keys(CONFIG_SECTIONS)].sort());
    const entryKeys = Object.keys(s.definitions.queueConf.properties);
    for (const k of [...QUEUE_OPTION_KEYS, 'class', 'connection']) expect(entryKeys).toContain(k);
    for (const [k, p] of Object.entries(s.properties)) expect(p.description, k).toBeTruthy();
    for (const [k, p] of Object.entries(s.definitions.queueConf.properties)) {
      if (k !== 'class') expect(p.description, k).toBeTruthy();
    }
  });
});

// ------------------------------------------------------------------ end to end with the memory backend

describe('end to end with the real memory backend', () => {
  test('the package loadConfig() without a registry uses the default registry of the composition root', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'switchyard.config.yml'),
      'jobTypeConf:\n  default:\n    class: memory\n    order: random\n',
    );
    const config = await loadConfigWithDefaults({ cwd: dir });
    expect(config.jobTypeConf.default.backend).toBe(memoryBackend);
    expect(config.jobTypeConf.default.queue.order).toBe('random');
  });

  test('the example config loads through the real registry and its queues work', async () => {
    const config: ResolvedConfig = await loadConfig({
      path: join(repo, 'examples/switchyard.config.yaml'),
      registry: createRegistry(),
      env: { REFRESH_LINKS_CLAIM_TTL: '120' },
    });
    const entry = config.jobTypeConf.refreshLinks;
    expect(entry).toMatchObject({
      class: 'memory',
      connection: 'shared',
      queue: { order: 'fifo', claimTTL: 120 },
    });
    expect(config.jobTypeConf.sendEmail?.queue.readOnlyReason).toBeNull();
    const conn = config.connections.shared;
    if (!entry || !conn) throw new Error('example changed');
    const opened = conn.backend.openConnection?.(conn.settings) ?? null;
    const { backend, settings, queue: options } = entry;
    const queue = backend.createQueue({
      queue: {
        ...options,
        type: 'refreshLinks',
        domain: config.defaultDomain,
        clock: systemClock,
        metrics: noopMetrics,
      },
      settings,
      connection: opened,
      connectionName: 'shared',
    });
    await queue.push({ type: 'refreshLinks', params: { page: 1 } });
    const job = await queue.pop();
    expect(job?.params).toEqual({ page: 1 });
    expect(queue.order).toBe('fifo');
    expect(queue.claimTTL).toBe(120);
    await queue.close();
    await opened?.close();
  });
});
