/**
 * The job-execution endpoint (promises §5; MediaWiki's RunSingleJob.php): an HTTP handler that
 * receives one job event, checks it against the schema and its signature, runs the registered
 * handler, and answers with the status codes the executor maps:
 *
 * - 200 ran; 412 nothing to do (not sent by default; a handler may throw {@link JobIgnoredError});
 * - 500 with `X-Readonly: true` read-only (as MediaWiki's: the executor retries it later, not
 *   counted as a failure); 503 shutting down (retry);
 * - 500 failed, retry; 422 failed, do not retry (`JobFailedError` with `retry: false`,
 *   `allowRetries: false`);
 * - 400 not JSON or not a valid job event; 403 bad signature; 404 no handler for the type;
 *   405 not POST; 413 body too large.
 *
 * The body is JSON `{ status, error? }`. The secret never appears in a response or a log.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkJobEvent, jobFromEvent } from '../events/receive.js';
import { SIGNATURE_MODES, type SignatureMode } from '../events/signature.js';
import {
  defineHandlers,
  type HandlerMap,
  HandlerRegistry,
  type RunnerLogger,
  silentLogger,
} from '../runner/handlers.js';
import { runHandler } from './dispatch.js';

/** Thrown by a handler to say "nothing to do" (answered 412, which the executor counts as success). */
export class JobIgnoredError extends Error {
  constructor(message = 'nothing to do') {
    super(message);
    this.name = 'JobIgnoredError';
  }
}

/** Options of {@link createJobEndpoint}. */
export interface JobEndpointOptions {
  readonly handlers: HandlerRegistry | HandlerMap;
  /** The HMAC secret events are signed with (MediaWiki's `$wgSecretKey`). Required. */
  readonly secret: string;
  /**
   * The signature scheme accepted: `mediawiki` (MediaWiki EventBus's) or `switchyard-v1`.
   * Absent: either (docs/eventbus.md).
   */
  readonly signature?: SignatureMode;
  readonly logger?: RunnerLogger;
  /** Largest accepted body, bytes (default 4 MiB). */
  readonly maxBodyBytes?: number;
  /** A read-only reason (answered 500 with `X-Readonly: true`) or null, asked per request. */
  readonly readOnly?: () => string | null;
  /** Aborted when the host shuts down: running jobs see it; new requests get 503. */
  readonly signal?: AbortSignal;
}

/** A node:http request handler that also reports its outcome. */
export type JobEndpointHandler = ((req: IncomingMessage, res: ServerResponse) => Promise<void>) & {
  /** Runs a parsed body (already read by a framework) and returns the status and body. */
  runEvent(
    value: unknown,
    attempt?: number,
  ): Promise<{ status: number; body: Record<string, unknown>; headers?: Record<string, string> }>;
};

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Builds the endpoint. Mount it on any node:http server (`createServer(endpoint)`) or route, or
 * use {@link jobEndpointMiddleware} with Express-style frameworks.
 *
 * @throws TypeError when the secret is missing.
 */
