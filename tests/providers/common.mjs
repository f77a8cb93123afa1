// Shared pieces of the stand-in providers: an HTTP server on 127.0.0.1 that
// logs every request and can be told to fail, the login page every provider
// shows (one text field "login" + Authorize / Cancel buttons, so a browser test
// types an account id and a node test posts the same form), and registered
// clients whose redirect URIs can be added once the relying party's origin is
// known.

import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';

export const randomToken = (bytes = 24) => randomBytes(bytes).toString('base64url');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** RFC 7636: BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256(verifier) {
	return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** RFC 7636 §4.1: 43–128 characters of [A-Za-z0-9-._~]. */
export const VERIFIER_RE = /^[A-Za-z0-9\-._~]{43,128}$/;

export function htmlEscape(s) {
	return String(s)
		.replace(/&/g, '&amp;')
		.replace(/</g, '&lt;')
		.replace(/>/g, '&gt;')
		.replace(/"/g, '&quot;')
		.replace(/'/g, '&#39;');
}

export async function readBody(req, limit = 1 << 20) {
	const chunks = [];
	let n = 0;
	for await (const c of req) {
		n += c.length;
		if (n > limit) throw new Error('body too large');
		chunks.push(c);
	}
	return Buffer.concat(chunks).toString('utf8');
}

/** A request body as a flat object: urlencoded or JSON (by Content-Type), else {}. */
export function parseParams(contentType, text) {
	const ct = (contentType || '').split(';')[0].trim().toLowerCase();
	if (ct === 'application/json') {
		try {
			const v = JSON.parse(text);
			return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
		} catch {
			return {};
		}
	}
	if (ct === 'application/x-www-form-urlencoded' || (ct === '' && text.includes('='))) {
		return Object.fromEntries(new URLSearchParams(text));
	}
	return {};
}

/** HTTP Basic credentials (RFC 6749 §2.3.1: each part form-urlencoded), or null. */
export function basicAuth(req) {
	const h = req.headers.authorization || '';
	const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
	if (!m) return null;
	const raw = Buffer.from(m[1], 'base64').toString('utf8');
	const i = raw.indexOf(':');
	if (i < 0) return null;
	const dec = (s) => {
		try {
			return decodeURIComponent(s.replace(/\+/g, ' '));
		} catch {
			return s;
		}
	};
	return { id: dec(raw.slice(0, i)), secret: dec(raw.slice(i + 1)) };
}

/** The token of `Authorization: Bearer x` or `Authorization: token x` (GitHub's older form). */
export function bearer(req) {
	const m = /^(?:Bearer|token)\s+(\S+)\s*$/i.exec(req.headers.authorization || '');
	return m ? m[1] : null;
}

export function send(res, status, body, headers = {}) {
	if (res.headersSent || res.writableEnded) return;
	let text = body;
	let type = headers['Content-Type'];
	if (typeof body !== 'string' && !Buffer.isBuffer(body)) {
		text = JSON.stringify(body);
		type = type || 'application/json; charset=utf-8';
	}
	res.writeHead(status, {
		'Content-Type': type || 'text/plain; charset=utf-8',
		'Cache-Control': 'no-store',
		...headers,
		'Content-Length': Buffer.byteLength(text),
	});
	res.end(text);
}

export function redirect(res, location, status = 302) {
	if (res.headersSent || res.writableEnded) return;
	res.writeHead(status, { Location: location, 'Content-Length': '0', 'Cache-Control': 'no-store' });
	res.end();
}

/** `base` with `params` added to its query (values undefined/null left out). */
export function withQuery(base, params) {
	const u = new URL(base);
	for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) u.searchParams.set(k, v);
	return u.toString();
}

/**
 * Registered OAuth clients: id → {client_id, client_secret, redirect_uris: Set}.
 * The relying party's origin is often known only after it has started (the
 * test harness picks its port), so redirect URIs can be added later.
 */
export class ClientRegistry {
	constructor(clients = []) {
		this.map = new Map();
		for (const c of clients) this.add(c);
	}

	add({ client_id, client_secret, redirect_uris = [] }) {
		if (!client_id) throw new Error('client_id required');
		const c = { client_id, client_secret: client_secret ?? '', redirect_uris: new Set(redirect_uris) };
		this.map.set(client_id, c);
		return c;
	}

	get(id) {
		return this.map.get(id);
	}

	/** Allow `uri` for one client, or for every client when clientId is omitted. */
	addRedirectUri(uri, clientId) {
		for (const c of this.map.values()) if (clientId === undefined || c.client_id === clientId) c.redirect_uris.add(uri);
	}

	first() {
		return this.map.values().next().value;
	}
}

/**
 * Start an HTTP server on 127.0.0.1 (port 0: any free port) around
 * `handler(req, res, url, rec)`.  Every request is logged in `requests` as
 * {method, path, query, headers, body} (body filled once the handler read it;
 * `rec.body = text` is the handler's job).  `faults[name]` makes the handler
 * named `name` fail (see fault()).  Returns {server, port, url, requests,
 * faults, stop()}.
 */
export async function startHttp(handler, { port = 0, name = 'provider' } = {}) {
	const requests = [];
	const faults = {};
	const sockets = new Set();
	const server = http.createServer(async (req, res) => {
		const url = new URL(req.url, `http://${req.headers.host || '127.0.0.1'}`);
		const rec = {
			method: req.method,
			path: url.pathname,
			query: Object.fromEntries(url.searchParams),
			headers: { ...req.headers },
			body: undefined,
			at: Date.now(),
		};
		requests.push(rec);
		try {
			await handler(req, res, url, rec);
		} catch (e) {
			if (!res.headersSent) send(res, 500, { error: 'server_error', error_description: `${name}: ${e.message}` });
			else res.destroy();
		}
	});
	server.on('connection', (s) => {
		sockets.add(s);
		s.on('close', () => sockets.delete(s));
	});
	server.keepAliveTimeout = 2000;
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, '127.0.0.1', resolve);
	});
	const actual = server.address().port;
	return {
		server,
		port: actual,
		url: `http://127.0.0.1:${actual}`,
		requests,
		faults,
		/** Requests whose path is (or, for a RegExp, matches) `p`. */
		requestsTo(p) {
			return requests.filter((r) => (p instanceof RegExp ? p.test(r.path) : r.path === p));
		},
		async stop() {
			for (const s of sockets) s.destroy();
			await new Promise((r) => server.close(() => r()));
		},
	};
}

