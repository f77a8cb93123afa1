// docs/openapi.yaml: a valid OpenAPI 3.1 document, served byte for byte at
// /api/schema/, naming exactly the routes of src/api/routes.c, and in step with
// the Markdown contracts (docs/*-contract.md).  The response checker every API
// test runs through (openapi-check.mjs) is tested here too: it must refuse what
// the document does not describe.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import YAML from 'yaml';
import { startServer, rawHttp } from './harness.mjs';
import { check, describe as describeAnswer, SPEC_FILE } from './openapi-check.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SPEC_TEXT = fs.readFileSync(SPEC_FILE, 'utf8');
const SPEC = YAML.parse(SPEC_TEXT);
const OPS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'trace'];

/** "METHOD /path/{param}/" of every operation in the document. */
function specOperations() {
	const out = new Set();
	for (const [p, item] of Object.entries(SPEC.paths))
		for (const m of OPS) if (item[m]) out.add(`${m.toUpperCase()} ${p}`);
	return out;
}

/** The route table's paths in the document's spelling: <id> → {id}, <name> → {provider}. */
const templated = (p) =>
	p
		.replace(/<name>/g, '{provider}')
		.replace(/<provider>/g, '{provider}')
		.replace(/<(\w+)>/g, '{$1}');

/** "METHOD /path" of every row of src/api/routes.c (parsed as text). */
function routeOperations() {
	const src = fs.readFileSync(path.join(ROOT, 'src/api/routes.c'), 'utf8');
	const out = new Set();
	for (const m of src.matchAll(/\{\s*M_([A-Z]+)\s*,\s*"([^"]+)"/g)) out.add(`${m[1]} ${templated(m[2])}`);
	return out;
}

test('docs/openapi.yaml is a valid OpenAPI 3.1 document (the official schema)', async () => {
	const v = new Validator();
	const res = await v.validate(SPEC_TEXT);
	assert.equal(res.valid, true, JSON.stringify(res.errors, null, 1));
	assert.equal(v.version, '3.1');
	assert.equal(SPEC.openapi, '3.1.0');
});

test('every operationId is unique and every operation lists its answers without a catch-all', () => {
	const ids = new Set();
	for (const [p, item] of Object.entries(SPEC.paths))
		for (const m of OPS) {
			const op = item[m];
			if (!op) continue;
			assert.ok(op.operationId, `${m} ${p}: operationId`);
			assert.ok(!ids.has(op.operationId), `duplicate operationId ${op.operationId}`);
			ids.add(op.operationId);
			assert.ok(!('default' in op.responses), `${m} ${p}: a default response hides what the server answers`);
			for (const status of Object.keys(op.responses)) assert.match(status, /^[1-5]\d\d$/, `${m} ${p}: ${status}`);
		}
});

test('every route in src/api/routes.c is in the document, and every operation of the document is a route', () => {
	const routes = routeOperations();
	const spec = specOperations();
	assert.ok(routes.size > 40, `parsed only ${routes.size} routes from routes.c`);
	const missing = [...routes].filter((r) => !spec.has(r));
	const extra = [...spec].filter((s) => !routes.has(s));
	assert.deepEqual(missing, [], 'routes without a description in docs/openapi.yaml');
	assert.deepEqual(extra, [], 'operations in docs/openapi.yaml that src/api/routes.c does not serve');
});

// Which paths each contract covers: every operation there must be named in it,
// and every endpoint it names must be in the document.
const CONTRACTS = {
	'docs/accounts-contract.md': [/^\/api\/signup\//, /^\/api\/password\//],
	'docs/admin-contract.md': [/^\/api\/sessions\//, /^\/api\/tokens\//, /^\/api\/admin\//],
	'docs/social-contract.md': [/^\/api\/social\//],
	'docs/mfa-contract.md': [/^\/api\/mfa\//, /^\/api\/passkey\//, /^\/api\/auth\/reauthenticate\//],
};

/** "METHOD /path" named in a Markdown contract (tables, headings, text; a query string dropped). */
function contractOperations(file) {
	const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
	const out = new Set();
	for (const m of text.matchAll(/\b(GET|POST|PUT|PATCH|DELETE)\s+`?(\/api\/[^`\s?)]*)/g))
		out.add(`${m[1]} ${templated(m[2])}`);
	return out;
}

describe('the Markdown contracts are in step with docs/openapi.yaml', () => {
	for (const [file, areas] of Object.entries(CONTRACTS)) {
		test(`${file}: every endpoint it names is described, and it names every described endpoint of its area`, () => {
			const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
			const top = text.split('\n').slice(0, 12).join('\n');
			assert.match(top, /docs\/openapi\.yaml/, `${file} should say near its top that docs/openapi.yaml is normative`);
			const named = contractOperations(file);
			const spec = specOperations();
			assert.ok(named.size > 0, `no "METHOD /api/..." found in ${file}`);
			const unknown = [...named].filter((n) => !spec.has(n));
			assert.deepEqual(unknown, [], `${file} names endpoints docs/openapi.yaml does not describe`);
			const area = [...spec].filter((s) => areas.some((re) => re.test(s.split(' ')[1])));
			const unnamed = area.filter((s) => !named.has(s));
			assert.deepEqual(unnamed, [], `${file} does not name these endpoints of its area`);
		});
	}
});

describe('GET /api/schema/', () => {
	let server;
	before(async () => {
		server = await startServer();
	});
	after(async () => {
		await server?.stop();
	});

	test('serves docs/openapi.yaml byte for byte, as YAML, with a strong ETag of its SHA-256', async () => {
		const r = await server.fetch('/api/schema/');
		assert.equal(r.status, 200);
		assert.equal(r.headers.get('content-type'), 'application/yaml; charset=utf-8');
		const body = Buffer.from(await r.arrayBuffer());
		assert.ok(body.equals(fs.readFileSync(SPEC_FILE)), 'the served text differs from docs/openapi.yaml');
		assert.equal(r.headers.get('etag'), `"${createHash('sha256').update(body).digest('hex')}"`);
		assert.equal(r.headers.get('cache-control'), 'no-cache');
		assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
		// without the slash too, like every API path
		const r2 = await server.fetch('/api/schema');
		assert.equal(r2.status, 200);
		assert.ok(Buffer.from(await r2.arrayBuffer()).equals(body));
	});

	test('If-None-Match with its ETag answers 304 without a body; another ETag gets the document', async () => {
		const etag = (await server.fetch('/api/schema/', { method: 'HEAD' })).headers.get('etag');
		const r = await server.fetch('/api/schema/', { headers: { 'If-None-Match': etag } });
		assert.equal(r.status, 304);
		assert.equal(r.headers.get('etag'), etag);
		assert.equal((await r.arrayBuffer()).byteLength, 0);
		for (const inm of [`"x", ${etag}`, `W/${etag}`, '*']) {
			const r3 = await server.fetch('/api/schema/', { headers: { 'If-None-Match': inm } });
			assert.equal(r3.status, 304, inm);
			await r3.arrayBuffer();
		}
		const r2 = await server.fetch('/api/schema/', { headers: { 'If-None-Match': '"0000"' } });
		assert.equal(r2.status, 200);
		assert.equal((await r2.text()).length > 1000, true);
	});

	test('HEAD has the headers and no body; other methods are 405 with Allow; no auth is looked at', async () => {
		const h = await rawHttp(server.port, 'HEAD /api/schema/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
			headCount: 1,
		});
		assert.equal(h.response.status, 200);
		assert.equal(h.response.headers['content-type'], 'application/yaml; charset=utf-8');
		assert.equal(Number(h.response.headers['content-length']), fs.statSync(SPEC_FILE).size);
		assert.equal(h.response.body.length, 0);
		for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
			const r = await server.fetch('/api/schema/', { method });
			assert.equal(r.status, 405, method);
			assert.equal(r.headers.get('allow'), 'GET, HEAD, OPTIONS');
			await r.arrayBuffer();
		}
		// a bad token or a garbage session cookie changes nothing: the route skips auth
		const r = await server.fetch('/api/schema/', {
			headers: { Authorization: 'Token nope', Cookie: 'sessionid=nope' },
		});
		assert.equal(r.status, 200);
		await r.arrayBuffer();
	});

	test('the served document parses as the same OpenAPI document', async () => {
		const text = await (await server.fetch('/api/schema/')).text();
		assert.deepEqual(YAML.parse(text), SPEC);
	});
});

