/**
 * The eventbus backend (promises §3, §4): push-only. Each pushed job becomes one signed,
 * schema-valid `mediawiki/job` 1.0.0 event produced to Kafka (the `client` setting: platformatic or
 * kafkajs, src/kafka/). pop / ack / sizes / listing throw `SWITCHYARD_NOT_SUPPORTED` (P-22).
 *
 * The pieces: the queue in ./queue.ts, the settings and their validation in ./settings.ts, the
 * producer, connection and produce-request splitting in ./producer.ts; the job-event wire format
 * (shared with the executor) in src/events/. This file is the registry's module and the subpath's
 * exports.
 *
 * @packageDocumentation
 */
import type {
  BackendConnection,
  BackendContext,
  BackendModule,
  BackendSettings,
} from '../../core/backend.js';
import { configInvalid } from '../../core/errors.js';
import type { JobQueue } from '../../core/job-queue.js';
import { EventBusConnection } from './producer.js';
import { EventBusJobQueue, eventbusSupports } from './queue.js';
import { type EventBusSettings, validateEventBusConnection, validateEventBusSettings } from './settings.js';

// The wire format lives in src/events/ (shared with the executor); re-exported here as before.
export {
  type BuildJobEventOptions,
  buildJobEvent,
  buildSerializedJobEvent,
  type JobEvent,
  MEDIAWIKI_JOB_URI,
  mediawikiIso,
  mediawikiJobParams,
  mediawikiSha1,
  mediawikiTimestamp,
  type SerializedJobEvent,
} from '../../events/job-event.js';
export { PhpEncodeError, phpFloat, phpJson, phpSerialize, phpString } from '../../events/php.js';
export {
  JOB_EVENT_SCHEMA_FILE,
  JOB_EVENT_SCHEMA_URI,
  jobEventValidator,
  loadJobEventSchema,
  validateJobEvent,
} from '../../events/schema.js';
export {
  mediawikiSignedBytes,
  SIGNATURE_MODES,
  type SignatureMode,
  signedPayload,
  signJobEvent,
  verifyJobEvent,
} from '../../events/signature.js';

export { EventBusConnection, EventBusProducer } from './producer.js';
export { EventBusJobQueue, type EventBusJobQueueOptions, eventbusSupports } from './queue.js';
export {
  EVENTBUS_DEFAULTS,
  type EventBusSettings,
  validateEventBusConnection,
  validateEventBusSettings,
} from './settings.js';

/** Settings that belong on a `connections` entry, not on an entry that names one. */
const EVENTBUS_CONNECTION_KEYS: readonly string[] = Object.freeze([
  'brokers',
  'producer',
  'client',
  'tls',
  'sasl',
]);

/** The eventbus backend module, as the registry loads it. */
export const eventbusBackend: BackendModule = Object.freeze({
  name: 'eventbus',
  connectionKeys: EVENTBUS_CONNECTION_KEYS,
  supports: eventbusSupports,
  validateSettings: validateEventBusSettings,
  validateConnection: validateEventBusConnection,
  openConnection(settings: BackendSettings): BackendConnection {
    const handle = new EventBusConnection(settings as EventBusSettings);
    return { handle, close: () => handle.producer.close() };
  },
  createQueue(context: BackendContext): JobQueue {
    const entry = context.settings as EventBusSettings;
    const raw = context.connection?.handle;
    if (raw !== undefined && !(raw instanceof EventBusConnection)) {
      throw configInvalid(
        [{ path: 'connection', message: 'is not an eventbus connection', value: context.connectionName }],
        `eventbus queue "${context.queue.type}"`,
      );
    }
    if (raw) {
      const own = EVENTBUS_CONNECTION_KEYS.find((k) => (entry as Record<string, unknown>)[k] !== undefined);
      if (own !== undefined) {
        throw configInvalid(
          [
            {
              path: own,
              message: `belongs in the connection "${context.connectionName}" this entry names, not in the entry`,
            },
          ],
          `eventbus queue "${context.queue.type}"`,
        );
      }
      const { brokers: _b, producer: _p, ...connSettings } = raw.settings;
      return new EventBusJobQueue({ ...context.queue, ...connSettings, ...entry }, raw.producer);
    }
    return new EventBusJobQueue({ ...context.queue, ...entry });
  },
});
