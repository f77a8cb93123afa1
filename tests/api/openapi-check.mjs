// Every gatehouse answer the API tests receive, checked against docs/openapi.yaml.
//
// The harness (harness.mjs) registers the port of each server it starts and wraps
// globalThis.fetch and rawHttp(): an answer from one of those ports is matched to
// its operation (path template and method, as src/http/router.c matches them) and
// checked: the status must be listed for that operation, the Content-Type must be
// one the status lists (none when it lists no content), a JSON body must satisfy
// the listed schema, and every header the spec marks required must be present
// and match its schema.  The schema validation itself is ajv's (JSON Schema
// 2020-12, OpenAPI 3.1's dialect, with ajv-formats); this file only finds which
// schema applies.  What a path template cannot say (an unknown /api/ path, a
// method a path does not have, OPTIONS) is in the document's
// x-gatehouse-unmatched, and is checked the same way.
//
// A mismatch throws from the request (the test that got it fails at once) and is
// also recorded: a test that swallowed the error still fails its file, because
// the process then exits non-zero with the list (node --test reports the file).
//
// Not checked: paths outside /api/, /healthz and /metrics (the SPA's static files,
// not part of the API description), and answers from other servers (SMTP, the
// stand-in providers, nginx's own pages).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SPEC_FILE = path.resolve(HERE, '../../docs/openapi.yaml');
const SPEC_ID = 'gatehouse-openapi';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Ports of the gatehouse servers this process started (harness.mjs adds them). */
const ports = new Set();
export function registerPort(port) {
	ports.add(Number(port));
}
export function isGatehouseUrl(u) {
	return (
		(u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]') &&
		ports.has(Number(u.port)) &&
		(u.protocol === 'http:' || u.protocol === 'https:')
	);
}

/** Mismatches seen by this process (the exit hook reports any). */
export const failures = [];
let checked = 0;

let state = null;

function escapeRegex(s) {
	return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A JSON pointer token. */
const ptr = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

function load() {
	if (state) return state;
	const spec = YAML.parse(fs.readFileSync(SPEC_FILE, 'utf8'));
	const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
	addFormats(ajv);
	ajv.addSchema(spec, SPEC_ID);
	const routes = [];
	for (const [p, item] of Object.entries(spec.paths)) {
		// "{provider}" is a slug as the router reads "<name>", any other parameter an id
		let re = '';
		let templated = 0;
		for (const part of p.split(/(\{[^}]+\})/)) {
			if (part.startsWith('{')) {
				templated++;
				re += part === '{provider}' ? '([a-z0-9-]{1,40})' : '([0-9]{1,18})';
			} else re += escapeRegex(part);
		}
		// the trailing slash may be left out (docs/design.md §2)
		if (p.endsWith('/')) re += '?';
		routes.push({ path: p, item, templated, re: new RegExp(`^${re}$`) });
	}
	state = { spec, ajv, routes, validators: new Map() };
	return state;
}

/** The object a local "$ref" names, followed until it is not a $ref; with its pointer. */
function deref(spec, obj, where) {
	let seen = 0;
	while (obj && typeof obj.$ref === 'string') {
		if (!obj.$ref.startsWith('#/') || ++seen > 10) throw new Error(`unsupported $ref ${obj.$ref}`);
		where = obj.$ref.slice(1);
		obj = obj.$ref
			.slice(2)
			.split('/')
			.reduce((o, t) => (o === undefined ? undefined : o[t.replace(/~1/g, '/').replace(/~0/g, '~')]), spec);
	}
	return { obj, where };
}

/** A compiled validator for the schema at this JSON pointer of the document (cached). */
function validatorAt(pointer) {
	const s = load();
	let v = s.validators.get(pointer);
	if (!v) {
		v = s.ajv.compile({ $ref: `${SPEC_ID}#${pointer}` });
		s.validators.set(pointer, v);
	}
	return v;
}

/**
 * The response object that describes (method, pathname, status), with its pointer,
 * or a reason why none does.
 */
