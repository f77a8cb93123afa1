// Django-compatible CSRF (docs/design.md §3): X-CSRFToken must match the csrftoken
// cookie on every unsafe method, a present Origin must be trusted, and safe
// methods never change state.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
	startServer,
	createUser,
	csrfClient,
	loggedIn,
	maskCsrf,
	randomString,
	uniqueEmail,
	sha256hex,
	q,
	cookiesNamed,
	assertSecurityHeaders,
} from './harness.mjs';

const PW = 'csrf pass 1';
const TRUSTED = 'https://app.example.com';
let server;
let email;

before(async () => {
	server = await startServer({
		env: {
			GATEHOUSE_TRUSTED_ORIGINS: `${TRUSTED},http://localhost:5173`,
			GATEHOUSE_LOGIN_IP_LIMIT: '10000',
			GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '10000',
		},
	});
	email = createUser(server, uniqueEmail('csrf'), PW);
});
after(async () => {
	await server?.stop();
});

function assertCsrfFailed(r, what) {
	assert.equal(r.status, 403, `${what}: wanted 403, got ${r.status} ${r.text}`);
	assert.equal(typeof r.json?.detail, 'string', `${what}: JSON detail`);
	assert.ok(r.json.detail.startsWith('CSRF Failed:'), `${what}: detail ${JSON.stringify(r.json.detail)}`);
	assert.equal(cookiesNamed(r, 'sessionid').length, 0, `${what}: no session issued`);
	assertSecurityHeaders(r.headers, { api: true, what });
}

const login = (c, opts = {}) => c.post('/api/login/', { json: { email, password: PW }, ...opts });

test('login without CSRF cookie or header is 403', async () => {
	const c = server.client();
	assertCsrfFailed(await login(c), 'no cookie, no header');
});

test('login with the CSRF cookie but no header is 403', async () => {
	const c = await csrfClient(server);
	assertCsrfFailed(await login(c, { csrf: false }), 'no header');
});

test('login with the header but no CSRF cookie is 403', async () => {
	const c = await csrfClient(server);
	const token = c.cookie('csrftoken');
	c.deleteCookie('csrftoken');
	assertCsrfFailed(await login(c, { csrf: token }), 'no cookie');
});

test('a well-formed token that does not match the cookie is 403', async () => {
	const c = await csrfClient(server);
	assertCsrfFailed(await login(c, { csrf: randomString(32) }), 'other 32-char secret');
	assertCsrfFailed(await login(c, { csrf: maskCsrf(randomString(32)) }), 'masked form of another secret');
});

test('a token with characters outside [A-Za-z0-9] is 403', async () => {
	const c = await csrfClient(server);
	const good = c.cookie('csrftoken');
	assertCsrfFailed(await login(c, { csrf: good.slice(0, 31) + '!' }), '32 chars with !');
	assertCsrfFailed(await login(c, { csrf: good.slice(0, 31) + '-' }), '32 chars with -');
	// Same bad value in cookie and header: still rejected, the format itself is wrong.
	const bad = 'abc$%^&*()abcdefghijklmnopqrstuv';
	c.setCookie('csrftoken', bad);
	assertCsrfFailed(await login(c, { csrf: bad }), 'bad characters in cookie and header');
});

test('a token of the wrong length is 403', async () => {
	const c = await csrfClient(server);
	const good = c.cookie('csrftoken');
	for (const t of [good.slice(0, 31), good + 'a', maskCsrf(good).slice(0, 63), maskCsrf(good) + 'a', '']) {
		assertCsrfFailed(await login(c, { csrf: t }), `length ${t.length}`);
	}
	// Matching cookie and header of a non-Django length.
	c.setCookie('csrftoken', 'abcdef');
	assertCsrfFailed(await login(c, { csrf: 'abcdef' }), 'short cookie == header');
});

test('the raw 32-char token is accepted', async () => {
	const c = await csrfClient(server);
	const r = await login(c);
	assert.equal(r.status, 200, r.text);
});

test('the masked 64-char Django token is accepted', async () => {
	const c = await csrfClient(server);
	const masked = maskCsrf(c.cookie('csrftoken'));
	assert.equal(masked.length, 64);
	const r = await login(c, { csrf: masked });
	assert.equal(r.status, 200, r.text);
	// And on a cookie-authenticated request, with a fresh mask.
	const out = await c.post('/api/logout/', { csrf: maskCsrf(c.cookie('csrftoken')) });
	assert.equal(out.status, 200, out.text);
});

test('a foreign Origin is 403 even with a good token', async () => {
	const c = await csrfClient(server);
	for (const origin of [
		'http://evil.example',
		'null',
		`http://127.0.0.1:${server.port + 1}`,
		'https://app.example.com.evil.example',
		`https://127.0.0.1:${server.port}`,
	]) {
		assertCsrfFailed(await login(c, { headers: { Origin: origin } }), `Origin ${origin}`);
	}
});

