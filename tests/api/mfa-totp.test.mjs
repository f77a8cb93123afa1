// Authenticator app (TOTP) and recovery codes (docs/mfa-contract.md, issue 14):
// set-up and confirmation, the two-step login and its pending login (cookie,
// expiry, single use, what voids it), the ±1 step window and the no-replay
// rule, the limits on wrong answers, recovery codes, removal behind a recent
// re-authentication, and that secrets are neither shown again nor stored in
// clear.  Codes are computed here from the secret of the set-up answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createToken, csrfClient, cookiesNamed, sha256hex, sleep, unixNow, ISO_UTC } from './harness.mjs';
import { withToken } from './admin-harness.mjs';
import { SoftAuthenticator, b64url } from './softauthn.mjs';
import {
	ANSWER,
	MAIL,
	THROTTLED,
	RECOVERY_CODE,
	base32Decode,
	hotp,
	totp,
	codeAt,
	stepNow,
	wrongCode,
	withinOneStep,
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
	loginWithTotp,
	enableTotp,
	totpUser,
	makeStale,
	expirePending,
	auditRows,
	mark,
	alertMail,
} from './mfa-harness.mjs';

const TTL = 120; // GATEHOUSE_MFA_PENDING_TTL of this server
let ctx;
let server;
let early; // a user whose authenticator app was confirmed at the start: {user, client}

before(async () => {
	ctx = await startMfa({ env: { GATEHOUSE_MFA_PENDING_TTL: String(TTL) } });
	server = ctx.server;
	early = await totpUser(ctx, 'early');
});
after(async () => {
	await ctx?.stop();
});

const profile = (c) => c.get('/api/users/profile/');
const mfaState = async (c) => {
	const r = await c.get('/api/mfa/');
	assert.equal(r.status, 200, `GET /api/mfa/: ${r.status} ${r.text}`);
	return r.json;
};
const sessionsOf = (user) => server.sqlRows(`SELECT count(*) AS n FROM sessions WHERE user_id = ${user.id}`)[0].n;

function assertThrottled(r, what) {
	assert.equal(r.status, 429, `${what}: wanted 429, got ${r.status} ${r.text}`);
	assert.match(r.json?.detail ?? '', THROTTLED, what);
	assert.ok(Number(r.headers.get('retry-after')) > 0, `${what}: Retry-After ${r.headers.get('retry-after')}`);
	assert.equal(cookiesNamed(r, 'sessionid').filter((c) => c.value !== '').length, 0, `${what}: no session`);
}

function assertBadCode(r, what, body = ANSWER.badTotp) {
	assert.equal(r.status, 400, `${what}: wanted 400, got ${r.status} ${r.text}`);
	assert.deepEqual(r.json, body, what);
	assert.equal(cookiesNamed(r, 'sessionid').filter((c) => c.value !== '').length, 0, `${what}: no session`);
}

function assertExpired(r, what) {
	assert.equal(r.status, 401, `${what}: wanted 401 mfa_expired, got ${r.status} ${r.text}`);
	assert.deepEqual(r.json, ANSWER.expired, what);
	// a 401 names its scheme (RFC 9110 §15.5.2), as the other 401s do
	assert.equal(r.headers.get('www-authenticate'), 'Token', `${what}: WWW-Authenticate`);
	assert.equal(cookiesNamed(r, 'sessionid').filter((c) => c.value !== '').length, 0, `${what}: no session`);
}

async function assertNoSession(c, what) {
	const r = await profile(c);
	assert.equal(r.status, 401, `${what}: profile ${r.status} ${r.text}`);
	assert.deepEqual(r.json, ANSWER.notProvided, what);
}

// --- the code computation itself ------------------------------------------------

test("the tests' own HOTP/TOTP reproduce the vectors of RFC 4226 and RFC 6238", () => {
	const key = Buffer.from('12345678901234567890');
	assert.deepEqual(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'), key);
	assert.deepEqual(base32Decode('gezd gnbv gy3t qojq gezd gnbv gy3t qojq'), key);
	const rfc4226 = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
	rfc4226.forEach((want, i) => assert.equal(hotp(key, i), want, `RFC 4226 count ${i}`));
	for (const [t, want] of [
		[59, '94287082'],
		[1111111109, '07081804'],
		[1111111111, '14050471'],
		[1234567890, '89005924'],
		[2000000000, '69279037'],
		[20000000000, '65353130'],
	])
		assert.equal(hotp(key, Math.floor(t / 30), 8), want, `RFC 6238 T=${t}`);
	assert.equal(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59), '287082');
});

// --- set-up ------------------------------------------------------------------------

