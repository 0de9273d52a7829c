import { createJobQueueGroup, resolveConfig } from 'switchyard';

// No jobTypeConf: every job type goes to the embedded default, SQLite at ./switchyard.sqlite.
const config = await resolveConfig({ jobTypes: ['sendEmail', 'refreshLinks'] });
const group = createJobQueueGroup(config, 'mywiki');
for (const type of group.getQueueTypes()) await group.get(type).delete(); // start afresh each run

// Push: one job, a batch, a duplicate (skipped), and a delayed job.
await group.push({ type: 'sendEmail', params: { to: 'ada@example.org' } });
await group.push([
  { type: 'refreshLinks', params: { pageId: 1 }, removeDuplicates: true },
  { type: 'refreshLinks', params: { pageId: 1 }, removeDuplicates: true },
  { type: 'refreshLinks', params: { pageId: 2 }, releaseTimestamp: Date.now() + 60_000 },
]);
console.log('ready per type:', await group.getQueueSizes());

// Run: pop from any type with work, do it, ack it.
for (let job = await group.pop(); job; job = await group.pop()) {
  console.log(`ran ${job.type} ${JSON.stringify(job.params)} (attempt ${job.attempts})`);
  await group.ack(job);
}

// What is left, per type (what `switchyard show-jobs --group` will print).
const table: Record<string, Record<string, number>> = {};
for (const type of group.getQueueTypes()) {
  const q = group.get(type);
  table[type] = {
    ready: await q.getSize(),
    claimed: await q.getAcquiredCount(),
    delayed: await q.getDelayedCount(),
    abandoned: await q.getAbandonedCount(),
  };
}
console.table(table);
await group.close();
