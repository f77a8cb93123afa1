// WebAuthn for the SPA: passkeys and security keys (docs/mfa-contract.md).
//
// gatehouse speaks JSON with base64url strings where the browser's API wants
// ArrayBuffers (challenge, user.id, credential ids) and answers with
// ArrayBuffers where the server wants base64url.  Browsers that have the
// WebAuthn Level 3 JSON helpers (PublicKeyCredential.parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON and credential.toJSON(): Chromium, Firefox,
// Safari 18) do the conversion themselves; for the others the same
// conversion is done here, field by field, as the specification defines it.
//
// Nothing here talks to the server (gatehouse.js does); these functions turn the
// server's {publicKey} into a credential as JSON, or throw a DOMException
// that webauthnErrorMessage() turns into words.

/** base64url (no padding) of an ArrayBuffer or a view of one. */
export function toBase64url(buffer) {
  const bytes =
    buffer instanceof ArrayBuffer
      ? new Uint8Array(buffer)
      : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  let binary = ''
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i])
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** The ArrayBuffer a base64url string (padded or not) stands for; TypeError when it is not one. */
export function fromBase64url(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*={0,2}$/.test(text)) {
    throw new TypeError('The server sent a value that is not base64url.')
  }
  const base64 = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/')
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes.buffer
}

/** Whether this browser can use passkeys at all (a secure context with the WebAuthn API). */
export function webauthnSupported() {
  return (
    typeof window !== 'undefined' &&
    window.isSecureContext === true &&
    typeof window.PublicKeyCredential === 'function' &&
    typeof navigator.credentials?.get === 'function'
  )
}

/**
 * Whether the browser offers passkeys in the autofill of a field marked
 * autocomplete="... webauthn" (conditional mediation).  Never throws.
 */
export async function conditionalMediationAvailable() {
  if (!webauthnSupported()) return false
  try {
    return (await window.PublicKeyCredential.isConditionalMediationAvailable?.()) === true
  } catch {
    return false
  }
}

const descriptors = (list) => (Array.isArray(list) ? list.map((c) => ({ ...c, id: fromBase64url(c.id) })) : undefined)

/** PublicKeyCredentialCreationOptions from the server's JSON (base64url fields decoded). */
export function creationOptions(json) {
  const native = window.PublicKeyCredential?.parseCreationOptionsFromJSON
  if (typeof native === 'function') return native.call(window.PublicKeyCredential, json)
  const options = {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
  }
  if (json.excludeCredentials) options.excludeCredentials = descriptors(json.excludeCredentials)
  return options
}

/** PublicKeyCredentialRequestOptions from the server's JSON (base64url fields decoded). */
export function requestOptions(json) {
  const native = window.PublicKeyCredential?.parseRequestOptionsFromJSON
  if (typeof native === 'function') return native.call(window.PublicKeyCredential, json)
  const options = { ...json, challenge: fromBase64url(json.challenge) }
  if (json.allowCredentials) options.allowCredentials = descriptors(json.allowCredentials)
  return options
}

/** A PublicKeyCredential (made or used) as the JSON the server reads: buffers as base64url. */
export function credentialToJSON(credential) {
  if (typeof credential.toJSON === 'function') return credential.toJSON()
  const r = credential.response
  const response = { clientDataJSON: toBase64url(r.clientDataJSON) }
  if (r.attestationObject) {
    // a registration (AuthenticatorAttestationResponse)
    response.attestationObject = toBase64url(r.attestationObject)
    if (typeof r.getTransports === 'function') response.transports = r.getTransports()
    if (typeof r.getAuthenticatorData === 'function') response.authenticatorData = toBase64url(r.getAuthenticatorData())
    const key = typeof r.getPublicKey === 'function' ? r.getPublicKey() : null
    if (key) response.publicKey = toBase64url(key)
    if (typeof r.getPublicKeyAlgorithm === 'function') response.publicKeyAlgorithm = r.getPublicKeyAlgorithm()
  } else {
    // an assertion (AuthenticatorAssertionResponse)
    response.authenticatorData = toBase64url(r.authenticatorData)
    response.signature = toBase64url(r.signature)
    if (r.userHandle) response.userHandle = toBase64url(r.userHandle)
  }
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? null,
    clientExtensionResults: credential.getClientExtensionResults?.() ?? {},
    response,
  }
}

/** Make a passkey with the server's registration options ({publicKey}) -> the credential as JSON. */
export async function createCredential(publicKey, { signal } = {}) {
  const credential = await navigator.credentials.create({ publicKey: creationOptions(publicKey), signal })
  if (!credential) throw new DOMException('No passkey was made.', 'NotAllowedError')
  return credentialToJSON(credential)
}

/**
 * Sign the server's challenge ({publicKey}) with a passkey -> the assertion
 * as JSON.  mediation 'conditional' waits for the person to pick a passkey
 * in the autofill of the username field; abort it through `signal`.
 */
export async function getCredential(publicKey, { signal, mediation } = {}) {
  const request = { publicKey: requestOptions(publicKey), signal }
  if (mediation) request.mediation = mediation
  const credential = await navigator.credentials.get(request)
  if (!credential) throw new DOMException('No passkey was chosen.', 'NotAllowedError')
  return credentialToJSON(credential)
}

/** Whether an error is the abort we asked for (leaving the page, another request): say nothing. */
export const isAbort = (error) => error?.name === 'AbortError'

/**
 * What to tell a person when the browser refused or the request did not go
 * through ('' for an abort we caused).  `creating` for registration.
 */
export function webauthnErrorMessage(error, { creating = false } = {}) {
  switch (error?.name) {
    case 'AbortError':
      return ''
    case 'NotAllowedError':
      return creating
        ? 'No passkey was added: the request was cancelled or timed out. Try again when you are ready.'
        : 'No passkey was used: the request was cancelled or timed out. Try again, or choose another way.'
    case 'InvalidStateError':
      return creating
        ? 'This device already holds a passkey for your account. Use another device or security key.'
        : 'Your passkey could not be used. Try again, or choose another way.'
    case 'SecurityError':
      return 'Passkeys are not allowed on this address. Open the site at its usual address and try again.'
    case 'NotSupportedError':
      return 'This browser or device does not support the kind of passkey this site needs.'
    case 'TypeError':
      return 'The server sent something this browser could not use. Reload the page and try again.'
    default:
      return 'Your passkey could not be used. Try again, or choose another way.'
  }
}
