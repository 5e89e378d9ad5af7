export interface SseEvent {
  id: string | null
  event: string
  data: string
}

/**
 * Reads a Server-Sent Events stream, calling onEvent for each event, until the signal aborts.
 * Small on purpose: enough for tests, benchmarks and the CLI.
 */
export async function readSse (url: string, onEvent: (e: SseEvent) => void, init: { signal: AbortSignal, lastEventId?: string }): Promise<void> {
  const res = await fetch(url, { signal: init.signal, headers: init.lastEventId === undefined ? {} : { 'last-event-id': init.lastEventId } })
  if (!res.ok || res.body === null) throw new Error(`GET ${url} -> ${res.status}`)
  const decoder = new TextDecoder()
  let buf = ''
  try {
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true })
      let i: number
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const e: SseEvent = { id: null, event: 'message', data: '' }
        let isEvent = false
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue
          const c = line.indexOf(':')
          const field = c < 0 ? line : line.slice(0, c)
          const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '')
          if (field === 'id') e.id = value
          else if (field === 'event') e.event = value
          else if (field === 'data') { e.data += (e.data === '' ? '' : '\n') + value; isEvent = true }
        }
        if (isEvent) onEvent(e)
      }
    }
  } catch (err) {
    if (!init.signal.aborted) throw err
  }
}
