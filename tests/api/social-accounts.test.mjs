// Social identities and existing accounts (docs/social-contract.md,
// docs/design.md §3 "an email from a provider links to an existing account only when
// the provider asserts it verified"): no linking by email unless the pipeline
// has associate_by_email, connecting a provider while signed in, listing and
// disconnecting identities, and what a social-only account can and cannot do.
// The default server has real mail (smtp.mjs) for the password reset.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createUser, loggedIn, cookiesNamed, uniqueEmail, ISO_UTC, q } from './harness.mjs';
import { startAccounts, resetLink, resetConfirm, tryLogin, GOOD_PW, GOOD_PW2 } from './accounts-harness.mjs';
import {
	startProviders,
	startSocial,
	watch,
	socialLogin,
	loginOk,
	githubUser,
	facebookUser,
	oidcAccount,
	assertRefused,
	assertHealthy,
	profile,
	userCount,
	userId,
	identityRows,
	stopAll,
	PIPELINE_ASSOCIATE,
	CORP_LABEL,
} from './social-harness.mjs';

const ONLY_WAY = 'This is your only way to sign in: set a password first (use Forgot password).';

let providers;
let ctx; // default pipeline, with mail
let assoc; // pipeline with associate_by_email

before(async () => {
	providers = await startProviders();
	ctx = await startSocial({ providers, start: (env) => startAccounts({ env }) });
	assoc = await startSocial({ providers, env: { GATEHOUSE_SOCIAL_PIPELINE: PIPELINE_ASSOCIATE } });
});
after(async () => {
	await stopAll(
		() => ctx && assertHealthy(ctx),
		() => assoc && assertHealthy(assoc),
		() => ctx?.stop(),
		() => assoc?.stop(),
		() => providers?.stop(),
	);
});

/** A password account made with the CLI (email confirmed), and a signed-in client for it. */
async function passwordAccount(on, email = uniqueEmail('pw')) {
	createUser(on.server, email, GOOD_PW);
	const client = watch(on, await loggedIn(on.server, email, GOOD_PW));
	return { email, client, id: (await profile(client)).id };
}

const identities = async (client) => {
	const r = await client.get('/api/social/identities/');
	assert.equal(r.status, 200, `identities: ${r.status} ${r.text}`);
	return r.json;
};

// --- linking by email ---------------------------------------------------------------

test('a password account with the same email is not linked without associate_by_email', async () => {
	const pw = await passwordAccount(ctx);
	const acct = githubUser(ctx, { email: pw.email });
	const r = await socialLogin(ctx, 'github', acct.login);
	assertRefused(r.res, 400, 'email taken, not linked');
	assert.deepEqual(identityRows(ctx, 'github', acct.uid), [], 'no identity row');
	assert.equal(userCount(ctx, pw.email), 1, 'no second account');
	const again = await tryLogin(ctx, pw.email, GOOD_PW);
	assert.equal(again.res.status, 200, 'the password account still logs in');
});

test('with associate_by_email a verified GitHub email signs in to the existing account', async () => {
	const pw = await passwordAccount(assoc);
	const acct = githubUser(assoc, { email: pw.email.toUpperCase() });
	const r = await loginOk(assoc, 'github', acct);
	assert.equal((await profile(r.client)).id, pw.id, 'the existing account');
	const rows = identityRows(assoc, 'github', acct.uid);
	assert.equal(rows.length, 1);
	assert.equal(rows[0].user_id, pw.id);
	assert.equal(userCount(assoc, pw.email), 1);
});

test('with associate_by_email an OIDC email links only when email_verified is true', async () => {
	const pw = await passwordAccount(assoc);
	const unverified = oidcAccount(assoc, 'google-oauth2', { email: pw.email, email_verified: false });
	const r = await socialLogin(assoc, 'google-oauth2', unverified.login);
	assertRefused(r.res, 400, 'unverified OIDC email');
	assert.deepEqual(identityRows(assoc, 'google-oauth2', unverified.uid), []);

	const verified = oidcAccount(assoc, 'corp', { email: pw.email, email_verified: true });
	const ok = await loginOk(assoc, 'corp', verified);
	assert.equal((await profile(ok.client)).id, pw.id);
	assert.equal(identityRows(assoc, 'corp', verified.uid)[0]?.user_id, pw.id);
});

test('with associate_by_email a Facebook email never links', async () => {
	const pw = await passwordAccount(assoc);
	const acct = facebookUser(assoc, { email: pw.email });
	const r = await socialLogin(assoc, 'facebook', acct.login);
	assertRefused(r.res, 400, 'facebook email');
	assert.deepEqual(identityRows(assoc, 'facebook', acct.uid), []);
	assert.equal(userCount(assoc, pw.email), 1);
});

