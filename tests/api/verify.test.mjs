// Forward auth for nginx auth_request: GET /api/auth/verify/ answers 200 with
// the caller's identity in X-Auth-* headers to an authenticated GET or HEAD,
// and nothing else is ever 2xx there (nginx treats any 2xx as "let through").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
	startServer,
	createUser,
	createToken,
	loggedIn,
	csrfClient,
	uniqueEmail,
	q,
	assertSecurityHeaders,
} from './harness.mjs';

const PW = 'verify pass 1';
const VERIFY = '/api/auth/verify/';
const FOREIGN = 'https://evil.example';
let server;

before(async () => {
	server = await startServer({
		env: { GATEHOUSE_LOGIN_IP_LIMIT: '10000', GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '10000' },
	});
});
after(async () => {
	await server?.stop();
});

const userId = (email) => String(server.sqlRows(`SELECT id FROM users WHERE email = ${q(email)}`)[0].id);

function assertNoIdentity(r, what) {
	for (const h of ['x-auth-user-id', 'x-auth-email', 'x-auth-staff'])
		assert.equal(r.headers.get(h), null, `${what}: ${h} must not be sent`);
}

function assertNot2xx(r, what) {
	assert.ok(r.status < 200 || r.status > 299, `${what}: wanted a non-2xx answer, got ${r.status} ${r.text}`);
	assertNoIdentity(r, what);
}

test('an authenticated GET of verify is 200 with the X-Auth-* identity headers', async () => {
	const email = createUser(server, uniqueEmail('verify'), PW);
	const c = await loggedIn(server, email, PW);
	const r = await c.get(VERIFY);
	assert.equal(r.status, 200, r.text);
	assert.equal(r.headers.get('x-auth-user-id'), userId(email));
	assert.equal(r.headers.get('x-auth-email'), email);
	assert.equal(r.headers.get('x-auth-staff'), 'false');
	assert.deepEqual(r.json, { id: Number(userId(email)), email });
	assertSecurityHeaders(r.headers, { api: true, what: 'verify 200' });
});

test('verify says X-Auth-Staff: true for a staff user', async () => {
	const email = createUser(server, uniqueEmail('vstaff'), PW, ['--staff']);
	const c = await loggedIn(server, email, PW);
	const r = await c.get(VERIFY);
	assert.equal(r.status, 200, r.text);
	assert.equal(r.headers.get('x-auth-staff'), 'true');
	assert.equal(r.headers.get('x-auth-user-id'), userId(email));
});

test('an authenticated HEAD of verify is 200 with the identity headers and no body', async () => {
	const email = createUser(server, uniqueEmail('vhead'), PW);
	const c = await loggedIn(server, email, PW);
	const r = await c.head(VERIFY);
	assert.equal(r.status, 200);
	assert.equal(r.body.length, 0);
	assert.equal(r.headers.get('x-auth-user-id'), userId(email));
	assert.equal(r.headers.get('x-auth-email'), email);
});

test("a GET of verify with an API token is 200 for the token's user", async () => {
	const email = createUser(server, uniqueEmail('vtok'), PW);
	const key = createToken(server, email);
	const r = await server.fetch(VERIFY, { headers: { Authorization: `Token ${key}` } });
	assert.equal(r.status, 200);
	assert.equal(r.headers.get('x-auth-email'), email);
	assert.equal(r.headers.get('x-auth-user-id'), userId(email));
});

test('an anonymous GET or HEAD of verify is 401 with WWW-Authenticate and no identity', async () => {
	const c = await csrfClient(server);
	const g = await c.get(VERIFY);
	assert.equal(g.status, 401, g.text);
	assert.equal(g.headers.get('www-authenticate'), 'Token');
	assert.equal(typeof g.json?.detail, 'string');
	assertNoIdentity(g, 'anonymous GET');
	assertSecurityHeaders(g.headers, { api: true, what: 'verify 401' });
	const h = await c.head(VERIFY);
	assert.equal(h.status, 401);
	assertNoIdentity(h, 'anonymous HEAD');
});

