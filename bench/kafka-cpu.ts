/**
 * Push CPU without a broker (issue 7): µs per event of what the eventbus backend does before
 * the Kafka client (normalise, build, sign, validate, serialise), for 1 KB params, in batches.
 *
 *   node --import tsx --conditions=source bench/kafka-cpu.ts [--old DIR] [--rounds R] [--signatures]
 *
 * `--signatures` times both signature schemes of this checkout (switchyard-v1, mediawiki) in
 * alternating rounds, for the push and for the executor's check of each produced message
 * (JSON.parse, schema, signature).
 *
 * `--old DIR` also times another checkout's src/ (e.g. `git archive <commit> src | tar -x -C DIR`)
 * in alternating rounds, so both see the same machine load.
 *
 * @packageDocumentation
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { JsonObject } from '../src/core/job.js';

const { values } = parseArgs({
  options: {
    old: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    batch: { type: 'string', default: '2000' },
    batches: { type: 'string', default: '25' },
    signatures: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);
const BATCHES = Number(values.batches);

interface Subject {
  readonly name: string;
  readonly run: (specs: Array<{ type: string; params: JsonObject }>) => Promise<number>;
}

async function subject(
  name: string,
  root: string,
  signature?: string,
): Promise<Subject & { texts: string[] }> {
  const url = (p: string) => pathToFileURL(resolve(root, p)).href;
  const { EventBusJobQueue } = (await import(
    url('src/backends/eventbus/index.ts')
  )) as typeof import('../src/backends/eventbus/index.js');
  // A stand-in producer that accepts every batch (this bench times switchyard's side only).
  let bytes = 0;
  // The last batch's messages (for the verify timing).
  const texts: string[] = [];
  const take = (messages: Array<{ value: string }>) => {
    for (const m of messages) {
      bytes += m.value.length;
      texts.push(m.value);
    }
  };
  const producer = {
    connect: async () => undefined,
    send: async (record: { messages: Array<{ value: string }> }) => {
      take(record.messages);
      return [];
    },
    sendBatch: async (batch: { topicMessages: Array<{ messages: Array<{ value: string }> }> }) => {
      for (const t of batch.topicMessages) take(t.messages);
      return [];
    },
  };
  const q = new EventBusJobQueue({
    type: 'cpubench',
    domain: 'benchwiki',
    secret: 'bench-secret-0123456789abcdef',
    producer: producer as never,
    ...(signature === undefined ? {} : { signature: signature as never }),
  });
  return {
    name,
    texts,
    run: async (specs) => {
      texts.length = 0;
      await q.push(specs);
      return bytes;
    },
  };
}

const here = resolve(import.meta.dirname, '..');
const subjects = values.signatures
  ? [await subject('switchyard-v1', here, 'switchyard-v1'), await subject('mediawiki', here, 'mediawiki')]
  : [await subject('this checkout', here)];
if (values.old) subjects.push(await subject(`--old ${values.old}`, values.old));
const pad = 'x'.repeat(1000);
const batches = Array.from({ length: BATCHES }, (_, b) =>
  Array.from({ length: BATCH }, (_, i) => ({
    type: 'cpubench',
    params: { i: b * BATCH + i, page: 'Main_Page', pad },
  })),
);
for (const s of subjects) for (const b of batches.slice(0, 3)) await s.run(b); // warm-up
const results = new Map<string, number[]>();
for (let r = 0; r < ROUNDS; r++) {
  for (const s of subjects) {
    const cpu = process.cpuUsage();
    for (const b of batches) await s.run(b);
    const used = process.cpuUsage(cpu);
    const us = (used.user + used.system) / (BATCH * BATCHES);
    results.set(s.name, [...(results.get(s.name) ?? []), us]);
  }
}
// --signatures: the executor's check of one batch of produced messages, per scheme.
const { checkJobEvent } = await import('../src/events/receive.js');
if (values.signatures) {
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of subjects) {
      await s.run(batches[0] ?? []);
      const mode = s.name === 'mediawiki' ? 'mediawiki' : 'switchyard-v1';
      const cpu = process.cpuUsage();
      for (let k = 0; k < BATCHES; k++) {
        for (const text of s.texts) {
          if (!checkJobEvent(JSON.parse(text), 'bench-secret-0123456789abcdef', mode).ok) {
            throw new Error(`${s.name}: a produced event did not verify`);
          }
        }
      }
      const used = process.cpuUsage(cpu);
      const key = `${s.name} check`;
      results.set(key, [...(results.get(key) ?? []), (used.user + used.system) / (s.texts.length * BATCHES)]);
    }
  }
}
for (const [name, list] of results) {
  const sorted = [...list].sort((a, b) => a - b);
  process.stdout.write(
    `${name}: median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(2)} µs/event CPU (runs ${list.map((x) => x.toFixed(2)).join(', ')}); load ${loadavg()[0]?.toFixed(2)}\n`,
  );
}
