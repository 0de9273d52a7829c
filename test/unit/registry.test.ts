import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/index.js';
import {
  BackendRegistry,
  BUILTIN_BACKENDS,
  createContainer,
  createRegistry,
  defaultContainer,
  defaultRegistry,
  getBackend,
  registerBackend,
  rootContainer,
  TOKENS,
} from '../../src/container.js';
import type { BackendModule } from '../../src/core/backend.js';
import { resolveConfig } from '../../src/core/config.js';
import { ErrorCode, SwitchyardError } from '../../src/core/errors.js';
import { defineSupports } from '../../src/core/supports.js';

const repo = resolve(import.meta.dirname, '../..');
/** The built-in backend names, sorted: tests below must not hard-code which backends exist. */
const builtins = Object.keys(BUILTIN_BACKENDS).sort();

function fakeBackend(): BackendModule {
  return {
    supports: defineSupports({ pop: true, ack: true, orders: ['fifo'] }),
    validateSettings: (settings, path) =>
      Object.keys(settings)
        .filter((k) => k !== 'bucket')
        .map((k) => ({ path: `${path}.${k}`, message: 'is not a fake setting', choices: ['bucket'] })),
    openConnection: () => ({ handle: 'conn', close: async () => {} }),
    createQueue: () => {
      throw new Error('not used');
    },
  };
}

async function configError(promise: Promise<unknown> | (() => unknown)): Promise<SwitchyardError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    expect(err).toBeInstanceOf(SwitchyardError);
    expect((err as SwitchyardError).code).toBe(ErrorCode.CONFIG_INVALID);
    return err as SwitchyardError;
  }
  throw new Error('expected SWITCHYARD_CONFIG_INVALID');
}

