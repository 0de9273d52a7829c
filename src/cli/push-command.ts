/**
 * `switchyard push`: one job from flags, or job specifications (promises §1 field names) as JSON
 * lines on stdin.
 *
 * @packageDocumentation
 */

import { isRecord } from '../core/checks.js';
import type { JobSpecification } from '../core/job.js';
import type { PushResult } from '../core/job-queue.js';
import { assertKnownType, type CommonOptions, openContext, output } from './context.js';
import { CliError, ExitCode } from './exit-codes.js';
import { Progress } from './progress.js';

/** Options of `push`. */
export interface PushCommandOptions extends CommonOptions {
  readonly type?: string;
  readonly params?: string;
  readonly removeDuplicates?: boolean;
  readonly delay?: number;
}

/** The fields of a job specification line (promises §1). */
export const SPEC_FIELDS: readonly string[] = Object.freeze([
  'type',
  'params',
  'domain',
  'releaseTimestamp',
  'removeDuplicates',
  'removeDuplicatesIgnoreParams',
  'rootJob',
]);

const BATCH = 500;

/** `--params`: a JSON object (none = `{}`). */
export function parseParams(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(ExitCode.USAGE, `--params is not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(value))
    throw new CliError(ExitCode.USAGE, '--params must be a JSON object, e.g. \'{"pageId": 1}\'');
  return value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses JSON lines into specifications; every bad line is reported (up to 5), nothing is pushed. */
export function parseSpecLines(
  text: string,
  defaults: { readonly removeDuplicates?: boolean; readonly releaseTimestamp?: number },
): JobSpecification[] {
  const specs: JobSpecification[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || problems.length >= 5) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      problems.push(`line ${i + 1}: not valid JSON (${(err as Error).message})`);
      return;
    }
    if (!isRecord(value)) {
      problems.push(`line ${i + 1}: must be a JSON object { "type", "params", … }`);
      return;
    }
    const unknown = Object.keys(value).filter((k) => !SPEC_FIELDS.includes(k));
    if (unknown.length > 0) {
      problems.push(`line ${i + 1}: unknown field ${unknown.join(', ')} (fields: ${SPEC_FIELDS.join(', ')})`);
      return;
    }
    if (typeof value.type !== 'string' || value.type === '') {
      problems.push(`line ${i + 1}: "type" must be a non-empty string`);
      return;
    }
    if (value.params !== undefined && !isRecord(value.params)) {
      problems.push(`line ${i + 1}: "params" must be a JSON object`);
      return;
    }
    specs.push({
      ...(defaults.removeDuplicates ? { removeDuplicates: true } : {}),
      ...(defaults.releaseTimestamp === undefined ? {} : { releaseTimestamp: defaults.releaseTimestamp }),
      ...value,
      params: (value.params ?? {}) as JobSpecification['params'],
    } as JobSpecification);
  });
  if (problems.length > 0)
    throw new CliError(ExitCode.USAGE, `bad job specification: ${problems.join('; ')}`);
  return specs;
}

/** Runs `push`. */
export async function pushCommand(options: PushCommandOptions): Promise<number> {
  const defaults = {
    ...(options.removeDuplicates ? { removeDuplicates: true } : {}),
    ...(options.delay === undefined ? {} : { releaseTimestamp: Date.now() + options.delay * 1000 }),
  };
  let specs: JobSpecification[];
  if (options.type !== undefined) {
    specs = [{ type: options.type, params: parseParams(options.params), ...defaults } as JobSpecification];
  } else if (options.params !== undefined) {
    throw new CliError(ExitCode.USAGE, '--params needs --type');
  } else if (process.stdin.isTTY) {
    throw new CliError(
      ExitCode.USAGE,
      'push needs --type <type> [--params <json>], or job specifications as JSON lines on stdin',
    );
  } else {
    specs = parseSpecLines(await readStdin(), defaults);
  }
  const ctx = await openContext(options);
  try {
    const byDomain = new Map<string, JobSpecification[]>();
    for (const spec of specs) {
      const domain = spec.domain ?? ctx.domain;
      assertKnownType(ctx.farm.group(domain), spec.type);
      const list = byDomain.get(domain);
      if (list) list.push(spec);
      else byDomain.set(domain, [spec]);
    }
    const progress = new Progress({
      label: 'pushed',
      total: specs.length,
      enabled: !options.json && specs.length > BATCH,
    });
    const total: { inserted: number; duplicates: number } = { inserted: 0, duplicates: 0 };
    let done = 0;
    for (const [domain, list] of byDomain) {
      const group = ctx.farm.group(domain);
      for (let i = 0; i < list.length; i += BATCH) {
        const batch = list.slice(i, i + BATCH);
        const r: PushResult = await group.push(batch);
        total.inserted += r.inserted;
        total.duplicates += r.duplicates;
        done += batch.length;
        progress.update(done);
      }
    }
    progress.finish();
    output(
      options,
      { jobs: specs.length, ...total },
      `pushed ${total.inserted} job${total.inserted === 1 ? '' : 's'}${total.duplicates > 0 ? ` (${total.duplicates} duplicate${total.duplicates === 1 ? '' : 's'} skipped)` : ''}`,
    );
    return ExitCode.OK;
  } finally {
    await ctx.close();
  }
}
