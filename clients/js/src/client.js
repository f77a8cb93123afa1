// client.js — createClient(): every gatehouse endpoint an app calls, over fetch.
//
// Owns: the CSRF protocol on the caller's behalf (read the csrftoken cookie
// before every unsafe request, never cache it; fetch one from
// /api/login-set-cookie/ when there is none; on a 403 "CSRF Failed" refresh it
// and retry exactly once), cookies outside a browser (a jar), timeouts, typed
// errors (errors.js) and the auth-change events (auth-events.js).
// Must never: read, store or send the session key itself (in a browser it is
// HttpOnly and the browser alone sends it); retry anything but a CSRF failure,
// and that once; put a credential into an event, a message or a log.

import { AuthEvents } from './auth-events.js'
import { MemoryCookieJar, cookieValue } from './cookies.js'
import { CsrfError, GatehouseError, NETWORK_MESSAGE, NetworkError, errorFromResponse, isCsrfFailure } from './errors.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
export const CSRF_COOKIE_PATH = '/api/login-set-cookie/'
const COOKIES_MESSAGE =
  'Your browser blocked the cookie this page needs to sign you in securely. Allow cookies for this site and try again.'

/** A path segment from an id (a number from the server, or a route param). */
const seg = (value) => encodeURIComponent(String(value))

/** '?a=1&b=x' from the parameters that are set ('' for none). */
function query(params) {
  const q = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') q.set(key, String(value))
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

async function readBody(res) {
  if (res.status === 204 || res.status === 205) return null
  const text = await res.text().catch(() => '')
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return null // an HTML error page from a proxy, say
  }
}

function setCookieLines(headers) {
  if (typeof headers.getSetCookie === 'function') return headers.getSetCookie()
  const joinedLines = headers.get('set-cookie')
  // without getSetCookie the lines come joined by ", ", which an Expires date also contains
  return joinedLines ? joinedLines.split(/,(?=\s*[^;,=\s]+=)/) : []
}

/**
 * options (all optional):
 *   baseUrl         '' (same origin, the browser default) or 'http://127.0.0.1:8000'
 *   fetch           the fetch to use (default globalThis.fetch)
 *   credentials     'same-origin' (default) or 'include' (the API on another origin)
 *   csrfCookieName  'csrftoken';  csrfHeaderName 'X-CSRFToken'
 *   cookieJar       a jar ({getCookieString(url), setCookie(line, url)}: MemoryCookieJar,
 *                   tough-cookie's CookieJar) that holds the cookies outside a browser;
 *                   default: none in a browser (document.cookie), a new MemoryCookieJar
 *                   elsewhere; false: none
 *   token           an API token: sent as "Authorization: Token <key>" (no CSRF needed)
 *   headers         extra headers for every request (e.g. a User-Agent in node)
 *   timeout         ms before a request gives up with NetworkError kind 'timeout' (20000; 0: never)
 *   crossTab        true (default): auth changes reach the other tabs; false: this client only
 *   channelName     'gatehouse-auth'
 *   BroadcastChannel, storage, addWindowListener(type, handler) -> remover
 *                   the cross-tab transport, for tests and unusual hosts (default: the platform's)
 *   document        where to read cookies in a browser (default globalThis.document)
 */
