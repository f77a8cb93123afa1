// The client against the real gatehouse binary (GATEHOUSE_BIN, default
// ../../build/gatehouse), started by the API tests' harness on 127.0.0.1 with
// a fresh SQLite file.  Cookies live in the client's node jar, so the CSRF
// protocol, the session and the typed errors are the server's real answers.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createUser, startServer, uniqueEmail } from '../../../tests/api/harness.mjs'
import { totp } from '../../../tests/api/mfa-harness.mjs'
import {
  AuthenticationError,
  CsrfError,
  GatehouseError,
  MemoryCookieJar,
  MfaRequiredError,
  NotFoundError,
  PermissionError,
  ThrottledError,
  ValidationError,
  createClient,
} from '../src/index.js'

const PASSWORD = 'client library harbour 42'

/**
 * A client on the server with a fetch that records every request ("METHOD
 * /path") and lets a test rewrite a request's headers first (tamper).
 */
function recordingClient(server, { tamper, ...options } = {}) {
  const calls = []
  const fetch = (url, init) => {
    const u = new URL(url)
    calls.push(`${init.method} ${u.pathname}`)
    if (tamper) init = { ...init, headers: tamper({ ...init.headers }, calls.length) }
    return globalThis.fetch(url, init)
  }
  const client = createClient({ baseUrl: server.origin, fetch, crossTab: false, ...options })
  return { client, calls }
}

/** Collect a client's auth-change events. */
function authLog(client) {
  const seen = []
  client.onAuthChange((e) => seen.push(`${e.state}:${e.reason}`))
  return seen
}

