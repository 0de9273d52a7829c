/**
 * The real `mediawiki/job` 1.0.0 JSON schema (promises §4), shipped verbatim as
 * `mediawiki-job-1.0.0.yaml` next to this file, the {@link JobEvent} shape it describes (as
 * switchyard produces it), and an ajv validator compiled from it once per process. The schema has no `$ref`, so nothing else needs inlining.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import type { Issue } from '../core/errors.js';
import type { JsonObject } from '../core/job.js';

/** The `$schema` URI every job event carries. */
export const JOB_EVENT_SCHEMA_URI = '/mediawiki/job/1.0.0';

/** A `mediawiki/job` 1.0.0 event as switchyard produces it. */
export interface JobEvent {
  readonly $schema: string;
  readonly meta: {
    readonly id: string;
    readonly dt: string;
    readonly stream: string;
    readonly domain: string;
    readonly request_id?: string;
    /** Set by MediaWiki (and by switchyard in `mediawiki` mode). */
    readonly uri?: string;
  };
  readonly database: string;
  readonly type: string;
  readonly params: JsonObject;
  readonly sha1?: string;
  readonly root_event?: { readonly signature: string; readonly dt: string };
  readonly delay_until?: string;
  readonly mediawiki_signature: string;
}

/** Where the shipped copy of the schema lives (copied to dist/ next to the compiled module). */
export const JOB_EVENT_SCHEMA_FILE: string = fileURLToPath(
  new URL('./mediawiki-job-1.0.0.yaml', import.meta.url),
);

let cachedSchema: Readonly<Record<string, unknown>> | null = null;
let cachedValidator: ValidateFunction | null = null;

/** The parsed schema (a fresh deep copy per call, so callers cannot alter the cached one). */
export function loadJobEventSchema(): Record<string, unknown> {
  if (cachedSchema === null) {
    const parsed: unknown = parseYaml(readFileSync(JOB_EVENT_SCHEMA_FILE, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error(`${JOB_EVENT_SCHEMA_FILE} does not hold a JSON schema object`);
    }
    cachedSchema = parsed as Record<string, unknown>;
  }
  return structuredClone(cachedSchema) as Record<string, unknown>;
}

/** RFC 3339 date-time (JSON Schema `date-time`): full date, time and a zone. */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

let lastDateTime = '';

/** RFC 3339 check; the last valid text is remembered (a batch's events share one `meta.dt`). */
function isDateTime(text: string): boolean {
  if (text === lastDateTime) return true;
  if (!checkDateTime(text)) return false;
  lastDateTime = text;
  return true;
}

function checkDateTime(text: string): boolean {
  const m = DATE_TIME.exec(text);
  if (!m) return false;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return !Number.isNaN(Date.parse(text.replace(' ', 'T')));
}

/** RFC 3986 URI-reference, loosely: no whitespace or control characters. */
function isUriReference(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return false;
  }
  return true;
}

/** A compiled validator for the job event schema (ajv, draft-07, every error reported). */
export function jobEventValidator(): ValidateFunction {
  if (cachedValidator !== null) return cachedValidator;
  const schema = loadJobEventSchema();
  // Why: the upstream file names its meta-schema with https://, which ajv does not know under that
  // id; it is plain draft-07, ajv's default, so the keyword is dropped from the compiled copy.
  delete schema.$schema;
  const ajv = new Ajv({ allErrors: true, strict: true });
  ajv.addFormat('date-time', { type: 'string', validate: isDateTime });
  ajv.addFormat('uri-reference', { type: 'string', validate: isUriReference });
  cachedValidator = ajv.compile(schema);
  return cachedValidator;
}

/** Checks `event` against the real schema; every problem as an issue under `path`. */
export function validateJobEvent(event: unknown, path = 'event'): Issue[] {
  const validate = jobEventValidator();
  if (validate(event)) return [];
  return (validate.errors ?? []).map((e) => ({
    path: `${path}${e.instancePath.replaceAll('/', '.')}`,
    message: `${e.message ?? 'is invalid'} (schema ${JOB_EVENT_SCHEMA_URI}${e.schemaPath.slice(1)})`,
  }));
}