test('set-up answers a new secret and otpauth URL each call; nothing is enabled until a right code confirms it', async () => {
	const user = newUser(ctx, 'setup');
	const c = await signedIn(ctx, user);
	let st = await mfaState(c);
	assert.deepEqual(st.totp, { enabled: false });
	assert.deepEqual(st.webauthn, []);
	assert.equal(st.required, false);
	assert.equal(st.reauth_fresh, true, 'a fresh sign-in counts as recent');
	assert.equal(st.recovery_codes?.unused, 0, JSON.stringify(st));
	assert.equal((await profile(c)).json.mfa_enabled, false);

	const s1 = await c.post('/api/mfa/totp/setup/');
	assert.equal(s1.status, 200, s1.text);
	assert.deepEqual(Object.keys(s1.json).sort(), ['algorithm', 'digits', 'otpauth_url', 'period', 'secret']);
	assert.equal(s1.json.algorithm, 'SHA1');
	assert.equal(s1.json.digits, 6);
	assert.equal(s1.json.period, 30);
	assert.match(s1.json.secret, /^[A-Z2-7]+=*$/, 'base32');
	assert.ok(base32Decode(s1.json.secret).length >= 20, `at least 160 bits: ${s1.json.secret}`);
	const url = new URL(s1.json.otpauth_url);
	assert.equal(url.protocol, 'otpauth:');
	assert.equal(url.host, 'totp');
	assert.equal(url.searchParams.get('secret'), s1.json.secret.replace(/=+$/, ''));
	assert.equal(url.searchParams.get('issuer'), 'Gatehouse', 'MFA_ISSUER defaults to the product name');
	assert.ok(decodeURIComponent(url.pathname).includes(user.email), `the label names the account: ${url.pathname}`);
	for (const [k, v] of [
		['algorithm', 'SHA1'],
		['digits', '6'],
		['period', '30'],
	])
		if (url.searchParams.has(k)) assert.equal(url.searchParams.get(k), v, k);

	const s2 = await c.post('/api/mfa/totp/setup/');
	assert.equal(s2.status, 200, s2.text);
	assert.notEqual(s2.json.secret, s1.json.secret, 'a new secret each call');

	st = await mfaState(c);
	assert.deepEqual(st.totp, { enabled: false }, 'not enabled before a code confirms it');
	assert.equal((await profile(c)).json.mfa_enabled, false);
	const other = await passwordLogin(ctx, user);
	assert.equal(other.res.status, 200, `a password still signs in: ${other.res.text}`);

	const older = await c.post('/api/mfa/totp/confirm/', { json: { code: totp(s1.json.secret) } });
	assertBadCode(older, "the replaced secret's code");
	const wrong = await c.post('/api/mfa/totp/confirm/', { json: { code: wrongCode(s2.json.secret) } });
	assertBadCode(wrong, 'a wrong code');
	assert.deepEqual((await mfaState(c)).totp, { enabled: false }, 'still not enabled');

	const since = mark(ctx);
	const ok = await c.post('/api/mfa/totp/confirm/', { json: { code: totp(s2.json.secret) } });
	assert.equal(ok.status, 200, ok.text);
	assert.deepEqual(Object.keys(ok.json).sort(), ['detail', 'recovery_codes']);
	assert.equal(ok.json.detail, ANSWER.totpEnabled);
	const codes = ok.json.recovery_codes;
	assert.equal(codes.length, 10, JSON.stringify(codes));
	for (const code of codes) assert.match(code, RECOVERY_CODE);
	assert.equal(new Set(codes).size, 10, 'ten different codes');

	st = await mfaState(c);
	assert.equal(st.totp.enabled, true);
	assert.match(st.totp.created, ISO_UTC);
	assert.deepEqual(st.recovery_codes, { total: 10, unused: 10 });
	assert.equal((await profile(c)).json.mfa_enabled, true);
	assert.equal((await c.get('/api/users/profile/')).status, 200, 'the enabling session stays signed in');

	const again = await c.post('/api/mfa/totp/setup/');
	assert.equal(again.status, 409, again.text);
	assert.deepEqual(again.json, ANSWER.totpExists);

	const m = await alertMail(ctx, user.email, MAIL.totpAdded, since);
	assert.ok(!m.text.includes(s2.json.secret), 'the mail does not carry the secret');
	for (const code of codes) assert.ok(!m.text.includes(code), 'the mail does not carry a recovery code');
	assert.equal(auditRows(server, { user: user.id, event: 'mfa.totp_enabled' }).length, 1);
});

test('confirming without a set-up is 409 mfa_setup_missing; a malformed code is a field error', async () => {
	const user = newUser(ctx, 'nosetup');
	const c = await signedIn(ctx, user);
	const r = await c.post('/api/mfa/totp/confirm/', { json: { code: '123456' } });
	assert.equal(r.status, 409, r.text);
	assert.deepEqual(r.json, ANSWER.setupMissing);
	const s = await c.post('/api/mfa/totp/setup/');
	assert.equal(s.status, 200, s.text);
	for (const code of ['12345', '1234567', 'abcdef', '']) {
		const bad = await c.post('/api/mfa/totp/confirm/', { json: { code } });
		assert.equal(bad.status, 400, `${JSON.stringify(code)}: ${bad.status} ${bad.text}`);
		assert.ok(Array.isArray(bad.json?.code), `a "code" field error for ${JSON.stringify(code)}: ${bad.text}`);
	}
	const missing = await c.post('/api/mfa/totp/confirm/', { json: {} });
	assert.equal(missing.status, 400, missing.text);
	assert.ok(Array.isArray(missing.json?.code), missing.text);
	assert.deepEqual((await mfaState(c)).totp, { enabled: false });
});

test('a set-up older than ten minutes must be started again', async () => {
	const user = newUser(ctx, 'oldsetup');
	const c = await signedIn(ctx, user);
	const s = await c.post('/api/mfa/totp/setup/');
	assert.equal(s.status, 200, s.text);
	server.sql(`UPDATE mfa_totp SET created_at = ${unixNow() - 601} WHERE user_id = ${user.id}`);
	const r = await c.post('/api/mfa/totp/confirm/', { json: { code: totp(s.json.secret) } });
	assert.equal(r.status, 409, r.text);
	assert.deepEqual(r.json, ANSWER.setupMissing);
	assert.deepEqual((await mfaState(c)).totp, { enabled: false });
	const again = await c.post('/api/mfa/totp/setup/');
	assert.equal(again.status, 200, again.text);
	const ok = await c.post('/api/mfa/totp/confirm/', { json: { code: totp(again.json.secret) } });
	assert.equal(ok.status, 200, `a new set-up confirms: ${ok.text}`);
});

test('GET /api/mfa/ and set-up need a signed-in session; set-up and confirm need the CSRF token', async () => {
	const anon = await csrfClient(server);
	for (const [m, p] of [
		['GET', '/api/mfa/'],
		['POST', '/api/mfa/totp/setup/'],
		['POST', '/api/mfa/totp/confirm/'],
		['DELETE', '/api/mfa/totp/'],
		['POST', '/api/mfa/recovery-codes/'],
	]) {
		const r = await anon.request(m, p, { json: m === 'GET' ? undefined : { code: '123456' } });
		assert.equal(r.status, 401, `${m} ${p} anonymous: ${r.status} ${r.text}`);
	}
	const user = newUser(ctx, 'csrfsetup');
	const c = await signedIn(ctx, user);
	const r = await c.post('/api/mfa/totp/setup/', { csrf: false });
	assert.equal(r.status, 403, `set-up without CSRF: ${r.status} ${r.text}`);
	const r2 = await c.post('/api/mfa/totp/confirm/', { json: { code: '123456' }, csrf: false });
	assert.equal(r2.status, 403, `confirm without CSRF: ${r2.status} ${r2.text}`);
});

