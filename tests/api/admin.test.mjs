// The admin API, the audit log and the sessions CLI (docs/admin-contract.md,
// "Admin", "Audit events", "CLI"; docs/design.md §3: disabling a user ends all of
// their sessions and revokes their API tokens).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, createUser, createToken, csrfClient, uniqueEmail, q, sha256hex, ISO_UTC } from './harness.mjs';
import {
	CHROME_LINUX,
	FIREFOX_WINDOWS,
	NOT_FOUND,
	NO_PERMISSION,
	INVALID_TOKEN,
	INVALID_CREDENTIALS,
	INVALID_PAGE,
	RESET_SENT,
	ONLY_SUPERUSER_FLAGS,
	ADMIN_USER_KEYS,
	ADMIN_USER_DETAIL_KEYS,
	AUDIT_KEYS,
	Secrets,
	signIn,
	ownSessions,
	currentSessionId,
	newToken,
	withToken,
	assertNotProvided,
	assertSignedIn,
	assertSignedOut,
	assertSessionShape,
	assertTokenShape,
	userId,
	allPages,
	waitForMail,
	mailHeaders,
} from './admin-harness.mjs';

const PW = 'harbour lantern 42';
const STAFF_PW = 'quiet meadow staff 7';
const SUPER_PW = 'granite tower super 9';
const secrets = new Secrets();
for (const p of [PW, STAFF_PW, SUPER_PW]) secrets.add('password', p);

let server, mailDir;
let staffEmail, superEmail, plainEmail;
let staff, sup, plain; // signed-in clients
let staffId, superId, plainId;

before(async () => {
	mailDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-admin-mail-'));
	server = await startServer({
		env: {
			GATEHOUSE_EMAIL: `file:${mailDir}`,
			GATEHOUSE_MAIL_POLL: '1',
			GATEHOUSE_LOGIN_IP_LIMIT: '100000',
			GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '100000',
			GATEHOUSE_ACCOUNT_IP_LIMIT: '100000',
			GATEHOUSE_ACCOUNT_ADDRESS_LIMIT: '100000',
			// the sign-ins below must count as recent for the whole file, under valgrind too
			// (admin-reauth.test.mjs is about the limit)
			GATEHOUSE_REAUTH_MAX_AGE: '86400',
		},
	});
	staffEmail = createUser(server, uniqueEmail('staff'), STAFF_PW, ['--staff']);
	superEmail = createUser(server, uniqueEmail('super'), SUPER_PW, ['--superuser']);
	plainEmail = createUser(server, uniqueEmail('plain'), PW);
	staff = await signIn(server, staffEmail, STAFF_PW, { secrets, userAgent: CHROME_LINUX });
	sup = await signIn(server, superEmail, SUPER_PW, { secrets, userAgent: FIREFOX_WINDOWS });
	plain = await signIn(server, plainEmail, PW, { secrets });
	[staffId, superId, plainId] = [staffEmail, superEmail, plainEmail].map((e) => userId(server, e));
});
after(async () => {
	await server?.stop();
	if (mailDir && !process.env.GATEHOUSE_KEEP_TMP) fs.rmSync(mailDir, { recursive: true, force: true });
});

const user = (prefix, flags = [], pw = PW) => createUser(server, uniqueEmail(prefix), pw, flags);
const signInAs = (email, { password = PW, userAgent } = {}) => signIn(server, email, password, { secrets, userAgent });
const U = (id) => `/api/admin/users/${id}/`;

/** A fresh user signed in once, with an API token: {email, id, client, sid, token}. */
async function victim(prefix = 'victim') {
	const email = user(prefix);
	const client = await signInAs(email, { userAgent: CHROME_LINUX });
	const sid = await currentSessionId(client);
	const token = await newToken(client, PW, { name: `${prefix} token`, secrets });
	return { email, id: userId(server, email), client, sid, token };
}

async function detail(id) {
	const r = await staff.get(U(id));
	assert.equal(r.status, 200, `GET ${U(id)}: ${r.status} ${r.text}`);
	return r.json;
}

const outboxCount = (email) => server.sqlRows(`SELECT count(*) AS n FROM outbox WHERE recipient = ${q(email)}`)[0].n;

/** All audit rows (through the API, as staff) matching the query string. */
const audit = (query = '') => allPages(staff, `/api/admin/audit/?page_size=100${query ? '&' + query : ''}`);

// --- createuser, access control ------------------------------------------------

test('createuser --staff and --superuser make accounts that sign in with the password given on stdin', async () => {
	const p1 = await staff.get('/api/users/profile/');
	assert.equal(p1.status, 200);
	assert.equal(p1.json.is_staff, true, 'createuser --staff');
	assert.equal(p1.json.is_superuser, false);
	const p2 = await sup.get('/api/users/profile/');
	assert.equal(p2.json.is_superuser, true, 'createuser --superuser');
	assert.equal(p2.json.is_staff, true, 'a superuser is staff (Django createsuperuser)');
	const p3 = await plain.get('/api/users/profile/');
	assert.equal(p3.json.is_staff, false);
	assert.equal(p3.json.is_superuser, false);
	assert.equal((await staff.get('/api/admin/users/')).status, 200, 'staff reaches the admin API');
	assert.equal((await sup.get('/api/admin/users/')).status, 200, 'a superuser reaches the admin API');
	const bad = await csrfClient(server);
	const r = await bad.post('/api/login/', {
		json: { email: staffEmail, password: secrets.add('wrong password', STAFF_PW + 'x') },
	});
	assert.deepEqual(r.json, INVALID_CREDENTIALS, 'only the stdin password signs in');
});