describe('the response checker refuses what the document does not describe', () => {
	const json = (status, body, headers = {}) => {
		const h = { 'content-type': 'application/json; charset=utf-8', ...headers };
		return { status, headers: (n) => h[n.toLowerCase()] ?? null, text: JSON.stringify(body) };
	};
	const url = (p) => `http://127.0.0.1:1${p}`;

	test('a described answer passes', () => {
		assert.deepEqual(check('POST', url('/api/login/'), json(200, { detail: 'Success' })), []);
		assert.deepEqual(check('POST', url('/api/login'), json(400, { email: ['This field is required.'] })), []);
		assert.deepEqual(
			check('GET', url('/api/admin/users/12/sessions/'), json(200, [])),
			[],
			'a templated path with an id',
		);
		assert.deepEqual(check('GET', url('/assets/app.js'), json(200, {})), [], 'static files are not the API');
	});

	test('an undescribed status, an extra field, a wrong type, a missing required header, a wrong Content-Type fail', () => {
		assert.match(check('POST', url('/api/login/'), json(418, { detail: 'x' }))[0], /418 is not described/);
		assert.match(check('POST', url('/api/login/'), json(200, { detail: 'Success', extra: 1 }))[0], /does not match/);
		// the seed's fixed texts are part of the contract: a changed one fails
		assert.match(check('POST', url('/api/logout/'), json(200, { detail: 'Logged out' }))[0], /Logout Successful/);
		assert.match(check('GET', url('/api/users/profile/'), json(200, { id: '1' }))[0], /does not match/);
		assert.match(check('POST', url('/api/login/'), json(429, { detail: 'slow down' }))[0], /Retry-After is missing/);
		assert.match(
			check('POST', url('/api/login/'), json(429, { detail: 'slow down' }, { 'retry-after': 'soon' }))[0],
			/header Retry-After/,
		);
		assert.match(
			check('GET', url('/api/users/profile/'), json(401, { detail: 'no' }))[0],
			/WWW-Authenticate is missing/,
		);
		const html = { status: 200, headers: (n) => (n === 'content-type' ? 'text/html' : null), text: '<p>' };
		assert.match(check('GET', url('/api/login-set-cookie/'), html)[0], /Content-Type/);
		const empty = { status: 204, headers: () => null, text: '' };
		assert.deepEqual(check('DELETE', url('/api/tokens/3/'), empty), []);
		assert.match(check('DELETE', url('/api/tokens/3/'), json(204, {}))[0], /no content/);
	});

	test('unknown paths, methods a path lacks and OPTIONS follow x-gatehouse-unmatched', () => {
		assert.deepEqual(check('GET', url('/api/nope/'), json(404, { detail: 'Not found.' })), []);
		assert.ok(check('GET', url('/api/nope/'), json(200, { detail: 'Not found.' })).length > 0);
		assert.deepEqual(
			check('PUT', url('/api/login/'), json(405, { detail: 'Method "PUT" not allowed.' }, { allow: 'POST, OPTIONS' })),
			[],
		);
		assert.match(check('PUT', url('/api/login/'), json(405, { detail: 'x' }))[0], /Allow is missing/);
		assert.deepEqual(check('OPTIONS', url('/api/login/'), json(200, {}, { allow: 'POST, OPTIONS' })), []);
		// forward auth answers OPTIONS 405 (x-exact-methods)
		assert.equal(describeAnswer('OPTIONS', '/api/auth/verify/', 405).status, 405);
		// fixed paths win over templates, as in the router
		assert.equal(describeAnswer('GET', '/api/social/providers/', 200).what, 'GET /api/social/providers/');
		assert.equal(describeAnswer('POST', '/api/social/providers/', 404).what, 'POST /api/social/{provider}/');
	});
});