// --- the pending login ----------------------------------------------------------------

test('with an authenticator app a right password gives 401 mfa_required and a pending cookie, never a session', async () => {
	const { user } = await totpUser(ctx, 'pending');
	const before = sessionsOf(user);
	const { client: c, res } = await passwordLogin(ctx, user);
	assertMfaRequired(res, { what: 'password step' });
	assert.deepEqual(res.json, {
		detail: ANSWER.mfaRequiredDetail,
		code: 'mfa_required',
		mfa: { methods: ['totp', 'recovery_code'], expires_in: TTL },
	});
	const [ck] = cookiesNamed(res, 'gatehouse_mfa');
	assert.ok(ck.attrs.httponly, 'HttpOnly');
	assert.equal(String(ck.attrs.samesite).toLowerCase(), 'lax');
	assert.equal(ck.attrs.path, '/');
	assert.equal(ck.attrs['max-age'], String(TTL), 'Max-Age = MFA_PENDING_TTL');
	assert.ok(!ck.attrs.secure, 'not Secure on an http origin');
	assert.ok(ck.value.length >= 32, `a long random key: ${ck.value}`);
	assert.ok(res.headers.get('cache-control')?.includes('no-store'));
	assert.equal(res.headers.get('www-authenticate'), 'Token', 'a 401 names its scheme (RFC 9110 §15.5.2)');

	await assertNoSession(c, 'only the pending cookie');
	assert.equal((await c.get('/api/sessions/')).status, 401, 'sessions with only the pending cookie');
	const v = await c.get('/api/auth/verify/');
	assert.ok(v.status < 200 || v.status > 299, `verify with only the pending cookie: ${v.status}`);
	assert.equal(v.headers.get('x-auth-user-id'), null);
	assert.equal(sessionsOf(user), before, 'no session row was made');

	const g = await c.get('/api/mfa/authenticate/');
	assert.equal(g.status, 200, g.text);
	assert.deepEqual(g.json.methods, ['totp', 'recovery_code']);
	assert.ok(g.json.expires_in > 0 && g.json.expires_in <= TTL, `expires_in ${g.json.expires_in}`);
	assert.equal(g.json.next, undefined, 'next is for social logins only');

	const rows = auditRows(server, { user: user.id, event: 'login.mfa_pending' });
	assert.equal(rows.length, 1);
	assert.equal(rows[0].detail.method, 'password');
	assert.equal(auditRows(server, { user: user.id, event: 'login.succeeded' }).length, 1, 'only the first sign-in');

	// a wrong password is the ordinary refusal, with no pending login
	const w = await csrfClient(server);
	const wr = await w.post('/api/login/', { json: { email: user.email, password: 'not the password at all' } });
	assert.equal(wr.status, 400, wr.text);
	assert.deepEqual(wr.json, ANSWER.invalidCredentials);
	assert.equal(cookiesNamed(wr, 'gatehouse_mfa').length, 0, 'no pending cookie for a wrong password');
});

test('without a pending cookie the second step and its status are 401 mfa_expired', async () => {
	const c = await csrfClient(server);
	assertExpired(await c.get('/api/mfa/authenticate/'), 'GET without cookie');
	assertExpired(await secondStep(c, { method: 'totp', code: '123456' }), 'POST without cookie');
	c.setCookie('gatehouse_mfa', 'A'.repeat(43));
	assertExpired(await c.get('/api/mfa/authenticate/'), 'GET with a made-up cookie');
	assertExpired(await secondStep(c, { method: 'totp', code: '123456' }), 'POST with a made-up cookie');
});

test('the right code completes the login: 200, a session, a rotated csrftoken, the pending cookie deleted', async () => {
	const { user } = await totpUser(ctx, 'complete');
	const { client: c } = await pendingLogin(ctx, user, { methods: ['totp', 'recovery_code'] });
	const csrfBefore = c.cookie('csrftoken');
	const r = await totpStep(c, user);
	assertCompleted(r, c, 'right code');
	const mfaCookie = cookiesNamed(r, 'gatehouse_mfa');
	assert.equal(mfaCookie.length, 1, 'the pending cookie is deleted by a Set-Cookie');
	assert.ok(mfaCookie[0].value === '' || Number(mfaCookie[0].attrs['max-age']) <= 0, mfaCookie[0].raw);
	assert.ok(c.cookie('csrftoken'), 'a csrftoken');
	assert.notEqual(c.cookie('csrftoken'), csrfBefore, 'the csrftoken is rotated');
	const p = await profile(c);
	assert.equal(p.status, 200, p.text);
	assert.equal(p.json.email, user.email);
	assert.equal(p.json.mfa_enabled, true);
	assert.equal((await mfaState(c)).reauth_fresh, true, 'the second step counts as a recent check');
	const ok = auditRows(server, { user: user.id, event: 'login.succeeded' });
	assert.equal(ok.at(-1).detail.method, 'password+totp', JSON.stringify(ok));
});

test('the password step leaves a session the browser already holds as it was', async () => {
	const x = newUser(ctx, 'holder');
	const { user: y } = await totpUser(ctx, 'arriving');
	const c = await signedIn(ctx, x);
	const sid = c.cookie('sessionid');
	const { res } = await passwordLogin(ctx, y, c);
	assertMfaRequired(res, { what: 'second account in a signed-in browser' });
	assert.equal(c.cookie('sessionid'), sid, 'the session cookie is untouched');
	const p = await profile(c);
	assert.equal(p.status, 200, p.text);
	assert.equal(p.json.email, x.email, 'still the first account');
	assertCompleted(await totpStep(c, y), c, 'second account completes');
	assert.notEqual(c.cookie('sessionid'), sid, 'a new session');
	assert.equal((await profile(c)).json.email, y.email);
});