/** Every admin endpoint, aimed at real rows of `v` (a victim()). */
function adminEndpoints(v) {
	return [
		['GET', '/api/admin/users/'],
		['GET', '/api/admin/users/?search=a&page=1&page_size=5'],
		['GET', U(v.id)],
		['PATCH', U(v.id), { is_active: false }],
		['PATCH', U(v.id), { is_staff: true, is_superuser: true }],
		['GET', `${U(v.id)}sessions/`],
		['DELETE', `${U(v.id)}sessions/${v.sid}/`],
		['DELETE', `${U(v.id)}sessions/`],
		['GET', `${U(v.id)}tokens/`],
		['DELETE', `${U(v.id)}tokens/${v.token.id}/`],
		['POST', `${U(v.id)}password-reset/`],
		['GET', '/api/admin/audit/'],
		['GET', '/api/admin/audit/?event=login.*&page_size=5'],
	];
}

/** v's session, token, flags and mailbox are as they were. */
async function assertUntouched(v, what) {
	await assertSignedIn(v.client, v.email, `${what}: the victim's session`);
	assert.equal((await withToken(server, v.token.key)).status, 200, `${what}: the victim's token`);
	const d = await detail(v.id);
	assert.equal(d.is_active, true, `${what}: still active`);
	assert.equal(d.is_staff, false, `${what}: still not staff`);
	assert.equal(d.is_superuser, false, `${what}: still not superuser`);
	assert.equal(outboxCount(v.email), 0, `${what}: no mail queued`);
}

test('every admin endpoint is 401 for an anonymous client with a valid CSRF token', async () => {
	const v = await victim('anon-target');
	const anon = await csrfClient(server);
	for (const [method, p, json] of adminEndpoints(v)) {
		const r = await anon.request(method, p, json ? { json } : {});
		assertNotProvided(r, `${method} ${p}`);
	}
	await assertUntouched(v, 'after the anonymous requests');
});

test('every admin endpoint is 403 for a signed-in user who is not staff', async () => {
	const v = await victim('nonstaff-target');
	for (const [method, p, json] of adminEndpoints(v)) {
		const r = await plain.request(method, p, json ? { json } : {});
		assert.equal(r.status, 403, `${method} ${p}: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, NO_PERMISSION, `${method} ${p}`);
	}
	await assertUntouched(v, 'after the non-staff requests');
});

test('every admin endpoint is 403 for a non-staff API token', async () => {
	const v = await victim('nonstaff-tok-target');
	const mine = await newToken(plain, PW, { name: 'plain', secrets });
	for (const [method, p, json] of adminEndpoints(v)) {
		const r = await withToken(server, mine.key, p, { method, json });
		assert.equal(r.status, 403, `${method} ${p}: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, NO_PERMISSION, `${method} ${p}`);
	}
	await assertUntouched(v, 'after the token requests');
});

test('a user who is not staff cannot make themselves staff', async () => {
	const r = await plain.patch(U(plainId), { json: { is_staff: true, is_superuser: true } });
	assert.equal(r.status, 403, r.text);
	const p = await plain.get('/api/users/profile/');
	assert.equal(p.json.is_staff, false);
	assert.equal(p.json.is_superuser, false);
});

// --- user list and detail ------------------------------------------------------

test('the user list searches part of the email, ignoring case', async () => {
	const tag = `srch${randomBytes(4).toString('hex')}`;
	const emails = [];
	for (let i = 0; i < 4; i++) emails.push(createUser(server, `${tag}-${i}@example.com`, PW));
	emails.push(createUser(server, `first.${tag}@example.org`, PW));
	const r = await staff.get(`/api/admin/users/?search=${tag.toUpperCase()}`);
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(Object.keys(r.json).sort(), ['count', 'next', 'previous', 'results']);
	assert.equal(r.json.count, 5, `case-insensitive search: ${r.text}`);
	assert.deepEqual(r.json.results.map((u) => u.email).sort(), emails.sort());
	assert.equal(r.json.next, null);
	assert.equal(r.json.previous, null);
	for (const u of r.json.results) {
		assert.deepEqual(Object.keys(u).sort(), ADMIN_USER_KEYS, 'user = profile fields + is_active');
		assert.equal(u.is_active, true);
		assert.match(u.date_joined, ISO_UTC);
	}
	const one = await staff.get(`/api/admin/users/?search=${encodeURIComponent(`${tag}-3@EXAMPLE`)}`);
	assert.deepEqual(
		one.json.results.map((u) => u.email),
		[`${tag}-3@example.com`],
	);
	const none = await staff.get(`/api/admin/users/?search=nobody-${tag}`);
	assert.deepEqual(none.json, { count: 0, next: null, previous: null, results: [] });
	const all = await staff.get('/api/admin/users/?page_size=100');
	assert.ok(all.json.count >= 8, 'no search lists everyone');
	assert.ok(
		all.json.results.some((u) => u.email === staffEmail) && all.json.results.some((u) => u.email === plainEmail),
	);
});

