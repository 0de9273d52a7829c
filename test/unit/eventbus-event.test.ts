/**
 * The eventbus push fast paths (issue 7): canonicalJson's native JSON.stringify path, the signed
 * payload and message text built by concatenation in buildSerializedJobEvent, and the per-ms ISO
 * cache, each checked against a plain reference over many shaped inputs.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  canonicalJson,
  dedupKey,
  type JsonObject,
  type JsonValue,
  type NormalizedJob,
} from '../../src/core/job.js';
import { PieceHmac } from '../../src/events/hmac.js';
import { buildJobEvent, buildSerializedJobEvent } from '../../src/events/job-event.js';
import { validateJobEvent } from '../../src/events/schema.js';
import { mediawikiSignedBytes, signedPayload, verifyJobEvent } from '../../src/events/signature.js';

const SECRET = 'unit-secret-0123456789';

/** The definition: keys sorted at every level, no whitespace (written independently here). */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${reference(record[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

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

const KEYS = [
  'a',
  'b',
  'B',
  'Z',
  '_',
  'é',
  'ü',
  '日本',
  '😀',
  'a b',
  '"q"',
  '\\',
  '\n',
  '',
  '0',
  '1',
  '2',
  '9',
  '10',
  '01',
  '-1',
  '1.5',
  'aa',
  'ab',
  'page',
  'title',
  'namespace',
  '\u{ffff}',
  '\ud800',
];
const STRINGS = [
  '',
  'x',
  'Main_Page',
  'ü',
  '日本語',
  '😀 emoji',
  '"quoted"',
  'back\\slash',
  'line\nbreak',
  '\u0000\u001f',
  '\u2028\u2029',
  'lone \udc00 surrogate',
  'x'.repeat(300),
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  1.5,
  1e21,
  1e-7,
  123456789012345,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_VALUE,
  5e-324,
  0.1 + 0.2,
];

function randomValue(rand: () => number, depth: number): JsonValue {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const r = rand();
  if (depth > 3 || r < 0.35) {
    const s = rand();
    if (s < 0.35) return pick(STRINGS);
    if (s < 0.7) return pick(NUMBERS);
    if (s < 0.85) return rand() < 0.5;
    return null;
  }
  if (r < 0.55) return Array.from({ length: Math.floor(rand() * 5) }, () => randomValue(rand, depth + 1));
  return randomObject(rand, depth + 1);
}

function randomObject(rand: () => number, depth: number): JsonObject {
  const out: Record<string, JsonValue> = {};
  const n = Math.floor(rand() * 6);
  const keys = [...KEYS].sort(() => rand() - 0.5).slice(0, n);
  // Half the objects get their keys in sorted order (the fast path), half in random order.
  if (rand() < 0.5) keys.sort();
  for (const k of keys) out[k] = randomValue(rand, depth);
  return out;
}

function job(params: JsonObject, extra: Partial<NormalizedJob> = {}): NormalizedJob {
  return {
    type: 'refreshLinks',
    domain: 'enwiki',
    params,
    releaseTimestamp: null,
    removeDuplicates: false,
    sha1: null,
    rootJob: null,
    requestId: null,
    priority: 0,
    groupKey: null,
    ...extra,
  };
}

describe('canonicalJson fast path', () => {
  test('equals the sorted-keys definition on hand-picked shapes', () => {
    const cases: unknown[] = [
      null,
      true,
      0,
      -0,
      1e21,
      'ü',
      [],
      {},
      [1, 'a', null, [{}]],
      { a: 1, b: 2 },
      { b: 1, a: 2 },
      { a: { d: [1, { z: 1, y: 2 }], c: null }, b: 1 },
      { 1: 'x', 2: 'y', a: 'z' },
      { 10: 'x', 9: 'y' },
      { '01': 1, '1': 2 },
      { B: 1, a: 2, Z: 3, _: 4 },
      { é: 1, e: 2, f: 3 },
      { '😀': 1, '\u{ffff}': 2 },
      { '\u{ffff}': 2, '😀': 1 },
      { nested: { deeper: { deepest: [1, 2, { y: 1, x: 2 }] } } },
      Object.assign(Object.create(null) as object, { b: 1, a: 2 }),
      Object.assign(Object.create(null) as object, { a: 1, b: 2 }),
      { a: Number.NaN, b: Number.POSITIVE_INFINITY },
      JSON.parse('{"b":1,"__proto__":{"y":1,"x":2},"a":[{"__proto__":null}]}'),
      { ' x': 1, 1: 2 },
      { b: [{ d: 1, c: 2 }], a: [3, { f: { h: 1, g: 2 }, e: 'ü' }] },
      // biome-ignore lint/suspicious/noSparseArray: a hole, as JSON.stringify and the definition differ on it
      { a: [1, , 2] },
      { a: undefined, b: 1 },
      { x: 'lone \ud800', y: '\u2028' },
    ];
    for (const value of cases) expect(canonicalJson(value as JsonValue)).toBe(reference(value));
  });

  test('equals the sorted-keys definition on 3,000 random JSON values (unicode, nesting, arrays, numbers)', () => {
    const rand = prng(7);
    let sortedInputs = 0;
    for (let i = 0; i < 3000; i++) {
      const value = randomObject(rand, 0);
      const text = canonicalJson(value);
      expect(text).toBe(reference(value));
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      if (text === JSON.stringify(value)) sortedInputs++;
    }
    // Both paths were exercised.
    expect(sortedInputs).toBeGreaterThan(300);
    expect(sortedInputs).toBeLessThan(2900);
  });

  test('deep values beyond the fast path still come out canonical', () => {
    let deep: JsonValue = { b: 1, a: 2 };
    for (let i = 0; i < 100; i++) deep = { z: deep, y: [i] };
    expect(canonicalJson(deep)).toBe(reference(deep));
    let sortedDeep: JsonValue = { a: 1 };
    for (let i = 0; i < 100; i++) sortedDeep = { a: sortedDeep };
    expect(canonicalJson(sortedDeep)).toBe(JSON.stringify(sortedDeep));
  });

  test('the dedup key is unchanged by key order', () => {
    expect(dedupKey('w', 't', { b: { d: 1, c: [1, { f: 1, e: 2 }] }, a: 'ü' })).toBe(
      dedupKey('w', 't', { a: 'ü', b: { c: [1, { e: 2, f: 1 }], d: 1 } }),
    );
  });
});

describe('buildSerializedJobEvent', () => {
  test('the message text and the signature match the event, on 2,000 random jobs', () => {
    const rand = prng(11);
    for (let i = 0; i < 2000; i++) {
      const params = randomObject(rand, 0);
      const extra: { -readonly [K in keyof NormalizedJob]?: NormalizedJob[K] } = {};
      if (rand() < 0.5) extra.releaseTimestamp = Math.floor(rand() * 4e12);
      if (rand() < 0.5) {
        extra.removeDuplicates = true;
        extra.sha1 = dedupKey('enwiki', 'refreshLinks', params);
      }
      if (rand() < 0.5) extra.rootJob = { signature: 'f'.repeat(40), timestamp: Math.floor(rand() * 4e12) };
      if (rand() < 0.5) extra.requestId = `req-${i}-ü`;
      const now = 1_700_000_000_000 + Math.floor(rand() * 5);
      const { event, json } = buildSerializedJobEvent(job(params, extra), {
        stream: 'mediawiki.job.refreshLinks',
        secret: SECRET,
        now,
      });
      // The text is the event (params canonical), member for member and in order.
      expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(event)));
      expect(Object.keys(JSON.parse(json) as object)).toEqual(Object.keys(event));
      expect(json).toContain(`,"params":${reference(params)},"mediawiki_signature":`);
      if (JSON.stringify(params) === reference(params)) expect(json).toBe(JSON.stringify(event));
      // The signature covers the canonical subset, computed here from the definition.
      const subset: Record<string, unknown> = {
        database: event.database,
        type: event.type,
        params: event.params,
        meta: { id: event.meta.id },
      };
      if (event.sha1 !== undefined) subset.sha1 = event.sha1;
      if (event.root_event !== undefined) subset.root_event = event.root_event;
      if (event.delay_until !== undefined) subset.delay_until = event.delay_until;
      expect(signedPayload(event)).toBe(reference(subset));
      expect(event.mediawiki_signature).toBe(
        createHmac('sha256', SECRET).update(reference(subset)).digest('hex'),
      );
      expect(verifyJobEvent(JSON.parse(json), SECRET)).toBe(true);
      expect(verifyJobEvent(event, `${SECRET}x`)).toBe(false);
      // Each time is its own (the per-ms cache never leaks one into another).
      expect(event.meta.dt).toBe(new Date(now).toISOString());
      if (extra.releaseTimestamp !== undefined) {
        expect(event.delay_until).toBe(new Date(extra.releaseTimestamp as number).toISOString());
      }
      if (extra.rootJob) {
        expect(event.root_event?.dt).toBe(new Date(extra.rootJob.timestamp).toISOString());
      }
      expect(validateJobEvent(event)).toEqual([]);
    }
  });

  test('buildJobEvent gives the same event; a time beyond the Date range still throws', () => {
    const one = buildJobEvent(job({ b: 1, a: 2 }), { stream: 's', secret: SECRET, now: 5, id: 'id-1' });
    const two = buildSerializedJobEvent(job({ b: 1, a: 2 }), {
      stream: 's',
      secret: SECRET,
      now: 5,
      id: 'id-1',
    });
    expect(one).toEqual(two.event);
    expect(two.json).toContain('"params":{"a":2,"b":1}');
    expect(() => buildJobEvent(job({}), { stream: 's', secret: SECRET, now: 8.64e15 + 1 })).toThrow(
      RangeError,
    );
    expect(buildJobEvent(job({}), { stream: 's', secret: SECRET, now: 5 }).meta.dt).toBe(
      '1970-01-01T00:00:00.005Z',
    );
  });

  test('a repeated valid date-time stays valid and an invalid one after it is still rejected', () => {
    const event = buildJobEvent(job({}), { stream: 's', secret: SECRET, now: 1_700_000_000_000 });
    expect(validateJobEvent(event)).toEqual([]);
    expect(validateJobEvent(event)).toEqual([]);
    expect(validateJobEvent({ ...event, meta: { ...event.meta, dt: 'yesterday' } }).length).toBe(1);
    expect(validateJobEvent({ ...event, delay_until: '2026-13-01T00:00:00Z' }).length).toBe(1);
    expect(validateJobEvent(event)).toEqual([]);
  });
});

describe('PieceHmac', () => {
  test('equals createHmac of the joined pieces: both algorithms, short, 64-byte, long and non-ASCII secrets, messages past the buffer', () => {
    const rand = prng(23);
    const secrets = ['k', SECRET, 'x'.repeat(64), 'y'.repeat(65), 'ü'.repeat(40), `${'z'.repeat(200)}日本`];
    const pieces = [
      ...STRINGS.filter((t) => !/[\ud800-\udfff]/.test(t)),
      '',
      'x'.repeat(20_000),
      '日'.repeat(9000),
    ];
    for (const algorithm of ['sha256', 'sha1'] as const) {
      const signer = new PieceHmac(algorithm);
      for (let i = 0; i < 300; i++) {
        const secret = secrets[i % secrets.length] as string;
        const parts = Array.from(
          { length: 1 + Math.floor(rand() * 4) },
          () => pieces[Math.floor(rand() * pieces.length)] as string,
        );
        signer.begin(secret);
        for (const part of parts) signer.add(part);
        expect(signer.hex()).toBe(createHmac(algorithm, secret).update(parts.join('')).digest('hex'));
      }
    }
  });
});

describe('canonicalJson of out-of-order params (the remembered key order)', () => {
  test('shapes that repeat, alternate, grow, shrink or hold integer-like and __proto__ keys all match the definition', () => {
    const shapes: JsonObject[] = [
      { i: 1, page: 'Main_Page', pad: 'x' },
      { i: 2, page: 'Other', pad: 'y' },
      { z: 1, a: 2 },
      { i: 3, page: 'P', pad: 'z' },
      { i: 4, page: 'P', pad: 'z', extra: true },
      { i: 5, page: 'P' },
      { b: 1, 10: 'ten', 2: 'two', a: 0 },
      { b: 1, 10: 'ten', 2: 'two', a: 0 },
      JSON.parse('{"b":1,"__proto__":{"x":1},"a":2}') as JsonObject,
      JSON.parse('{"b":1,"__proto__":{"x":1},"a":2}') as JsonObject,
      { y: { d: 1, c: 2 }, x: [{ b: 1, a: 2 }] },
      { page: 'P', i: 6 },
      { page: 'P', i: { nested: 'ü' } },
      { page: 'P', i: 7 },
    ];
    for (let round = 0; round < 3; round++) {
      for (const shape of shapes) expect(canonicalJson(shape)).toBe(reference(shape));
    }
  });
});

describe('buildSerializedJobEvent in mediawiki mode (the text written around meta.dt)', () => {
  test('the message is JSON.stringify of the event and the signature is MediaWiki’s, on 2,000 random jobs', () => {
    const rand = prng(31);
    let built = 0;
    for (let i = 0; i < 2000; i++) {
      const params = randomObject(rand, 0);
      const extra: { -readonly [K in keyof NormalizedJob]?: NormalizedJob[K] } = {};
      if (rand() < 0.4) extra.releaseTimestamp = Math.floor(rand() * 4e12);
      if (rand() < 0.4) extra.removeDuplicates = true;
      if (rand() < 0.4) extra.rootJob = { signature: 'f'.repeat(40), timestamp: Math.floor(rand() * 4e12) };
      if (rand() < 0.4) extra.requestId = rand() < 0.5 ? `req-${i}-ü` : `req\u2028${i}/x`;
      const serverName = rand() < 0.5 ? 'en.wikipedia.org' : { enwiki: 'en.wikipedia.org/ü' };
      const now = 1_700_000_000_000 + Math.floor(rand() * 5);
      let out: ReturnType<typeof buildSerializedJobEvent>;
      try {
        out = buildSerializedJobEvent(job(params, extra), {
          signature: 'mediawiki',
          stream: 'mediawiki.job.refreshLinks',
          secret: SECRET,
          now,
          serverName,
        });
      } catch (err) {
        // What PHP cannot encode (a lone surrogate in the params) is refused, never signed.
        expect(err).toBeInstanceOf(RangeError);
        expect(JSON.stringify(params)).toMatch(/\\u[dD][89a-fA-F]/);
        continue;
      }
      built++;
      const { event, json } = out;
      expect(json).toBe(JSON.stringify(event));
      const { dt, ...undated } = event.meta;
      expect(dt).toBe(new Date(now).toISOString());
      const { mediawiki_signature: claimed, ...unsigned } = { ...event, meta: undated };
      expect(claimed).toBe(createHmac('sha1', SECRET).update(mediawikiSignedBytes(unsigned)).digest('hex'));
      expect(verifyJobEvent(JSON.parse(json), SECRET, 'mediawiki')).toBe(true);
      expect(verifyJobEvent(JSON.parse(json), `${SECRET}x`, 'mediawiki')).toBe(false);
      expect(validateJobEvent(JSON.parse(json))).toEqual([]);
    }
    expect(built).toBeGreaterThan(500);
  });
});