test('a code is accepted once: the same code is refused at the next login, as is the code that confirmed the set-up', async () => {
	const user = newUser(ctx, 'replay');
	const c0 = await signedIn(ctx, user);
	await enableTotp(c0, user);
	const confirmStep = user.lastStep;
	// the confirming code, while it is still inside the window
	const p0 = await pendingLogin(ctx, user);
	if (stepNow() <= confirmStep + 1)
		assertBadCode(
			await secondStep(p0.client, { method: 'totp', code: codeAt(user.secret, confirmStep) }),
			'confirming code',
		);
	const code = await freshCode(user);
	const p1 = await pendingLogin(ctx, user);
	assertCompleted(await secondStep(p1.client, { method: 'totp', code }), p1.client, 'first use');
	const p2 = await pendingLogin(ctx, user);
	assertBadCode(await secondStep(p2.client, { method: 'totp', code }), 'the same code at a new login');
	assertCompleted(await totpStep(p2.client, user), p2.client, 'a fresh code on the same pending login');
	assert.ok(auditRows(server, { user: user.id, event: 'mfa.failed' }).every((r) => r.detail.method === 'totp'));
});

test('one code raced on one pending login, or on two, signs in once', async () => {
	const { user } = await totpUser(ctx, 'race');
	const before = sessionsOf(user);
	const p = await pendingLogin(ctx, user);
	const code = await freshCode(user);
	const rs = await Promise.all(Array.from({ length: 8 }, () => secondStep(p.client, { method: 'totp', code })));
	const st = rs.map((r) => r.status);
	assert.equal(st.filter((s) => s === 200).length, 1, `exactly one success: ${st}`);
	assert.ok(
		st.every((s) => s === 200 || s === 400 || s === 401),
		`the others are refused (400 used code or 401 used login): ${st}`,
	);
	assert.equal(sessionsOf(user), before + 1, 'one session made');

	const a = await pendingLogin(ctx, user);
	const b = await pendingLogin(ctx, user);
	const code2 = await freshCode(user);
	const [ra, rb] = await Promise.all([
		secondStep(a.client, { method: 'totp', code: code2 }),
		secondStep(b.client, { method: 'totp', code: code2 }),
	]);
	assert.deepEqual([ra.status, rb.status].sort(), [200, 400], `one code, two logins: ${ra.text} | ${rb.text}`);
	assert.equal(sessionsOf(user), before + 2);
});

test('one recovery code raced on two pending logins signs in once', async () => {
	const { user } = await totpUser(ctx, 'racecode');
	const before = sessionsOf(user);
	const logins = [];
	for (let i = 0; i < 4; i++) logins.push(await pendingLogin(ctx, user));
	const [code] = user.recoveryCodes;
	const rs = await Promise.all(logins.map((p) => secondStep(p.client, { method: 'recovery_code', code })));
	const st = rs.map((r) => r.status);
	assert.equal(st.filter((x) => x === 200).length, 1, `exactly one success: ${st}`);
	for (const r of rs.filter((x) => x.status !== 200)) assertBadCode(r, 'the losers', ANSWER.badRecovery);
	assert.equal(sessionsOf(user), before + 1);
	assert.equal(auditRows(server, { user: user.id, event: 'mfa.recovery_code_used' }).length, 1);
});

test('a pending login lives in the store: it survives a restart of the server', async () => {
	const own = await startMfa();
	let srv = own.server;
	try {
		const { user } = await totpUser(own, 'restart');
		const p = await pendingLogin(own, user);
		await srv.kill('SIGTERM');
		const env = Object.fromEntries(
			Object.entries(srv.env).filter(
				([k]) => k.startsWith('GATEHOUSE_') && !/^GATEHOUSE_(LISTEN|DATABASE|STATIC_DIR|PUBLIC_ORIGIN)$/.test(k),
			),
		);
		srv = await startServer({ reuse: srv, env });
		// the same browser, now talking to the new process
		const c = srv.client();
		for (const name of ['gatehouse_mfa', 'csrftoken']) c.setCookie(name, p.client.cookie(name));
		const g = await c.get('/api/mfa/authenticate/');
		assert.equal(g.status, 200, `after the restart: ${g.text}`);
		assertCompleted(await totpStep(c, user), c, 'second step after the restart');
	} finally {
		await srv.stop();
		await own.smtp.stop();
	}
});

test('the pending login is single use: its cookie replayed after success is mfa_expired', async () => {
	const { user } = await totpUser(ctx, 'single');
	const p = await pendingLogin(ctx, user);
	assertCompleted(await totpStep(p.client, user), p.client, 'first completion');
	const thief = await csrfClient(server);
	thief.setCookie('gatehouse_mfa', p.pending);
	assertExpired(await thief.get('/api/mfa/authenticate/'), 'status after success');
	assertExpired(await totpStep(thief, user), 'a fresh right code on a used pending login');
	assertExpired(
		await secondStep(thief, { method: 'recovery_code', code: user.recoveryCodes[0] }),
		'a recovery code on a used pending login',
	);
	await assertNoSession(thief, 'the replaying browser');
	// the same browser too, cookie put back
	p.client.setCookie('gatehouse_mfa', p.pending);
	p.client.deleteCookie('sessionid');
	assertExpired(
		await secondStep(p.client, { method: 'recovery_code', code: user.recoveryCodes[1] }),
		'the same browser replaying',
	);
});

test('a pending login expires', async () => {
	const { user } = await totpUser(ctx, 'expire');
	const before = sessionsOf(user);
	const p = await pendingLogin(ctx, user);
	expirePending(server, p.pending);
	assertExpired(await p.client.get('/api/mfa/authenticate/'), 'status after expiry');
	assertExpired(await totpStep(p.client, user), 'right code after expiry');
	assertExpired(
		await secondStep(p.client, { method: 'recovery_code', code: user.recoveryCodes[0] }),
		'recovery code after expiry',
	);
	await assertNoSession(p.client, 'after expiry');
	assert.equal(sessionsOf(user), before);
	// signing in again works, and the recovery code was not spent
	const again = await pendingLogin(ctx, user);
	assertCompleted(
		await secondStep(again.client, { method: 'recovery_code', code: user.recoveryCodes[0] }),
		again.client,
		'a new login',
	);
});