test('the user list paginates with count, relative next/previous links and 25 per page by default', async () => {
	const tag = `page${randomBytes(4).toString('hex')}`;
	const n = 27;
	for (let i = 0; i < n; i++) createUser(server, `${tag}-${String(i).padStart(2, '0')}@example.com`, PW);

	const p1 = await staff.get(`/api/admin/users/?search=${tag}`);
	assert.equal(p1.status, 200, p1.text);
	assert.equal(p1.json.count, n);
	assert.equal(p1.json.results.length, 25, 'default page size');
	assert.equal(p1.json.previous, null);
	assert.equal(typeof p1.json.next, 'string');
	assert.ok(p1.json.next.startsWith('/api/admin/users'), `next is relative: ${p1.json.next}`);
	const nextQ = new URL(p1.json.next, server.origin).searchParams;
	assert.equal(nextQ.get('page'), '2');
	assert.equal(nextQ.get('search'), tag, 'next keeps the search');
	const p2 = await staff.get(p1.json.next);
	assert.equal(p2.status, 200, p2.text);
	assert.equal(p2.json.results.length, 2);
	assert.equal(p2.json.next, null);
	assert.equal(typeof p2.json.previous, 'string');
	const prev = await staff.get(p2.json.previous);
	assert.deepEqual(
		prev.json.results.map((u) => u.id),
		p1.json.results.map((u) => u.id),
		'previous is page 1',
	);

	// page_size=10: three pages that together hold each user exactly once.
	const seen = await allPages(staff, `/api/admin/users/?search=${tag}&page_size=10`);
	assert.equal(seen.length, n);
	assert.equal(new Set(seen.map((u) => u.id)).size, n, 'no user twice, none missing');
	const p3 = await staff.get(`/api/admin/users/?search=${tag}&page_size=10&page=3`);
	assert.equal(p3.json.results.length, 7);
	assert.equal(p3.json.next, null);

	const past = await staff.get(`/api/admin/users/?search=${tag}&page_size=10&page=4`);
	assert.equal(past.status, 404, past.text);
	assert.deepEqual(past.json, INVALID_PAGE);
	const big = await staff.get(`/api/admin/users/?search=${tag}&page_size=100`);
	assert.equal(big.status, 200);
	assert.equal(big.json.results.length, n);
});

test('a bad page_size is 400 and a bad page number is refused', async () => {
	for (const s of ['0', '101', '-1', 'abc', '1.5', '']) {
		const r = await staff.get(`/api/admin/users/?page_size=${s}`);
		assert.equal(r.status, 400, `page_size=${s}: ${r.status} ${r.text}`);
		assert.equal(typeof r.json?.detail, 'string', `page_size=${s}: ${r.text}`);
	}
	for (const p of ['0', '-1', 'abc']) {
		const r = await staff.get(`/api/admin/users/?page=${p}`);
		assert.ok(r.status === 400 || r.status === 404, `page=${p}: ${r.status} ${r.text}`);
	}
	const a = await staff.get('/api/admin/audit/?page_size=101');
	assert.equal(a.status, 400, `audit page_size=101: ${a.text}`);
});

test('the user detail is the profile plus is_active, and 404 for an unknown id', async () => {
	const d = await detail(plainId);
	assert.deepEqual(Object.keys(d).sort(), ADMIN_USER_DETAIL_KEYS);
	assert.deepEqual(d.mfa, { totp: false, webauthn: 0, recovery_codes_unused: 0 }, 'no factor yet');
	assert.equal(d.id, plainId);
	assert.equal(d.email, plainEmail);
	assert.equal(d.is_active, true);
	const own = (await plain.get('/api/users/profile/')).json;
	for (const k of Object.keys(own)) assert.deepEqual(d[k], own[k], `${k} as in the profile`);
	for (const id of ['999999999', 'abc', '0']) {
		const r = await staff.get(`/api/admin/users/${id}/`);
		assert.equal(r.status, 404, `user ${id}: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, NOT_FOUND, `user ${id}`);
	}
	for (const p of ['sessions/', 'tokens/']) {
		const r = await staff.get(`/api/admin/users/999999999/${p}`);
		assert.equal(r.status, 404, `${p} of an unknown user`);
	}
	const r = await staff.patch('/api/admin/users/999999999/', { json: { is_active: false } });
	assert.equal(r.status, 404, `PATCH an unknown user: ${r.text}`);
});

// --- PATCH ---------------------------------------------------------------------

test('staff deactivating a user ends their sessions and API tokens at once; login says Invalid credentials', async () => {
	const v = await victim('deact');
	const second = await signInAs(v.email, { userAgent: FIREFOX_WINDOWS });
	await assertSignedIn(second, v.email, 'before');
	const r = await staff.patch(U(v.id), { json: { is_active: false } });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(Object.keys(r.json).sort(), ADMIN_USER_KEYS);
	assert.equal(r.json.is_active, false);
	assert.equal(r.json.id, v.id);
	await assertSignedOut(v.client, 'first session');
	await assertSignedOut(second, 'second session');
	const t = await withToken(server, v.token.key);
	assert.equal(t.status, 401, t.text);
	assert.deepEqual(t.json, INVALID_TOKEN);
	const login = await csrfClient(server);
	const l = await login.post('/api/login/', { json: { email: v.email, password: PW } });
	assert.equal(l.status, 400, l.text);
	assert.deepEqual(l.json, INVALID_CREDENTIALS);
	assert.deepEqual((await staff.get(`${U(v.id)}sessions/`)).json, [], 'no session left');
	assert.deepEqual((await staff.get(`${U(v.id)}tokens/`)).json, [], 'no token left');
	assert.equal((await detail(v.id)).is_active, false);
});

test('a reactivated user signs in again, but the old sessions and tokens stay ended', async () => {
	const v = await victim('react');
	assert.equal((await staff.patch(U(v.id), { json: { is_active: false } })).status, 200);
	const r = await staff.patch(U(v.id), { json: { is_active: true } });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.is_active, true);
	const again = await signInAs(v.email);
	await assertSignedIn(again, v.email, 'new login');
	await assertSignedOut(v.client, 'the session from before the deactivation');
	assert.deepEqual((await withToken(server, v.token.key)).json, INVALID_TOKEN, 'the token from before');
});

test('staff cannot grant or remove staff or superuser status: 403', async () => {
	const target = user('nograne');
	const id = userId(server, target);
	for (const json of [{ is_staff: true }, { is_superuser: true }, { is_staff: true, is_active: true }]) {
		const r = await staff.patch(U(id), { json });
		assert.equal(r.status, 403, `${JSON.stringify(json)}: ${r.text}`);
		assert.deepEqual(r.json, ONLY_SUPERUSER_FLAGS, JSON.stringify(json));
	}
	const d = await detail(id);
	assert.equal(d.is_staff, false);
	assert.equal(d.is_superuser, false);

	const other = user('otherstaff', ['--staff']);
	const oid = userId(server, other);
	const r = await staff.patch(U(oid), { json: { is_staff: false } });
	assert.equal(r.status, 403, `remove another's staff status: ${r.text}`);
	assert.deepEqual(r.json, ONLY_SUPERUSER_FLAGS);
	assert.equal((await detail(oid)).is_staff, true);
});

test('a superuser grants and removes staff and superuser status', async () => {
	const email = user('promote');
	const id = userId(server, email);
	const c = await signInAs(email);
	assert.equal((await c.get('/api/admin/users/')).status, 403);

	let r = await sup.patch(U(id), { json: { is_staff: true } });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.is_staff, true);
	assert.equal((await c.get('/api/admin/users/')).status, 200, 'now staff');

	r = await sup.patch(U(id), { json: { is_superuser: true } });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.is_superuser, true);
	assert.equal((await c.get('/api/users/profile/')).json.is_superuser, true);

	r = await sup.patch(U(id), { json: { is_superuser: false, is_staff: false } });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.is_staff, false);
	assert.equal(r.json.is_superuser, false);
	const after = await c.get('/api/admin/users/');
	assert.equal(after.status, 403, 'demoted at once');
	assert.deepEqual(after.json, NO_PERMISSION);
});

