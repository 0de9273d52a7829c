/**
 * Job dependencies ("flows"): a small DAG of jobs pushed together into one queue, where a job
 * runs only after the jobs it names in `after` succeeded (were acked). The store links them
 * atomically at push and settles the links itself when a dependency is acked, abandoned or
 * cancelled, so a flow survives restarts wherever the backend is durable.
 *
 * @packageDocumentation
 */
import { isRecord } from './checks.js';
import { type Issue, invalidJob } from './errors.js';
import { type JobSpecification, type JobType, type NormalizedJob, normalizeOne } from './job.js';

/**
 * What a waiting job does when one of its dependencies fails (is abandoned after its last try, is
 * cancelled, or is itself abandoned by this policy):
 * - `abandon` (default): the job is abandoned without running, and so are the jobs waiting on it
 *   that have this policy (BullMQ's `failParentOnFailure`, Oban's cancelled dependents);
 * - `ignore`: the failed dependency counts as settled; the job runs once the others succeed or
 *   fail too (BullMQ's `ignoreDependencyOnFailure`).
 */
export type DependencyFailurePolicy = 'abandon' | 'ignore';

/** The policies, for validation and messages. */
export const DEPENDENCY_FAILURE_POLICIES: readonly DependencyFailurePolicy[] = Object.freeze([
  'abandon',
  'ignore',
]);

/** The most jobs one flow may hold. */
export const MAX_FLOW_JOBS = 1000;

/** One job of a flow: a specification with a name and the names of the jobs it waits for. */
export interface FlowJobSpecification<T extends string = JobType>
  extends Omit<JobSpecification<T>, 'removeDuplicates' | 'removeDuplicatesIgnoreParams' | 'rootJob'> {
  /** Unique within the flow; what other jobs' `after` refer to and what the result's `ids` key. */
  readonly name: string;
  /** Names of jobs of this flow that must succeed before this one is ready. Default none. */
  readonly after?: readonly string[];
  /** What happens to this job when one of its dependencies fails. Default `abandon`. */
  readonly onDependencyFailure?: DependencyFailurePolicy;
}

/** What `pushFlow()` returns. */
export interface FlowPushResult {
  /** Job name → the id the store gave it (use it with `cancel(id)` or to find it in `list()`). */
  readonly ids: Readonly<Record<string, string>>;
}

/**
 * One normalised flow job, what `doPushFlow` receives. Nodes come in dependency order: every index
 * in `after` is lower than the node's own, so a backend can insert them front to back.
 */
export interface FlowNode {
  readonly name: string;
  readonly job: NormalizedJob;
  /** Indices (into the node list) of the jobs this one waits for; empty: ready (or delayed) at once. */
  readonly after: readonly number[];
  readonly onDependencyFailure: DependencyFailurePolicy;
}

/**
 * Validates a flow and puts it in dependency order. Throws `SWITCHYARD_INVALID_JOB` listing every
 * problem, with paths `jobs[i].field` in the caller's indices: a bad job field, a missing or
 * repeated name, an `after` naming no job of the flow or the job itself, a cycle, a dedup or
 * root-job field (a flow's links need every job stored), an empty or oversized flow.
 */
