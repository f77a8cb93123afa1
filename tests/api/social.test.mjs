// Social login (docs/social-contract.md, docs/design.md §2–§3): the providers list,
// the authorize redirect, a login through each kind of provider, and every way
// the callback must fail without a session.  The providers are real servers on
// 127.0.0.1 (tests/providers): GitHub- and Facebook-shaped OAuth servers and
// oidc-provider for Google and a generic OIDC provider.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cookiesNamed, estimatedBits, rawHttp, rawGet, randomString, q, sleep } from './harness.mjs';
import {
	startProviders,
	startSocial,
	browser,
	bare,
	authorize,
	atProvider,
	callbackBody,
	finish,
	socialLogin,
	loginOk,
	newAccount,
	githubUser,
	facebookUser,
	oidcAccount,
	assertRefused,
	assertHealthy,
	profile,
	userCount,
	userId,
	identityRows,
	callbackOf,
	stopAll,
	PROVIDERS,
	CORP_LABEL,
	FAKE_LABEL,
	SHORT_TIMEOUT,
	SLOW,
} from './social-harness.mjs';

let providers;
let ctx; // all providers, default settings
let strict; // SOCIAL_TIMEOUT short, SOCIAL_ALLOWED_DOMAINS / _EMAILS set

before(async () => {
	providers = await startProviders();
	ctx = await startSocial({ providers });
	strict = await startSocial({
		providers,
		env: {
			GATEHOUSE_SOCIAL_TIMEOUT: String(SHORT_TIMEOUT),
			GATEHOUSE_SOCIAL_ALLOWED_DOMAINS: 'allowed.test,Partner.Test',
			GATEHOUSE_SOCIAL_ALLOWED_EMAILS: 'vip@elsewhere.test',
		},
	});
});
after(async () => {
	await stopAll(
		() => ctx && assertHealthy(ctx),
		() => strict && assertHealthy(strict),
		() => ctx?.stop(),
		() => strict?.stop(),
		() => providers?.stop(),
	);
});

const B64URL43 = /^[A-Za-z0-9_-]{43}$/;

// --- providers list and authorize -------------------------------------------------

test('providers list names every configured provider with its label and authorize URL', async () => {
	const r = await bare(ctx).get('/api/social/providers/');
	assert.equal(r.status, 200, r.text);
	assert.ok(Array.isArray(r.json), r.text);
	assert.deepEqual(r.json.map((p) => p.name).sort(), [...PROVIDERS].sort());
	for (const p of r.json) {
		assert.deepEqual(Object.keys(p).sort(), ['authorize_url', 'label', 'name'], JSON.stringify(p));
		assert.equal(p.authorize_url, `/api/social/${p.name}/authorize/`);
		assert.equal(typeof p.label, 'string');
		assert.ok(p.label.length > 0, `label of ${p.name}`);
	}
	const label = Object.fromEntries(r.json.map((p) => [p.name, p.label]));
	assert.equal(label.corp, CORP_LABEL);
	assert.equal(label.fake, FAKE_LABEL);
	assert.match(label.github, /github/i);
	assert.match(label['google-oauth2'], /google/i);
	assert.match(label.facebook, /facebook/i);
});

describe('a gatehouse with only GitHub, behind https://auth.example.test', () => {
	let lone;
	before(async () => {
		lone = await startServer({
			env: { ...providers.github.gatehouseEnv(), GATEHOUSE_PUBLIC_ORIGIN: 'https://auth.example.test' },
		});
	});
	after(async () => {
		await lone?.stop();
	});

	test('providers list leaves out providers without a client id', async () => {
		const r = await lone.client().get('/api/social/providers/');
		assert.equal(r.status, 200);
		assert.deepEqual(
			r.json.map((p) => p.name),
			['github'],
		);
		const other = await lone.client().get('/api/social/google-oauth2/authorize/');
		assert.equal(other.status, 404, 'an unconfigured provider is unknown');
	});

	test('redirect_uri is built from GATEHOUSE_PUBLIC_ORIGIN, not from the Host header', async () => {
		const r = await lone.raw(rawGet('/api/social/github/authorize/', { Host: 'evil.test' }));
		assert.equal(r.response?.status, 302, r.text);
		const loc = new URL(r.response.headers.location);
		assert.equal(loc.searchParams.get('redirect_uri'), 'https://auth.example.test/auth/github/callback');
		const gh = r.response.headerList.filter(([k, v]) => k === 'set-cookie' && v.startsWith('gh_social='));
		assert.equal(gh.length, 1);
		assert.match(gh[0][1], /;\s*Secure\b/i, 'gh_social is Secure when the public origin is https');
	});
});

