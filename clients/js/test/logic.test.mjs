// The client's own logic, without a server: how many times it retries a CSRF
// failure, how answers map to error classes, the cookie jar, timeouts, and
// auth events fanning out between two clients (node has BroadcastChannel) or
// through the localStorage fallback.  The fetch here is a small scripted
// stand-in whose answers copy the server's (tests/server.test.mjs checks them
// against the real one).
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import {
  AuthenticationError,
  ConflictError,
  CsrfError,
  GatehouseError,
  MemoryCookieJar,
  MfaRequiredError,
  NetworkError,
  NotFoundError,
  PermissionError,
  ReauthenticationRequiredError,
  ThrottledError,
  UnavailableError,
  ValidationError,
  cookieValue,
  createClient,
  errorFromResponse,
  formatWait,
  parseAuthMessage,
} from '../src/index.js'

const BASE = 'http://gatehouse.test'
const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } })
const CSRF_FAILED = { detail: 'CSRF Failed: CSRF token incorrect.' }

/**
 * A scripted fetch: route(method, path, request) answers; every call is kept
 * as {method, path, headers}.  GET /api/login-set-cookie/ sets csrftoken=<token()>
 * unless the route answers it.
 */
function fakeFetch(route, { token = () => 'a'.repeat(32) } = {}) {
  const calls = []
  const fetch = async (url, init) => {
    const path = new URL(url).pathname + new URL(url).search
    const call = { method: init.method, path, headers: init.headers, body: init.body }
    calls.push(call)
    const answer = await route(init.method, path, call)
    if (answer) return answer
    if (path === '/api/login-set-cookie/')
      return json(200, { detail: 'CSRF cookie set' }, { 'Set-Cookie': `csrftoken=${token()}; Path=/; SameSite=Lax` })
    return json(404, { detail: 'Not found.' })
  }
  return { fetch, calls }
}

const lines = (calls) => calls.map((c) => `${c.method} ${c.path}`)

function client(fetch, options = {}) {
  return createClient({ baseUrl: BASE, fetch, crossTab: false, ...options })
}

test('a CSRF failure is retried exactly once, after one refresh of the cookie', async () => {
  const { fetch, calls } = fakeFetch((method, path) => (method === 'POST' ? json(403, CSRF_FAILED) : null))
  const c = client(fetch)
  const err = await c.sessions.revokeOthers().catch((e) => e)
  assert.ok(err instanceof CsrfError && err instanceof PermissionError, `got ${err}`)
  assert.equal(err.detail, CSRF_FAILED.detail)
  assert.deepEqual(lines(calls), [
    'GET /api/login-set-cookie/', // no cookie yet
    'POST /api/sessions/revoke-others/',
    'GET /api/login-set-cookie/', // the refresh
    'POST /api/sessions/revoke-others/', // the one retry
  ])
  assert.equal(calls[1].headers['X-CSRFToken'], 'a'.repeat(32))
})

test('the retry carries the refreshed token and its success is the answer', async () => {
  let n = 0
  const { fetch, calls } = fakeFetch(
    (method, path, call) => {
      if (method !== 'POST') return null
      return call.headers['X-CSRFToken'] === 'b'.repeat(32) ? json(200, { detail: 'ok' }) : json(403, CSRF_FAILED)
    },
    { token: () => (n++ === 0 ? 'a' : 'b').repeat(32) },
  )
  const c = client(fetch)
  assert.deepEqual(await c.sessions.revokeOthers(), { detail: 'ok' })
  assert.equal(lines(calls).filter((l) => l.startsWith('POST')).length, 2)
  assert.deepEqual(
    calls.filter((x) => x.method === 'POST').map((x) => x.headers['X-CSRFToken']),
    ['a'.repeat(32), 'b'.repeat(32)],
  )
})

test('a 403 that is not a CSRF failure, and a safe method, are never retried', async () => {
  const { fetch, calls } = fakeFetch((method, path) => {
    if (path.startsWith('/api/admin/'))
      return json(403, { detail: 'You do not have permission to perform this action.' })
    if (path === '/api/mfa/') return json(403, CSRF_FAILED) // not something a GET gets, but if it did
    return null
  })
  const c = client(fetch, { cookieJar: withCsrf() })
  const err = await c.admin.sendPasswordReset(3).catch((e) => e)
  assert.ok(err instanceof PermissionError && !(err instanceof CsrfError))
  const get = await c.mfa.status().catch((e) => e)
  assert.ok(get instanceof CsrfError)
  assert.deepEqual(lines(calls), ['POST /api/admin/users/3/password-reset/', 'GET /api/mfa/'])
})

