/**
 * `switchyard cancel --type T (--id ID | --params JSON)`: cancels one job by id (in any state; a
 * running job's runner stops it at its next claim check), or every queued job holding the dedup
 * key those params get (`cancelDuplicates`).
 *
 * @packageDocumentation
 */
import type { JsonObject } from '../core/job.js';
import { assertKnownType, type CommonOptions, openContext, output } from './context.js';
import { CliError, ExitCode } from './exit-codes.js';
import { parseParams } from './push-command.js';

/** Options of `cancel`. */
export interface CancelOptions extends CommonOptions {
  readonly type: string;
  readonly id?: string;
  readonly params?: string;
  /** Top-level params left out of the dedup key (comma-separated). */
  readonly ignoreParams?: string;
}

/** Runs `cancel`. Exit 0 whether or not a job matched (the output says; `--json` has `cancelled`). */
export async function cancelCommand(options: CancelOptions): Promise<number> {
  if ((options.id === undefined) === (options.params === undefined)) {
    throw new CliError(ExitCode.USAGE, 'cancel needs exactly one of --id <id> or --params <json>');
  }
  if (options.ignoreParams !== undefined && options.params === undefined) {
    throw new CliError(ExitCode.USAGE, '--ignore-params needs --params');
  }
  const ctx = await openContext(options);
  try {
    const group = ctx.group();
    assertKnownType(group, options.type);
    const queue = group.get(options.type);
    const where = `${options.type} in ${ctx.domain}`;
    if (options.id !== undefined) {
      const state = await queue.cancel(options.id);
      output(
        options,
        { domain: ctx.domain, type: options.type, id: options.id, cancelled: state !== null, state },
        state === null
          ? `${where}: no job ${options.id}`
          : `${where}: cancelled job ${options.id} (was ${state})`,
      );
      return ExitCode.OK;
    }
    const ignored = options.ignoreParams
      ?.split(',')
      .map((p) => p.trim())
      .filter((p) => p.length > 0);
    const count = await queue.cancelDuplicates({
      type: options.type,
      params: parseParams(options.params) as JsonObject,
      ...(ignored === undefined ? {} : { removeDuplicatesIgnoreParams: ignored }),
    });
    output(
      options,
      { domain: ctx.domain, type: options.type, cancelled: count },
      `${where}: cancelled ${count} queued job(s) with that dedup key`,
    );
    return ExitCode.OK;
  } finally {
    await ctx.close();
  }
}