test('authorize redirects to GitHub with state, an S256 challenge and the callback redirect_uri, bound by gh_social', async () => {
	const c = bare(ctx);
	const { res, url } = await authorize(c, 'github');
	assert.equal(res.status, 302, res.text);
	assert.equal(`${url.origin}${url.pathname}`, providers.github.authorizeUrl);
	const sp = url.searchParams;
	assert.equal(sp.get('response_type'), 'code');
	assert.equal(sp.get('client_id'), providers.github.clients.first().client_id);
	assert.equal(sp.get('redirect_uri'), callbackOf(ctx, 'github'));
	assert.ok(sp.get('state'), 'state');
	assert.ok(estimatedBits(sp.get('state')) >= 128, `state has at least 128 bits: ${sp.get('state')}`);
	assert.match(sp.get('code_challenge') || '', B64URL43, 'code_challenge is BASE64URL(SHA-256)');
	assert.equal(sp.get('code_challenge_method'), 'S256');
	assert.ok(
		(sp.get('scope') || '').split(/[ ,]+/).includes('user:email'),
		`scope asks for user:email: ${sp.get('scope')}`,
	);
	const gh = cookiesNamed(res, 'gh_social');
	assert.equal(gh.length, 1, res.setCookies.join(' | '));
	assert.ok(gh[0].value.length > 0);
	assert.ok(gh[0].attrs.httponly, 'gh_social HttpOnly');
	assert.equal(String(gh[0].attrs.samesite).toLowerCase(), 'lax');
	assert.equal(gh[0].attrs.path, '/api/social/');
	assert.ok(!sp.toString().includes(gh[0].value), 'the browser binding is not in the URL');
	assert.equal(res.headers.get('cache-control')?.includes('no-store'), true, 'Cache-Control: no-store');

	const again = await authorize(bare(ctx), 'github');
	const sp2 = again.url.searchParams;
	assert.notEqual(sp2.get('state'), sp.get('state'), 'a new state each time');
	assert.notEqual(sp2.get('code_challenge'), sp.get('code_challenge'), 'a new PKCE verifier each time');
});

test('OIDC authorize uses the discovered endpoint and adds a nonce and the openid email profile scopes', async () => {
	for (const name of ['google-oauth2', 'corp']) {
		const p = providers.byName[name];
		const { res, url } = await authorize(bare(ctx), name);
		assert.equal(res.status, 302, `${name}: ${res.text}`);
		assert.equal(`${url.origin}${url.pathname}`, `${p.issuer}/auth`, `${name}: authorization_endpoint from discovery`);
		const sp = url.searchParams;
		assert.equal(sp.get('response_type'), 'code');
		assert.equal(sp.get('client_id'), p.clients.first().client_id);
		assert.equal(sp.get('redirect_uri'), callbackOf(ctx, name));
		assert.ok(estimatedBits(sp.get('state') || '') >= 128, `${name} state`);
		assert.ok(estimatedBits(sp.get('nonce') || '') >= 128, `${name} nonce: ${sp.get('nonce')}`);
		assert.notEqual(sp.get('nonce'), sp.get('state'), 'nonce and state differ');
		assert.match(sp.get('code_challenge') || '', B64URL43);
		assert.equal(sp.get('code_challenge_method'), 'S256');
		const scope = (sp.get('scope') || '').split(' ');
		for (const s of ['openid', 'email', 'profile'])
			assert.ok(scope.includes(s), `${name} scope has ${s}: ${sp.get('scope')}`);
		assert.equal(cookiesNamed(res, 'gh_social').length, 1);
	}
});

