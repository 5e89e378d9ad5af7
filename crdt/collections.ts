import { bucketOf, type Buckets } from './schema.js'

/** Reads and writes of the bucketed collections, so callers never compute buckets themselves. */

/**
 * A map's own entry: an id like "constructor" or "__proto__" must never reach Object.prototype
 * (ids come from users and peers).
 */
export function own<T> (map: Record<string, T> | undefined, key: string): T | undefined {
  return map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined
}

export function getIn<T> (coll: Buckets<T>, id: string): T | undefined {
  return own(own(coll, bucketOf(id)), id)
}

export function putIn<T> (coll: Buckets<T>, id: string, value: T): void {
  const bucket = coll[bucketOf(id)]
  // Buckets are created in genesis; a missing one means a foreign or corrupt document.
  if (bucket === undefined) throw new Error(`document has no bucket for ${id}`)
  bucket[id] = value
}

export function * valuesOf<T> (coll: Buckets<T>): Generator<T> {
  for (const bucket of Object.values(coll)) {
    for (const v of Object.values(bucket)) yield v
  }
}

export function countOf<T> (coll: Buckets<T>): number {
  let n = 0
  for (const bucket of Object.values(coll)) n += Object.keys(bucket).length
  return n
}