test("staff cannot change a superuser's account, end its sessions or tokens, or send it a reset: 403", async () => {
	const email = user('super2', ['--superuser'], SUPER_PW);
	const id = userId(server, email);
	const c = await signInAs(email, { password: SUPER_PW });
	const sid = await currentSessionId(c);
	const tok = await newToken(c, SUPER_PW, { name: 'super2', secrets });
	for (const [method, p, json] of [
		['PATCH', U(id), { is_active: false }],
		['PATCH', U(id), { email_verified: false }],
		['DELETE', `${U(id)}sessions/`],
		['DELETE', `${U(id)}sessions/${sid}/`],
		['DELETE', `${U(id)}tokens/${tok.id}/`],
		['POST', `${U(id)}password-reset/`],
	]) {
		const r = await staff.request(method, p, json ? { json } : {});
		assert.equal(r.status, 403, `${method} ${p}: ${r.status} ${r.text}`);
		assert.equal(typeof r.json?.detail, 'string', `${method} ${p}: a detail`);
	}
	await assertSignedIn(c, email, "the superuser's session");
	assert.equal((await withToken(server, tok.key)).status, 200, "the superuser's token");
	const d = await detail(id);
	assert.equal(d.is_active, true);
	assert.equal(d.email_verified, true);
	assert.equal(outboxCount(email), 0, 'no reset mail queued');
	// Looking is fine.
	assert.equal((await staff.get(`${U(id)}sessions/`)).status, 200);
	assert.equal((await staff.get(`${U(id)}tokens/`)).status, 200);
});

test("a superuser can manage another superuser's account", async () => {
	const email = user('super3', ['--superuser'], SUPER_PW);
	const id = userId(server, email);
	const c = await signInAs(email, { password: SUPER_PW });
	const r = await sup.delete(`${U(id)}sessions/`);
	assert.equal(r.status, 204, r.text);
	await assertSignedOut(c, 'ended by a superuser');
	const p = await sup.patch(U(id), { json: { is_active: false } });
	assert.equal(p.status, 200, p.text);
	assert.equal(p.json.is_active, false);
});

test('nobody can deactivate themselves: 400', async () => {
	for (const [c, id, what] of [
		[staff, staffId, 'staff'],
		[sup, superId, 'superuser'],
	]) {
		const r = await c.patch(U(id), { json: { is_active: false } });
		assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
		assert.equal(typeof r.json?.detail, 'string', `${what}: ${r.text}`);
		assert.equal((await detail(id)).is_active, true, `${what} still active`);
		assert.equal((await c.get('/api/users/profile/')).status, 200, `${what} still signed in`);
	}
});

test('a superuser cannot demote themselves: 400', async () => {
	// A superuser of its own, so the shared one survives a server that lets this through.
	const email = user('selfdemote', ['--superuser'], SUPER_PW);
	const id = userId(server, email);
	const c = await signInAs(email, { password: SUPER_PW });
	for (const json of [{ is_staff: false, is_superuser: false }, { is_superuser: false }]) {
		const r = await c.patch(U(id), { json });
		assert.equal(r.status, 400, `${JSON.stringify(json)}: ${r.status} ${r.text}`);
		const d = await detail(id);
		assert.equal(d.is_superuser, true, `${JSON.stringify(json)}: still a superuser`);
		assert.equal(d.is_staff, true, `${JSON.stringify(json)}: still staff`);
	}
});