export function createJobEndpoint(options: JobEndpointOptions): JobEndpointHandler {
  if (typeof options.secret !== 'string' || options.secret.length === 0) {
    throw new TypeError('createJobEndpoint: secret is required (the HMAC key job events are signed with)');
  }
  const secret = options.secret;
  const signature = options.signature ?? null;
  if (signature !== null && !(SIGNATURE_MODES as readonly unknown[]).includes(signature)) {
    throw new TypeError(
      `createJobEndpoint: signature must be mediawiki or switchyard-v1 (got ${String(signature)})`,
    );
  }
  const handlers =
    options.handlers instanceof HandlerRegistry ? options.handlers : defineHandlers(options.handlers);
  const logger = options.logger ?? silentLogger;
  const limit = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const stop = options.signal ?? null;

  async function runEvent(
    value: unknown,
    attempt = 1,
  ): Promise<{ status: number; body: Record<string, unknown>; headers?: Record<string, string> }> {
    if (stop?.aborted) return { status: 503, body: { status: 'unavailable', error: 'shutting down' } };
    const check = checkJobEvent(value, secret, signature);
    if (!check.ok) {
      logger.warn('job endpoint: event rejected', { reason: check.reason });
      return {
        status: check.reason === 'bad-signature' ? 403 : 400,
        body: { status: check.reason, error: check.detail },
      };
    }
    const event = check.event;
    const readOnly = options.readOnly?.() ?? null;
    if (readOnly !== null) {
      return {
        status: 500,
        headers: { 'x-readonly': 'true' },
        body: { status: 'read-only', error: readOnly },
      };
    }
    if (!handlers.has(event.type)) {
      return {
        status: 404,
        body: { status: 'no-handler', error: `no handler is registered for type "${event.type}"` },
      };
    }
    const job = jobFromEvent(event, attempt, Date.now(), null);
    let ignored: string | null = null;
    const wrapped = new HandlerRegistry();
    const handler = handlers.get(event.type);
    if (handler !== undefined) {
      wrapped.register(event.type, {
        ...handler,
        run: async (j, ctx) => {
          try {
            await handler.run(j, ctx);
          } catch (err) {
            if (err instanceof JobIgnoredError) {
              ignored = err.message;
              return;
            }
            throw err;
          }
        },
      });
    }
    const outcome = await runHandler(wrapped, job, logger, stop);
    switch (outcome.kind) {
      case 'ok':
        return ignored === null
          ? { status: 200, body: { status: 'ok' } }
          : { status: 412, body: { status: 'ignored', error: ignored } };
      case 'ignored':
        return { status: 412, body: { status: 'ignored' } };
      case 'retry':
        return { status: 500, body: { status: 'failed', error: outcome.reason } };
      case 'error':
        return { status: 422, body: { status: 'failed', retry: false, error: outcome.reason } };
      case 'aborted':
        return { status: 503, body: { status: 'unavailable', error: 'shutting down' } };
    }
  }

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        send(res, 405, { status: 'method-not-allowed' });
        return;
      }
      let text: string;
      try {
        text = await readBody(req, limit);
      } catch (err) {
        if (err instanceof BodyTooLarge) send(res, 413, { status: 'too-large' });
        else send(res, 400, { status: 'bad-request' });
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        send(res, 400, { status: 'not-json', error: 'the body is not JSON' });
        return;
      }
      const attempt = Number(req.headers['x-switchyard-attempt'] ?? 1);
      const { status, body, headers } = await runEvent(
        value,
        Number.isInteger(attempt) && attempt >= 1 ? attempt : 1,
      );
      send(res, status, body, headers);
    } catch (err) {
      logger.error('job endpoint: unexpected error', {
        error: err instanceof Error ? err.message : String(err),
      });
      send(res, 500, { status: 'failed', error: 'internal error' });
    }
  };
  return Object.assign(handler, { runEvent });
}

/** The request shape {@link jobEndpointMiddleware} needs (Express, Connect, Polka, …). */
export interface MiddlewareRequest extends IncomingMessage {
  /** A body already parsed by a JSON body parser, if any. */
  body?: unknown;
}

/**
 * An Express-style `(req, res, next)` middleware. Uses `req.body` when a JSON body parser ran
 * before it, else reads the request itself. Errors are answered, never passed to `next`.
 */
export function jobEndpointMiddleware(
  options: JobEndpointOptions,
): (req: MiddlewareRequest, res: ServerResponse, next: (err?: unknown) => void) => void {
  const endpoint = createJobEndpoint(options);
  return (req, res, _next) => {
    if (
      req.body !== undefined &&
      typeof req.body === 'object' &&
      req.body !== null &&
      !Buffer.isBuffer(req.body)
    ) {
      if (req.method !== 'POST') {
        send(res, 405, { status: 'method-not-allowed' });
        return;
      }
      const attempt = Number(req.headers['x-switchyard-attempt'] ?? 1);
      void endpoint
        .runEvent(req.body, Number.isInteger(attempt) && attempt >= 1 ? attempt : 1)
        .then(({ status, body, headers }) => send(res, status, body, headers))
        .catch(() => send(res, 500, { status: 'failed', error: 'internal error' }));
      return;
    }
    void endpoint(req, res);
  };
}
