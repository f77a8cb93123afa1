// The SPA side (docs/design.md §2): files from the static folder, index.html for
// everything else, cache headers, and no way out of the folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
	startServer,
	rawGet,
	assertSecurityHeaders,
	INDEX_HTML,
	INDEX_MARKER,
	ASSET_JS,
	ROBOTS_TXT,
	SECRET_MARKER,
} from './harness.mjs';

let server;

before(async () => {
	server = await startServer();
});
after(async () => {
	if (server) assert.ok(await server.alive(), 'server alive at the end');
	await server?.stop();
});

const get = (p, init) => server.fetch(p, init);
const cc = (res) =>
	(res.headers.get('cache-control') || '')
		.toLowerCase()
		.split(',')
		.map((s) => s.trim())
		.sort()
		.join(', ');

async function assertIndex(res, what) {
	assert.equal(res.status, 200, `${what}: ${res.status}`);
	assert.equal(await res.text(), INDEX_HTML, `${what}: body is index.html`);
	assert.match(res.headers.get('content-type') || '', /^text\/html\b/, `${what}: Content-Type`);
	assert.equal(cc(res), 'no-cache', `${what}: Cache-Control`);
	assertSecurityHeaders(res.headers, { what });
}

test('GET / serves index.html with Cache-Control no-cache', async () => {
	await assertIndex(await get('/'), '/');
});

test('GET /index.html serves index.html with no-cache', async () => {
	await assertIndex(await get('/index.html'), '/index.html');
});

test('a history-mode route falls back to index.html', async () => {
	for (const p of ['/login', '/profile/', '/deep/route/with/segments', '/login?next=%2Fprofile', '/some.route']) {
		await assertIndex(await get(p), p);
	}
});

test('a missing hashed asset falls back to index.html without the immutable header', async () => {
	await assertIndex(await get('/assets/app-Zz99Yy88.js'), 'missing asset');
});

test('an existing file is served as is with its content type', async () => {
	const r = await get('/robots.txt');
	assert.equal(r.status, 200);
	assert.equal(await r.text(), ROBOTS_TXT);
	assert.match(r.headers.get('content-type') || '', /^text\/plain\b/);
	assert.ok(!(r.headers.get('cache-control') || '').includes('immutable'), 'robots.txt is not a hashed asset');
	assertSecurityHeaders(r.headers, { what: 'robots.txt' });
});

test('a hashed asset is served with public, max-age=31536000, immutable', async () => {
	for (const p of ['/assets/app-Ab12Cd34.js', '/assets/app-Ab12Cd34.js?v=1']) {
		const r = await get(p);
		assert.equal(r.status, 200, p);
		assert.equal(await r.text(), ASSET_JS, p);
		assert.match(r.headers.get('content-type') || '', /^(text|application)\/javascript\b/, p);
		assert.equal(cc(r), 'immutable, max-age=31536000, public', `${p}: Cache-Control ${r.headers.get('cache-control')}`);
		assertSecurityHeaders(r.headers, { what: p });
	}
});

test('HEAD on a static file answers the headers without a body', async () => {
	const r = await server.raw(`HEAD /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { headCount: 1 });
	assert.equal(r.response?.status, 200);
	assert.equal(r.response.body.length, 0);
	assert.ok(!r.text.includes('Disallow'), 'no body bytes after the HEAD answer');
});

test('a directory is never listed', async () => {
	for (const p of ['/assets/', '/assets']) {
		const r = await get(p);
		const body = await r.text();
		assert.ok([200, 403, 404].includes(r.status), `${p}: ${r.status}`);
		if (r.status === 200) assert.equal(body, INDEX_HTML, `${p}: only index.html may be served`);
		assert.ok(!body.includes('app-Ab12Cd34'), `${p}: directory listing`);
	}
});

test('path traversal never reaches a file outside the static folder', async () => {
	const paths = [
		'/../secret.txt',
		'/%2e%2e/secret.txt',
		'/%2E%2E/secret.txt',
		'/..%2fsecret.txt',
		'/..%2Fsecret.txt',
		'/assets/..%2f..%2fsecret.txt',
		'/assets/../../secret.txt',
		'/assets/%2e%2e/%2e%2e/secret.txt',
		'/..\\secret.txt',
		'/..%5csecret.txt',
		'/.%2e/secret.txt',
		'/%2e%2e%2fsecret.txt',
		'/./../secret.txt',
		'//../secret.txt',
		'/assets/./../../secret.txt',
		'/%252e%252e/secret.txt',
		'/..',
		'/../',
		'/../../../../../../etc/passwd',
		'/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
		'//etc/passwd',
		'/%2fetc%2fpasswd',
		'/secret.txt%00.html',
		'/robots.txt/../../secret.txt',
	];
	for (const p of paths) {
		const r = await server.raw(rawGet(p));
		const what = `GET ${p}`;
		assert.ok(!r.text.includes(SECRET_MARKER), `${what}: leaked the secret file`);
		assert.ok(!r.text.includes('root:x:0:0'), `${what}: leaked /etc/passwd`);
		if (r.response) {
			assert.ok([200, 400, 403, 404].includes(r.response.status), `${what}: status ${r.response.status}`);
			if (r.response.status === 200)
				assert.ok(r.response.text.includes(INDEX_MARKER), `${what}: 200 must be index.html`);
		} else {
			assert.ok(r.closed, `${what}: no answer`);
		}
	}
	assert.ok(await server.alive());
});

test('a symlink pointing out of the static folder is not followed', async () => {
	for (const p of ['/leak', '/leak/', '/./leak', '/assets/../leak']) {
		const r = await server.raw(rawGet(p));
		assert.ok(!r.text.includes(SECRET_MARKER), `GET ${p}: leaked the symlink target`);
		if (r.response?.status === 200)
			assert.ok(r.response.text.includes(INDEX_MARKER), `GET ${p}: 200 must be index.html`);
	}
});

test('error responses carry the security headers too', async () => {
	const r = await server.raw(rawGet('/../secret.txt'));
	if (r.response && r.response.status !== 200)
		assertSecurityHeaders(r.response.headers, { what: `static ${r.response.status}` });
	const api = await get('/api/no-such-thing/');
	assert.equal(api.status, 404);
	assertSecurityHeaders(api.headers, { api: true, what: 'api 404' });
});

test('/api/ paths never fall back to index.html', async () => {
	for (const p of ['/api/unknown/', '/api/assets/app-Ab12Cd34.js', '/api/robots.txt']) {
		const r = await get(p);
		const body = await r.text();
		assert.equal(r.status, 404, p);
		assert.ok(!body.includes(INDEX_MARKER), `${p}: served index.html`);
		assert.match(r.headers.get('content-type') || '', /^application\/json\b/, p);
	}
});

test('pages reached by a link with a secret in its path send no Referer, other pages keep same-origin', async () => {
	for (const p of [
		'/reset-password/MQ/abc123-0123456789abcdef',
		'/confirm-email/Zm9vYmFyYmF6',
		'/auth/github/callback?code=c&state=s',
	]) {
		const res = await get(p);
		assert.equal(res.status, 200, p);
		await res.arrayBuffer();
		assert.equal(res.headers.get('referrer-policy'), 'no-referrer', `${p}: one Referrer-Policy, no-referrer`);
	}
	for (const p of ['/login', '/reset-password', '/confirm-email']) {
		const res = await get(p);
		await res.arrayBuffer();
		assert.equal(res.headers.get('referrer-policy'), 'same-origin', p);
	}
});