test('with associate_by_email GitHub links only the verified primary address', async () => {
	const pw = await passwordAccount(assoc);
	const acct = githubUser(assoc, {
		emails: [
			{ email: `${pw.email}.primary.test`, primary: true, verified: true, visibility: null },
			{ email: pw.email, primary: false, verified: true, visibility: null },
		],
	});
	const r = await socialLogin(assoc, 'github', acct.login);
	if (r.res.status === 200) assert.notEqual((await profile(r.client)).id, pw.id, 'linked through a secondary address');
	assert.equal(identityRows(assoc, 'github', acct.uid).filter((row) => row.user_id === pw.id).length, 0);
});

// --- connecting while signed in ------------------------------------------------------------

test('connecting a provider while signed in (POST connect with CSRF) links it to the current account', async () => {
	const pw = await passwordAccount(ctx);
	const gh = githubUser(ctx); // another address than the account's
	const r = await socialLogin(ctx, 'github', gh.login, { client: pw.client, next: '/account', connect: true });
	assert.equal(r.res.status, 200, r.res.text);
	assert.deepEqual(r.res.json, { detail: 'Connected', next: '/account' });
	assert.equal((await profile(pw.client)).id, pw.id, 'still the same account');
	assert.equal(identityRows(ctx, 'github', gh.uid)[0]?.user_id, pw.id);
	assert.equal(userCount(ctx, gh.email), 0, 'no account for the provider address');

	// an explicit connect needs no verified email: Facebook connects too
	const fb = facebookUser(ctx);
	const f = await socialLogin(ctx, 'facebook', fb.login, { client: pw.client, connect: true });
	assert.equal(f.res.status, 200, f.res.text);
	assert.equal(f.res.json.detail, 'Connected');
	assert.equal(identityRows(ctx, 'facebook', fb.uid)[0]?.user_id, pw.id);

	// and from now on the provider signs in to this account
	const later = await loginOk(ctx, 'github', gh);
	assert.equal((await profile(later.client)).id, pw.id);
});

test('connecting a provider account that belongs to another user is 400', async () => {
	const gh = githubUser(ctx);
	const owner = await loginOk(ctx, 'github', gh);
	const ownerId = (await profile(owner.client)).id;
	const other = await passwordAccount(ctx);
	const r = await socialLogin(ctx, 'github', gh.login, { client: other.client, connect: true });
	assert.equal(r.res.status, 400, r.res.text);
	assert.equal(typeof r.res.json?.detail, 'string');
	assert.equal((await profile(other.client)).id, other.id, 'still signed in as themselves');
	assert.equal(identityRows(ctx, 'github', gh.uid)[0]?.user_id, ownerId, 'the identity stays with its owner');
	assert.deepEqual(await identities(other.client), []);
});

// --- identities list and disconnect ---------------------------------------------------------

test('identities lists each linked provider; anonymous is 401', async () => {
	const gh = githubUser(ctx);
	const r = await loginOk(ctx, 'github', gh);
	const corp = oidcAccount(ctx, 'corp');
	const c = await socialLogin(ctx, 'corp', corp.login, { client: r.client, connect: true });
	assert.equal(c.res.status, 200, c.res.text);
	const list = await identities(r.client);
	assert.equal(list.length, 2);
	for (const i of list) {
		assert.deepEqual(Object.keys(i).sort(), ['created', 'id', 'label', 'provider', 'uid'], JSON.stringify(i));
		assert.equal(typeof i.id, 'number');
		assert.match(i.created, ISO_UTC);
	}
	const by = Object.fromEntries(list.map((i) => [i.provider, i]));
	assert.equal(by.github.uid, gh.uid);
	assert.match(by.github.label, /github/i);
	assert.equal(by.corp.uid, corp.uid);
	assert.equal(by.corp.label, CORP_LABEL);

	const anon = watch(ctx, ctx.server.client());
	const a = await anon.get('/api/social/identities/');
	assert.equal(a.status, 401);
});

test('disconnecting the only way to sign in of a social-only account is 400', async () => {
	const gh = githubUser(ctx);
	const r = await loginOk(ctx, 'github', gh);
	const [only] = await identities(r.client);
	const d = await r.client.delete(`/api/social/identities/${only.id}/`);
	assert.equal(d.status, 400, d.text);
	assert.deepEqual(d.json, { detail: ONLY_WAY });
	assert.equal((await identities(r.client)).length, 1, 'still linked');
});

