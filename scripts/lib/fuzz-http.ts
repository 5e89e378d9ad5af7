import { deepJsonText, FuzzRng, mutateJson, randomJson, weirdNumber, weirdString } from './fuzz.js'

/**
 * Hostile HTTP requests for fuzz tests: the route list comes from the server itself (Fastify's
 * printRoutes), valid example bodies come from SEED_BODIES, and requests are garbage
 * (refused whatever the route's rules), mutations of the examples, or random.
 */

export interface Route {
  method: string
  /** Fastify pattern, e.g. /api/tasks/:id */
  path: string
}

/**
 * Parses `app.printRoutes({ commonPrefix: false })`: a tree whose lines carry a path segment
 * and, for routes, their methods in parentheses. HEAD twins of GET routes are dropped.
 */
export function parseRouteTree (text: string): Route[] {
  const out: Route[] = []
  const stack: string[] = []
  for (const line of text.split('\n')) {
    const m = /^([│├└─\s]*)(\S.*?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (m === null) continue
    const depth = Math.floor((m[1] ?? '').length / 4)
    stack.length = depth
    const full = (stack[depth - 1] ?? '') + (m[2] ?? '')
    stack[depth] = full
    for (const method of (m[3] ?? '').split(',').map(s => s.trim()).filter(Boolean)) {
      if (method !== 'HEAD') out.push({ method, path: full })
    }
  }
  return out
}

export const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'DELETE', 'PATCH'])

/** Valid bodies per route (from the API contract); routes not listed take no body. */
export const SEED_BODIES: Readonly<Record<string, readonly unknown[]>> = {
  'POST /api/tasks': [{ id: 'fz-task', title: 'fuzz task', estimatedHours: 2, priority: 1, role: 'backend', dependsOn: [], description: 'd', acceptance: 'a' }],
  'PUT /api/tasks/:id': [{ title: 'renamed', priority: 2, estimatedHours: 3 }, { status: 'cancelled' }],
  'POST /api/plan/import': [
    { format: 'markdown', content: '# Plan: Fuzz\nid: fuzz\n\n## Epic E1: One (role: backend)\n\n### T1: First (2h)\n\n### T2: Second (3h, depends: T1)\n' },
    { plan: { id: 'fuzz-json', title: 'Fuzz', epics: [{ id: 'E1', title: 'One', role: 'backend' }], tasks: [{ id: 'J1', epic: 'E1', title: 'Json task', estimatedHours: 4, dependsOn: [], priority: 0 }] } }
  ],
  'POST /api/agents': [{ id: 'agent-fz', name: 'Fuzz', role: 'backend', capabilities: ['ts'] }],
  'POST /api/assignments': [{ taskId: 'T1', agentId: 'agent-fz' }],
  'PUT /api/assignments/:id/progress': [{ percent: 50, message: 'half way' }],
  'PUT /api/assignments/:id/complete': [{ summary: 'done' }],
  'PUT /api/assignments/:id/fail': [{ reason: 'broken' }],
  'POST /api/evidence': [{ taskId: 'T1', assignmentId: 'a-1', kind: 'log', content: 'ok' }, { taskId: 'T1', assignmentId: 'a-1', kind: 'link', uri: 'https://example.com/ci/1' }],
  'POST /api/git/merge-queue': [{ taskId: 'T1', assignmentId: 'a-1', branch: 'feature/t1', priority: 0 }],
  'PUT /api/git/merge-queue/:id/complete': [{ sha: 'a'.repeat(40) }, { ejected: 'conflict', output: 'x' }]
}

/** Ids that may exist in the target, so some requests reach past the "not found" checks. */
export const KNOWN_IDS = ['T1', 'T2', 'J1', 'fz-task', 'agent-fz', 'a-1']

export interface FuzzRequest {
  method: string
  /** Path and query, already encoded. */
  url: string
  headers: Record<string, string>
  body?: string | Uint8Array
  /** The route this request aims at ("METHOD pattern"). */
  route: string
}

export function routeKey (r: Route): string {
  return `${r.method} ${r.path}`
}

/** True if the route's example bodies have required content (so garbage must be refused). */
export function takesBody (r: Route): boolean {
  return (SEED_BODIES[routeKey(r)] ?? []).some(b => typeof b === 'object' && b !== null && Object.keys(b).length > 0)
}

function safeEncode (s: string): string {
  try {
    return encodeURIComponent(s)
  } catch {
    return '%ED%A0%80' // what a lone surrogate becomes when a client sends it anyway
  }
}

