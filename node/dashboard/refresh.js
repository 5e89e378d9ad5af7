// Keeping the page current: GET /api/events (Server-Sent Events) marks resources dirty, and each
// dirty resource is refetched, debounced, so a burst of events (a plan import) costs one refetch.

const DEBOUNCE_MS = 150
/** Under a steady stream of events, refetch at least this often. */
const MAX_WAIT_MS = 1000
const RECONNECT_MS = 3000

/** JSON of a GET, or null when the endpoint is missing, fails, or the node is unreachable. */
export async function getJson (path) {
  try {
    const res = await fetch(path, { headers: { accept: 'application/json' } })
    if (!res.ok) return null
    return await res.json()
  } catch {
    return null
  }
}

/**
 * A refresher over named resources, each `{ load, render }`: `load` fetches (null when it
 * fails), `render` draws it; `onRefreshed` runs after each render (the "updated" stamp).
 */
export function createRefresher (resources, state, onRefreshed) {
  const dirty = new Set()
  const inFlight = new Set()
  const again = new Set()
  let timer = null
  let firstDirtyAt = 0

  function invalidate (...names) {
    for (const n of names) dirty.add(n)
    const now = Date.now()
    if (timer === null) firstDirtyAt = now
    else clearTimeout(timer)
    const wait = Math.max(0, Math.min(DEBOUNCE_MS, MAX_WAIT_MS - (now - firstDirtyAt)))
    timer = setTimeout(flush, wait)
  }

  function flush () {
    timer = null
    const names = [...dirty]
    dirty.clear()
    for (const n of names) void refresh(n)
  }

  const notBefore = new Map()
  const deferred = new Set()

  async function refresh (name) {
    // One request per resource at a time; an event during it schedules one more afterwards.
    if (inFlight.has(name)) {
      again.add(name)
      return
    }
    // A resource that is slow to load (10,000 tasks) is fetched at most once per three load times.
    const wait = (notBefore.get(name) ?? 0) - Date.now()
    if (wait > 0) {
      if (!deferred.has(name)) {
        deferred.add(name)
        setTimeout(() => { deferred.delete(name); void refresh(name) }, wait)
      }
      return
    }
    inFlight.add(name)
    const started = Date.now()
    try {
      state[name] = await resources[name].load()
      resources[name].render()
      onRefreshed()
    } catch (err) {
      console.error(`dashboard: refreshing ${name} failed`, err)
    } finally {
      notBefore.set(name, Date.now() + 2 * (Date.now() - started))
      inFlight.delete(name)
      if (again.delete(name)) invalidate(name)
    }
  }

  return { invalidate }
}

export function setLive (s, text) {
  const el = document.getElementById('live')
  el.dataset.state = s
  el.textContent = text
}

/**
 * Listens to the node's events: `eventResources` maps an event type to the resources it can
 * change; `all` are reloaded after a gap; `onEvent` counts.
 */
export function connect (opts) {
  const { eventResources, invalidate, all, onEvent } = opts
  const es = new EventSource('/api/events')
  let dropped = false
  es.onopen = () => {
    setLive('live', 'live')
    // After a gap, do not trust resume (the node may have restarted): reload everything.
    if (dropped) invalidate(...all)
    dropped = false
  }
  es.onerror = () => {
    dropped = true
    if (es.readyState === EventSource.CLOSED) {
      setLive('down', 'offline')
      setTimeout(() => { connect(opts) }, RECONNECT_MS)
    } else {
      setLive('down', 'reconnecting')
    }
  }
  for (const [type, names] of Object.entries(eventResources)) {
    es.addEventListener(type, () => {
      onEvent()
      invalidate(...names)
    })
  }
}