test('the public origin as Origin is accepted', async () => {
	const c = await csrfClient(server);
	const r = await login(c, { headers: { Origin: server.origin } });
	assert.equal(r.status, 200, r.text);
});

test('an origin from GATEHOUSE_TRUSTED_ORIGINS is accepted', async () => {
	for (const origin of [TRUSTED, 'http://localhost:5173']) {
		const c = await csrfClient(server);
		const r = await login(c, { headers: { Origin: origin } });
		assert.equal(r.status, 200, `Origin ${origin}: ${r.status} ${r.text}`);
	}
});

test('logout of a cookie session without a CSRF token is 403 and the session lives on', async () => {
	const c = await loggedIn(server, email, PW);
	const r = await c.post('/api/logout/', { csrf: false });
	assertCsrfFailed(r, 'logout without header');
	assert.equal((await c.get('/api/users/profile/')).status, 200, 'session still alive');
	const foreign = await c.post('/api/logout/', { headers: { Origin: 'http://evil.example' } });
	assertCsrfFailed(foreign, 'logout from a foreign origin');
	assert.equal((await c.get('/api/users/profile/')).status, 200, 'session still alive');
});

test('the pre-login CSRF token no longer works after login rotated it', async () => {
	const c = await csrfClient(server);
	const old = c.cookie('csrftoken');
	assert.equal((await login(c)).status, 200);
	assert.notEqual(c.cookie('csrftoken'), old);
	assertCsrfFailed(await c.post('/api/logout/', { csrf: old }), 'pre-login token after rotation');
	assert.equal((await c.get('/api/users/profile/')).status, 200);
	assert.equal((await c.post('/api/logout/')).status, 200, 'the rotated token works');
});

test('GET /api/logout/ is 405 and the session stays alive', async () => {
	const c = await loggedIn(server, email, PW);
	const key = c.cookie('sessionid');
	const r = await c.get('/api/logout/');
	assert.equal(r.status, 405, r.text);
	assertSecurityHeaders(r.headers, { api: true, what: '405' });
	assert.equal(cookiesNamed(r, 'sessionid').length, 0, 'no sessionid Set-Cookie on GET');
	assert.equal((await c.get('/api/users/profile/')).status, 200);
	assert.equal(server.sqlRows(`SELECT id FROM sessions WHERE key_hash = ${q(sha256hex(key))}`).length, 1);
});

test('HEAD and OPTIONS on /api/logout/ do not end the session', async () => {
	const c = await loggedIn(server, email, PW);
	for (const m of ['head', 'options']) {
		const r = await c[m]('/api/logout/');
		assert.ok(r.status < 500, `${m}: ${r.status}`);
		assert.equal(cookiesNamed(r, 'sessionid').length, 0, `${m}: no sessionid Set-Cookie`);
	}
	assert.equal((await c.get('/api/users/profile/')).status, 200);
});

test('GET /api/login/ with credentials in the query is 405 and logs nobody in', async () => {
	const c = await csrfClient(server);
	const qs = new URLSearchParams({ email, password: PW }).toString();
	const r = await c.get(`/api/login/?${qs}`);
	assert.equal(r.status, 405, r.text);
	assert.equal(cookiesNamed(r, 'sessionid').length, 0, 'no session cookie');
	assert.equal((await c.get('/api/users/profile/')).status, 401);
	const r2 = await c.get(`/api/login?${qs}`);
	assert.equal(r2.status, 405);
	assert.equal(cookiesNamed(r2, 'sessionid').length, 0);
});

describe('on an https public origin', () => {
	let srv;
	before(async () => {
		srv = await startServer({ env: { GATEHOUSE_PUBLIC_ORIGIN: 'https://auth.example.com' } });
	});
	after(async () => {
		await srv?.stop();
	});

	test('an Origin equal to the https public origin is accepted and a plain-http one is not', async () => {
		const em = createUser(srv, uniqueEmail('https'), PW);
		const c = await csrfClient(srv);
		assertCsrfFailed(
			await c.post('/api/login/', {
				json: { email: em, password: PW },
				headers: { Origin: 'http://auth.example.com' },
			}),
			'http twin of the https origin',
		);
		// Django also checks Referer on https; send a matching one as a browser would.
		const r = await c.post('/api/login/', {
			json: { email: em, password: PW },
			headers: { Origin: 'https://auth.example.com', Referer: 'https://auth.example.com/login' },
		});
		assert.equal(r.status, 200, r.text);
		const [s] = cookiesNamed(r, 'sessionid');
		assert.equal(s.attrs.secure, true, 'sessionid is Secure on an https origin');
	});
});