test('a non-boolean flag is a 400 field error and an empty body is 400', async () => {
	const email = user('nonbool');
	const id = userId(server, email);
	for (const [json, field] of [
		[{ is_active: 'false' }, 'is_active'],
		[{ is_active: 0 }, 'is_active'],
		[{ is_active: null }, 'is_active'],
		[{ is_staff: 'true' }, 'is_staff'],
		[{ is_superuser: 1 }, 'is_superuser'],
		[{ email_verified: 'yes' }, 'email_verified'],
		[{ is_active: true, email_verified: [] }, 'email_verified'],
	]) {
		const r = await sup.patch(U(id), { json });
		assert.equal(r.status, 400, `${JSON.stringify(json)}: ${r.status} ${r.text}`);
		assert.ok(
			Array.isArray(r.json?.[field]) && r.json[field].every((m) => typeof m === 'string'),
			`${JSON.stringify(json)}: field error for ${field}, got ${r.text}`,
		);
	}
	for (const [what, opts] of [
		['{}', { json: {} }],
		['no body', {}],
		['unknown fields only', { json: { is_admin: true } }],
	]) {
		const r = await sup.patch(U(id), opts);
		assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
	}
	const d = await detail(id);
	assert.equal(d.is_active, true);
	assert.equal(d.is_staff, false);
	assert.equal(d.is_superuser, false);
	assert.equal(d.email_verified, true);
});

// --- a user's sessions and tokens ---------------------------------------------

test("staff lists a user's sessions and ends one of them at once", async () => {
	const email = user('adm-sess');
	const id = userId(server, email);
	const a = await signInAs(email, { userAgent: CHROME_LINUX });
	const b = await signInAs(email, { userAgent: FIREFOX_WINDOWS });
	const r = await staff.get(`${U(id)}sessions/`);
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.length, 2);
	r.json.forEach((s, i) => assertSessionShape(s, `session ${i}`));
	assert.ok(
		r.json.every((s) => s.current === false),
		'current is false in the admin list',
	);
	assert.deepEqual(
		r.json.map((s) => s.id).sort(),
		(await ownSessions(a)).map((s) => s.id).sort(),
		'same ids as the user sees',
	);
	const aid = await currentSessionId(a);
	assert.equal(r.json.find((s) => s.id === aid).user_agent, CHROME_LINUX);

	const d = await staff.delete(`${U(id)}sessions/${aid}/`);
	assert.equal(d.status, 204, d.text);
	await assertSignedOut(a, 'the ended session');
	await assertSignedIn(b, email, 'the other session');
	await assertSignedIn(staff, staffEmail, 'the admin');
	const again = await staff.delete(`${U(id)}sessions/${aid}/`);
	assert.equal(again.status, 404, 'ending it twice');
	assert.deepEqual(again.json, NOT_FOUND);
});

test('staff ends every session of a user at once', async () => {
	const email = user('adm-all');
	const id = userId(server, email);
	const clients = [await signInAs(email), await signInAs(email), await signInAs(email)];
	const bystander = await signInAs(user('adm-all-by'));
	const r = await staff.delete(`${U(id)}sessions/`);
	assert.equal(r.status, 204, r.text);
	for (const [i, c] of clients.entries()) await assertSignedOut(c, `session ${i}`);
	assert.deepEqual((await staff.get(`${U(id)}sessions/`)).json, []);
	await assertSignedIn(bystander, null, 'another user');
	await assertSignedIn(staff, staffEmail, 'the admin');
});

test("a session id of another user under this user's path is 404 and that session lives on", async () => {
	const owner = user('sess-owner');
	const other = user('sess-other');
	const oc = await signInAs(other);
	const osid = await currentSessionId(oc);
	await signInAs(owner);
	const r = await staff.delete(`${U(userId(server, owner))}sessions/${osid}/`);
	assert.equal(r.status, 404, r.text);
	assert.deepEqual(r.json, NOT_FOUND);
	await assertSignedIn(oc, other, "the other user's session");
	const unknown = await staff.delete(`${U(userId(server, owner))}sessions/999999999/`);
	assert.equal(unknown.status, 404);
});

test("staff lists a user's tokens without keys and revokes one at once", async () => {
	const email = user('adm-tok');
	const id = userId(server, email);
	const c = await signInAs(email);
	const t1 = await newToken(c, PW, { name: 'one', secrets });
	const t2 = await newToken(c, PW, { name: 'two', expires_in_days: 9, secrets });
	const r = await staff.get(`${U(id)}tokens/`);
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.length, 2);
	r.json.forEach((t, i) => assertTokenShape(t, `token ${i}`));
	assert.deepEqual(r.json.map((t) => t.id).sort(), [t1.id, t2.id].sort());
	for (const k of [t1.key, t2.key]) assert.ok(!r.text.includes(k), 'a key in the admin token list');

	const d = await staff.delete(`${U(id)}tokens/${t1.id}/`);
	assert.equal(d.status, 204, d.text);
	const dead = await withToken(server, t1.key);
	assert.equal(dead.status, 401);
	assert.deepEqual(dead.json, INVALID_TOKEN);
	assert.equal((await withToken(server, t2.key)).status, 200, 'the other token');
	const again = await staff.delete(`${U(id)}tokens/${t1.id}/`);
	assert.equal(again.status, 404);
	assert.deepEqual(again.json, NOT_FOUND);

	// Another user's token under this user's path.
	const oc = await signInAs(user('adm-tok-other'));
	const ot = await newToken(oc, PW, { secrets });
	const wrong = await staff.delete(`${U(id)}tokens/${ot.id}/`);
	assert.equal(wrong.status, 404, wrong.text);
	assert.equal((await withToken(server, ot.key)).status, 200, "the other user's token still works");
});

// --- password reset ------------------------------------------------------------

