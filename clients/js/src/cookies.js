// cookies.js — where the client finds the csrftoken, in a browser and in node.
//
// Owns: reading one cookie from a "name=value; name2=value2" string, and
// MemoryCookieJar, the jar used outside a browser (node, tests, scripts).
// A jar is anything with the two methods tough-cookie's CookieJar has:
//   getCookieString(url) -> string | Promise<string>   (the Cookie header for url)
//   setCookie(setCookieLine, url) -> any | Promise      (one Set-Cookie line)
// so `new (require('tough-cookie').CookieJar)()` works as well as ours.
// Must never: read or expose the HttpOnly session cookie in a browser (it
// cannot, document.cookie does not show it); log a cookie.

/** The value of cookie `name` in a Cookie-header-style string, or ''. */
export function cookieValue(cookieString, name) {
  for (const part of String(cookieString || '').split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() !== name) continue
    let value = part.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    try {
      return decodeURIComponent(value)
    } catch {
      return value
    }
  }
  return ''
}

/**
 * A jar for one gatehouse origin, in memory: it keeps the last value of each
 * cookie name the server set, drops a cookie the server expires (Max-Age <= 0
 * or an Expires in the past) and honours Max-Age/Expires when asked later.
 * It ignores Domain and Path (every cookie gatehouse sets is Path=/ on its own
 * host) and Secure (node talks to http://127.0.0.1 in development).  Use
 * tough-cookie instead when one jar serves several sites.
 */
export class MemoryCookieJar {
  #cookies = new Map() // name -> { value, expires: ms | null }

  getCookieString() {
    const now = Date.now()
    const parts = []
    for (const [name, c] of this.#cookies) {
      if (c.expires !== null && c.expires <= now) this.#cookies.delete(name)
      else parts.push(`${name}=${c.value}`)
    }
    return parts.join('; ')
  }

  setCookie(line) {
    const [pair, ...attrs] = String(line).split(';')
    const eq = pair.indexOf('=')
    if (eq <= 0) return
    const name = pair.slice(0, eq).trim()
    let value = pair.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    let expires = null
    let maxAgeSeen = false
    for (const attr of attrs) {
      const i = attr.indexOf('=')
      const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase()
      const val = i < 0 ? '' : attr.slice(i + 1).trim()
      if (key === 'max-age' && /^-?\d+$/.test(val)) {
        maxAgeSeen = true // Max-Age wins over Expires (RFC 6265 5.3)
        expires = Date.now() + Number(val) * 1000
      } else if (key === 'expires' && !maxAgeSeen) {
        const when = Date.parse(val)
        if (!Number.isNaN(when)) expires = when
      }
    }
    if (value === '' || (expires !== null && expires <= Date.now())) this.#cookies.delete(name)
    else this.#cookies.set(name, { value, expires })
  }

  /** The current value of one cookie, or '' (for tests and scripts). */
  get(name) {
    return cookieValue(this.getCookieString(), name)
  }

  /** Set a cookie by hand (e.g. a session key from elsewhere), or remove it with ''. */
  set(name, value) {
    if (value === '' || value === null || value === undefined) this.#cookies.delete(name)
    else this.#cookies.set(name, { value: String(value), expires: null })
  }

  clear() {
    this.#cookies.clear()
  }
}
