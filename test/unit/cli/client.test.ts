import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ApiError, BadNodeUrlError, FleetClient, NodeUnreachableError, parseNodeUrl } from '../../../node/cli/client.js'

async function listen (handler: Parameters<typeof createServer>[1]): Promise<{ server: Server, url: string }> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

describe('cli node client', () => {
  it('accepts http(s) URLs and bare HOST:PORT, and rejects anything else', () => {
    assert.equal(parseNodeUrl('http://127.0.0.1:3000/'), 'http://127.0.0.1:3000')
    assert.equal(parseNodeUrl('127.0.0.1:3001'), 'http://127.0.0.1:3001')
    assert.equal(parseNodeUrl('https://fleet.example:8443'), 'https://fleet.example:8443')
    for (const bad of ['ftp://x', 'http://', 'http://a:1/?q=1', 'not a url at all']) {
      assert.throws(() => parseNodeUrl(bad), BadNodeUrlError, bad)
    }
  })

  it('reports a closed port as unreachable, in one line naming the node', async () => {
    const { server, url } = await listen(() => {})
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const c = new FleetClient({ baseUrl: url })
    await assert.rejects(c.get('/health'), (err: unknown) => {
      assert.ok(err instanceof NodeUnreachableError)
      assert.equal(err.message, `cannot reach fleet node at ${url} (connection refused)`)
      return true
    })
  })

  it('turns error statuses into ApiError with the node\'s message; getOptional maps 404 to null', async () => {
    const { server, url } = await listen((req, res) => {
      res.setHeader('content-type', 'application/json')
      if (req.url === '/ok') {
        res.end(JSON.stringify({ yes: true, auth: req.headers.authorization ?? null }))
      } else if (req.url === '/bad') {
        res.statusCode = 400
        res.end(JSON.stringify({ error: 'invalid query: status: bad', details: [{ path: 'status', message: 'bad' }] }))
      } else {
        res.statusCode = 404
        res.end(JSON.stringify({ error: 'no route', details: null }))
      }
    })
    try {
      const c = new FleetClient({ baseUrl: url, token: 's3cret' })
      assert.deepEqual(await c.get('/ok'), { yes: true, auth: 'Bearer s3cret' })
      assert.equal(await c.getOptional('/missing'), null)
      await assert.rejects(c.get('/bad'), (err: unknown) => {
        assert.ok(err instanceof ApiError)
        assert.equal(err.status, 400)
        assert.equal(err.message, 'GET /bad -> 400: invalid query: status: bad')
        assert.deepEqual(err.details, [{ path: 'status', message: 'bad' }])
        return true
      })
      await assert.rejects(c.getOptional('/bad'), ApiError)
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
