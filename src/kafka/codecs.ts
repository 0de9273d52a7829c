/**
 * Compression for the kafkajs client. kafkajs ships gzip only; Snappy — what WMF's producers
 * (EventGate, MediaWiki's Kafka clients) write by default — comes from `kafkajs-snappy` (pure JS,
 * both Snappy framings Kafka clients use), registered once per process when the kafkajs adapter
 * loads, so Snappy-compressed topics are read and `compression: snappy` produces them. LZ4 and
 * zstd are not offered with kafkajs (its codecs for them need native addons); the platformatic
 * client reads and writes all five. Only the kafkajs adapter imports this module, so kafkajs need
 * not be installed where the platformatic client is used.
 *
 * @packageDocumentation
 */
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import type { KafkaCompression } from './types.js';

// kafkajs is CommonJS and Node's ESM loader does not see these two among its named exports.
const { CompressionCodecs, CompressionTypes } = kafkajs;
type CompressionTypes = kafkajs.CompressionTypes;

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

/** The kafkajs compression type of a setting value (lz4 / zstd are refused by config checks first). */
export function compressionType(compression: KafkaCompression): CompressionTypes {
  switch (compression) {
    case 'gzip':
      return CompressionTypes.GZIP;
    case 'snappy':
      return CompressionTypes.Snappy;
    case 'none':
      return CompressionTypes.None;
    default:
      throw new Error(`kafkajs cannot produce ${compression}: use client: platformatic`);
  }
}
