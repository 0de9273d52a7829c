/**
 * Kafka TLS and SASL settings, shared by the eventbus backend and the executor and handed to
 * either client: `tls` (true for the system CAs, or CA / client certificate / key as PEM text or
 * files) and `sasl` (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with a username and password). Checked
 * when the config loads (files must be readable then); the password is never part of an issue,
 * an error or a log line.
 *
 * @packageDocumentation
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { isPlainObject } from '../core/checks.js';
import type { Issue } from '../core/errors.js';

/** The `sasl.mechanism` values (what both clients speak; lower case as WMF's and kafkajs's configs write them). */
export const KAFKA_SASL_MECHANISMS = Object.freeze(['plain', 'scram-sha-256', 'scram-sha-512'] as const);
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** SASL authentication. */
export interface KafkaSaslOptions {
  readonly mechanism: KafkaSaslMechanism;
  readonly username: string;
  /** Never logged or shown in an error. */
  readonly password: string;
}

/** TLS: each of `ca`, `cert`, `key` as PEM text or as a file (`caFile`, …), not both. */
export interface KafkaTlsOptions {
  readonly ca?: string;
  readonly caFile?: string;
  /** A client certificate (mutual TLS), with `key`. */
  readonly cert?: string;
  readonly certFile?: string;
  readonly key?: string;
  readonly keyFile?: string;
  /** Of an encrypted `key`; never logged. */
  readonly passphrase?: string;
  /** Check the broker's certificate (default true). */
  readonly rejectUnauthorized?: boolean;
  /** The name the broker's certificate must carry, when it is not the address dialled. */
  readonly servername?: string;
}

/** `tls` as a config writes it: true (system CAs), or the options. */
export type KafkaTlsSetting = true | KafkaTlsOptions;

const TLS_KEYS = Object.freeze([
  'ca',
  'caFile',
  'cert',
  'certFile',
  'key',
  'keyFile',
  'passphrase',
  'rejectUnauthorized',
  'servername',
]);
const PEM_PAIRS = Object.freeze([
  ['ca', 'caFile'],
  ['cert', 'certFile'],
  ['key', 'keyFile'],
] as const);
const SECRET = /pass(word|phrase)?|key$/i;

/** Issues of the `tls` and `sasl` settings of the section at `path`. */
export function kafkaSecurityIssues(tls: unknown, sasl: unknown, path: string): Issue[] {
  const at = (key: string) => (path ? `${path}.${key}` : key);
  const issues: Issue[] = [];
  if (tls !== undefined && tls !== true && tls !== false) {
    if (!isPlainObject(tls)) {
      issues.push({ path: at('tls'), message: 'must be true or an object of TLS options' });
    } else {
      for (const k of Object.keys(tls)) {
        if (!TLS_KEYS.includes(k)) {
          issues.push({
            path: at(`tls.${k}`),
            message: `is not a TLS option (known: ${TLS_KEYS.join(', ')})`,
          });
        }
      }
      for (const k of ['ca', 'cert', 'key', 'passphrase', 'servername', 'caFile', 'certFile', 'keyFile']) {
        const v = tls[k];
        if (v !== undefined && (typeof v !== 'string' || v === '')) {
          issues.push({
            path: at(`tls.${k}`),
            message: 'must be a non-empty string',
            ...(SECRET.test(k) ? {} : { value: v }),
          });
        }
      }
      for (const [text, file] of PEM_PAIRS) {
        if (tls[text] !== undefined && tls[file] !== undefined) {
          issues.push({ path: at(`tls.${file}`), message: `give ${text} or ${file}, not both` });
        }
        const f = tls[file];
        if (typeof f === 'string' && f !== '') {
          try {
            accessSync(f, constants.R_OK);
          } catch {
            issues.push({ path: at(`tls.${file}`), message: 'is not a readable file', value: f });
          }
        }
      }
      const hasCert = tls.cert !== undefined || tls.certFile !== undefined;
      const hasKey = tls.key !== undefined || tls.keyFile !== undefined;
      if (hasCert !== hasKey) {
        issues.push({
          path: at('tls'),
          message: 'a client certificate needs both cert (or certFile) and key (or keyFile)',
        });
      }
      if (tls.rejectUnauthorized !== undefined && typeof tls.rejectUnauthorized !== 'boolean') {
        issues.push({
          path: at('tls.rejectUnauthorized'),
          message: 'must be a boolean',
          value: tls.rejectUnauthorized,
        });
      }
    }
  }
  if (sasl !== undefined) {
    if (!isPlainObject(sasl)) {
      issues.push({ path: at('sasl'), message: 'must be an object { mechanism, username, password }' });
    } else {
      for (const k of Object.keys(sasl)) {
        if (!['mechanism', 'username', 'password'].includes(k)) {
          issues.push({
            path: at(`sasl.${k}`),
            message: 'is not a SASL option (known: mechanism, username, password)',
          });
        }
      }
      if (!(KAFKA_SASL_MECHANISMS as readonly unknown[]).includes(sasl.mechanism)) {
        issues.push({
          path: at('sasl.mechanism'),
          message: `must be one of ${KAFKA_SASL_MECHANISMS.join(', ')}`,
          value: sasl.mechanism,
        });
      }
      if (typeof sasl.username !== 'string' || sasl.username === '') {
        issues.push({
          path: at('sasl.username'),
          message: 'must be a non-empty string',
          value: sasl.username,
        });
      }
      if (typeof sasl.password !== 'string' || sasl.password === '') {
        issues.push({ path: at('sasl.password'), message: 'must be a non-empty string (never shown)' });
      }
    }
  }
  return issues;
}

/**
 * Node's TLS options for a validated `tls` setting (files read now); undefined without TLS.
 * `false` (as a config may write it) means no TLS.
 */
export function tlsConnectionOptions(
  tls: KafkaTlsSetting | false | undefined,
): ConnectionOptions | undefined {
  if (tls === undefined || tls === false) return undefined;
  if (tls === true) return {};
  const pem = (text: string | undefined, file: string | undefined) =>
    text ?? (file === undefined ? undefined : readFileSync(file, 'utf8'));
  const ca = pem(tls.ca, tls.caFile);
  const cert = pem(tls.cert, tls.certFile);
  const key = pem(tls.key, tls.keyFile);
  return {
    ...(ca === undefined ? {} : { ca: [ca] }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
    ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
  };
}