test('an admin password reset mails the user a reset link and shows the admin no link or token', async () => {
	const email = user('adm-reset');
	const id = userId(server, email);
	const before = new Set(fs.readdirSync(mailDir));
	const r = await staff.post(`${U(id)}password-reset/`);
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, RESET_SENT, 'exactly the detail, nothing else');
	assert.ok(outboxCount(email) >= 1, 'a mail for the user is queued');

	const linkRe = new RegExp(
		`${server.origin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/reset-password/([^/\\s"<>]+)/([^/\\s"<>]+)`,
	);
	const m = await waitForMail(
		mailDir,
		(x) => mailHeaders(x.raw).to?.toLowerCase().includes(email) && linkRe.test(x.decoded),
		{ skip: before },
	);
	const [, uid, token] = linkRe.exec(m.decoded);
	secrets.add('reset token', token);
	for (const s of ['reset-password', token, `/${uid}/`])
		assert.ok(!r.text.includes(s), `the admin's answer holds ${s}`);
	assert.ok(!JSON.stringify([...r.headers]).includes(token), 'no token in the headers either');

	// The link is the user's: it sets a new password.
	const NEW = secrets.add('password', 'copper lighthouse 314');
	const c = await csrfClient(server);
	const done = await c.post('/api/password/reset/confirm/', { json: { uid, token, new_password: NEW } });
	assert.equal(done.status, 200, done.text);
	await assertSignedIn(await signInAs(email, { password: NEW }), email, 'with the new password');
});

test('an admin password reset for an inactive account is 400 and sends nothing', async () => {
	const email = user('adm-reset-off');
	const id = userId(server, email);
	assert.equal((await staff.patch(U(id), { json: { is_active: false } })).status, 200);
	const r = await staff.post(`${U(id)}password-reset/`);
	assert.equal(r.status, 400, r.text);
	assert.equal(outboxCount(email), 0);
	const unknown = await staff.post('/api/admin/users/999999999/password-reset/');
	assert.equal(unknown.status, 404);
});

// --- audit ---------------------------------------------------------------------

/** The single row of `rows` with `event` (and matching `pred`), asserting its actor and user. */
function row(rows, event, { actor, user: uid, pred = () => true }) {
	const found = rows.filter((a) => a.event === event && pred(a));
	assert.equal(
		found.length,
		1,
		`one ${event} row, got ${JSON.stringify(found)} in ${JSON.stringify(rows.map((a) => a.event))}`,
	);
	const a = found[0];
	assert.deepEqual(Object.keys(a).sort(), AUDIT_KEYS, `${event}: keys`);
	assert.match(a.at, ISO_UTC, `${event}: at`);
	assert.equal(typeof a.detail, 'object', `${event}: detail is an object`);
	assert.ok(a.detail !== null && !Array.isArray(a.detail), `${event}: detail is an object`);
	if (actor !== undefined) assert.equal(a.actor_id, actor, `${event}: actor_id`);
	if (uid !== undefined) assert.equal(a.user_id, uid, `${event}: user_id`);
	return a;
}

test('sign-in, sign-out, session and token events are audited with the right actor and user', async () => {
	const email = user('aud');
	const id = userId(server, email);
	const UA = 'audit-test-agent/1.0';
	const anon = await csrfClient(server, { userAgent: UA });
	secrets.add('wrong password', PW + ' typo');
	assert.equal((await anon.post('/api/login/', { json: { email, password: PW + ' typo' } })).status, 400);
	const ghost = uniqueEmail('ghost');
	assert.equal((await anon.post('/api/login/', { json: { email: ghost, password: PW } })).status, 400);

	const c = await signInAs(email, { userAgent: UA });
	const t = await newToken(c, PW, { name: 'audited', secrets });
	assert.equal((await c.delete(`/api/tokens/${t.id}/`)).status, 204);
	const c2 = await signInAs(email);
	const sid2 = await currentSessionId(c2);
	assert.equal((await c.delete(`/api/sessions/${sid2}/`)).status, 204);
	await signInAs(email);
	assert.equal((await c.post('/api/sessions/revoke-others/')).status, 200);
	assert.equal((await c.post('/api/logout/')).status, 200);

	const rows = await audit(`user=${id}`);
	assert.ok(
		rows.every((a) => a.user_id === id),
		'?user= filters',
	);
	const failed = row(rows, 'login.failed', { actor: null, user: id });
	assert.deepEqual(failed.detail, { reason: 'wrong_password', email });
	assert.equal(failed.ip, '127.0.0.1');
	assert.equal(failed.user_agent, UA);
	const ok = rows.filter((a) => a.event === 'login.succeeded');
	assert.equal(ok.length, 3, 'three logins');
	for (const a of ok) {
		assert.equal(a.user_id, id);
		assert.ok(
			a.actor_id === null || a.actor_id === id,
			`login.succeeded actor is the user or anonymous: ${a.actor_id}`,
		);
		assert.equal(a.detail.method, 'password');
	}
	assert.deepEqual(row(rows, 'token.created', { actor: id, user: id }).detail, {
		token_id: t.id,
		name: 'audited',
		checked: 'password',
	});
	assert.deepEqual(row(rows, 'token.revoked', { actor: id, user: id }).detail, { token_id: t.id });
	assert.deepEqual(row(rows, 'session.revoked', { actor: id, user: id }).detail, { session_id: sid2 });
	row(rows, 'session.revoked_others', { actor: id, user: id });
	row(rows, 'logout', { actor: id, user: id });

	const unknown = (await audit('event=login.failed')).filter((a) => a.detail.email === ghost);
	assert.equal(unknown.length, 1, 'the unknown-email failure is logged');
	assert.equal(unknown[0].detail.reason, 'unknown_email');
	assert.equal(unknown[0].user_id, null);
	assert.equal(unknown[0].actor_id, null);
});

