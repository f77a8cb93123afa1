// Helpers for the second-factor tests (docs/mfa-contract.md): TOTP codes
// computed here from the secret the set-up answer shows (RFC 6238 over RFC
// 4226 with node's HMAC-SHA1, checked against the RFCs' vectors in
// mfa-totp.test.mjs), a gatehouse wired to a real SMTP capture server, users
// with their factors, and the two-step login as a browser goes through it.
// Black-box like harness.mjs: the HTTP contract, the mail that arrives, and SQL
// for facts the API cannot show (the audit rows, a stored secret) or to age a
// row instead of sleeping (a pending login that expired, a stale re-authentication).

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
	startServer,
	createUser,
	csrfClient,
	uniqueEmail,
	cookiesNamed,
	q,
	sha256hex,
	sleep,
	unixNow,
	SLOW,
} from './harness.mjs';
import { start as startSmtp } from './smtp.mjs';
import { mailEnv, NO_LIMITS } from './accounts-harness.mjs';

export const PW = 'second factor harbour 42';

/** The contract's answers, word for word. */
export const ANSWER = {
	mfaRequiredDetail: "Confirm it's you with your second factor.",
	expired: { detail: 'Your sign-in has expired. Sign in again.', code: 'mfa_expired' },
	success: { detail: 'Success' },
	badTotp: { code: ['That code is not valid. Check the time on your device and try again.'] },
	badRecovery: { code: ['That recovery code is not valid or was already used.'] },
	reauthRequired: { detail: 'Confirm your password to continue.', code: 'reauthentication_required' },
	passwordConfirmed: { detail: 'Password confirmed.' },
	identityConfirmed: { detail: 'Identity confirmed.' },
	totpEnabled: 'Authenticator app enabled.',
	totpRemoved: { detail: 'Authenticator app removed.' },
	totpExists: { detail: 'An authenticator app is already set up. Remove it first.', code: 'mfa_totp_exists' },
	setupMissing: { detail: 'Start the set-up again.', code: 'mfa_setup_missing' },
	notEnabled: { detail: 'Set up an authenticator app or a passkey first.', code: 'mfa_not_enabled' },
	setupRequired: { detail: 'Set up a second factor to continue.', code: 'mfa_setup_required' },
	passkeyRemoved: { detail: 'Passkey removed.' },
	passkeyExists: { detail: 'This passkey is already registered.' },
	noPasskey: { detail: 'You have no passkey.' },
	factorsRemoved: { detail: 'Second factors removed.' },
	notProvided: { detail: 'Authentication credentials were not provided.' },
	notFound: { detail: 'Not found.' },
	invalidCredentials: { detail: 'Invalid credentials' },
	notVerified: { detail: 'E-mail is not verified.' },
};

/** The credential reasons of a refused WebAuthn answer. */
export const REASON = {
	origin: 'Wrong origin.',
	rpId: 'Wrong relying party.',
	presence: 'User presence was not confirmed.',
	signature: "The security key's signature is not valid.",
	attestationSignature: 'The attestation signature is not valid.',
	type: 'The response is for another step.',
	crossOrigin: 'Cross-origin requests are not accepted.',
	verification: 'User verification was required but not performed.',
	challenge: 'The challenge is unknown, expired or was already used. Try again.',
	notThisAccount: 'This passkey is not registered for this account.',
	notHere: 'This passkey is not registered here.',
	counter: "The security key's signature counter went backwards.",
};

export const THROTTLED = /^Request was throttled\. Expected available in (\d+) seconds?\.$/;
export const RECOVERY_CODE = /^[a-z0-9]{5}-[a-z0-9]{5}$/;
/** Every mail of this work: "[<product>] Security alert: <what>". */
export const alertSubject = (product) => new RegExp(`^\\[${product}\\] Security alert: `);

// --- TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s) ---------------------------------

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (no padding needed, case and spaces ignored) to bytes. */
export function base32Decode(s) {
	const clean = s.replace(/[\s=]/g, '').toUpperCase();
	let bits = 0;
	let value = 0;
	const out = [];
	for (const ch of clean) {
		const v = B32.indexOf(ch);
		if (v < 0) throw new Error(`not base32: ${JSON.stringify(ch)} in ${JSON.stringify(s)}`);
		value = (value << 5) | v;
		bits += 5;
		if (bits >= 8) {
			out.push((value >>> (bits - 8)) & 0xff);
			bits -= 8;
		}
	}
	return Buffer.from(out);
}

