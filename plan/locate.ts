import type { PlanProblem } from './errors.js'
import { formatPath, type PathSegment } from './path.js'

/** A problem still in terms of the plan object; located and rendered by locateProblems. */
export interface RawProblem {
  path: PathSegment[]
  message: string
  /** Set when the finder knows the line better than the path does (Markdown, syntax errors). */
  line?: number
  /** Another place the message refers to (the first of two duplicates), named by its line when known. */
  related?: PathSegment[]
}

/** Maps a path in the parsed object to its 1-based source line, falling back to the nearest parent. */
export type LineOf = (path: readonly PathSegment[]) => number | undefined

export interface LocateContext {
  /** The object the paths point into, used to name tasks and epics by id. */
  source?: unknown
  lineOf?: LineOf
  file?: string
}

/**
 * Turns problems from every stage into PlanProblems. Stages are given in order (parser, shape,
 * semantics); a later stage's problem at or under a path an earlier stage already flagged is dropped,
 * since it is usually the same mistake seen twice. The result is sorted by line.
 */
export function locateProblems (stages: RawProblem[][], ctx: LocateContext = {}): PlanProblem[] {
  const flagged: Array<readonly PathSegment[]> = []
  const out: Array<PlanProblem & { seq: number }> = []
  for (const stage of stages) {
    const kept = stage.filter((p) => !flagged.some((f) => isPrefix(f, p.path)))
    for (const p of kept) {
      out.push({ ...render(p, ctx), seq: out.length })
    }
    for (const p of kept) flagged.push(p.path)
  }
  out.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || a.seq - b.seq)
  return out.map(({ seq: _seq, ...p }) => p)
}

function render (p: RawProblem, ctx: LocateContext): PlanProblem {
  let message = p.message
  if (p.related !== undefined) {
    const relatedLine = ctx.lineOf?.(p.related)
    message += relatedLine === undefined
      ? ` (also at ${formatPath(p.related, ctx.source)})`
      : ` (also at line ${relatedLine})`
  }
  const problem: PlanProblem = { path: formatPath(p.path, ctx.source), message }
  if (ctx.file !== undefined) problem.file = ctx.file
  const line = p.line ?? ctx.lineOf?.(p.path)
  if (line !== undefined) problem.line = line
  return problem
}

/** Whether flagged is path itself or one of its ancestors; the root flags nothing. */
function isPrefix (flagged: readonly PathSegment[], path: readonly PathSegment[]): boolean {
  if (flagged.length === 0 || flagged.length > path.length) return false
  return flagged.every((seg, i) => seg === path[i])
}
