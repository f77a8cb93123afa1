// Helpers for the social login tests (docs/social-contract.md, docs/design.md §2–§3):
// the stand-in providers of tests/providers (real servers on 127.0.0.1), a
// gatehouse configured for all of them, and the flow a browser goes through:
// GET /api/social/<p>/authorize/ (keeps gh_social), the provider's pages
// (ProviderBrowser), and the SPA's POST /api/social/<p>/ {code, state}.
// Black-box like harness.mjs: the HTTP contract, the providers' logs, and
// sqlite3 for facts the API cannot show.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, csrfClient, cookiesNamed, q, SLOW, WRAPPER } from './harness.mjs';
import { startOidcProvider, startGithub, startFacebook, startFakeOidc, ProviderBrowser } from '../providers/index.mjs';

export const PROVIDERS = ['github', 'facebook', 'google-oauth2', 'corp', 'fake'];
export const CORP_LABEL = 'Corp SSO';
export const FAKE_LABEL = 'Fake IdP';
/** The contract's default pipeline with associate_by_email after social_user. */
export const PIPELINE_ASSOCIATE =
	'social_details,social_uid,auth_allowed,social_user,associate_by_email,create_user,associate_user,load_extra_data,user_details';

const uniq = () => randomBytes(4).toString('hex');

/**
 * Start one of each stand-in provider: github, facebook, google (oidc-provider,
 * scope claims in the ID token as Google does), corp (oidc-provider, claims only
 * from userinfo as a strict OIDC server), fake (forgeable ID tokens).
 */
export async function startProviders() {
	const [github, facebook, google, corp, fake] = await Promise.all([
		startGithub({ clients: [{ client_id: 'gh-client-id', client_secret: 'gh-client-secret' }] }),
		startFacebook({ clients: [{ client_id: '1234567890', client_secret: 'fb-app-secret' }] }),
		startOidcProvider({
			clients: [{ client_id: 'google-client.apps.test', client_secret: 'google-secret' }],
			claimsInIdToken: true,
		}),
		startOidcProvider({
			clients: [{ client_id: 'corp-client', client_secret: 'corp-secret' }],
			claimsInIdToken: false,
		}),
		startFakeOidc({ clients: [{ client_id: 'fake-client', client_secret: 'fake-secret' }] }),
	]);
	const byName = { github, facebook, 'google-oauth2': google, corp, fake };
	return {
		github,
		facebook,
		google,
		corp,
		fake,
		byName,
		env() {
			return {
				...github.gatehouseEnv(),
				...facebook.gatehouseEnv(),
				...google.gatehouseEnv('google-oauth2'),
				GATEHOUSE_OIDC_PROVIDERS: 'corp,fake',
				...corp.gatehouseEnv('corp', CORP_LABEL),
				...fake.gatehouseEnv('fake', FAKE_LABEL),
			};
		},
		/** Register <origin>/auth/<name>/callback with every provider. */
		allowOrigin(origin) {
			for (const [name, p] of Object.entries(byName)) p.allowOrigin(origin, name);
		},
		async stop() {
			await Promise.all(Object.values(byName).map((p) => p.stop()));
		},
	};
}

/**
 * A gatehouse wired to `providers` (started here when not given).
 * opts.env: more GATEHOUSE_* settings.  opts.start: a function (env) → server
 * context with .server (e.g. accounts-harness startAccounts for mail); default startServer.
 * Returns ctx: {server, providers, origin, log (every gatehouse answer: {method, path, status}), stop()}.
 */
export async function startSocial({ providers, env = {}, start } = {}) {
	const own = !providers;
	providers = providers || (await startProviders());
	const e = {
		...providers.env(),
		GATEHOUSE_LOGIN_IP_LIMIT: '100000',
		GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '100000',
		GATEHOUSE_ACCOUNT_IP_LIMIT: '100000',
		GATEHOUSE_ACCOUNT_ADDRESS_LIMIT: '100000',
		...env,
	};
	let inner;
	try {
		inner = start ? await start(e) : { server: await startServer({ env: e }) };
	} catch (err) {
		if (own) await providers.stop();
		throw err;
	}
	const server = inner.server;
	providers.allowOrigin(server.origin);
	const ctx = {
		...inner,
		server,
		providers,
		origin: server.origin,
		log: [],
		async stop() {
			await stopAll(
				() => (inner.stop ? inner.stop() : server.stop()),
				() => (own ? providers.stop() : undefined),
			);
		},
	};
	return ctx;
}