/** RFC 4226 HOTP of `key` (bytes) at `counter`, `digits` long, with HMAC-`algo`. */
export function hotp(key, counter, digits = 6, algo = 'sha1') {
	const msg = Buffer.alloc(8);
	msg.writeBigUInt64BE(BigInt(counter));
	const mac = createHmac(algo, key).update(msg).digest();
	const off = mac[mac.length - 1] & 0x0f;
	const bin = (mac.readUInt32BE(off) & 0x7fffffff) % 10 ** digits;
	return String(bin).padStart(digits, '0');
}

export const PERIOD = 30;
/** The TOTP step of a Unix time in seconds (default now). */
export const stepAt = (t) => Math.floor(t / PERIOD);
export const stepNow = () => stepAt(Date.now() / 1000);
/** The 6-digit code of base32 `secret` at TOTP step `step`. */
export const codeAt = (secret, step) => hotp(base32Decode(secret), step);
/** The code of `secret` at Unix time `t` seconds (default now). */
export const totp = (secret, t = Date.now() / 1000) => codeAt(secret, stepAt(t));

/** A 6-digit code that is none of `secret`'s codes from 3 steps before now to 3 after. */
export function wrongCode(secret) {
	const s = stepNow();
	const near = new Set();
	for (let d = -3; d <= 3; d++) near.add(codeAt(secret, s + d));
	for (let n = 0; ; n++) {
		const c = String((123456 + n * 7919) % 1000000).padStart(6, '0');
		if (!near.has(c)) return c;
	}
}

/** Seconds of margin a check that must not straddle two steps wants: more under a slow wrapper. */
export const STEP_MARGIN = Math.min(12, 3 * SLOW);

/** Wait (at most `margin` s) until at least `margin` seconds of the current step are left; returns the step. */
export async function steadyStep(margin = STEP_MARGIN) {
	const now = Date.now() / 1000;
	const left = PERIOD - (now % PERIOD);
	if (left < margin) await sleep(Math.ceil((left + 0.05) * 1000));
	return stepNow();
}

/**
 * Run `fn(step)` so that it starts and ends within one TOTP step (the checks of
 * the ±1 window mean nothing otherwise): wait for a margin, and run again when
 * the step turned over meanwhile (a slow machine), whether `fn` passed or threw.
 * `fn` must make its own fresh users or pending logins each time.
 */
export async function withinOneStep(fn, margin = STEP_MARGIN) {
	for (let attempt = 0; attempt < 3; attempt++) {
		const s = await steadyStep(margin);
		let r;
		try {
			r = await fn(s);
		} catch (e) {
			if (stepNow() === s) throw e;
			continue;
		}
		if (stepNow() === s) return r;
	}
	throw new Error('three attempts each straddled a TOTP step: the machine is too slow for a 30 s window');
}

/**
 * A code of `user`'s secret the server has not seen accepted: the current step,
 * or the one after when the current one was used (a code is accepted once); when
 * both were used, wait for the next step.  Marks the step used.
 */
export async function freshCode(user) {
	assert.ok(user.secret, `${user.email} has no authenticator app here`);
	let s = stepNow();
	let step = Math.max(s, user.lastStep + 1);
	while (step > s + 1) {
		await sleep(Math.ceil((PERIOD - ((Date.now() / 1000) % PERIOD) + 0.05) * 1000));
		s = stepNow();
		step = Math.max(s, user.lastStep + 1);
	}
	user.lastStep = step;
	return codeAt(user.secret, step);
}

// --- the server -----------------------------------------------------------------

/**
 * A gatehouse whose mail goes to a fresh SMTP capture server, login limits out of
 * the way, the PostgreSQL session cache off (a row aged by SQL counts at once).
 * opts.publicHost: the public origin's host (WebAuthn: 'localhost').
 * Returns ctx {server, smtp, product, origin (the public origin), stop()}.
 */
export async function startMfa({ env = {}, publicHost, product = 'Gatehouse' } = {}) {
	const smtp = await startSmtp();
	const e = { ...mailEnv(smtp), ...NO_LIMITS, GATEHOUSE_SESSION_CACHE_TTL: '0', ...env };
	if (product !== 'Gatehouse') e.GATEHOUSE_PRODUCT_NAME = product;
	let server;
	try {
		server = await startServer({ env: e, publicHost });
	} catch (err) {
		await smtp.stop();
		throw err;
	}
	return {
		server,
		smtp,
		product,
		origin: e.GATEHOUSE_PUBLIC_ORIGIN || server.publicOrigin,
		async stop() {
			try {
				await server.stop();
			} finally {
				await smtp.stop();
			}
		},
	};
}

