// Social login hardening (docs/social-contract.md): no account takeover
// through associate_by_email onto an address nobody confirmed, connecting a
// provider only from the SPA's own CSRF-checked POST (never from a link
// another site plants), and text that is not valid UTF-8 (a `next`, an ID
// token's alg or kid) answered with a 4xx or a safe default instead of
// bringing the process down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createUser, loggedIn, uniqueEmail } from './harness.mjs';
import { startAccounts, signup, signupKey, confirm, tryLogin, GOOD_PW } from './accounts-harness.mjs';
import { hmacJwt, signJwt } from '../providers/index.mjs';
import {
	startProviders,
	startSocial,
	watch,
	browser,
	authorize,
	connect,
	atProvider,
	callbackBody,
	finish,
	socialLogin,
	githubUser,
	oidcAccount,
	assertRefused,
	assertHealthy,
	profile,
	userCount,
	userId,
	identityRows,
	stopAll,
	PIPELINE_ASSOCIATE,
} from './social-harness.mjs';

let providers;
const on = {}; // 'optional' and 'mandatory': associate_by_email in the pipeline, with mail

before(async () => {
	providers = await startProviders();
	for (const mode of ['optional', 'mandatory']) {
		on[mode] = await startSocial({
			providers,
			env: { GATEHOUSE_SOCIAL_PIPELINE: PIPELINE_ASSOCIATE, GATEHOUSE_EMAIL_VERIFICATION: mode },
			start: (env) => startAccounts({ env }),
		});
	}
});
after(async () => {
	await stopAll(
		() => on.optional && assertHealthy(on.optional),
		() => on.mandatory && assertHealthy(on.mandatory),
		() => on.optional?.stop(),
		() => on.mandatory?.stop(),
		() => providers?.stop(),
	);
});

/** A confirmed password account (CLI) and a signed-in browser for it. */
async function passwordAccount(ctx) {
	const email = uniqueEmail('pw');
	createUser(ctx.server, email, GOOD_PW);
	const client = watch(ctx, await loggedIn(ctx.server, email, GOOD_PW));
	return { email, client, id: (await profile(client)).id };
}

const identitiesOf = (ctx, id) =>
	ctx.server.sqlRows(`SELECT provider, uid FROM social_identities WHERE user_id = ${Number(id)}`);

/** GET /healthz answers 200 (the process did not exit). */
async function alive(ctx) {
	const r = await fetch(`${ctx.origin}/healthz`, { signal: AbortSignal.timeout(5000) });
	assert.equal(r.status, 200, 'healthz after the attempt');
}

// --- takeover through associate_by_email ------------------------------------------------

for (const mode of ['optional', 'mandatory']) {
	test(`associate_by_email does not link a provider to an account whose address was never confirmed (${mode} verification)`, async () => {
		const ctx = on[mode];
		const victim = uniqueEmail('victim');
		// the attacker signs up first with the victim's address and a password of their own
		const key = await signupKey(ctx, victim, GOOD_PW);
		const attackerAccount = userId(ctx, victim);
		assert.ok(attackerAccount, 'the attacker-made account exists');

		// the victim signs in with GitHub, which vouches for the address
		const gh = githubUser(ctx, { email: victim });
		const r = await socialLogin(ctx, 'github', gh.login);
		assertRefused(r.res, 400, 'provider login onto an unconfirmed account');
		assert.match(r.res.json.detail, /has not confirmed it.*connect GitHub from your account page/);
		assert.deepEqual(identityRows(ctx, 'github', gh.uid), [], 'no identity row');
		assert.equal(userCount(ctx, victim), 1, 'no second account with the address');

		// even once the address is confirmed (the victim clicks the mail), the
		// attacker's password opens an account that GitHub was never linked to
		assert.equal((await confirm(ctx, key)).status, 200);
		const a = await tryLogin(ctx, victim, GOOD_PW);
		assert.equal(a.res.status, 200, a.res.text);
		assert.equal((await profile(a.client)).id, attackerAccount);
		assert.deepEqual(identitiesOf(ctx, attackerAccount), [], 'the attacker account has no provider identity');
	});
}

test('an OIDC sign-in with a verified email is not linked to an unconfirmed signup either', async () => {
	// the same refusal whatever the step: never a second account with the address, never a session for the first
	const ctx = on.optional;
	const victim = uniqueEmail('victim');
	const s = await signup(ctx, victim, GOOD_PW);
	assert.equal(s.status, 201, s.text);
	const acct = oidcAccount(ctx, 'corp', { email: victim, email_verified: true });
	const r = await socialLogin(ctx, 'corp', acct.login);
	assertRefused(r.res, 400, 'OIDC login onto an unconfirmed account');
	assert.deepEqual(identityRows(ctx, 'corp', acct.uid), []);
	assert.equal(userCount(ctx, victim), 1);
});

// --- connecting a provider: POST with CSRF only --------------------------------------------

test('a cross-site GET authorize by a signed-in browser does not connect the provider to that account', async () => {
	const ctx = on.optional;
	const pw = await passwordAccount(ctx);
	const gh = githubUser(ctx); // whichever account is signed in at the provider
	const a = await authorize(pw.client, 'github', {
		headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' },
	});
	if (a.url) {
		// a flow was started: let the SPA's callback page finish it as it would
		const cb = await atProvider(ctx, 'github', a.url, { login: gh.login });
		const res = await finish(pw.client, 'github', callbackBody(cb));
		assert.notEqual(res.json?.detail, 'Connected', res.text);
	} else {
		assert.equal(a.res.status, 400, a.res.text);
		assert.match(a.res.json?.detail ?? '', /already signed in.*Connect/);
	}
	assert.deepEqual(identitiesOf(ctx, pw.id), [], 'nothing connected to the signed-in account');
	assert.equal(identityRows(ctx, 'github', gh.uid).filter((row) => row.user_id === pw.id).length, 0);
	assert.equal(
		Number(ctx.server.sqlRows('SELECT count(*) AS n FROM social_states WHERE link_user_id IS NOT NULL')[0].n),
		0,
		'no state bound to a user for linking',
	);
});

