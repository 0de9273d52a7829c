/**
 * Kafka compression for the eventbus backend and the executor. kafkajs ships gzip only; Snappy —
 * what WMF's producers (EventGate, MediaWiki's Kafka clients) write by default — comes from
 * `kafkajs-snappy` (pure JS, both Snappy framings Kafka clients use), registered once per process
 * when either module loads, so snappy-compressed topics are read and `compression: snappy`
 * produces them. LZ4 and zstd are not offered: their codecs need native addons.
 *
 * @packageDocumentation
 */
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';

// kafkajs is CommonJS and Node's ESM loader does not see these two among its named exports.
const { CompressionCodecs, CompressionTypes } = kafkajs;
type CompressionTypes = kafkajs.CompressionTypes;

/** The `compression` setting's values. */
export const KAFKA_COMPRESSIONS = Object.freeze(['none', 'gzip', 'snappy'] as const);
export type KafkaCompression = (typeof KAFKA_COMPRESSIONS)[number];

let registered = false;

/**
 * Registers the Snappy codec with kafkajs, whose own entry only throws "not implemented"
 * (idempotent; kafkajs's codec table is process-wide).
 */
export function registerKafkaCodecs(): void {
  if (registered) return;
  registered = true;
  const require = createRequire(import.meta.url);
  const codecs = CompressionCodecs as unknown as Record<number, () => unknown>;
  codecs[CompressionTypes.Snappy] = require('kafkajs-snappy') as () => unknown;
}

/** The kafkajs compression type of a setting value. */
export function compressionType(compression: KafkaCompression): CompressionTypes {
  switch (compression) {
    case 'gzip':
      return CompressionTypes.GZIP;
    case 'snappy':
      return CompressionTypes.Snappy;
    default:
      return CompressionTypes.None;
  }
}

/** True for a valid `compression` setting. */
export function isKafkaCompression(value: unknown): value is KafkaCompression {
  return (KAFKA_COMPRESSIONS as readonly unknown[]).includes(value);
}
