// Where to go after signing in: the `next` query parameter, but only when it
// is a path on this very origin.  Anything else (https://evil.test/,
// //evil.test, /\evil.test, javascript:..., a non-string) falls back to home,
// so a crafted link cannot bounce a fresh session to another site.

export function safeNext(value, fallback = '/') {
  if (typeof value !== 'string' || value === '') return fallback
  // Must look like an absolute path; browsers treat "//" and "/\" as another host.
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return fallback
  if (/[\u0000-\u001f\u007f]/.test(value)) return fallback
  let url
  try {
    url = new URL(value, window.location.origin)
  } catch {
    return fallback
  }
  if (url.origin !== window.location.origin) return fallback
  return url.pathname + url.search + url.hash
}
