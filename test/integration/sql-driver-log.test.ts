/**
 * Issue 14 point 7: knex prints `Connection Error: Connection ended unexpectedly` (and, for a
 * session the server ended, `Connection Error: error: terminating connection …`) with
 * console.log when PostgreSQL drops a pooled connection. The sql backend routes those lines to
 * its driver logger. The server is never restarted: the test ends its own session with
 * pg_terminate_backend from a second connection.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, expect, test, vi } from 'vitest';
import { SqlDatabase, setSqlDriverLogger } from '../../src/backends/sql/index.js';
import { describeIfService, services } from '../helpers/env.js';

interface Line {
  readonly level: string;
  readonly message: string;
}

describeIfService(services.postgres, 'sql driver messages on PostgreSQL', (url) => {
  afterEach(() => {
    setSqlDriverLogger(null);
    vi.restoreAllMocks();
  });

  test('a terminated session is reported through the driver logger, not console.log', async () => {
    const lines: Line[] = [];
    setSqlDriverLogger({
      debug: () => {},
      warn: (message) => lines.push({ level: 'warn', message }),
      error: (message) => lines.push({ level: 'error', message }),
    });
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
    });
    const prefix = `syd_${randomUUID().replaceAll('-', '').slice(0, 8)}_`;
    const victim = SqlDatabase.open({ connection: url, prefix, pool: { min: 1, max: 1 } });
    const killer = SqlDatabase.open({ connection: url, prefix, pool: { min: 0, max: 1 } });
    try {
      const kv = await victim.knex();
      const pidOf = async (): Promise<number> => {
        const r = (await kv.raw('SELECT pg_backend_pid() AS pid', [])) as { rows: Array<{ pid: number }> };
        return Number(r.rows[0]?.pid);
      };
      const pid = await pidOf();
      expect(pid).toBeGreaterThan(0);
      const kk = await killer.knex();
      await kk.raw('SELECT pg_terminate_backend(?)', [pid]);
      // The pool notices the dead connection when it next hands it out, logs it and reconnects.
      let next = pid;
      for (let i = 0; i < 50 && (next === pid || lines.length === 0); i++) {
        await new Promise((r) => setTimeout(r, 20));
        try {
          next = await pidOf();
        } catch {
          // the query that raced the termination fails; the next one gets a fresh connection
        }
      }
      expect(next).not.toBe(pid);
      expect(lines).toContainEqual({ level: 'warn', message: expect.stringMatching(/^Connection Error: /) });
      expect(printed.filter((l) => /Connection Error/.test(l))).toEqual([]);
    } finally {
      log.mockRestore();
      await victim.close();
      await killer.close();
    }
  });
});
