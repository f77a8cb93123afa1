// Self-test of the stand-in providers: a minimal relying party written here
// goes through each provider's flow the way the providers' documentation
// describes, so a failing gatehouse test can be trusted to be about gatehouse.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startOidcProvider, startGithub, startFacebook, startFakeOidc, ProviderBrowser, s256 } from './index.mjs';

const RP = 'http://127.0.0.1:1'; // a relying party origin that never needs to answer
const pkce = () => {
	const verifier = randomBytes(32).toString('base64url');
	return { verifier, challenge: s256(verifier) };
};

let oidc;
let github;
let facebook;
let fake;
before(async () => {
	[oidc, github, facebook, fake] = await Promise.all([
		startOidcProvider(),
		startGithub(),
		startFacebook(),
		startFakeOidc(),
	]);
	oidc.allowOrigin(RP, 'corp');
	github.allowOrigin(RP);
	facebook.allowOrigin(RP);
	fake.allowOrigin(RP);
});
after(async () => {
	await Promise.all([oidc, github, facebook, fake].map((p) => p?.stop()));
});

async function oidcCode(p, name, { login, deny = false, nonce = 'n-' + randomBytes(8).toString('hex') } = {}) {
	const disc = await (await fetch(`${p.issuer}/.well-known/openid-configuration`)).json();
	const { verifier, challenge } = pkce();
	const redirectUri = `${RP}/auth/${name}/callback`;
	const state = randomBytes(16).toString('hex');
	const c = p.clients.first();
	const url = new URL(disc.authorization_endpoint);
	Object.entries({
		response_type: 'code',
		client_id: c.client_id,
		redirect_uri: redirectUri,
		scope: 'openid email profile',
		state,
		nonce,
		code_challenge: challenge,
		code_challenge_method: 'S256',
	}).forEach(([k, v]) => url.searchParams.set(k, v));
	const cb = await new ProviderBrowser().authorize(url.toString(), { login, deny, callback: redirectUri });
	return { disc, cb, verifier, redirectUri, state, nonce, client: c };
}

async function oidcExchange(f, { auth = 'basic', verifier = f.verifier } = {}) {
	const body = new URLSearchParams({
		grant_type: 'authorization_code',
		code: f.cb.searchParams.get('code'),
		redirect_uri: f.redirectUri,
		code_verifier: verifier,
	});
	const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
	if (auth === 'basic')
		headers.Authorization = `Basic ${Buffer.from(`${f.client.client_id}:${f.client.client_secret}`).toString('base64')}`;
	else {
		body.set('client_id', f.client.client_id);
		body.set('client_secret', f.client.client_secret);
	}
	const r = await fetch(f.disc.token_endpoint, { method: 'POST', headers, body });
	return { status: r.status, json: await r.json() };
}

test('oidc-provider: code flow with PKCE gives a verifiable ID token with the account claims', async () => {
	const f = await oidcCode(oidc, 'corp', { login: 'alice' });
	assert.equal(f.cb.searchParams.get('state'), f.state);
	assert.ok(f.cb.searchParams.get('code'));
	const t = await oidcExchange(f, { auth: 'post' });
	assert.equal(t.status, 200, JSON.stringify(t.json));
	const { payload } = await jwtVerify(t.json.id_token, createRemoteJWKSet(new URL(f.disc.jwks_uri)), {
		issuer: oidc.issuer,
		audience: f.client.client_id,
	});
	assert.equal(payload.sub, 'alice');
	assert.equal(payload.nonce, f.nonce);
	assert.equal(payload.email, 'alice@oidc.test');
	assert.equal(payload.email_verified, true);
	const ui = await (
		await fetch(f.disc.userinfo_endpoint, { headers: { Authorization: `Bearer ${t.json.access_token}` } })
	).json();
	assert.equal(ui.email, 'alice@oidc.test');
	assert.equal(ui.given_name, 'Alice');
	assert.equal(oidc.requestsTo('/token').at(-1).clientAuth, 'client_secret_post');
});