test('concurrent unsafe calls without a cookie fetch it once', async () => {
  const { fetch, calls } = fakeFetch((method) => (method === 'POST' ? json(200, { detail: 'ok' }) : null))
  const c = client(fetch)
  await Promise.all([c.accounts.resendConfirmation('a@example.com'), c.accounts.requestPasswordReset('b@x.io')])
  assert.equal(lines(calls).filter((l) => l === 'GET /api/login-set-cookie/').length, 1)
  assert.equal(calls.length, 3)
})

test('no csrftoken to be had: CsrfError kind "cookies", nothing unsafe is sent', async () => {
  const { fetch, calls } = fakeFetch((method, path) =>
    path === '/api/login-set-cookie/' ? json(200, { detail: 'CSRF cookie set' }) : null,
  )
  const c = client(fetch)
  const err = await c.auth.login('a@example.com', 'pw').catch((e) => e)
  assert.ok(err instanceof CsrfError, `got ${err}`)
  assert.equal(err.status, 0)
  assert.equal(err.kind, 'cookies')
  assert.deepEqual(lines(calls), ['GET /api/login-set-cookie/'])
})

test('with an API token: Authorization header, no CSRF, no cookie fetch', async () => {
  const { fetch, calls } = fakeFetch((method) => (method === 'DELETE' ? new Response(null, { status: 204 }) : null))
  const c = client(fetch, { token: 'k'.repeat(40), cookieJar: false })
  assert.equal(await c.tokens.revoke(5), null)
  assert.deepEqual(lines(calls), ['DELETE /api/tokens/5/'])
  assert.equal(calls[0].headers.Authorization, `Token ${'k'.repeat(40)}`)
  assert.equal(calls[0].headers['X-CSRFToken'], undefined)
})

test('in a browser: the token comes from document.cookie and no Cookie header is set', async () => {
  const doc = { cookie: 'theme=dark; csrftoken=' + 'z'.repeat(32) }
  const { fetch, calls } = fakeFetch((method) => (method === 'POST' ? json(200, { detail: 'Success' }) : null))
  const c = createClient({ baseUrl: BASE, fetch, document: doc, crossTab: false, credentials: 'include' })
  await c.auth.login('a@example.com', 'pw')
  assert.deepEqual(lines(calls), ['POST /api/login/'])
  assert.equal(calls[0].headers['X-CSRFToken'], 'z'.repeat(32))
  assert.equal(calls[0].headers.Cookie, undefined)
  assert.deepEqual(JSON.parse(calls[0].body), { email: 'a@example.com', password: 'pw' })
})

test('path segments and queries are encoded', async () => {
  const { fetch, calls } = fakeFetch(() => json(200, {}))
  const c = client(fetch, { cookieJar: withCsrf() })
  await c.admin.users({ search: 'a&b=c d', page: 2, pageSize: '' })
  await c.admin.endSession('1/../2', '3?x')
  assert.deepEqual(lines(calls), [
    'GET /api/admin/users/?search=a%26b%3Dc+d&page=2',
    'DELETE /api/admin/users/1%2F..%2F2/sessions/3%3Fx/',
  ])
  await assert.rejects(c.request('GET', 'api/x/'), TypeError)
  // another origin (protocol-relative, or a backslash the URL parser reads as a slash) is refused
  for (const path of ['//evil.test/x', '/\\evil.test/x']) await assert.rejects(c.request('POST', path, {}), TypeError)
  assert.equal(calls.length, 2, 'nothing was sent for the refused paths')
  assert.throws(() => createClient({ fetch, crossTab: false }), /baseUrl is required/)
})