test('authorize with Accept: application/json answers {url} and sets the same cookie', async () => {
	const c = bare(ctx);
	const { res, url } = await authorize(c, 'facebook', { json: true });
	assert.equal(res.status, 200, res.text);
	assert.match(res.headers.get('content-type') || '', /^application\/json/);
	assert.deepEqual(Object.keys(res.json), ['url']);
	assert.equal(`${url.origin}${url.pathname}`, providers.facebook.authorizeUrl);
	assert.equal(url.searchParams.get('redirect_uri'), callbackOf(ctx, 'facebook'));
	assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
	assert.ok(estimatedBits(url.searchParams.get('state') || '') >= 128);
	const gh = cookiesNamed(res, 'gh_social');
	assert.equal(gh.length, 1);
	assert.equal(gh[0].attrs.path, '/api/social/');
	assert.ok(gh[0].attrs.httponly);

	// and the URL works: the login completes through it
	const acct = facebookUser(ctx);
	const cb = await atProvider(ctx, 'facebook', url, { login: acct.login });
	const csrf = await c.get('/api/login-set-cookie/');
	assert.equal(csrf.status, 200);
	const fin = await finish(c, 'facebook', callbackBody(cb));
	assert.equal(fin.status, 200, fin.text);
});

test('authorize and POST for an unknown provider are 404', async () => {
	const c = await browser(ctx);
	const a = await c.get('/api/social/myspace/authorize/');
	assert.equal(a.status, 404, a.text);
	assert.equal(cookiesNamed(a, 'gh_social').length, 0, 'no state for an unknown provider');
	const p = await finish(c, 'myspace', { code: 'x', state: 'y' });
	assert.equal(p.status, 404, p.text);
	assert.equal(cookiesNamed(p, 'sessionid').length, 0);
});

// --- a login through each provider ------------------------------------------------------

async function firstLogin(name, acct) {
	const c = await browser(ctx);
	const csrfBefore = c.cookie('csrftoken');
	const r = await socialLogin(ctx, name, acct.login, { client: c });
	assert.equal(r.res.status, 200, `${name}: ${r.res.status} ${r.res.text}`);
	assert.deepEqual(r.res.json, { detail: 'Success', next: '/' });
	const sid = cookiesNamed(r.res, 'sessionid');
	assert.equal(sid.length, 1, 'one sessionid cookie');
	assert.ok(sid[0].attrs.httponly, 'sessionid HttpOnly');
	assert.equal(String(sid[0].attrs.samesite).toLowerCase(), 'lax');
	assert.equal(cookiesNamed(r.res, 'csrftoken').length, 1, 'csrftoken rotated');
	assert.notEqual(c.cookie('csrftoken'), csrfBefore, 'csrftoken changed');
	const me = await profile(c);
	assert.equal(me.email, acct.email);
	const ids = identityRows(ctx, name, acct.uid);
	assert.equal(ids.length, 1, `one ${name} identity for ${acct.uid}`);
	assert.equal(ids[0].user_id, me.id);
	assert.equal(userCount(ctx, acct.email), 1);
	return { me, client: c };
}

test('a GitHub login creates a user with the verified primary email', async () => {
	const acct = githubUser(ctx, { name: 'Grace Hopper' });
	const { me } = await firstLogin('github', acct);
	assert.equal(me.email_verified, true);
	assert.equal(me.first_name, 'Grace');
	assert.equal(me.last_name, 'Hopper');
	const tok = providers.github.requestsTo('/login/oauth/access_token').at(-1);
	assert.match(
		tok.params.code_verifier || '',
		/^[A-Za-z0-9\-._~]{43,128}$/,
		'PKCE code_verifier sent to the token endpoint',
	);
	assert.equal(tok.params.redirect_uri, callbackOf(ctx, 'github'));
});

