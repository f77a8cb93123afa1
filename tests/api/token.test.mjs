// DRF-style API tokens (docs/design.md §3) and what the logs may contain.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
	startServer,
	createUser,
	createToken,
	csrfClient,
	loggedIn,
	uniqueEmail,
	sha256hex,
	q,
	estimatedBits,
	randomString,
	assertSecurityHeaders,
	sleep,
	unixNow,
} from './harness.mjs';

const PW = 'token pass 1';
const INVALID = { detail: 'Invalid token.' };
let server;

before(async () => {
	server = await startServer({
		env: { GATEHOUSE_LOGIN_IP_LIMIT: '10000', GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '10000' },
	});
});
after(async () => {
	await server?.stop();
});

const profile = (auth, extra = {}) =>
	server.fetch('/api/users/profile/', { headers: { Authorization: auth, ...extra } });

async function assertInvalidToken(res, what) {
	assert.equal(res.status, 401, `${what}: ${res.status}`);
	assert.deepEqual(await res.json(), INVALID, what);
	assert.equal(res.headers.get('www-authenticate'), 'Token', `${what}: WWW-Authenticate`);
	assertSecurityHeaders(res.headers, { api: true, what });
}

test('a token from createtoken authenticates the profile request', async () => {
	const email = createUser(server, uniqueEmail('tok'), PW);
	const key = createToken(server, email, ['--name', 'ci']);
	assert.match(key, /^[A-Za-z0-9_-]+$/, 'key is header-safe');
	assert.ok(estimatedBits(key) >= 160, `token ${key.length} chars is under 160 bits`);
	const r = await profile(`Token ${key}`);
	assert.equal(r.status, 200);
	const body = await r.json();
	assert.equal(body.email, email);
	assertSecurityHeaders(r.headers, { api: true, what: 'token profile' });
	const [row] = server.sqlRows(
		`SELECT t.name FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.email = ${q(email)}`,
	);
	assert.equal(row.name, 'ci');
});

test('the Token keyword is case-insensitive', async () => {
	const email = createUser(server, uniqueEmail('case'), PW);
	const key = createToken(server, email);
	for (const kw of ['token', 'TOKEN', 'ToKeN']) {
		const r = await profile(`${kw} ${key}`);
		assert.equal(r.status, 200, kw);
		assert.equal((await r.json()).email, email);
	}
});

test('the database stores only the SHA-256 of the token key', async () => {
	const email = createUser(server, uniqueEmail('thash'), PW);
	const key = createToken(server, email);
	const dump = server.dump();
	assert.ok(!dump.includes(key), 'token key in clear in the database');
	assert.ok(dump.includes(sha256hex(key)), 'sha256 hex of the key stored');
});

test('an unknown token is 401 Invalid token', async () => {
	await assertInvalidToken(await profile(`Token ${randomString(40, '0123456789abcdef')}`), 'unknown');
});

test('a revoked token is 401 Invalid token', async () => {
	const email = createUser(server, uniqueEmail('revoke'), PW);
	const key = createToken(server, email);
	assert.equal((await profile(`Token ${key}`)).status, 200);
	server.sql(`DELETE FROM tokens WHERE key_hash = ${q(sha256hex(key))}`);
	await assertInvalidToken(await profile(`Token ${key}`), 'revoked');
});

test('an expired token is 401 Invalid token', async () => {
	const email = createUser(server, uniqueEmail('exp'), PW);
	const key = createToken(server, email, ['--expires', '1']);
	const [row] = server.sqlRows(`SELECT created_at, expires_at FROM tokens WHERE key_hash = ${q(sha256hex(key))}`);
	assert.ok(
		Math.abs(row.expires_at - row.created_at - 86400) <= 2,
		`--expires 1 means one day: ${JSON.stringify(row)}`,
	);
	assert.equal((await profile(`Token ${key}`)).status, 200);
	server.sql(`UPDATE tokens SET expires_at = ${unixNow() - 5} WHERE key_hash = ${q(sha256hex(key))}`);
	await assertInvalidToken(await profile(`Token ${key}`), 'expired');
});