// --- users and flows --------------------------------------------------------------

/**
 * A fresh verified user (CLI), as a record the helpers keep up to date:
 * {email, password, id, secret, lastStep, recoveryCodes}.
 */
export function newUser(ctx, prefix = 'mfa', flags = []) {
	const email = createUser(ctx.server, uniqueEmail(prefix), PW, flags);
	const [{ id }] = ctx.server.sqlRows(`SELECT id FROM users WHERE email = ${q(email)}`);
	return { email, password: PW, id, secret: null, lastStep: -Infinity, recoveryCodes: [] };
}

/** POST /api/login/ from `client` (default: a fresh browser). Returns {client, res}. */
export async function passwordLogin(ctx, user, client) {
	const c = client || (await csrfClient(ctx.server));
	const res = await c.post('/api/login/', { json: { email: user.email, password: user.password } });
	return { client: c, res };
}

/** A browser signed in by password alone (the user has no factor): asserts 200. */
export async function signedIn(ctx, user) {
	const { client, res } = await passwordLogin(ctx, user);
	assert.equal(res.status, 200, `login ${user.email}: ${res.status} ${res.text}`);
	assert.ok(client.cookie('sessionid'), 'login set no sessionid');
	return client;
}

/**
 * The password step of a user with a factor: asserts the 401 mfa_required answer
 * (methods `methods` when given), the gatehouse_mfa cookie and no session cookie.
 * Returns {client, res, pending (the cookie's value)}.
 */
export async function pendingLogin(ctx, user, { client, methods } = {}) {
	const { client: c, res } = await passwordLogin(ctx, user, client);
	assertMfaRequired(res, { methods, what: user.email });
	return { client: c, res, pending: c.cookie('gatehouse_mfa') };
}

/** The 401 mfa_required answer: body, gatehouse_mfa cookie, no sessionid. */
export function assertMfaRequired(res, { methods, what = '', next } = {}) {
	const w = what ? ` (${what})` : '';
	assert.equal(res.status, 401, `wanted 401 mfa_required${w}: ${res.status} ${res.text}`);
	assert.equal(res.json?.code, 'mfa_required', `code${w}: ${res.text}`);
	assert.equal(res.json.detail, ANSWER.mfaRequiredDetail, `detail${w}`);
	assert.ok(Array.isArray(res.json.mfa?.methods), `mfa.methods${w}: ${res.text}`);
	if (methods) assert.deepEqual(res.json.mfa.methods, methods, `methods${w}`);
	assert.equal(typeof res.json.mfa.expires_in, 'number', `mfa.expires_in${w}`);
	if (next !== undefined) assert.equal(res.json.next, next, `next${w}`);
	const sid = cookiesNamed(res, 'sessionid').filter((c) => c.value !== '');
	assert.equal(sid.length, 0, `no sessionid with mfa_required${w}: ${res.setCookies.join(' | ')}`);
	const mfa = cookiesNamed(res, 'gatehouse_mfa');
	assert.equal(mfa.length, 1, `one gatehouse_mfa cookie${w}: ${res.setCookies.join(' | ')}`);
	assert.ok(mfa[0].value.length > 0, `gatehouse_mfa has a value${w}`);
}

/** POST /api/mfa/authenticate/ with `body` (CSRF from the jar unless opts.csrf). */
export function secondStep(client, body, opts = {}) {
	return client.post('/api/mfa/authenticate/', { json: body, ...opts });
}

/** The second step with a fresh TOTP code of `user`. */
export async function totpStep(client, user) {
	return secondStep(client, { method: 'totp', code: await freshCode(user) });
}

/**
 * Assert a second step succeeded: 200 Success, a session, gatehouse_mfa gone.
 * `next`: the social login's destination, repeated in the answer (else none).
 */
export function assertCompleted(res, client, what = '', { next } = {}) {
	const w = what ? ` (${what})` : '';
	assert.equal(res.status, 200, `second step${w}: ${res.status} ${res.text}`);
	assert.deepEqual(res.json, next === undefined ? ANSWER.success : { ...ANSWER.success, next }, `second step body${w}`);
	const sid = cookiesNamed(res, 'sessionid').filter((c) => c.value !== '');
	assert.equal(sid.length, 1, `a sessionid is set${w}: ${res.setCookies.join(' | ')}`);
	assert.equal(
		client.cookie('gatehouse_mfa'),
		undefined,
		`gatehouse_mfa is deleted${w}: ${res.setCookies.join(' | ')}`,
	);
}

