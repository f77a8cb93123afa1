// Who must have a second factor, who can see and remove them, and the other ways
// in (docs/mfa-contract.md, issue 14): GATEHOUSE_MFA_REQUIRED=all and =staff
// (a restricted session until a factor is set up), the admin's view of a user's
// factors and their removal, social login through the second step
// (GATEHOUSE_MFA_SOCIAL) with the stand-in providers of tests/providers, and
// re-authentication with a TOTP code.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createToken, cookiesNamed } from './harness.mjs';
import { withToken } from './admin-harness.mjs';
import { SoftAuthenticator } from './softauthn.mjs';
import {
	startProviders,
	startSocial,
	socialLogin,
	loginOk,
	githubUser,
	assertHealthy,
	stopAll,
	userId as socialUserId,
} from './social-harness.mjs';
import {
	ANSWER,
	MAIL,
	THROTTLED,
	stepNow,
	wrongCode,
	freshCode,
	startMfa,
	newUser,
	passwordLogin,
	signedIn,
	pendingLogin,
	assertMfaRequired,
	secondStep,
	totpStep,
	assertCompleted,
	enableTotp,
	totpUser,
	loginWithTotp,
	makeStale,
	auditRows,
	mark,
	alertMail,
	addPasskey,
} from './mfa-harness.mjs';

/** Paths a restricted session must be refused, with a body for the unsafe ones. */
const GATED = [
	['GET', '/api/sessions/'],
	['GET', '/api/tokens/'],
	['POST', '/api/tokens/', { name: 't', password: 'x' }],
	['GET', '/api/social/identities/'],
	['POST', '/api/sessions/revoke-others/', {}],
	['POST', '/api/password/change/', { old_password: 'a', new_password: 'b' }],
	['GET', '/api/auth/verify/'],
];