test('answers map to the error classes with status, body, detail, code, fieldErrors, retryAfter', () => {
  const h = (o = {}) => new Headers(o)
  const v = errorFromResponse({
    status: 400,
    headers: h(),
    body: {
      email: ['Enter a valid email address.'],
      password: ['Too short.', 'Too common.'],
      non_field_errors: ['No.'],
    },
  })
  assert.ok(v instanceof ValidationError)
  assert.deepEqual(v.fieldErrors, { email: 'Enter a valid email address.', password: 'Too short. Too common.' })
  assert.equal(v.nonFieldErrors, 'No.')
  assert.equal(v.message, 'No.')

  const mfa = errorFromResponse({
    status: 401,
    headers: h(),
    body: { detail: 'Confirm it is you.', code: 'mfa_required', mfa: { methods: ['totp', 7], expires_in: 300 } },
  })
  assert.ok(mfa instanceof MfaRequiredError && mfa instanceof AuthenticationError)
  assert.deepEqual(mfa.methods, ['totp'])
  assert.equal(mfa.expiresIn, 300)
  assert.equal(mfa.message, 'Confirm it is you.')

  const unauth = errorFromResponse({ status: 401, headers: h(), body: { detail: 'Invalid token.' } })
  assert.ok(unauth instanceof AuthenticationError && !(unauth instanceof MfaRequiredError))
  assert.equal(unauth.detail, 'Invalid token.')

  const reauth = errorFromResponse({
    status: 403,
    headers: h(),
    body: { detail: 'Confirm your password to continue.', code: 'reauthentication_required' },
  })
  assert.ok(reauth instanceof ReauthenticationRequiredError && reauth instanceof PermissionError)
  assert.equal(reauth.code, 'reauthentication_required')

  assert.ok(errorFromResponse({ status: 404, headers: h(), body: { detail: 'Not found.' } }) instanceof NotFoundError)
  const conflict = errorFromResponse({ status: 409, headers: h(), body: { detail: 'x', code: 'mfa_totp_exists' } })
  assert.ok(conflict instanceof ConflictError)
  assert.equal(conflict.code, 'mfa_totp_exists')

  const t = errorFromResponse({
    status: 429,
    headers: h({ 'Retry-After': '61' }),
    body: { detail: 'Request was throttled.' },
  })
  assert.ok(t instanceof ThrottledError)
  assert.equal(t.retryAfter, 61)
  assert.equal(t.message, 'Too many attempts. Try again in 2 minutes.')
  const fromDetail = errorFromResponse({
    status: 429,
    headers: h(),
    body: { detail: 'Request was throttled. Expected available in 12 seconds.' },
  })
  assert.equal(fromDetail.retryAfter, 12)
  const now = Date.parse('2026-12-03T10:00:00Z')
  const date = errorFromResponse({
    status: 503,
    headers: h({ 'Retry-After': 'Thu, 03 Dec 2026 10:00:30 GMT' }),
    body: null,
    now,
  })
  assert.ok(date instanceof UnavailableError)
  assert.equal(date.retryAfter, 30)

  const html = errorFromResponse({ status: 502, headers: h(), body: null })
  assert.equal(html.constructor, GatehouseError)
  assert.equal(html.message, 'Something went wrong on our side (error 502). Try again in a moment.')
  assert.equal(formatWait(0.2), '1 second')
  assert.equal(formatWait(3601), '2 hours')
})

test('a body that is not JSON still gives a typed error', async () => {
  const { fetch } = fakeFetch(() => new Response('<html>bad gateway</html>', { status: 502 }))
  const err = await client(fetch)
    .profile.get()
    .catch((e) => e)
  assert.ok(err instanceof GatehouseError)
  assert.equal(err.status, 502)
  assert.equal(err.body, null)
})

test('timeouts are NetworkError kind "timeout"; the caller aborting gets its own abort', async () => {
  const hang = (url, init) =>
    new Promise((resolve, reject) => {
      if (init.signal.aborted) reject(init.signal.reason)
      init.signal.addEventListener('abort', () => reject(init.signal.reason))
    })
  const err = await client(hang, { timeout: 30 })
    .profile.get()
    .catch((e) => e)
  assert.ok(err instanceof NetworkError, `got ${err}`)
  assert.equal(err.kind, 'timeout')

  const abort = new AbortController()
  const pending = client(hang, { timeout: 0 }).request('GET', '/api/users/profile/', undefined, {
    signal: abort.signal,
  })
  abort.abort(new Error('left the page'))
  await assert.rejects(pending, /left the page/)

  const down = await client(() => Promise.reject(new TypeError('fetch failed')))
    .profile.get()
    .catch((e) => e)
  assert.ok(down instanceof NetworkError && down.kind === 'network')
  assert.equal(down.cause.message, 'fetch failed')
})