export function describe(method, pathname, status) {
	const s = load();
	method = method.toLowerCase();
	const opMethod = method === 'head' ? 'get' : method; // HEAD is GET without a body
	const matches = s.routes.filter((r) => r.re.test(pathname));
	const unmatched = s.spec['x-gatehouse-unmatched'];
	let base;
	let responses;
	let what;
	// as the router: the first route with this method wins; fixed paths come before templates
	const withMethod = matches.filter((r) => r.item[opMethod]).sort((a, b) => a.templated - b.templated);
	if (withMethod.length) {
		const r = withMethod[0];
		base = `/paths/${ptr(r.path)}/${opMethod}/responses`;
		responses = r.item[opMethod].responses;
		what = `${opMethod.toUpperCase()} ${r.path}`;
	} else if (matches.length) {
		const exact = matches.some((r) => r.item['x-exact-methods']);
		const key = method === 'options' && !exact ? 'options' : 'method-not-allowed';
		return {
			...deref(s.spec, unmatched[key], `/x-gatehouse-unmatched/${key}`),
			status: key === 'options' ? 200 : 405,
			what: `${method.toUpperCase()} ${pathname} (${key})`,
		};
	} else {
		return {
			...deref(s.spec, unmatched['unknown-path'], '/x-gatehouse-unmatched/unknown-path'),
			status: 404,
			what: `unknown path ${pathname}`,
		};
	}
	const entry = responses[String(status)];
	if (!entry)
		return { error: `${what}: status ${status} is not described (described: ${Object.keys(responses).join(', ')})` };
	return { ...deref(s.spec, entry, `${base}/${status}`), status, what };
}

function mediaType(ct) {
	return (ct || '').split(';')[0].trim().toLowerCase();
}

/**
 * Check one answer.  res: {status, headers: (name) => value|null, text (the body as
 * text; '' for HEAD)}.  Returns a list of problems ([] when it matches).
 */
