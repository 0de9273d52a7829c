/**
 * `switchyard pause` / `switchyard resume` / `switchyard paused`: the paused flag of one
 * (domain, type) queue, stored in its backend so every runner process sees it at its next pop.
 *
 * @packageDocumentation
 */
import { assertKnownType, type CommonOptions, openContext, output } from './context.js';
import { ExitCode } from './exit-codes.js';

/** Options of `pause`, `resume` and `paused`. */
export interface PauseOptions extends CommonOptions {
  readonly type: string;
}

/** Runs `pause` (`paused: true`), `resume` (`false`) or, with `paused: null`, reports the flag. */
export function pauseCommand(paused: boolean | null): (options: PauseOptions) => Promise<number> {
  return async (options) => {
    const ctx = await openContext(options);
    try {
      const group = ctx.group();
      assertKnownType(group, options.type);
      const queue = group.get(options.type);
      if (paused === true) await queue.pause();
      else if (paused === false) await queue.resume();
      const now = await queue.isPaused();
      output(
        options,
        { domain: ctx.domain, type: options.type, paused: now },
        `${options.type} in ${ctx.domain}: ${now ? 'paused' : 'running'}`,
      );
      return ExitCode.OK;
    } finally {
      await ctx.close();
    }
  };
}
