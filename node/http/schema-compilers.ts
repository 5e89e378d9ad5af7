import { createRequire } from 'node:module'
import type { FastifyServerOptions } from 'fastify'

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>
type ValidatorFactory = NonNullable<CompilersFactory['buildValidator']>
type SerializerFactory = NonNullable<CompilersFactory['buildSerializer']>

/**
 * Fastify's own JSON-schema compilers (ajv and fast-json-stringify), loaded on first use instead
 * of when the server is created. fleet validates bodies with zod and declares no route schemas,
 * so a node normally never uses them, while loading them cost about 0.35 s of every node's start
 * (a third of Fastify's share). A route that does declare a schema gets Fastify's defaults, loaded
 * then, from Fastify's own dependencies.
 */
export function lazySchemaCompilers (): CompilersFactory {
  let requireFromFastify: NodeJS.Require | null = null
  const load = <T>(id: string): T => {
    requireFromFastify ??= createRequire(createRequire(import.meta.url).resolve('fastify'))
    return requireFromFastify(id) as T
  }
  // Each factory forwards its arguments unchanged to the real one, made once as Fastify makes it
  // (it keeps a pool of compilers per set of shared schemas); the factory types are overloaded.
  type Factory = (...args: unknown[]) => unknown
  const lazy = (id: string): Factory => {
    let real: Factory | null = null
    return (...args) => {
      real ??= load<() => Factory>(id)()
      return real(...args)
    }
  }
  return {
    buildValidator: lazy('@fastify/ajv-compiler') as ValidatorFactory,
    buildSerializer: lazy('@fastify/fast-json-stringify-compiler') as SerializerFactory
  }
}
