/**
 * Pop orders (P-15): `fifo` pops in push order, `timestamp` by enqueue time, `random` (and
 * `any`) eventually pop every job; an order the backend lacks fails at construction with
 * `SWITCHYARD_CONFIG_INVALID` listing the supported ones.
 *
 * @packageDocumentation
 */
import { ManualClock } from '../../core/clock.js';
import { ORDERS, type Order } from '../../core/supports.js';
import { assert, drain, ErrorCode, ns, rejectsWithCode, type Suite, sorted } from './suite.js';

/** Registers the order tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.pop) return;

  suite.describe('orders (P-15)', () => {
    if (supports.orders.includes('fifo')) {
      suite.test('P-15 fifo pops ready jobs in push order', async (h) => {
        const q = await h.queue({ order: 'fifo' });
        const other = await h.queue({ order: 'fifo' });
        const specs = h.jobs(30);
        for (const spec of specs.slice(0, 5)) await q.push(spec);
        await other.push(specs.slice(5, 20));
        h.clock.advance(1);
        for (const spec of specs.slice(20)) await (spec.params.n === 25 ? other : q).push(spec);
        const popped = await drain(q);
        assert.deepEqual(ns(popped), [...Array(30).keys()]);
      });

      suite.test('P-15 fifo keeps push order across pops interleaved with pushes', async (h) => {
        const q = await h.queue({ order: 'fifo' });
        const specs = h.jobs(10);
        await q.push(specs.slice(0, 4));
        const first = await q.popBatch(2);
        await q.push(specs.slice(4));
        const rest = await drain(q);
        assert.deepEqual(ns([...first, ...rest]), [...Array(10).keys()]);
      });
    }

    if (supports.orders.includes('timestamp')) {
      suite.test('P-15 timestamp pops by enqueue time, not by push order', async (h) => {
        // Two "processes" whose clocks disagree: the late clock pushes first.
        const t = h.clock.now();
        const lateClock = new ManualClock(t + 10_000);
        const late = await h.queue({ order: 'timestamp', clock: lateClock });
        const early = await h.queue({ order: 'timestamp' });
        await late.push(h.job({ n: 2 }));
        lateClock.advance(1_000);
        await late.push(h.job({ n: 3 }));
        await early.push(h.job({ n: 0 }));
        h.clock.advance(1_000);
        await early.push(h.job({ n: 1 }));
        h.clock.advance(60_000);
        const popped = await drain(early);
        assert.deepEqual(ns(popped), [0, 1, 2, 3]);
        assert.deepEqual(
          popped.map((j) => j.enqueuedAt),
          [t, t + 1_000, t + 10_000, t + 11_000],
        );
      });
    }

    for (const order of ['random', 'any'] as const) {
      if (!supports.orders.includes(order)) continue;
      suite.test(`P-15 ${order} eventually pops every job`, async (h) => {
        const q = await h.queue({ order });
        await q.push(h.jobs(60));
        const popped = await drain(q);
        assert.deepEqual(sorted(ns(popped) as number[]), [...Array(60).keys()]);
      });
    }

    for (const order of ORDERS) {
      if (supports.orders.includes(order)) continue;
      suite.test(
        `P-15 order "${order}" is refused at construction with SWITCHYARD_CONFIG_INVALID listing the supported orders`,
        async (h) => {
          const error = await rejectsWithCode(
            () => h.queue({ order }),
            ErrorCode.CONFIG_INVALID,
            `a queue with order ${order}`,
            [order, ...supports.orders],
          );
          const issues = (error as { issues?: readonly { path: string; choices?: readonly string[] }[] })
            .issues;
          const issue = issues?.find((i) => i.path.endsWith('order'));
          assert.ok(issue, 'an issue names the order option');
          assert.deepEqual(sorted([...(issue.choices ?? [])]), sorted([...supports.orders]));
        },
      );
    }

    suite.test('P-15 an unknown order name is refused with SWITCHYARD_CONFIG_INVALID', async (h) => {
      await rejectsWithCode(
        () => h.queue({ order: 'lifo' as Order }),
        ErrorCode.CONFIG_INVALID,
        'a queue with order lifo',
        ['lifo'],
      );
    });
  });
}