test('MemoryCookieJar keeps, replaces and expires cookies as the server says', () => {
  const jar = new MemoryCookieJar()
  jar.setCookie('csrftoken=abc; expires=Fri, 03 Dec 2027 10:00:00 GMT; Max-Age=31449600; Path=/; SameSite=Lax')
  jar.setCookie('sessionid=s1; HttpOnly; Path=/')
  assert.equal(jar.getCookieString(), 'csrftoken=abc; sessionid=s1')
  jar.setCookie('sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax')
  assert.equal(jar.getCookieString(), 'csrftoken=abc')
  jar.setCookie('csrftoken=def; Path=/')
  assert.equal(jar.get('csrftoken'), 'def')
  jar.setCookie('old=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT')
  jar.setCookie('garbage-without-equals')
  assert.equal(jar.getCookieString(), 'csrftoken=def')
  assert.equal(cookieValue('a=1; b="two%20words"; c', 'b'), 'two words')
  assert.equal(cookieValue('a=%E0%A4%A', 'a'), '%E0%A4%A')
})

test('a bad cookieJar or fetch is refused at once', () => {
  assert.throws(() => createClient({ baseUrl: BASE, cookieJar: {}, crossTab: false }), /getCookieString/)
  assert.throws(() => createClient({ baseUrl: BASE, fetch: null, crossTab: false }), /no fetch/)
})

// ---- auth events --------------------------------------------------------------

function scripted() {
  return fakeFetch((method, path) => {
    if (path === '/api/login/') return json(200, { detail: 'Success' })
    if (path === '/api/logout/') return json(200, { detail: 'Logout Successful' })
    if (path === '/api/users/profile/') return json(401, { detail: 'Authentication credentials were not provided.' })
    return null
  })
}

