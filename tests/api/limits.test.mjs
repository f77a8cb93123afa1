// Limits and hostile input (docs/design.md §3 "Limits", rate limits): 413 before the
// body is read, 4xx (never 5xx) for bad bodies and bad requests, throttling
// with Retry-After, and a process that survives all of it.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
	startServer,
	createUser,
	csrfClient,
	uniqueEmail,
	assertSecurityHeaders,
	rawGet,
	sleep,
	SLOW,
	WRAPPER,
	cookiesNamed,
} from './harness.mjs';

const PW = 'limits pass 1';
let server;
let email;

before(async () => {
	server = await startServer({
		env: { GATEHOUSE_LOGIN_IP_LIMIT: '10000', GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '10000' },
	});
	email = createUser(server, uniqueEmail('limits'), PW);
});
after(async () => {
	if (server) assert.ok(await server.alive(), 'server alive at the end');
	await server?.stop();
});

/** A raw POST head with a valid CSRF pair, no body. */
async function rawPostHead(p, { contentLength, contentType = 'application/json', extra = '' } = {}) {
	const c = await csrfClient(server);
	const t = c.cookie('csrftoken');
	return (
		`POST ${p} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: ${contentType}\r\n` +
		`Content-Length: ${contentLength}\r\nCookie: csrftoken=${t}\r\nX-CSRFToken: ${t}\r\n${extra}\r\n`
	);
}

function assertNot5xx(status, what) {
	assert.ok(status >= 400 && status < 500, `${what}: wanted 4xx, got ${status}`);
}

test('a body over the limit by Content-Length is 413 before the body is sent', async () => {
	const head = await rawPostHead('/api/login/', { contentLength: 1_000_000_000 });
	const r = await server.raw(head, { timeout: 5000 * SLOW });
	assert.ok(!r.timedOut, 'server waited for the body instead of answering');
	assert.ok(r.response, `no response: ${JSON.stringify(r.text.slice(0, 200))}`);
	assert.equal(r.response.status, 413);
	assert.equal(typeof r.response.json?.detail, 'string', `413 body ${r.response.text}`);
	assertSecurityHeaders(r.response.headers, { api: true, what: '413' });
	assert.ok(await server.alive());
});

test('a body just over the default 65536-byte limit is 413 on any API path', async () => {
	for (const p of ['/api/login/', '/api/logout/']) {
		const head = await rawPostHead(p, { contentLength: 65537 });
		const r = await server.raw(head);
		assert.ok(!r.timedOut, `${p}: no answer without the body`);
		assert.equal(r.response?.status, 413, p);
	}
});

test('Expect: 100-continue with an oversized body gets 413, not 100', async () => {
	const head = await rawPostHead('/api/login/', { contentLength: 10_000_000, extra: 'Expect: 100-continue\r\n' });
	const r = await server.raw(head);
	assert.ok(!r.timedOut, 'no answer');
	assert.deepEqual(
		r.interim.map((x) => x.status),
		[],
		'no 100 Continue for a body that will be refused',
	);
	assert.equal(r.response?.status, 413);
});

test('a body of exactly the limit is read, one byte more is 413', async () => {
	const c = await csrfClient(server);
	const mk = (n) => {
		const base = JSON.stringify({ email, password: 'wrong' });
		return base.slice(0, -1) + ' '.repeat(n - base.length) + '}';
	};
	const at = await c.post('/api/login/', { body: mk(65536), headers: { 'Content-Type': 'application/json' } });
	assert.equal(at.status, 400, `65536 bytes: ${at.status} ${at.text}`);
	assert.deepEqual(at.json, { detail: 'Invalid credentials' });
	const over = await c.post('/api/login/', { body: mk(65537), headers: { 'Content-Type': 'application/json' } });
	assert.equal(over.status, 413);
	assertSecurityHeaders(over.headers, { api: true, what: '413 (sent body)' });
});

