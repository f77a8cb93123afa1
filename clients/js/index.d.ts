// Type declarations of @gatehouse/client (hand-written; src/index.js is the code).

// ---- the server's shapes ------------------------------------------------------------

/** A DRF-style answer body: {"detail": "..."} or {"field": ["message", ...]}. */
export type DrfBody = { [key: string]: unknown } | unknown[] | null

export interface Detail {
  detail: string
}

export interface Profile {
  id: number
  email: string
  first_name: string
  last_name: string
  is_staff: boolean
  is_superuser: boolean
  date_joined: string
  last_login: string | null
  email_verified?: boolean
  mfa_enabled?: boolean
  /** true while the organisation wants a second factor and the account has none */
  mfa_setup_required?: boolean
  [key: string]: unknown
}

export type SecondFactorMethod = 'webauthn' | 'totp' | 'recovery_code'

export interface PendingLogin {
  methods: SecondFactorMethod[]
  expires_in: number
  /** the page a social login was going to */
  next?: string
}

export interface Session {
  id: number
  created: string
  last_seen: string
  expires: string
  ip: string
  device: string
  user_agent: string
  current: boolean
}

export interface Token {
  id: number
  name: string
  created: string
  last_used: string | null
  expires: string | null
}

export interface NewToken extends Token {
  /** the key, shown this once */
  key: string
}

export interface Passkey {
  id: number
  name: string
  created: string
  last_used: string | null
  transports: string[]
}

export interface MfaStatus {
  totp: { enabled: boolean; created?: string }
  recovery_codes: { total: number; unused: number }
  webauthn: Passkey[]
  required: boolean
  reauth_fresh: boolean
}

export interface TotpSetup {
  secret: string
  otpauth_url: string
  algorithm: string
  digits: number
  period: number
}

/** WebAuthn options as JSON: hand publicKey to navigator.credentials.get()/create() after decoding. */
export interface WebAuthnOptions {
  publicKey: { [key: string]: unknown }
}

export interface SocialProvider {
  name: string
  label: string
  authorize_url: string
}

export interface SocialIdentity {
  id: number
  provider: string
  label: string
  uid: string
  created: string
}

export interface AdminUser extends Profile {
  is_active: boolean
  email_verified?: boolean
}

export interface Page<T> {
  count: number
  next: string | null
  previous: string | null
  results: T[]
}

export interface AuditRow {
  id: number
  at: string
  actor_id: number | null
  user_id: number | null
  event: string
  detail: { [key: string]: unknown } | null
  ip: string | null
  user_agent: string | null
}

// ---- errors ---------------------------------------------------------------------------

export type ErrorKind = 'http' | 'network' | 'timeout' | 'cookies'

export interface GatehouseErrorOptions {
  status?: number
  kind?: ErrorKind
  body?: DrfBody
  detail?: string
  code?: string
  fieldErrors?: Record<string, string>
  nonFieldErrors?: string
  retryAfter?: number | null
  method?: string
  path?: string
  cause?: unknown
}

/** Every failure of a call.  message is fit to show a person. */
export declare class GatehouseError extends Error {
  constructor(message: string, options?: GatehouseErrorOptions)
  /** the HTTP status; 0 when there was no answer (NetworkError) or nothing was sent (CsrfError kind 'cookies') */
  status: number
  kind: ErrorKind
  /** the parsed JSON answer (DRF shape) as it came, or null */
  body: DrfBody
  /** body.detail, or '' */
  detail: string
  /** body.code (e.g. 'reauthentication_required', 'mfa_setup_required'), or '' */
  code: string
  /** DRF validation errors: field -> its messages joined by a space (non_field_errors apart) */
  fieldErrors: Record<string, string>
  /** body.non_field_errors joined, or '' */
  nonFieldErrors: string
  /** seconds to wait (429, 503), or null */
  retryAfter: number | null
  /** the call: 'POST', '/api/login/' */
  method: string
  path: string
}
/** 400 */
export declare class ValidationError extends GatehouseError {}
/** 401 */
export declare class AuthenticationError extends GatehouseError {}
/** 401 code 'mfa_required': the password was right; the second step is due (no session yet). */
export declare class MfaRequiredError extends AuthenticationError {
  methods: SecondFactorMethod[]
  /** seconds left for the second step, or null */
  expiresIn: number | null
  /** the page a social login was going to, or null */
  next: string | null
}
/** 403 */
export declare class PermissionError extends GatehouseError {}
/** 403 code 'reauthentication_required': call auth.reauthenticate*() and retry. */
export declare class ReauthenticationRequiredError extends PermissionError {}
/** 403 "CSRF Failed" after the one refresh and retry; or status 0, kind 'cookies': no cookie could be had. */
export declare class CsrfError extends PermissionError {}
/** 404 */
export declare class NotFoundError extends GatehouseError {}
/** 409 */
export declare class ConflictError extends GatehouseError {}
/** 429 */
export declare class ThrottledError extends GatehouseError {}
/** 503 */
export declare class UnavailableError extends GatehouseError {}
/** no answer: kind 'network' or 'timeout' */
export declare class NetworkError extends GatehouseError {
  constructor(message?: string, options?: GatehouseErrorOptions)
}

