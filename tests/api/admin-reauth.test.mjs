// Sensitive admin actions need a recent password check (issue "Hardening (1
// of 2)"): granting is_staff or is_superuser, or deactivating a user, through
// PATCH /api/admin/users/<id>/ answers 403 reauthentication_required unless
// the actor's session proved its password (login, or POST
// /api/auth/reauthenticate/) within GATEHOUSE_REAUTH_MAX_AGE.  A token can
// never re-authenticate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createUser, csrfClient, uniqueEmail, sleep, SLOW } from './harness.mjs';
import {
	Secrets,
	signIn,
	newToken,
	withToken,
	userId,
	assertSignedIn,
	allPages,
	NOT_PROVIDED,
} from './admin-harness.mjs';

const PW = 'harbour lantern 42';
const SUPER_PW = 'granite tower super 9';
const MAX_AGE = 3 * SLOW; // seconds: GATEHOUSE_REAUTH_MAX_AGE of this server
// Every step that must land inside the window comes right after the login or
// re-authentication it relies on (fixtures are made before), so slow builds pass too.
const REAUTH_REQUIRED = { detail: 'Confirm your password to continue.', code: 'reauthentication_required' };
const CONFIRMED = { detail: 'Password confirmed.' };
const INCORRECT = { password: ['Incorrect password.'] };
const secrets = new Secrets();

let server;

before(async () => {
	server = await startServer({
		env: {
			GATEHOUSE_REAUTH_MAX_AGE: String(MAX_AGE),
			GATEHOUSE_LOGIN_IP_LIMIT: '100000',
			GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '3',
		},
	});
});
after(async () => {
	await server?.stop();
});

const U = (id) => `/api/admin/users/${id}/`;
const stale = () => sleep(MAX_AGE * 1000 + 700);

/** A fresh superuser, signed in: {email, id, client}. */
async function superuser(prefix = 'super') {
	const email = createUser(server, uniqueEmail(prefix), SUPER_PW, ['--superuser']);
	const client = await signIn(server, email, SUPER_PW, { secrets });
	return { email, id: userId(server, email), client };
}

/** A fresh ordinary user: {email, id}. */
function target(prefix = 'target') {
	const email = createUser(server, uniqueEmail(prefix), PW);
	return { email, id: userId(server, email) };
}

const flags = (id) => server.sqlRows(`SELECT is_active, is_staff, is_superuser FROM users WHERE id = ${id}`)[0];