test('a Facebook login creates a user whose email is not marked verified', async () => {
	const acct = facebookUser(ctx, { first_name: 'Frida', last_name: 'Kahlo' });
	const { me } = await firstLogin('facebook', acct);
	assert.equal(me.email_verified, false, 'Facebook emails never count as verified');
	assert.equal(me.first_name, 'Frida');
	assert.equal(me.last_name, 'Kahlo');
	const tok = providers.facebook.requestsTo(/\/oauth\/access_token$/).at(-1);
	assert.match(tok.params.code_verifier || '', /^[A-Za-z0-9\-._~]{43,128}$/, 'PKCE code_verifier sent');
});

test('a Google login (oidc-provider) creates a verified user from the ID token', async () => {
	const acct = oidcAccount(ctx, 'google-oauth2', { given_name: 'Gina', family_name: 'Oogle' });
	const { me } = await firstLogin('google-oauth2', acct);
	assert.equal(me.email_verified, true);
	assert.equal(me.first_name, 'Gina');
	assert.equal(me.last_name, 'Oogle');
});

test('a generic OIDC login creates a verified user when the email comes only from userinfo', async () => {
	const acct = oidcAccount(ctx, 'corp', { given_name: 'Cora', family_name: 'Porate' });
	const { me } = await firstLogin('corp', acct);
	assert.equal(me.email_verified, true);
	assert.equal(me.first_name, 'Cora');
	assert.equal(me.last_name, 'Porate');
});

test('a second login finds the same user by (provider, subject) even after the provider email changed', async () => {
	const acct = githubUser(ctx);
	const first = await loginOk(ctx, 'github', acct);
	const id = (await profile(first.client)).id;
	const newEmail = `renamed-${acct.login}@gh-mail.test`;
	acct.user.emails = [{ email: newEmail, primary: true, verified: true, visibility: 'private' }];
	const second = await loginOk(ctx, 'github', acct);
	assert.equal((await profile(second.client)).id, id, 'same user');
	assert.equal(identityRows(ctx, 'github', acct.uid).length, 1, 'still one identity');
	const others = ctx.server.sqlRows(
		`SELECT id FROM users WHERE lower(email) = lower(${q(newEmail)}) AND id != ${Number(id)}`,
	);
	assert.deepEqual(others, [], 'no second account for the new address');
});

test('next is kept for a same-origin path and replaced by / otherwise', async () => {
	const cases = [
		['/account/settings?tab=2', '/account/settings?tab=2'],
		['https://evil.test/phish', '/'],
		['//evil.test/phish', '/'],
		['/\\evil.test', '/'],
	];
	for (const [next, want] of cases) {
		const acct = githubUser(ctx);
		const r = await socialLogin(ctx, 'github', acct.login, { next });
		assert.equal(r.res.status, 200, `${next}: ${r.res.text}`);
		assert.equal(r.res.json.next, want, `next=${next}`);
	}
});

// --- failures: never a session ------------------------------------------------------------

test('the provider answering error (user pressed Cancel) is 400 without a session', async () => {
	const acct = githubUser(ctx);
	const r = await socialLogin(ctx, 'github', acct.login, { deny: true });
	assert.equal(r.body.error, 'access_denied', 'the provider sent error back');
	assertRefused(r.res, 400, 'provider error');
	assert.equal(userCount(ctx, acct.email), 0);
});

test('a POST with an unknown state is 400', async () => {
	const c = await browser(ctx);
	const { url } = await authorize(c, 'github');
	const acct = githubUser(ctx);
	const cb = await atProvider(ctx, 'github', url, { login: acct.login });
	const { code, state } = callbackBody(cb);
	assertRefused(await finish(c, 'github', { code, state: randomString(32) }), 400, 'unknown state');
	assertRefused(await finish(c, 'github', { code, state: `${state}x` }), 400, 'state with a character added');
	assertRefused(await finish(c, 'github', { code, state: state.slice(0, -1) }), 400, 'state with a character less');
	assert.equal(userCount(ctx, acct.email), 0);
});