/** The exception for a non-2xx answer. */
export declare function errorFromResponse(answer: {
  status: number
  headers?: { get(name: string): string | null } | null
  body: DrfBody
  method?: string
  path?: string
  /** the clock for an HTTP-date Retry-After (ms) */
  now?: number
}): GatehouseError
/** A 403 whose detail is "CSRF Failed: ...". */
export declare function isCsrfFailure(status: number, body: DrfBody): boolean
/** "45 seconds", "5 minutes", "2 hours" (rounded up). */
export declare function formatWait(seconds: number): string
export declare const NETWORK_MESSAGE: string

// ---- cookies --------------------------------------------------------------------------

/** What the client needs of a jar (tough-cookie's CookieJar has both). */
export interface CookieJar {
  getCookieString(url: string): string | Promise<string>
  setCookie(setCookieLine: string, url: string): unknown
}

/** A jar for one gatehouse origin, in memory (the default outside a browser). */
export declare class MemoryCookieJar implements CookieJar {
  getCookieString(url?: string): string
  setCookie(setCookieLine: string, url?: string): void
  /** the current value of one cookie, or '' */
  get(name: string): string
  /** set one by hand; '' (or null) removes it */
  set(name: string, value: string | null | undefined): void
  clear(): void
}

/** The value of one cookie in a "a=1; b=2" string, or ''. */
export declare function cookieValue(cookieString: string | null | undefined, name: string): string

// ---- auth events ----------------------------------------------------------------------

export type AuthState = 'signed-in' | 'signed-out'

/** The message other tabs get: no secret, only the state. */
export interface AuthMessage {
  state: AuthState
  userId?: number | string
}

export interface AuthChange extends AuthMessage {
  /** login: a call of this client made a session; logout; unauthorized: a 401 from an authenticated call; remote: another tab */
  reason: 'login' | 'logout' | 'unauthorized' | 'remote'
  source: 'local' | 'remote'
}

export declare class AuthChangeEvent extends Event {
  constructor(detail: AuthChange)
  readonly type: 'authchange'
  detail: AuthChange
}

export declare class GatehouseErrorEvent extends Event {
  constructor(error: GatehouseError)
  readonly type: 'error'
  error: GatehouseError
}

/** 'gatehouse-auth': the BroadcastChannel name and the localStorage key. */
export declare const CHANNEL_NAME: string
/** A message from another tab, checked; null when it is not one. */
export declare function parseAuthMessage(data: unknown): AuthMessage | null

// ---- the client -----------------------------------------------------------------------

/** GET /api/login-set-cookie/: where a csrftoken cookie comes from. */
export declare const CSRF_COOKIE_PATH: string

export interface ClientOptions {
  /** '' (same origin; the default in a browser) or e.g. 'http://127.0.0.1:8000'; required outside a browser */
  baseUrl?: string
  fetch?: typeof globalThis.fetch
  /** 'same-origin' (default) or 'include' for an API on another origin */
  credentials?: 'same-origin' | 'include' | 'omit'
  csrfCookieName?: string
  csrfHeaderName?: string
  /** where cookies live outside a browser; default: document.cookie in a browser, a MemoryCookieJar elsewhere; false: none */
  cookieJar?: CookieJar | false | null
  /** an API token: "Authorization: Token <key>", no CSRF */
  token?: string
  /** extra headers on every request */
  headers?: Record<string, string>
  /** ms before NetworkError kind 'timeout' (default 20000; 0: never) */
  timeout?: number
  /** auth changes reach other tabs (default true) */
  crossTab?: boolean
  channelName?: string
  /** where to read cookies in a browser (default globalThis.document) */
  document?: { cookie: string }
  /** cross-tab transport overrides (tests, unusual hosts); undefined means "none" */
  BroadcastChannel?: typeof globalThis.BroadcastChannel | undefined
  storage?: { setItem(key: string, value: string): void } | null
  addWindowListener?:
    | ((
        type: 'storage',
        handler: (event: { key: string | null; newValue: string | null }) => void,
      ) => (() => void) | null)
    | null
}

export interface RequestOptions {
  /** the endpoint needs a signed-in caller: a 401 fires 'authchange' signed-out */
  authenticated?: boolean
  /** false: a 401 is only thrown (no event) */
  notifyUnauthorized?: boolean
  signal?: AbortSignal
}

