/** Which tasks a credential reaches: all of them, or a fixed set of task ids. */
export type TaskScope = 'all' | ReadonlySet<number>;

const DECIMAL = /^[0-9]{1,16}$/;

/** A task id, or undefined: past 2^53 two ids would round to one number and share a grant. */
function taskId(value: unknown): number | undefined {
  const id = typeof value === 'string' && DECIMAL.test(value) ? Number(value) : value;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
}

/**
 * Reads a token's `tasks` claim: `"*"` for every task, or an array of task ids as numbers or
 * decimal strings. Anything else (absent, an object, a negative or fractional id) is undefined,
 * which grants nothing.
 */
export function parseTaskScope(claim: unknown): TaskScope | undefined {
  if (claim === '*') return 'all';
  if (!Array.isArray(claim)) return undefined;
  const ids = new Set<number>();
  for (const entry of claim) {
    const id = taskId(entry);
    if (id === undefined) return undefined;
    ids.add(id);
  }
  return ids;
}

/** True when the scope covers the task named by a route's raw `task_id` parameter. */
export function reachesTask(scope: TaskScope, rawTaskId: string | undefined): boolean {
  if (scope === 'all') return true;
  const id = rawTaskId === undefined ? undefined : taskId(rawTaskId);
  return id !== undefined && scope.has(id);
}