test('a chunked body over the limit is refused with 4xx', async () => {
	const c = await csrfClient(server);
	const t = c.cookie('csrftoken');
	const head =
		`POST /api/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
		`Transfer-Encoding: chunked\r\nCookie: csrftoken=${t}\r\nX-CSRFToken: ${t}\r\n\r\n`;
	const chunk = 'a'.repeat(8192);
	const parts = [head];
	for (let i = 0; i < 12; i++) parts.push(`${(8192).toString(16)}\r\n${chunk}\r\n`);
	parts.push('0\r\n\r\n');
	const r = await server.raw(parts);
	assert.ok(r.response, `no response (closed=${r.closed}, timedOut=${r.timedOut})`);
	assertNot5xx(r.response.status, 'chunked 96 KiB');
	assert.ok(await server.alive());
});

test('invalid JSON is 400', async () => {
	const c = await csrfClient(server);
	for (const body of ['{', '{"email": "a@b.c", "password": }', 'nope', '{"email":"a@b.c","password":"x"} trailing']) {
		const r = await c.post('/api/login/', { body, headers: { 'Content-Type': 'application/json' } });
		assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.status}`);
		assert.ok(r.json && typeof r.json === 'object', 'JSON error body');
		assertSecurityHeaders(r.headers, { api: true, what: 'bad JSON' });
	}
});