// Messages between channels arrive asynchronously, later on a busy machine: wait
// for what must arrive (up to 5 s), and prove that something did NOT arrive by
// sending a marker after it and waiting for the marker (one sender's messages
// keep their order).
async function until(condition, what) {
  const deadline = Date.now() + 5000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

test('two clients (two tabs) follow each other through BroadcastChannel, with no secret in the message', async () => {
  const channelName = `gatehouse-auth-test-${randomUUID()}`
  const tabA = createClient({ baseUrl: BASE, fetch: scripted().fetch, channelName })
  const tabB = createClient({ baseUrl: BASE, fetch: scripted().fetch, channelName })
  const spy = new BroadcastChannel(channelName) // what crosses between tabs
  const wire = []
  spy.onmessage = (e) => wire.push(e.data)
  const seenA = []
  const seenB = []
  tabA.onAuthChange((e) => seenA.push(e))
  tabB.onAuthChange((e) => seenB.push(e))
  try {
    await tabA.auth.login('person@example.com', 'a secret password')
    assert.deepEqual(seenA, [{ state: 'signed-in', reason: 'login', source: 'local' }])
    await until(() => seenB.length === 1, "B hearing A's login")
    assert.deepEqual(seenB, [{ state: 'signed-in', reason: 'remote', source: 'remote' }])
    assert.equal(tabB.authState, 'signed-in')

    // a burst of 401s in B: every call tells B's listeners, one message leaves
    await Promise.all([1, 2, 3].map(() => tabB.profile.get().catch(() => {})))
    assert.equal(seenB.filter((e) => e.reason === 'unauthorized').length, 3)
    await until(() => seenA.length === 2, "A hearing B's 401")
    assert.deepEqual(seenA[1], { state: 'signed-out', reason: 'remote', source: 'remote' })
    // the marker: B's next login; once the spy has it, anything B sent before is in too
    await tabB.auth.login('person@example.com', 'a secret password')
    await until(() => wire.length >= 3, 'the marker')
    assert.deepEqual(wire, [{ state: 'signed-in' }, { state: 'signed-out' }, { state: 'signed-in' }])
    const text = JSON.stringify(wire)
    assert.ok(!text.includes('secret') && !text.includes('@'), text)
    await until(() => seenA.length === 3, "A hearing B's login")

    // junk on the channel is ignored; the valid marker after it is not
    spy.postMessage({ state: 'admin', token: 'x' })
    spy.postMessage('not json')
    spy.postMessage({ state: 'signed-out', userId: 9 })
    await until(() => seenA.length === 4 && seenB.length === 6, 'the marker')
    assert.deepEqual(seenA[3], { state: 'signed-out', userId: 9, reason: 'remote', source: 'remote' })
    assert.deepEqual(seenB[5], seenA[3])
  } finally {
    spy.close()
    tabA.close()
    tabB.close()
  }
})

test('an unsubscribed listener hears nothing; a closed client stops talking to the others', async () => {
  const channelName = `gatehouse-auth-test-${randomUUID()}`
  const tabA = createClient({ baseUrl: BASE, fetch: scripted().fetch, channelName })
  const tabB = createClient({ baseUrl: BASE, fetch: scripted().fetch, channelName })
  const tabC = createClient({ baseUrl: BASE, fetch: scripted().fetch, channelName }) // the witness
  const seen = []
  const off = tabB.onAuthChange((e) => seen.push(e.state))
  try {
    await tabA.auth.login('p@example.com', 'pw')
    await until(() => seen.length === 1, "B hearing A's login")
    off()
    await tabA.auth.logout()
    await until(() => tabB.authState === 'signed-out', "B's state following A's logout")
    assert.deepEqual(seen, ['signed-in'], 'the listener was removed')

    tabB.close()
    await tabA.auth.login('p@example.com', 'pw')
    await until(() => tabC.authState === 'signed-in', "C hearing A's login")
    assert.equal(tabB.authState, 'signed-out', 'a closed client hears nothing')
  } finally {
    tabA.close()
    tabB.close()
    tabC.close()
  }
})

test('without BroadcastChannel the localStorage "storage" event carries the change', async () => {
  // two tabs: one storage area; a setItem in one fires "storage" in the other only
  const listeners = new Map() // tab -> handler
  const values = new Map()
  const storageFor = (tab) => ({
    setItem(key, value) {
      const old = values.get(key) ?? null
      values.set(key, value)
      for (const [other, handler] of listeners) if (other !== tab) handler({ key, oldValue: old, newValue: value })
    },
    getItem: (key) => values.get(key) ?? null,
  })
  const make = (tab) =>
    createClient({
      baseUrl: BASE,
      fetch: scripted().fetch,
      BroadcastChannel: undefined,
      storage: storageFor(tab),
      addWindowListener: (type, handler) => {
        assert.equal(type, 'storage')
        listeners.set(tab, handler)
        return () => listeners.delete(tab)
      },
    })
  const tabA = make('a')
  const tabB = make('b')
  const seenB = []
  tabB.onAuthChange((e) => seenB.push(`${e.state}:${e.source}`))
  await tabA.auth.login('p@example.com', 'pw')
  await tabA.auth.logout()
  await tabA.auth.logout() // a second logout is news again (a fresh value in storage)
  assert.deepEqual(seenB, ['signed-in:remote', 'signed-out:remote', 'signed-out:remote'])
  assert.deepEqual(Object.keys(JSON.parse(values.get('gatehouse-auth'))).sort(), ['at', 'state'])
  tabA.close()
  tabB.close()
  assert.equal(listeners.size, 0)
})

test('parseAuthMessage keeps only the state and a plain user id', () => {
  assert.deepEqual(parseAuthMessage({ state: 'signed-in', userId: 7, email: 'x@y' }), { state: 'signed-in', userId: 7 })
  assert.deepEqual(parseAuthMessage('{"state":"signed-out","at":1}'), { state: 'signed-out' })
  assert.equal(parseAuthMessage({ state: 'root' }), null)
  assert.equal(parseAuthMessage(null), null)
  assert.deepEqual(parseAuthMessage({ state: 'signed-in', userId: { id: 1 } }), { state: 'signed-in' })
})

/** A jar that already holds a csrftoken (as after a visit to the login page). */
function withCsrf() {
  const jar = new MemoryCookieJar()
  jar.set('csrftoken', 'c'.repeat(32))
  return jar
}