describe('against the real server', () => {
  let server
  const LIMIT = 3
  before(async () => {
    server = await startServer({
      env: {
        GATEHOUSE_LOGIN_ACCOUNT_LIMIT: String(LIMIT),
        GATEHOUSE_LOGIN_IP_LIMIT: '1000',
        GATEHOUSE_EMAIL_VERIFICATION: 'none',
      },
    })
  })
  after(async () => {
    await server?.stop()
  })

  test('the first unsafe call fetches the csrftoken once, then sends it; login, profile, logout', async () => {
    const email = createUser(server, uniqueEmail('cl'), PASSWORD)
    const jar = new MemoryCookieJar()
    const { client, calls } = recordingClient(server, { cookieJar: jar })
    const events = authLog(client)

    assert.equal(jar.get('csrftoken'), '')
    assert.deepEqual(await client.auth.login(email, PASSWORD), { detail: 'Success' })
    assert.deepEqual(calls, ['GET /api/login-set-cookie/', 'POST /api/login/'])
    assert.match(jar.get('csrftoken'), /^[A-Za-z0-9]{32}$/)
    assert.ok(jar.get('sessionid'), 'the jar keeps the session cookie')
    assert.equal(client.authState, 'signed-in')

    const profile = await client.profile.get()
    assert.equal(profile.email, email)
    assert.equal(typeof profile.id, 'number')

    // the token is read again before each unsafe call: login rotated it, no new fetch is needed
    assert.deepEqual(await client.auth.logout(), { detail: 'Logout Successful' })
    assert.deepEqual(calls.slice(2), ['GET /api/users/profile/', 'POST /api/logout/'])
    assert.equal(jar.get('sessionid'), '', 'logout expired the session cookie')
    assert.deepEqual(events, ['signed-in:login', 'signed-out:logout'])

    // after the logout the profile is a 401, typed, with the DRF body
    const err = await client.profile.get().catch((e) => e)
    assert.ok(err instanceof AuthenticationError, `got ${err}`)
    assert.equal(err.status, 401)
    assert.equal(err.detail, 'Authentication credentials were not provided.')
    assert.deepEqual(err.body, { detail: 'Authentication credentials were not provided.' })
    assert.deepEqual(events, ['signed-in:login', 'signed-out:logout', 'signed-out:unauthorized'])
    client.close()
  })

  test('a 401 from an authenticated call fires signed-out; one from an anonymous endpoint does not', async () => {
    const email = createUser(server, uniqueEmail('cl'), PASSWORD)
    const { client } = recordingClient(server)
    await client.auth.login(email, PASSWORD)
    const events = authLog(client)
    // the server forgets the session (an admin ended it, say)
    server.sql(`DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = '${email}')`)
    const err = await client.sessions.list().catch((e) => e)
    assert.ok(err instanceof AuthenticationError)
    assert.deepEqual(events, ['signed-out:unauthorized'])
    assert.equal(client.authState, 'signed-out')

    // the second step with no pending login: 401 mfa_expired, not a session that ended
    const step = await client.secondStep.status().catch((e) => e)
    assert.ok(step instanceof AuthenticationError && !(step instanceof MfaRequiredError), `got ${step}`)
    assert.equal(step.code, 'mfa_expired')
    assert.deepEqual(events, ['signed-out:unauthorized'])
    client.close()
  })

  test('400: wrong password and field errors are ValidationErrors with the DRF body', async () => {
    const email = createUser(server, uniqueEmail('cl'), PASSWORD)
    const { client } = recordingClient(server)
    const wrong = await client.auth.login(email, 'not the password at all').catch((e) => e)
    assert.ok(wrong instanceof ValidationError, `got ${wrong}`)
    assert.equal(wrong.status, 400)
    assert.equal(wrong.detail, 'Invalid credentials')
    assert.equal(wrong.message, 'Invalid credentials')
    assert.equal(client.authState, 'unknown', 'a refused login is no auth change')

    const missing = await client.auth.login('', '').catch((e) => e)
    assert.ok(missing instanceof ValidationError)
    assert.deepEqual(Object.keys(missing.fieldErrors).sort(), ['email', 'password'])
    assert.equal(missing.fieldErrors.email, missing.body.email.join(' '))
    assert.equal(missing.detail, '')

    const signup = await client.accounts.signup({ email: 'not-an-address', password: '1' }).catch((e) => e)
    assert.ok(signup instanceof ValidationError)
    assert.equal(signup.fieldErrors.email, 'Enter a valid email address.')
    assert.ok(signup.fieldErrors.password, 'a one-character password breaks the rules')
    assert.equal(signup.message, 'Please correct the highlighted fields.')
    client.close()
  })

  test('signup (no verification) then login with the new account', async () => {
    const email = uniqueEmail('signup')
    const { client } = recordingClient(server)
    assert.deepEqual(await client.accounts.signup({ email, password: PASSWORD, firstName: 'Ada' }), {
      detail: 'Account created.',
    })
    await client.auth.login(email, PASSWORD)
    const me = await client.profile.get()
    assert.equal(me.email, email)
    assert.equal(me.first_name, 'Ada')
    const reset = await client.accounts.requestPasswordReset(email)
    assert.equal(typeof reset.detail, 'string')
    const badLink = await client.accounts.resetPassword('x', 'y', PASSWORD).catch((e) => e)
    assert.ok(badLink instanceof ValidationError)
    assert.equal(badLink.detail, 'Invalid or expired reset link.')
    client.close()
  })

  test('403 CSRF failure: one refresh of the cookie, one retry, then CsrfError', async () => {
    const email = createUser(server, uniqueEmail('cl'), PASSWORD)
    // every X-CSRFToken this fetch sends is wrong (but well formed)
    const always = recordingClient(server, {
      tamper: (h) => ({ ...h, 'X-CSRFToken': h['X-CSRFToken'] ? 'A'.repeat(32) : undefined }),
    })
    const err = await always.client.auth.login(email, PASSWORD).catch((e) => e)
    assert.ok(err instanceof CsrfError, `got ${err}`)
    assert.ok(err instanceof PermissionError)
    assert.equal(err.status, 403)
    assert.match(err.detail, /^CSRF Failed/)
    assert.deepEqual(always.calls, [
      'GET /api/login-set-cookie/',
      'POST /api/login/',
      'GET /api/login-set-cookie/',
      'POST /api/login/',
    ])
    always.client.close()

    // only the first attempt is wrong (the cookie changed under us): the retry succeeds
    const once = recordingClient(server, {
      tamper: (h, n) => (n === 2 ? { ...h, 'X-CSRFToken': 'B'.repeat(32) } : h),
    })
    assert.deepEqual(await once.client.auth.login(email, PASSWORD), { detail: 'Success' })
    assert.deepEqual(once.calls, [
      'GET /api/login-set-cookie/',
      'POST /api/login/',
      'GET /api/login-set-cookie/',
      'POST /api/login/',
    ])
    assert.equal((await once.client.profile.get()).email, email)
    once.client.close()
  })

  test('a 403 that is not about CSRF is not retried', async () => {
    const email = createUser(server, uniqueEmail('cl'), PASSWORD)
    const { client, calls } = recordingClient(server)
    await client.auth.login(email, PASSWORD)
    calls.length = 0
    const err = await client.admin.users().catch((e) => e)
    assert.ok(err instanceof PermissionError && !(err instanceof CsrfError), `got ${err}`)
    assert.equal(err.status, 403)
    assert.ok(err.detail, 'the server says why')
    const write = await client.admin.sendPasswordReset(1).catch((e) => e)
    assert.ok(write instanceof PermissionError && !(write instanceof CsrfError))
    assert.deepEqual(calls, ['GET /api/admin/users/', 'POST /api/admin/users/1/password-reset/'])
    client.close()
  })

  test('429 is a ThrottledError with retryAfter in seconds', async () => {
    const email = createUser(server, uniqueEmail('throttle'), PASSWORD)
    const { client } = recordingClient(server)
    let err
    for (let i = 0; i <= LIMIT + 1; i++) {
      err = await client.auth.login(email, 'wrong password number ' + i).catch((e) => e)
      if (err instanceof ThrottledError) break
      assert.ok(err instanceof ValidationError, `attempt ${i}: ${err}`)
    }
    assert.ok(err instanceof ThrottledError, `never throttled: ${err}`)
    assert.equal(err.status, 429)
    assert.ok(Number.isInteger(err.retryAfter) && err.retryAfter > 0, `retryAfter ${err.retryAfter}`)
    assert.match(err.message, /^Too many attempts\. Try again in \d+ (second|minute)s?\.$/)
    client.close()
  })

  test('tokens: create, list (no key), use with the token option, revoke', async () => {
    const email = createUser(server, uniqueEmail('tok'), PASSWORD)
    const { client } = recordingClient(server)
    await client.auth.login(email, PASSWORD)
    const created = await client.tokens.create({ name: 'ci', password: PASSWORD, expiresInDays: 7 })
    assert.match(created.key, /^[0-9a-f]{40}$/)
    assert.equal(created.name, 'ci')
    const list = await client.tokens.list()
    assert.deepEqual(
      list.map((t) => [t.id, t.name, 'key' in t]),
      [[created.id, 'ci', false]],
    )

    const wrong = await client.tokens.create({ name: 'x', password: 'nope' }).catch((e) => e)
    assert.ok(wrong instanceof ValidationError)
    assert.ok(wrong.fieldErrors.password)

    // a script with the key: no cookies, no CSRF
    const { client: script, calls } = recordingClient(server, { token: created.key, cookieJar: false })
    assert.equal((await script.profile.get()).email, email)
    const second = await client.tokens.create({ name: 'second', password: PASSWORD })
    await script.tokens.revoke(second.id)
    assert.deepEqual(calls, ['GET /api/users/profile/', `DELETE /api/tokens/${second.id}/`])

    await client.tokens.revoke(created.id)
    assert.deepEqual(await client.tokens.list(), [])
    const gone = await script.profile.get().catch((e) => e)
    assert.ok(gone instanceof AuthenticationError)
    const again = await client.tokens.revoke(created.id).catch((e) => e)
    assert.ok(again instanceof NotFoundError, `got ${again}`)
    client.close()
    script.close()
  })

  test('sessions: list, revoke others, and the other browser is signed out', async () => {
    const email = createUser(server, uniqueEmail('sess'), PASSWORD)
    const a = recordingClient(server).client
    const b = recordingClient(server).client
    await a.auth.login(email, PASSWORD)
    await b.auth.login(email, PASSWORD)
    const list = await a.sessions.list()
    assert.equal(list.length, 2)
    assert.equal(list.filter((s) => s.current).length, 1)
    await a.sessions.revokeOthers()
    const bEvents = authLog(b)
    assert.ok((await b.profile.get().catch((e) => e)) instanceof AuthenticationError)
    assert.deepEqual(bEvents, ['signed-out:unauthorized'])
    assert.equal((await a.sessions.list()).length, 1)

    // password change keeps this browser signed in (new key) and ends the others
    await b.auth.login(email, PASSWORD)
    const changed = await a.accounts.changePassword(PASSWORD, PASSWORD + ' new')
    assert.equal(changed.detail, 'New password has been saved.')
    assert.equal((await a.profile.get()).email, email)
    assert.ok((await b.profile.get().catch((e) => e)) instanceof AuthenticationError)
    a.close()
    b.close()
  })

  test('mfa_required: a typed MfaRequiredError with the methods, then the second step signs in', async () => {
    const email = createUser(server, uniqueEmail('mfa'), PASSWORD)
    const { client } = recordingClient(server)
    await client.auth.login(email, PASSWORD)
    const setup = await client.mfa.totpSetup()
    const confirmed = await client.mfa.totpConfirm(totp(setup.secret))
    assert.equal(confirmed.recovery_codes.length, 10)
    assert.equal((await client.mfa.status()).totp.enabled, true)

    const other = recordingClient(server).client
    const events = authLog(other)
    const err = await other.auth.login(email, PASSWORD).catch((e) => e)
    assert.ok(err instanceof MfaRequiredError, `got ${err}`)
    assert.ok(err instanceof AuthenticationError)
    assert.equal(err.status, 401)
    assert.equal(err.code, 'mfa_required')
    assert.deepEqual(err.methods, ['totp', 'recovery_code'])
    assert.ok(err.expiresIn > 0)
    assert.deepEqual(events, [], 'no session yet: no auth change')
    assert.ok((await other.profile.get().catch((e) => e)) instanceof AuthenticationError)

    const pending = await other.secondStep.status()
    assert.deepEqual(pending.methods, ['totp', 'recovery_code'])
    const bad = await other.secondStep.withCode('recovery_code', 'aaaaa-aaaaa').catch((e) => e)
    assert.ok(bad instanceof ValidationError && bad.fieldErrors.code, `got ${bad}`)
    assert.deepEqual(await other.secondStep.withCode('recovery_code', confirmed.recovery_codes[0]), {
      detail: 'Success',
    })
    assert.equal((await other.profile.get()).email, email)
    assert.deepEqual(events, ['signed-out:unauthorized', 'signed-in:login'])
    client.close()
    other.close()
  })

  test('social and the admin area answer as typed values (no providers configured here)', async () => {
    const { client } = recordingClient(server)
    assert.deepEqual(await client.social.providers(), [])
    assert.equal(
      client.social.authorizeUrl('github', '/account'),
      `${server.origin}/api/social/github/authorize/?next=%2Faccount`,
    )
    const email = createUser(server, uniqueEmail('staff'), PASSWORD, ['--staff'])
    await client.auth.login(email, PASSWORD)
    const page = await client.admin.users({ search: email })
    assert.equal(page.count, 1)
    assert.equal(page.results[0].email, email)
    const audit = await client.admin.audit({ user: page.results[0].id })
    assert.ok(audit.results.some((row) => row.event === 'login.succeeded'))
    const nobody = await client.admin.user(987654).catch((e) => e)
    assert.ok(nobody instanceof NotFoundError, `got ${nobody}`)
    assert.deepEqual(await client.social.identities(), [])
    client.close()
  })

  test('a server that is not there is a NetworkError, not a crash', async () => {
    const client = createClient({ baseUrl: 'http://127.0.0.1:1', crossTab: false })
    const err = await client.profile.get().catch((e) => e)
    assert.ok(err instanceof GatehouseError && err.name === 'NetworkError', `got ${err}`)
    assert.equal(err.status, 0)
    assert.equal(err.kind, 'network')
    client.close()
  })
})