test('invalid UTF-8 is 400', async () => {
	const c = await csrfClient(server);
	const json = Buffer.concat([
		Buffer.from('{"email":"'),
		Buffer.from([0xff, 0xfe, 0xc3]),
		Buffer.from(`@example.com","password":"${PW}"}`),
	]);
	let r = await c.post('/api/login/', { body: json, headers: { 'Content-Type': 'application/json' } });
	assert.equal(r.status, 400, `raw bytes in JSON: ${r.status}`);
	const overlong = Buffer.concat([
		Buffer.from('{"email":"a'),
		Buffer.from([0xc0, 0xaf]),
		Buffer.from('@example.com","password":"x"}'),
	]);
	r = await c.post('/api/login/', { body: overlong, headers: { 'Content-Type': 'application/json' } });
	assert.equal(r.status, 400, `overlong encoding: ${r.status}`);
	r = await c.post('/api/login/', {
		body: 'email=%FF%FE%40example.com&password=x',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
	});
	assert.equal(r.status, 400, `percent-encoded invalid UTF-8 in a form: ${r.status}`);
	const rawForm = Buffer.concat([Buffer.from('email='), Buffer.from([0xff]), Buffer.from('&password=x')]);
	r = await c.post('/api/login/', { body: rawForm, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
	assert.equal(r.status, 400, `raw invalid byte in a form: ${r.status}`);
});

test('a Content-Type other than JSON or form on login is 415', async () => {
	const c = await csrfClient(server);
	const body = JSON.stringify({ email, password: PW });
	for (const ct of [
		'text/plain',
		'application/xml',
		'multipart/mixed; boundary=x',
		'multipart/form-dataX; boundary=x',
		'application/jsonx',
	]) {
		const r = await c.post('/api/login/', { body, headers: { 'Content-Type': ct } });
		assert.equal(r.status, 415, `${ct}: ${r.status} ${r.text}`);
		assert.equal(typeof r.json?.detail, 'string');
		assert.equal(cookiesNamed(r, 'sessionid').length, 0);
		assertSecurityHeaders(r.headers, { api: true, what: '415' });
	}
	// a form type with a body that is not that form: 400, never a session
	const r = await c.post('/api/login/', { body, headers: { 'Content-Type': 'multipart/form-data; boundary=x' } });
	assert.equal(r.status, 400, r.text);
	assert.equal(r.json.detail, 'Malformed multipart data.');
	assert.equal(cookiesNamed(r, 'sessionid').length, 0);
});

test('odd JSON shapes and values on login are 4xx, never 5xx', async () => {
	const c = await csrfClient(server);
	const bodies = [
		'',
		'[]',
		'"str"',
		'1',
		'null',
		'true',
		'{"email":1,"password":2}',
		'{"email":null,"password":null}',
		'{"email":["a"],"password":{"x":1}}',
		'{"email":"a\\u0000b@example.com","password":"p"}',
		'{"email":"\\ud800@example.com","password":"p"}',
		`{"email":"${'a'.repeat(20000)}@example.com","password":"p"}`,
		'['.repeat(20000) + ']'.repeat(20000),
		'{"a":'.repeat(5000) + '1' + '}'.repeat(5000),
		`{"email":"${email}","email":"x@example.com","password":"p"}`,
		'{"email":"","password":""}',
		'{"email":" ","password":" "}',
	];
	for (const body of bodies) {
		const r = await c.post('/api/login/', { body, headers: { 'Content-Type': 'application/json' } });
		assertNot5xx(r.status, `body ${JSON.stringify(body.slice(0, 60))}`);
		assert.equal(cookiesNamed(r, 'sessionid').length, 0, `no session for ${JSON.stringify(body.slice(0, 60))}`);
	}
	const forms = [
		'email&password',
		'=&=',
		'%',
		'email=%zz&password=x',
		'&&&',
		'email=a%00b&password=x',
		'a=' + 'b'.repeat(60000),
	];
	for (const body of forms) {
		const r = await c.post('/api/login/', { body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
		assertNot5xx(r.status, `form ${JSON.stringify(body.slice(0, 60))}`);
	}
	assert.ok(await server.alive());
});

test('an unknown /api/ path is a JSON 404', async () => {
	const c = await csrfClient(server);
	for (const p of [
		'/api/nope/',
		'/api/nope',
		'/api/',
		'/api/users/',
		'/api/users/profile/extra/',
		'/api/login-set-cookie/x',
	]) {
		const r = await c.get(p);
		assert.equal(r.status, 404, `${p}: ${r.status}`);
		assert.deepEqual(r.json, { detail: 'Not found.' }, p);
		assertSecurityHeaders(r.headers, { api: true, what: `404 ${p}` });
	}
	const r = await c.post('/api/nope/', { json: {} });
	assert.equal(r.status, 404);
	assert.deepEqual(r.json, { detail: 'Not found.' });
});

test('a wrong method on a known endpoint is a JSON 405', async () => {
	const c = await csrfClient(server);
	const cases = [
		['put', '/api/login/'],
		['delete', '/api/login/'],
		['patch', '/api/logout/'],
		['post', '/api/users/profile/'],
		['delete', '/api/users/profile/'],
		['post', '/api/login-set-cookie/'],
	];
	for (const [m, p] of cases) {
		const r = await c[m](p, { json: {} });
		assert.equal(r.status, 405, `${m.toUpperCase()} ${p}: ${r.status} ${r.text}`);
		assert.equal(typeof r.json?.detail, 'string', `${m} ${p} detail`);
		assertSecurityHeaders(r.headers, { api: true, what: `405 ${m} ${p}` });
	}
});

test('GET /healthz is 200 {"status":"ok"} with the security headers', async () => {
	const r = await server.fetch('/healthz');
	assert.equal(r.status, 200);
	assert.deepEqual(await r.json(), { status: 'ok' });
	assertSecurityHeaders(r.headers, { what: 'healthz' });
});

test('malformed raw requests get 4xx or a closed connection and the server lives on', async () => {
	const cases = [
		'GARBAGE\r\n\r\n',
		'GET\r\n\r\n',
		'GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n',
		'POST /api/login/ HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
		'POST /api/login/ HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
		'POST /api/login/ HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n',
		'POST /api/login/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
		'POST /api/login/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
		`GET /${'a'.repeat(200_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
		`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(200_000)}\r\n\r\n`,
		`GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`,
		'GET /api/users/profile/ HTTP/1.1\r\nHost: x\r\nCookie: ' + 'sessionid='.repeat(5000) + '\r\n\r\n',
		'GET /api/users/profile/ HTTP/1.1\r\nHost: x\r\nCookie: ;;;=;=;sessionid\r\n\r\n',
		'GET /api/users/profile/ HTTP/1.1\r\nHost: x\r\nAuthorization: Token \x01\x02\x7f\r\n\r\n',
		'GET /api/users/profile/ HTTP/1.1\r\nHost: x\r\nAuthorization: ' + 'Token '.repeat(10000) + '\r\n\r\n',
		'\x00\x01\x02\x03\r\n\r\n',
	];
	for (const req of cases) {
		const r = await server.raw(req, { timeout: 3000 * SLOW });
		const what = JSON.stringify(req.slice(0, 70));
		if (r.response) assert.ok(r.response.status < 500, `${what}: ${r.response.status}`);
		else assert.ok(r.closed || r.timedOut, `${what}: neither answered nor closed`);
		assert.ok(await server.alive(), `server dead after ${what}`);
	}
});

test('keep-alive: several requests on one connection are all answered', async () => {
	const reqs = [
		'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
		'GET /api/nope/ HTTP/1.1\r\nHost: x\r\n\r\n',
		'GET /api/login-set-cookie/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
	];
	const r = await server.raw(reqs.join(''), { responses: 3 });
	assert.deepEqual(
		r.responses.map((x) => x.status),
		[200, 404, 200],
	);
	// The same, one request after another answer.
	const seq = await server.raw([reqs[0], 200, reqs[0], 200, reqs[2]], { responses: 3 });
	assert.deepEqual(
		seq.responses.map((x) => x.status),
		[200, 200, 200],
	);
});

test('an HTTP/1.0 request is answered', async () => {
	const r = await server.raw('GET /healthz HTTP/1.0\r\n\r\n');
	assert.equal(r.response?.status, 200);
});

test('a client that stops sending half-way does not block others', async () => {
	const head = await rawPostHead('/api/login/', { contentLength: 100 });
	const stalled = server.raw([head, '{"email":'], { timeout: 1500 });
	assert.ok(await server.alive(), 'healthz answers while a body is pending');
	const c = await csrfClient(server);
	assert.equal((await c.post('/api/login/', { json: { email, password: PW } })).status, 200);
	await stalled;
});

describe('per-account login throttle', () => {
	let srv;
	before(async () => {
		srv = await startServer({
			env: {
				GATEHOUSE_LOGIN_WINDOW: '3',
				GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '3',
				GATEHOUSE_LOGIN_IP_LIMIT: '1000',
				// failures answered on a 100 ms grid, well inside the 3 s window (whole seconds: 2 to 3 s)
				GATEHOUSE_LOGIN_FAILURE_QUANTUM_MS: '100',
			},
		});
	});
	after(async () => {
		await srv?.stop();
	});

	test('after the account limit of failures the right password is 429 until the window passes', async () => {
		const em = createUser(srv, uniqueEmail('thr'), PW);
		const other = createUser(srv, uniqueEmail('thr-other'), PW);
		const c = await csrfClient(srv);
		for (let i = 0; i < 3; i++) {
			const r = await c.post('/api/login/', { json: { email: em, password: 'wrong' } });
			assert.equal(r.status, 400, `failure ${i + 1}: ${r.status}`);
		}
		const r = await c.post('/api/login/', { json: { email: em, password: PW } });
		assert.equal(r.status, 429, `right password after the limit: ${r.status} ${r.text}`);
		assert.equal(cookiesNamed(r, 'sessionid').length, 0, 'no session while throttled');
		assertSecurityHeaders(r.headers, { api: true, what: '429' });
		const ra = r.headers.get('retry-after');
		assert.match(String(ra), /^\d+$/, `Retry-After ${ra}`);
		const n = Number(ra);
		assert.ok(n >= 1 && n <= 3, `Retry-After ${n} within the 3 s window`);
		const m = /^Request was throttled\. Expected available in (\d+) seconds?\.$/.exec(r.json?.detail ?? '');
		assert.ok(m, `429 detail ${JSON.stringify(r.json)}`);
		assert.equal(Number(m[1]), n, 'body and Retry-After agree');
		// The contract spells "N seconds"; DRF says "1 second" for one, so both pass for n = 1.
		if (n !== 1) assert.equal(r.json.detail, `Request was throttled. Expected available in ${n} seconds.`);

		const o = await c.post('/api/login/', { json: { email: other, password: PW } });
		assert.equal(o.status, 200, 'another account from the same IP is not throttled');

		await sleep((n + 1) * 1000);
		const ok = await c.post('/api/login/', { json: { email: em, password: PW } });
		assert.equal(ok.status, 200, `after the window: ${ok.status} ${ok.text}`);
	});

	test('the account throttle matches the email case-insensitively', async () => {
		const em = createUser(srv, uniqueEmail('thrcase'), PW);
		const c = await csrfClient(srv);
		for (const v of [em, em.toUpperCase(), em]) {
			assert.equal((await c.post('/api/login/', { json: { email: v, password: 'wrong' } })).status, 400);
		}
		const r = await c.post('/api/login/', { json: { email: em.toUpperCase(), password: PW } });
		assert.equal(r.status, 429);
	});

	test('unknown emails are throttled like known ones', async () => {
		const ghost = uniqueEmail('ghost');
		const c = await csrfClient(srv);
		for (let i = 0; i < 3; i++)
			assert.equal((await c.post('/api/login/', { json: { email: ghost, password: 'x' } })).status, 400);
		const r = await c.post('/api/login/', { json: { email: ghost, password: 'x' } });
		assert.equal(r.status, 429, 'unknown email must look like a known one once throttled');
	});
});

describe('per-IP login throttle', () => {
	let srv;
	before(async () => {
		srv = await startServer({
			env: {
				GATEHOUSE_LOGIN_WINDOW: '3',
				GATEHOUSE_LOGIN_IP_LIMIT: '4',
				GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '1000',
				// failures answered on a 100 ms grid, well inside the 3 s window (whole seconds: 2 to 3 s)
				GATEHOUSE_LOGIN_FAILURE_QUANTUM_MS: '100',
			},
		});
	});
	after(async () => {
		await srv?.stop();
	});

	test('failures across different emails from one IP reach the IP limit', async () => {
		const em = createUser(srv, uniqueEmail('ip'), PW);
		const c = await csrfClient(srv);
		for (let i = 0; i < 4; i++) {
			const r = await c.post('/api/login/', { json: { email: uniqueEmail(`ip-miss${i}`), password: 'x' } });
			assert.equal(r.status, 400, `failure ${i + 1}: ${r.status}`);
		}
		const r = await c.post('/api/login/', { json: { email: em, password: PW } });
		assert.equal(r.status, 429, `fifth attempt from the IP: ${r.status} ${r.text}`);
		const n = Number(r.headers.get('retry-after'));
		assert.ok(Number.isInteger(n) && n >= 1 && n <= 3, `Retry-After ${r.headers.get('retry-after')}`);
		assert.match(r.json?.detail ?? '', /^Request was throttled\. Expected available in \d+ seconds?\.$/);

		await sleep((n + 1) * 1000);
		const ok = await c.post('/api/login/', { json: { email: em, password: PW } });
		assert.equal(ok.status, 200, `after the window: ${ok.status} ${ok.text}`);
	});
});

// Filling the pool needs one hash to outlast the handling of the other eleven
// requests.  valgrind slows gatehouse's own code (the throttle's SQL) far more
// than the hash's vector code, so there the logins are served one after
// another and never overflow; a dearer hash starves the HTTP thread instead.
// The plain and sanitizer runs check this rule.
const poolSkip = WRAPPER ? `the hash pool cannot be filled on purpose under GATEHOUSE_WRAPPER=${WRAPPER}` : false;

describe('with a tiny password-hash pool', { skip: poolSkip }, () => {
	let srv;
	before(async () => {
		srv = await startServer({
			defaultArgon2: true,
			env: {
				GATEHOUSE_HASH_THREADS: '1',
				GATEHOUSE_HASH_QUEUE: '1',
				GATEHOUSE_ARGON2_MEMORY_KIB: '32768',
				GATEHOUSE_ARGON2_ITERATIONS: '3',
				GATEHOUSE_LOGIN_IP_LIMIT: '10000',
				GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '10000',
				GATEHOUSE_LOGIN_ACCOUNT_INFLIGHT: '100',
			},
		});
	});
	after(async () => {
		await srv?.stop();
	});

	test('a full hash queue answers 503 with Retry-After and the server recovers', async () => {
		const em = createUser(srv, uniqueEmail('pool'), PW);
		const clients = await Promise.all(Array.from({ length: 12 }, () => csrfClient(srv)));
		const results = await Promise.all(clients.map((c) => c.post('/api/login/', { json: { email: em, password: PW } })));
		const statuses = results.map((r) => r.status);
		assert.ok(
			statuses.every((st) => st === 200 || st === 503),
			`statuses ${statuses}`,
		);
		assert.ok(statuses.includes(200), `some logins succeed: ${statuses}`);
		assert.ok(statuses.includes(503), `12 concurrent logins on 1 thread + queue 1 should overflow: ${statuses}`);
		for (const r of results.filter((x) => x.status === 503)) {
			assert.match(String(r.headers.get('retry-after')), /^\d+$/, 'Retry-After on 503');
			assert.equal(typeof r.json?.detail, 'string', '503 JSON detail');
			assert.equal(cookiesNamed(r, 'sessionid').length, 0, 'no session on 503');
			assertSecurityHeaders(r.headers, { api: true, what: '503' });
		}
		assert.ok(await srv.alive());
		const c = await csrfClient(srv);
		const ok = await c.post('/api/login/', { json: { email: em, password: PW } });
		assert.equal(ok.status, 200, 'a login after the burst works');
	});
});
