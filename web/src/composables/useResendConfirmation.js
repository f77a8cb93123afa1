// "Send me a new confirmation link": used by the login page (unverified
// account), the check-your-email page and a failed confirmation link.
// `sent` holds the server's answer (the same whether or not the address has an
// unconfirmed account, so it gives nothing away); `error` a failure to show.
import { ref } from 'vue'
import { gatehouse } from '../gatehouse.js'

export function useResendConfirmation() {
  const busy = ref(false)
  const sent = ref('')
  const error = ref('')
  const fieldError = ref('') // the server's complaint about the address itself

  async function resend(email) {
    if (busy.value) return false
    busy.value = true
    sent.value = ''
    error.value = ''
    fieldError.value = ''
    try {
      const data = await gatehouse.accounts.resendConfirmation(email.trim())
      sent.value = data?.detail || 'A new confirmation e-mail is on its way.'
      return true
    } catch (e) {
      fieldError.value = e.fieldErrors?.email || ''
      error.value = fieldError.value ? '' : e.message
      return false
    } finally {
      busy.value = false
    }
  }

  function reset() {
    sent.value = ''
    error.value = ''
    fieldError.value = ''
  }

  return { resend, reset, busy, sent, error, fieldError }
}
