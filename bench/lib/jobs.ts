/**
 * Job params for the bench: `{ i, page: 'Main_Page' }`, optionally padded with a `pad` string so
 * the params' JSON is about `--payload-bytes` long. Built before the clock starts.
 *
 * @packageDocumentation
 */
import type { JsonObject } from '../../src/core/job.js';
import type { BenchJob } from './types.js';

/**
 * `n` jobs whose params serialise to about `payloadBytes` bytes of JSON (0 = unpadded, ~27 bytes).
 * Every pad is its own flat string (not a shared or cons string), so memory figures count a
 * realistic payload per job.
 */
export function makeJobs(n: number, payloadBytes: number): BenchJob[] {
  const jobs: BenchJob[] = new Array(n);
  const scratch = payloadBytes > 0 ? Buffer.alloc(payloadBytes, 'x') : null;
  for (let i = 0; i < n; i++) {
    const params: JsonObject = { i, page: 'Main_Page' };
    if (scratch !== null) {
      // `{"i":…,"page":"Main_Page","pad":""}` is the unpadded size.
      const base = 34 + String(i).length;
      const len = Math.max(1, payloadBytes - base);
      const tag = String(i);
      scratch.write(tag, 0, 'latin1');
      params.pad = scratch.toString('latin1', 0, len);
      scratch.fill('x', 0, tag.length);
    }
    jobs[i] = { i, params };
  }
  return jobs;
}