test('a forged, logged-out or invalid-token request to verify is 401', async () => {
	const email = createUser(server, uniqueEmail('vout'), PW);
	const c = await loggedIn(server, email, PW);
	const cookie = c.cookieHeader();
	assert.equal((await c.post('/api/logout/')).status, 200);
	const replay = await server.fetch(VERIFY, { headers: { Cookie: cookie } });
	assert.equal(replay.status, 401, 'the cookie of a logged-out session');
	assertNoIdentity(replay, 'replay');
	const forged = await server.fetch(VERIFY, { headers: { Cookie: `sessionid=${'a'.repeat(32)}` } });
	assert.equal(forged.status, 401, 'a forged sessionid');
	const tok = await server.fetch(VERIFY, { headers: { Authorization: `Token ${'b'.repeat(40)}` } });
	assert.equal(tok.status, 401, 'an unknown token');
	assertNoIdentity(tok, 'unknown token');
});

test('OPTIONS on verify is not 2xx: with a session, with a token, anonymous', async () => {
	const email = createUser(server, uniqueEmail('vopt'), PW);
	const c = await loggedIn(server, email, PW);
	const key = createToken(server, email);
	assertNot2xx(await c.options(VERIFY), 'OPTIONS with a session');
	assertNot2xx(
		await c.options(VERIFY, { cookies: false, headers: { Authorization: `Token ${key}` } }),
		'OPTIONS with a token',
	);
	assertNot2xx(await c.options(VERIFY, { cookies: false }), 'OPTIONS anonymous');
	assertNot2xx(
		await c.options(VERIFY.slice(0, -1), { cookies: false }),
		'OPTIONS anonymous without the trailing slash',
	);
});

test('a CORS preflight to verify from a foreign origin is not 2xx, with or without a session', async () => {
	const email = createUser(server, uniqueEmail('vcors'), PW);
	const c = await loggedIn(server, email, PW);
	const headers = {
		Origin: FOREIGN,
		'Access-Control-Request-Method': 'GET',
		'Access-Control-Request-Headers': 'authorization',
	};
	const withSession = await c.options(VERIFY, { headers });
	assertNot2xx(withSession, 'preflight with a session');
	assert.equal(withSession.headers.get('access-control-allow-origin'), null, 'no CORS grant');
	assertNot2xx(await c.options(VERIFY, { headers, cookies: false }), 'preflight anonymous');
});

test('POST, PUT and DELETE on verify are not 2xx even with a session and a valid CSRF token', async () => {
	const email = createUser(server, uniqueEmail('vunsafe'), PW);
	const c = await loggedIn(server, email, PW);
	for (const m of ['POST', 'PUT', 'DELETE']) {
		assertNot2xx(await c.request(m, VERIFY), `${m} with a session`);
		assertNot2xx(await c.request(m, VERIFY, { json: {} }), `${m} with a session and a JSON body`);
	}
	// the session still works: nothing above ended it
	assert.equal((await c.get(VERIFY)).status, 200);
});

test('every anonymous GET, HEAD, POST, PUT, PATCH or DELETE to verify is not 2xx', async () => {
	const c = await csrfClient(server);
	for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']) {
		assertNot2xx(await c.request(m, VERIFY), `anonymous ${m}`);
		assertNot2xx(await c.request(m, VERIFY.slice(0, -1)), `anonymous ${m} without the trailing slash`);
	}
});

test('a token-authenticated POST, PUT or DELETE to verify is not 2xx', async () => {
	const email = createUser(server, uniqueEmail('vtokm'), PW);
	const key = createToken(server, email);
	for (const m of ['POST', 'PUT', 'DELETE']) {
		const r = await server.fetch(VERIFY, { method: m, headers: { Authorization: `Token ${key}` } });
		const text = await r.text();
		assertNot2xx({ status: r.status, text, headers: r.headers }, `token ${m}`);
	}
});
