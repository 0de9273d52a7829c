/**
 * The bytes PHP writes for a JSON value, as MediaWiki sees it: what `json_decode($text, true)`
 * followed by `json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE)` (MediaWiki's
 * `FormatJson::encode($v, false, FormatJson::ALL_OK)`) and `serialize()` produce, and `ksort()`'s
 * key order. MediaWiki's job-event signature and dedup `sha1` are computed over these bytes.
 *
 * A JavaScript value stands for the JSON text it is written as (`JSON.stringify`), the form every
 * job event takes between MediaWiki and a consumer (EventGate, ChangeProp and switchyard all parse
 * and rewrite it in JavaScript). So:
 *
 * - an integer literal within PHP's int64 is an int; any other number is a float, written the way
 *   PHP writes doubles with `serialize_precision = -1` (shortest round-trip digits; exponent form
 *   below 1e-4 or from 1e17 on: `1.0e-5`, `1.0e+25`; `serialize` uses `E`);
 * - a JSON object is a PHP array: an empty one, or one whose keys are exactly "0", "1", … in
 *   order, is written back as a JSON list (`[]`, `["a","b"]`); a key that is a canonical decimal
 *   integer is an int key;
 * - strings escape `"`, `\`, control characters (`\b \f \n \r \t`, else `\u00xx`) and U+2028 /
 *   U+2029; slashes and other Unicode stay as they are. A lone surrogate is not UTF-8: PHP
 *   refuses it, so {@link phpJson} throws.
 *
 * @packageDocumentation
 */

/** A value PHP cannot encode (a lone surrogate, a non-finite number, a non-JSON value). */
export class PhpEncodeError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'PhpEncodeError';
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER_TEXT = /^-?(?:0|[1-9]\d*)$/;

/**
 * The JSON text of a finite number is a PHP int: an integer literal within int64, as
 * `json_decode` reads it (MediaWiki's verifier decodes what the last JavaScript hop wrote).
 */
function isPhpInt(text: string): boolean {
  if (!INTEGER_TEXT.test(text)) return false;
  // 15 digits always fit; only longer literals need the exact range check.
  if (text.length < 16) return true;
  const n = BigInt(text);
  return n >= INT64_MIN && n <= INT64_MAX;
}

/** A JSON object key PHP turns into an int key: a canonical decimal within int64. */
function isPhpIntKey(key: string): boolean {
  return key !== '-0' && isPhpInt(key);
}

/** PHP's double formatting (`php_gcvt` with precision 17, mode 0), exponent letter `e` or `E`. */
export function phpFloat(value: number, exponent: 'e' | 'E' = 'e'): string {
  if (!Number.isFinite(value)) throw new PhpEncodeError(`PHP cannot encode the number ${value}`);
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const sign = value < 0 ? '-' : '';
  // toExponential() without an argument gives the shortest digits that round-trip, as zend_dtoa
  // mode 0 does: "d.ddde±x".
  const [mantissa, exp] = Math.abs(value).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const decpt = Number(exp) + 1;
  if (decpt < 0 ? decpt < -3 : decpt > 17) {
    const e = decpt - 1;
    const frac = digits.length > 1 ? digits.slice(1) : '0';
    return `${sign}${digits[0] as string}.${frac}${exponent}${e < 0 ? '-' : '+'}${Math.abs(e)}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (digits.length <= decpt) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** A number as PHP writes it after decoding its JSON text. */
function phpNumber(value: number): string {
  if (!Number.isFinite(value)) throw new PhpEncodeError(`PHP cannot encode the number ${value}`);
  const text = JSON.stringify(value);
  return isPhpInt(text) ? text : phpFloat(value);
}

const ESCAPES: Record<number, string> = {
  8: '\\b',
  9: '\\t',
  10: '\\n',
  12: '\\f',
  13: '\\r',
  34: '\\"',
  92: '\\\\',
  8232: '\\u2028',
  8233: '\\u2029',
};

/** Characters json_encode escapes under MediaWiki's flags, and lone surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
const NEEDS_WORK = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;

/** A string as PHP json_encode writes it (JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE). */
export function phpString(value: string): string {
  if (!NEEDS_WORK.test(value)) return `"${value}"`;
  let out = '"';
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      throw new PhpEncodeError('a string holds a lone UTF-16 surrogate, which is not UTF-8 (PHP refuses it)');
    }
    const replacement = ESCAPES[c] ?? (c < 0x20 ? `\\u${c.toString(16).padStart(4, '0')}` : null);
    if (replacement === null) continue;
    out += value.slice(start, i) + replacement;
    start = i + 1;
  }
  return `${out + value.slice(start)}"`;
}

/** True when PHP would treat the object's keys as a list: exactly "0", "1", … in order. */
function isListKeys(keys: readonly string[]): boolean {
  for (let i = 0; i < keys.length; i++) if (keys[i] !== String(i)) return false;
  return true;
}

function plainKeys(value: object): string[] {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new PhpEncodeError('not a JSON value: an object that is not a plain object');
  }
  return Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
}

/**
 * Text JSON.stringify writes differently from PHP, outside or inside strings (a hit inside a
 * string only costs the slow path): an empty object or one starting with key "0" (PHP lists), a
 * number in exponent form, one of 18+ integer digits (PHP: exponent from 1e17) or below 1e-4
 * (`0.0000…`), and an escaped lone surrogate (PHP refuses it).
 */
