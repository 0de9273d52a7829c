/**
 * Push CPU without a broker (issue 7): µs per event of what the eventbus backend does before
 * kafkajs (normalise, build, sign, validate, serialise), for 1 KB params, in batches.
 *
 *   node --import tsx --conditions=source bench/kafka-cpu.ts [--old DIR] [--rounds R]
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
  },
});
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);
const BATCHES = Number(values.batches);

interface Subject {
  readonly name: string;
  readonly run: (specs: Array<{ type: string; params: JsonObject }>) => Promise<number>;
}

async function subject(name: string, root: string): Promise<Subject> {
  const url = (p: string) => pathToFileURL(resolve(root, p)).href;
  const { EventBusJobQueue } = (await import(
    url('src/backends/eventbus/index.ts')
  )) as typeof import('../src/backends/eventbus/index.js');
  // A stand-in producer that accepts every batch (this bench times switchyard's side only).
  let bytes = 0;
  const producer = {
    connect: async () => undefined,
    sendBatch: async (batch: { topicMessages: Array<{ messages: Array<{ value: string }> }> }) => {
      for (const t of batch.topicMessages) for (const m of t.messages) bytes += m.value.length;
      return [];
    },
  };
  const q = new EventBusJobQueue({
    type: 'cpubench',
    domain: 'benchwiki',
    secret: 'bench-secret-0123456789abcdef',
    producer: producer as never,
  });
  return {
    name,
    run: async (specs) => {
      await q.push(specs);
      return bytes;
    },
  };
}

const subjects = [await subject('this checkout', resolve(import.meta.dirname, '..'))];
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
for (const [name, list] of results) {
  const sorted = [...list].sort((a, b) => a - b);
  process.stdout.write(
    `${name}: median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(2)} µs/event CPU (runs ${list.map((x) => x.toFixed(2)).join(', ')}); load ${loadavg()[0]?.toFixed(2)}\n`,
  );
}
