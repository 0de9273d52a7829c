// The whole app in one process: the HTTP server pushes jobs, the runner service runs them.
// Run it with `npm run web-app`, then:
//   curl -X POST 'localhost:3000/signup?email=ada@example.org'
//   curl -X POST 'localhost:3000/images?id=7'
//   curl localhost:3000/jobs
import { installSignalHandlers, JobQueueFarm, loadConfig } from 'switchyard';
import { runUntilStopped } from './runner.js';
import { startServer } from './server.js';

const config = await loadConfig({ path: new URL('./switchyard.config.yaml', import.meta.url).pathname });
const farm = new JobQueueFarm(config);
const server = await startServer(farm.group(), Number(process.env.PORT ?? 3000));
const address = server.address();
console.log(`listening on http://localhost:${typeof address === 'object' && address ? address.port : '?'}`);

const { signal, dispose } = installSignalHandlers();
const result = await runUntilStopped(farm, signal); // returns after SIGTERM / SIGINT, jobs settled
server.close();
dispose();
await farm.close();
console.log('stopped; jobs run:', result.jobs);
