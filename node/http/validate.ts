import { z } from 'zod'
import { InvalidInputError } from '../../crdt/errors.js'
import { zodDetails } from './errors.js'

/** Actions without parameters take no body, or an empty object. */
export const EmptyBody = z.object({}).strict().optional()

/** Parses a request part with a zod schema; a mismatch is a 400 naming every bad field. */
export function parseInput<S extends z.ZodType> (schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value ?? (what === 'body' ? undefined : {}))
  if (!r.success) {
    const details = zodDetails(r.error)
    throw new InvalidInputError(`invalid ${what}: ${details.map(d => `${d.path}: ${d.message}`).join('; ')}`, details)
  }
  return r.data
}
