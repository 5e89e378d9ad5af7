import type { EpicOp, ImportOp } from './revision.js'

/** One write of a plan import, in the order an import applies them across its changes. */
export type ImportStep =
  | { kind: 'epic', op: EpicOp }
  | { kind: 'task', op: Exclude<ImportOp, { op: 'skip' }> }

/**
 * The order an import spread over many changes writes in (node/services/plans.ts): epics first,
 * then updates and cancellations of existing tasks, then new tasks with every dependency that the
 * same import adds written before its dependents. So between two changes of an unfinished import,
 * no new task is in the document without the dependencies the plan gives it, and a task that is
 * ready in the partial document is ready in the finished one too (its dependencies are there, and
 * the rest of the import only adds tasks that depend on others). Skips write nothing.
 * O(tasks + dependencies); a cycle (which plan validation refuses) keeps plan order for the rest.
 */
export function importSteps (epicOps: readonly EpicOp[], ops: readonly ImportOp[]): ImportStep[] {
  const steps: ImportStep[] = epicOps.map(op => ({ kind: 'epic', op }))
  const adds = new Map<string, Extract<ImportOp, { op: 'add' }>>()
  for (const op of ops) {
    if (op.op === 'add') adds.set(op.task.id, op)
    else if (op.op !== 'skip') steps.push({ kind: 'task', op })
  }
  // Depth-first, dependencies first, iteratively (chains of 100,000 tasks would overflow the stack).
  const state = new Map<string, 'open' | 'done'>()
  for (const root of adds.values()) {
    if (state.has(root.task.id)) continue
    const stack: Array<{ op: Extract<ImportOp, { op: 'add' }>, next: number }> = [{ op: root, next: 0 }]
    state.set(root.task.id, 'open')
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { op: Extract<ImportOp, { op: 'add' }>, next: number }
      const deps = top.op.task.dependsOn
      if (top.next < deps.length) {
        const dep = adds.get(deps[top.next++] as string)
        if (dep !== undefined && !state.has(dep.task.id)) {
          state.set(dep.task.id, 'open')
          stack.push({ op: dep, next: 0 })
        }
        continue
      }
      stack.pop()
      state.set(top.op.task.id, 'done')
      steps.push({ kind: 'task', op: top.op })
    }
  }
  return steps
}
