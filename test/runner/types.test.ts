import { describe, expectTypeOf, test } from 'vitest';
import type { Job, JsonObject } from '../../src/core/job.js';
import { defineHandlers, type HandlerContext, HandlerRegistry } from '../../src/runner/index.js';

// Augments the source module directly ('switchyard' may resolve to dist/ types in this repo).
declare module '../../src/core/job.js' {
  interface JobTypes {
    runnerTypedJob: { pageId: number };
  }
}

describe('handler payload types by declaration merging', () => {
  test('defineHandlers() gives a declared type its Job<T>', () => {
    const registry = defineHandlers({
      runnerTypedJob: {
        run: (job, ctx) => {
          expectTypeOf(job).toEqualTypeOf<Job<'runnerTypedJob'>>();
          expectTypeOf(job.params.pageId).toEqualTypeOf<number>();
          expectTypeOf(ctx).toEqualTypeOf<HandlerContext>();
        },
        workItemCount: (job) => job.params.pageId,
      },
      untypedJob: {
        run: (job) => {
          expectTypeOf(job.params).toEqualTypeOf<JsonObject>();
        },
      },
    });
    expectTypeOf(registry).toEqualTypeOf<HandlerRegistry>();
  });

  test('register() types the handler by its type', () => {
    new HandlerRegistry().register('runnerTypedJob', {
      run: (job) => {
        expectTypeOf(job.params).toEqualTypeOf<{ pageId: number }>();
      },
    });
  });
});
