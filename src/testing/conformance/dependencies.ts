/**
 * Job dependencies (`supports.dependencies`): `pushFlow(jobs)` stores a small DAG of named jobs
 * atomically; a job with `after` waits (state `waiting`: not poppable, not in the ready count,
 * listed and counted as waiting) until every job it names was acked. A release (retry) or a
 * recycled claim of a dependency keeps it waiting; a dependency abandoned after its last try, or
 * cancelled, fails it: policy `abandon` (default) abandons it and passes the failure on, policy
 * `ignore` counts the dependency as settled. A flow job with a future release time becomes
 * delayed once its dependencies succeed. Invalid flows are refused whole with
 * `SWITCHYARD_INVALID_JOB` naming the path. Without the capability, or without claim tracking,
 * `pushFlow` throws `SWITCHYARD_NOT_SUPPORTED` and stores nothing.
 *
 * @packageDocumentation
 */
import type { FlowJobSpecification } from '../../core/flow.js';
import type { Job, JsonObject } from '../../core/job.js';
import type { JobQueue } from '../../core/job-queue.js';
import type { Harness } from './suite.js';
import {
  assert,
  assertCount,
  assertNothingStored,
  drain,
  ErrorCode,
  listAll,
  rejectsNotSupported,
  rejectsWithCode,
  type Suite,
  sorted,
} from './suite.js';

/** Claims tracked, a few tries: what a flow needs. */
const FLOW_QUEUE = { claimTTL: 60, maxTries: 2 } as const;

/** A flow job of this test's type named `name`, params `{ step: name }`. */
function step(
  h: Harness,
  name: string,
  after: readonly string[] = [],
  extra: Partial<FlowJobSpecification> = {},
): FlowJobSpecification {
  return { type: h.type, params: { step: name } as JsonObject, name, after, ...extra };
}

/** The steps of the ready jobs, popped (and kept claimed) until none is ready. */
async function popSteps(q: JobQueue): Promise<{ steps: string[]; jobs: Job[] }> {
  const jobs = await drain(q);
  return { steps: sorted(jobs.map((j) => String(j.params.step))), jobs };
}

/** Pops job `name` (it must be the only ready one) and acks it. */
async function runOnly(q: JobQueue, name: string): Promise<void> {
  const { steps, jobs } = await popSteps(q);
  assert.deepEqual(steps, [name], `expected only ${name} to be ready`);
  assert.equal(await q.ack(jobs[0] as Job), true, `ack of ${name}`);
}

/** The steps of the jobs listed in `state`, sorted. */
async function listedSteps(
  q: JobQueue,
  state: 'waiting' | 'abandoned' | 'ready' | 'delayed',
): Promise<string[]> {
  return sorted((await listAll(q, state)).map((j) => String(j.params.step)));
}

