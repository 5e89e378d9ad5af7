export interface JsonResponse<T = any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  status: number
  body: T
}

/** fetch + JSON, for tests. */
export async function api<T = any> (base: string, method: string, path: string, body?: unknown): Promise<JsonResponse<T>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body))
  })
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch { /* not JSON: keep the text */ }
  return { status: res.status, body: parsed as T }
}

export async function getJson<T = any> (base: string, path: string): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await api<T>(base, 'GET', path)
  if (r.status !== 200) throw new Error(`GET ${path} -> ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

/** GET /health with a deadline, or null when the node does not answer 200 in time (a stuck event loop never answers). */
export async function healthWithin<T = { peers: number }> (url: string, timeoutMs: number): Promise<T | null> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) })
    return res.status === 200 ? await res.json() as T : null
  } catch {
    return null
  }
}
