// Session cookie life cycle (docs/design.md §2 seed endpoints, §3 session rules).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
	startServer,
	createUser,
	csrfClient,
	loggedIn,
	cookiesNamed,
	sha256hex,
	estimatedBits,
	uniqueEmail,
	randomString,
	q,
	ISO_UTC,
	assertSecurityHeaders,
	unixNow,
} from './harness.mjs';

const PW = 'session pass 1';
let server;

before(async () => {
	server = await startServer({
		env: { GATEHOUSE_LOGIN_IP_LIMIT: '10000', GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '10000' },
	});
});
after(async () => {
	await server?.stop();
});

const NOT_PROVIDED = { detail: 'Authentication credentials were not provided.' };

function sessionRows(email) {
	return server.sqlRows(`SELECT s.* FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ${q(email)}`);
}

test('seed flow: login-set-cookie, login, profile, logout, then profile is 401', async () => {
	const email = createUser(server, uniqueEmail('seed'), PW);
	const c = server.client();

	let r = await c.get('/api/login-set-cookie/');
	assert.equal(r.status, 200);
	assert.deepEqual(r.json, { detail: 'CSRF cookie set' });

	r = await c.get('/api/users/profile/');
	assert.equal(r.status, 401);
	assert.deepEqual(r.json, NOT_PROVIDED);
	assert.equal(r.headers.get('www-authenticate'), 'Token');

	r = await c.post('/api/login/', { json: { email, password: PW } });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, { detail: 'Success' });

	r = await c.get('/api/users/profile/');
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.email, email);

	r = await c.post('/api/logout/');
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, { detail: 'Logout Successful' });
	assert.equal(c.cookie('sessionid'), undefined, 'logout should delete the sessionid cookie');

	r = await c.get('/api/users/profile/');
	assert.equal(r.status, 401);
	assert.deepEqual(r.json, NOT_PROVIDED);
});