/** Password then TOTP: a browser with a full session. */
export async function loginWithTotp(ctx, user) {
	const { client } = await pendingLogin(ctx, user);
	const res = await totpStep(client, user);
	assertCompleted(res, client, `totp login of ${user.email}`);
	return client;
}

/**
 * Set up and confirm an authenticator app on `client` (signed in as `user`):
 * the confirming code is the previous step's (unless the step is about to end),
 * so the two that follow (now, next) are free for logins without waiting.  Records secret and recovery codes on
 * `user`; returns {setup (the set-up answer), confirm (the confirm answer)}.
 */
export async function enableTotp(client, user) {
	const setup = await client.post('/api/mfa/totp/setup/');
	assert.equal(setup.status, 200, `totp setup: ${setup.status} ${setup.text}`);
	assert.equal(typeof setup.json.secret, 'string', setup.text);
	user.secret = setup.json.secret;
	// near the end of a step the previous one could be two behind by the time the server looks
	const now = Date.now() / 1000;
	const step = PERIOD - (now % PERIOD) > STEP_MARGIN ? stepAt(now) - 1 : stepAt(now);
	user.lastStep = step;
	const confirm = await client.post('/api/mfa/totp/confirm/', { json: { code: codeAt(user.secret, step) } });
	assert.equal(confirm.status, 200, `totp confirm: ${confirm.status} ${confirm.text}`);
	assert.equal(confirm.json.detail, ANSWER.totpEnabled);
	if (confirm.json.recovery_codes) user.recoveryCodes = confirm.json.recovery_codes;
	return { setup, confirm };
}

/** A user with an authenticator app and a browser signed in through both steps. */
export async function totpUser(ctx, prefix = 'totp', flags = []) {
	const user = newUser(ctx, prefix, flags);
	const c = await signedIn(ctx, user);
	await enableTotp(c, user);
	return { user, client: c };
}

// --- rows aged instead of waiting -----------------------------------------------

/** This browser's session last proved who it is long ago (REAUTH_MAX_AGE passed). */
export function makeStale(server, client) {
	const sid = client.cookie('sessionid');
	assert.ok(sid, 'makeStale: the client holds no session');
	const kh = q(sha256hex(sid));
	server.sql(`UPDATE sessions SET reauth_at = ${unixNow() - 100000} WHERE key_hash = ${kh}`);
	const [row] = server.sqlRows(`SELECT reauth_at FROM sessions WHERE key_hash = ${kh}`);
	assert.ok(row && row.reauth_at < unixNow() - 3600, 'makeStale: the session row was aged');
}

/** The stored pending login named by a gatehouse_mfa cookie value (its SHA-256 is the key). */
export function pendingRow(server, cookie) {
	return server.sqlRows(`SELECT * FROM mfa_pending WHERE key_hash = ${q(sha256hex(cookie))}`)[0];
}

/** The pending login named by `cookie` ran out of time. */
export function expirePending(server, cookie) {
	const kh = q(sha256hex(cookie));
	server.sql(`UPDATE mfa_pending SET expires_at = ${unixNow() - 5} WHERE key_hash = ${kh}`);
	const row = pendingRow(server, cookie);
	assert.ok(row, 'expirePending: no mfa_pending row for this cookie');
	assert.ok(row.expires_at < unixNow(), 'expirePending: the row was aged');
}

// --- audit and mail ---------------------------------------------------------------

/** Audit rows about user `id` (or all with id null), oldest first, `event` exact or a prefix with '*'. */
export function auditRows(server, { user, actor, event } = {}) {
	const where = [];
	if (user !== undefined) where.push(`user_id = ${Number(user)}`);
	if (actor !== undefined) where.push(`actor_id = ${Number(actor)}`);
	if (event !== undefined)
		where.push(event.endsWith('*') ? `event LIKE ${q(event.slice(0, -1) + '%')}` : `event = ${q(event)}`);
	const rows = server.sqlRows(
		`SELECT id, actor_id, user_id, event, detail FROM audit${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id`,
	);
	return rows.map((r) => ({ ...r, detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail }));
}

/** The index the next message will have. */
export const mark = (ctx) => ctx.smtp.messages.length;

/** The first security alert to `email` since `since` whose subject matches `what` (RegExp). */
export function alertMail(ctx, email, what, since = 0) {
	const to = email.toLowerCase();
	const prefix = alertSubject(ctx.product);
	return ctx.smtp.waitFor(
		(m) => ctx.smtp.messages.indexOf(m) >= since && m.to.includes(to) && prefix.test(m.subject) && what.test(m.subject),
	);
}

