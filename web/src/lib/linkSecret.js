// linkSecret.js — the secret part of a link from a mail (a password reset's
// uid and token, an email confirmation key), held in memory only.
//
// The router takes it out of the URL before the page shows (the address bar,
// the history entry and any Referer then hold no token) and parks it here;
// the page picks it up once.  A reload loses it on purpose: the page then
// says the link does not work and offers a new one.

let held = null

/** Keep value for the page of kind ('reset' or 'confirm'), replacing any older one. */
export function holdLinkSecret(kind, value) {
  held = { kind, value }
}

/** The value held for kind (once), or null. */
export function takeLinkSecret(kind) {
  if (!held || held.kind !== kind) return null
  const { value } = held
  held = null
  return value
}

/** While a page that handled a secret is shown, send no Referer at all. */
export function useNoReferrer() {
  let meta = null
  return {
    on() {
      meta = document.createElement('meta')
      meta.name = 'referrer'
      meta.content = 'no-referrer'
      document.head.appendChild(meta)
    },
    off() {
      meta?.remove()
      meta = null
    },
  }
}
