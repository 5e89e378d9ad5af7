import { z } from 'zod'
import { invalidInput } from '../../crdt/errors.js'

/** Actions without parameters take no body, or an empty object. */
export const EmptyBody = z.object({}).strict().optional()

/** Parses a request part with a zod schema; a mismatch is a 400 naming every bad field. */
export function parseInput<S extends z.ZodType> (schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value ?? (what === 'body' ? undefined : {}))
  if (!r.success) throw invalidInput(what, r.error)
  return r.data
}
