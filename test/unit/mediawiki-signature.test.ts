/**
 * The `mediawiki` signature scheme (issue 12 point 1), against vectors PHP itself computed with
 * MediaWiki's algorithm (scripts/vectors/mediawiki-job-event.php → test/fixtures/
 * mediawiki-job-events.json; PHP is not needed here): each vector is accepted by the executor's
 * check and by the HTTP endpoint, a one-byte change is rejected, and an event switchyard builds
 * in `mediawiki` mode from the same input has PHP's signed bytes, signature and sha1 exactly.
 * `switchyard-v1` keeps working beside it.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { EventBusJobQueue } from '../../src/backends/eventbus/index.js';
import { createRegistry } from '../../src/container.js';
import { resolveConfig } from '../../src/core/config.js';
import { ErrorCode } from '../../src/core/errors.js';
import type { Job, JsonObject, NormalizedJob } from '../../src/core/job.js';
import {
  buildSerializedJobEvent,
  mediawikiIso,
  mediawikiSha1,
  mediawikiTimestamp,
} from '../../src/events/job-event.js';
import {
  phpFloat,
  phpJson,
  phpJsonSlow,
  phpKeyCompare,
  phpSerialize,
  phpString,
} from '../../src/events/php.js';
import { checkJobEvent } from '../../src/events/receive.js';
import { validateJobEvent } from '../../src/events/schema.js';
import { mediawikiSignedBytes, signJobEvent, verifyJobEvent } from '../../src/events/signature.js';
import { createJobEndpoint } from '../../src/executor/endpoint.js';
import { resolveExecutorConfig } from '../../src/executor/section.js';
import { defineHandlers } from '../../src/runner/handlers.js';

interface Vector {
  readonly name: string;
  readonly input: {
    readonly type: string;
    readonly domain: string;
    readonly serverName: string;
    readonly stream: string;
    readonly id: string;
    readonly params: JsonObject;
    readonly requestId: string | null;
    readonly removeDuplicates: boolean;
    readonly removeDuplicatesIgnoreParams: string[] | null;
    readonly releaseTimestamp: number | null;
    readonly rootJob: { signature: string; timestamp: number; isSelf: boolean } | null;
  };
  readonly signedBytes: string;
  readonly signature: string;
  readonly sha1: string | null;
  readonly wire: string;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/mediawiki-job-events.json', import.meta.url), 'utf8'),
) as { secret: string; vectors: Vector[] };
const SECRET = fixture.secret;
const NOW = Date.UTC(2026, 11, 6, 4, 0, 0, 123);

/** What EventGate does to MediaWiki's POST: parse it and add meta.dt (after signing). */
function intake(wire: string, dt = '2026-12-06T04:00:00.123Z'): Record<string, unknown> {
  const event = JSON.parse(wire) as Record<string, unknown> & { meta: Record<string, unknown> };
  event.meta.dt = dt;
  return event;
}

function jobOf(v: Vector): NormalizedJob {
  const i = v.input;
  return {
    type: i.type,
    params: i.params,
    domain: i.domain,
    releaseTimestamp: i.releaseTimestamp,
    removeDuplicates: i.removeDuplicates,
    sha1: null,
    rootJob: i.rootJob,
    requestId: i.requestId,
    priority: 0,
    groupKey: null,
    ...(i.removeDuplicatesIgnoreParams === null
      ? {}
      : { removeDuplicatesIgnoreParams: i.removeDuplicatesIgnoreParams }),
  };
}