/** The route's path with its parameters filled: unknown ids (garbage) or sometimes known ones. */
function fillPath (rng: FuzzRng, path: string, known: boolean): string {
  return path.replace(/:[A-Za-z]+/g, () => known && rng.chance(0.5)
    ? rng.pick(KNOWN_IDS)
    : safeEncode(rng.chance(0.5) ? weirdString(rng) || 'x' : `no-such-${rng.int(1e6)}`))
}

function randomQuery (rng: FuzzRng): string {
  if (rng.chance(0.6)) return ''
  const p = new URLSearchParams()
  const n = rng.range(1, 3)
  for (let i = 0; i < n; i++) {
    const v = weirdString(rng)
    try { p.append(rng.pick(['status', 'epic', 'role', 'includeFenced', 'lastEventId', weirdString(rng)]), v.slice(0, 2000)) } catch { /* lone surrogate */ }
  }
  return '?' + p.toString()
}

/** Every value of a seed replaced by one of another type: refused by any schema of the seed's shape. */
function retyped (rng: FuzzRng, seed: unknown): unknown {
  if (seed === null || typeof seed !== 'object' || Array.isArray(seed)) return [seed]
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(seed)) {
    out[k] = typeof v === 'string' ? (rng.chance(0.5) ? weirdNumber(rng) : [v]) : typeof v === 'number' ? String(v) + rng.pick(['', 'h', 'x']) : typeof v === 'object' ? rng.int(5) : 'x'
  }
  return out
}

const JSON_TYPE = 'application/json'

/**
 * A body no route may accept: invalid JSON, the wrong type at the top, every field of the
 * wrong type, only unknown fields, an unsupported content type, or too large.
 */