test("a pending login cannot be completed with another user's code", async () => {
	const { user: a } = await totpUser(ctx, 'owner');
	const { user: b } = await totpUser(ctx, 'intruder');
	const p = await pendingLogin(ctx, a);
	assertBadCode(await secondStep(p.client, { method: 'totp', code: await freshCode(b) }), "B's code for A");
	assertBadCode(
		await secondStep(p.client, { method: 'recovery_code', code: b.recoveryCodes[0] }),
		"B's recovery code for A",
		ANSWER.badRecovery,
	);
	assertCompleted(await totpStep(p.client, a), p.client, "A's own code");
	assert.equal((await profile(p.client)).json.email, a.email);
	// B's recovery code was not spent
	const pb = await pendingLogin(ctx, b);
	assertCompleted(await secondStep(pb.client, { method: 'recovery_code', code: b.recoveryCodes[0] }), pb.client, 'B');
});

test('a password change voids a pending login; so does deactivating the account', async () => {
	const { user, client: signed } = await totpUser(ctx, 'voided');
	const p = await pendingLogin(ctx, user);
	const NEW_PW = 'a completely new passphrase 81';
	const ch = await signed.post('/api/password/change/', {
		json: { old_password: user.password, new_password: NEW_PW },
	});
	assert.equal(ch.status, 200, `password change: ${ch.status} ${ch.text}`);
	assertExpired(await p.client.get('/api/mfa/authenticate/'), 'status after the password change');
	assertExpired(await totpStep(p.client, user), 'right code after the password change');
	await assertNoSession(p.client, 'after the password change');
	user.password = NEW_PW;

	const q2 = await pendingLogin(ctx, user);
	server.sql(`UPDATE users SET is_active = 0 WHERE id = ${user.id}`);
	assertExpired(await totpStep(q2.client, user), 'right code after deactivation');
	await assertNoSession(q2.client, 'after deactivation');
});

test('the second step needs the CSRF token; the refusal costs nothing', async () => {
	const { user } = await totpUser(ctx, 'csrf2');
	const p = await pendingLogin(ctx, user);
	const code = await freshCode(user);
	const r = await secondStep(p.client, { method: 'totp', code }, { csrf: false });
	assert.equal(r.status, 403, `no CSRF: ${r.status} ${r.text}`);
	assert.equal(cookiesNamed(r, 'sessionid').length, 0);
	const r2 = await secondStep(p.client, { method: 'totp', code }, { csrf: 'x'.repeat(64) });
	assert.equal(r2.status, 403, `wrong CSRF: ${r2.status} ${r2.text}`);
	assert.equal((await p.client.get('/api/mfa/authenticate/')).status, 200, 'the pending login lives on');
	assertCompleted(await secondStep(p.client, { method: 'totp', code }), p.client, 'with the token, the same code');
});

test('a second step without a usable method is a "method" field error', async () => {
	const { user } = await totpUser(ctx, 'method');
	const p = await pendingLogin(ctx, user);
	for (const [what, body] of [
		['missing', { code: '123456' }],
		['unknown', { method: 'sms', code: '123456' }],
		['not a string', { method: 7, code: '123456' }],
	]) {
		const r = await secondStep(p.client, body);
		assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
		assert.ok(Array.isArray(r.json?.method) && typeof r.json.method[0] === 'string', `${what}: ${r.text}`);
	}
	const noCode = await secondStep(p.client, { method: 'totp' });
	assert.equal(noCode.status, 400, noCode.text);
	assert.ok(Array.isArray(noCode.json?.code), `a "code" field error: ${noCode.text}`);
	const notJson = await p.client.post('/api/mfa/authenticate/', {
		body: '{"method": "totp", ',
		headers: { 'Content-Type': 'application/json' },
	});
	assert.equal(notJson.status, 400, `malformed JSON: ${notJson.status} ${notJson.text}`);
	assertCompleted(await totpStep(p.client, user), p.client, 'then the right code');

	// webauthn for a user without a passkey: a well-formed assertion of a key this user
	// never had, so that only the method is wrong
	const q2 = await pendingLogin(ctx, user);
	const soft = new SoftAuthenticator({ rpId: 'localhost', origin: ctx.origin });
	soft.create({ challenge: 'AA', rp: { id: 'localhost' }, user: { id: 'AA' } });
	const stray = soft.get({ challenge: b64url(Buffer.alloc(32, 1)), rpId: 'localhost' });
	const r = await secondStep(q2.client, { method: 'webauthn', credential: stray });
	assert.equal(r.status, 400, r.text);
	assert.ok(
		Array.isArray(r.json?.method) && typeof r.json.method[0] === 'string',
		`webauthn without a passkey is a "method" error (not enabled for this user): ${r.text}`,
	);
});

// --- the ±1 step window -----------------------------------------------------------------

test('at confirmation a code one step before or after is accepted, two steps away refused', async () => {
	await withinOneStep(async (s) => {
		const ca = await signedIn(ctx, newUser(ctx, 'winconf'));
		const cb = await signedIn(ctx, newUser(ctx, 'winconf'));
		const sa = (await ca.post('/api/mfa/totp/setup/')).json.secret;
		const sb = (await cb.post('/api/mfa/totp/setup/')).json.secret;
		assertBadCode(await ca.post('/api/mfa/totp/confirm/', { json: { code: codeAt(sa, s - 2) } }), 'confirm at -2');
		assertBadCode(await ca.post('/api/mfa/totp/confirm/', { json: { code: codeAt(sa, s + 2) } }), 'confirm at +2');
		const ra = await ca.post('/api/mfa/totp/confirm/', { json: { code: codeAt(sa, s - 1) } });
		assert.equal(ra.status, 200, `confirm at -1: ${ra.text}`);
		const rb = await cb.post('/api/mfa/totp/confirm/', { json: { code: codeAt(sb, s + 1) } });
		assert.equal(rb.status, 200, `confirm at +1: ${rb.text}`);
	});
});

