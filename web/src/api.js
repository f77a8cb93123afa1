// api.js — the only module of the SPA that talks HTTP to gatehouse.
//
// It owns the CSRF protocol (read the `csrftoken` cookie before every unsafe
// request, never cache it, fetch one from /api/login-set-cookie/ when there is
// none) and turns every failure into an ApiError whose `message` is fit to
// show a person.  Components and stores call the endpoint functions at the
// bottom; none of them touches cookies, headers or fetch() directly.
//
// It must never read or store the session: `sessionid` is HttpOnly and the
// browser alone sends it (same origin, credentials: 'same-origin').

const CSRF_COOKIE = 'csrftoken'
const CSRF_HEADER = 'X-CSRFToken'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const TIMEOUT_MS = 20000

export const NETWORK_MESSAGE = "Can't reach the server. Check your connection and try again."

export class ApiError extends Error {
  /**
   * kind: 'http' (the server answered), 'network' (it did not), 'timeout',
   * or 'cookies' (the browser refused the CSRF cookie).
   * fields: { fieldName: 'message' } from DRF validation errors.
   * retryAfter: seconds, for 429 and 503.
   * code: the body's machine-readable "code", if any (e.g. reauthentication_required).
   * body: the parsed answer as it came (e.g. the "mfa" of a login that needs a second step).
   */
  constructor(
    message,
    { status = 0, kind = 'http', detail = '', fields = {}, retryAfter = null, code = '', body = null } = {},
  ) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.kind = kind
    this.detail = detail
    this.fields = fields
    this.retryAfter = retryAfter
    this.code = code
    this.body = body
  }
}

// Called with the ApiError on every 401 whose request did not opt out; the
// router installs the real handler (clear auth state, go to /login?next=...).
let unauthorizedHandler = () => {}
export function onUnauthorized(handler) {
  unauthorizedHandler = handler
}

// Called with the ApiError on every 403 "mfa_setup_required": the session is
// restricted until a second factor is set up; the router installs the handler
// (go to the Security page).
let setupRequiredHandler = () => {}
export function onSecondFactorSetupRequired(handler) {
  setupRequiredHandler = handler
}

function readCookie(name) {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim())
  }
  return ''
}

let csrfInFlight = null
// GET /api/login-set-cookie/ once, however many callers ask at the same time.
function fetchCsrfCookie() {
  csrfInFlight ||= request('GET', '/api/login-set-cookie/').finally(() => {
    csrfInFlight = null
  })
  return csrfInFlight
}

async function csrfToken() {
  let token = readCookie(CSRF_COOKIE)
  if (!token) {
    await fetchCsrfCookie()
    token = readCookie(CSRF_COOKIE)
  }
  if (!token) {
    throw new ApiError(
      'Your browser blocked the cookie this page needs to sign you in securely. Allow cookies for this site and try again.',
      { kind: 'cookies' },
    )
  }
  return token
}

async function send(method, path, body) {
  const headers = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (!SAFE_METHODS.has(method)) headers[CSRF_HEADER] = await csrfToken()

  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS)
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: abort.signal,
    })
  } catch (e) {
    if (abort.signal.aborted) {
      throw new ApiError('The server took too long to answer. Try again in a moment.', { kind: 'timeout' })
    }
    throw new ApiError(NETWORK_MESSAGE, { kind: 'network' })
  } finally {
    clearTimeout(timer)
  }
}

async function readBody(res) {
  if (res.status === 204) return null
  const text = await res.text().catch(() => '')
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return null // an HTML error page from a proxy, say
  }
}

function isCsrfFailure(data) {
  return typeof data?.detail === 'string' && data.detail.startsWith('CSRF Failed')
}

// Seconds to wait, from Retry-After (delta-seconds or an HTTP date) or, failing
// that, from DRF's "Expected available in N seconds." detail.
function retryAfterSeconds(res, data) {
  const header = res.headers.get('Retry-After')
  if (header) {
    if (/^\d+$/.test(header.trim())) return Number(header.trim())
    const when = Date.parse(header)
    if (!Number.isNaN(when)) return Math.max(0, Math.ceil((when - Date.now()) / 1000))
  }
  const m = typeof data?.detail === 'string' && data.detail.match(/available in (\d+) second/)
  return m ? Number(m[1]) : null
}