test('oidc-provider: a wrong code_verifier, a replayed code and Cancel are refused', async () => {
	const f = await oidcCode(oidc, 'corp', { login: 'alice' });
	const bad = await oidcExchange(f, { verifier: pkce().verifier });
	assert.equal(bad.status, 400);
	assert.equal(bad.json.error, 'invalid_grant');
	const f2 = await oidcCode(oidc, 'corp', { login: 'bob' });
	assert.equal((await oidcExchange(f2)).status, 200);
	assert.equal((await oidcExchange(f2)).status, 400, 'a code works once');
	const f3 = await oidcCode(oidc, 'corp', { deny: true });
	assert.equal(f3.cb.searchParams.get('error'), 'access_denied');
	assert.equal(f3.cb.searchParams.get('state'), f3.state);
});

test('oidc-provider: an authorize request without PKCE is refused', async () => {
	const c = oidc.clients.first();
	const u = new URL(`${oidc.issuer}/auth`);
	Object.entries({
		response_type: 'code',
		client_id: c.client_id,
		redirect_uri: `${RP}/auth/corp/callback`,
		scope: 'openid',
		state: 's',
	}).forEach(([k, v]) => u.searchParams.set(k, v));
	const r = await fetch(u, { redirect: 'manual' });
	const loc = new URL(r.headers.get('location'));
	assert.equal(loc.searchParams.get('error'), 'invalid_request');
});

test('oidc-provider: claimsInIdToken false leaves email to userinfo', async () => {
	const strict = await startOidcProvider({ claimsInIdToken: false });
	try {
		strict.allowOrigin(RP, 'corp');
		const f = await oidcCode(strict, 'corp', { login: 'alice' });
		const t = await oidcExchange(f);
		const claims = JSON.parse(Buffer.from(t.json.id_token.split('.')[1], 'base64url'));
		assert.equal(claims.email, undefined);
		const ui = await (
			await fetch(f.disc.userinfo_endpoint, { headers: { Authorization: `Bearer ${t.json.access_token}` } })
		).json();
		assert.equal(ui.email, 'alice@oidc.test');
	} finally {
		await strict.stop();
	}
});

async function githubFlow(login, { scope = 'read:user user:email' } = {}) {
	const { verifier, challenge } = pkce();
	const c = github.clients.first();
	const redirectUri = `${RP}/auth/github/callback`;
	const u = new URL(github.authorizeUrl);
	Object.entries({
		client_id: c.client_id,
		redirect_uri: redirectUri,
		scope,
		state: 'st',
		code_challenge: challenge,
		code_challenge_method: 'S256',
	}).forEach(([k, v]) => u.searchParams.set(k, v));
	const cb = await new ProviderBrowser().authorize(u.toString(), { login, callback: redirectUri });
	return { cb, verifier, redirectUri, c };
}

test('github: authorize, token (JSON and form answers), /user and /user/emails', async () => {
	const f = await githubFlow('octocat');
	assert.equal(f.cb.searchParams.get('state'), 'st');
	const r = await fetch(github.tokenUrl, {
		method: 'POST',
		headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({
			client_id: f.c.client_id,
			client_secret: f.c.client_secret,
			code: f.cb.searchParams.get('code'),
			redirect_uri: f.redirectUri,
			code_verifier: f.verifier,
		}),
	});
	const t = await r.json();
	assert.equal(t.token_type, 'bearer');
	assert.match(t.access_token, /^gho_/);
	const h = { Authorization: `Bearer ${t.access_token}`, 'User-Agent': 'selftest' };
	const user = await (await fetch(`${github.apiUrl}/user`, { headers: h })).json();
	assert.equal(user.login, 'octocat');
	const emails = await (
		await fetch(`${github.apiUrl}/user/emails`, { headers: { ...h, Authorization: `token ${t.access_token}` } })
	).json();
	assert.deepEqual(emails, [{ email: 'octocat@github.test', primary: true, verified: true, visibility: 'private' }]);
	const noUa = await new Promise((resolve, reject) => {
		http
			.get(`${github.apiUrl}/user`, { headers: { Authorization: h.Authorization } }, (res) => {
				res.resume();
				resolve(res.statusCode);
			})
			.on('error', reject);
	});
	assert.equal(noUa, 403, 'no User-Agent (fetch always sends one; node:http does not)');

	const f2 = await githubFlow('octocat');
	const form = await fetch(github.tokenUrl, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({
			client_id: f2.c.client_id,
			client_secret: f2.c.client_secret,
			code: f2.cb.searchParams.get('code'),
			code_verifier: f2.verifier,
		}),
	});
	assert.match(await form.text(), /^access_token=gho_[^&]+&token_type=bearer&scope=read%3Auser%2Cuser%3Aemail$/);
});

