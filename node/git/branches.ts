/** Every agent branch lives under this prefix; the worker pushes nothing else. */
export const BRANCH_PREFIX = 'fleet/'

/** A task id that cannot be used in a branch name (git's ref-format rules). */
export class InvalidBranchError extends Error {
  override name = 'InvalidBranchError'
  constructor (readonly taskId: string, reason: string) {
    super(`task id "${taskId}" cannot name a git branch: ${reason}`)
  }
}

/**
 * The branch for a task, `fleet/<taskId>`. Plan ids are letters, digits, ".", "_" and "-"; git
 * further refuses a component starting with "." or ending in ".lock" or ".", and "..".
 */
export function branchForTask (taskId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(taskId)) throw new InvalidBranchError(taskId, 'use only letters, digits, ".", "_" and "-"')
  if (taskId.startsWith('.') || taskId.startsWith('-')) throw new InvalidBranchError(taskId, 'must not start with "." or "-"')
  if (taskId.includes('..')) throw new InvalidBranchError(taskId, 'must not contain ".."')
  if (taskId.endsWith('.') || taskId.endsWith('.lock')) throw new InvalidBranchError(taskId, 'must not end with "." or ".lock"')
  return `${BRANCH_PREFIX}${taskId}`
}

/** Whether a branch name is one of fleet's agent branches (the only ones a worker may force-push). */
export function isFleetBranch (branch: string): boolean {
  return branch.startsWith(BRANCH_PREFIX) && branch.length > BRANCH_PREFIX.length && !branch.includes('..')
}

/** A directory name for an id: anything outside [A-Za-z0-9._-] becomes "_", and a leading "." too. */
export function safeDirName (id: string): string {
  const s = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_')
  return s === '' ? '_' : s
}