/** Record every answer of client `c` in ctx.log (to check "never 5xx" at the end). */
export function watch(ctx, c) {
	const orig = c.request.bind(c);
	c.request = async (method, p, o) => {
		const r = await orig(method, p, o);
		ctx.log.push({ method, path: p, status: r.status });
		return r;
	};
	return c;
}

/** A browser for gatehouse holding a CSRF cookie, watched. */
export async function browser(ctx) {
	return watch(ctx, await csrfClient(ctx.server));
}

/** An anonymous gatehouse client with no cookies at all, watched. */
export function bare(ctx) {
	return watch(ctx, ctx.server.client());
}

/** The SPA route the providers send the browser back to. */
export const callbackOf = (ctx, name) => `${ctx.origin}/auth/${name}/callback`;

// --- fresh provider-side accounts -------------------------------------------

/** A GitHub user with a fresh login and address; emails default to one primary verified. */
export function githubUser(ctx, { email, verified = true, primary = true, name = 'Grace Hopper', emails } = {}) {
	const login = `gh-${uniq()}`;
	email = email ?? `${login}@gh-mail.test`;
	const u = ctx.providers.github.addUser({
		login,
		name,
		email: null,
		emails: emails ?? [{ email, primary, verified, visibility: 'private' }],
	});
	return { login, email, uid: String(u.id), user: u };
}

/** A Facebook user with a fresh login and address (email: null for none). */
export function facebookUser(ctx, { email, first_name = 'Frida', last_name = 'Book' } = {}) {
	const login = `fb-${uniq()}`;
	if (email === undefined) email = `${login}@fb-mail.test`;
	const u = ctx.providers.facebook.addUser({ login, name: `${first_name} ${last_name}`, first_name, last_name, email });
	return { login, email, uid: u.id, user: u };
}

/** An account at an oidc-provider ('google-oauth2' or 'corp') or at the fake issuer. */
export function oidcAccount(
	ctx,
	name,
	{ email, email_verified = true, given_name = 'Olivia', family_name = 'Idp' } = {},
) {
	const p = ctx.providers.byName[name];
	const login = `${name.replace(/[^a-z]/g, '')}-${uniq()}`;
	email = email ?? `${login}@${name.replace(/[^a-z]/g, '')}-mail.test`;
	p.addAccount(login, { email, email_verified, given_name, family_name });
	return { login, email, uid: login };
}

/** A fresh account at provider `name` with a verified (where it can say so) email. */
export function newAccount(ctx, name, o = {}) {
	if (name === 'github') return githubUser(ctx, o);
	if (name === 'facebook') return facebookUser(ctx, o);
	return oidcAccount(ctx, name, o);
}

// --- the flow ------------------------------------------------------------------

/**
 * GET /api/social/<name>/authorize/ (?next=…) with `client`.  Returns
 * {res, url (URL of the provider page or null), json}; with json: true sends
 * Accept: application/json.
 */
export async function authorize(client, name, { next, json = false, headers = {} } = {}) {
	const qs = next === undefined ? '' : `?next=${encodeURIComponent(next)}`;
	const h = { ...headers };
	if (json) h.Accept = 'application/json';
	const res = await client.get(`/api/social/${encodeURIComponent(name)}/authorize/${qs}`, { headers: h });
	let url = null;
	if (json && res.status === 200 && res.json && typeof res.json.url === 'string') url = new URL(res.json.url);
	else if (res.status >= 300 && res.status < 400 && res.headers.get('location'))
		url = new URL(res.headers.get('location'));
	return { res, url, json: res.json };
}

/**
 * POST /api/social/<name>/connect/ (CSRF from the jar) with {next} when given:
 * how a signed-in browser starts connecting a provider.  Returns {res, url, json}.
 */
export async function connect(client, name, { next, csrf } = {}) {
	const res = await client.post(`/api/social/${encodeURIComponent(name)}/connect/`, {
		json: next === undefined ? {} : { next },
		csrf,
	});
	const url = res.status === 200 && res.json && typeof res.json.url === 'string' ? new URL(res.json.url) : null;
	return { res, url, json: res.json };
}

/** Go through the provider's pages from `url` and return the callback URL (code/state/error in its query). */
export async function atProvider(ctx, name, url, { login, deny = false } = {}) {
	return new ProviderBrowser({ timeout: 10000 * SLOW }).authorize(url.toString(), {
		login,
		deny,
		callback: callbackOf(ctx, name),
	});
}