test('after setting a password through reset, the last identity can be disconnected', async () => {
	const gh = githubUser(ctx);
	const r = await loginOk(ctx, 'github', gh);
	const link = await resetLink(ctx, gh.email);
	const done = await resetConfirm(ctx, link, GOOD_PW2);
	assert.equal(done.status, 200, done.text);
	const pw = watch(ctx, await loggedIn(ctx.server, gh.email, GOOD_PW2));
	const [only] = await identities(pw);
	const d = await pw.delete(`/api/social/identities/${only.id}/`);
	assert.equal(d.status, 204, d.text);
	assert.deepEqual(await identities(pw), []);
	assert.deepEqual(identityRows(ctx, 'github', gh.uid), []);
	assert.equal((await profile(pw)).email, gh.email, 'the account stays');
	// the provider account is free again: it makes a new account? no — the email is taken
	const again = await socialLogin(ctx, 'github', gh.login);
	assert.equal(again.res.status, 400, `github after disconnect, email taken: ${again.res.text}`);
	void r;
});

test('with two identities one can be disconnected, then not the last', async () => {
	const gh = githubUser(ctx);
	const r = await loginOk(ctx, 'github', gh);
	const g = oidcAccount(ctx, 'google-oauth2');
	assert.equal((await socialLogin(ctx, 'google-oauth2', g.login, { client: r.client, connect: true })).res.status, 200);
	const list = await identities(r.client);
	assert.equal(list.length, 2);
	const google = list.find((i) => i.provider === 'google-oauth2');
	const github = list.find((i) => i.provider === 'github');
	const d = await r.client.delete(`/api/social/identities/${google.id}/`);
	assert.equal(d.status, 204, d.text);
	assert.deepEqual(
		(await identities(r.client)).map((i) => i.provider),
		['github'],
	);
	const last = await r.client.delete(`/api/social/identities/${github.id}/`);
	assert.equal(last.status, 400);
	assert.deepEqual(last.json, { detail: ONLY_WAY });
});

test("disconnecting an unknown identity or another user's is 404; without CSRF 403", async () => {
	const a = await passwordAccount(ctx);
	const b = await loginOk(ctx, 'github', githubUser(ctx));
	assert.equal(
		(await socialLogin(ctx, 'corp', oidcAccount(ctx, 'corp').login, { client: b.client, connect: true })).res.status,
		200,
	);
	const bList = await identities(b.client);
	for (const i of bList) {
		const d = await a.client.delete(`/api/social/identities/${i.id}/`);
		assert.equal(d.status, 404, `another user's identity: ${d.status} ${d.text}`);
	}
	assert.equal((await identities(b.client)).length, 2, 'untouched');
	assert.equal((await a.client.delete('/api/social/identities/999999999/')).status, 404);
	const noCsrf = await b.client.delete(`/api/social/identities/${bList[0].id}/`, { csrf: false });
	assert.equal(noCsrf.status, 403);
	assert.equal((await identities(b.client)).length, 2);
	const anon = watch(ctx, ctx.server.client());
	assert.equal(
		(await anon.delete(`/api/social/identities/${bList[0].id}/`, { csrf: false })).status,
		403,
		'anonymous without CSRF',
	);
});

test("a social-only account deleting another user's identity or an unknown id gets 404 too", async () => {
	const a = await loginOk(ctx, 'github', githubUser(ctx)); // one identity, no password
	const b = await loginOk(ctx, 'github', githubUser(ctx));
	const [theirs] = await identities(b.client);
	const d = await a.client.delete(`/api/social/identities/${theirs.id}/`);
	assert.equal((await identities(b.client)).length, 1, 'untouched');
	assert.equal(d.status, 404, `another user's identity: ${d.status} ${d.text}`);
	const u = await a.client.delete('/api/social/identities/999999999/');
	assert.equal(u.status, 404, `unknown id: ${u.status} ${u.text}`);
});

test('a social-only account cannot log in with any password', async () => {
	const gh = githubUser(ctx);
	await loginOk(ctx, 'github', gh);
	const stored = ctx.server.sqlRows(`SELECT password FROM users WHERE lower(email) = lower(${q(gh.email)})`)[0]
		.password;
	for (const pw of ['', '!', stored, `${stored}x`, 'password', GOOD_PW, 'None', 'null']) {
		const { res } = await tryLogin(ctx, gh.email, pw);
		assert.equal(res.status, 400, `password ${JSON.stringify(pw)}: ${res.status} ${res.text}`);
		assert.equal(cookiesNamed(res, 'sessionid').length, 0);
	}
	const { res } = await tryLogin(ctx, gh.email, stored);
	assert.deepEqual(res.json, { detail: 'Invalid credentials' });
	void userId;
});
