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
