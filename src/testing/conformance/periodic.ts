/**
 * Periodic ticks (`supports.periodicTicks`): the store keeps the last tick claimed per schedule
 * name and (domain, type); a claim succeeds only for a tick later than it, and of several handles
 * claiming the same tick at once exactly one wins, so a periodic job fires once per tick across
 * every runner process. Without the capability both calls throw `SWITCHYARD_NOT_SUPPORTED`.
 *
 * @packageDocumentation
 */
import { assert, ErrorCode, rejectsNotSupported, rejectsWithCode, type Suite } from './suite.js';

/** Registers the periodic-tick tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  suite.describe('periodic ticks', () => {
    if (!supports.periodicTicks) {
      suite.test(
        'periodic: without periodicTicks, claimPeriodicTick() and lastPeriodicTick() throw SWITCHYARD_NOT_SUPPORTED',
        async (h) => {
          const q = await h.queue();
          await rejectsNotSupported(() => q.claimPeriodicTick('nightly', 1_000), 'claimPeriodicTick');
          await rejectsNotSupported(() => q.lastPeriodicTick('nightly'), 'lastPeriodicTick');
        },
      );
      return;
    }

    suite.test(
      'periodic: a tick is claimed once; an equal or earlier tick is refused; a later one wins',
      async (h) => {
        const a = await h.queue();
        const b = await h.queue();
        const t = 1_780_000_000_000;
        assert.equal(await a.lastPeriodicTick('nightly'), null);
        assert.equal(await a.claimPeriodicTick('nightly', t), true, 'the first tick');
        assert.equal(await b.claimPeriodicTick('nightly', t), false, 'the same tick through another handle');
        assert.equal(await b.claimPeriodicTick('nightly', t - 60_000), false, 'an earlier tick');
        assert.equal(await b.lastPeriodicTick('nightly'), t);
        assert.equal(await b.claimPeriodicTick('nightly', t + 60_000), true, 'the next tick');
        assert.equal(await a.lastPeriodicTick('nightly'), t + 60_000);
      },
    );

    suite.test('periodic: ticks are kept per schedule name and per (domain, type)', async (h) => {
      const q = await h.queue();
      const other = await h.queue({ type: `${h.type}-other` });
      const elsewhere = await h.queue({ domain: `${h.domain}-other` });
      assert.equal(await q.claimPeriodicTick('a', 5_000), true);
      assert.equal(await q.claimPeriodicTick('b', 5_000), true, 'another name');
      assert.equal(await other.claimPeriodicTick('a', 5_000), true, 'another type');
      assert.equal(await elsewhere.claimPeriodicTick('a', 5_000), true, 'another domain');
      assert.equal(await elsewhere.lastPeriodicTick('b'), null);
    });

    suite.test('periodic: of 8 handles claiming the same tick at once, exactly one wins', async (h) => {
      const handles = await Promise.all(Array.from({ length: 8 }, () => h.queue()));
      for (const tick of [10_000, 20_000, 30_000]) {
        const won = await Promise.all(handles.map((q) => q.claimPeriodicTick('race', tick)));
        assert.equal(won.filter(Boolean).length, 1, `winners of tick ${tick}`);
      }
      assert.equal(await handles[0]?.lastPeriodicTick('race'), 30_000);
    });

    suite.test('periodic: a bad name or tick is SWITCHYARD_INVALID_JOB naming the field', async (h) => {
      const q = await h.queue();
      await rejectsWithCode(() => q.claimPeriodicTick('', 1), ErrorCode.INVALID_JOB, 'an empty name', [
        'name',
      ]);
      await rejectsWithCode(
        () => q.claimPeriodicTick('x'.repeat(129), 1),
        ErrorCode.INVALID_JOB,
        'a long name',
        ['name'],
      );
      await rejectsWithCode(() => q.claimPeriodicTick('n', 1.5), ErrorCode.INVALID_JOB, 'a fractional tick', [
        'tick',
      ]);
      await rejectsWithCode(() => q.claimPeriodicTick('n', -1), ErrorCode.INVALID_JOB, 'a negative tick', [
        'tick',
      ]);
      assert.equal(await q.lastPeriodicTick('n'), null, 'nothing was stored');
    });
  });
}
