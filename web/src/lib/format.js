// Dates and times as people read them.  The server speaks ISO 8601 UTC
// ("2026-11-27T09:21:25Z"); these show them in the browser's locale and zone.

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'long' })
const shortDateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' })
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

function parse(value) {
  if (!value) return null
  const d = new Date(value)
  return Number.isNaN(d.getTime()) ? null : d
}

/** "27 November 2026" ('—' when unset). */
export function formatDate(value) {
  const d = parse(value)
  return d ? dateFormat.format(d) : value || '—'
}

/** "27 Nov 2026" ('—' when unset). */
export function formatShortDate(value) {
  const d = parse(value)
  return d ? shortDateFormat.format(d) : value || '—'
}

/** "27 Nov 2026, 09:21" ('—' when unset). */
export function formatDateTime(value) {
  const d = parse(value)
  return d ? dateTimeFormat.format(d) : value || '—'
}

/** The full date and time, for a title/tooltip next to a relative one. */
export function formatFull(value) {
  const d = parse(value)
  return d ? fullFormat.format(d) : ''
}

const STEPS = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
]

/** "just now", "5 minutes ago", "in 3 days" ('—' when unset). */
export function formatRelative(value, now = Date.now()) {
  const d = parse(value)
  if (!d) return value || '—'
  const seconds = Math.round((d.getTime() - now) / 1000)
  if (Math.abs(seconds) < 60) return 'just now'
  for (const [unit, size] of STEPS) {
    if (Math.abs(seconds) >= size) return relativeFormat.format(Math.trunc(seconds / size), unit)
  }
  return 'just now'
}