async function assertRestricted(c, what) {
	const p = await c.get('/api/users/profile/');
	assert.equal(p.status, 200, `${what}: profile ${p.status} ${p.text}`);
	assert.equal(p.json.mfa_setup_required, true, `${what}: mfa_setup_required`);
	assert.equal(p.json.mfa_enabled, false, `${what}: mfa_enabled`);
	for (const [m, path, json] of GATED) {
		const r = await c.request(m, path, { json });
		assert.equal(r.status, 403, `${what}: ${m} ${path} in a restricted session: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, ANSWER.setupRequired, `${what}: ${m} ${path}`);
		assert.equal(r.headers.get('x-auth-user-id'), null, `${what}: no identity from ${path}`);
	}
}

async function assertUnrestricted(c, what) {
	const p = await c.get('/api/users/profile/');
	assert.equal(p.status, 200, `${what}: profile ${p.status} ${p.text}`);
	assert.notEqual(p.json.mfa_setup_required, true, `${what}: mfa_setup_required`);
	for (const path of ['/api/sessions/', '/api/tokens/', '/api/auth/verify/']) {
		const r = await c.get(path);
		assert.equal(r.status, 200, `${what}: GET ${path}: ${r.status} ${r.text}`);
	}
}

// --- MFA_REQUIRED ------------------------------------------------------------------

describe('GATEHOUSE_MFA_REQUIRED=all', () => {
	let ctx;
	before(async () => {
		ctx = await startMfa({ env: { GATEHOUSE_MFA_REQUIRED: 'all' }, publicHost: 'localhost' });
	});
	after(async () => {
		await ctx?.stop();
	});

	test('a user without a factor signs in to a restricted session; setting up TOTP lifts it at once', async () => {
		const user = newUser(ctx, 'all');
		const { client: c, res } = await passwordLogin(ctx, user);
		assert.equal(res.status, 200, `the password signs in: ${res.text}`);
		assert.deepEqual(res.json, ANSWER.success);
		assert.ok(c.cookie('sessionid'));
		await assertRestricted(c, 'no factor yet');

		// what still works
		const st = await c.get('/api/mfa/');
		assert.equal(st.status, 200, st.text);
		assert.equal(st.json.required, true);
		assert.deepEqual(st.json.totp, { enabled: false });
		assert.equal((await c.get('/api/login-set-cookie/')).status, 200);
		const re = await c.post('/api/auth/reauthenticate/', { json: { password: user.password } });
		assert.equal(re.status, 200, `reauthenticate in a restricted session: ${re.text}`);
		assert.equal((await c.post('/api/mfa/webauthn/register/options/')).status, 200, 'passkey set-up works');

		await enableTotp(c, user);
		await assertUnrestricted(c, 'after TOTP was confirmed');
		assert.equal((await c.get('/api/users/profile/')).json.mfa_enabled, true);
		assert.equal((await c.get('/api/mfa/')).json.required, true);

		// from now on the login has two steps and ends in a full session
		const p = await pendingLogin(ctx, user, { methods: ['totp', 'recovery_code'] });
		assertCompleted(await totpStep(p.client, user), p.client, 'second step');
		await assertUnrestricted(p.client, 'after the second step');
	});

	test('a passkey lifts the restriction too', async () => {
		const user = newUser(ctx, 'allpasskey');
		const c = await signedIn(ctx, user);
		await assertRestricted(c, 'before the passkey');
		await addPasskey(c, user, new SoftAuthenticator({ rpId: 'localhost', origin: ctx.origin }));
		await assertUnrestricted(c, 'after the passkey');
	});

	test('a restricted session can sign out', async () => {
		const user = newUser(ctx, 'alllogout');
		const c = await signedIn(ctx, user);
		const r = await c.post('/api/logout/');
		assert.equal(r.status, 200, r.text);
		assert.equal((await c.get('/api/users/profile/')).status, 401);
	});

	test('the restriction comes back when the last factor goes', async () => {
		const user = newUser(ctx, 'allremove');
		const c = await signedIn(ctx, user);
		await enableTotp(c, user);
		await assertUnrestricted(c, 'with TOTP');
		const d = await c.delete('/api/mfa/totp/');
		assert.equal(d.status, 200, d.text);
		const next = await signedIn(ctx, user);
		await assertRestricted(next, 'a new sign-in without a factor');
	});
});

describe('GATEHOUSE_MFA_REQUIRED=staff', () => {
	let ctx;
	before(async () => {
		ctx = await startMfa({ env: { GATEHOUSE_MFA_REQUIRED: 'staff' } });
	});
	after(async () => {
		await ctx?.stop();
	});

	test('staff and superusers are restricted until they set up a factor; other users are not', async () => {
		const plain = newUser(ctx, 'plain');
		const pc = await signedIn(ctx, plain);
		await assertUnrestricted(pc, 'an ordinary user');
		assert.equal((await pc.get('/api/mfa/')).json.required, false);

		for (const flag of ['--staff', '--superuser']) {
			const user = newUser(ctx, flag.slice(2), [flag]);
			const c = await signedIn(ctx, user);
			await assertRestricted(c, flag);
			assert.equal((await c.get('/api/mfa/')).json.required, true, flag);
			const adm = await c.get('/api/admin/users/');
			assert.equal(adm.status, 403, `${flag}: the admin API in a restricted session: ${adm.text}`);
			assert.deepEqual(adm.json, ANSWER.setupRequired);
			await enableTotp(c, user);
			await assertUnrestricted(c, `${flag} with TOTP`);
		}
	});
});

test('GATEHOUSE_MFA_REQUIRED accepts none, staff and all only', async () => {
	await assert.rejects(startServer({ env: { GATEHOUSE_MFA_REQUIRED: 'everyone' } }), /exited during start-up/);
	await assert.rejects(startServer({ env: { GATEHOUSE_MFA_SOCIAL: 'maybe' } }), /exited during start-up/);
});

// --- admin ------------------------------------------------------------------------------

describe('admin', () => {
	let ctx;
	let admin; // {user, client}: a superuser with an authenticator app, signed in through both steps
	before(async () => {
		ctx = await startMfa({ publicHost: 'localhost' });
		admin = await totpUser(ctx, 'admin', ['--superuser']);
	});
	after(async () => {
		await ctx?.stop();
	});

	const U = (id) => `/api/admin/users/${id}/`;

	test('staff see which factors a user has, never a secret', async () => {
		const { user, client: c } = await totpUser(ctx, 'seen');
		await addPasskey(c, user, new SoftAuthenticator({ rpId: 'localhost', origin: ctx.origin }));
		const r = await admin.client.get(U(user.id));
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(r.json.mfa, { totp: true, webauthn: 1, recovery_codes_unused: 10 });
		assert.ok(!r.text.includes(user.secret.replace(/=+$/, '')), 'no secret');
		for (const code of user.recoveryCodes) assert.ok(!r.text.includes(code), 'no recovery code');
		const none = newUser(ctx, 'nofactor');
		const r2 = await admin.client.get(U(none.id));
		assert.deepEqual(r2.json.mfa, { totp: false, webauthn: 0, recovery_codes_unused: 0 });
		// the list is not the place for it, and ordinary users see nothing
		const me = await signedIn(ctx, newUser(ctx, 'curious'));
		assert.equal((await me.get(U(user.id))).status, 403);
		assert.equal((await me.delete(`${U(user.id)}mfa/`)).status, 403);
	});

	test('staff remove every factor with a recent check; audited and mailed; the user signs in with a password alone', async () => {
		const { user, client: c } = await totpUser(ctx, 'removed');
		await addPasskey(c, user, new SoftAuthenticator({ rpId: 'localhost', origin: ctx.origin }));
		makeStale(ctx.server, admin.client);
		const stale = await admin.client.delete(`${U(user.id)}mfa/`);
		assert.equal(stale.status, 403, stale.text);
		assert.deepEqual(stale.json, ANSWER.reauthRequired);
		assert.equal((await admin.client.get(U(user.id))).json.mfa.totp, true, 'nothing removed');

		// the admin re-authenticates with their authenticator app
		const re = await admin.client.post('/api/auth/reauthenticate/', {
			json: { method: 'totp', code: await freshCode(admin.user) },
		});
		assert.equal(re.status, 200, re.text);
		assert.deepEqual(re.json, ANSWER.identityConfirmed);
		const noCsrf = await admin.client.delete(`${U(user.id)}mfa/`, { csrf: false });
		assert.equal(noCsrf.status, 403, noCsrf.text);
		const since = mark(ctx);
		const r = await admin.client.delete(`${U(user.id)}mfa/`);
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(r.json, ANSWER.factorsRemoved);
		assert.deepEqual((await admin.client.get(U(user.id))).json.mfa, {
			totp: false,
			webauthn: 0,
			recovery_codes_unused: 0,
		});
		const rows = auditRows(ctx.server, { user: user.id, event: 'admin.mfa_removed' });
		assert.equal(rows.length, 1);
		assert.equal(rows[0].actor_id, admin.user.id);
		await alertMail(ctx, user.email, MAIL.adminRemoved, since);

		const st = await c.get('/api/mfa/');
		assert.deepEqual(st.json.totp, { enabled: false });
		assert.deepEqual(st.json.webauthn, []);
		assert.equal(st.json.recovery_codes.unused, 0);
		const login = await passwordLogin(ctx, user);
		assert.equal(login.res.status, 200, `a password alone: ${login.res.text}`);

		const unknown = await admin.client.delete(`${U(99999999)}mfa/`);
		assert.equal(unknown.status, 404, unknown.text);
	});

	test('an admin API token cannot remove factors', async () => {
		const { user } = await totpUser(ctx, 'tokentarget');
		const key = createToken(ctx.server, admin.user.email);
		const r = await withToken(ctx.server, key, `${U(user.id)}mfa/`, { method: 'DELETE' });
		assert.equal(r.status, 403, r.text);
		const c = await loginWithTotp(ctx, user);
		assert.equal((await c.get('/api/mfa/')).json.totp.enabled, true, 'still there');
	});
});

// --- re-authentication with a TOTP code --------------------------------------------------

describe('re-authentication with a TOTP code', () => {
	let ctx;
	before(async () => {
		ctx = await startMfa();
	});
	after(async () => {
		await ctx?.stop();
	});

	test('a right code confirms a stale session once; a wrong or reused code does not', async () => {
		const { user, client: c } = await totpUser(ctx, 'reauth');
		makeStale(ctx.server, c);
		const wrong = await c.post('/api/auth/reauthenticate/', { json: { method: 'totp', code: wrongCode(user.secret) } });
		assert.equal(wrong.status, 400, wrong.text);
		assert.deepEqual(wrong.json, ANSWER.badTotp);
		assert.equal((await c.get('/api/mfa/')).json.reauth_fresh, false);
		const failed = auditRows(ctx.server, { user: user.id, event: 'mfa.failed' });
		assert.equal(failed.length, 1);
		assert.equal(failed[0].detail.method, 'totp');

		const code = await freshCode(user);
		const ok = await c.post('/api/auth/reauthenticate/', { json: { method: 'totp', code } });
		assert.equal(ok.status, 200, ok.text);
		assert.deepEqual(ok.json, ANSWER.identityConfirmed);
		assert.equal((await c.get('/api/mfa/')).json.reauth_fresh, true);
		assert.equal((await c.post('/api/mfa/recovery-codes/')).status, 200, 'a gated action passes');

		makeStale(ctx.server, c);
		const reused = await c.post('/api/auth/reauthenticate/', { json: { method: 'totp', code } });
		assert.equal(reused.status, 400, reused.text);
		assert.deepEqual(reused.json, ANSWER.badTotp);
		assert.equal((await c.get('/api/mfa/')).json.reauth_fresh, false);
		// and a code used here is not accepted at a login either
		const p = await pendingLogin(ctx, user);
		if (stepNow() <= user.lastStep + 1) {
			const r = await secondStep(p.client, { method: 'totp', code });
			assert.equal(r.status, 400, `the re-authentication code at a login: ${r.text}`);
		}
	});

	test('the method must be one the user has; wrong codes count against the account', async () => {
		const plain = newUser(ctx, 'reauthplain');
		const pc = await signedIn(ctx, plain);
		const r = await pc.post('/api/auth/reauthenticate/', { json: { method: 'totp', code: '123456' } });
		assert.equal(r.status, 400, r.text);
		assert.ok(Array.isArray(r.json?.method), r.text);
		const unknown = await pc.post('/api/auth/reauthenticate/', { json: { method: 'sms', code: '123456' } });
		assert.equal(unknown.status, 400, unknown.text);
		assert.ok(Array.isArray(unknown.json?.method), unknown.text);

		// five wrong answers per session, as per pending login
		const { user, client: a } = await totpUser(ctx, 'reauthlimit');
		makeStale(ctx.server, a);
		const wrongAt = (c) =>
			c.post('/api/auth/reauthenticate/', { json: { method: 'totp', code: wrongCode(user.secret) } });
		for (let i = 0; i < 5; i++) assert.deepEqual((await wrongAt(a)).json, ANSWER.badTotp, `session A, wrong #${i + 1}`);
		const heldA = await a.post('/api/auth/reauthenticate/', { json: { method: 'totp', code: await freshCode(user) } });
		assert.equal(heldA.status, 429, heldA.text);
		assert.match(heldA.json?.detail ?? '', THROTTLED);
		assert.ok(Number(heldA.headers.get('retry-after')) > 0);
		assert.equal((await a.get('/api/mfa/')).json.reauth_fresh, false);
		// ten per account: five more in another session use up the account's hour
		const b = await loginWithTotp(ctx, user);
		makeStale(ctx.server, b);
		for (let i = 0; i < 5; i++) assert.deepEqual((await wrongAt(b)).json, ANSWER.badTotp, `session B, wrong #${i + 1}`);
		assert.equal(auditRows(ctx.server, { user: user.id, event: 'mfa.failed' }).length, 10);
		// and the same account's second step is held too
		const login = await passwordLogin(ctx, user);
		assert.notEqual(login.res.status, 200, login.res.text);
		const held = login.res.status === 401 ? await totpStep(login.client, user) : login.res;
		assert.equal(held.status, 429, `a login's second step past the account's ten: ${held.text}`);
		assert.match(held.json?.detail ?? '', THROTTLED);
	});
});

