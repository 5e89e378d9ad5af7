import { z } from 'zod'
import { invalidInput, InvalidInputError } from '../../crdt/errors.js'
import { PLAN_FORMATS } from '../../plan/detect.js'
import { PlanValidationError } from '../../plan/errors.js'
import { parsePlan, parsePlanValue } from '../../plan/load.js'
import type { Plan } from '../../plan/schema.js'

/**
 * The body of a plan import and its reading into a validated Plan: the text with its format, or a
 * plan object given as JSON. Kept apart from the service (no Automerge, no projection) so the plan
 * worker (plan-worker.ts) loads only this and plan/.
 */
export const PlanImportBody = z.union([
  z.object({
    content: z.string().min(1, 'the plan text is empty'),
    format: z.enum(PLAN_FORMATS).optional(),
    file: z.string().max(512).optional()
  }).strict(),
  z.object({ plan: z.unknown() }).strict()
])
export type PlanImportBody = z.infer<typeof PlanImportBody>

/** A parsed import body to a validated plan; a bad plan is an InvalidInputError listing every problem (file, line, path). */
export function planFromBody (body: PlanImportBody): Plan {
  try {
    if ('content' in body) return parsePlan(body.content, { ...(body.format === undefined ? {} : { format: body.format }), ...(body.file === undefined ? {} : { file: body.file }) })
    return parsePlanValue(body.plan, 'body.plan')
  } catch (err) {
    if (err instanceof PlanValidationError) {
      throw new InvalidInputError(`invalid plan: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}`, err.problems)
    }
    throw err
  }
}

/**
 * The raw bytes of an import request (JSON) to a validated plan: not JSON, a body of another
 * shape and a bad plan are each an InvalidInputError saying what is wrong and where.
 */
export function planFromBytes (bytes: Uint8Array): Plan {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  } catch (err) {
    throw new InvalidInputError(`invalid body: not JSON (${(err as Error).message})`, [{ path: '(body)', message: 'not JSON' }])
  }
  const body = PlanImportBody.safeParse(value)
  if (!body.success) throw invalidInput('body', body.error)
  return planFromBody(body.data)
}
