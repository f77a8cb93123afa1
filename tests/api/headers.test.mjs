// The security headers, by value, on every kind of response: API answers of
// each status, the SPA's pages (with their Content-Security-Policy), static
// files and the operations endpoint.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createUser, loggedIn, uniqueEmail, assertSecurityHeaders, DEFAULT_CSP } from './harness.mjs';

const PW = 'headers pass 1';
let server;

before(async () => {
	server = await startServer();
});
after(async () => {
	await server?.stop();
});

async function check(p, opts, init = {}) {
	const r = await server.fetch(p, init);
	await r.arrayBuffer();
	assertSecurityHeaders(r.headers, { what: `${init.method || 'GET'} ${p} ${r.status}`, ...opts });
	return r;
}

test('API answers of every status carry the security headers with their values', async () => {
	assert.equal((await check('/api/login-set-cookie/', { api: true })).status, 200);
	assert.equal((await check('/api/users/profile/', { api: true })).status, 401);
	assert.equal((await check('/api/logout/', { api: true }, { method: 'POST' })).status, 403);
	assert.equal((await check('/api/nothing-here/', { api: true })).status, 404);
	assert.equal((await check('/api/login/', { api: true })).status, 405);
	assert.equal((await check('/api/auth/verify/', { api: true })).status, 401);
});

test('an authenticated API answer carries the security headers too', async () => {
	const email = createUser(server, uniqueEmail('hdr'), PW);
	const c = await loggedIn(server, email, PW);
	for (const p of ['/api/users/profile/', '/api/auth/verify/', '/api/sessions/']) {
		const r = await c.get(p);
		assert.equal(r.status, 200, p);
		assertSecurityHeaders(r.headers, { api: true, what: p });
	}
});

test("the SPA's index and history routes carry the default Content-Security-Policy", async () => {
	for (const p of ['/', '/index.html', '/login', '/deep/route/x', '/assets/app-Zz99Yy88.js']) {
		const r = await check(p, { html: true });
		assert.equal(r.status, 200, p);
		assert.match(r.headers.get('content-type') || '', /^text\/html\b/, p);
	}
	const csp = (await server.fetch('/')).headers.get('content-security-policy');
	assert.match(csp, /frame-ancestors 'none'/);
	assert.match(csp, /object-src 'none'/);
	assert.equal(csp, DEFAULT_CSP);
});

test('static files and /healthz carry the security headers', async () => {
	for (const p of ['/robots.txt', '/assets/app-Ab12Cd34.js', '/healthz'])
		assert.equal((await check(p, {})).status, 200, p);
});

describe('with GATEHOUSE_CSP set', () => {
	const CSP = "default-src 'none'; script-src 'self'; frame-ancestors 'none'";
	let srv;
	before(async () => {
		srv = await startServer({ env: { GATEHOUSE_CSP: CSP } });
	});
	after(async () => {
		await srv?.stop();
	});

	test("the SPA's pages carry the configured Content-Security-Policy", async () => {
		const r = await srv.fetch('/some/route');
		await r.arrayBuffer();
		assert.equal(r.status, 200);
		assertSecurityHeaders(r.headers, { html: true, csp: CSP, what: 'configured CSP' });
	});
});