export function createClient(options = {}) {
  const {
    baseUrl = '',
    fetch: fetchImpl = globalThis.fetch,
    credentials = 'same-origin',
    csrfCookieName = 'csrftoken',
    csrfHeaderName = 'X-CSRFToken',
    token = '',
    headers: extraHeaders = {},
    timeout = 20000,
    crossTab = true,
    channelName,
    document: doc = globalThis.document,
  } = options
  if (typeof fetchImpl !== 'function') throw new TypeError('gatehouse client: no fetch (pass options.fetch)')
  const inBrowser = !!doc && typeof doc.cookie === 'string'
  let jar = options.cookieJar
  if (jar === undefined) jar = inBrowser ? null : new MemoryCookieJar()
  if (jar === false) jar = null
  if (jar && (typeof jar.getCookieString !== 'function' || typeof jar.setCookie !== 'function'))
    throw new TypeError('gatehouse client: cookieJar needs getCookieString(url) and setCookie(line, url)')
  const base = String(baseUrl).replace(/\/+$/, '')
  if (!base && !globalThis.location?.href)
    throw new TypeError("gatehouse client: baseUrl is required outside a browser (e.g. 'http://127.0.0.1:8000')")

  const events = new EventTarget()
  // the platform's BroadcastChannel / localStorage / window unless the caller hands in others
  const platform = {}
  for (const key of ['BroadcastChannel', 'storage', 'addWindowListener'])
    if (key in options) platform[key] = options[key]
  const auth = new AuthEvents({ target: events, crossTab, ...(channelName ? { channelName } : {}), ...platform })

  const urlOf = (path) => base + path
  // a jar wants an absolute URL; in a browser a relative one resolves against the page
  const absolute = (url) => (base ? url : new URL(url, globalThis.location.href).href)

  async function readCsrf() {
    if (jar) return cookieValue(await jar.getCookieString(absolute(urlOf(CSRF_COOKIE_PATH))), csrfCookieName)
    if (inBrowser) return cookieValue(doc.cookie, csrfCookieName)
    return ''
  }

  async function send(method, path, body, { signal } = {}) {
    signal?.throwIfAborted?.()
    const url = urlOf(path)
    const headers = { Accept: 'application/json', ...extraHeaders }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    if (token) headers.Authorization = `Token ${token}`
    else if (!SAFE_METHODS.has(method)) headers[csrfHeaderName] = await csrfToken()
    if (jar) {
      const cookie = await jar.getCookieString(absolute(url))
      if (cookie) headers.Cookie = cookie
    }

    const abort = new AbortController()
    let timedOut = false
    const timer =
      timeout > 0
        ? setTimeout(() => {
            timedOut = true
            abort.abort()
          }, timeout)
        : null
    const onCallerAbort = () => abort.abort(signal.reason)
    signal?.addEventListener('abort', onCallerAbort, { once: true })
    let res
    try {
      signal?.throwIfAborted?.() // aborted while the cookie was read
      res = await fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials,
        cache: 'no-store',
        signal: abort.signal,
      })
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? e // the caller's own abort stays theirs
      if (timedOut)
        throw new NetworkError('The server took too long to answer. Try again in a moment.', {
          kind: 'timeout',
          method,
          path,
        })
      throw new NetworkError(NETWORK_MESSAGE, { method, path, cause: e })
    } finally {
      if (timer) clearTimeout(timer)
      signal?.removeEventListener('abort', onCallerAbort)
    }
    if (jar) {
      for (const line of setCookieLines(res.headers)) await jar.setCookie(line, absolute(url))
    }
    return res
  }

  let csrfInFlight = null
  // GET /api/login-set-cookie/ once, however many callers ask at the same time.
  function fetchCsrfCookie() {
    csrfInFlight ||= (async () => {
      const res = await send('GET', CSRF_COOKIE_PATH)
      const data = await readBody(res)
      if (!res.ok)
        throw errorFromResponse({ status: res.status, headers: res.headers, body: data, path: CSRF_COOKIE_PATH })
    })().finally(() => {
      csrfInFlight = null
    })
    return csrfInFlight
  }

  async function csrfToken() {
    let value = await readCsrf()
    if (!value) {
      await fetchCsrfCookie()
      value = await readCsrf()
    }
    if (!value) throw new CsrfError(COOKIES_MESSAGE, { status: 0, kind: 'cookies' })
    return value
  }

  /**
   * One API call: resolves to the parsed JSON body (null when there is none),
   * rejects with a GatehouseError subclass.  opts:
   *   authenticated  the endpoint needs a signed-in caller: a 401 means the session
   *                  is gone, and fires 'authchange' signed-out (reason 'unauthorized')
   *   notifyUnauthorized  false: a 401 is only thrown, no event (e.g. checking a
   *                  session that was just made)
   *   signal         an AbortSignal of the caller
   */
  async function request(method, path, body, opts = {}) {
    method = String(method).toUpperCase()
    // a path on the API's origin: "//host" or "/\\host" would be another origin to fetch, and the
    // CSRF token would go with it
    if (typeof path !== 'string' || !/^\/(?![/\\])/.test(path))
      throw new TypeError(`gatehouse client: a path starts with one "/" (got ${JSON.stringify(path)})`)
    const unsafe = !SAFE_METHODS.has(method)
    let res = await send(method, path, body, opts)
    let data = await readBody(res)

    // The cookie may have been replaced under us (another tab logged in, the
    // cookie expired): refetch it once and retry once; the server did nothing.
    if (unsafe && !token && isCsrfFailure(res.status, data)) {
      await fetchCsrfCookie()
      res = await send(method, path, body, opts)
      data = await readBody(res)
    }
    if (res.ok) return data

    const error = errorFromResponse({ status: res.status, headers: res.headers, body: data, method, path })
    if (res.status === 401 && opts.authenticated && opts.notifyUnauthorized !== false)
      auth.emit('signed-out', { reason: 'unauthorized' })
    events.dispatchEvent(new GatehouseErrorEvent(error))
    throw error
  }

  const get = (path, opts) => request('GET', path, undefined, opts)
  const post = (path, body, opts) => request('POST', path, body ?? {}, opts)
  const patch = (path, body, opts) => request('PATCH', path, body ?? {}, opts)
  const del = (path, opts) => request('DELETE', path, undefined, opts)
  const signed = { authenticated: true }

  /** The call made a session (password, second step, passkey, social): say so. */
  async function signingIn(promise) {
    const data = await promise
    auth.emit('signed-in', { reason: 'login' })
    return data
  }

  const client = {
    request,
    events,
    /** 'signed-in' | 'signed-out' | 'unknown': the last auth change this client saw (here or in another tab). */
    get authState() {
      return auth.state
    },
    /** cb({state, userId?, reason, source}); returns the function that removes it. */
    onAuthChange(cb) {
      const listener = (event) => cb(event.detail)
      events.addEventListener('authchange', listener)
      return () => events.removeEventListener('authchange', listener)
    },
    /** cb(error) for every error answer of the server (before the call rejects); returns the remover. */
    onError(cb) {
      const listener = (event) => cb(event.error)
      events.addEventListener('error', listener)
      return () => events.removeEventListener('error', listener)
    },
    /** Make sure a csrftoken cookie exists (a login page calls it early). */
    async ensureCsrf() {
      if (!(await readCsrf())) await fetchCsrfCookie()
    },
    /** Stop talking to other tabs (node: lets the process exit). */
    close() {
      auth.close()
    },

    auth: {
      /** -> {detail: "Success"}; MfaRequiredError (methods) when a second factor is due. */
      login: (email, password) => signingIn(post('/api/login/', { email, password })),
      /** -> {detail: "Logout Successful"}; other tabs hear 'signed-out'. */
      logout: async () => {
        try {
          const data = await post('/api/logout/', {})
          auth.emit('signed-out', { reason: 'logout' })
          return data
        } catch (error) {
          // no session any more: signed out all the same
          if (error instanceof GatehouseError && error.status === 401) auth.emit('signed-out', { reason: 'logout' })
          throw error
        }
      },
      /** A fresh password check: {password} -> {detail}; 400 {password: [...]} when wrong. */
      reauthenticate: (password) => post('/api/auth/reauthenticate/', { password }, signed),
      /** The same with an authenticator-app code: 400 {code: [...]} when wrong. */
      reauthenticateWithCode: (code) => post('/api/auth/reauthenticate/', { method: 'totp', code }, signed),
      /** A challenge for reauthenticateWithPasskey -> {publicKey}. */
      reauthenticationPasskeyOptions: () => post('/api/auth/reauthenticate/webauthn/options/', {}, signed),
      /** The same with a passkey: credential = the assertion as JSON. */
      reauthenticateWithPasskey: (credential) =>
        post('/api/auth/reauthenticate/', { method: 'webauthn', credential }, signed),
    },

    profile: {
      /** -> {id, email, first_name, last_name, is_staff, is_superuser, date_joined, last_login, ...} */
      get: (opts) => get('/api/users/profile/', { ...signed, ...opts }),
    },

    accounts: {
      /** {email, password, firstName?, lastName?} -> {detail} ("Verification e-mail sent." or "Account created.") */
      signup: ({ email, password, firstName = '', lastName = '' }) => {
        const body = { email, password }
        if (firstName) body.first_name = firstName
        if (lastName) body.last_name = lastName
        return post('/api/signup/', body)
      },
      confirmEmail: (key) => post('/api/signup/confirm/', { key }),
      resendConfirmation: (email) => post('/api/signup/resend/', { email }),
      requestPasswordReset: (email) => post('/api/password/reset/', { email }),
      resetPassword: (uid, token, newPassword) =>
        post('/api/password/reset/confirm/', { uid, token, new_password: newPassword }),
      changePassword: (oldPassword, newPassword) =>
        post('/api/password/change/', { old_password: oldPassword, new_password: newPassword }, signed),
    },

    // The second step of a login: the browser holds no session yet, only the
    // HttpOnly gatehouse_mfa cookie naming the pending login; its 401s
    // (mfa_expired) are not a signed-out session.
    secondStep: {
      /** -> {methods, expires_in, next?}; AuthenticationError code 'mfa_expired' */
      status: () => get('/api/mfa/authenticate/'),
      /** -> {publicKey} for navigator.credentials.get() */
      passkeyOptions: () => post('/api/mfa/authenticate/webauthn/options/', {}),
      /** method 'totp' or 'recovery_code' -> {detail: "Success"} and the session */
      withCode: (method, code) => signingIn(post('/api/mfa/authenticate/', { method, code })),
      withPasskey: (credential) => signingIn(post('/api/mfa/authenticate/', { method: 'webauthn', credential })),
    },

    // Signing in with a passkey alone (a discoverable credential).
    passkeys: {
      /** -> {publicKey} (binds the challenge to this browser with a cookie) */
      options: () => post('/api/passkey/options/', {}),
      login: (credential) => signingIn(post('/api/passkey/login/', { credential })),
    },

    // The signed-in user's own second factors (adding and removing need a
    // recent check: ReauthenticationRequiredError).
    mfa: {
      /** -> {totp: {enabled, created?}, recovery_codes: {total, unused}, webauthn: [passkey], required, reauth_fresh} */
      status: () => get('/api/mfa/', signed),
      /** -> {secret, otpauth_url, algorithm, digits, period}; ConflictError mfa_totp_exists */
      totpSetup: () => post('/api/mfa/totp/setup/', {}, signed),
      /** -> {detail, recovery_codes?}; ValidationError {code}; ConflictError mfa_setup_missing */
      totpConfirm: (code) => post('/api/mfa/totp/confirm/', { code }, signed),
      totpRemove: () => del('/api/mfa/totp/', signed),
      /** -> {recovery_codes: [...]}: the old ones stop working */
      newRecoveryCodes: () => post('/api/mfa/recovery-codes/', {}, signed),
      /** -> {publicKey} for navigator.credentials.create() */
      passkeyOptions: () => post('/api/mfa/webauthn/register/options/', {}, signed),
      /** -> 201 {id, name, created, last_used, transports, recovery_codes?} */
      addPasskey: ({ name, credential }) => {
        const body = { credential }
        if (name) body.name = name
        return post('/api/mfa/webauthn/register/', body, signed)
      },
      renamePasskey: (id, name) => patch(`/api/mfa/webauthn/${seg(id)}/`, { name }, signed),
      removePasskey: (id) => del(`/api/mfa/webauthn/${seg(id)}/`, signed),
    },

    sessions: {
      /** [{id, created, last_seen, expires, ip, device, user_agent, current}] */
      list: () => get('/api/sessions/', signed),
      revoke: (id) => del(`/api/sessions/${seg(id)}/`, signed),
      revokeOthers: () => post('/api/sessions/revoke-others/', {}, signed),
    },

    tokens: {
      /** [{id, name, created, last_used, expires}] (never the key) */
      list: () => get('/api/tokens/', signed),
      /** -> {id, name, created, last_used, expires, key}: the only time the key is shown */
      create: ({ name, password, expiresInDays }) => {
        const body = { name }
        if (password !== undefined && password !== null) body.password = password
        if (expiresInDays !== undefined && expiresInDays !== null && expiresInDays !== '')
          body.expires_in_days = expiresInDays
        return post('/api/tokens/', body, signed)
      },
      revoke: (id) => del(`/api/tokens/${seg(id)}/`, signed),
    },

    // Social login.  A server without it answers 404 on the providers list:
    // that reads as "no providers".
    social: {
      /** [{name, label, authorize_url}] */
      providers: async () => {
        try {
          const list = await get('/api/social/providers/')
          return Array.isArray(list)
            ? list.filter((p) => p && typeof p.name === 'string' && typeof p.authorize_url === 'string')
            : []
        } catch (error) {
          if (error instanceof GatehouseError && error.status === 404) return []
          throw error
        }
      },
      /**
       * Where "Continue with <Provider>" goes (a full-page navigation, not a
       * fetch): the provider's authorize_url (or, given a name, the server's
       * /api/social/<name>/authorize/) plus ?next=.
       */
      authorizeUrl: (provider, next) => {
        const url =
          typeof provider === 'string' ? `/api/social/${seg(provider)}/authorize/` : String(provider.authorize_url)
        const full = url.startsWith('/') ? urlOf(url) : url
        const q = query({ next })
        return q && full.includes('?') ? `${full}&${q.slice(1)}` : full + q
      },
      /** Link a provider to the signed-in account -> {url} of the provider's page (go there). */
      connect: (provider, next) => post(`/api/social/${seg(provider)}/connect/`, next ? { next } : {}, signed),
      /**
       * Finish the provider's round trip with the callback's {code, state} (or
       * {error, state}) -> {detail: "Success" | "Connected", next}.
       */
      complete: async (provider, params) => {
        const data = await post(`/api/social/${seg(provider)}/`, params)
        if (data?.detail === 'Success') auth.emit('signed-in', { reason: 'login' })
        return data
      },
      /** [{id, provider, label, uid, created}] */
      identities: () => get('/api/social/identities/', signed),
      disconnect: (id) => del(`/api/social/identities/${seg(id)}/`, signed),
    },

    // Staff only (PermissionError for everyone else).
    admin: {
      /** -> {count, next, previous, results: [user + is_active]} */
      users: ({ search, page, pageSize } = {}) =>
        get(`/api/admin/users/${query({ search, page, page_size: pageSize })}`, signed),
      user: (id) => get(`/api/admin/users/${seg(id)}/`, signed),
      /** An account for someone else (mailed a link to choose a password) -> the new user. */
      createUser: ({ email, firstName = '', lastName = '', isStaff, isSuperuser }) => {
        const body = { email }
        if (firstName) body.first_name = firstName
        if (lastName) body.last_name = lastName
        if (isStaff !== undefined) body.is_staff = isStaff
        if (isSuperuser !== undefined) body.is_superuser = isSuperuser
        return post('/api/admin/users/', body, signed)
      },
      /** changes: any of {is_active, is_staff, is_superuser, email_verified} */
      updateUser: (id, changes) => patch(`/api/admin/users/${seg(id)}/`, changes, signed),
      sessions: (id) => get(`/api/admin/users/${seg(id)}/sessions/`, signed),
      endSession: (id, sid) => del(`/api/admin/users/${seg(id)}/sessions/${seg(sid)}/`, signed),
      endAllSessions: (id) => del(`/api/admin/users/${seg(id)}/sessions/`, signed),
      tokens: (id) => get(`/api/admin/users/${seg(id)}/tokens/`, signed),
      revokeToken: (id, tid) => del(`/api/admin/users/${seg(id)}/tokens/${seg(tid)}/`, signed),
      sendPasswordReset: (id) => post(`/api/admin/users/${seg(id)}/password-reset/`, {}, signed),
      /** Remove every second factor of the user (needs a recent re-authentication). */
      removeSecondFactors: (id) => del(`/api/admin/users/${seg(id)}/mfa/`, signed),
      /** -> paginated {id, at, actor_id, user_id, event, detail, ip, user_agent}, newest first */
      audit: ({ user, actor, event, page, pageSize } = {}) =>
        get(`/api/admin/audit/${query({ user, actor, event, page, page_size: pageSize })}`, signed),
    },
  }
  return client
}

/** The 'error' event of client.events: .error is the GatehouseError. */
export class GatehouseErrorEvent extends Event {
  constructor(error) {
    super('error')
    this.error = error
  }
}