/** Security alerts to `email` since `since` (subjects). */
export function alertsTo(ctx, email, since = 0) {
	const prefix = alertSubject(ctx.product);
	return ctx.smtp.messages
		.slice(since)
		.filter((m) => m.to.includes(email.toLowerCase()) && prefix.test(m.subject))
		.map((m) => m.subject);
}

/** Subjects of the alerts (the <what> part is free text: matched by keywords). */
export const MAIL = {
	totpAdded: /authenticator app.*(added|enabled|set up)/i,
	totpRemoved: /authenticator app.*removed/i,
	passkeyAdded: /passkey.*added/i,
	passkeyRemoved: /passkey.*removed/i,
	codesMade: /^(?!.*used).*recovery codes/i,
	codeUsed: /recovery code.*used/i,
	adminRemoved: /second factors.*removed|removed.*second factors/i,
};

// --- WebAuthn (with softauthn.mjs) ---------------------------------------------------

/** POST /api/mfa/webauthn/register/options/: asserts 200, returns publicKey. */
export async function registerOptions(client) {
	const r = await client.post('/api/mfa/webauthn/register/options/');
	assert.equal(r.status, 200, `register options: ${r.status} ${r.text}`);
	assert.ok(r.json?.publicKey?.challenge, `register options: ${r.text}`);
	return r.json.publicKey;
}

/**
 * Register a passkey of SoftAuthenticator `auth` on `client`: options, create()
 * with `overrides`, POST.  Returns {res, credential, options} (res not checked).
 */
export async function registerPasskey(client, auth, { name, overrides = {} } = {}) {
	const options = await registerOptions(client);
	const credential = auth.create(options, overrides);
	const body = { credential };
	if (name !== undefined) body.name = name;
	const res = await client.post('/api/mfa/webauthn/register/', { json: body });
	return { res, credential, options };
}

/** registerPasskey and assert 201; records recovery codes on `user` when they come. Returns the passkey. */
export async function addPasskey(client, user, auth, opts = {}) {
	const { res } = await registerPasskey(client, auth, opts);
	assert.equal(res.status, 201, `register passkey: ${res.status} ${res.text}`);
	if (res.json.recovery_codes) user.recoveryCodes = res.json.recovery_codes;
	return res.json;
}

/** POST /api/mfa/authenticate/webauthn/options/ (the pending login's challenge): returns the response. */
export function stepOptions(client) {
	return client.post('/api/mfa/authenticate/webauthn/options/');
}

/**
 * The second step with a passkey: options, get() with `overrides`, POST.
 * Returns {res, credential, options}.
 */
export async function webauthnStep(client, auth, overrides = {}) {
	const o = await stepOptions(client);
	assert.equal(o.status, 200, `second-step options: ${o.status} ${o.text}`);
	const credential = auth.get(o.json.publicKey, overrides);
	const res = await secondStep(client, { method: 'webauthn', credential });
	return { res, credential, options: o.json.publicKey };
}

/** POST /api/passkey/options/: asserts 200, returns {res, publicKey}. */
export async function passkeyOptions(client) {
	const res = await client.post('/api/passkey/options/');
	assert.equal(res.status, 200, `passkey options: ${res.status} ${res.text}`);
	return { res, publicKey: res.json.publicKey };
}

/** Passkey sign-in: options, get() with `overrides`, POST /api/passkey/login/. Returns {res, credential}. */
export async function passkeyLogin(client, auth, overrides = {}) {
	const { publicKey } = await passkeyOptions(client);
	const credential = auth.get(publicKey, overrides);
	const res = await client.post('/api/passkey/login/', { json: { credential } });
	return { res, credential, options: publicKey };
}

/** A refused WebAuthn answer: 400 {"credential": [reason]} (reason a string or a RegExp), no session. */
export function assertCredentialRefused(res, reason, what = '') {
	const w = what ? ` (${what})` : '';
	assert.equal(res.status, 400, `wanted 400 credential${w}: ${res.status} ${res.text}`);
	assert.ok(
		Array.isArray(res.json?.credential) && res.json.credential.length === 1,
		`{"credential": [...]}${w}: ${res.text}`,
	);
	if (reason instanceof RegExp) assert.match(res.json.credential[0], reason, what);
	else assert.equal(res.json.credential[0], reason, what);
	const sid = cookiesNamed(res, 'sessionid').filter((c) => c.value !== '');
	assert.equal(sid.length, 0, `no session on a refusal${w}`);
}
