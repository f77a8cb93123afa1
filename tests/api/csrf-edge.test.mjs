// CSRF near-misses: a token that differs from the cookie in one position, raw
// or masked, is refused; the exact secret, raw or masked, passes.  An
// anonymous POST /api/logout/ is the probe: 200 once CSRF passes, no state.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, csrfClient, maskCsrf, CSRF_CHARS, cookiesNamed } from './harness.mjs';

let server;

before(async () => {
	server = await startServer();
});
after(async () => {
	await server?.stop();
});

/** s with the character at i replaced by another one of [A-Za-z0-9]. */
function differAt(s, i) {
	const c = CSRF_CHARS[(CSRF_CHARS.indexOf(s[i]) + 1) % CSRF_CHARS.length];
	return s.slice(0, i) + c + s.slice(i + 1);
}

const probe = (c, token) => c.post('/api/logout/', { csrf: token });

function assertIncorrect(r, what) {
	assert.equal(r.status, 403, `${what}: wanted 403, got ${r.status} ${r.text}`);
	assert.equal(r.json?.detail, "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header incorrect.", what);
}

test('the exact raw secret passes the CSRF check', async () => {
	const c = await csrfClient(server);
	const r = await probe(c, c.cookie('csrftoken'));
	assert.equal(r.status, 200, r.text);
});

test('a token that differs from the cookie only in its last character is 403', async () => {
	const c = await csrfClient(server);
	const secret = c.cookie('csrftoken');
	assert.equal(secret.length, 32);
	assertIncorrect(await probe(c, differAt(secret, 31)), 'last char');
});

test('a token that differs from the cookie only in its first character is 403', async () => {
	const c = await csrfClient(server);
	const secret = c.cookie('csrftoken');
	assertIncorrect(await probe(c, differAt(secret, 0)), 'first char');
});

test('a token that differs from the cookie in any single middle position is 403', async () => {
	const c = await csrfClient(server);
	const secret = c.cookie('csrftoken');
	for (const i of [1, 15, 16, 30]) assertIncorrect(await probe(c, differAt(secret, i)), `char ${i}`);
});

test('a masked 64-char token that unmasks to a near-miss of the cookie is 403', async () => {
	const c = await csrfClient(server);
	const secret = c.cookie('csrftoken');
	for (const i of [0, 31]) assertIncorrect(await probe(c, maskCsrf(differAt(secret, i))), `masked, char ${i} off`);
	// the right cipher under a changed mask unmasks to something else
	const good = maskCsrf(secret);
	assertIncorrect(await probe(c, differAt(good, 31)), 'masked, last mask char changed');
	assertIncorrect(await probe(c, differAt(good, 63)), 'masked, last cipher char changed');
});

test('the correct masked 64-char token passes, under several masks', async () => {
	const c = await csrfClient(server);
	const secret = c.cookie('csrftoken');
	for (const mask of ['a'.repeat(32), '9'.repeat(32), undefined, undefined]) {
		const r = await probe(c, maskCsrf(secret, mask));
		assert.equal(r.status, 200, `mask ${mask}: ${r.text}`);
	}
});

test('a masked 64-char cookie (as Django sets it) is checked on its secret', async () => {
	const c = await csrfClient(server);
	const secret = c.cookie('csrftoken');
	c.setCookie('csrftoken', maskCsrf(secret));
	assert.equal((await probe(c, secret)).status, 200, 'raw header against the masked cookie');
	assert.equal((await probe(c, maskCsrf(secret))).status, 200, 'masked header against the masked cookie');
	assertIncorrect(await probe(c, differAt(secret, 31)), 'raw near-miss against the masked cookie');
	assertIncorrect(await probe(c, differAt(secret, 0)), 'raw first-char near-miss against the masked cookie');
});

test('a refused near-miss sets no cookie and ends nothing', async () => {
	const c = await csrfClient(server);
	const secret = c.cookie('csrftoken');
	const r = await probe(c, differAt(secret, 31));
	assert.equal(r.status, 403);
	assert.equal(cookiesNamed(r, 'sessionid').length, 0);
	assert.equal(c.cookie('csrftoken'), secret, 'the CSRF cookie stays');
});

// On an https public origin Django also checks the Referer of unsafe requests
// that carry no Origin.  The test talks plain http to the server: the scheme
// only decides the rules (and Secure cookies, which the test client ignores).
describe('with an https public origin', () => {
	const PUBLIC = 'https://gate.example.test';
	let srv;
	before(async () => {
		srv = await startServer({
			env: { GATEHOUSE_PUBLIC_ORIGIN: PUBLIC, GATEHOUSE_TRUSTED_ORIGINS: 'https://app.example.test' },
		});
	});
	after(async () => {
		await srv?.stop();
	});

	const post = (c, referer) => c.post('/api/logout/', { headers: referer === undefined ? {} : { Referer: referer } });

	function assertRefererFailed(r, what) {
		assert.equal(r.status, 403, `${what}: wanted 403, got ${r.status} ${r.text}`);
		assert.match(r.json?.detail ?? '', /^CSRF Failed: Referer checking failed/, what);
	}

	test('the CSRF cookie is Secure on an https public origin', async () => {
		const c = srv.client();
		const r = await c.get('/api/login-set-cookie/');
		const [ck] = cookiesNamed(r, 'csrftoken');
		assert.ok(ck, 'csrftoken set');
		assert.equal(ck.attrs.secure, true, ck.raw);
	});

	test('an unsafe request with a valid token but no Origin and no Referer is 403', async () => {
		const c = await csrfClient(srv);
		const r = await post(c);
		assertRefererFailed(r, 'no Referer');
		assert.equal(r.json.detail, 'CSRF Failed: Referer checking failed - no Referer.');
	});

	test('a foreign Referer without Origin is 403', async () => {
		const c = await csrfClient(srv);
		assertRefererFailed(await post(c, 'https://evil.example/page'), 'foreign Referer');
	});

	test('an http: Referer of the public host without Origin is 403', async () => {
		const c = await csrfClient(srv);
		assertRefererFailed(await post(c, 'http://gate.example.test/login'), 'http Referer');
	});

	test('a Referer whose host only starts with the public host is 403', async () => {
		const c = await csrfClient(srv);
		assertRefererFailed(await post(c, 'https://gate.example.test.evil.example/'), 'suffixed host');
		assertRefererFailed(await post(c, 'https://gate.example.test:444/'), 'other port');
		assertRefererFailed(await post(c, 'https://gate.example.tes/'), 'shorter host');
		assertRefererFailed(await post(c, 'gate.example.test/'), 'no scheme');
	});

	test('a same-origin https Referer without Origin passes the CSRF check', async () => {
		const c = await csrfClient(srv);
		for (const ref of [`${PUBLIC}/account/settings?tab=1`, `${PUBLIC}/`, PUBLIC, 'https://app.example.test/x']) {
			const r = await post(c, ref);
			assert.equal(r.status, 200, `${ref}: ${r.status} ${r.text}`);
		}
	});

	test('a same-origin Referer does not excuse a wrong token', async () => {
		const c = await csrfClient(srv);
		const r = await c.post('/api/logout/', {
			csrf: differAt(c.cookie('csrftoken'), 31),
			headers: { Referer: `${PUBLIC}/` },
		});
		assertIncorrect(r, 'good Referer, near-miss token');
	});

	test('a trusted Origin needs no Referer', async () => {
		const c = await csrfClient(srv);
		const r = await c.post('/api/logout/', { headers: { Origin: PUBLIC } });
		assert.equal(r.status, 200, r.text);
	});
});