/** "45 seconds", "5 minutes", "2 hours": rounded up, so we never promise too early. */
export function formatWait(seconds) {
  const s = Math.max(1, Math.ceil(seconds))
  const unit = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`
  if (s < 60) return unit(s, 'second')
  if (s < 3600) return unit(Math.ceil(s / 60), 'minute')
  return unit(Math.ceil(s / 3600), 'hour')
}

function firstMessage(value) {
  if (Array.isArray(value)) return value.map(String).join(' ')
  if (typeof value === 'string') return value
  return ''
}

function toError(res, data) {
  const status = res.status
  const detail = typeof data?.detail === 'string' ? data.detail : ''
  const base = { status, detail, code: typeof data?.code === 'string' ? data.code : '', body: data }

  if (status === 429 || status === 503) {
    const retryAfter = retryAfterSeconds(res, data)
    const wait = retryAfter == null ? 'a little while' : formatWait(retryAfter)
    const message =
      status === 429
        ? `Too many attempts. Try again in ${wait}.`
        : `The server is busy right now. Try again in ${wait}.`
    return new ApiError(message, { ...base, retryAfter })
  }
  if (status === 401) {
    // The second step of a login (mfa_required, mfa_expired) says what to do.
    if (base.code.startsWith('mfa_') && detail) return new ApiError(detail, base)
    return new ApiError('Your session has ended. Sign in again to continue.', base)
  }
  if (status === 403 && isCsrfFailure(data)) {
    return new ApiError('Your security token expired. Reload the page and try again.', base)
  }

  // DRF validation errors: {"field": ["msg", ...], "non_field_errors": [...]}
  if (!detail && data && typeof data === 'object' && !Array.isArray(data)) {
    const fields = {}
    let general = ''
    for (const [key, value] of Object.entries(data)) {
      const msg = firstMessage(value)
      if (!msg) continue
      if (key === 'non_field_errors') general = msg
      else fields[key] = msg
    }
    if (general || Object.keys(fields).length) {
      return new ApiError(general || 'Please correct the highlighted fields.', { ...base, fields })
    }
  }
  if (detail) return new ApiError(detail, base)
  if (status >= 500)
    return new ApiError(`Something went wrong on our side (error ${status}). Try again in a moment.`, base)
  return new ApiError(`The request failed (error ${status}).`, base)
}

/**
 * One API call.  Resolves to the parsed JSON body; rejects with an ApiError.
 * options.on401: 'redirect' (default: clear auth state and go to login) or
 * 'throw' (just reject; for the login form and the post-login profile check).
 */
export async function request(method, path, body, { on401 = 'redirect' } = {}) {
  const unsafe = !SAFE_METHODS.has(method)
  let res = await send(method, path, body)
  let data = await readBody(res)

  // The cookie may have been replaced under us (another tab logged in, the
  // cookie expired): refetch it once and retry; the server did nothing.
  if (unsafe && res.status === 403 && isCsrfFailure(data)) {
    await fetchCsrfCookie()
    res = await send(method, path, body)
    data = await readBody(res)
  }
  if (res.ok) return data

  const error = toError(res, data)
  if (res.status === 401 && on401 === 'redirect') unauthorizedHandler(error)
  if (res.status === 403 && error.code === 'mfa_setup_required') setupRequiredHandler(error)
  throw error
}

export const get = (path, options) => request('GET', path, undefined, options)
export const post = (path, body, options) => request('POST', path, body ?? {}, options)
export const patch = (path, body, options) => request('PATCH', path, body ?? {}, options)
export const del = (path, options) => request('DELETE', path, undefined, options)

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

// ---- endpoints (docs/design.md §2; accounts: docs/accounts-contract.md) ---------

/** Make sure a csrftoken cookie exists (the login page calls it early). */
export async function ensureCsrfCookie() {
  if (!readCookie(CSRF_COOKIE)) await fetchCsrfCookie()
}

export const authApi = {
  /**
   * -> {detail: "Success"}.  A user with a second factor gets 401 code
   * "mfa_required" (body.mfa.methods) and no session: see secondStepApi.
   */
  login: (email, password) => post('/api/login/', { email, password }, { on401: 'throw' }),
  logout: () => post('/api/logout/', {}, { on401: 'throw' }),
  /** Prove the password again on this session: {password} -> {detail}; 400 {password: [...]} when wrong */
  reauthenticate: (password) => post('/api/auth/reauthenticate/', { password }),
  /** The same with a code from the authenticator app: 400 {code: [...]} when wrong */
  reauthenticateWithCode: (code) => post('/api/auth/reauthenticate/', { method: 'totp', code }),
  /** A challenge for reauthenticateWithPasskey -> {publicKey} */
  reauthenticationPasskeyOptions: () => post('/api/auth/reauthenticate/webauthn/options/', {}),
  /** The same with a passkey: credential = the assertion as JSON; 400 {credential: [...]} when refused */
  reauthenticateWithPasskey: (credential) => post('/api/auth/reauthenticate/', { method: 'webauthn', credential }),
}

/** The 403 of an action that needs a recent password check (then reauthenticate and retry). */
export const isReauthRequired = (error) => error?.status === 403 && error.code === 'reauthentication_required'

/** The 401 of a password (or social) login that needs the second step: error.body.mfa = {methods, expires_in}. */
export const isSecondStepRequired = (error) => error?.status === 401 && error.code === 'mfa_required'

export const usersApi = {
  profile: (options) => get('/api/users/profile/', options),
}

// Accounts by email (docs/accounts-contract.md).  The anonymous endpoints
// throw on 401 rather than sending the visitor to the login page; a 401 from
// password change means the session ended and goes to login as usual.
const anonymous = { on401: 'throw' }

export const accountsApi = {
  /** { email, password, first_name?, last_name? } -> {detail} ("Verification e-mail sent." or "Account created.") */
  signup: ({ email, password, firstName = '', lastName = '' }) => {
    const body = { email, password }
    if (firstName) body.first_name = firstName
    if (lastName) body.last_name = lastName
    return post('/api/signup/', body, anonymous)
  },
  confirmEmail: (key) => post('/api/signup/confirm/', { key }, anonymous),
  resendConfirmation: (email) => post('/api/signup/resend/', { email }, anonymous),
  requestPasswordReset: (email) => post('/api/password/reset/', { email }, anonymous),
  resetPassword: (uid, token, newPassword) =>
    post('/api/password/reset/confirm/', { uid, token, new_password: newPassword }, anonymous),
  changePassword: (oldPassword, newPassword) =>
    post('/api/password/change/', { old_password: oldPassword, new_password: newPassword }),
}

/** The login answer for a right password on an account whose address is not confirmed yet. */
export const UNVERIFIED_DETAIL = 'E-mail is not verified.'

// Second factors and passkeys (docs/mfa-contract.md).
//
// The second step of a login belongs to a browser that holds no session yet,
// only the HttpOnly gatehouse_mfa cookie naming the pending login: its 401s
// ("mfa_expired") are thrown to the page, never sent to the global handler.
export const secondStepApi = {
  /** -> {methods: ["webauthn", "totp", "recovery_code"], expires_in, next?}; 401 mfa_expired */
  status: () => get('/api/mfa/authenticate/', anonymous),
  /** -> {publicKey} for getCredential(); 400 {detail} when the user has no passkey */
  passkeyOptions: () => post('/api/mfa/authenticate/webauthn/options/', {}, anonymous),
  /** -> {detail: "Success"} and the session; 400 {code: [...]} (totp, recovery_code) */
  withCode: (method, code) => post('/api/mfa/authenticate/', { method, code }, anonymous),
  /** -> {detail: "Success"} and the session; 400 {credential: [...]} */
  withPasskey: (credential) => post('/api/mfa/authenticate/', { method: 'webauthn', credential }, anonymous),
}

// Signing in with a passkey alone (a discoverable credential with user verification).
export const passkeyApi = {
  /** -> {publicKey} (anonymous; binds the challenge to this browser with a cookie) */
  options: () => post('/api/passkey/options/', {}, anonymous),
  /** -> {detail: "Success"} and the session; 400 {credential: [...]} or {detail} */
  login: (credential) => post('/api/passkey/login/', { credential }, anonymous),
}

// Managing the signed-in user's own factors.  Adding and removing need a
// recent check of the password (403 reauthentication_required: see isReauthRequired).
export const mfaApi = {
  /** -> {totp: {enabled, created?}, recovery_codes: {total, unused}, webauthn: [passkey], required, reauth_fresh} */
  status: () => get('/api/mfa/'),
  /** -> {secret, otpauth_url, algorithm, digits, period}: a new secret, enabled once confirmed; 409 mfa_totp_exists */
  totpSetup: () => post('/api/mfa/totp/setup/', {}),
  /** -> {detail, recovery_codes?}; 400 {code: [...]}; 409 mfa_setup_missing */
  totpConfirm: (code) => post('/api/mfa/totp/confirm/', { code }),
  totpRemove: () => del('/api/mfa/totp/'),
  /** -> {recovery_codes: [10 codes]}; the old ones stop working; 409 mfa_not_enabled */
  newRecoveryCodes: () => post('/api/mfa/recovery-codes/', {}),
  /** -> {publicKey} for createCredential() */
  passkeyOptions: () => post('/api/mfa/webauthn/register/options/', {}),
  /** -> 201 passkey {id, name, created, last_used, transports} (+ recovery_codes when the user had none) */
  addPasskey: ({ name, credential }) => {
    const body = { credential }
    if (name) body.name = name
    return post('/api/mfa/webauthn/register/', body)
  },
  renamePasskey: (id, name) => patch(`/api/mfa/webauthn/${seg(id)}/`, { name }),
  removePasskey: (id) => del(`/api/mfa/webauthn/${seg(id)}/`),
}

// Own sessions and API tokens (docs/admin-contract.md).
export const sessionsApi = {
  /** [{id, created, last_seen, expires, ip, device, user_agent, current}], most recently seen first */
  list: () => get('/api/sessions/'),
  revoke: (id) => del(`/api/sessions/${seg(id)}/`),
  revokeOthers: () => post('/api/sessions/revoke-others/', {}),
}

export const tokensApi = {
  /** [{id, name, created, last_used, expires}] (never the key) */
  list: () => get('/api/tokens/'),
  /** -> {id, name, created, last_used, expires, key}: the only time the key is shown */
  create: ({ name, password, expiresInDays }) => {
    const body = { name, password }
    if (expiresInDays !== undefined && expiresInDays !== null && expiresInDays !== '')
      body.expires_in_days = expiresInDays
    return post('/api/tokens/', body)
  },
  revoke: (id) => del(`/api/tokens/${seg(id)}/`),
}

// The admin area (staff only; the server answers 403 with a readable detail
// for everyone else, which ApiError carries as its message).
export const adminApi = {
  /** -> {count, next, previous, results: [user + is_active]} */
  users: ({ search, page, pageSize } = {}) => get(`/api/admin/users/${query({ search, page, page_size: pageSize })}`),
  user: (id) => get(`/api/admin/users/${seg(id)}/`),
  /**
   * An account for someone else -> the new user (active, address verified, no
   * usable password: the server mails them a link to choose one).  Staff and
   * superuser flags are sent only when given (only a superuser may set them).
   */
  createUser: ({ email, firstName = '', lastName = '', isStaff, isSuperuser }) => {
    const body = { email }
    if (firstName) body.first_name = firstName
    if (lastName) body.last_name = lastName
    if (isStaff !== undefined) body.is_staff = isStaff
    if (isSuperuser !== undefined) body.is_superuser = isSuperuser
    return post('/api/admin/users/', body)
  },
  /** changes: any of {is_active, is_staff, is_superuser, email_verified} */
  updateUser: (id, changes) => patch(`/api/admin/users/${seg(id)}/`, changes),
  sessions: (id) => get(`/api/admin/users/${seg(id)}/sessions/`),
  endSession: (id, sid) => del(`/api/admin/users/${seg(id)}/sessions/${seg(sid)}/`),
  endAllSessions: (id) => del(`/api/admin/users/${seg(id)}/sessions/`),
  tokens: (id) => get(`/api/admin/users/${seg(id)}/tokens/`),
  revokeToken: (id, tid) => del(`/api/admin/users/${seg(id)}/tokens/${seg(tid)}/`),
  sendPasswordReset: (id) => post(`/api/admin/users/${seg(id)}/password-reset/`, {}),
  /** Remove every second factor and recovery code of the user (needs a recent password check). */
  removeSecondFactors: (id) => del(`/api/admin/users/${seg(id)}/mfa/`),
  /** -> paginated {id, at, actor_id, user_id, event, detail, ip, user_agent}, newest first */
  audit: ({ user, actor, event, page, pageSize } = {}) =>
    get(`/api/admin/audit/${query({ user, actor, event, page, page_size: pageSize })}`),
}

// Social login (docs/social-contract.md).  A server without it answers 404 on
// the providers list: that reads as "no providers", and the UI hides itself.
export const socialApi = {
  /** [{name, label, authorize_url}] */
  providers: async () => {
    try {
      const list = await get('/api/social/providers/', anonymous)
      return Array.isArray(list)
        ? list.filter((p) => p && typeof p.name === 'string' && typeof p.authorize_url === 'string')
        : []
    } catch (error) {
      if (error.status === 404) return []
      throw error
    }
  },
  /** Where "Continue with <Provider>" goes: the server's authorize URL plus ?next=. */
  authorizeHref: (provider, next) => {
    const url = provider.authorize_url
    const q = query({ next })
    return q && url.includes('?') ? `${url}&${q.slice(1)}` : url + q
  },
  /**
   * Start connecting a provider to the signed-in account: a POST with CSRF
   * (a plain link never connects anything) -> {url} of the provider's page.
   */
  connect: (provider, next) => post(`/api/social/${seg(provider)}/connect/`, next ? { next } : {}),
  /** Finish the provider's round trip: {code, state} or {error, state} -> {detail, next} */
  complete: (provider, params) => post(`/api/social/${seg(provider)}/`, params, anonymous),
  /** [{id, provider, label, uid, created}] */
  identities: () => get('/api/social/identities/'),
  disconnect: (id) => del(`/api/social/identities/${seg(id)}/`),
}
