// The dashboard's login under --auth-reads: a browser cannot attach a bearer token to the page's
// requests, so the token is traded once for an HttpOnly, SameSite=Strict session cookie
// (POST /api/session). The token is sent once and never stored by the page.

/** Resolves once the page may read the API: at once without --auth-reads or with a session. */
export async function ensureSession () {
  let s = null
  try {
    const res = await fetch('/api/session', { headers: { accept: 'application/json' } })
    if (res.ok) s = await res.json()
  } catch {
    // An older node without sessions, or unreachable: carry on; reads show "—" if refused.
  }
  if (s === null || !s.required || s.authenticated) return
  await showLogin()
}

function showLogin () {
  const form = document.getElementById('login')
  const input = document.getElementById('login-token')
  const error = document.getElementById('login-error')
  document.body.classList.add('locked')
  form.hidden = false
  input.focus()
  return new Promise((resolve) => {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault()
      error.textContent = ''
      let res
      try {
        res = await fetch('/api/session', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ token: input.value.trim() }) })
      } catch {
        error.textContent = 'the node does not answer'
        return
      }
      if (!res.ok) {
        error.textContent = res.status === 401 ? 'wrong token' : `login failed (${res.status})`
        return
      }
      input.value = ''
      form.hidden = true
      document.body.classList.remove('locked')
      resolve()
    })
  })
}
