/** One thing wrong with a plan, located as precisely as the source format allows. */
export interface PlanProblem {
  /** Where in the plan, e.g. `tasks.T1.2.estimatedHours` or `tasks[3].dependsOn[0]`; '' for the whole input. */
  path: string
  message: string
  file?: string
  /** 1-based line in the source text, when known. */
  line?: number
}

/** `file:line: path: message`, leaving out the parts that are unknown. */
export function formatProblem (p: PlanProblem): string {
  let where = ''
  if (p.file !== undefined && p.line !== undefined) where = `${p.file}:${p.line}: `
  else if (p.file !== undefined) where = `${p.file}: `
  else if (p.line !== undefined) where = `line ${p.line}: `
  const path = p.path === '' ? '' : `${p.path}: `
  return `${where}${path}${p.message}`
}

/**
 * Thrown for every kind of bad plan (syntax, shape, semantics). It carries all problems found, so
 * a user fixes a file in one round instead of one error per attempt.
 */
export class PlanValidationError extends Error {
  readonly problems: PlanProblem[]

  constructor (problems: PlanProblem[]) {
    super(problems.length === 0 ? 'invalid plan' : problems.map(formatProblem).join('\n'))
    this.name = 'PlanValidationError'
    this.problems = problems
  }
}
