import assert from 'node:assert/strict'
import Fastify from 'fastify'
import { lazySchemaCompilers } from '../../../node/http/schema-compilers.js'

describe('http/schema-compilers: Fastify\'s JSON-schema compilers loaded on first use', () => {
  it('still validates and serializes a route that declares schemas, as Fastify\'s defaults do', async () => {
    const app = Fastify({ schemaController: { compilersFactory: lazySchemaCompilers() } })
    app.post('/echo', {
      schema: {
        body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
        response: { 200: { type: 'object', properties: { n: { type: 'integer' } } } }
      }
    }, async (req) => ({ n: (req.body as { n: number }).n, secret: 'not in the response schema' }))
    try {
      const ok = await app.inject({ method: 'POST', url: '/echo', payload: { n: 3 } })
      assert.equal(ok.statusCode, 200)
      // fast-json-stringify writes only the fields of the response schema.
      assert.deepEqual(ok.json(), { n: 3 })
      const bad = await app.inject({ method: 'POST', url: '/echo', payload: { n: 'three' } })
      assert.equal(bad.statusCode, 400, 'ajv refuses a body that does not match the schema')
      assert.match(bad.json<{ message: string }>().message, /body\/n must be integer/)
    } finally {
      await app.close()
    }
  })
})
