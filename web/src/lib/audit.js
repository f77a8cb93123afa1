// Audit events (docs/admin-contract.md) in words, and the filter choices of
// the audit log page.

export const EVENTS = {
  'login.succeeded': 'Signed in',
  'login.failed': 'Sign-in refused',
  'login.throttled': 'Sign-in throttled',
  logout: 'Signed out',
  'user.signed_up': 'Signed up',
  'user.signup_with_taken_address': 'Sign-up with a taken address',
  'email.confirmed': 'Email confirmed',
  'password.changed': 'Password changed',
  'password.reset_requested': 'Password reset requested',
  'password.reset': 'Password reset',
  'session.revoked': 'Signed out a device',
  'session.revoked_others': 'Signed out all other devices',
  'token.created': 'API token created',
  'token.revoked': 'API token revoked',
  'admin.user.updated': 'Admin changed the account',
  'admin.sessions.revoked_all': 'Admin ended all sessions',
  'admin.session.revoked': 'Admin ended a session',
  'admin.token.revoked': 'Admin revoked an API token',
  'admin.password_reset.sent': 'Admin sent a password reset',
  'admin.user.created': 'Account created (command line)',
  'auth.reauthenticated': 'Password confirmed again',
  'auth.reauthentication_failed': 'Password confirmation refused',
  'social.linked': 'Social account connected',
  'social.unlinked': 'Social account disconnected',
  // second factors (docs/mfa-contract.md)
  'login.mfa_pending': 'Password right, second step asked',
  'mfa.totp_enabled': 'Authenticator app turned on',
  'mfa.totp_removed': 'Authenticator app removed',
  'mfa.recovery_codes_generated': 'New recovery codes made',
  'mfa.recovery_code_used': 'Recovery code used',
  'mfa.webauthn_added': 'Passkey added',
  'mfa.webauthn_renamed': 'Passkey renamed',
  'mfa.webauthn_removed': 'Passkey removed',
  'mfa.failed': 'Second step refused',
  'mfa.counter_regressed': 'Passkey counter went backwards (possible clone)',
  'admin.mfa_removed': 'Admin removed the second factors',
}

/** The event filter: groups (prefix*) first, then every event. */
export const EVENT_FILTERS = [
  {
    label: 'Groups',
    options: [
      ['login.*', 'All sign-in events (login.*)'],
      ['password.*', 'All password events (password.*)'],
      ['session.*', 'All session events (session.*)'],
      ['token.*', 'All API token events (token.*)'],
      ['user.*', 'All sign-up events (user.*)'],
      ['mfa.*', 'All second-factor events (mfa.*)'],
      ['admin.*', 'All admin actions (admin.*)'],
    ],
  },
  { label: 'Events', options: Object.entries(EVENTS).map(([event, text]) => [event, `${text} (${event})`]) },
]

export const eventText = (event) => EVENTS[event] || event

const REASONS = {
  unknown_email: 'unknown email',
  wrong_password: 'wrong password',
  inactive: 'inactive account',
  unverified: 'email not confirmed',
}

/** The detail object as short "key: value" parts. */
export function detailParts(detail) {
  if (!detail || typeof detail !== 'object') return []
  return Object.entries(detail).map(([key, value]) => {
    if (key === 'reason' && REASONS[value]) return `reason: ${REASONS[value]}`
    if (typeof value === 'boolean') return `${key} → ${value ? 'yes' : 'no'}`
    if (value === null) return `${key}: —`
    if (typeof value === 'object') return `${key}: ${JSON.stringify(value)}`
    return `${key}: ${value}`
  })
}
