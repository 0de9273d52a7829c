import type { Job, JobQueue, JobQueueGroup, JobSpecification, JsonObject, ParamsOf } from 'switchyard';
import { describe, expectTypeOf, test } from 'vitest';

// Host apps type their payloads by declaration merging; this name is unique to this test.
declare module 'switchyard' {
  interface JobTypes {
    typedExampleJob: { pageId: number; reason?: string };
  }
}

describe('payload types by declaration merging', () => {
  test('a declared type has typed params; any other type takes a JSON object', () => {
    expectTypeOf<ParamsOf<'typedExampleJob'>>().toEqualTypeOf<{ pageId: number; reason?: string }>();
    expectTypeOf<ParamsOf<'someOtherJob'>>().toEqualTypeOf<JsonObject>();
    expectTypeOf<Job<'typedExampleJob'>['params']>().toEqualTypeOf<{ pageId: number; reason?: string }>();
  });

  test('push and pop of a typed queue are typed', () => {
    type Q = JobQueue<'typedExampleJob'>;
    expectTypeOf<Q['pop']>().returns.resolves.toEqualTypeOf<Job<'typedExampleJob'> | null>();
    expectTypeOf<JobSpecification<'typedExampleJob'>['params']>().toEqualTypeOf<{
      pageId: number;
      reason?: string;
    }>();
    expectTypeOf<Job['params']>().toEqualTypeOf<JsonObject>();
    // @ts-expect-error pageId must be a number
    const bad: JobSpecification<'typedExampleJob'> = { type: 'typedExampleJob', params: { pageId: 'x' } };
    void bad;
  });

  test('a group infers the type from the spec it is given', () => {
    const push = (g: JobQueueGroup) => {
      void g.push({ type: 'typedExampleJob', params: { pageId: 1 } });
      // @ts-expect-error pageId must be a number
      void g.push({ type: 'typedExampleJob', params: { pageId: 'x' } });
      void g.push({ type: 'undeclared', params: { anything: [1, 'two'] } });
    };
    expectTypeOf(push).toBeFunction();
  });
});