test('a refused login of an inactive account is audited as login.failed, reason inactive', async () => {
	const off = user('aud-off');
	const offId = userId(server, off);
	assert.equal((await staff.patch(U(offId), { json: { is_active: false } })).status, 200);
	const c = await csrfClient(server);
	assert.equal((await c.post('/api/login/', { json: { email: off, password: PW } })).status, 400);
	const a = row(await audit(`user=${offId}&event=login.failed`), 'login.failed', { actor: null, user: offId });
	assert.deepEqual(a.detail, { reason: 'inactive', email: off });
});

test('a refused login of an unverified account is audited as login.failed, reason unverified, with the email', async () => {
	const unv = user('aud-unv');
	const unvId = userId(server, unv);
	assert.equal((await staff.patch(U(unvId), { json: { email_verified: false } })).status, 200);
	const c = await csrfClient(server);
	assert.equal((await c.post('/api/login/', { json: { email: unv, password: PW } })).status, 400);
	const b = row(await audit(`user=${unvId}&event=login.failed`), 'login.failed', { actor: null, user: unvId });
	assert.deepEqual(b.detail, { reason: 'unverified', email: unv });
});

test('admin actions are audited with the admin as actor and the user concerned', async () => {
	const v = await victim('aud-adm');
	const s2 = await signInAs(v.email);
	const sid2 = await currentSessionId(s2);
	assert.equal((await staff.delete(`${U(v.id)}sessions/${sid2}/`)).status, 204);
	assert.equal((await staff.delete(`${U(v.id)}tokens/${v.token.id}/`)).status, 204);
	assert.equal((await staff.delete(`${U(v.id)}sessions/`)).status, 204);
	assert.equal((await staff.post(`${U(v.id)}password-reset/`)).status, 200);
	assert.equal((await staff.patch(U(v.id), { json: { is_active: false, email_verified: true } })).status, 200);
	assert.equal((await staff.patch(U(v.id), { json: { is_active: true, email_verified: false } })).status, 200);
	assert.equal((await sup.patch(U(v.id), { json: { is_staff: true } })).status, 200);

	const rows = await audit(`user=${v.id}&event=admin.*`);
	assert.deepEqual(row(rows, 'admin.session.revoked', { actor: staffId, user: v.id }).detail, { session_id: sid2 });
	assert.deepEqual(row(rows, 'admin.token.revoked', { actor: staffId, user: v.id }).detail, { token_id: v.token.id });
	row(rows, 'admin.sessions.revoked_all', { actor: staffId, user: v.id });
	row(rows, 'admin.password_reset.sent', { actor: staffId, user: v.id });
	const updates = rows.filter((a) => a.event === 'admin.user.updated');
	assert.equal(updates.length, 3, JSON.stringify(updates));
	// Newest first: the superuser's grant, then the reactivation, then the deactivation.
	assert.equal(updates[0].actor_id, superId);
	assert.deepEqual(updates[0].detail, { is_staff: true });
	assert.equal(updates[1].actor_id, staffId);
	assert.deepEqual(updates[1].detail, { is_active: true, email_verified: false }, 'only the changed flags');
	assert.equal(updates[2].actor_id, staffId);
	assert.deepEqual(updates[2].detail, { is_active: false }, 'email_verified did not change');
	for (const a of updates) assert.equal(a.user_id, v.id);
	const byStaff = await audit(`actor=${staffId}&user=${v.id}`);
	assert.ok(
		byStaff.length >= 6 && byStaff.every((a) => a.actor_id === staffId && a.user_id === v.id),
		'?actor= with ?user=',
	);
});

test('the audit list filters by exact event, event prefix, user and actor', async () => {
	const prefixed = await audit('event=login.*');
	assert.ok(prefixed.length > 0);
	assert.ok(
		prefixed.every((a) => a.event.startsWith('login.')),
		JSON.stringify([...new Set(prefixed.map((a) => a.event))]),
	);
	const kinds = new Set(prefixed.map((a) => a.event));
	assert.ok(kinds.has('login.succeeded') && kinds.has('login.failed'), [...kinds].join());
	let sum = 0;
	for (const k of kinds) {
		const exact = await audit(`event=${k}`);
		assert.ok(
			exact.every((a) => a.event === k),
			`event=${k} is exact`,
		);
		sum += exact.length;
	}
	assert.equal(sum, prefixed.length, 'the prefix is the union of its events');
	const bare = await staff.get('/api/admin/audit/?event=login');
	assert.equal(bare.json.count, 0, 'without * the event is matched exactly, not as a prefix');
	const all = await staff.get('/api/admin/audit/?page_size=1');
	const logouts = await audit('event=logout');
	assert.ok(logouts.length > 0 && !prefixed.some((a) => a.event === 'logout'), 'login.* does not match logout');
	assert.ok(all.json.count > prefixed.length);

	const byActor = await audit(`actor=${superId}`);
	assert.ok(byActor.length > 0 && byActor.every((a) => a.actor_id === superId), '?actor=');
	const byUser = await audit(`user=${plainId}`);
	assert.ok(byUser.length > 0 && byUser.every((a) => a.user_id === plainId), '?user=');
});