/**
 * Apply a fault if one is set for `name`.  Returns true when the response has
 * been dealt with (the caller must stop).  A fault is:
 *   500 (or any number ≥ 400)  that status with a JSON error body
 *   'hang'                     never answer (the socket stays open until stop())
 *   'close'                    drop the connection without an answer
 *   'garbage'                  200 with a body that is not JSON
 *   { status, body, headers }  exactly that response
 *   a function (req, res)      anything; return true if it answered
 * `faults[name]` may also be {fault, times}: applied `times` times, then cleared.
 * Provider-specific errors in the provider's own shape (e.g. 'error') are
 * handled by the provider before calling this.
 */
export function fault(faults, name, req, res) {
	let f = faults[name];
	if (f === undefined || f === null) return false;
	if (typeof f === 'object' && 'fault' in f) {
		if (f.times !== undefined) {
			f.times -= 1;
			if (f.times <= 0) delete faults[name];
		}
		f = f.fault;
	}
	if (typeof f === 'number') {
		send(res, f, { error: 'server_error', message: `injected ${f}` });
		return true;
	}
	if (f === 'hang') {
		req.socket.setTimeout(0);
		return true;
	}
	if (f === 'close') {
		req.socket.destroy();
		return true;
	}
	if (f === 'garbage') {
		send(res, 200, '<html>not json</html>', { 'Content-Type': 'text/html' });
		return true;
	}
	if (typeof f === 'function') return f(req, res) !== false;
	if (typeof f === 'object') {
		send(res, f.status ?? 200, f.body ?? '', f.headers || {});
		return true;
	}
	return false;
}

/** The peek of a fault (without consuming it): its mode, or undefined. */
export function faultMode(faults, name) {
	const f = faults[name];
	if (f && typeof f === 'object' && 'fault' in f) return f.fault;
	return f ?? undefined;
}

/**
 * The login page of a stand-in provider.  Browser tests type an account id into
 * the field labelled "Account" (name="login") and press "Authorize" (or
 * "Cancel"); node tests post the same form (see browser.mjs).
 *   action       where the form posts
 *   hidden       {name: value} carried through the form
 *   accounts     ids to list as a hint
 *   title, app   what the page says
 */
export function loginPage({ title, app, action, hidden = {}, accounts = [], error = '' }) {
	const inputs = Object.entries(hidden)
		.filter(([, v]) => v !== undefined && v !== null)
		.map(([k, v]) => `<input type="hidden" name="${htmlEscape(k)}" value="${htmlEscape(v)}">`)
		.join('\n      ');
	const list = accounts.length
		? `<p>Test accounts: ${accounts.map((a) => `<code>${htmlEscape(a)}</code>`).join(', ')}</p>`
		: '';
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${htmlEscape(title)}</title>
<style>body{font-family:sans-serif;max-width:28em;margin:3em auto}label,input,button{display:block;margin:.5em 0}</style>
</head><body>
  <h1>${htmlEscape(title)}</h1>
  <p><strong>${htmlEscape(app)}</strong> wants to sign you in.</p>
  ${error ? `<p role="alert" class="error">${htmlEscape(error)}</p>` : ''}
  <form id="login-form" method="post" action="${htmlEscape(action)}">
      ${inputs}
      <label for="login">Account</label>
      <input id="login" name="login" type="text" autocomplete="username" autofocus required>
      <button type="submit" name="decision" value="allow">Authorize</button>
      <button type="submit" name="decision" value="deny" formnovalidate>Cancel</button>
  </form>
  ${list}
</body></html>
`;
}

export function errorPage(res, status, title, message) {
	send(
		res,
		status,
		`<!doctype html><html><head><meta charset="utf-8"><title>${htmlEscape(title)}</title></head>` +
			`<body><h1>${htmlEscape(title)}</h1><p class="error">${htmlEscape(message)}</p></body></html>\n`,
		{ 'Content-Type': 'text/html; charset=utf-8' },
	);
}

/** Short-lived single-use authorization codes. */
export class CodeStore {
	constructor(ttlMs = 10 * 60 * 1000) {
		this.ttlMs = ttlMs;
		this.map = new Map();
	}

	issue(data) {
		const code = randomToken(20);
		this.map.set(code, { ...data, expires: Date.now() + this.ttlMs });
		return code;
	}

	/** The code's data and forget it (a code works once); undefined if unknown or expired. */
	take(code) {
		if (typeof code !== 'string') return undefined;
		const d = this.map.get(code);
		if (!d) return undefined;
		this.map.delete(code);
		return d.expires >= Date.now() ? d : undefined;
	}
}