test('a fresh login counts as a re-authentication, and it goes stale after GATEHOUSE_REAUTH_MAX_AGE', async () => {
	const t1 = target();
	const grants = [{ is_staff: true }, { is_superuser: true }, { is_active: false }].map((json) => [json, target()]);
	const sup = await superuser();
	const r1 = await sup.client.patch(U(t1.id), { json: { is_staff: true } });
	assert.equal(r1.status, 200, `right after login: ${r1.status} ${r1.text}`);
	await stale();
	for (const [json, t] of grants) {
		const r = await sup.client.patch(U(t.id), { json });
		assert.equal(r.status, 403, `${JSON.stringify(json)} with a stale login: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, REAUTH_REQUIRED, JSON.stringify(json));
		assert.deepEqual(flags(t.id), { is_active: 1, is_staff: 0, is_superuser: 0 }, `${JSON.stringify(json)}: unchanged`);
	}
	// taking power away or verifying an address is not gated
	const r2 = await sup.client.patch(U(t1.id), { json: { is_staff: false, email_verified: false } });
	assert.equal(r2.status, 200, `removing staff: ${r2.status} ${r2.text}`);
});

test('after POST /api/auth/reauthenticate/ a stale session may grant and deactivate again; the check is audited', async () => {
	const [t, t2, t3] = [target(), target(), target()];
	const victim = await signIn(server, t2.email, PW, { secrets });
	const sup = await superuser();
	await stale();
	assert.equal((await sup.client.patch(U(t.id), { json: { is_superuser: true } })).status, 403, 'stale first');
	const r = await sup.client.post('/api/auth/reauthenticate/', { json: { password: SUPER_PW } });
	assert.equal(r.status, 200, `reauthenticate: ${r.status} ${r.text}`);
	assert.deepEqual(r.json, CONFIRMED);
	const g = await sup.client.patch(U(t.id), { json: { is_superuser: true } });
	assert.equal(g.status, 200, `grant after reauth: ${g.status} ${g.text}`);
	assert.equal(g.json.is_superuser, true);
	const d = await sup.client.patch(U(t2.id), { json: { is_active: false } });
	assert.equal(d.status, 200, `deactivate after reauth: ${d.status} ${d.text}`);
	assert.equal((await victim.get('/api/users/profile/')).status, 401, 'the deactivated user is signed out');
	const rows = await allPages(sup.client, `/api/admin/audit/?page_size=100&event=auth.reauthenticated&actor=${sup.id}`);
	assert.equal(rows.length, 1, JSON.stringify(rows));
	assert.equal(rows[0].user_id, sup.id);
	// and it goes stale again
	await stale();
	assert.deepEqual(
		(await sup.client.patch(U(t3.id), { json: { is_staff: true } })).json,
		REAUTH_REQUIRED,
		'stale again',
	);
});

test('a token-authenticated admin gets the same 403 for these actions and cannot re-authenticate', async () => {
	const grants = [{ is_staff: true }, { is_superuser: true }, { is_active: false }].map((json) => [json, target()]);
	const last = target();
	const sup = await superuser('supertok');
	const tok = await newToken(sup.client, SUPER_PW, { name: 'admin token', secrets });
	for (const [json, t] of grants) {
		const r = await withToken(server, tok.key, U(t.id), { method: 'PATCH', json });
		assert.equal(r.status, 403, `${JSON.stringify(json)} by token: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, REAUTH_REQUIRED, JSON.stringify(json));
		assert.deepEqual(flags(t.id), { is_active: 1, is_staff: 0, is_superuser: 0 });
	}
	const r = await withToken(server, tok.key, '/api/auth/reauthenticate/', {
		method: 'POST',
		json: { password: SUPER_PW },
	});
	assert.equal(r.status, 403, `reauthenticate by token: ${r.status} ${r.text}`);
	assert.equal(typeof r.json?.detail, 'string');
	assert.equal(
		(await withToken(server, tok.key, U(last.id), { method: 'PATCH', json: { is_staff: true } })).status,
		403,
		'still refused after the attempt',
	);
	// the same person's fresh session can
	const fresh = await signIn(server, sup.email, SUPER_PW, { secrets });
	assert.equal((await fresh.patch(U(last.id), { json: { is_staff: true } })).status, 200, 'a fresh session can');
});

test('a wrong password at reauthenticate is 400, does not count as re-authenticated, and is throttled like a login', async () => {
	const t = target();
	const sup = await superuser('superwrong');
	await stale();
	for (let i = 0; i < 3; i++) {
		const r = await sup.client.post('/api/auth/reauthenticate/', {
			json: { password: secrets.add('wrong', `${SUPER_PW} nope`) },
		});
		assert.equal(r.status, 400, `wrong #${i + 1}: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, INCORRECT);
	}
	assert.deepEqual(
		(await sup.client.patch(U(t.id), { json: { is_staff: true } })).json,
		REAUTH_REQUIRED,
		'not re-authenticated',
	);
	const r = await sup.client.post('/api/auth/reauthenticate/', { json: { password: SUPER_PW } });
	assert.equal(r.status, 429, `after 3 failures (limit 3): ${r.status} ${r.text}`);
	assert.ok(r.headers.get('retry-after'), 'Retry-After');
	const fails = await allPages(
		sup.client,
		`/api/admin/audit/?page_size=100&event=auth.reauthentication_failed&actor=${sup.id}`,
	);
	assert.equal(fails.length, 3);
	await assertSignedIn(sup.client, sup.email, 'a wrong password does not sign out');
});

test('reauthenticate needs a signed-in session, a CSRF token and a password', async () => {
	const anon = await csrfClient(server);
	const a = await anon.post('/api/auth/reauthenticate/', { json: { password: SUPER_PW } });
	assert.equal(a.status, 401, `anonymous: ${a.text}`);
	assert.deepEqual(a.json, NOT_PROVIDED);
	const sup = await superuser('supercsrf');
	const noCsrf = await server.fetch('/api/auth/reauthenticate/', {
		method: 'POST',
		headers: { Cookie: `sessionid=${sup.client.cookie('sessionid')}`, 'Content-Type': 'application/json' },
		body: JSON.stringify({ password: SUPER_PW }),
	});
	assert.equal(noCsrf.status, 403, 'no CSRF token');
	const empty = await sup.client.post('/api/auth/reauthenticate/', { json: {} });
	assert.equal(empty.status, 400, empty.text);
	assert.deepEqual(empty.json, { password: ['This field is required.'] });
});
