// Checks the forms make before sending anything.  They only catch what a
// person can fix at once (an empty field, a typo in the address); the server
// stays the judge of everything else (password rules, taken addresses).
import { config } from '../config.js'

export const NAME_MAX_LENGTH = 150

/** '' when the address looks like one, else the message to show next to the field. */
export function emailError(value) {
  const email = value.trim()
  if (!email) return 'Enter your email address.'
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) return 'Enter an email address like name@example.com.'
  return ''
}

export function nameError(value) {
  return value.trim().length > NAME_MAX_LENGTH ? `Use at most ${NAME_MAX_LENGTH} characters.` : ''
}

/** The rules the server applies (Django's validators), in words. */
export const passwordHint =
  `At least ${config.passwordMinLength} characters. Avoid common passwords, ` +
  'passwords made only of digits, and passwords close to your email address.'

/**
 * The checks on a new password and its confirmation before sending:
 * { password, confirmation }, each '' when fine (NewPasswordFields shows them).
 */
export function newPasswordErrors(password, confirmation) {
  return {
    password: password ? '' : 'Choose a new password.',
    confirmation: !confirmation
      ? 'Type the new password again.'
      : confirmation !== password
        ? "The two passwords don't match."
        : '',
  }
}

/**
 * Server field errors that the form has no field for, folded into one
 * sentence for the form-level message (so nothing the server said is lost).
 */
export function otherFieldErrors(fields, known) {
  return Object.entries(fields || {})
    .filter(([name]) => !known.includes(name))
    .map(([, message]) => message)
    .join(' ')
}
