// errors.js — every failure of a gatehouse call as one typed exception.
//
// Owns: the error classes, the mapping from an HTTP answer (status, DRF body,
// Retry-After) to the right class, and a message fit to show a person.
// Must never: put a secret (a password, a token key, a cookie) into a message;
// the body it carries is the server's own answer, which never holds one.

/** "45 seconds", "5 minutes", "2 hours": rounded up, so a wait is never promised too early. */
export function formatWait(seconds) {
  const s = Math.max(1, Math.ceil(seconds))
  const unit = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`
  if (s < 60) return unit(s, 'second')
  if (s < 3600) return unit(Math.ceil(s / 60), 'minute')
  return unit(Math.ceil(s / 3600), 'hour')
}

export const NETWORK_MESSAGE = "Can't reach the server. Check your connection and try again."

/**
 * The base class.  status 0 when the server never answered (NetworkError) or
 * the request was never sent (CsrfError of kind 'cookies').
 *   kind:        'http' | 'network' | 'timeout' | 'cookies'
 *   body:        the parsed JSON answer as it came (DRF shape), or null
 *   detail:      body.detail when it is a string, else ''
 *   code:        body.code when it is a string (e.g. 'reauthentication_required'), else ''
 *   fieldErrors: { field: 'message' } from DRF validation errors (a field's
 *                messages joined by a space; non_field_errors is left out)
 *   nonFieldErrors: body.non_field_errors joined, else ''
 *   retryAfter:  seconds to wait (429, 503), or null
 */
export class GatehouseError extends Error {
  constructor(message, options = {}) {
    super(message)
    this.name = 'GatehouseError'
    this.status = options.status ?? 0
    this.kind = options.kind ?? 'http'
    this.body = options.body ?? null
    this.detail = options.detail ?? (typeof this.body?.detail === 'string' ? this.body.detail : '')
    this.code = options.code ?? (typeof this.body?.code === 'string' ? this.body.code : '')
    this.fieldErrors = options.fieldErrors ?? {}
    this.nonFieldErrors = options.nonFieldErrors ?? ''
    this.retryAfter = options.retryAfter ?? null
    this.method = options.method ?? ''
    this.path = options.path ?? ''
    if (options.cause !== undefined) this.cause = options.cause
  }
}

/** 400: the server refused the input; fieldErrors says which field and why. */
export class ValidationError extends GatehouseError {
  constructor(message, options = {}) {
    super(message, { status: 400, ...options })
    this.name = 'ValidationError'
  }
}

/** 401: no session (or it ended), a wrong token, or a second step that expired (code 'mfa_expired'). */
export class AuthenticationError extends GatehouseError {
  constructor(message, options = {}) {
    super(message, { status: 401, ...options })
    this.name = 'AuthenticationError'
  }
}

/**
 * 401 code 'mfa_required': the password was right, the account has a second
 * factor, and there is no session yet, only a pending login held by an
 * HttpOnly cookie.  methods: ['webauthn', 'totp', 'recovery_code'] (those the
 * user has); expiresIn: seconds left for the second step; next: the page a
 * social login was going to (social logins only).
 */
export class MfaRequiredError extends AuthenticationError {
  constructor(message, options = {}) {
    super(message, { code: 'mfa_required', ...options })
    this.name = 'MfaRequiredError'
    const mfa = this.body?.mfa && typeof this.body.mfa === 'object' ? this.body.mfa : {}
    this.methods = Array.isArray(mfa.methods) ? mfa.methods.filter((m) => typeof m === 'string') : []
    this.expiresIn = typeof mfa.expires_in === 'number' ? mfa.expires_in : null
    this.next = typeof this.body?.next === 'string' ? this.body.next : null
  }
}

/** 403: not allowed (not staff, a restricted session: code 'mfa_setup_required', ...). */
export class PermissionError extends GatehouseError {
  constructor(message, options = {}) {
    super(message, { status: 403, ...options })
    this.name = 'PermissionError'
  }
}

/** 403 code 'reauthentication_required': prove the password (or a factor) again, then retry. */
export class ReauthenticationRequiredError extends PermissionError {
  constructor(message, options = {}) {
    super(message, { code: 'reauthentication_required', ...options })
    this.name = 'ReauthenticationRequiredError'
  }
}

/**
 * 403 "CSRF Failed: ...", after the one refresh and retry; or (status 0, kind
 * 'cookies') no csrftoken cookie could be had at all: the browser refuses it.
 */
export class CsrfError extends PermissionError {
  constructor(message, options = {}) {
    super(message, options)
    this.name = 'CsrfError'
  }
}

export class NotFoundError extends GatehouseError {
  constructor(message, options = {}) {
    super(message, { status: 404, ...options })
    this.name = 'NotFoundError'
  }
}

/** 409: the state does not allow it now (e.g. 'mfa_totp_exists', 'mfa_setup_missing'). */
export class ConflictError extends GatehouseError {
  constructor(message, options = {}) {
    super(message, { status: 409, ...options })
    this.name = 'ConflictError'
  }
}

/** 429: too many attempts; retryAfter seconds (from Retry-After, else from the detail). */
export class ThrottledError extends GatehouseError {
  constructor(message, options = {}) {
    super(message, { status: 429, ...options })
    this.name = 'ThrottledError'
  }
}

/** 503: busy (full hashing queue) or the database is unreachable; retryAfter seconds. */
export class UnavailableError extends GatehouseError {
  constructor(message, options = {}) {
    super(message, { status: 503, ...options })
    this.name = 'UnavailableError'
  }
}

/** No answer: the network failed (kind 'network') or the timeout passed (kind 'timeout'). */
export class NetworkError extends GatehouseError {
  constructor(message = NETWORK_MESSAGE, options = {}) {
    super(message, { status: 0, kind: 'network', ...options })
    this.name = 'NetworkError'
  }
}

/** A 403 whose detail is Django's "CSRF Failed: ..." (the one answer the client retries). */
export function isCsrfFailure(status, body) {
  return status === 403 && typeof body?.detail === 'string' && body.detail.startsWith('CSRF Failed')
}

// Seconds to wait, from Retry-After (delta-seconds or an HTTP date) or, failing
// that, from DRF's "Expected available in N seconds." detail.
function retryAfterSeconds(headers, body, now) {
  const header = headers?.get?.('Retry-After')
  if (header) {
    const h = header.trim()
    if (/^\d+$/.test(h)) return Number(h)
    const when = Date.parse(h)
    if (!Number.isNaN(when)) return Math.max(0, Math.ceil((when - now) / 1000))
  }
  const m = typeof body?.detail === 'string' && body.detail.match(/available in (\d+) second/)
  return m ? Number(m[1]) : null
}

// a DRF field error is a list of messages; anything else in a body (detail, code, mfa, next) is not one
function joined(value) {
  if (!Array.isArray(value)) return ''
  return value.filter((v) => typeof v === 'string' || typeof v === 'number').join(' ')
}

/** DRF validation errors {"field": ["msg", ...], "non_field_errors": [...]} as {fieldErrors, nonFieldErrors}. */
function validationErrors(body) {
  const fieldErrors = {}
  let nonFieldErrors = ''
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { fieldErrors, nonFieldErrors }
  for (const [key, value] of Object.entries(body)) {
    const msg = joined(value)
    if (!msg) continue
    if (key === 'non_field_errors') nonFieldErrors = msg
    else fieldErrors[key] = msg
  }
  return { fieldErrors, nonFieldErrors }
}

/**
 * The exception for a non-2xx answer.  status, headers (a Headers, for
 * Retry-After), body (parsed JSON or null), method and path of the call.
 */
export function errorFromResponse({ status, headers, body, method = '', path = '', now = Date.now() }) {
  const detail = typeof body?.detail === 'string' ? body.detail : ''
  const code = typeof body?.code === 'string' ? body.code : ''
  const { fieldErrors, nonFieldErrors } = validationErrors(body)
  const base = { status, body, detail, code, fieldErrors, nonFieldErrors, method, path }

  if (status === 429 || status === 503) {
    const retryAfter = retryAfterSeconds(headers, body, now)
    const wait = retryAfter == null ? 'a little while' : formatWait(retryAfter)
    if (status === 429) return new ThrottledError(`Too many attempts. Try again in ${wait}.`, { ...base, retryAfter })
    return new UnavailableError(`The server is busy right now. Try again in ${wait}.`, { ...base, retryAfter })
  }
  if (status === 401) {
    // The second step of a login (mfa_required, mfa_expired) says what to do.
    const message = code.startsWith('mfa_') && detail ? detail : 'Your session has ended. Sign in again to continue.'
    if (code === 'mfa_required') return new MfaRequiredError(message, base)
    return new AuthenticationError(message, base)
  }
  if (status === 403) {
    if (isCsrfFailure(status, body))
      return new CsrfError('Your security token expired. Reload the page and try again.', base)
    const message = detail || 'You are not allowed to do this.'
    if (code === 'reauthentication_required') return new ReauthenticationRequiredError(message, base)
    return new PermissionError(message, base)
  }

  let message = detail
  if (!message && (nonFieldErrors || Object.keys(fieldErrors).length))
    message = nonFieldErrors || 'Please correct the highlighted fields.'
  if (!message)
    message =
      status >= 500
        ? `Something went wrong on our side (error ${status}). Try again in a moment.`
        : `The request failed (error ${status}).`
  if (status === 400) return new ValidationError(message, base)
  if (status === 404) return new NotFoundError(message, base)
  if (status === 409) return new ConflictError(message, base)
  return new GatehouseError(message, base)
}