test('a POST without a state or without a code is 400 {"detail"} and makes no session', async () => {
	const c = await browser(ctx);
	const { url } = await authorize(c, 'github');
	const acct = githubUser(ctx);
	const cb = await atProvider(ctx, 'github', url, { login: acct.login });
	const { code, state } = callbackBody(cb);
	const answers = [
		['no state', await finish(c, 'github', { code })],
		['empty state', await finish(c, 'github', { code, state: '' })],
		['empty body', await finish(c, 'github', {})],
		['no code', await finish(c, 'github', { state })],
	];
	for (const [what, r] of answers) {
		assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
		assert.equal(cookiesNamed(r, 'sessionid').length, 0, `${what}: no sessionid`);
	}
	assert.equal(userCount(ctx, acct.email), 0);
	// docs/social-contract.md: 400 {"detail": ...} for a missing state or code
	for (const [what, r] of answers) assertRefused(r, 400, what);
});

test('a state works once: posting it again is 400', async () => {
	const acct = githubUser(ctx);
	const r = await loginOk(ctx, 'github', acct);
	const again = await finish(r.client, 'github', r.body);
	assertRefused(again, 400, 'replayed state');
	const other = await browser(ctx);
	assertRefused(await finish(other, 'github', r.body), 400, 'replayed from another browser');
});

test('a state is spent by a failed attempt too', async () => {
	const c = await browser(ctx);
	const { url } = await authorize(c, 'github');
	const acct = githubUser(ctx);
	const cb = await atProvider(ctx, 'github', url, { login: acct.login });
	const good = callbackBody(cb);
	assertRefused(await finish(c, 'github', { ...good, code: 'not-the-code' }), 400, 'bad code');
	assertRefused(await finish(c, 'github', good), 400, 'the right code with the spent state');
	assert.equal(userCount(ctx, acct.email), 0);
});

test('a state without its browser cookie is 400 (gh_social missing)', async () => {
	const c = await browser(ctx);
	const { url } = await authorize(c, 'github');
	const acct = githubUser(ctx);
	const cb = await atProvider(ctx, 'github', url, { login: acct.login });
	c.deleteCookie('gh_social');
	assertRefused(await finish(c, 'github', callbackBody(cb)), 400, 'no gh_social');
	assert.equal(userCount(ctx, acct.email), 0);
});

test('a state started in another browser is 400 (login CSRF)', async () => {
	// The attacker starts a login with their own provider account and lures the
	// victim's browser into finishing it.
	const attacker = await browser(ctx);
	const { url } = await authorize(attacker, 'github');
	const acct = githubUser(ctx);
	const cb = await atProvider(ctx, 'github', url, { login: acct.login });
	const victim = await browser(ctx);
	await authorize(victim, 'github'); // the victim has a gh_social of its own
	assert.ok(victim.cookie('gh_social'));
	assertRefused(await finish(victim, 'github', callbackBody(cb)), 400, 'other gh_social');
	const fresh = await browser(ctx);
	assertRefused(await finish(fresh, 'github', callbackBody(cb)), 400, 'no gh_social at all');
	assert.equal(userCount(ctx, acct.email), 0);
});

test('a state made for one provider is 400 at another', async () => {
	const c = await browser(ctx);
	const { url } = await authorize(c, 'github');
	const acct = githubUser(ctx);
	const cb = await atProvider(ctx, 'github', url, { login: acct.login });
	assertRefused(await finish(c, 'facebook', callbackBody(cb)), 400, 'github state posted to facebook');
	assert.equal(userCount(ctx, acct.email), 0);
});

