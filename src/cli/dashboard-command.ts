/**
 * `switchyard dashboard`: serves the web dashboard over the config's farm until SIGINT/SIGTERM.
 *
 * @packageDocumentation
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDashboardHandler } from '../dashboard/index.js';
import { type CommonOptions, openContext } from './context.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Options of `dashboard`. */
export interface DashboardCommandOptions extends CommonOptions {
  readonly port: number;
  readonly host?: string;
  readonly token?: string;
  readonly readonly?: boolean;
}

/** Runs `dashboard`; resolves when a signal stops the server. */
export async function dashboardCommand(options: DashboardCommandOptions): Promise<number> {
  const token = options.token ?? process.env.SWITCHYARD_DASHBOARD_TOKEN;
  if (token !== undefined && token.length === 0) {
    throw new CliError(ExitCode.USAGE, '--token (or SWITCHYARD_DASHBOARD_TOKEN) must not be empty');
  }
  const ctx = await openContext(options);
  try {
    const handler = createDashboardHandler({
      farm: ctx.farm,
      ...(options.domain !== undefined ? { domains: [options.domain] } : {}),
      ...(token !== undefined ? { token } : {}),
      readonly: options.readonly === true,
    });
    const server = createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const mode =
      options.readonly === true ? 'read-only' : token === undefined ? 'no token: actions off' : 'actions on';
    process.stderr.write(`switchyard dashboard on http://${addr.address}:${addr.port}/ (${mode})\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        server.close(() => resolve());
        server.closeAllConnections();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return ExitCode.OK;
  } finally {
    await ctx.close();
  }
}
