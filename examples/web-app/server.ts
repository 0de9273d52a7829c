// A tiny node:http app that pushes jobs on request and reports the queue.
//   POST /signup?email=ada@example.org   → a sendWelcomeEmail job
//   POST /images?id=7                     → a resizeImage job (deduplicated while one is waiting)
//   GET  /jobs                            → ready / claimed / delayed / abandoned per type
import { createServer, type Server } from 'node:http';
import type { JobQueueGroup } from 'switchyard';

function send(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

/** Starts the HTTP server on `port` (0 = any free port). */
export function startServer(group: JobQueueGroup, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handle = async (): Promise<void> => {
      if (req.method === 'POST' && url.pathname === '/signup') {
        const to = url.searchParams.get('email') ?? '';
        await group.push({ type: 'sendWelcomeEmail', params: { to } });
        send(res, 202, { queued: 'sendWelcomeEmail', to });
      } else if (req.method === 'POST' && url.pathname === '/images') {
        const imageId = Number(url.searchParams.get('id'));
        if (!Number.isInteger(imageId)) return send(res, 400, { error: 'id must be an integer' });
        const r = await group.push({
          type: 'resizeImage',
          params: { imageId, sizes: [64, 256, 1024] },
          removeDuplicates: true,
        });
        send(res, 202, { queued: 'resizeImage', imageId, duplicate: r.duplicates > 0 });
      } else if (req.method === 'GET' && url.pathname === '/jobs') {
        const counts: Record<string, Record<string, number>> = {};
        for (const type of group.getQueueTypes()) {
          const q = group.get(type);
          counts[type] = {
            ready: await q.getSize(),
            claimed: await q.getAcquiredCount(),
            delayed: await q.getDelayedCount(),
            abandoned: await q.getAbandonedCount(),
          };
        }
        send(res, 200, counts);
      } else {
        send(res, 404, { error: 'try POST /signup?email=…, POST /images?id=…, GET /jobs' });
      }
    };
    handle().catch((err: unknown) => send(res, 500, { error: String((err as Error).message ?? err) }));
  });
  return new Promise((resolve) => server.listen(port, () => resolve(server)));
}