/** What the SPA posts from the callback's query: {code, state} or {error, state}. */
export function callbackBody(cb) {
	const sp = cb.searchParams;
	if (sp.has('error')) return { error: sp.get('error'), state: sp.get('state') ?? undefined };
	return { code: sp.get('code') ?? undefined, state: sp.get('state') ?? undefined };
}

/** POST /api/social/<name>/ with `body` (JSON). */
export function finish(client, name, body) {
	return client.post(`/api/social/${encodeURIComponent(name)}/`, { json: body });
}

/**
 * The whole login as a browser does it.  Returns {res (the POST's answer),
 * client, cb (callback URL), body (what was posted), auth (authorize result)}.
 * opts: client (default a fresh CSRF browser), next, deny, postAs (provider
 * name to post to; default `name`), body (override what is posted), connect
 * (start with POST .../connect/, as a signed-in browser connecting it does).
 */
export async function socialLogin(ctx, name, login, opts = {}) {
	const client = opts.client || (await browser(ctx));
	const auth = opts.connect
		? await connect(client, name, { next: opts.next })
		: await authorize(client, name, { next: opts.next });
	assert.ok(auth.url, `${opts.connect ? 'connect' : 'authorize'} ${name}: ${auth.res.status} ${auth.res.text}`);
	const cb = await atProvider(ctx, name, auth.url, { login, deny: opts.deny });
	const body = opts.body ? opts.body(callbackBody(cb)) : callbackBody(cb);
	const res = await finish(client, opts.postAs || name, body);
	return { res, client, cb, body, auth };
}

/** Log in with `name` as provider account `acct` ({login}) and assert 200 + a session. */
export async function loginOk(ctx, name, acct, opts = {}) {
	const r = await socialLogin(ctx, name, acct.login, opts);
	assert.equal(r.res.status, 200, `${name} login for ${acct.login}: ${r.res.status} ${r.res.text}`);
	assert.ok(r.client.cookie('sessionid'), `${name} login set no sessionid`);
	return r;
}

// --- assertions -----------------------------------------------------------------

/** A failed social POST: `status`, DRF {"detail": "..."}, and no session cookie. */
export function assertRefused(res, status, what = '') {
	const w = what ? ` (${what})` : '';
	assert.equal(res.status, status, `status${w}: ${res.status} ${res.text}`);
	assert.ok(
		res.json && typeof res.json.detail === 'string' && res.json.detail.length > 0,
		`{"detail": "..."} body${w}: ${res.text}`,
	);
	const sid = cookiesNamed(res, 'sessionid').filter((c) => c.value !== '');
	assert.equal(sid.length, 0, `no sessionid may be set on failure${w}: ${res.setCookies.join(' | ')}`);
}

export const userCount = (ctx, email) =>
	Number(ctx.server.sqlRows(`SELECT count(*) AS n FROM users WHERE lower(email) = lower(${q(email)})`)[0].n);
export const userId = (ctx, email) =>
	ctx.server.sqlRows(`SELECT id FROM users WHERE lower(email) = lower(${q(email)})`)[0]?.id;
export const identityRows = (ctx, provider, uid) =>
	ctx.server.sqlRows(
		`SELECT id, user_id, provider, uid FROM social_identities WHERE provider = ${q(provider)} AND uid = ${q(uid)}`,
	);

/** Profile of a client (asserts 200). */
export async function profile(client) {
	const p = await client.get('/api/users/profile/');
	assert.equal(p.status, 200, `profile: ${p.status} ${p.text}`);
	return p.json;
}

/** At the end of a file: no 5xx was ever answered and the server still answers /healthz. */
export async function assertHealthy(ctx) {
	const bad = ctx.log.filter((l) => l.status >= 500);
	assert.deepEqual(bad, [], 'gatehouse answered 5xx');
	assert.ok(await ctx.server.alive(), 'gatehouse still alive');
}

/**
 * Run every clean-up step even when one fails (a server that died must not
 * leave the others, or the providers, running: the test file would never
 * exit); then throw the first failure.
 */
export async function stopAll(...steps) {
	const results = [];
	for (const step of steps) {
		try {
			await step();
			results.push(null);
		} catch (e) {
			results.push(e);
		}
	}
	const first = results.find((e) => e);
	if (first) throw first;
}

/** Seconds for a provider call timeout: 1 s, longer under a slow wrapper. */
export const SHORT_TIMEOUT = WRAPPER ? 4 : 1;
export { SLOW, WRAPPER };
