/**
 * Subject `memory-noclaim`: switchyard's memory backend with `claimTTL: 0`, so a pop removes the
 * job at once and ack is a no-op (MediaWiki's "no claim tracking" mode). The gap to `memory` is the
 * price of claim tracking.
 *
 * @packageDocumentation
 */
import { jobQueueSubject } from '../lib/job-queue-subject.js';
import type { Subject } from '../lib/types.js';

/** The memory backend without claim tracking. */
const memoryNoClaim: Subject = jobQueueSubject(
  'memory-noclaim',
  async () => {
    const { MemoryJobQueue } = await import('../../src/backends/memory/index.js');
    return new MemoryJobQueue({ type: 'bench', domain: 'bench', claimTTL: 0 });
  },
  {
    group: 'memory',
    description: 'switchyard memory backend, claimTTL 0 (pop removes the job; ack is a no-op)',
    // Larger than the harness defaults: at ~600k pushes/s, 20k single pushes last ~30 ms and are noisy.
    defaults: { single: 100_000, bulk: 500_000, drain: 200_000 },
  },
);

export default memoryNoClaim;
