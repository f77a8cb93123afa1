// Helpers for the own-sessions/tokens and admin tests (docs/admin-contract.md).
// Black-box like harness.mjs, which this builds on: only the HTTP contract,
// the CLI, the mail files the server writes, and sqlite3 for facts the API
// cannot show (is a key stored in clear? did a mail get queued?).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loggedIn, sha256hex, q, sleep, SLOW, ISO_UTC } from './harness.mjs';

export const CHROME_LINUX =
	'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
export const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0';
export const SAFARI_IPHONE =
	'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

export const NOT_PROVIDED = { detail: 'Authentication credentials were not provided.' };
export const NO_PERMISSION = { detail: 'You do not have permission to perform this action.' };
export const NOT_FOUND = { detail: 'Not found.' };
export const INVALID_TOKEN = { detail: 'Invalid token.' };
export const INVALID_CREDENTIALS = { detail: 'Invalid credentials' };
export const INVALID_PAGE = { detail: 'Invalid page.' };
export const INCORRECT_PASSWORD = { password: ['Incorrect password.'] };
export const OTHERS_SIGNED_OUT = { detail: 'Signed out of all other sessions.' };
export const RESET_SENT = { detail: 'Password reset e-mail sent.' };
export const ONLY_SUPERUSER_FLAGS = { detail: 'Only a superuser can grant or remove staff or superuser status.' };

export const SESSION_KEYS = ['created', 'current', 'device', 'expires', 'id', 'ip', 'last_seen', 'user_agent'];
export const TOKEN_KEYS = ['created', 'expires', 'id', 'last_used', 'name'];
/** The profile's fields (GET /api/users/profile/) plus is_active. */
export const ADMIN_USER_KEYS = [
	'date_joined',
	'email',
	'email_verified',
	'first_name',
	'id',
	'is_active',
	'is_staff',
	'is_superuser',
	'last_login',
	'last_name',
	'mfa_enabled',
];
// the detail adds which second factors the user has (never a secret)
export const ADMIN_USER_DETAIL_KEYS = [...ADMIN_USER_KEYS, 'mfa'].sort();
export const AUDIT_KEYS = ['actor_id', 'at', 'detail', 'event', 'id', 'ip', 'user_agent', 'user_id'];

/**
 * Everything secret a test file handles: passwords, session cookie values,
 * token keys, reset tokens.  The audit log must hold none of them, nor their
 * SHA-256 (what the database stores for keys).
 */
export class Secrets {
	constructor() {
		this.items = new Map();
	}
	add(what, value) {
		if (typeof value === 'string' && value.length >= 8) this.items.set(value, what);
		return value;
	}
	/** The client's current sessionid, if any. */
	session(client) {
		const sid = client.cookie('sessionid');
		if (sid) this.add('session cookie', sid);
		return sid;
	}
	/** [what, needle] pairs: each secret and its SHA-256 hex. */
	needles() {
		const out = [];
		for (const [v, what] of this.items) {
			out.push([what, v]);
			out.push([`sha256 of ${what}`, sha256hex(v)]);
		}
		return out;
	}
}

/** The user's id (a fact the fixture needs before any API call). */
export function userId(server, email) {
	const rows = server.sqlRows(`SELECT id FROM users WHERE email = ${q(email.toLowerCase())}`);
	assert.equal(rows.length, 1, `user ${email} exists`);
	return rows[0].id;
}

/** Log in (recording the cookie in `secrets`) with an optional User-Agent. */
export async function signIn(server, email, password, { userAgent, secrets } = {}) {
	const c = await loggedIn(server, email, password, { userAgent });
	if (secrets) secrets.session(c);
	return c;
}

/** GET /api/sessions/ as `client`; asserts 200 and returns the list. */
export async function ownSessions(client) {
	const r = await client.get('/api/sessions/');
	assert.equal(r.status, 200, `GET /api/sessions/: ${r.status} ${r.text}`);
	assert.ok(Array.isArray(r.json), `sessions list is an array: ${r.text}`);
	return r.json;
}

/** The id of the session `client` is calling with (the one marked current). */
export async function currentSessionId(client) {
	const list = await ownSessions(client);
	const cur = list.filter((s) => s.current === true);
	assert.equal(cur.length, 1, `exactly one current session in ${JSON.stringify(list)}`);
	return cur[0].id;
}

/** POST /api/tokens/ and return the 201 body (the key recorded in `secrets`). */
export async function newToken(client, password, { name = 'cli', expires_in_days, secrets } = {}) {
	const json = { name, password };
	if (expires_in_days !== undefined) json.expires_in_days = expires_in_days;
	const r = await client.post('/api/tokens/', { json });
	assert.equal(r.status, 201, `POST /api/tokens/: ${r.status} ${r.text}`);
	if (secrets) secrets.add('token key', r.json.key);
	return r.json;
}

