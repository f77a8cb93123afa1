// The social login providers the server has configured (GET
// /api/social/providers/), loaded once per page load and shared by the login
// page, the callback page and the account page.  A server without social
// login (404), an empty list or a failure all leave `providers` empty, and
// the social UI simply does not show.
import { ref } from 'vue'
import { gatehouse } from '../gatehouse.js'

const providers = ref([])
const loaded = ref(false)
let inFlight = null

function load() {
  inFlight ||= gatehouse.social
    .providers()
    .then((list) => {
      providers.value = list.map((p) => ({ ...p, label: p.label || providerLabel(p.name, []) }))
      loaded.value = true
    })
    .catch(() => {
      inFlight = null // try again on the next page that asks
    })
  return inFlight
}

// The names as people know them, for when the list has no label (or is not loaded yet).
const KNOWN = { github: 'GitHub', 'google-oauth2': 'Google', facebook: 'Facebook' }

export function providerLabel(name, list = providers.value) {
  const found = list.find((p) => p.name === name)
  if (found?.label) return found.label
  if (KNOWN[name]) return KNOWN[name]
  const s = String(name || '')
    .replace(/[-_]+/g, ' ')
    .trim()
  return s ? s.charAt(0).toUpperCase() + s.slice(1) : 'your provider'
}

export function useSocialProviders() {
  load()
  return { providers, loaded, load, label: (name) => providerLabel(name, providers.value) }
}