test('a token of an inactive user is 401 Invalid token', async () => {
	const email = createUser(server, uniqueEmail('inact'), PW);
	const key = createToken(server, email);
	server.sql(`UPDATE users SET is_active = 0 WHERE email = ${q(email)}`);
	await assertInvalidToken(await profile(`Token ${key}`), 'inactive');
});

test('a malformed Authorization Token header is 401 Invalid token header', async () => {
	for (const h of ['Token', 'Token ', 'Token a b', 'token  ']) {
		const r = await profile(h);
		assert.equal(r.status, 401, `${JSON.stringify(h)}: ${r.status}`);
		const body = await r.json();
		assert.equal(typeof body.detail, 'string');
		assert.ok(body.detail.startsWith('Invalid token header.'), `${JSON.stringify(h)}: ${body.detail}`);
	}
});

test('token requests need no CSRF token', async () => {
	const email = createUser(server, uniqueEmail('nocsrf'), PW);
	const key = createToken(server, email);
	const r = await server.fetch('/api/logout/', { method: 'POST', headers: { Authorization: `Token ${key}` } });
	const text = await r.text();
	assert.equal(r.status, 200, text);
	assert.deepEqual(JSON.parse(text), { detail: 'Logout Successful' });
});

test('a valid session cookie with a bad token is 401', async () => {
	const email = createUser(server, uniqueEmail('mix'), PW);
	const c = await loggedIn(server, email, PW);
	assert.equal((await c.get('/api/users/profile/')).status, 200);
	const r = await c.get('/api/users/profile/', { headers: { Authorization: `Token ${randomString(40)}` } });
	assert.equal(r.status, 401);
	assert.deepEqual(r.json, INVALID);
	const m = await c.get('/api/users/profile/', { headers: { Authorization: 'Token a b' } });
	assert.equal(m.status, 401);
	assert.ok(m.json.detail.startsWith('Invalid token header.'));
});

test('an unsafe request with a bad token and a cookie session is not let through without CSRF', async () => {
	const email = createUser(server, uniqueEmail('mix2'), PW);
	const c = await loggedIn(server, email, PW);
	const r = await c.post('/api/logout/', { csrf: false, headers: { Authorization: `Token ${randomString(40)}` } });
	assert.equal(r.status, 401, r.text);
	assert.equal((await c.get('/api/users/profile/')).status, 200, 'session still alive');
});

test('stderr log lines are JSON and never contain the password, the session key or the token', async () => {
	const secretPw = 'log-secret-PW-' + randomString(12);
	const email = createUser(server, uniqueEmail('logs'), secretPw);
	const c = await csrfClient(server);
	// A failed login, a form login, a query-string attempt, a good JSON login.
	await c.post('/api/login/', { json: { email, password: secretPw + 'x' } });
	await c.post('/api/login/', { form: { email, password: secretPw } });
	await c.get(`/api/login/?email=${encodeURIComponent(email)}&password=${encodeURIComponent(secretPw)}`);
	const r = await c.post('/api/login/', { json: { email, password: secretPw } });
	assert.equal(r.status, 200);
	const sid = c.cookie('sessionid');
	assert.equal((await c.get('/api/users/profile/')).status, 200);
	const key = createToken(server, email);
	assert.equal((await profile(`Token ${key}`)).status, 200);
	assert.equal((await profile(`Token ${key}x`)).status, 401);
	await c.post('/api/logout/');

	// Wait for the access log to catch up.
	for (let i = 0; i < 40 && !server.stderr().includes('/api/logout'); i++) await sleep(50);
	const text = server.stderr();
	assert.ok(text.includes('/api/users/profile'), 'access log lines for the requests exist');
	const lines = server.logLines();
	const bad = lines.filter((l) => l.__raw !== undefined);
	assert.deepEqual(
		bad.map((l) => l.__raw),
		[],
		'every stderr line is JSON',
	);
	assert.ok(
		lines.every((l) => l && typeof l === 'object' && !Array.isArray(l)),
		'each line is a JSON object',
	);
	for (const [what, s] of [
		['password', secretPw],
		['session key', sid],
		['token', key],
	]) {
		assert.ok(!text.includes(s), `${what} appears in the log`);
		assert.ok(!text.includes(encodeURIComponent(s)), `${what} (url-encoded) appears in the log`);
	}
});