test('at login a code one step after is accepted, two steps before or after refused', async () => {
	const { user } = await totpUser(ctx, 'winlogin');
	await withinOneStep(async (s) => {
		// the user's last accepted code is at most this step's: s + 1 is unused
		const p = await pendingLogin(ctx, user);
		assertBadCode(await secondStep(p.client, { method: 'totp', code: codeAt(user.secret, s + 2) }), 'login at +2');
		assertBadCode(await secondStep(p.client, { method: 'totp', code: codeAt(user.secret, s - 2) }), 'login at -2');
		assertCompleted(
			await secondStep(p.client, { method: 'totp', code: codeAt(user.secret, s + 1) }),
			p.client,
			'login at +1',
		);
		user.lastStep = s + 1;
	});
});

test('at login a code one step before is accepted (a user whose last code is older)', async () => {
	// `early` confirmed with a code of the step before the file started; once the clock
	// has moved one step on, the previous step's code is one nobody has used yet
	const user = early.user;
	while (stepNow() - 1 <= user.lastStep) await sleep(1000);
	await withinOneStep(async (s) => {
		assert.ok(s - 1 > user.lastStep, 'the previous step is unused');
		const p = await pendingLogin(ctx, user);
		assertCompleted(
			await secondStep(p.client, { method: 'totp', code: codeAt(user.secret, s - 1) }),
			p.client,
			'login at -1',
		);
		user.lastStep = s - 1;
	});
});

// --- limits --------------------------------------------------------------------------------

test('five wrong answers on one pending login, then 429 even for the right code', async () => {
	const { user } = await totpUser(ctx, 'brute');
	const p = await pendingLogin(ctx, user);
	for (let i = 0; i < 5; i++)
		assertBadCode(await secondStep(p.client, { method: 'totp', code: wrongCode(user.secret) }), `wrong #${i + 1}`);
	assertThrottled(await totpStep(p.client, user), 'the right code after five wrong ones');
	assertThrottled(
		await secondStep(p.client, { method: 'recovery_code', code: user.recoveryCodes[0] }),
		'a recovery code after five wrong ones',
	);
	await assertNoSession(p.client, 'throttled');
	const fails = auditRows(server, { user: user.id, event: 'mfa.failed' });
	assert.equal(fails.length, 5, JSON.stringify(fails));
	for (const f of fails) {
		assert.equal(f.detail.method, 'totp');
		assert.equal(typeof f.detail.reason, 'string');
	}
	// a new pending login has its own five (the account has used five of ten)
	const p2 = await pendingLogin(ctx, user);
	assertCompleted(await totpStep(p2.client, user), p2.client, 'a new pending login');
});

test('ten wrong answers per account across pending logins, every method counting, then 429', async () => {
	const { user } = await totpUser(ctx, 'account');
	const p1 = await pendingLogin(ctx, user);
	for (let i = 0; i < 5; i++)
		assertBadCode(
			await secondStep(p1.client, { method: 'totp', code: wrongCode(user.secret) }),
			`first login #${i + 1}`,
		);
	const p2 = await pendingLogin(ctx, user);
	for (let i = 0; i < 3; i++)
		assertBadCode(
			await secondStep(p2.client, { method: 'totp', code: wrongCode(user.secret) }),
			`second login #${i + 1}`,
		);
	for (const code of ['zzzzz-zzzzz', 'abcde-fghjk'])
		assertBadCode(
			await secondStep(p2.client, { method: 'recovery_code', code }),
			`recovery ${code}`,
			ANSWER.badRecovery,
		);
	// eleventh answer, a third pending login that has had no wrong answer yet
	const third = await passwordLogin(ctx, user);
	assert.notEqual(third.res.status, 200, `the password alone never signs in: ${third.res.text}`);
	if (third.res.status === 401) {
		assertMfaRequired(third.res, { what: 'third login' });
		assertThrottled(await totpStep(third.client, user), 'the right code past the account limit');
		assertThrottled(
			await secondStep(third.client, { method: 'recovery_code', code: user.recoveryCodes[0] }),
			'a recovery code past the account limit',
		);
	} else {
		assertThrottled(third.res, 'the password step past the account limit');
	}
	await assertNoSession(third.client, 'account limit');
	assert.equal(auditRows(server, { user: user.id, event: 'mfa.failed' }).length, 10);
});

test('concurrent wrong answers get no more checks than the limits', async () => {
	const { user } = await totpUser(ctx, 'concurrent');
	const p = await pendingLogin(ctx, user);
	const wrong = wrongCode(user.secret);
	const rs = await Promise.all(Array.from({ length: 16 }, () => secondStep(p.client, { method: 'totp', code: wrong })));
	const st = rs.map((r) => r.status);
	assert.ok(
		st.every((s) => s === 400 || s === 429),
		`only 400 and 429: ${st}`,
	);
	assert.ok(st.filter((s) => s === 400).length <= 5, `at most five checked on one pending login: ${st}`);
	const p2 = await pendingLogin(ctx, user);
	const p3 = await pendingLogin(ctx, user);
	const rs2 = await Promise.all(
		Array.from({ length: 16 }, (_, i) => secondStep((i % 2 ? p2 : p3).client, { method: 'totp', code: wrong })),
	);
	const st2 = rs2.map((r) => r.status);
	assert.ok(
		st2.every((s) => s === 400 || s === 429),
		`only 400 and 429: ${st2}`,
	);
	const checked = st.filter((s) => s === 400).length + st2.filter((s) => s === 400).length;
	assert.ok(checked <= 10, `at most ten checked for the account: ${st} / ${st2}`);
	assert.equal(auditRows(server, { user: user.id, event: 'mfa.failed' }).length, checked);
});

test('wrong codes at set-up count against the same account limit', async () => {
	const user = newUser(ctx, 'setuplimit');
	const c = await signedIn(ctx, user);
	const s = await c.post('/api/mfa/totp/setup/');
	assert.equal(s.status, 200, s.text);
	const statuses = [];
	for (let i = 0; i < 12; i++)
		statuses.push((await c.post('/api/mfa/totp/confirm/', { json: { code: wrongCode(s.json.secret) } })).status);
	assert.ok(
		statuses.every((x) => x === 400 || x === 429),
		`${statuses}`,
	);
	assert.ok(statuses.includes(429), `set-up confirmations are throttled: ${statuses}`);
	assert.ok(statuses.filter((x) => x === 400).length <= 10, `${statuses}`);
	const r = await c.post('/api/mfa/totp/confirm/', { json: { code: totp(s.json.secret) } });
	assertThrottled(r, 'the right code past the limit');
	assert.deepEqual((await mfaState(c)).totp, { enabled: false });
});