/** A request authenticated only by `Authorization: Token <key>`. */
export async function withToken(server, key, p = '/api/users/profile/', { method = 'GET', json } = {}) {
	const headers = { Authorization: `Token ${key}` };
	let body;
	if (json !== undefined) {
		headers['Content-Type'] = 'application/json';
		body = JSON.stringify(json);
	}
	const res = await server.fetch(p, { method, headers, body });
	const text = await res.text();
	let parsed;
	try {
		parsed = JSON.parse(text);
	} catch {
		parsed = undefined;
	}
	return { status: res.status, headers: res.headers, text, json: parsed };
}

/** Assert `r` is the anonymous answer: 401 Authentication credentials were not provided. */
export function assertNotProvided(r, what) {
	assert.equal(r.status, 401, `${what}: ${r.status} ${r.text}`);
	assert.deepEqual(r.json, NOT_PROVIDED, what);
}

/** The session of `client` is dead: its profile request is 401. */
export async function assertSignedOut(client, what) {
	const r = await client.get('/api/users/profile/');
	assertNotProvided(r, `${what}: profile with the old cookie`);
}

/** The session of `client` is alive: its profile request is 200 for `email`. */
export async function assertSignedIn(client, email, what) {
	const r = await client.get('/api/users/profile/');
	assert.equal(r.status, 200, `${what}: profile ${r.status} ${r.text}`);
	if (email) assert.equal(r.json.email, email.toLowerCase(), what);
}

/** Shape of one session entry. */
export function assertSessionShape(s, what = 'session') {
	assert.deepEqual(Object.keys(s).sort(), SESSION_KEYS, `${what}: keys`);
	assert.equal(typeof s.id, 'number', `${what}: id`);
	for (const k of ['created', 'last_seen', 'expires']) assert.match(s[k], ISO_UTC, `${what}: ${k}`);
	assert.equal(typeof s.ip, 'string', `${what}: ip`);
	assert.equal(typeof s.device, 'string', `${what}: device`);
	assert.equal(typeof s.user_agent, 'string', `${what}: user_agent`);
	assert.equal(typeof s.current, 'boolean', `${what}: current`);
}

/** Shape of one token entry of a list (never a key). */
export function assertTokenShape(t, what = 'token') {
	assert.deepEqual(Object.keys(t).sort(), TOKEN_KEYS, `${what}: keys`);
	assert.equal(typeof t.id, 'number', `${what}: id`);
	assert.equal(typeof t.name, 'string', `${what}: name`);
	assert.match(t.created, ISO_UTC, `${what}: created`);
	for (const k of ['last_used', 'expires']) assert.ok(t[k] === null || ISO_UTC.test(t[k]), `${what}: ${k} = ${t[k]}`);
}

/** GET every page of a paginated admin list (following `next`); returns all results. */
export async function allPages(client, first) {
	const out = [];
	let p = first;
	for (let i = 0; p && i < 1000; i++) {
		const r = await client.get(p);
		assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.text}`);
		out.push(...r.json.results);
		p = r.json.next;
		if (p) assert.ok(p.startsWith('/api/'), `next is a relative URL: ${p}`);
	}
	return out;
}

/** Decode a quoted-printable body (soft breaks and =XX), enough to find a link. */
export function decodeQP(s) {
	return s.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

/**
 * Wait until a .eml file in `dir` (GATEHOUSE_EMAIL=file:DIR) satisfies `pred`
 * (given {name, raw, decoded}); returns that file.  Files in `skip` (names) are
 * ignored.
 */
export async function waitForMail(dir, pred, { timeout = 15000 * SLOW, skip = new Set() } = {}) {
	const deadline = Date.now() + timeout;
	for (;;) {
		for (const name of fs
			.readdirSync(dir)
			.filter((n) => n.endsWith('.eml'))
			.sort()) {
			if (skip.has(name)) continue;
			const raw = fs.readFileSync(path.join(dir, name), 'utf8');
			const m = { name, raw, decoded: decodeQP(raw) };
			if (pred(m)) return m;
		}
		if (Date.now() > deadline)
			throw new Error(`no matching mail in ${dir} within ${timeout} ms: ${fs.readdirSync(dir).join(', ')}`);
		await sleep(100);
	}
}

/** The header block of a raw message, unfolded, as {lowercased name: value}. */
export function mailHeaders(raw) {
	const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
	const h = {};
	for (const line of head.split(/\r?\n/)) {
		const i = line.indexOf(':');
		if (i > 0) h[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
	}
	return h;
}