test('a code the provider refuses is 400 (GitHub answers 200 bad_verification_code)', async () => {
	const acct = githubUser(ctx);
	const r = await socialLogin(ctx, 'github', acct.login, { body: (b) => ({ ...b, code: `${b.code}x` }) });
	assertRefused(r.res, 400, 'bad code');
	const tok = providers.github.requestsTo('/login/oauth/access_token').at(-1);
	assert.equal(tok.params.code, r.body.code, 'the bad code went to GitHub');
	assert.equal(userCount(ctx, acct.email), 0);
});

test('a code for Facebook and for OIDC that the provider refuses is 400', async () => {
	for (const name of ['facebook', 'google-oauth2']) {
		const acct = newAccount(ctx, name);
		const r = await socialLogin(ctx, name, acct.login, { body: (b) => ({ ...b, code: `${b.code}x` }) });
		assertRefused(r.res, 400, `${name} bad code`);
		assert.equal(userCount(ctx, acct.email), 0);
	}
});

test('a provider answering 5xx, garbage or closing the connection is 400', async () => {
	const cases = [
		['github', 'token', 500],
		['github', 'user', 502],
		['github', 'emails', 503],
		['github', 'token', 'garbage'],
		['github', 'user', 'close'],
		['facebook', 'token', 500],
		['facebook', 'me', 500],
		['facebook', 'me', 'error'],
		['google-oauth2', 'token', 500],
		['corp', 'userinfo', 500],
		['github', 'user', 'error'],
	];
	for (const [name, endpoint, mode] of cases) {
		const acct = newAccount(ctx, name);
		providers.byName[name].faults[endpoint] = { fault: mode, times: 1 };
		const r = await socialLogin(ctx, name, acct.login);
		delete providers.byName[name].faults[endpoint];
		assertRefused(r.res, 400, `${name} ${endpoint} ${mode}`);
		assert.equal(userCount(ctx, acct.email), 0, `${name} ${endpoint} ${mode}: no user`);
	}
});

test('an OIDC provider whose discovery or JWKS fails is 400 at the callback and not 5xx at authorize', async () => {
	// A fresh server: nothing about the provider cached yet.
	const fresh = await startSocial({ providers });
	try {
		providers.corp.faults.discovery = 500;
		const a = await authorize(await browser(fresh), 'corp');
		assert.ok(a.res.status < 500, `authorize with discovery down: ${a.res.status} ${a.res.text}`);
		delete providers.corp.faults.discovery;
		const acct = oidcAccount(fresh, 'google-oauth2');
		providers.google.faults.jwks = { fault: 500, times: 5 };
		const r = await socialLogin(fresh, 'google-oauth2', acct.login);
		delete providers.google.faults.jwks;
		assertRefused(r.res, 400, 'jwks 500');
		assert.equal(userCount(fresh, acct.email), 0);
		await assertHealthy(fresh);
	} finally {
		delete providers.corp.faults.discovery;
		delete providers.google.faults.jwks;
		await fresh.stop();
	}
});

test('a provider that does not answer within SOCIAL_TIMEOUT is 400, in bounded time', async () => {
	for (const [name, endpoint] of [
		['github', 'token'],
		['github', 'emails'],
		['facebook', 'me'],
	]) {
		const acct = newAccount(
			strict,
			name,
			name === 'github'
				? { email: `${randomString(8).toLowerCase()}@allowed.test` }
				: { email: `${randomString(8).toLowerCase()}@allowed.test` },
		);
		providers.byName[name].faults[endpoint] = 'hang';
		const started = performance.now();
		let r;
		try {
			r = await socialLogin(strict, name, acct.login);
		} finally {
			delete providers.byName[name].faults[endpoint];
		}
		const secs = (performance.now() - started) / 1000;
		assertRefused(r.res, 400, `${name} ${endpoint} hangs`);
		assert.ok(secs < SHORT_TIMEOUT * 3 + 3 * SLOW, `answered after ${secs.toFixed(1)} s (timeout ${SHORT_TIMEOUT} s)`);
		assert.equal(userCount(strict, acct.email), 0);
	}
});

