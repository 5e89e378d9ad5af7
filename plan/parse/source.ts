import type { LineOf, RawProblem } from '../locate.js'
import { pathKey, type PathSegment } from '../path.js'

/** What every parser returns: the raw object, where its parts came from, and what it could not read. */
export interface ParsedSource {
  /** The plan object before validation; undefined when the text could not be read at all. */
  value: unknown
  lineOf: LineOf
  /** Problems found while reading; when value is undefined these are fatal. */
  problems: RawProblem[]
}

/** Converts character offsets to 1-based lines and columns. */
export class LineIndex {
  private readonly starts: number[] = [0]

  constructor (text: string) {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) this.starts.push(i + 1)
    }
  }

  line (offset: number): number {
    let lo = 0
    let hi = this.starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((this.starts[mid] as number) <= offset) lo = mid
      else hi = mid - 1
    }
    return lo + 1
  }

  column (offset: number): number {
    return offset - (this.starts[this.line(offset) - 1] as number) + 1
  }
}

/** Lines recorded per path; a lookup of a path with no entry answers with its nearest recorded parent. */
export class PathLines {
  private readonly lines = new Map<string, number>()

  set (path: readonly PathSegment[], line: number): void {
    const key = pathKey(path)
    if (!this.lines.has(key)) this.lines.set(key, line)
  }

  readonly lineOf: LineOf = (path) => {
    for (let n = path.length; n >= 0; n--) {
      const line = this.lines.get(pathKey(path.slice(0, n)))
      if (line !== undefined) return line
    }
    return undefined
  }
}

/** Input often arrives with a byte-order mark from Windows editors; it is not part of the plan. */
export function stripBom (text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}