export function normalizeFlow(
  specs: unknown,
  opts: { readonly domain: string; readonly type: string },
): FlowNode[] {
  const issues: Issue[] = [];
  if (!Array.isArray(specs) || specs.length === 0) {
    throw invalidJob([{ path: 'jobs', message: 'must be a non-empty array of flow jobs', value: specs }]);
  }
  if (specs.length > MAX_FLOW_JOBS) {
    throw invalidJob([
      { path: 'jobs', message: `holds ${specs.length} jobs; a flow holds at most ${MAX_FLOW_JOBS}` },
    ]);
  }
  const names = new Map<string, number>();
  const parsed: Array<{
    name: string;
    job: NormalizedJob;
    after: string[];
    policy: DependencyFailurePolicy;
  } | null> = [];
  for (let i = 0; i < specs.length; i++) {
    const at = `jobs[${i}]`;
    const raw: unknown = specs[i];
    const job = normalizeOne(raw, at, opts, issues);
    if (!isRecord(raw)) {
      parsed.push(null);
      continue;
    }
    for (const field of ['removeDuplicates', 'removeDuplicatesIgnoreParams', 'rootJob'] as const) {
      if (raw[field] !== undefined && raw[field] !== false) {
        issues.push({
          path: `${at}.${field}`,
          message: 'is not allowed on a flow job (every job of a flow is stored, so its links hold)',
          value: raw[field],
        });
      }
    }
    const name = raw.name;
    if (typeof name !== 'string' || name.length === 0) {
      issues.push({ path: `${at}.name`, message: 'must be a non-empty string', value: name });
    } else if (names.has(name)) {
      issues.push({
        path: `${at}.name`,
        message: `repeats the name of jobs[${names.get(name)}]`,
        value: name,
      });
    } else names.set(name, i);
    const after: string[] = [];
    if (raw.after !== undefined) {
      if (!Array.isArray(raw.after)) {
        issues.push({ path: `${at}.after`, message: 'must be an array of job names', value: raw.after });
      } else {
        raw.after.forEach((dep: unknown, j: number) => {
          if (typeof dep !== 'string' || dep.length === 0) {
            issues.push({ path: `${at}.after[${j}]`, message: 'must be a job name', value: dep });
          } else if (after.includes(dep)) {
            issues.push({ path: `${at}.after[${j}]`, message: 'repeats a dependency', value: dep });
          } else after.push(dep);
        });
      }
    }
    const policy = raw.onDependencyFailure ?? 'abandon';
    if (!DEPENDENCY_FAILURE_POLICIES.includes(policy as DependencyFailurePolicy)) {
      issues.push({
        path: `${at}.onDependencyFailure`,
        message: `must be one of ${DEPENDENCY_FAILURE_POLICIES.join(', ')}`,
        value: raw.onDependencyFailure,
      });
    }
    parsed.push(
      job === null || typeof name !== 'string'
        ? null
        : { name, job, after, policy: policy as DependencyFailurePolicy },
    );
  }
  parsed.forEach((p, i) => {
    if (p === null) return;
    p.after.forEach((dep, j) => {
      if (dep === p.name) {
        issues.push({ path: `jobs[${i}].after[${j}]`, message: 'names the job itself', value: dep });
      } else if (!names.has(dep)) {
        issues.push({ path: `jobs[${i}].after[${j}]`, message: 'names no job of this flow', value: dep });
      }
    });
  });
  if (issues.length > 0) throw invalidJob(issues);
  const nodes = parsed as Array<{
    name: string;
    job: NormalizedJob;
    after: string[];
    policy: DependencyFailurePolicy;
  }>;
  const order = topologicalOrder(nodes.map((n) => n.after.map((dep) => names.get(dep) as number)));
  if (order === null) {
    throw invalidJob([{ path: 'jobs', message: 'the after links form a cycle (a flow must be a DAG)' }]);
  }
  const position = new Map<number, number>(order.map((original, pos) => [original, pos]));
  return order.map((original) => {
    const n = nodes[original] as (typeof nodes)[number];
    return {
      name: n.name,
      job: n.job,
      after: n.after.map((dep) => position.get(names.get(dep) as number) as number),
      onDependencyFailure: n.policy,
    };
  });
}

/** Kahn's algorithm, stable (input order among the ready ones); null on a cycle. */
function topologicalOrder(deps: readonly (readonly number[])[]): number[] | null {
  const pending = deps.map((d) => d.length);
  const dependents: number[][] = deps.map(() => []);
  deps.forEach((d, i) => {
    for (const dep of d) (dependents[dep] as number[]).push(i);
  });
  const out: number[] = [];
  const ready = pending.flatMap((n, i) => (n === 0 ? [i] : []));
  for (let k = 0; k < ready.length; k++) {
    const i = ready[k] as number;
    out.push(i);
    for (const d of dependents[i] as number[]) {
      pending[d] = (pending[d] as number) - 1;
      if (pending[d] === 0) ready.push(d);
    }
  }
  return out.length === deps.length ? out : null;
}
