// @gatehouse/client — the JavaScript client of gatehouse (README.md).
//
// Owns: the public surface of the package; everything it exports is declared
// in ../index.d.ts.  Must never: grow a runtime dependency (fetch,
// BroadcastChannel and localStorage are the platform's).

export { createClient, CSRF_COOKIE_PATH, GatehouseErrorEvent } from './client.js'
export { MemoryCookieJar, cookieValue } from './cookies.js'
export { AuthChangeEvent, CHANNEL_NAME, parseAuthMessage } from './auth-events.js'
export {
  AuthenticationError,
  ConflictError,
  CsrfError,
  GatehouseError,
  MfaRequiredError,
  NETWORK_MESSAGE,
  NetworkError,
  NotFoundError,
  PermissionError,
  ReauthenticationRequiredError,
  ThrottledError,
  UnavailableError,
  ValidationError,
  errorFromResponse,
  formatWait,
  isCsrfFailure,
} from './errors.js'
