import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedAlert {
  status: string
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  fingerprint: string
}

/** One POST the receiver got, with the status it answered. */
export interface Received {
  at: number
  answered: number
  body: { version?: string, status?: string, receiver?: string, groupLabels?: Record<string, string>, commonLabels?: Record<string, string>, alerts?: ReceivedAlert[] }
}

export interface WebhookReceiver {
  url: string
  received: Received[]
  /** Alerts of the POSTs answered 2xx (what the receiver accepted). */
  accepted: () => ReceivedAlert[]
  close: () => Promise<void>
}

/** A real local HTTP receiver; `answer(n)` gives the status for the n-th POST (0-based). */
export async function startWebhookReceiver (answer: (n: number, body: Received['body']) => number = () => 200): Promise<WebhookReceiver> {
  const received: Received[] = []
  const server: Server = createServer((req, res) => {
    let data = ''
    req.on('data', (c: Buffer) => { data += c.toString() })
    req.on('end', () => {
      let body: Received['body'] = {}
      try { body = JSON.parse(data) as Received['body'] } catch { /* recorded as empty */ }
      const status = answer(received.length, body)
      received.push({ at: Date.now(), answered: status, body })
      res.writeHead(status, { 'content-type': 'text/plain' })
      res.end(status < 300 ? 'ok' : 'not now')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    accepted: () => received.filter(r => r.answered < 300).flatMap(r => r.body.alerts ?? []),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}