// --- recovery codes -----------------------------------------------------------------------

test('a recovery code signs in once, however it is typed; its use is audited and mailed', async () => {
	const { user } = await totpUser(ctx, 'recovery');
	const [code] = user.recoveryCodes;
	const since = mark(ctx);
	const p = await pendingLogin(ctx, user, { methods: ['totp', 'recovery_code'] });
	const typed = `  ${code.replace('-', ' ').toUpperCase()} `;
	const r = await secondStep(p.client, { method: 'recovery_code', code: typed });
	assertCompleted(r, p.client, `recovery code typed as ${JSON.stringify(typed)}`);
	assert.deepEqual((await mfaState(p.client)).recovery_codes, { total: 10, unused: 9 });
	const used = auditRows(server, { user: user.id, event: 'mfa.recovery_code_used' });
	assert.equal(used.length, 1);
	assert.ok(!JSON.stringify(used).includes(code), 'the audit row does not hold the code');
	assert.equal(
		auditRows(server, { user: user.id, event: 'login.succeeded' }).at(-1).detail.method,
		'password+recovery_code',
	);
	const m = await alertMail(ctx, user.email, MAIL.codeUsed, since);
	assert.ok(!m.text.includes(code), 'the mail does not repeat the code');

	const again = await pendingLogin(ctx, user);
	assertBadCode(
		await secondStep(again.client, { method: 'recovery_code', code }),
		'the same code again',
		ANSWER.badRecovery,
	);
	assertBadCode(
		await secondStep(again.client, { method: 'recovery_code', code: code.replace('-', '') }),
		'the same code without its dash',
		ANSWER.badRecovery,
	);
	assertCompleted(
		await secondStep(again.client, { method: 'recovery_code', code: user.recoveryCodes[1].replace('-', '') }),
		again.client,
		'another code without its dash',
	);
});

test('new recovery codes need a recent check, void the old ones, and are audited and mailed', async () => {
	const { user, client: c } = await totpUser(ctx, 'regen');
	const old = user.recoveryCodes;
	makeStale(server, c);
	assert.equal((await mfaState(c)).reauth_fresh, false);
	const stale = await c.post('/api/mfa/recovery-codes/');
	assert.equal(stale.status, 403, stale.text);
	assert.deepEqual(stale.json, ANSWER.reauthRequired);
	const re = await c.post('/api/auth/reauthenticate/', { json: { password: user.password } });
	assert.equal(re.status, 200, re.text);
	assert.deepEqual(re.json, ANSWER.passwordConfirmed);
	assert.equal((await mfaState(c)).reauth_fresh, true);
	const since = mark(ctx);
	const r = await c.post('/api/mfa/recovery-codes/');
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(Object.keys(r.json), ['recovery_codes']);
	const fresh = r.json.recovery_codes;
	assert.equal(fresh.length, 10);
	assert.equal(new Set(fresh).size, 10);
	for (const code of fresh) {
		assert.match(code, RECOVERY_CODE);
		assert.ok(!old.includes(code), 'all new');
	}
	assert.deepEqual((await mfaState(c)).recovery_codes, { total: 10, unused: 10 });
	await alertMail(ctx, user.email, MAIL.codesMade, since);
	assert.ok(auditRows(server, { user: user.id, event: 'mfa.recovery_codes_generated' }).length >= 1);
	const p = await pendingLogin(ctx, user);
	assertBadCode(
		await secondStep(p.client, { method: 'recovery_code', code: old[0] }),
		'an old code',
		ANSWER.badRecovery,
	);
	assertCompleted(await secondStep(p.client, { method: 'recovery_code', code: fresh[0] }), p.client, 'a new code');
	assert.equal(r.headers.get('cache-control')?.includes('no-store'), true);
});

// --- removal ---------------------------------------------------------------------------------

test('removing the authenticator app needs a recent check, takes the recovery codes along and is mailed', async () => {
	const { user, client: c } = await totpUser(ctx, 'remove');
	makeStale(server, c);
	const stale = await c.delete('/api/mfa/totp/');
	assert.equal(stale.status, 403, stale.text);
	assert.deepEqual(stale.json, ANSWER.reauthRequired);
	assert.equal((await mfaState(c)).totp.enabled, true, 'still there');
	const wrongPw = await c.post('/api/auth/reauthenticate/', { json: { password: 'certainly not it 1' } });
	assert.equal(wrongPw.status, 400, wrongPw.text);
	assert.equal((await c.delete('/api/mfa/totp/')).status, 403, 'a wrong password is no re-authentication');
	const re = await c.post('/api/auth/reauthenticate/', { json: { password: user.password } });
	assert.equal(re.status, 200, re.text);
	const since = mark(ctx);
	const r = await c.delete('/api/mfa/totp/');
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, ANSWER.totpRemoved);
	const st = await mfaState(c);
	assert.deepEqual(st.totp, { enabled: false });
	assert.equal(st.recovery_codes.unused, 0, 'the recovery codes went with the last factor');
	assert.equal((await profile(c)).json.mfa_enabled, false);
	await alertMail(ctx, user.email, MAIL.totpRemoved, since);
	assert.equal(auditRows(server, { user: user.id, event: 'mfa.totp_removed' }).length, 1);

	const again = await c.delete('/api/mfa/totp/');
	assert.equal(again.status, 404, again.text);
	const codes = await c.post('/api/mfa/recovery-codes/');
	assert.equal(codes.status, 409, codes.text);
	assert.deepEqual(codes.json, ANSWER.notEnabled);
	const login = await passwordLogin(ctx, user);
	assert.equal(login.res.status, 200, `a password alone signs in again: ${login.res.text}`);
	assert.deepEqual(login.res.json, ANSWER.success);
});

test('a stale session cannot start a set-up either', async () => {
	const user = newUser(ctx, 'stalesetup');
	const c = await signedIn(ctx, user);
	makeStale(server, c);
	const r = await c.post('/api/mfa/totp/setup/');
	assert.equal(r.status, 403, r.text);
	assert.deepEqual(r.json, ANSWER.reauthRequired);
	assert.equal((await c.post('/api/auth/reauthenticate/', { json: { password: user.password } })).status, 200);
	assert.equal((await c.post('/api/mfa/totp/setup/')).status, 200);
});