test('POST connect with CSRF gives the provider URL, and the callback connects the provider to the signed-in account', async () => {
	const ctx = on.optional;
	const pw = await passwordAccount(ctx);
	const gh = githubUser(ctx);
	const c = await connect(pw.client, 'github', { next: '/account' });
	assert.equal(c.res.status, 200, c.res.text);
	assert.deepEqual(Object.keys(c.res.json), ['url']);
	assert.equal(`${c.url.origin}${c.url.pathname}`, ctx.providers.github.authorizeUrl);
	assert.ok(pw.client.cookie('gh_social'), 'the state is bound to this browser');
	const cb = await atProvider(ctx, 'github', c.url, { login: gh.login });
	const res = await finish(pw.client, 'github', callbackBody(cb));
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.json, { detail: 'Connected', next: '/account' });
	assert.equal(identityRows(ctx, 'github', gh.uid)[0]?.user_id, pw.id);
	assert.equal((await profile(pw.client)).id, pw.id, 'still the same session');
});

test('POST connect without the CSRF header is 403 and starts nothing; anonymous is 401', async () => {
	const ctx = on.optional;
	const pw = await passwordAccount(ctx);
	const count = () => Number(ctx.server.sqlRows('SELECT count(*) AS n FROM social_states')[0].n);
	const before = count();
	const r = await connect(pw.client, 'github', { csrf: false });
	assert.equal(r.res.status, 403, r.res.text);
	assert.equal(r.url, null);
	assert.equal(count(), before, 'no state stored');
	const anon = await browser(ctx);
	const a = await connect(anon, 'github');
	assert.equal(a.res.status, 401, a.res.text);
	assert.equal(count(), before);
});

test('a connect finished after the browser signed in as someone else is refused', async () => {
	const ctx = on.optional;
	const first = await passwordAccount(ctx);
	const c = await connect(first.client, 'github');
	assert.equal(c.res.status, 200, c.res.text);
	const gh = githubUser(ctx);
	const cb = await atProvider(ctx, 'github', c.url, { login: gh.login });
	// same browser (same gh_social), now signed in to another account
	const secondEmail = uniqueEmail('second');
	createUser(ctx.server, secondEmail, GOOD_PW);
	const login = await first.client.post('/api/login/', { json: { email: secondEmail, password: GOOD_PW } });
	assert.equal(login.status, 200, login.text);
	const res = await finish(first.client, 'github', callbackBody(cb));
	assertRefused(res, 400, 'connect finished by another session');
	assert.deepEqual(identityRows(ctx, 'github', gh.uid), []);
});

// --- text that is not valid UTF-8 ------------------------------------------------------------

test('a next that is not valid UTF-8 or holds control characters goes to / through a whole login, and the server lives', async () => {
	const ctx = on.optional;
	for (const raw of ['/%FF', '/%C3', '/a%E2%82', '/%0Aevil', '/%7F']) {
		const client = await browser(ctx);
		const res = await client.get(`/api/social/github/authorize/?next=${raw}`);
		assert.equal(res.status, 302, `authorize next=${raw}: ${res.status} ${res.text}`);
		const gh = githubUser(ctx);
		const cb = await atProvider(ctx, 'github', new URL(res.headers.get('location')), { login: gh.login });
		const done = await finish(client, 'github', callbackBody(cb));
		assert.equal(done.status, 200, `next=${raw}: ${done.status} ${done.text}`);
		assert.equal(done.json.next, '/', `next=${raw}`);
		await alive(ctx);
	}
});

/** An honest login at the fake issuer whose ID token is forge({claims}); the POST's answer. */
async function fakeLogin(ctx, forge) {
	const acct = oidcAccount(ctx, 'fake');
	const client = await browser(ctx);
	const { url } = await authorize(client, 'fake');
	assert.ok(url, 'authorize fake');
	const cb = await atProvider(ctx, 'fake', url, { login: acct.login });
	ctx.providers.fake.nextIdToken(forge);
	return { res: await finish(client, 'fake', callbackBody(cb)), acct };
}

test('an ID token whose alg or kid would be cut mid-character in the error is 400, and the server lives', async () => {
	const ctx = on.optional;
	const fake = ctx.providers.fake;
	const cases = {
		// "algorithm %.20s refused": byte 20 falls inside a two-byte character
		// (cjose 0.6 already refuses an alg it does not know at import; kept in case it stops)
		alg: ({ claims }) => hmacJwt(claims, 'k', { alg: `A${'é'.repeat(30)}`, typ: 'JWT', kid: fake.mainKey.kid }),
		// "no key for kid %.40s"
		kid: ({ claims }) =>
			signJwt(claims, { alg: 'RS256', kid: `k${'é'.repeat(40)}`, typ: 'JWT' }, fake.mainKey.privateKey),
		'kid of three-byte characters': ({ claims }) =>
			signJwt(claims, { alg: 'RS256', kid: '€'.repeat(30), typ: 'JWT' }, fake.mainKey.privateKey),
	};
	for (const [what, forge] of Object.entries(cases)) {
		const { res, acct } = await fakeLogin(ctx, forge);
		assertRefused(res, 400, what);
		assert.equal(userCount(ctx, acct.email), 0, `${what}: no user`);
		assert.deepEqual(identityRows(ctx, 'fake', acct.uid), [], `${what}: no identity`);
		await alive(ctx);
	}
});
