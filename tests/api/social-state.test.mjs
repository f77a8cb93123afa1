// A social state is bound to the provider it was made for.  The attack: a
// GitHub state (with its PKCE challenge) carried into a Facebook dialog gives
// a Facebook code the state's verifier does redeem, so only the provider
// check stands between it and a login.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
	startProviders,
	startSocial,
	browser,
	authorize,
	atProvider,
	callbackBody,
	finish,
	facebookUser,
	assertRefused,
	assertHealthy,
	userCount,
	stopAll,
} from './social-harness.mjs';

let providers;
let ctx;

before(async () => {
	providers = await startProviders();
	ctx = await startSocial({ providers });
});
after(async () => {
	await stopAll(
		() => ctx && assertHealthy(ctx),
		() => ctx?.stop(),
		() => providers?.stop(),
	);
});

/** A Facebook dialog URL carrying GitHub's state and PKCE challenge, and the callback it leads to. */
async function crossedCallback(c, acct) {
	const gh = await authorize(c, 'github');
	const fb = await authorize(c, 'facebook');
	assert.ok(gh.url && fb.url, 'both authorize steps redirect');
	const url = new URL(fb.url);
	url.searchParams.set('state', gh.url.searchParams.get('state'));
	url.searchParams.set('code_challenge', gh.url.searchParams.get('code_challenge'));
	const cb = await atProvider(ctx, 'facebook', url, { login: acct.login });
	const body = callbackBody(cb);
	assert.equal(body.state, gh.url.searchParams.get('state'));
	assert.ok(body.code, 'Facebook issued a code');
	return { body, fb };
}

test('a GitHub state is refused at Facebook even with a Facebook code its verifier redeems', async () => {
	const c = await browser(ctx);
	const acct = facebookUser(ctx);
	const { body } = await crossedCallback(c, acct);
	assertRefused(await finish(c, 'facebook', body), 400, 'github state at facebook');
	assert.equal(userCount(ctx, acct.email), 0, 'no user made');
});

test("the same browser's own Facebook state still logs in (control)", async () => {
	const c = await browser(ctx);
	const acct = facebookUser(ctx);
	const { fb } = await crossedCallback(c, acct);
	const cb = await atProvider(ctx, 'facebook', fb.url, { login: acct.login });
	const r = await finish(c, 'facebook', callbackBody(cb));
	assert.equal(r.status, 200, r.text);
	assert.ok(c.cookie('sessionid'));
});
