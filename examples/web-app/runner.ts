// The runner half: the config's runner groups over the farm, until SIGTERM / SIGINT.
import { installSignalHandlers, type JobQueueFarm, RunnerService, type ServiceResult } from 'switchyard';
import handlers from './handlers.js';

/** Runs jobs until the process is told to stop; resolves with what was done. */
export async function runUntilStopped(farm: JobQueueFarm, signal: AbortSignal): Promise<ServiceResult> {
  const service = new RunnerService(farm, {
    handlers,
    idleWait: 0.5,
    onSlice: (s) => {
      if (s.result.jobs.length > 0)
        console.log(`ran ${s.result.jobs.length} ${s.type} job(s) for ${s.domain}`);
    },
  });
  return service.run({ signal });
}

// Run on its own: `tsx --conditions=source examples/web-app/runner.ts`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { loadConfig, JobQueueFarm } = await import('switchyard');
  const farm = new JobQueueFarm(
    await loadConfig({ path: new URL('./switchyard.config.yaml', import.meta.url).pathname }),
  );
  const { signal, dispose } = installSignalHandlers();
  const result = await runUntilStopped(farm, signal);
  dispose();
  await farm.close();
  console.log('runner stopped', result.jobs);
}
