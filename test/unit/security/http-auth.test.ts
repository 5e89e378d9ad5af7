import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { createHttpServer, DEFAULT_BODY_LIMIT, DEFAULT_ROUTE_BODY_LIMIT } from '../../../node/http/server.js'
import { ApiTokenError, isLoopbackHost, parseApiToken, generateApiToken } from '../../../node/http/auth.js'
import { silentLogger } from '../../../node/logger.js'

const TOKEN = 'correct-horse-battery-staple-42'

/** Routes standing in for the real API: what matters here is method, path and body size. */
function routes (app: FastifyInstance): void {
  app.get('/health', async () => ({ status: 'healthy' }))
  app.get('/api/tasks', async () => [])
  app.post('/api/tasks', async (req) => ({ got: req.body }))
  app.put('/api/tasks/:id', async () => ({ ok: true }))
  app.delete('/api/tasks/:id', async () => ({ ok: true }))
  app.post('/api/plan/import', async (req) => ({ bytes: JSON.stringify(req.body).length }))
}

function server (auth?: { token: string, protectReads?: boolean }): FastifyInstance {
  return createHttpServer({ logger: silentLogger(), ...(auth === undefined ? {} : { auth }) }, {}, [routes])
}

describe('HTTP API tokens', () => {
  let app: FastifyInstance
  afterEach(async () => { await app.close() })

  it('refuses writes without the token with 401 {error, details}, and accepts them with it', async () => {
    app = server({ token: TOKEN })
    for (const [method, url] of [['POST', '/api/tasks'], ['PUT', '/api/tasks/x'], ['DELETE', '/api/tasks/x'], ['POST', '/api/nowhere']] as const) {
      const none = await app.inject({ method, url, payload: { id: 'x' } })
      assert.equal(none.statusCode, 401, `${method} ${url} without a token`)
      assert.match(none.json().error, /missing Authorization header/)
      assert.deepEqual(none.json().details, { scheme: 'Bearer', required: 'writes (POST, PUT, DELETE, PATCH)' })
      assert.equal(none.headers['www-authenticate'], 'Bearer realm="fleet"')
    }
    const wrong = await app.inject({ method: 'POST', url: '/api/tasks', headers: { authorization: `Bearer ${TOKEN}x` }, payload: {} })
    assert.equal(wrong.statusCode, 401)
    assert.match(wrong.json().error, /wrong token/)
    const basic = await app.inject({ method: 'POST', url: '/api/tasks', headers: { authorization: `Basic ${TOKEN}` }, payload: {} })
    assert.match(basic.json().error, /not "Bearer <token>"/)
    const ok = await app.inject({ method: 'POST', url: '/api/tasks', headers: { authorization: `bearer ${TOKEN}` }, payload: { id: 'x' } })
    assert.equal(ok.statusCode, 200)
    assert.deepEqual(ok.json(), { got: { id: 'x' } })
  })

  it('leaves reads open unless asked, and GET /health open always', async () => {
    app = server({ token: TOKEN })
    assert.equal((await app.inject({ method: 'GET', url: '/api/tasks' })).statusCode, 200)
    await app.close()
    app = server({ token: TOKEN, protectReads: true })
    assert.equal((await app.inject({ method: 'GET', url: '/api/tasks' })).statusCode, 401)
    assert.equal((await app.inject({ method: 'GET', url: '/api/tasks', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200)
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
    assert.equal((await app.inject({ method: 'HEAD', url: '/health' })).statusCode, 200)
    assert.equal((await app.inject({ method: 'GET', url: '/health?x=1' })).statusCode, 200)
    assert.equal((await app.inject({ method: 'GET', url: '/nowhere' })).statusCode, 401, 'unknown paths do not reveal themselves')
  })

  it('refuses an unauthenticated body before reading it (no 413 or 400 leaks)', async () => {
    app = server({ token: TOKEN })
    const r = await app.inject({ method: 'POST', url: '/api/tasks', headers: { 'content-type': 'application/json' }, payload: '{not json' + 'x'.repeat(2 * DEFAULT_ROUTE_BODY_LIMIT) })
    assert.equal(r.statusCode, 401)
  })

  it('without a token configured, changes nothing (the loopback default)', async () => {
    app = server()
    assert.equal((await app.inject({ method: 'POST', url: '/api/tasks', payload: {} })).statusCode, 200)
  })
})

describe('HTTP body limits', () => {
  let app: FastifyInstance
  afterEach(async () => { await app.close() })

  it('caps ordinary routes at 1 MiB (413 {error, details}) and lets plan imports be larger', async () => {
    app = server()
    const big = { content: 'x'.repeat(DEFAULT_ROUTE_BODY_LIMIT + 10) }
    const r = await app.inject({ method: 'POST', url: '/api/tasks', payload: big })
    assert.equal(r.statusCode, 413)
    assert.equal(typeof r.json().error, 'string')
    assert.ok('details' in r.json())
    const plan = await app.inject({ method: 'POST', url: '/api/plan/import', payload: big })
    assert.equal(plan.statusCode, 200)
    const huge = await app.inject({ method: 'POST', url: '/api/plan/import', payload: { content: 'x'.repeat(DEFAULT_BODY_LIMIT + 1024) } })
    assert.equal(huge.statusCode, 413)
  })
})

describe('HTTP errors raised before routing', () => {
  let app: FastifyInstance
  afterEach(async () => { await app.close() })

  it('keep the {error, details} shape: bad URL encoding, over-long parameters, oversized headers', async () => {
    app = server()
    const badUrl = await app.inject({ method: 'PUT', url: '/api/tasks/%ED%A0%80' })
    assert.equal(badUrl.statusCode, 400)
    assert.deepEqual(Object.keys(badUrl.json()).sort(), ['details', 'error'])
    const longParam = await app.inject({ method: 'PUT', url: '/api/tasks/' + 'x'.repeat(500) })
    assert.equal(longParam.statusCode, 414)
    assert.deepEqual(Object.keys(longParam.json()).sort(), ['details', 'error'])
    // Header overflow is caught by Node's HTTP parser, so it needs a real socket.
    await app.listen({ host: '127.0.0.1', port: 0 })
    const port = (app.server.address() as { port: number }).port
    const res = await fetch(`http://127.0.0.1:${port}/api/tasks`, { headers: { 'x-big': 'y'.repeat(20_000) } })
    assert.equal(res.status, 431)
    assert.deepEqual(await res.json(), { error: 'Request Header Fields Too Large', details: { code: 'HPE_HEADER_OVERFLOW' } })
  })
})

describe('token files and addresses', () => {
  it('accepts generated tokens and refuses short, multi-line or spaced ones', () => {
    const t = generateApiToken()
    assert.equal(parseApiToken(`${t}\n`), t)
    assert.throws(() => parseApiToken(''), /empty/)
    assert.throws(() => parseApiToken('short'), (e: unknown) => e instanceof ApiTokenError && /5 characters; use at least 16/.test(e.message))
    assert.throws(() => parseApiToken('aaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbbbb'), /single line/)
    assert.throws(() => parseApiToken('aaaaaaaa bbbbbbbbbbbb'), /visible ASCII/)
  })

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h)
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.5', 'example.com', '128.0.0.1', '::ffff:10.0.0.1']) assert.ok(!isLoopbackHost(h), h)
  })
})