export interface GatehouseClient {
  /** Any call: resolves to the parsed JSON (null for none); rejects with a GatehouseError. */
  request<T = unknown>(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<T>
  /** 'authchange' (AuthChangeEvent) and 'error' (GatehouseErrorEvent) */
  readonly events: EventTarget
  /** the last auth change this client saw, here or in another tab ('unknown' before any) */
  readonly authState: AuthState | 'unknown'
  /** returns the function that removes the listener */
  onAuthChange(listener: (change: AuthChange) => void): () => void
  /** every error answer of the server, before the call rejects; returns the remover */
  onError(listener: (error: GatehouseError) => void): () => void
  /** make sure a csrftoken cookie exists */
  ensureCsrf(): Promise<void>
  /** stop talking to other tabs */
  close(): void

  auth: {
    /** MfaRequiredError when a second factor is due */
    login(email: string, password: string): Promise<Detail>
    logout(): Promise<Detail>
    reauthenticate(password: string): Promise<Detail>
    reauthenticateWithCode(code: string): Promise<Detail>
    reauthenticationPasskeyOptions(): Promise<WebAuthnOptions>
    reauthenticateWithPasskey(credential: unknown): Promise<Detail>
  }
  profile: {
    get(options?: RequestOptions): Promise<Profile>
  }
  accounts: {
    signup(fields: { email: string; password: string; firstName?: string; lastName?: string }): Promise<Detail>
    confirmEmail(key: string): Promise<Detail>
    resendConfirmation(email: string): Promise<Detail>
    requestPasswordReset(email: string): Promise<Detail>
    resetPassword(uid: string, token: string, newPassword: string): Promise<Detail>
    changePassword(oldPassword: string, newPassword: string): Promise<Detail>
  }
  secondStep: {
    status(): Promise<PendingLogin>
    passkeyOptions(): Promise<WebAuthnOptions>
    withCode(method: 'totp' | 'recovery_code', code: string): Promise<Detail>
    withPasskey(credential: unknown): Promise<Detail>
  }
  passkeys: {
    options(): Promise<WebAuthnOptions>
    login(credential: unknown): Promise<Detail>
  }
  mfa: {
    status(): Promise<MfaStatus>
    totpSetup(): Promise<TotpSetup>
    totpConfirm(code: string): Promise<Detail & { recovery_codes?: string[] }>
    totpRemove(): Promise<Detail>
    newRecoveryCodes(): Promise<{ recovery_codes: string[] }>
    passkeyOptions(): Promise<WebAuthnOptions>
    addPasskey(passkey: { name?: string; credential: unknown }): Promise<Passkey & { recovery_codes?: string[] }>
    renamePasskey(id: number | string, name: string): Promise<Passkey>
    removePasskey(id: number | string): Promise<Detail>
  }
  sessions: {
    list(): Promise<Session[]>
    /** 204: null */
    revoke(id: number | string): Promise<null>
    revokeOthers(): Promise<Detail>
  }
  tokens: {
    list(): Promise<Token[]>
    create(token: { name: string; password?: string; expiresInDays?: number | string | null }): Promise<NewToken>
    /** 204: null */
    revoke(id: number | string): Promise<null>
  }
  social: {
    /** [] when the server has no social login */
    providers(): Promise<SocialProvider[]>
    /** where "Continue with <Provider>" navigates (a full page load, not a fetch) */
    authorizeUrl(provider: SocialProvider | string, next?: string): string
    connect(provider: string, next?: string): Promise<{ url: string }>
    complete(
      provider: string,
      params: { code?: string; state?: string; error?: string; [key: string]: unknown },
    ): Promise<Detail & { next?: string }>
    identities(): Promise<SocialIdentity[]>
    /** 204: null */
    disconnect(id: number | string): Promise<null>
  }
  admin: {
    users(query?: { search?: string; page?: number; pageSize?: number }): Promise<Page<AdminUser>>
    user(id: number | string): Promise<AdminUser>
    createUser(user: {
      email: string
      firstName?: string
      lastName?: string
      isStaff?: boolean
      isSuperuser?: boolean
    }): Promise<AdminUser>
    updateUser(
      id: number | string,
      changes: { is_active?: boolean; is_staff?: boolean; is_superuser?: boolean; email_verified?: boolean },
    ): Promise<AdminUser>
    sessions(id: number | string): Promise<Session[]>
    endSession(id: number | string, sessionId: number | string): Promise<null>
    endAllSessions(id: number | string): Promise<null>
    tokens(id: number | string): Promise<Token[]>
    revokeToken(id: number | string, tokenId: number | string): Promise<null>
    sendPasswordReset(id: number | string): Promise<Detail>
    removeSecondFactors(id: number | string): Promise<Detail | null>
    audit(query?: {
      user?: number | string
      actor?: number | string
      event?: string
      page?: number
      pageSize?: number
    }): Promise<Page<AuditRow>>
  }
}

export declare function createClient(options?: ClientOptions): GatehouseClient
