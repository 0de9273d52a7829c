/**
 * Issue 14 point 7: while PostgreSQL drops a session (a restart, an idle timeout, an operator's
 * pg_terminate_backend), knex printed a raw `Connection Error: …` line with console.log, on
 * stdout. `switchyard runner` now logs it as a `warn:` line on stderr and keeps running. The
 * shared server is never restarted: the test ends only the runner's own sessions, found by a
 * unique application_name.
 */
import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import { dropSchema, SqlDatabase } from '../../src/backends/sql/index.js';
import { describeIfService, services } from '../helpers/env.js';
import { HANDLERS, runCli, SHARED_YAML, uniquePrefix, withConfig } from './helpers.js';

describeIfService(services.postgres, 'PostgreSQL: driver notices in the CLI', (url) => {
  test('a terminated session is a warn line on stderr, nothing raw on stdout; the runner goes on', async () => {
    const app = `sy_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const prefix = uniquePrefix();
    const conn = `${url}${url.includes('?') ? '&' : '?'}application_name=${app}`;
    const { config } = withConfig(
      // One pooled connection: a second one, busy at the kill and so spared, could serve every
      // later query and leave the dead one unvalidated (no notice) until the runner exits; the
      // runner's once-a-second claim check made that second connection likely.
      `connections:\n  db: { class: sql, connection: ${JSON.stringify(conn)}, prefix: ${prefix}, pool: { min: 0, max: 1 } }\n` +
        `jobTypeConf:\n  default: { class: sql, connection: db }\n${SHARED_YAML}`,
    );
    const killer = SqlDatabase.open({ connection: url, pool: { min: 0, max: 1 } });
    try {
      const pushed = await runCli(['push', '--config', config, '--type', 't1', '--params', '{"n":1}']);
      expect(pushed.code, pushed.stderr).toBe(0);
      const k = await killer.knex();
      const running = runCli([
        'runner',
        '--config',
        config,
        '--handlers',
        HANDLERS,
        '--max-time',
        '12',
        '--json',
      ]);
      // Wait for the runner's sessions, then end them (only ours: the application_name is unique).
      // Idle ones: a session killed mid-query fails that query instead (a different, also logged,
      // path) rather than raising the driver's "Connection Error" notice.
      let killed = 0;
      for (let i = 0; i < 200 && killed === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const r = (await k.raw(
          "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = ? AND state = 'idle' AND pid <> pg_backend_pid()",
          [app],
        )) as { rows: unknown[] };
        killed = r.rows.length;
      }
      expect(killed, 'the runner opened no session within 10 s').toBeGreaterThan(0);
      // A job pushed after the kill is still run: the pool reconnected.
      await new Promise((r) => setTimeout(r, 500));
      const late = await runCli(['push', '--config', config, '--type', 't1', '--params', '{"n":2}']);
      expect(late.code, late.stderr).toBe(0);
      const ran = await running;
      expect(ran.code, ran.stderr).toBe(0);
      expect(JSON.parse(ran.stdout), ran.stderr).toMatchObject({ ok: 2 });
      expect(ran.stdout).not.toContain('Connection Error');
      // Whichever way the termination met the runner, it is a logged warn line: knex's notice for
      // an idle pooled connection, or the failed statement when the session was mid-query (the
      // state filter above narrows that race but cannot close it; CI hit it).
      expect(ran.stderr, ran.stderr).toMatch(
        /^warn: (Connection Error: .*\{"source":"knex"\}|.*terminating connection due to administrator command.*)$/m,
      );
      expect(ran.stderr).not.toMatch(/^Connection Error/m);
    } finally {
      await dropSchema(await killer.knex(), { prefix });
      await killer.close();
    }
  }, 90_000);
});
