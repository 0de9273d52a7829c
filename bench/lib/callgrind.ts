/**
 * Instruction counts of a whole child process: node (`--predictable`, this process's execArgv)
 * running `args` under valgrind's callgrind. Repeatable for the same binary and inputs, whatever
 * else the machine is doing; the benches take slopes between two sizes of such runs.
 */
import { spawnSync } from 'node:child_process';

/** The `I refs` total of node running `args` under callgrind; `what` labels the error. */
export function callgrindInstructions(args: readonly string[], what: string): number {
  const r = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      '--predictable',
      ...process.execArgv,
      ...args,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr ?? '');
  if (r.status !== 0 || m === null) {
    throw new Error(`${what}: valgrind failed (is it installed?): ${r.stderr?.slice(-2000)}`);
  }
  return Number((m[1] as string).replace(/,/g, ''));
}
