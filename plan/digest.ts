import { createHash } from 'node:crypto'
import type { Plan } from './schema.js'

/**
 * sha256 (hex) of the plan's canonical JSON: keys in a fixed order, so the same plan read from
 * JSON, YAML or Markdown has the same digest, and a re-import can be recognised as a no-op.
 */
export function planDigest (plan: Plan): string {
  return createHash('sha256').update(canonicalJson(plan)).digest('hex')
}

export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value).sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
