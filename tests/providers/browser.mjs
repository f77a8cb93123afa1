// A tiny browser for the providers' side of a login, for node tests: follows
// redirects, keeps cookies (per host:port and path, like a browser), and
// submits the login form every stand-in provider shows (common.mjs
// loginPage: field "login", buttons decision=allow|deny).  It stops at the
// relying party's callback and hands back that URL, so the test can post
// code and state to the relying party itself, as its SPA would.

/** Parse one Set-Cookie line into {name, value, path}. */
function parseCookie(line, reqPath) {
	const [nv, ...attrs] = line.split(';').map((s) => s.trim());
	const eq = nv.indexOf('=');
	const c = { name: nv.slice(0, eq), value: nv.slice(eq + 1), path: null, expired: false };
	for (const a of attrs) {
		const i = a.indexOf('=');
		const k = (i < 0 ? a : a.slice(0, i)).toLowerCase();
		const v = i < 0 ? '' : a.slice(i + 1);
		if (k === 'path') c.path = v;
		if (k === 'max-age' && Number(v) <= 0) c.expired = true;
		if (k === 'expires' && Date.parse(v) < Date.now()) c.expired = true;
	}
	if (!c.path || !c.path.startsWith('/')) {
		// RFC 6265 §5.1.4 default-path
		const i = reqPath.lastIndexOf('/');
		c.path = i <= 0 ? '/' : reqPath.slice(0, i);
	}
	return c;
}

const pathMatches = (reqPath, cookiePath) =>
	reqPath === cookiePath ||
	(reqPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || reqPath[cookiePath.length] === '/'));

function decodeEntities(s) {
	return s
		.replace(/&quot;/g, '"')
		.replace(/&#39;/g, "'")
		.replace(/&lt;/g, '<')
		.replace(/&gt;/g, '>')
		.replace(/&amp;/g, '&');
}

function attr(tag, name) {
	const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
	return m ? decodeEntities(m[1] ?? m[2] ?? m[3]) : undefined;
}

/** The first <form> of a page: {action, method, fields: {name: value}} (hidden and text inputs). */
export function parseForm(html) {
	const fm = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(html);
	if (!fm) return null;
	const tag = /<form\b[^>]*>/i.exec(fm[0])[0];
	const fields = {};
	for (const m of fm[1].matchAll(/<input\b[^>]*>/gi)) {
		const name = attr(m[0], 'name');
		const type = (attr(m[0], 'type') || 'text').toLowerCase();
		if (!name || type === 'submit' || type === 'button') continue;
		fields[name] = attr(m[0], 'value') ?? '';
	}
	return { action: attr(tag, 'action') || '', method: (attr(tag, 'method') || 'get').toUpperCase(), fields };
}

export class ProviderBrowser {
	constructor({ timeout = 10000 } = {}) {
		this.cookies = new Map(); // "host|path|name" -> {host, path, name, value}
		this.timeout = timeout;
		this.history = [];
	}

	cookieHeader(u) {
		const out = [];
		for (const c of this.cookies.values())
			if (c.host === u.host && pathMatches(u.pathname, c.path)) out.push(`${c.name}=${c.value}`);
		return out.join('; ');
	}

	store(u, res) {
		for (const line of res.headers.getSetCookie()) {
			const c = parseCookie(line, u.pathname);
			const key = `${u.host}|${c.path}|${c.name}`;
			if (c.expired) this.cookies.delete(key);
			else this.cookies.set(key, { host: u.host, path: c.path, name: c.name, value: c.value });
		}
	}

	/** One request (no redirect following): {status, location, text, url}. */
	async request(method, url, { form, headers = {} } = {}) {
		const u = new URL(url);
		const h = { 'User-Agent': 'gatehouse-tests-browser', Accept: 'text/html,*/*', ...headers };
		const ck = this.cookieHeader(u);
		if (ck) h.Cookie = ck;
		let body;
		if (form) {
			h['Content-Type'] = 'application/x-www-form-urlencoded';
			body = new URLSearchParams(form).toString();
		}
		const res = await fetch(u, {
			method,
			headers: h,
			body,
			redirect: 'manual',
			signal: AbortSignal.timeout(this.timeout),
		});
		this.store(u, res);
		const text = await res.text();
		const loc = res.headers.get('location');
		const r = { status: res.status, location: loc ? new URL(loc, u).toString() : null, text, url: u.toString() };
		this.history.push({ method, url: r.url, status: r.status, location: r.location });
		return r;
	}

	/**
	 * Start at `url` (the provider's authorization URL the relying party made)
	 * and go on until a redirect to a URL that starts with `callback` (the
	 * relying party's redirect_uri, usually without query).  On a login page,
	 * fill `login` and press Authorize (or Cancel with deny: true).
	 * Returns the final callback URL object (code, state, error in its query).
	 * Throws with the page text if the provider stops elsewhere.
	 */
	async authorize(url, { login, deny = false, callback, maxHops = 20 } = {}) {
		let next = { method: 'GET', url, form: undefined };
		for (let hop = 0; hop < maxHops; hop++) {
			if (callback && next.url.startsWith(callback)) return new URL(next.url);
			const r = await this.request(next.method, next.url, { form: next.form });
			if (r.status >= 300 && r.status < 400 && r.location) {
				next = { method: 'GET', url: r.location, form: undefined };
				continue;
			}
			if (r.status === 200) {
				const f = parseForm(r.text);
				if (f && 'login' in f.fields) {
					if (login === undefined && !deny) throw new Error(`login page at ${r.url} but no login given`);
					const form = { ...f.fields, login: login ?? '', decision: deny ? 'deny' : 'allow' };
					const action = new URL(f.action || r.url, r.url);
					if (f.method === 'GET') {
						for (const [k, v] of Object.entries(form)) action.searchParams.set(k, v);
						next = { method: 'GET', url: action.toString(), form: undefined };
					} else {
						next = { method: f.method, url: action.toString(), form };
					}
					continue;
				}
			}
			throw new Error(`provider stopped at ${r.url} with ${r.status}, not at ${callback}:\n${r.text.slice(0, 2000)}`);
		}
		throw new Error(`more than ${maxHops} redirects from ${url}`);
	}
}