/** One-byte edits of the wire text that keep it JSON: a letter in a value or key, a signature digit. */
function oneByteChanges(wire: string): Array<{ what: string; text: string }> {
  const out: Array<{ what: string; text: string }> = [];
  const swap = (at: number, what: string) => {
    const c = wire[at] as string;
    const r = c === 'a' ? 'b' : c === '0' ? '1' : /[0-9]/.test(c) ? '0' : 'a';
    out.push({ what, text: wire.slice(0, at) + r + wire.slice(at + 1) });
  };
  swap(wire.indexOf('"database":"') + 12, 'database');
  swap(wire.indexOf('"type":"') + 8, 'type');
  swap(wire.indexOf('"mediawiki_signature":"') + 23, 'signature');
  swap(wire.indexOf('"domain":"') + 10, 'meta.domain');
  swap(wire.indexOf('"id":"') + 6, 'meta.id');
  swap(wire.indexOf('"stream":"') + 10, 'meta.stream');
  const params = wire.indexOf('"params":{"');
  if (params >= 0) swap(params + 11, 'a params key');
  const sha1 = wire.indexOf('"sha1":"');
  if (sha1 >= 0) swap(sha1 + 8, 'sha1');
  return out;
}

describe('PHP encoding (php.ts) against what PHP 8.2 printed', () => {
  test('doubles as json_encode and serialize write them (serialize_precision -1)', () => {
    const cases: Array<[number, string, string]> = [
      [0.1, '0.1', '0.1'],
      [1e15, '1000000000000000', '1000000000000000'],
      [1e16, '10000000000000000', '10000000000000000'],
      [1e17, '1.0e+17', '1.0E+17'],
      [1e25, '1.0e+25', '1.0E+25'],
      [0.0001, '0.0001', '0.0001'],
      [0.00001, '1.0e-5', '1.0E-5'],
      [1.5e-7, '1.5e-7', '1.5E-7'],
      [1.2345678901234567e19, '1.2345678901234567e+19', '1.2345678901234567E+19'],
      [3.14, '3.14', '3.14'],
      [1e100, '1.0e+100', '1.0E+100'],
      [5e-324, '5.0e-324', '5.0E-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308', '1.7976931348623157E+308'],
      [0.30000000000000004, '0.30000000000000004', '0.30000000000000004'],
      [100.5, '100.5', '100.5'],
      [1e21, '1.0e+21', '1.0E+21'],
      [-2.5, '-2.5', '-2.5'],
    ];
    for (const [n, json, ser] of cases) {
      expect(phpFloat(n), String(n)).toBe(json);
      expect(phpFloat(n, 'E'), String(n)).toBe(ser);
    }
    // A number is what json_decode makes of the text JavaScript writes: an int literal within
    // int64 is an int (2^62 is written 4611686018427388000, 1e17), a longer one a double (1e20 →
    // 1.0e+20; PHP printed 9.223372036854776e+18 for json_decode("[9223372036854775808]")).
    expect(phpJson([1e2, 1.0, 1.2345678901234567e19, 1e17, 1e20, 2 ** 62, 2 ** 53, 2 ** 63])).toBe(
      '[100,1,1.2345678901234567e+19,100000000000000000,1.0e+20,4611686018427388000,9007199254740992,9.223372036854776e+18]',
    );
  });

  test('strings: slashes and Unicode unescaped; quotes, backslash, controls, U+2028/9 escaped', () => {
    expect(phpString('a/b"\\\u0001\u001f\u007f\t\n\r\b\f é 😀 \u2028\u2029 <>&\'')).toBe(
      '"a/b\\"\\\\\\u0001\\u001f\u007f\\t\\n\\r\\b\\f é 😀 \\u2028\\u2029 <>&\'"',
    );
    expect(() => phpString('lone \ud800 surrogate')).toThrow(/surrogate/);
  });

  test('objects are PHP arrays: {} and {"0":…,"1":…} are lists; other keys keep their order', () => {
    expect(phpJson({})).toBe('[]');
    expect(phpJson({ a: {} })).toBe('{"a":[]}');
    expect(phpJson({ 0: 'a', 1: 'b' })).toBe('["a","b"]');
    expect(phpJson({ 1: 'a', 2: 'b' })).toBe('{"1":"a","2":"b"}');
    expect(phpJson({ b: 1, a: [true, null, 'x'] })).toBe('{"b":1,"a":[true,null,"x"]}');
  });

  test('serialize() and ksort() as PHP 8.2 did them', () => {
    expect(phpSerialize({ b: 1, a: [true, null, 'x'], 10: 2, é: 1.5 })).toBe(
      // JavaScript enumerates "10" first; PHP printed a:4:{s:1:"b";i:1;s:1:"a";…;i:10;i:2;s:2:"é";d:1.5;}
      'a:4:{i:10;i:2;s:1:"b";i:1;s:1:"a";a:3:{i:0;b:1;i:1;N;i:2;s:1:"x";}s:2:"é";d:1.5;}',
    );
    const keys: Array<bigint | string> = ['b', 'a', 10n, 9n, 'Z', '1.5', ' 2', ''];
    // PHP 8.2: ksort(['b','a','10','9','Z','1.5',' 2','']) → '', '1.5', ' 2', 9, 10, 'Z', 'a', 'b'
    expect([...keys].sort(phpKeyCompare)).toEqual(['', '1.5', ' 2', 9n, 10n, 'Z', 'a', 'b']);
  });
});