test('an API token cannot manage factors', async () => {
	const { user } = await totpUser(ctx, 'token');
	const key = createToken(server, user.email);
	assert.equal((await withToken(server, key)).status, 200, 'the token works for the profile');
	for (const [method, p, json] of [
		['GET', '/api/mfa/'],
		['POST', '/api/mfa/totp/setup/', {}],
		['POST', '/api/mfa/totp/confirm/', { code: '123456' }],
		['DELETE', '/api/mfa/totp/'],
		['POST', '/api/mfa/recovery-codes/', {}],
		['POST', '/api/mfa/webauthn/register/options/', {}],
	]) {
		const r = await withToken(server, key, p, { method, json });
		assert.equal(r.status, 403, `${method} ${p} with a token: ${r.status} ${r.text}`);
		assert.equal(typeof r.json?.detail, 'string', r.text);
	}
	const c = await loginWithTotp(ctx, user);
	assert.equal((await mfaState(c)).totp.enabled, true, 'nothing changed');
	assert.equal(auditRows(server, { user: user.id, event: 'mfa.totp_removed' }).length, 0);
});

// --- secrets --------------------------------------------------------------------------------

test('the secret and the recovery codes are never shown again nor stored, logged or audited in clear', async () => {
	const { user, client: c } = await totpUser(ctx, 'secret');
	const p = await pendingLogin(ctx, user);
	assertBadCode(await secondStep(p.client, { method: 'totp', code: wrongCode(user.secret) }), 'a wrong code');
	assertCompleted(await totpStep(p.client, user), p.client, 'login');
	const raw = base32Decode(user.secret);
	const needles = [
		['the base32 secret', user.secret.replace(/=+$/, '')],
		['the base32 secret, lower case', user.secret.replace(/=+$/, '').toLowerCase()],
		['the secret in hex', raw.toString('hex')],
		['the secret in base64', raw.toString('base64').replace(/=+$/, '')],
		['the pending cookie', p.pending],
	];
	for (const code of user.recoveryCodes) {
		needles.push(['a recovery code', code], ['a recovery code without dash', code.replace('-', '')]);
		for (const form of [code, code.replace('-', '')]) needles.push(['sha256 of a recovery code', sha256hex(form)]);
	}
	const st = await c.get('/api/mfa/');
	const dump = server.dump();
	const audit = JSON.stringify(auditRows(server, {}));
	const logs = server.stderr();
	for (const [what, needle] of needles) {
		assert.ok(!st.text.includes(needle), `GET /api/mfa/ shows ${what}`);
		assert.ok(!dump.includes(needle), `the database holds ${what}`);
		assert.ok(!audit.includes(needle), `the audit log holds ${what}`);
		assert.ok(!logs.includes(needle), `the server log holds ${what}`);
	}
	const rows = server.sqlRows(`SELECT * FROM mfa_totp WHERE user_id = ${user.id}`);
	assert.equal(rows.length, 1, 'one stored authenticator app');
	const row = JSON.stringify(rows[0]);
	assert.ok(!row.toUpperCase().includes(user.secret.replace(/=+$/, '')), `the mfa_totp row holds the secret: ${row}`);
	assert.ok(!row.includes(raw.toString('hex')), 'the mfa_totp row holds the secret in hex');
	// nothing in an answer after set-up carries it either
	for (const path of ['/api/mfa/', '/api/users/profile/', '/api/sessions/'])
		assert.ok(!(await c.get(path)).text.includes(user.secret.replace(/=+$/, '')), path);
});

test('GATEHOUSE_MFA_PENDING_TTL outside 30–3600 is refused at start', async () => {
	for (const v of ['29', '3601', 'soon']) {
		await assert.rejects(
			startServer({ env: { GATEHOUSE_MFA_PENDING_TTL: v } }),
			/exited during start-up/,
			`GATEHOUSE_MFA_PENDING_TTL=${v}`,
		);
	}
	const ok = await startServer({ env: { GATEHOUSE_MFA_PENDING_TTL: '30' } });
	await ok.stop();
});

test('an account with a second factor creates an API token on a recent check, without its password; otherwise the password is needed', async () => {
	const { user, client: c } = await totpUser(ctx, 'tokenrecent');
	// the sign-in (password + code) just now is the recent check
	const fresh = await c.post('/api/tokens/', { json: { name: 'ci' } });
	assert.equal(fresh.status, 201, fresh.text);
	assert.match(fresh.json.key, /^[0-9a-f]{40,}$|^\S{32,}$/, 'the key is shown once');
	const rows = auditRows(server, { user: user.id, event: 'token.created' });
	assert.deepEqual(rows.at(-1).detail, { token_id: fresh.json.id, name: 'ci', checked: 'recent_check' });
	// the check is old: the password again (or a re-authentication first)
	makeStale(server, c);
	const stale = await c.post('/api/tokens/', { json: { name: 'ci2' } });
	assert.equal(stale.status, 400, stale.text);
	assert.deepEqual(stale.json, { password: ['This field is required.'] });
	const withPw = await c.post('/api/tokens/', { json: { name: 'ci2', password: user.password } });
	assert.equal(withPw.status, 201, withPw.text);
	// a wrong password is never skipped because the check is recent
	const re = await c.post('/api/auth/reauthenticate/', { json: { password: user.password } });
	assert.equal(re.status, 200, re.text);
	const wrong = await c.post('/api/tokens/', { json: { name: 'ci3', password: 'certainly not it 1' } });
	assert.equal(wrong.status, 400, wrong.text);
	// without a second factor, a fresh sign-in is not enough: the password is asked every time
	const plainUser = newUser(ctx, 'tokenplain');
	const p = await signedIn(ctx, plainUser);
	const plain = await p.post('/api/tokens/', { json: { name: 'ci' } });
	assert.equal(plain.status, 400, plain.text);
	assert.deepEqual(plain.json, { password: ['This field is required.'] });
});
