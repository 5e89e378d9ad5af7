import type { z } from 'zod'
import type { RawProblem } from './locate.js'
import { valueAt, type PathSegment } from './path.js'
import { EPIC_FIELDS, PLAN_FIELDS, TASK_FIELDS } from './schema.js'
import { didYouMean } from './suggest.js'

/** Rewrites zod's issues as plan problems with messages written for plan authors. */
export function shapeProblems (issues: readonly z.core.$ZodIssue[], source: unknown): RawProblem[] {
  const out: RawProblem[] = []
  for (const issue of issues) {
    const path = issue.path.map((s): PathSegment => typeof s === 'symbol' ? String(s) : s)
    if (issue.code === 'unrecognized_keys') {
      const known = knownFields(path)
      for (const key of issue.keys) {
        out.push({ path: [...path, key], message: `unknown field "${key}"${didYouMean(key, known)}` })
      }
    } else if (issue.code === 'invalid_type') {
      out.push({ path, message: typeMessage(issue.expected, path, source) })
    } else {
      out.push({ path, message: issue.message })
    }
  }
  return out
}

function knownFields (path: readonly PathSegment[]): readonly string[] {
  if (path.length === 0) return PLAN_FIELDS
  if (path[0] === 'epics') return EPIC_FIELDS
  if (path[0] === 'tasks') return TASK_FIELDS
  return []
}

function typeMessage (expected: string, path: readonly PathSegment[], source: unknown): string {
  const parent = valueAt(source, path.slice(0, -1))
  const value = valueAt(source, path)
  if (path.length > 0 && value === undefined && typeof parent === 'object' && parent !== null) return 'is required'
  if (path.length === 0 && (value === null || value === undefined)) return 'the plan is empty: expected id, title, epics and tasks'
  if (expected === 'int') return 'must be an integer'
  const article = /^[aeiou]/.test(expected) ? 'an' : 'a'
  return `must be ${article} ${expected}, not ${describe(value)}`
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'string') return `the text ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value)}`
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : `the number ${value}`
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}