describe('MediaWiki vectors (computed by PHP)', () => {
  test('the fixture holds the shapes the issue names', () => {
    const names = fixture.vectors.map((v) => v.name).join('\n');
    for (const shape of ['unicode', 'slashes', 'nested', 'empty params', 'numbers', 'root job']) {
      expect(names).toContain(shape);
    }
    expect(fixture.vectors.length).toBeGreaterThanOrEqual(8);
  });

  for (const v of fixture.vectors) {
    describe(v.name, () => {
      test('the executor check accepts it after intake added meta.dt, in mediawiki and either mode', () => {
        const event = intake(v.wire);
        expect(validateJobEvent(event)).toEqual([]);
        const mw = checkJobEvent(event, SECRET, 'mediawiki');
        expect(mw.ok, mw.ok ? '' : mw.detail).toBe(true);
        expect(checkJobEvent(event, SECRET).ok).toBe(true);
        // As MediaWiki sent it (no meta.dt) the signature verifies too.
        expect(verifyJobEvent(JSON.parse(v.wire), SECRET, 'mediawiki')).toBe(true);
        expect(checkJobEvent(event, SECRET, 'switchyard-v1')).toMatchObject({
          ok: false,
          reason: 'bad-signature',
        });
        expect(checkJobEvent(event, `${SECRET}x`, 'mediawiki')).toMatchObject({
          ok: false,
          reason: 'bad-signature',
        });
      });

      test('a one-byte change anywhere is rejected', () => {
        const changes = oneByteChanges(v.wire);
        expect(changes.length).toBeGreaterThanOrEqual(6);
        for (const { what, text } of changes) {
          expect(text).not.toBe(v.wire);
          const check = checkJobEvent(intake(text), SECRET, null);
          expect(check.ok, what).toBe(false);
        }
        // A changed meta.dt is no change: it is not signed.
        expect(checkJobEvent(intake(v.wire, '2030-01-01T00:00:00Z'), SECRET, 'mediawiki').ok).toBe(true);
      });

      test('switchyard in mediawiki mode builds PHP’s bytes, signature and sha1 from the same input', () => {
        const built = buildSerializedJobEvent(jobOf(v), {
          signature: 'mediawiki',
          secret: SECRET,
          stream: v.input.stream,
          id: v.input.id,
          now: NOW,
          serverName: { [v.input.domain]: v.input.serverName },
        });
        const event = built.event as unknown as Record<string, unknown> & { meta: Record<string, unknown> };
        expect(event.mediawiki_signature).toBe(v.signature);
        expect(event.sha1 ?? null).toBe(v.sha1);
        const { dt, ...undated } = event.meta;
        expect(dt).toBe(new Date(NOW).toISOString());
        expect(mediawikiSignedBytes({ ...event, meta: undated })).toBe(v.signedBytes);
        // The message is schema-valid, and it verifies the way MediaWiki's verifier does.
        const received = JSON.parse(built.json) as unknown;
        expect(validateJobEvent(received)).toEqual([]);
        expect(checkJobEvent(received, SECRET, 'mediawiki').ok).toBe(true);
        // Same members as PHP's (meta.dt aside): what MediaWiki's own verifier re-encodes.
        const php = JSON.parse(v.wire) as Record<string, unknown>;
        expect(Object.keys(event)).toEqual(Object.keys(php));
        expect(Object.keys(undated)).toEqual(Object.keys(php.meta as object));
        if (v.sha1 !== null) {
          expect(
            mediawikiSha1(
              v.input.type,
              event.params as JsonObject,
              v.input.removeDuplicatesIgnoreParams ?? [],
            ),
          ).toBe(v.sha1);
        }
      });
    });
  }

  test('the endpoint runs each vector (200) and refuses each one-byte change (403)', async () => {
    const seen: Array<Job<string>> = [];
    const handlers = defineHandlers(
      Object.fromEntries(
        fixture.vectors.map((v) => [v.input.type, { run: (j: Job<string>) => void seen.push(j) }]),
      ),
    );
    const server: Server = createServer(
      createJobEndpoint({ secret: SECRET, signature: 'mediawiki', handlers }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const post = (body: string) =>
      fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    try {
      for (const v of fixture.vectors) {
        const ok = await post(JSON.stringify(intake(v.wire)));
        expect(ok.status, `${v.name}: ${await ok.clone().text()}`).toBe(200);
        // MediaWiki's own bytes, without meta.dt, fail the schema (meta.dt is required) with 400.
        expect((await post(v.wire)).status).toBe(400);
        for (const { what, text } of oneByteChanges(v.wire)) {
          const res = await post(JSON.stringify(intake(text)));
          expect(res.status, `${v.name}: ${what}`).toBe(403);
        }
      }
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    expect(seen.map((j) => j.id)).toEqual(fixture.vectors.map((v) => v.input.id));
    const root = seen.find((j) => j.id === fixture.vectors[6]?.input.id);
    expect(root?.rootJob?.signature).toBe(fixture.vectors[6]?.input.rootJob?.signature);
    expect(root?.releaseTimestamp).toBe(fixture.vectors[6]?.input.releaseTimestamp);
  });
});

describe('switchyard-v1 beside mediawiki', () => {
  const job: NormalizedJob = {
    type: 'refreshLinks',
    params: { page: 1, url: 'https://x/y', title: 'Ä' },
    domain: 'enwiki',
    releaseTimestamp: null,
    removeDuplicates: true,
    sha1: 'a'.repeat(40),
    rootJob: null,
    requestId: 'r1',
    priority: 0,
    groupKey: null,
  };
  const options = { stream: 'mediawiki.job.refreshLinks', secret: SECRET, now: NOW };

  test('v1 is the default, still 64 hex digits, and verifies under v1 and either, not mediawiki', () => {
    const { json } = buildSerializedJobEvent(job, options);
    const event = JSON.parse(json) as Record<string, unknown>;
    expect(event.mediawiki_signature).toMatch(/^[0-9a-f]{64}$/);
    expect(event.sha1).toBe(job.sha1);
    expect(checkJobEvent(event, SECRET, 'switchyard-v1').ok).toBe(true);
    expect(checkJobEvent(event, SECRET).ok).toBe(true);
    expect(checkJobEvent(event, SECRET, 'mediawiki')).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verifyJobEvent(event, SECRET)).toBe(true);
  });

  test('mediawiki mode: 40 hex digits, MediaWiki timestamps and params, signJobEvent agrees', () => {
    const rooted: NormalizedJob = {
      ...job,
      releaseTimestamp: Date.UTC(2026, 11, 7, 1, 2, 3, 999),
      rootJob: { signature: 'b'.repeat(40), timestamp: Date.UTC(2026, 0, 2, 3, 4, 5, 678), isSelf: true },
    };
    const { event, json } = buildSerializedJobEvent(rooted, { ...options, signature: 'mediawiki' });
    expect(event.mediawiki_signature).toMatch(/^[0-9a-f]{40}$/);
    expect(event.meta.domain).toBe('enwiki');
    expect(event.meta.uri).toBe('https://placeholder.invalid/wiki/Special:Badtitle');
    expect(event.delay_until).toBe('2026-12-07T01:02:03Z');
    expect(event.root_event).toEqual({ signature: 'b'.repeat(40), dt: '2026-01-02T03:04:05Z' });
    expect(event.params).toEqual({
      ...job.params,
      rootJobIsSelf: true,
      rootJobSignature: 'b'.repeat(40),
      rootJobTimestamp: '20260102030405',
      jobReleaseTimestamp: Math.floor(Date.UTC(2026, 11, 7, 1, 2, 3) / 1000),
      requestId: 'r1',
    });
    expect(event.sha1).toBe(mediawikiSha1('refreshLinks', event.params));
    expect(event.sha1).not.toBe(job.sha1);
    const parsed = JSON.parse(json) as Record<string, unknown> & { meta: Record<string, unknown> };
    const { dt: _dt, ...undated } = parsed.meta;
    expect(signJobEvent({ ...parsed, meta: undated } as never, SECRET, 'mediawiki')).toBe(
      event.mediawiki_signature,
    );
    expect(mediawikiIso(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02T03:04:05Z');
    expect(mediawikiTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('20260102030405');
  });

  test('an event MediaWiki could not encode is refused at build time, and never verifies', () => {
    const bad: NormalizedJob = { ...job, params: { text: 'lone \ud800' } };
    expect(() => buildSerializedJobEvent(bad, { ...options, signature: 'mediawiki' })).toThrow(RangeError);
    expect(
      verifyJobEvent(
        { meta: {}, params: { t: '\ud800' }, mediawiki_signature: 'a'.repeat(40) },
        SECRET,
        null,
      ),
    ).toBe(false);
  });
});

describe('phpJson: the JSON.stringify fast path equals the value-by-value definition', () => {
  /** A small seeded PRNG (mulberry32), so failures reproduce. */
  function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const pieces = [
    'a',
    '/',
    '\\',
    '"',
    'é',
    '😀',
    '\u2028',
    '\u2029',
    '\u0001',
    '\n',
    '{}',
    '{"0":',
    '1e5',
    ' ',
    '<',
  ];
  const numbers = [
    0,
    -0,
    1,
    -7,
    42,
    0.1,
    1.5,
    1e-4,
    1e-5,
    -1e-5,
    1.5e-7,
    1e15,
    1e16,
    1e17,
    1e21,
    2 ** 53,
    2 ** 53 - 1,
    123.456,
  ];
  function value(rand: () => number, depth: number): unknown {
    const r = rand();
    if (depth > 3 || r < 0.3) {
      const k = rand();
      if (k < 0.4)
        return Array.from(
          { length: Math.floor(rand() * 4) },
          () => pieces[Math.floor(rand() * pieces.length)],
        ).join('');
      if (k < 0.8) return numbers[Math.floor(rand() * numbers.length)];
      return k < 0.9 ? rand() < 0.5 : null;
    }
    if (r < 0.55) return Array.from({ length: Math.floor(rand() * 4) }, () => value(rand, depth + 1));
    const out: Record<string, unknown> = {};
    const n = Math.floor(rand() * 4);
    const listLike = rand() < 0.15;
    for (let i = 0; i < n; i++) {
      const key = listLike
        ? String(i)
        : rand() < 0.2
          ? String(Math.floor(rand() * 20))
          : `k${Math.floor(rand() * 9)}`;
      out[key] = value(rand, depth + 1);
    }
    return out;
  }

  test('over 5,000 random JSON values', () => {
    const rand = prng(12);
    let same = 0;
    for (let i = 0; i < 5000; i++) {
      const v = { params: value(rand, 0) };
      const slow = phpJsonSlow(v);
      expect(phpJson(v)).toBe(slow);
      if (JSON.stringify(v) === slow) same++;
    }
    // Both kinds occur: values JSON.stringify writes as PHP does, and values it writes differently.
    expect(same).toBeGreaterThan(500);
    expect(same).toBeLessThan(4500);
  });
});

describe('the signature setting in config', () => {
  const schema = JSON.parse(
    readFileSync(new URL('../../schema/switchyard.config.schema.json', import.meta.url), 'utf8'),
  ) as object;
  const validate = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true }).compile(schema);
  const rules = [{ name: 'a', topics: ['t'] }];

  test('executor: absent accepts either (null); mediawiki / switchyard-v1; anything else is a typed issue', () => {
    expect(resolveExecutorConfig({ brokers: 'h:1', secret: 's', rules }).signature).toBeNull();
    for (const mode of ['mediawiki', 'switchyard-v1'] as const) {
      expect(resolveExecutorConfig({ brokers: 'h:1', secret: 's', signature: mode, rules }).signature).toBe(
        mode,
      );
      expect(validate({ executor: { brokers: 'h:1', secret: 's', signature: mode, rules } })).toBe(true);
    }
    let err: unknown;
    try {
      resolveExecutorConfig({ brokers: 'h:1', secret: 'top-secret', signature: 'sha1', rules });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: ErrorCode.CONFIG_INVALID });
    expect(String((err as Error).message)).toMatch(/executor\.signature.*mediawiki.*switchyard-v1/);
    expect(String((err as Error).message)).not.toContain('top-secret');
    expect(validate({ executor: { brokers: 'h:1', secret: 's', signature: 'sha1', rules } })).toBe(false);
  });

  test('endpoint: an unknown signature is a TypeError at construction', () => {
    expect(() =>
      createJobEndpoint({ secret: 's', handlers: defineHandlers({}), signature: 'sha1' as never }),
    ).toThrow(/signature must be mediawiki or switchyard-v1/);
  });

  test('eventbus: signature, serverName and uri from the config file reach the events', async () => {
    const raw = {
      connections: {
        bus: {
          class: 'eventbus',
          brokers: '127.0.0.1:9',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a config ${ENV} reference, not a template
          secret: '${MW_SECRET}',
          signature: 'mediawiki',
          serverName: { enwiki: 'en.wikipedia.org' },
        },
      },
      jobTypeConf: { default: { class: 'eventbus', connection: 'bus', uri: 'https://en.wikipedia.org/x' } },
    };
    expect(validate(raw)).toBe(true);
    const config = await resolveConfig(raw, { registry: createRegistry(), env: { MW_SECRET: SECRET } });
    const conn = config.connections.bus?.settings as Record<string, unknown>;
    const entry = config.jobTypeConf.default?.settings as Record<string, unknown>;
    const q = new EventBusJobQueue({ type: 'refreshLinks', domain: 'enwiki', ...conn, ...entry } as never);
    try {
      const [event] = q.buildEvents([jobOf(fixture.vectors[0] as Vector)]);
      expect(event?.mediawiki_signature).toMatch(/^[0-9a-f]{40}$/);
      expect(event?.meta).toMatchObject({ domain: 'en.wikipedia.org', uri: 'https://en.wikipedia.org/x' });
      expect(checkJobEvent(JSON.parse(JSON.stringify(event)), SECRET, 'mediawiki').ok).toBe(true);
      // Without the setting: switchyard-v1, as before.
      const v1 = new EventBusJobQueue({
        type: 'refreshLinks',
        domain: 'enwiki',
        secret: SECRET,
        brokers: '127.0.0.1:9',
      });
      expect(v1.buildEvents([jobOf(fixture.vectors[0] as Vector)])[0]?.mediawiki_signature).toMatch(
        /^[0-9a-f]{64}$/,
      );
      await v1.close();
    } finally {
      await q.close();
    }
    const bad = resolveConfig(
      {
        jobTypeConf: {
          default: {
            class: 'eventbus',
            brokers: '127.0.0.1:9',
            secret: 's',
            signature: 'md5',
            serverName: 7,
            uri: 'a b',
          },
        },
      },
      { registry: createRegistry(), env: {} },
    );
    await expect(bad).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID });
    await expect(bad).rejects.toThrow(/jobTypeConf\.default\.signature/);
    await expect(bad).rejects.toThrow(/jobTypeConf\.default\.serverName/);
    await expect(bad).rejects.toThrow(/jobTypeConf\.default\.uri/);
  });
});
