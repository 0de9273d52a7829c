/**
 * Subject `memory`: switchyard's memory backend with claim tracking (default claimTTL, so every
 * pop records a claim and every ack settles it).
 *
 * @packageDocumentation
 */
import { jobQueueSubject } from '../lib/job-queue-subject.js';
import type { Subject } from '../lib/types.js';

/** The memory backend with claims (the default configuration). */
const memory: Subject = jobQueueSubject(
  'memory',
  async () => {
    const { MemoryJobQueue } = await import('../../src/backends/memory/index.js');
    return new MemoryJobQueue({ type: 'bench', domain: 'bench' });
  },
  {
    group: 'memory',
    description: 'switchyard memory backend, claim tracking on (claimTTL 3600)',
    // Larger than the harness defaults: at ~600k pushes/s, 20k single pushes last ~30 ms and are noisy.
    defaults: { single: 100_000, bulk: 500_000, drain: 200_000 },
  },
);

export default memory;