/** What Node throws for `import('<pkg>')` when the package is not installed. */
function moduleNotFound(specifier: string, kind: 'package' | 'module' = 'package'): Error {
  return Object.assign(new Error(`Cannot find ${kind} '${specifier}' imported from /app/x.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
}

describe('built-in backends', () => {
  test('are a frozen name → lazy loader map holding only backends that exist', () => {
    expect(Object.isFrozen(BUILTIN_BACKENDS)).toBe(true);
    expect(Object.keys(BUILTIN_BACKENDS)).toContain('memory');
    for (const entry of Object.values(BUILTIN_BACKENDS)) {
      expect(Object.isFrozen(entry)).toBe(true);
      expect(typeof entry.load).toBe('function');
    }
    expect(BUILTIN_BACKENDS.constructor).toBeUndefined();
  });

  test('every src/backends/* folder is registered, and every built-in has a folder', () => {
    const dir = join(repo, 'src/backends');
    const folders = readdirSync(dir).filter((n) => statSync(join(dir, n)).isDirectory());
    expect(Object.keys(BUILTIN_BACKENDS).sort()).toEqual(folders.sort());
  });

  test('every built-in backend runs the conformance suite (test/conformance/<name>*.test.ts)', () => {
    const files = readdirSync(join(repo, 'test/conformance'));
    for (const name of Object.keys(BUILTIN_BACKENDS)) {
      const runs = files.filter((f) => f.startsWith(name) && f.endsWith('.test.ts'));
      expect(runs, `no conformance run for backend "${name}"`).not.toEqual([]);
      for (const f of runs) {
        expect(readFileSync(join(repo, 'test/conformance', f), 'utf8')).toContain('runBackendConformance(');
      }
    }
  });

  test('memory loads the real memory backend, lazily and once', async () => {
    const registry = createRegistry();
    const first = await registry.load('memory');
    expect(first).toBe(memoryBackend);
    expect(await registry.load('memory')).toBe(first);
    expect(await getBackend('memory')).toBe(memoryBackend);
  });
});

describe('BackendRegistry', () => {
  test('createRegistry() gives isolated registries backed by child containers', () => {
    const a = createRegistry();
    const b = createRegistry();
    expect(a).not.toBe(b);
    expect(a).toBeInstanceOf(BackendRegistry);
    a.register('only-in-a', fakeBackend());
    expect(a.names()).toEqual([...builtins, 'only-in-a'].sort());
    expect(b.names()).toEqual(builtins);
    expect(b.has('only-in-a')).toBe(false);
    expect(defaultRegistry.has('only-in-a')).toBe(false);
    expect(rootContainer.isRegistered('switchyard.backend:only-in-a', true)).toBe(false);
  });

  test("each container resolves its own registry; the default one is the default container's", () => {
    const c = createContainer();
    const r = c.resolve<BackendRegistry>(TOKENS.backendRegistry);
    expect(c.resolve(TOKENS.backendRegistry)).toBe(r);
    expect(r.container).toBe(c);
    expect(r).not.toBe(defaultRegistry);
    expect(defaultContainer.resolve(TOKENS.backendRegistry)).toBe(defaultRegistry);
  });

  test('registers a module by name and resolveConfig uses it from a config', async () => {
    const registry = createRegistry();
    const fake = fakeBackend();
    registry.register('fake', fake);
    expect(registry.has('fake')).toBe(true);
    expect(await registry.load('fake')).toBe(fake);
    const config = await resolveConfig(
      {
        connections: { bucketed: { class: 'fake' } },
        jobTypeConf: {
          default: { class: 'memory' },
          upload: { class: 'fake', connection: 'bucketed', bucket: 'b1' },
        },
      },
      { registry },
    );
    expect(config.jobTypeConf.upload?.backend).toBe(fake);
    expect(config.jobTypeConf.upload?.settings).toEqual({ bucket: 'b1' });
    expect(config.jobTypeConf.default.backend).toBe(memoryBackend);
    // The backend's own validator runs through the registry as well.
    const err = await configError(
      resolveConfig({ jobTypeConf: { t: { class: 'fake', colour: 1 } } }, { registry }),
    );
    expect(err.issues).toEqual([
      { path: 'jobTypeConf.t.colour', message: 'is not a fake setting', choices: ['bucket'] },
    ]);
  });

  test('a loader runs on first use only, once even under concurrent loads', async () => {
    const registry = createRegistry();
    const fake = fakeBackend();
    let calls = 0;
    registry.register('lazy', async () => {
      calls++;
      return fake;
    });
    expect(calls).toBe(0);
    const [a, b] = await Promise.all([registry.load('lazy'), registry.load('lazy')]);
    expect(a).toBe(fake);
    expect(b).toBe(fake);
    expect(calls).toBe(1);
  });

  test('accepts a loader resolving to a module namespace with a default export, and { load, drivers }', async () => {
    const registry = createRegistry();
    const fake = fakeBackend();
    registry.register('namespaced', async () => ({ default: fake }));
    registry.register('entry', { load: async () => fake, drivers: ['fake-driver'] });
    expect(await registry.load('namespaced')).toBe(fake);
    expect(await registry.load('entry')).toBe(fake);
  });

  test('names must match /^[a-z][a-z0-9_-]*$/', () => {
    const registry = createRegistry();
    for (const bad of ['', 'Redis', '1sql', 'my backend', 'a.b', '-x']) {
      let err: unknown;
      try {
        registry.register(bad, fakeBackend());
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(SwitchyardError);
      expect((err as SwitchyardError).code).toBe(ErrorCode.CONFIG_INVALID);
      expect((err as SwitchyardError).issues[0]).toMatchObject({ path: 'name', value: bad });
    }
    for (const good of ['a', 'sqs', 'my-backend', 'x_2'])
      expect(() => registry.register(good, fakeBackend())).not.toThrow();
  });

  test('a built-in or an earlier registration is replaced only with { override: true }', async () => {
    const registry = createRegistry();
    const fake = fakeBackend();
    expect(() => registry.register('memory', fake)).toThrow(/built-in.*override: true/s);
    await registry.load('memory'); // cached; an override must drop the cache
    registry.register('memory', fake, { override: true });
    expect(await registry.load('memory')).toBe(fake);
    registry.register('mine', fakeBackend());
    expect(() => registry.register('mine', fakeBackend())).toThrow(/already registered/);
    const replacement = fakeBackend();
    registry.register('mine', replacement, { override: true });
    expect(await registry.load('mine')).toBe(replacement);
    // Other registries still have the real memory backend.
    expect(await createRegistry().load('memory')).toBe(memoryBackend);
  });

  test('a source that is not a module, loader or entry is a TypeError', () => {
    const registry = createRegistry();
    expect(() => registry.register('x', { supports: {} } as unknown as BackendModule)).toThrow(TypeError);
    expect(() => registry.register('y', 42 as unknown as BackendModule)).toThrow(TypeError);
  });

  test('an unknown name is SWITCHYARD_CONFIG_INVALID listing the registered names', async () => {
    const registry = createRegistry();
    registry.register('fake', fakeBackend());
    const err = await configError(registry.load('nosuch'));
    const names = ['fake', ...builtins].sort();
    expect(err.issues[0]).toMatchObject({ value: 'nosuch', choices: names });
    expect(err.message).toContain(`valid: ${names.join(', ')}`);
    const err2 = await configError(getBackend('nosuch'));
    expect(err2.issues[0]?.choices).toContain('memory');
    // Through resolveConfig, the config path is named.
    const err3 = await configError(resolveConfig({ jobTypeConf: { t: { class: 'nosuch' } } }, { registry }));
    expect(err3.issues).toEqual([
      {
        path: 'jobTypeConf.t.class',
        message: 'is not a registered backend class',
        value: 'nosuch',
        choices: names,
      },
    ]);
  });

  test('registerBackend() and getBackend() work on the default registry', async () => {
    const fake = fakeBackend();
    registerBackend('registry-test-default', fake);
    expect(defaultRegistry.names()).toContain('registry-test-default');
    expect(await getBackend('registry-test-default')).toBe(fake);
    expect(createRegistry().has('registry-test-default')).toBe(false);
  });
});

describe('loading failures', () => {
  test('a missing driver package gives an npm install hint naming it', async () => {
    const registry = createRegistry();
    const cause = moduleNotFound('better-sqlite3');
    registry.register('sqlish', {
      load: () => Promise.reject(cause),
      drivers: ['knex', 'better-sqlite3'],
    });
    const err = await configError(registry.load('sqlish'));
    expect(err.message).toContain('npm install better-sqlite3');
    expect(err.cause).toBe(cause);
    // Scoped packages and deep imports are reduced to the package name.
    registry.register('scoped', () => Promise.reject(moduleNotFound('@aws-sdk/client-sqs/dist/index.js')));
    expect((await configError(registry.load('scoped'))).message).toContain('npm install @aws-sdk/client-sqs');
  });

  test('a real import of a package that is not installed gives the hint', async () => {
    const registry = createRegistry();
    const specifier = 'switchyard-test-driver-that-does-not-exist';
    registry.register('ghost', () => import(specifier));
    const err = await configError(registry.load('ghost'));
    expect(err.message).toContain(`npm install ${specifier}`);
  });

  test('when the missing module is not a bare package, the declared drivers are the hint', async () => {
    const registry = createRegistry();
    registry.register('pathy', {
      load: () => Promise.reject(moduleNotFound('/app/node_modules/knex/lib/index.js', 'module')),
      drivers: ['knex', 'pg'],
    });
    expect((await configError(registry.load('pathy'))).message).toContain('npm install knex pg');
  });

  test('through resolveConfig, the hint is an issue at the path that named the class', async () => {
    const registry = createRegistry();
    registry.register('redisish', {
      load: () => Promise.reject(moduleNotFound('ioredis')),
      drivers: ['ioredis'],
    });
    const err = await configError(
      resolveConfig(
        {
          connections: { r: { class: 'redisish' } },
          jobTypeConf: { t: { class: 'redisish', connection: 'r' } },
        },
        { registry },
      ),
    );
    expect(err.issues.map((i) => i.path)).toEqual(['connections.r.class', 'jobTypeConf.t.class']);
    expect(err.issues[0]?.message).toContain('npm install ioredis');
  });

  test('any other loader failure is CONFIG_INVALID with the cause, and is retried on the next load', async () => {
    const registry = createRegistry();
    const fake = fakeBackend();
    let calls = 0;
    registry.register('flaky', async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
      return fake;
    });
    const err = await configError(registry.load('flaky'));
    expect(err.message).toContain('boom');
    expect((err.cause as Error).message).toBe('boom');
    expect(await registry.load('flaky')).toBe(fake);
    expect(calls).toBe(2);
  });

  test('a loader that returns something other than a BackendModule is rejected', async () => {
    const registry = createRegistry();
    registry.register('hollow', async () => ({ supports: {} }) as unknown as BackendModule);
    const err = await configError(registry.load('hollow'));
    expect(err.message).toContain('no BackendModule');
  });
});