export function garbageBody (rng: FuzzRng, route: Route): Pick<FuzzRequest, 'headers' | 'body'> {
  const seed = rng.pick(SEED_BODIES[routeKey(route)] ?? [{}])
  switch (rng.int(10)) {
    case 0: return { headers: { 'content-type': JSON_TYPE }, body: rng.pick(['{', '{"id": "x",}', '{"id": NaN}', "{'id': 'x'}", '\u0000', '{"a":1}{"b":2}', 'nul', '[1, 2', '"unterminated', '{"id": "\\ud800"', '']) }
    case 1: return { headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(rng.pick([[], [seed], 1, 'text', true, null, 1e308, -0.5])) }
    case 2: return { headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(retyped(rng, seed)) }
    case 3: return { headers: { 'content-type': JSON_TYPE }, body: JSON.stringify({ [`unknown_${rng.int(100)}`]: randomJson(rng, 2), __proto__x: 1 }) }
    case 4: return { headers: { 'content-type': JSON_TYPE }, body: deepJsonText(rng.pick([100, 1000, 10_000, 100_000]), rng.chance(0.5)) }
    case 5: return { headers: { 'content-type': rng.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/octet-stream']) }, body: JSON.stringify(seed) }
    // Really UTF-16 (Fastify reads JSON as UTF-8 whatever the charset says, so this is garbage to it).
    case 6: return { headers: { 'content-type': 'application/json; charset=utf-16' }, body: new Uint8Array(Buffer.from(JSON.stringify(seed), 'utf16le')) }
    // Bytes, so fetch adds no content type of its own (a string body would become text/plain).
    case 7: return { headers: {}, body: new TextEncoder().encode(JSON.stringify(seed)) }
    case 8: return { headers: { 'content-type': JSON_TYPE }, body: JSON.stringify({ ...(seed as object), padding: 'x'.repeat(rng.pick([1_100_000, 2_000_000])) }) }
    default: return { headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(rng.chance(0.5) ? {} : { id: 1, title: 2 }) }
  }
}

/** A request that must be refused: garbage to a route that takes a body, with ids that do not exist. */
export function garbageRequest (rng: FuzzRng, route: Route): FuzzRequest {
  return { method: route.method, url: fillPath(rng, route.path, false), route: routeKey(route), ...garbageBody(rng, route) }
}

/** Anything goes: mutated examples, random JSON, odd queries, known ids, other methods. */
export function randomRequest (rng: FuzzRng, route: Route): FuzzRequest {
  const method = rng.chance(0.05) ? rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) : route.method
  const url = fillPath(rng, route.path, true) + randomQuery(rng)
  const base = { method, url, route: routeKey(route), headers: {} as Record<string, string> }
  if (method === 'GET' || method === 'OPTIONS') {
    if (rng.chance(0.2)) base.headers['last-event-id'] = rng.pick(['0', '-1', '1e9', '99999999999999999999', 'abc'])
    return base
  }
  const seeds = SEED_BODIES[routeKey(route)] ?? [{}]
  switch (rng.int(6)) {
    case 0: case 1: case 2: return { ...base, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(mutateJson(rng, rng.pick(seeds))) }
    case 3: return { ...base, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(randomJson(rng, 4)) }
    case 4: return { ...base, ...garbageBody(rng, route) }
    default: return { ...base, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(rng.pick(seeds)) }
  }
}

export interface FuzzOutcome {
  request: FuzzRequest
  status: number | null
  /** Network failure, or the client refusing to send the request at all. */
  error: string | null
  body: string
}

export interface HttpFuzzSummary {
  total: number
  byStatus: Record<string, number>
  /** Responses with a 5xx status: each one is a bug. */
  serverErrors: FuzzOutcome[]
  /** Connection failures (the server died or dropped the request). */
  networkErrors: FuzzOutcome[]
  /** Requests the client itself could not send (e.g. invalid header values); not the server's fault. */
  unsendable: number
  /**
   * Oversized bodies the server refused mid-upload: it answers 413 and closes the connection,
   * so the client sees EPIPE/ECONNRESET while still writing. That is the limit working.
   */
  oversizeCutOff: number
  /** 4xx responses whose body is not JSON `{error, details}`. */
  badErrorBodies: FuzzOutcome[]
  /** Writes (POST/PUT/DELETE/PATCH) that got a 2xx. */
  acceptedWrites: FuzzOutcome[]
  ms: number
}

/**
 * Yields `count` requests made one at a time by `make`, in order: the same seed gives the same
 * requests as building them all first, without holding thousands of bodies (some over 1 MB) at once.
 */
export function * generated (count: number, make: () => FuzzRequest): Generator<FuzzRequest> {
  for (let i = 0; i < count; i++) yield make()
}

/**
 * Sends requests with bounded concurrency, taking each from `requests` when a worker is free;
 * streaming responses (SSE) are cut after the headers.
 */
export async function runHttpFuzz (baseUrl: string, requests: Iterable<FuzzRequest>, concurrency = 8, timeoutMs = 15_000, oversizeBytes = 1024 * 1024): Promise<HttpFuzzSummary> {
  const started = Date.now()
  const summary: HttpFuzzSummary = { total: 0, byStatus: {}, serverErrors: [], networkErrors: [], unsendable: 0, oversizeCutOff: 0, badErrorBodies: [], acceptedWrites: [], ms: 0 }
  const source = requests[Symbol.iterator]()
  const worker = async (): Promise<void> => {
    for (;;) {
      const taken = source.next()
      if (taken.done === true) return
      const request = taken.value
      summary.total++
      const outcome: FuzzOutcome = { request, status: null, error: null, body: '' }
      let res: Response
      try {
        res = await fetch(baseUrl + request.url, { method: request.method, headers: request.headers, body: request.body, signal: AbortSignal.timeout(timeoutMs) })
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } }
        // fetch validates headers and bodies before connecting; those throw TypeError without a cause code.
        if (e.name === 'TypeError' && e.cause?.code === undefined && !/fetch failed/.test(e.message)) {
          summary.unsendable++
          continue
        }
        if ((typeof request.body === 'string' ? request.body.length : request.body?.byteLength ?? 0) > oversizeBytes && (e.cause?.code === 'EPIPE' || e.cause?.code === 'ECONNRESET')) {
          summary.oversizeCutOff++
          continue
        }
        outcome.error = `${e.name}: ${e.message}${e.cause?.code === undefined ? '' : ` (${e.cause.code})`}`
        summary.networkErrors.push(outcome)
        continue
      }
      outcome.status = res.status
      if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
        await res.body?.cancel()
      } else {
        try { outcome.body = await res.text() } catch (err) { outcome.error = (err as Error).message }
      }
      summary.byStatus[String(res.status)] = (summary.byStatus[String(res.status)] ?? 0) + 1
      if (res.status >= 500) summary.serverErrors.push(outcome)
      if (res.status >= 400 && res.status < 500 && !isErrorBody(outcome.body)) summary.badErrorBodies.push(outcome)
      if (res.status < 300 && WRITE_METHODS.has(request.method)) summary.acceptedWrites.push(outcome)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  summary.ms = Date.now() - started
  return summary
}

function isErrorBody (text: string): boolean {
  try {
    const v = JSON.parse(text) as unknown
    return typeof v === 'object' && v !== null && typeof (v as { error?: unknown }).error === 'string' && 'details' in v
  } catch {
    return false
  }
}