test('HEAD on the profile of an anonymous client is 401 without a body', async () => {
	const r = await server.raw(`HEAD /api/users/profile/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, {
		headCount: 1,
	});
	assert.equal(r.response?.status, 401);
	assert.equal(r.response.body.length, 0);
	assert.ok(!r.text.includes('Authentication credentials'), 'no body bytes after a HEAD answer');
	assertSecurityHeaders(r.response.headers, { api: true, what: 'HEAD 401' });
});

test('profile returns the seed fields (plus email_verified, mfa_enabled) with ISO 8601 UTC dates', async () => {
	const email = createUser(server, uniqueEmail('prof'), PW);
	const c = await loggedIn(server, email, PW);
	const r = await c.get('/api/users/profile/');
	assert.equal(r.status, 200);
	assertSecurityHeaders(r.headers, { api: true, what: 'profile 200' });
	assert.deepEqual(Object.keys(r.json).sort(), [
		'date_joined',
		'email',
		'email_verified',
		'first_name',
		'id',
		'is_staff',
		'is_superuser',
		'last_login',
		'last_name',
		'mfa_enabled',
	]);
	assert.equal(r.json.email_verified, true, 'createuser vouches for the address');
	assert.equal(r.json.mfa_enabled, false, 'no second factor yet');
	assert.equal(typeof r.json.id, 'number');
	assert.equal(r.json.email, email);
	assert.equal(r.json.first_name, '');
	assert.equal(r.json.last_name, '');
	assert.equal(r.json.is_staff, false);
	assert.equal(r.json.is_superuser, false);
	assert.match(r.json.date_joined, ISO_UTC);
	assert.ok(
		Math.abs(Date.parse(r.json.date_joined) - Date.now()) < 120_000,
		`date_joined ${r.json.date_joined} is not now`,
	);
	// Django's login() records last_login.
	assert.match(String(r.json.last_login), ISO_UTC, 'last_login should be set by a login');
});

test('profile shows staff and superuser flags set by createuser', async () => {
	const email = createUser(server, uniqueEmail('staff'), PW, ['--staff', '--superuser']);
	const c = await loggedIn(server, email, PW);
	const r = await c.get('/api/users/profile/');
	assert.equal(r.status, 200);
	assert.equal(r.json.is_staff, true);
	assert.equal(r.json.is_superuser, true);
});

test('login-set-cookie sets csrftoken with the exact Django attributes', async () => {
	const c = server.client();
	const r = await c.get('/api/login-set-cookie/');
	assert.equal(r.status, 200);
	const [ck, ...more] = cookiesNamed(r, 'csrftoken');
	assert.ok(ck, `no csrftoken Set-Cookie in ${JSON.stringify(r.setCookies)}`);
	assert.equal(more.length, 0, 'one csrftoken Set-Cookie');
	assert.match(ck.value, /^[A-Za-z0-9]{32}$/);
	assert.equal(ck.attrs['max-age'], '31449600');
	assert.equal(ck.attrs.path, '/');
	assert.equal(ck.attrs.samesite, 'Lax');
	assert.ok(!('httponly' in ck.attrs), 'csrftoken must be readable by JS (no HttpOnly)');
	assert.ok(!('secure' in ck.attrs), 'no Secure on an http origin');
	assert.ok(ck.attrs.expires, 'csrftoken has an expires date');
	const exp = Date.parse(ck.attrs.expires);
	assert.ok(
		Math.abs(exp - (Date.now() + 31449600 * 1000)) < 120_000,
		`expires ${ck.attrs.expires} should be one year out`,
	);
	assert.match(ck.attrs.expires, /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
	// Exact order and spelling, as Django writes it.
	assert.equal(ck.raw, `csrftoken=${ck.value}; expires=${ck.attrs.expires}; Max-Age=31449600; Path=/; SameSite=Lax`);
});

test('login sets sessionid with the exact attributes and rotates csrftoken', async () => {
	const email = createUser(server, uniqueEmail('cookie'), PW);
	const c = await csrfClient(server);
	const before_ = c.cookie('csrftoken');
	const r = await c.post('/api/login/', { json: { email, password: PW } });
	assert.equal(r.status, 200, r.text);

	const sids = cookiesNamed(r, 'sessionid');
	assert.equal(sids.length, 1, `one sessionid Set-Cookie in ${JSON.stringify(r.setCookies)}`);
	const s = sids[0];
	assert.match(s.value, /^[A-Za-z0-9_-]+$/, 'session key is cookie-safe');
	assert.ok(estimatedBits(s.value) >= 128, `session key ${s.value.length} chars is under 128 bits`);
	assert.equal(s.attrs.httponly, true);
	assert.equal(s.attrs['max-age'], '1209600');
	assert.equal(s.attrs.path, '/');
	assert.equal(s.attrs.samesite, 'Lax');
	assert.ok(!('secure' in s.attrs), 'no Secure on an http origin');
	assert.ok(
		Math.abs(Date.parse(s.attrs.expires) - (Date.now() + 1209600 * 1000)) < 120_000,
		`expires ${s.attrs.expires}`,
	);
	assert.equal(
		s.raw,
		`sessionid=${s.value}; expires=${s.attrs.expires}; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax`,
	);

	const csrf = cookiesNamed(r, 'csrftoken');
	assert.equal(csrf.length, 1, 'login sets a new csrftoken');
	assert.match(csrf[0].value, /^[A-Za-z0-9]{32}$/);
	assert.notEqual(csrf[0].value, before_, 'csrftoken rotated at login');
	assert.equal(csrf[0].attrs['max-age'], '31449600');
	assert.ok(!('httponly' in csrf[0].attrs));
});

test('logout deletes the cookie with the exact attributes and the session row', async () => {
	const email = createUser(server, uniqueEmail('logout'), PW);
	const c = await loggedIn(server, email, PW);
	assert.equal(sessionRows(email).length, 1);
	const r = await c.post('/api/logout/');
	assert.equal(r.status, 200, r.text);
	assertSecurityHeaders(r.headers, { api: true, what: 'logout' });
	const del = r.setCookies.filter((l) => l.startsWith('sessionid='));
	assert.deepEqual(del, ['sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax']);
	assert.equal(sessionRows(email).length, 0, 'session row deleted server side');
});

test('the session key changes at login and the pre-login key is dead', async () => {
	const email = createUser(server, uniqueEmail('rotate'), PW);
	const c = await loggedIn(server, email, PW);
	const k1 = c.cookie('sessionid');
	const r = await c.post('/api/login/', { json: { email, password: PW } });
	assert.equal(r.status, 200, r.text);
	const k2 = c.cookie('sessionid');
	assert.ok(k2);
	assert.notEqual(k2, k1, 'a new key at every login');

	const old = server.client();
	old.setCookie('sessionid', k1);
	assert.equal((await old.get('/api/users/profile/')).status, 401, 'old key no longer authenticates');
	assert.equal((await c.get('/api/users/profile/')).status, 200, 'new key works');
	const rows = sessionRows(email);
	assert.equal(rows.length, 1, 'the old session row is deleted at re-login');
	assert.equal(rows[0].key_hash, sha256hex(k2));
});

test('replaying the session cookie after logout is 401', async () => {
	const email = createUser(server, uniqueEmail('replay'), PW);
	const c = await loggedIn(server, email, PW);
	const key = c.cookie('sessionid');
	assert.equal((await c.post('/api/logout/')).status, 200);
	const thief = server.client();
	thief.setCookie('sessionid', key);
	const r = await thief.get('/api/users/profile/');
	assert.equal(r.status, 401);
	assert.deepEqual(r.json, NOT_PROVIDED);
});

test('a forged session cookie is never adopted', async () => {
	const email = createUser(server, uniqueEmail('forge'), PW);
	const forged = randomString(32, 'abcdefghijklmnopqrstuvwxyz0123456789');
	const count = () => Number(server.sql('SELECT count(*) FROM sessions').trim());
	const n0 = count();

	const c = await csrfClient(server);
	c.setCookie('sessionid', forged);
	let r = await c.get('/api/users/profile/');
	assert.equal(r.status, 401);
	assert.equal(count(), n0, 'no session created for an unknown key');

	r = await c.post('/api/login/', { json: { email, password: PW } });
	assert.equal(r.status, 200, r.text);
	const issued = c.cookie('sessionid');
	assert.ok(issued);
	assert.notEqual(issued, forged, 'login with a forged cookie present issues a different key');
	assert.equal(server.sqlRows(`SELECT id FROM sessions WHERE key_hash = ${q(sha256hex(forged))}`).length, 0);

	const attacker = server.client();
	attacker.setCookie('sessionid', forged);
	assert.equal((await attacker.get('/api/users/profile/')).status, 401, 'forged key still anonymous');
	assert.equal((await c.get('/api/users/profile/')).status, 200);
});

test('the database stores only the SHA-256 of the session key', async () => {
	const email = createUser(server, uniqueEmail('hash'), PW);
	const c = await loggedIn(server, email, PW, { userAgent: 'gatehouse-test-agent/1.0' });
	const key = c.cookie('sessionid');
	const dump = server.dump();
	assert.ok(!dump.includes(key), 'session key found in clear in the database dump');
	assert.ok(dump.includes(sha256hex(key)), 'lowercase hex sha256 of the key should be stored');
	const [row] = sessionRows(email);
	assert.equal(row.key_hash, sha256hex(key));
	const now = Date.now() / 1000;
	assert.ok(Math.abs(row.created_at - now) < 120, `created_at ${row.created_at}`);
	assert.ok(
		Math.abs(row.expires_at - row.created_at - 1209600) <= 2,
		`expires_at - created_at = ${row.expires_at - row.created_at}`,
	);
	assert.equal(row.ip, '127.0.0.1');
	assert.equal(row.user_agent, 'gatehouse-test-agent/1.0');
});

test('a session whose expires_at has passed is 401', async () => {
	const email = createUser(server, uniqueEmail('expired'), PW);
	const c = await loggedIn(server, email, PW);
	const key = c.cookie('sessionid');
	server.sql(`UPDATE sessions SET expires_at = ${unixNow() - 10} WHERE key_hash = ${q(sha256hex(key))}`);
	const r = await c.get('/api/users/profile/');
	assert.equal(r.status, 401);
	assert.deepEqual(r.json, NOT_PROVIDED);
});

test('the session of a user deactivated in the database no longer authenticates', async () => {
	const email = createUser(server, uniqueEmail('deact'), PW);
	const c = await loggedIn(server, email, PW);
	server.sql(`UPDATE users SET is_active = 0 WHERE email = ${q(email)}`);
	assert.equal((await c.get('/api/users/profile/')).status, 401);
});

test('changepassword from the CLI ends existing sessions', async () => {
	const email = createUser(server, uniqueEmail('chpw'), PW);
	const c = await loggedIn(server, email, PW);
	const r = server.cli(['changepassword', email], { input: 'brand new pass 2\n' });
	assert.equal(r.status, 0, r.stderr);
	assert.equal((await c.get('/api/users/profile/')).status, 401, 'old session must end after a password change');
	const fresh = await csrfClient(server);
	assert.equal(
		(await fresh.post('/api/login/', { json: { email, password: PW } })).status,
		400,
		'old password rejected',
	);
	assert.equal(
		(await fresh.post('/api/login/', { json: { email, password: 'brand new pass 2' } })).status,
		200,
		'new password accepted',
	);
});

test('two logins of one user get independent sessions', async () => {
	const email = createUser(server, uniqueEmail('two'), PW);
	const a = await loggedIn(server, email, PW);
	const b = await loggedIn(server, email, PW);
	assert.notEqual(a.cookie('sessionid'), b.cookie('sessionid'));
	assert.equal((await a.post('/api/logout/')).status, 200);
	assert.equal((await a.get('/api/users/profile/')).status, 401);
	assert.equal((await b.get('/api/users/profile/')).status, 200, 'logout ends only its own session');
});

describe('with GATEHOUSE_SESSION_MAX_AGE and GATEHOUSE_SESSION_IDLE_TIMEOUT', () => {
	let srv;
	before(async () => {
		srv = await startServer({ env: { GATEHOUSE_SESSION_MAX_AGE: '3600', GATEHOUSE_SESSION_IDLE_TIMEOUT: '60' } });
	});
	after(async () => {
		await srv?.stop();
	});

	test('the sessionid Max-Age follows GATEHOUSE_SESSION_MAX_AGE', async () => {
		const email = createUser(srv, uniqueEmail('maxage'), PW);
		const c = await csrfClient(srv);
		const r = await c.post('/api/login/', { json: { email, password: PW } });
		assert.equal(r.status, 200, r.text);
		const [s] = cookiesNamed(r, 'sessionid');
		assert.equal(s.attrs['max-age'], '3600');
		const [row] = srv.sqlRows(`SELECT created_at, expires_at FROM sessions WHERE key_hash = ${q(sha256hex(s.value))}`);
		assert.ok(Math.abs(row.expires_at - row.created_at - 3600) <= 2);
	});

	test('a session idle for longer than the idle timeout is 401', async () => {
		const email = createUser(srv, uniqueEmail('idle'), PW);
		const c = await loggedIn(srv, email, PW);
		assert.equal((await c.get('/api/users/profile/')).status, 200);
		srv.sql(
			`UPDATE sessions SET last_seen = ${unixNow() - 120} WHERE key_hash = ${q(sha256hex(c.cookie('sessionid')))}`,
		);
		assert.equal((await c.get('/api/users/profile/')).status, 401);
	});
});
