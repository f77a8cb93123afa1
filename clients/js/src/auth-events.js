// auth-events.js — "signed in" / "signed out", in this tab and in the others.
//
// Owns: the auth-change events of one client (an EventTarget), and carrying
// them to the other tabs of the origin: BroadcastChannel('gatehouse-auth')
// where it exists, else the localStorage `storage` event (key
// 'gatehouse-auth').  A message is {state: 'signed-in'|'signed-out', userId?}.
// Must never: put a secret in a message (no token, no cookie, no email: other
// tabs ask the server who is signed in); trust a message's shape (anything
// but the two states is ignored).

export const CHANNEL_NAME = 'gatehouse-auth'
const STATES = new Set(['signed-in', 'signed-out'])

/** The event of 'authchange' listeners: detail = {state, userId?, reason, source}. */
export class AuthChangeEvent extends Event {
  constructor(detail) {
    super('authchange')
    this.detail = detail
  }
}

/** A message from another tab, checked: {state, userId?} or null. */
export function parseAuthMessage(data) {
  let value = data
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value)
    } catch {
      return null
    }
  }
  if (!value || typeof value !== 'object' || !STATES.has(value.state)) return null
  const message = { state: value.state }
  if ((typeof value.userId === 'number' && Number.isFinite(value.userId)) || typeof value.userId === 'string')
    message.userId = value.userId
  return message
}

/**
 * The auth-state hub of one client.
 *   target:  the EventTarget listeners are on ('authchange')
 *   crossTab: true (default) to talk to other tabs; false to stay local
 *   channelName: the BroadcastChannel name / localStorage key
 *   BroadcastChannel, storage, addWindowListener: the platform, injectable for tests
 */
export class AuthEvents {
  #target
  #channel = null
  #storage = null
  #name
  #removeStorageListener = null
  #state = 'unknown'
  #userId = undefined

  constructor(options = {}) {
    const { target, crossTab = true, channelName = CHANNEL_NAME } = options
    // an option given as undefined means "there is none", not "the default"
    const Channel = 'BroadcastChannel' in options ? options.BroadcastChannel : globalThis.BroadcastChannel
    const storage = 'storage' in options ? options.storage : safeLocalStorage()
    const addWindowListener = 'addWindowListener' in options ? options.addWindowListener : defaultWindowListener
    this.#target = target
    this.#name = channelName
    if (!crossTab) return
    if (typeof Channel === 'function') {
      this.#channel = new Channel(channelName)
      this.#channel.onmessage = (event) => this.#remote(event.data)
      // node: an open channel must not keep the process alive
      this.#channel.unref?.()
    } else if (storage && addWindowListener) {
      const remove = addWindowListener('storage', (event) => {
        if (event.key !== channelName || event.newValue === null) return
        this.#remote(event.newValue)
      })
      if (remove) {
        this.#storage = storage
        this.#removeStorageListener = remove
      }
    }
  }

  /** 'signed-in', 'signed-out' or 'unknown' (nothing said yet), as this client last heard. */
  get state() {
    return this.#state
  }

  get userId() {
    return this.#userId
  }

  /** How this client reaches other tabs: 'broadcast-channel', 'storage' or 'none'. */
  get transport() {
    if (this.#channel) return 'broadcast-channel'
    if (this.#storage) return 'storage'
    return 'none'
  }

  /**
   * Something happened here: tell the listeners, and the other tabs when it
   * is news (an explicit login or logout always is; a 401 only when this
   * client did not already think it was signed out, so a burst of 401s sends
   * one message).
   */
  emit(state, { reason, userId } = {}) {
    const changed = state !== this.#state || userId !== this.#userId
    const news = changed || reason === 'login' || reason === 'logout'
    this.#state = state
    this.#userId = userId
    const detail = { state, reason, source: 'local' }
    if (userId !== undefined) detail.userId = userId
    this.#target.dispatchEvent(new AuthChangeEvent(detail))
    if (news) this.#broadcast(state, userId)
  }

  #broadcast(state, userId) {
    const message = { state }
    if (userId !== undefined) message.userId = userId
    try {
      if (this.#channel) this.#channel.postMessage(message)
      // a fresh value each time, or a second identical change fires no event
      else if (this.#storage) this.#storage.setItem(this.#name, JSON.stringify({ ...message, at: Date.now() }))
    } catch {
      /* a closed channel or a full/disabled storage: this tab still knows */
    }
  }

  #remote(data) {
    const message = parseAuthMessage(data)
    if (!message) return
    this.#state = message.state
    this.#userId = message.userId
    this.#target.dispatchEvent(new AuthChangeEvent({ ...message, reason: 'remote', source: 'remote' }))
  }

  close() {
    this.#channel?.close()
    this.#channel = null
    this.#removeStorageListener?.()
    this.#removeStorageListener = null
    this.#storage = null
  }
}

function safeLocalStorage() {
  try {
    return globalThis.localStorage ?? null
  } catch {
    return null // a sandboxed frame, or storage disabled
  }
}

function defaultWindowListener(type, handler) {
  const w = globalThis.window
  if (!w?.addEventListener) return null
  w.addEventListener(type, handler)
  return () => w.removeEventListener(type, handler)
}