// --- social login ---------------------------------------------------------------------------

describe('social login of a user with a second factor', () => {
	let providers;
	let on; // GATEHOUSE_MFA_SOCIAL default (true)
	let off; // GATEHOUSE_MFA_SOCIAL=false
	let all; // GATEHOUSE_MFA_REQUIRED=all
	before(async () => {
		providers = await startProviders();
		on = await startSocial({ providers, start: (env) => startMfa({ env }) });
		off = await startSocial({
			providers,
			start: (env) => startMfa({ env: { ...env, GATEHOUSE_MFA_SOCIAL: 'false' } }),
		});
		all = await startSocial({
			providers,
			start: (env) => startMfa({ env: { ...env, GATEHOUSE_MFA_REQUIRED: 'all' } }),
		});
	});
	after(async () => {
		await stopAll(
			() => on && assertHealthy(on),
			() => off && assertHealthy(off),
			() => all && assertHealthy(all),
			() => on?.stop(),
			() => off?.stop(),
			() => all?.stop(),
			() => providers?.stop(),
		);
	});

	/** A GitHub account, signed in through it once (account made) with an authenticator app set up. */
	async function socialTotpUser(ctx) {
		const acct = githubUser(ctx);
		const first = await loginOk(ctx, 'github', acct);
		const user = {
			email: acct.email,
			id: socialUserId(ctx, acct.email),
			secret: null,
			lastStep: -Infinity,
			recoveryCodes: [],
		};
		await enableTotp(first.client, user);
		assert.equal((await first.client.post('/api/logout/')).status, 200);
		return { acct, user };
	}

	test('goes through the second step by default, keeping next', async () => {
		const { acct, user } = await socialTotpUser(on);
		const r = await socialLogin(on, 'github', acct.login, { next: '/after/login' });
		assertMfaRequired(r.res, { methods: ['totp', 'recovery_code'], next: '/after/login', what: 'social login' });
		assert.equal((await r.client.get('/api/users/profile/')).status, 401, 'no session before the second step');
		const g = await r.client.get('/api/mfa/authenticate/');
		assert.equal(g.status, 200, g.text);
		assert.equal(g.json.next, '/after/login');
		const pending = auditRows(on.server, { user: user.id, event: 'login.mfa_pending' });
		assert.equal(pending.at(-1).detail.method, 'social:github');

		assertCompleted(await totpStep(r.client, user), r.client, 'social second step', { next: '/after/login' });
		assert.equal((await r.client.get('/api/users/profile/')).json.email, user.email);
		const ok = auditRows(on.server, { user: user.id, event: 'login.succeeded' });
		assert.equal(ok.at(-1).detail.method, 'social:github+totp');
		const sids = cookiesNamed(r.res, 'sessionid').filter((c) => c.value !== '');
		assert.equal(sids.length, 0);
	});

	test('a recovery code completes a social login too; a wrong code does not', async () => {
		const { acct, user } = await socialTotpUser(on);
		const r = await socialLogin(on, 'github', acct.login);
		assertMfaRequired(r.res, { what: 'social login' });
		const bad = await secondStep(r.client, { method: 'totp', code: wrongCode(user.secret) });
		assert.equal(bad.status, 400, bad.text);
		assertCompleted(
			await secondStep(r.client, { method: 'recovery_code', code: user.recoveryCodes[0] }),
			r.client,
			'recovery code',
			{ next: '/' },
		);
		const ok = auditRows(on.server, { user: user.id, event: 'login.succeeded' });
		assert.equal(ok.at(-1).detail.method, 'social:github+recovery_code');
	});

	test('with GATEHOUSE_MFA_SOCIAL=false the provider is enough', async () => {
		const { acct, user } = await socialTotpUser(off);
		const r = await loginOk(off, 'github', acct);
		assert.equal(r.res.json.detail, 'Success');
		assert.equal(cookiesNamed(r.res, 'gatehouse_mfa').length, 0, 'no pending login');
		assert.equal((await r.client.get('/api/users/profile/')).json.email, user.email);
		const ok = auditRows(off.server, { user: user.id, event: 'login.succeeded' });
		assert.match(ok.at(-1).detail.method, /^(social:)?github$/, 'the provider alone');
		assert.equal(auditRows(off.server, { user: user.id, event: 'login.mfa_pending' }).length, 0);
	});

	test('under GATEHOUSE_MFA_REQUIRED=all a social sign-in without a factor is restricted until one is set up', async () => {
		const acct = githubUser(all);
		const r = await loginOk(all, 'github', acct);
		await assertRestricted(r.client, 'social sign-in without a factor');
		const user = { email: acct.email, id: socialUserId(all, acct.email), secret: null, lastStep: -Infinity };
		await enableTotp(r.client, user);
		await assertUnrestricted(r.client, 'social sign-in after TOTP');
		const again = await socialLogin(all, 'github', acct.login);
		assertMfaRequired(again.res, { methods: ['totp', 'recovery_code'], what: 'next social sign-in' });
		assertCompleted(await totpStep(again.client, user), again.client, 'its second step', { next: '/' });
		await assertUnrestricted(again.client, 'after the second step');
	});
});
