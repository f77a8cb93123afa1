// Sign out, then show the login page with a "signed out" note.  Used by the
// header, the home page and /logout; `error` holds the message when the
// server could not be reached (the user is then still signed in).
import { ref } from 'vue'
import { useRouter } from 'vue-router'
import { useAuthStore } from '../stores/auth.js'

export function useSignOut() {
  const auth = useAuthStore()
  const router = useRouter()
  const busy = ref(false)
  const error = ref('')

  async function signOut() {
    if (busy.value) return false
    busy.value = true
    error.value = ''
    try {
      await auth.logout()
      await router.replace({ name: 'login', state: { notice: 'signed-out' } })
      return true
    } catch (e) {
      error.value = e.message
      return false
    } finally {
      busy.value = false
    }
  }

  return { signOut, busy, error }
}