const JS_ONLY = /\{\}|\{"0":|[:,[]-?(?:\d{18}|0\.0000|\d+(?:\.\d+)?[eE])|\\u[dD][89a-fA-F]/;
const LINE_SEPARATORS = /[\u2028\u2029]/g;

/**
 * The JSON MediaWiki writes for `value` (see the module comment). Throws {@link PhpEncodeError}
 * for what PHP cannot encode. `value` must be plain JSON data (what JSON.parse returns, or
 * validated job params): JSON.stringify's own output is used when it has none of the
 * {@link JS_ONLY} differences, with U+2028 / U+2029 escaped as PHP does.
 */
export function phpJson(value: unknown): string {
  if (typeof value !== 'object' || value === null) return phpJsonSlow(value);
  return phpJsonOf(value, JSON.stringify(value));
}

/** {@link phpJson} of an object or array whose `JSON.stringify` text the caller already has. */
export function phpJsonOf(value: object, text: string | undefined): string {
  if (text !== undefined && !JS_ONLY.test(text)) {
    return text.replace(LINE_SEPARATORS, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));
  }
  return phpJsonSlow(value);
}

/** {@link phpJson} written value by value: the definition, and the path for what JS writes differently. */
export function phpJsonSlow(value: unknown, depth = 0): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return phpString(value);
    case 'number':
      return phpNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new PhpEncodeError(`not a JSON value: ${typeof value}`);
  }
  // json_encode's default depth limit is 512.
  if (depth >= 512) throw new PhpEncodeError('nested deeper than json_encode allows (512)');
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out += (i > 0 ? ',' : '') + phpJsonSlow(item === undefined ? null : item, depth + 1);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = plainKeys(record);
  if (isListKeys(keys)) {
    let out = '[';
    for (let i = 0; i < keys.length; i++) out += (i > 0 ? ',' : '') + phpJsonSlow(record[i], depth + 1);
    return `${out}]`;
  }
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    out += `${i > 0 ? ',' : ''}${phpString(key)}:${phpJsonSlow(record[key], depth + 1)}`;
  }
  return `${out}}`;
}

const encoder = new TextEncoder();

function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** The PHP array key a JSON object key becomes: an int for a canonical int64 decimal. */
function phpKey(key: string): bigint | string {
  return isPhpIntKey(key) ? BigInt(key) : key;
}

function serializeKey(key: bigint | string): string {
  return typeof key === 'bigint' ? `i:${key};` : `s:${byteLength(key)}:"${key}";`;
}

/**
 * PHP `serialize()` of the value PHP gets from `value`'s JSON (objects and lists are arrays).
 * Throws {@link PhpEncodeError} for what is not JSON.
 */
export function phpSerialize(value: unknown, depth = 0): string {
  if (value === null) return 'N;';
  switch (typeof value) {
    case 'string':
      // PHP strings are bytes; a lone surrogate has no UTF-8 form.
      if (/[\ud800-\udfff]/.test(value)) phpString(value);
      return `s:${byteLength(value)}:"${value}";`;
    case 'number': {
      if (!Number.isFinite(value)) throw new PhpEncodeError(`PHP cannot encode the number ${value}`);
      const text = JSON.stringify(value);
      return isPhpInt(text) ? `i:${text};` : `d:${phpFloat(value, 'E')};`;
    }
    case 'boolean':
      return value ? 'b:1;' : 'b:0;';
    case 'object':
      break;
    default:
      throw new PhpEncodeError(`not a JSON value: ${typeof value}`);
  }
  if (depth >= 512) throw new PhpEncodeError('nested deeper than json_decode allows (512)');
  if (Array.isArray(value)) {
    let out = `a:${value.length}:{`;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out += `i:${i};${phpSerialize(item === undefined ? null : item, depth + 1)}`;
    }
    return `${out}}`;
  }
  return serializeEntries(
    plainKeys(value).map((k) => [phpKey(k), (value as Record<string, unknown>)[k]] as const),
    depth,
  );
}

/** `serialize()` of a PHP array given as its entries, in order. */
export function serializeEntries(
  entries: ReadonlyArray<readonly [bigint | string, unknown]>,
  depth = 0,
): string {
  let out = `a:${entries.length}:{`;
  for (const [key, item] of entries) out += serializeKey(key) + phpSerialize(item, depth + 1);
  return `${out}}`;
}

/** PHP 8's numeric strings: optional whitespace, sign, digits with a fraction, exponent, whitespace. */
const NUMERIC = /^[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[ \t\n\r\v\f]*$/;

function bytesCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function numCompare(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** ksort()'s comparison of two array keys (PHP 8, SORT_REGULAR). */
export function phpKeyCompare(a: bigint | string, b: bigint | string): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') {
    if (NUMERIC.test(a) && NUMERIC.test(b)) return numCompare(Number(a.trim()), Number(b.trim()));
    return bytesCompare(a, b);
  }
  const [int, str, flip] = typeof a === 'bigint' ? [a, b as string, 1] : [b as bigint, a as string, -1];
  if (NUMERIC.test(str)) return flip * numCompare(Number(int), Number(str.trim()));
  return flip * bytesCompare(String(int), str);
}

/** The entries of a JSON object as PHP array entries, ksort()ed. */
export function ksortedEntries(record: Record<string, unknown>): Array<readonly [bigint | string, unknown]> {
  const entries = plainKeys(record).map((k) => [phpKey(k), record[k]] as const);
  return entries.sort((x, y) => phpKeyCompare(x[0], y[0]));
}