test('github: bad code, bad secret and bad verifier answer 200 with an error; faults work', async () => {
	const post = (params) =>
		fetch(github.tokenUrl, {
			method: 'POST',
			headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams(params),
		}).then(async (r) => ({ status: r.status, json: await r.json() }));
	const f = await githubFlow('octocat');
	const base = {
		client_id: f.c.client_id,
		client_secret: f.c.client_secret,
		code: f.cb.searchParams.get('code'),
		code_verifier: f.verifier,
	};
	let r = await post({ ...base, client_secret: 'nope' });
	assert.deepEqual([r.status, r.json.error], [200, 'incorrect_client_credentials']);
	r = await post({ ...base, code_verifier: pkce().verifier });
	assert.deepEqual([r.status, r.json.error], [200, 'bad_verification_code']);
	r = await post(base);
	assert.deepEqual(
		[r.status, r.json.error],
		[200, 'bad_verification_code'],
		'the code was spent by the failed attempt',
	);
	github.faults.token = 500;
	r = await post(base);
	assert.equal(r.status, 500);
	github.faults.token = 'hang';
	await assert.rejects(fetch(github.tokenUrl, { method: 'POST', body: '', signal: AbortSignal.timeout(300) }));
	delete github.faults.token;
	const deny = await new ProviderBrowser().authorize(
		new URL(
			`${github.authorizeUrl}?client_id=${f.c.client_id}&redirect_uri=${encodeURIComponent(f.redirectUri)}&state=x&code_challenge=${s256('a'.repeat(43))}&code_challenge_method=S256`,
		).toString(),
		{ deny: true, callback: f.redirectUri },
	);
	assert.equal(deny.searchParams.get('error'), 'access_denied');
});

test('facebook: dialog, token by GET with code_verifier, /me with the asked fields', async () => {
	const { verifier, challenge } = pkce();
	const c = facebook.clients.first();
	const redirectUri = `${RP}/auth/facebook/callback`;
	const u = new URL(facebook.authorizeUrl);
	Object.entries({
		client_id: c.client_id,
		redirect_uri: redirectUri,
		state: 'fs',
		response_type: 'code',
		scope: 'email,public_profile',
		code_challenge: challenge,
		code_challenge_method: 'S256',
	}).forEach(([k, v]) => u.searchParams.set(k, v));
	const cb = await new ProviderBrowser().authorize(u.toString(), { login: 'zuck', callback: redirectUri });
	assert.equal(cb.hash, '#_=_');
	const t = new URL(facebook.tokenUrl);
	Object.entries({
		client_id: c.client_id,
		client_secret: c.client_secret,
		redirect_uri: redirectUri,
		code: cb.searchParams.get('code'),
		code_verifier: verifier,
	}).forEach(([k, v]) => t.searchParams.set(k, v));
	const tok = await (await fetch(t)).json();
	assert.equal(tok.token_type, 'bearer');
	const me = await (
		await fetch(`${facebook.graphUrl}/me?fields=id,name,email,first_name&access_token=${tok.access_token}`)
	).json();
	assert.deepEqual(me, { id: '10000000000001', name: 'Mark Test', email: 'mark@facebook.test', first_name: 'Mark' });
	const again = await fetch(t);
	assert.equal(again.status, 400);
	assert.equal((await again.json()).error.type, 'OAuthException');
});

test('fake oidc: honest token verifies; nextIdToken forges the next one', async () => {
	const f = await oidcCode(fake, 'fake', { login: 'mallory' });
	const t = await oidcExchange(f);
	assert.equal(t.status, 200, JSON.stringify(t.json));
	const jwks = createRemoteJWKSet(new URL(f.disc.jwks_uri));
	const { payload } = await jwtVerify(t.json.id_token, jwks, { issuer: fake.issuer, audience: f.client.client_id });
	assert.equal(payload.nonce, f.nonce);
	assert.equal(payload.email, 'mallory@fake.test');

	const f2 = await oidcCode(fake, 'fake', { login: 'mallory' });
	fake.nextIdToken(({ claims }) => fake.sign({ ...claims, iss: 'https://evil.test' }));
	const t2 = await oidcExchange(f2, { auth: 'post' });
	await assert.rejects(jwtVerify(t2.json.id_token, jwks, { issuer: fake.issuer, audience: f.client.client_id }), /iss/);
});