test('the audit list is newest first and paginates with count, next and previous', async () => {
	const email = user('aud-page');
	const id = userId(server, email);
	const c = await signInAs(email);
	for (let i = 0; i < 4; i++) assert.equal((await c.post('/api/sessions/revoke-others/')).status, 200);
	const total = (await staff.get(`/api/admin/audit/?user=${id}`)).json.count;
	assert.ok(total >= 5, `rows for the user: ${total}`);

	const p1 = await staff.get(`/api/admin/audit/?user=${id}&page_size=2`);
	assert.equal(p1.status, 200, p1.text);
	assert.deepEqual(Object.keys(p1.json).sort(), ['count', 'next', 'previous', 'results']);
	assert.equal(p1.json.count, total);
	assert.equal(p1.json.results.length, 2);
	assert.equal(p1.json.previous, null);
	assert.ok(p1.json.next.startsWith('/api/admin/audit'), `relative next: ${p1.json.next}`);
	assert.equal(new URL(p1.json.next, server.origin).searchParams.get('user'), String(id), 'next keeps the filter');
	assert.equal(p1.json.results[0].event, 'session.revoked_others', 'the newest row first');
	const p2 = await staff.get(p1.json.next);
	assert.ok(typeof p2.json.previous === 'string' && p2.json.previous.startsWith('/api/admin/audit'));

	const rows = await allPages(staff, `/api/admin/audit/?user=${id}&page_size=2`);
	assert.equal(rows.length, total);
	for (let i = 1; i < rows.length; i++)
		assert.ok(rows[i - 1].id > rows[i].id, 'ids strictly decreasing: newest first, no repeats');
	for (let i = 1; i < rows.length; i++)
		assert.ok(Date.parse(rows[i - 1].at) >= Date.parse(rows[i].at), 'at not increasing');
});

test('an audit page past the end is 404 Invalid page, as for the user list', async () => {
	const email = user('aud-past');
	const id = userId(server, email);
	await signInAs(email);
	const total = (await staff.get(`/api/admin/audit/?user=${id}`)).json.count;
	assert.ok(total >= 1);
	const last = await staff.get(`/api/admin/audit/?user=${id}&page_size=1&page=${total}`);
	assert.equal(last.status, 200, 'the last page');
	const past = await staff.get(`/api/admin/audit/?user=${id}&page_size=1&page=${total + 1}`);
	assert.equal(past.status, 404, past.text);
	assert.deepEqual(past.json, INVALID_PAGE);
});

// --- CLI -----------------------------------------------------------------------

test('gatehouse sessions EMAIL lists the sessions the API shows', async () => {
	const email = user('cli-sess');
	const a = await signInAs(email, { userAgent: CHROME_LINUX });
	await signInAs(email, { userAgent: FIREFOX_WINDOWS });
	await signInAs(user('cli-sess-other'));
	const apiIds = (await ownSessions(a)).map((s) => s.id).sort((x, y) => x - y);
	const r = server.cli(['sessions', email]);
	assert.equal(r.status, 0, `status ${r.status}: ${r.stderr}`);
	const ids = r.stdout
		.split('\n')
		.map((l) => /^\s*(\d+)\s/.exec(l)?.[1])
		.filter(Boolean)
		.map(Number)
		.sort((x, y) => x - y);
	assert.deepEqual(ids, apiIds, `ids in:\n${r.stdout}`);
	assert.match(r.stdout, /127\.0\.0\.1/);
	assert.match(r.stdout, /Chrome/);
	assert.match(r.stdout, /Firefox/);
	for (const s of secrets.needles()) assert.ok(!r.stdout.includes(s[1]), `${s[0]} printed by the CLI`);
	const unknown = server.cli(['sessions', uniqueEmail('nobody')]);
	assert.notEqual(unknown.status, 0, 'an unknown email is an error');
});

test('gatehouse logout-everywhere EMAIL ends every session of the user', async () => {
	const email = user('cli-out');
	const id = userId(server, email);
	const cs = [await signInAs(email), await signInAs(email)];
	const bystander = await signInAs(user('cli-out-by'));
	const r = server.cli(['logout-everywhere', email]);
	assert.equal(r.status, 0, `status ${r.status}: ${r.stderr}`);
	for (const [i, c] of cs.entries()) await assertSignedOut(c, `session ${i}`);
	await assertSignedIn(bystander, null, 'another user');
	assert.equal(
		server
			.cli(['sessions', email])
			.stdout.split('\n')
			.filter((l) => /^\s*\d+\s/.test(l)).length,
		0,
	);
	row(await audit(`user=${id}&event=admin.sessions.revoked_all`), 'admin.sessions.revoked_all', {
		actor: null,
		user: id,
	});
});

test('createuser is audited as admin.user.created with no actor', async () => {
	const email = user('cli-created', ['--staff']);
	const id = userId(server, email);
	row(await audit(`user=${id}&event=admin.user.created`), 'admin.user.created', { actor: null, user: id });
});

test('createtoken on the command line is audited as token.created with token_id and name, no actor', async () => {
	const email = user('cli-token');
	const id = userId(server, email);
	const key = secrets.add('token key', createToken(server, email, ['--name', 'deploy']));
	const [{ id: tid }] = server.sqlRows(`SELECT id FROM tokens WHERE key_hash = ${q(sha256hex(key))}`);
	const a = row(await audit(`user=${id}&event=token.created`), 'token.created', { actor: null, user: id });
	assert.deepEqual(a.detail, { token_id: tid, name: 'deploy' });
});

// Last: everything above has had its chance to write a secret.
test('no audit row holds a password, session cookie, token key or reset token used in this file', async () => {
	const table = server.sql('SELECT * FROM audit;');
	assert.ok(
		table.includes('admin.user.updated') && table.includes('login.failed'),
		"the audit table has this file's rows",
	);
	const viaApi = JSON.stringify(await audit());
	assert.ok(secrets.needles().length > 20, 'secrets were collected');
	for (const [what, needle] of secrets.needles()) {
		assert.ok(!table.includes(needle), `${what} found in the audit table`);
		assert.ok(!viaApi.includes(needle), `${what} found in /api/admin/audit/`);
	}
	assert.ok(!/\$argon2|pbkdf2_sha256\$/.test(table), 'a password hash in the audit table');
});
