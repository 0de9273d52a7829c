/**
 * A small `node:http` server answering `GET /metrics` with a Prometheus exposition text.
 *
 * @packageDocumentation
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the server serves. */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The port it listens on (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `source` on `GET /metrics` at `host:port` (port 0 picks a free one).
 *
 * @throws Error naming the port when it cannot listen (e.g. in use).
 */
export function serveMetrics(
  source: MetricsSource,
  port: number,
  host = '127.0.0.1',
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
      return;
    }
    source.metrics().then(
      (text) => res.writeHead(200, { 'content-type': source.contentType }).end(text),
      (err: unknown) =>
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`--metrics-port ${port}: cannot listen on ${host}: ${err.message}`)),
    );
    server.listen(port, host, () => {
      const addr = server.address() as AddressInfo;
      server.unref();
      resolve({
        port: addr.port,
        close: () =>
          new Promise<void>((res) => {
            server.closeAllConnections();
            server.close(() => res());
          }),
      });
    });
  });
}
