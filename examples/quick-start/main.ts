import { createJobQueueGroup, resolveConfig } from 'switchyard';

// Route every job type to the in-memory backend (no services needed).
const config = await resolveConfig({
  jobTypeConf: { default: { class: 'memory', order: 'fifo' } },
  jobTypes: ['sendEmail', 'refreshLinks'],
});
const group = createJobQueueGroup(config, 'mywiki');

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
const refresh = group.get('refreshLinks');
console.log('delayed refreshLinks jobs:', await refresh.getDelayedCount());
await group.close();