export function check(method, url, res) {
	const u = new URL(url);
	const pathname = u.pathname;
	// the API is /api/..., /healthz and /metrics (docs/design.md §2); the rest is the SPA
	if (!(pathname === '/api' || pathname.startsWith('/api/') || pathname === '/healthz' || pathname === '/metrics'))
		return [];
	checked++;
	const d = describe(method, pathname, res.status);
	if (d.error) return [d.error];
	const problems = [];
	if (d.status !== res.status) problems.push(`${d.what}: answered ${res.status}, the document says ${d.status}`);
	const resp = d.obj;
	const ct = res.headers('content-type');
	const content = resp.content || {};
	const types = Object.keys(content);
	const isHead = method.toUpperCase() === 'HEAD';
	if (types.length === 0) {
		if (ct) problems.push(`${d.what} ${res.status}: a Content-Type (${ct}) where the document lists no content`);
		if (!isHead && res.text !== '')
			problems.push(`${d.what} ${res.status}: a body where the document lists no content`);
	} else if (!types.includes(mediaType(ct))) {
		problems.push(
			`${d.what} ${res.status}: Content-Type ${JSON.stringify(ct)}, the document lists ${types.join(', ')}`,
		);
	} else if (!isHead && mediaType(ct) === 'application/json') {
		let body;
		try {
			body = JSON.parse(res.text);
		} catch {
			problems.push(`${d.what} ${res.status}: the body is not JSON: ${JSON.stringify(res.text.slice(0, 200))}`);
		}
		if (body !== undefined) {
			// the schema where it stands (a "$ref" beside other keywords applies them all: ajv's work)
			const where = `${d.where}/content/application~1json/schema`;
			const v = validatorAt(where);
			if (!v(body))
				problems.push(
					`${d.what} ${res.status}: the body does not match ${where}: ` +
						v.errors.map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`).join('; ') +
						` — body ${JSON.stringify(body).slice(0, 400)}`,
				);
		}
	}
	for (const [name, h0] of Object.entries(resp.headers || {})) {
		if (name.toLowerCase() === 'set-cookie' || name.toLowerCase() === 'content-type') continue;
		const { obj: h, where } = deref(state.spec, h0, `${d.where}/headers/${ptr(name)}`);
		const value = res.headers(name);
		if (value === null || value === undefined) {
			if (h.required) problems.push(`${d.what} ${res.status}: the required header ${name} is missing`);
			continue;
		}
		if (h.schema) {
			const v = validatorAt(`${where}/schema`);
			if (!v(value))
				problems.push(
					`${d.what} ${res.status}: header ${name}: ${JSON.stringify(value)} ${v.errors.map((e) => e.message).join('; ')}`,
				);
		}
	}
	return problems;
}

/** Check, record, and throw on a mismatch. */
export function enforce(method, url, res) {
	const problems = check(method, url, res);
	if (problems.length === 0) return;
	const msg = `response not described by docs/openapi.yaml: ${method} ${url}\n  ${problems.join('\n  ')}`;
	failures.push(msg);
	throw new Error(msg);
}

/** Wrap globalThis.fetch (once): answers of registered servers are checked. */
export function installFetchCheck() {
	if (globalThis.fetch.__openapiChecked) return;
	load(); // a broken document fails at import, not inside a caller's try
	const realFetch = globalThis.fetch;
	const wrapped = async function fetch(input, init) {
		const res = await realFetch(input, init);
		let url;
		try {
			// the answer's own URL: after a followed redirect it is the last hop's, which
			// may be another server (a provider) or another path
			url = new URL(res.url || (typeof input === 'string' || input instanceof URL ? String(input) : input.url));
		} catch {
			return res;
		}
		if (!isGatehouseUrl(url)) return res;
		let method = (init?.method || (typeof input === 'object' && input.method) || 'GET').toUpperCase();
		// gatehouse's redirects (302) are followed with GET
		if (res.redirected && method !== 'HEAD') method = 'GET';
		const text = method === 'HEAD' ? '' : await res.clone().text();
		enforce(method, url.href, { status: res.status, headers: (n) => res.headers.get(n), text });
		return res;
	};
	wrapped.__openapiChecked = true;
	globalThis.fetch = wrapped;
	process.on('exit', () => {
		if (process.env.GATEHOUSE_OPENAPI_STATS)
			process.stderr.write(`openapi-check: ${checked} answers checked, ${failures.length} not described\n`);
		if (failures.length === 0) return;
		process.stderr.write(
			`\n${failures.length} response(s) not described by docs/openapi.yaml (of ${checked} checked):\n` +
				failures.map((f) => `- ${f}`).join('\n') +
				'\n',
		);
		process.exitCode = 1;
	});
}

/**
 * Check an answer that came through a proxy in front of gatehouse (nginx): checked
 * when gatehouse made it, told by the X-Content-Type-Options header it puts on every
 * answer (the proxy's own pages, a 502 or its 413, lack it).  headers: a plain
 * object with lower-case names (node:http's res.headers).
 */
export function enforceProxied(method, url, { status, headers, text }) {
	if (headers['x-content-type-options'] !== 'nosniff') return;
	const get = (n) => {
		const v = headers[n.toLowerCase()];
		return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
	};
	enforce(method, url, { status, headers: get, text: method === 'HEAD' ? '' : text });
}

/**
 * The one request a raw-socket test sent, when it is a well-formed single
 * HTTP/1.1 request line with an origin-form target: {method, path}; else null.
 */
export function rawRequest(chunks) {
	const text = chunks
		.filter((c) => typeof c !== 'number')
		.map((c) => (Buffer.isBuffer(c) ? c.toString('latin1') : String(c)))
		.join('');
	const m = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\/[\x21-\x7e]*) HTTP\/1\.1\r\n/.exec(text);
	if (!m) return null;
	// more than one request on the connection: the answers cannot be told apart here
	const rest = text.slice(m[0].length);
	if (/\r\n\r\n(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /.test(rest)) return null;
	return { method: m[1], path: m[2] };
}
