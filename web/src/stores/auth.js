// Auth store: who is signed in, as far as this tab knows.
//
// `authenticated` is mirrored in localStorage as a bare flag (as in the
// article this project follows) so a reload or a new tab knows whether to ask
// for the profile; it is never a credential.  Tabs that are open follow each
// other through the client's auth-change events (router.js).  The session itself lives in the
// HttpOnly `sessionid` cookie, which no script can read.  The profile is kept
// in memory only and refetched from /api/users/profile/ after a reload.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { AuthenticationError } from '@gatehouse/client'
import { gatehouse } from '../gatehouse.js'

export const AUTH_FLAG_KEY = 'gatehouse.authenticated'

export function readAuthFlag() {
  try {
    return window.localStorage.getItem(AUTH_FLAG_KEY) === 'true'
  } catch {
    return false // storage disabled: behave as signed out until login
  }
}

function writeAuthFlag(value) {
  try {
    if (value) window.localStorage.setItem(AUTH_FLAG_KEY, 'true')
    else window.localStorage.removeItem(AUTH_FLAG_KEY)
  } catch {
    /* storage disabled: this tab still works, others won't follow */
  }
}

export const useAuthStore = defineStore('auth', () => {
  const authenticated = ref(readAuthFlag())
  const user = ref(null)
  const profileError = ref(null) // a GatehouseError when the profile could not be loaded
  let profileInFlight = null

  /** Set the state; `broadcast` false when the change came from another tab (whose flag is already written). */
  function setAuthenticated(value, { broadcast = true } = {}) {
    authenticated.value = value
    if (!value) {
      user.value = null
      profileError.value = null
    }
    if (broadcast) writeAuthFlag(value)
  }

  function clear(options) {
    setAuthenticated(false, options)
  }

  /** Load the profile (deduplicated).  A 401 clears the state (the client's 'unauthorized' auth change, router.js). */
  function fetchProfile(options) {
    profileInFlight ||= gatehouse.profile
      .get(options)
      .then((profile) => {
        user.value = profile
        profileError.value = null
        return profile
      })
      .catch((error) => {
        if (error.status !== 401) profileError.value = error
        throw error
      })
      .finally(() => {
        profileInFlight = null
      })
    return profileInFlight
  }

  /**
   * The password was right: signed in, unless the account has a second factor
   * (then a MfaRequiredError, and no session: the caller goes to
   * the second step, whose success calls signedIn()).
   */
  async function login(email, password) {
    await gatehouse.auth.login(email, password)
    await signedIn()
  }

  /**
   * The server just made a session (password, second step, passkey, social
   * login): mark this tab and the others signed in and load the profile.
   * Throws (and stays signed out) when the browser did not keep the cookie.
   */
  async function signedIn() {
    setAuthenticated(true)
    try {
      await fetchProfile({ notifyUnauthorized: false })
    } catch (error) {
      if (error.status !== 401) return // signed in; the home page offers a retry
      clear()
      throw new AuthenticationError(
        'You were signed in, but your browser did not keep the session cookie. Allow cookies for this site and try again.',
        { kind: 'cookies' },
      )
    }
  }

  /** The server said the session is restricted (403 mfa_setup_required) although the profile did not. */
  function markSetupRequired() {
    if (user.value && !user.value.mfa_setup_required) user.value = { ...user.value, mfa_setup_required: true }
  }

  async function logout() {
    try {
      await gatehouse.auth.logout()
    } catch (error) {
      if (error.status !== 401) throw error // network trouble: still signed in
    }
    clear()
  }

  return {
    authenticated,
    user,
    profileError,
    setAuthenticated,
    clear,
    fetchProfile,
    login,
    signedIn,
    markSetupRequired,
    logout,
  }
})