/** Registers the dependency tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.pop) return;
  suite.describe('dependencies', () => {
    if (!supports.dependencies) {
      suite.test(
        'dependencies: without dependencies, pushFlow() throws SWITCHYARD_NOT_SUPPORTED and stores nothing',
        async (h) => {
          const q = await h.queue(supports.ack ? FLOW_QUEUE : {});
          await rejectsNotSupported(() => q.pushFlow([step(h, 'a'), step(h, 'b', ['a'])]), 'pushFlow');
          await assertNothingStored(q, 'after the refused flow');
          assert.equal(await q.getWaitingCount(), 0);
          if (supports.listing) assert.deepEqual(await listAll(q, 'waiting'), []);
        },
      );
      return;
    }

    suite.test('dependencies: pushFlow without claim tracking throws SWITCHYARD_NOT_SUPPORTED', async (h) => {
      const q = await h.queue({ claimTTL: 0 });
      await rejectsNotSupported(
        () => q.pushFlow([step(h, 'a'), step(h, 'b', ['a'])]),
        'pushFlow, claimTTL 0',
      );
      await assertNothingStored(q, 'after the refused flow');
    });

    suite.test(
      'dependencies: a chain runs in order; waiting jobs are counted and listed as waiting, not ready',
      async (h) => {
        const q = await h.queue(FLOW_QUEUE);
        const { ids } = await q.pushFlow([step(h, 'c', ['b']), step(h, 'b', ['a']), step(h, 'a')]);
        assert.deepEqual(Object.keys(ids).sort(), ['a', 'b', 'c']);
        assert.equal(new Set(Object.values(ids)).size, 3, 'three distinct ids');
        await assertCount(q, 'ready', 1, 'only the root is ready');
        assert.equal(await q.getWaitingCount(), 2);
        if (supports.listing) {
          assert.deepEqual(await listedSteps(q, 'waiting'), ['b', 'c']);
          const listed = await listAll(q, 'waiting');
          for (const job of listed) {
            assert.equal(job.state, 'waiting');
            assert.equal(job.id, ids[String(job.params.step)], 'the listed id is the one pushFlow returned');
          }
        }
        const first = await q.pop();
        assert.ok(first);
        assert.equal(first.id, ids.a);
        assert.equal(await q.pop(), null, 'b waits for a');
        assert.equal(await q.ack(first), true);
        await runOnly(q, 'b');
        await runOnly(q, 'c');
        assert.equal(await q.getWaitingCount(), 0);
        await assertNothingStored(q, 'after the chain ran');
      },
    );

    suite.test(
      'dependencies: a join runs only after all of its dependencies were acked; a retried one keeps it waiting',
      async (h) => {
        const q = await h.queue({ ...FLOW_QUEUE, maxTries: 3 });
        await q.pushFlow([
          step(h, 'root'),
          step(h, 'x', ['root']),
          step(h, 'y', ['root']),
          step(h, 'z', ['root']),
          step(h, 'join', ['x', 'y', 'z']),
        ]);
        await runOnly(q, 'root');
        const { steps, jobs } = await popSteps(q);
        assert.deepEqual(steps, ['x', 'y', 'z'], 'the fan-out is ready together');
        const bySt = new Map(jobs.map((j) => [String(j.params.step), j]));
        assert.equal(await q.ack(bySt.get('z') as Job), true);
        assert.equal(await q.release(bySt.get('x') as Job), 'released', 'x retried');
        assert.equal(await q.ack(bySt.get('y') as Job), true);
        assert.equal(await q.getWaitingCount(), 1, 'join still waits for x');
        const again = await q.pop();
        assert.ok(again);
        assert.equal(again.params.step, 'x', 'only the retried x is ready');
        assert.equal(again.attempts, 2);
        assert.equal(await q.pop(), null);
        assert.equal(await q.ack(again), true);
        await runOnly(q, 'join');
      },
    );

    suite.test(
      'dependencies: a stale ack releases nothing; a recycled dependency keeps its dependent waiting',
      async (h) => {
        const q = await h.queue({ ...FLOW_QUEUE, maxTries: 3 });
        await q.pushFlow([step(h, 'a'), step(h, 'b', ['a'])]);
        const a1 = await q.pop();
        assert.ok(a1);
        h.advance(61);
        const m = await q.runMaintenance();
        assert.equal(m.recycled, 1);
        assert.equal(await q.ack(a1), false, 'the recycled claim is stale');
        assert.equal(await q.getWaitingCount(), 1, 'a stale ack settles nothing');
        await runOnly(q, 'a');
        await runOnly(q, 'b');
      },
    );

    suite.test(
      'dependencies: a dependency abandoned after its last try abandons its dependents (default policy), transitively',
      async (h) => {
        const q = await h.queue({ ...FLOW_QUEUE, maxTries: 1 });
        await q.pushFlow([step(h, 'a'), step(h, 'ok'), step(h, 'b', ['a', 'ok']), step(h, 'c', ['b'])]);
        const { jobs } = await popSteps(q);
        const a = jobs.find((j) => j.params.step === 'a') as Job;
        const ok = jobs.find((j) => j.params.step === 'ok') as Job;
        assert.equal(await q.ack(ok), true);
        assert.equal(await q.release(a), 'abandoned');
        assert.equal(await q.getWaitingCount(), 0);
        await assertCount(q, 'abandoned', 3, 'a, b and c');
        if (supports.listing) assert.deepEqual(await listedSteps(q, 'abandoned'), ['a', 'b', 'c']);
        assert.equal(await q.pop(), null, 'nothing of the failed branch runs');
      },
    );

    suite.test(
      "dependencies: policy 'ignore' runs the job once its dependencies settled, failed or not",
      async (h) => {
        const q = await h.queue({ ...FLOW_QUEUE, maxTries: 1 });
        await q.pushFlow([
          step(h, 'a'),
          step(h, 'b'),
          step(h, 'cleanup', ['a', 'b'], { onDependencyFailure: 'ignore' }),
          step(h, 'after-cleanup', ['cleanup']),
        ]);
        const { jobs } = await popSteps(q);
        const a = jobs.find((j) => j.params.step === 'a') as Job;
        const b = jobs.find((j) => j.params.step === 'b') as Job;
        assert.equal(await q.release(a), 'abandoned');
        assert.equal(await q.pop(), null, 'cleanup still waits for b');
        assert.equal(await q.ack(b), true);
        await runOnly(q, 'cleanup');
        await runOnly(q, 'after-cleanup');
        await assertCount(q, 'abandoned', 1, 'only a');
      },
    );

    suite.test(
      'dependencies: maintenance abandoning an exhausted claim fails the dependents too',
      async (h) => {
        const q = await h.queue({ ...FLOW_QUEUE, maxTries: 1 });
        await q.pushFlow([
          step(h, 'a'),
          step(h, 'b', ['a']),
          step(h, 'c', ['a'], { onDependencyFailure: 'ignore' }),
        ]);
        const a = await q.pop();
        assert.ok(a);
        h.advance(61);
        const m = await q.runMaintenance();
        assert.equal(m.abandoned, 1);
        await runOnly(q, 'c');
        if (supports.listing) assert.deepEqual(await listedSteps(q, 'abandoned'), ['a', 'b']);
      },
    );

    if (supports.cancel) {
      suite.test(
        'dependencies: cancelling a dependency fails its dependents; cancelling a waiting job fails its own',
        async (h) => {
          const q = await h.queue(FLOW_QUEUE);
          const { ids } = await q.pushFlow([
            step(h, 'a'),
            step(h, 'b', ['a']),
            step(h, 'c', ['a'], { onDependencyFailure: 'ignore' }),
            step(h, 'd', ['c']),
            step(h, 'e', ['d']),
          ]);
          assert.equal(await q.cancel(ids.d as string), 'waiting', 'a waiting job is cancelled');
          assert.equal(await q.getWaitingCount(), 2, 'b and c wait; e was abandoned with d');
          assert.equal(await q.cancel(ids.a as string), 'ready');
          await runOnly(q, 'c');
          await assertCount(q, 'abandoned', 2, 'b (after a) and e (after d)');
          if (supports.listing) assert.deepEqual(await listedSteps(q, 'abandoned'), ['b', 'e']);
          assert.equal(await q.getWaitingCount(), 0);
        },
      );

      suite.test('dependencies: cancelling a running dependency fails its dependents', async (h) => {
        const q = await h.queue(FLOW_QUEUE);
        const { ids } = await q.pushFlow([step(h, 'a'), step(h, 'b', ['a'])]);
        const a = await q.pop();
        assert.ok(a);
        assert.equal(await q.cancel(ids.a as string), 'claimed');
        assert.equal(await q.ack(a), false, 'the cancelled claim is gone');
        await assertCount(q, 'abandoned', 1, 'b');
        assert.equal(await q.pop(), null);
      });
    }

    if (supports.delayedJobs) {
      suite.test(
        'dependencies: a flow job with a future release time becomes delayed when its dependencies succeed',
        async (h) => {
          const q = await h.queue(FLOW_QUEUE);
          const at = h.clock.now() + 30_000;
          await q.pushFlow([step(h, 'a'), step(h, 'later', ['a'], { releaseTimestamp: at })]);
          await runOnly(q, 'a');
          await assertCount(q, 'delayed', 1, 'later waits for its time');
          assert.equal(await q.getWaitingCount(), 0);
          assert.equal(await q.pop(), null);
          h.advance(31);
          await runOnly(q, 'later');
        },
      );
    }

    suite.test(
      'dependencies: an invalid flow is refused whole with SWITCHYARD_INVALID_JOB naming the path',
      async (h) => {
        const q = await h.queue(FLOW_QUEUE);
        const cases: Array<[unknown, string]> = [
          [[], 'jobs'],
          [[step(h, 'a'), step(h, 'a')], 'jobs[1].name'],
          [[step(h, 'a'), { ...step(h, 'b'), name: '' }], 'jobs[1].name'],
          [[step(h, 'a', ['nope'])], 'jobs[0].after[0]'],
          [[step(h, 'a', ['a'])], 'jobs[0].after[0]'],
          [[step(h, 'a'), step(h, 'b', ['a', 'a'])], 'jobs[1].after[1]'],
          [[step(h, 'a', ['b']), step(h, 'b', ['a'])], 'cycle'],
          [[step(h, 'a', ['c']), step(h, 'b', ['a']), step(h, 'c', ['b']), step(h, 'd')], 'cycle'],
          [[{ ...step(h, 'a'), removeDuplicates: true }], 'jobs[0].removeDuplicates'],
          [[{ ...step(h, 'a'), rootJob: { signature: 's', timestamp: 1 } }], 'jobs[0].rootJob'],
          [
            [step(h, 'a'), step(h, 'b', ['a'], { onDependencyFailure: 'explode' as 'ignore' })],
            'jobs[1].onDependencyFailure',
          ],
          [[step(h, 'a'), { ...step(h, 'b'), params: 7 }], 'jobs[1].params'],
          [[step(h, 'a'), { ...step(h, 'b'), type: `${h.type}_other` }], 'jobs[1].type'],
        ];
        for (const [flow, path] of cases) {
          await rejectsWithCode(
            () => q.pushFlow(flow as FlowJobSpecification[]),
            ErrorCode.INVALID_JOB,
            `pushFlow naming ${path}`,
            [path],
          );
        }
        await assertNothingStored(q, 'after the refused flows');
        assert.equal(await q.getWaitingCount(), 0);
      },
    );

    suite.test('dependencies: delete() removes waiting jobs too', async (h) => {
      const q = await h.queue(FLOW_QUEUE);
      await q.pushFlow([step(h, 'a'), step(h, 'b', ['a']), step(h, 'c', ['b'])]);
      await q.delete();
      assert.equal(await q.getWaitingCount(), 0);
      await assertNothingStored(q, 'after delete');
      if (supports.listing) assert.deepEqual(await listAll(q, 'waiting'), []);
    });

    suite.test('dependencies: a flow of 200 jobs in layers runs layer by layer', async (h) => {
      const q = await h.queue(FLOW_QUEUE);
      const layers = 4;
      const width = 50;
      const flow: FlowJobSpecification[] = [];
      for (let l = 0; l < layers; l++) {
        for (let i = 0; i < width; i++) {
          // Each job waits for two jobs of the layer before.
          const after = l === 0 ? [] : [`${l - 1}.${i}`, `${l - 1}.${(i + 1) % width}`];
          flow.push(step(h, `${l}.${i}`, after));
        }
      }
      await q.pushFlow(flow.reverse());
      for (let l = 0; l < layers; l++) {
        const jobs = await drain(q);
        assert.equal(jobs.length, width, `layer ${l}: ${width} jobs ready`);
        for (const job of jobs) assert.ok(String(job.params.step).startsWith(`${l}.`), `layer ${l} only`);
        for (const job of jobs) assert.equal(await q.ack(job), true);
      }
      await assertNothingStored(q, 'after every layer ran');
    });
  });
}
