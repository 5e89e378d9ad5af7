import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ApiError } from '../../../node/cli/client.js'
import { AllNodesDownError, AmbiguousRequestError, FailoverClient } from '../../../node/agents/failover-client.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

async function listen (handler: Handler, port = 0): Promise<{ server: Server, url: string, port: number }> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const p = (server.address() as AddressInfo).port
  return { server, url: `http://127.0.0.1:${p}`, port: p }
}

async function close (s: Server): Promise<void> {
  s.closeAllConnections()
  await new Promise<void>((resolve) => s.close(() => resolve()))
}

const json = (body: unknown, status = 200): Handler => (_req, res) => {
  res.statusCode = status
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(body))
}

describe('failover client', () => {
  const servers: Server[] = []
  const clients: FailoverClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    for (const s of servers.splice(0)) if (s.listening) await close(s)
  })
  const client = (urls: string[]): FailoverClient => {
    const c = new FailoverClient({ urls, timeoutMs: 2000, backoff: { baseMs: 20, maxMs: 50 } })
    clients.push(c)
    return c
  }

  it('moves to the next node on a refused connection or a 5xx, and stays there', async () => {
    const dead = await listen(json({}))
    await close(dead.server)
    const failing = await listen(json({ error: 'boom', details: null }, 500))
    const good = await listen(json({ node: 'good' }))
    servers.push(failing.server, good.server)
    const c = client([dead.url, failing.url, good.url])
    const switches: string[] = []
    c.on('switched', (e) => switches.push(`${e.from} -> ${e.to} (${e.reason})`))
    assert.deepEqual(await c.get('/x'), { node: 'good' })
    assert.deepEqual(switches, [`${dead.url} -> ${failing.url} (connection refused)`, `${failing.url} -> ${good.url} (HTTP 500)`])
    assert.equal(c.current, good.url)
  })

  it('passes a 4xx through without trying another node', async () => {
    let other = 0
    const a = await listen(json({ error: 'taken', details: { state: 'lost' } }, 409))
    const b = await listen((req, res) => { other++; json({})(req, res) })
    servers.push(a.server, b.server)
    await assert.rejects(client([a.url, b.url]).request('PUT', '/y', {}, { idempotent: true }), (err: unknown) => err instanceof ApiError && err.status === 409)
    assert.equal(other, 0)
  })

  it('does not resend a non-idempotent request that may have been processed', async () => {
    let second = 0
    // Reads the request, then drops the connection without answering: processed or not, who knows.
    const a = await listen((req) => { req.resume(); req.on('end', () => req.socket.destroy()) })
    const b = await listen((req, res) => { second++; json({ id: 'x' })(req, res) })
    servers.push(a.server, b.server)
    const c = client([a.url, b.url])
    await assert.rejects(c.request('POST', '/api/assignments', { taskId: 'T' }, { idempotent: false }), AmbiguousRequestError)
    assert.equal(second, 0, 'not sent to the second node')
    assert.equal(c.current, b.url, 'later requests go to the next node')
    // An idempotent one is sent on.
    assert.deepEqual(await client([a.url, b.url]).request('PUT', '/p', {}, { idempotent: true }), { id: 'x' })
  })

  it('with every node down: fails fast, or waits with backoff until one is back and says so', async () => {
    const a = await listen(json({ ok: 1 }))
    const port = a.port
    await close(a.server)
    const c = client([a.url])
    await assert.rejects(c.get('/h'), AllNodesDownError)
    const events: string[] = []
    c.on('down', () => events.push('down'))
    c.on('back', () => events.push('back'))
    const pending = c.request('PUT', '/complete', {}, { idempotent: true, untilAnswered: true })
    await new Promise(resolve => setTimeout(resolve, 200))
    const again = await listen(json({ ok: 2 }), port)
    servers.push(again.server)
    assert.deepEqual(await pending, { ok: 2 })
    assert.deepEqual(events, ['back'], 'the outage was already reported by the first request')
  })
})