test('an inactive user is refused with 403', async () => {
	const acct = githubUser(ctx);
	const first = await loginOk(ctx, 'github', acct);
	const id = (await profile(first.client)).id;
	ctx.server.sql(`UPDATE users SET is_active = 0 WHERE id = ${Number(id)}`);
	const r = await socialLogin(ctx, 'github', acct.login);
	assertRefused(r.res, 403, 'inactive');
});

test('an email outside SOCIAL_ALLOWED_DOMAINS / _EMAILS is refused with 403; inside it logs in', async () => {
	const out = githubUser(strict, { email: `${randomString(8).toLowerCase()}@example.test` });
	assertRefused((await socialLogin(strict, 'github', out.login)).res, 403, 'disallowed domain');
	assert.equal(userCount(strict, out.email), 0, 'no user for a disallowed domain');
	const sub = githubUser(strict, { email: `${randomString(8).toLowerCase()}@sub.allowed.test` });
	assertRefused((await socialLogin(strict, 'github', sub.login)).res, 403, 'a subdomain is another domain');
	const tricky = githubUser(strict, { email: `${randomString(8).toLowerCase()}@notallowed.test` });
	assertRefused((await socialLogin(strict, 'github', tricky.login)).res, 403, 'a suffix is not the domain');

	for (const email of [
		`${randomString(8).toLowerCase()}@allowed.test`,
		`${randomString(8).toLowerCase()}@partner.test`,
		'vip@elsewhere.test',
	]) {
		const ok = githubUser(strict, { email });
		await loginOk(strict, 'github', ok);
	}
});

test('GitHub without a verified primary email is 400 and makes no user', async () => {
	const acct = githubUser(ctx, {
		emails: [
			{
				email: `p-${randomString(6).toLowerCase()}@gh-mail.test`,
				primary: true,
				verified: false,
				visibility: 'public',
			},
			{ email: `s-${randomString(6).toLowerCase()}@gh-mail.test`, primary: false, verified: true, visibility: null },
		],
	});
	acct.user.email = acct.user.emails[0].email; // the public profile shows the unverified one
	const r = await socialLogin(ctx, 'github', acct.login);
	assertRefused(r.res, 400, 'no verified primary email');
	for (const e of acct.user.emails) assert.equal(userCount(ctx, e.email), 0, `no user for ${e.email}`);
	assert.deepEqual(identityRows(ctx, 'github', acct.uid), []);
});

test('Facebook without an email is 400 and makes no user', async () => {
	const acct = facebookUser(ctx, { email: null });
	const r = await socialLogin(ctx, 'facebook', acct.login);
	assertRefused(r.res, 400, 'no email');
	assert.deepEqual(identityRows(ctx, 'facebook', acct.uid), []);
});

test('the callback needs CSRF like login', async () => {
	const acct = githubUser(ctx);
	const c = await browser(ctx);
	const { url } = await authorize(c, 'github');
	const cb = await atProvider(ctx, 'github', url, { login: acct.login });
	const r = await c.post('/api/social/github/', { json: callbackBody(cb), csrf: false });
	assert.equal(r.status, 403, r.text);
	assert.equal(cookiesNamed(r, 'sessionid').length, 0);
	assert.equal(userCount(ctx, acct.email), 0);
});

test('an expired state is 400', async () => {
	const c = await browser(ctx);
	const { url } = await authorize(c, 'github');
	const acct = githubUser(ctx);
	const cb = await atProvider(ctx, 'github', url, { login: acct.login });
	ctx.server.sql('UPDATE social_states SET expires_at = 1');
	assertRefused(await finish(c, 'github', callbackBody(cb)), 400, 'expired state');
	assert.equal(userCount(ctx, acct.email), 0);
});

test('the server stays up and never answered 5xx', async () => {
	await sleep(10);
	await assertHealthy(ctx);
	await assertHealthy(strict);
});
