// gatehouse.js — the SPA's one client of the gatehouse API.
//
// The client is @gatehouse/client (clients/js in this repository; vite.config.js
// aliases the name to it): it owns the CSRF protocol (reads `csrftoken`
// before every unsafe request, fetches one from /api/login-set-cookie/ when
// there is none, refreshes it and retries once on a CSRF failure), turns every
// failure into a typed GatehouseError whose `message` is fit to show a person,
// and tells this tab and the others when the session starts or ends.
// Components and stores call `gatehouse.<group>.<endpoint>()`; none of them
// touches cookies, headers or fetch() directly.
//
// It must never read or store the session: `sessionid` is HttpOnly and the
// browser alone sends it (same origin, credentials: 'same-origin').
import { createClient } from '@gatehouse/client'

export const gatehouse = createClient()

/** The login answer for a right password on an account whose address is not confirmed yet. */
export const UNVERIFIED_DETAIL = 'E-mail is not verified.'
