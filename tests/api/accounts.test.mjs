// Accounts by email (docs/accounts-contract.md, docs/design.md §2–§3): sign up,
// confirm the address from the mail, resend, the verification modes, the
// password rules, and the limits on the anonymous account endpoints.  Mail goes
// to a real SMTP server (smtp.mjs); tests follow the links in it.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
	csrfClient,
	loggedIn,
	uniqueEmail,
	q,
	cookiesNamed,
	assertSecurityHeaders,
	randomString,
	sleep,
} from './harness.mjs';
import { confirmKeyOf, hasLinkLine } from './smtp.mjs';
import {
	startAccounts,
	mark,
	nextMail,
	mailsTo,
	drainMail,
	signup,
	signupKey,
	confirm,
	newAccount,
	tryLogin,
	headerNames,
	assertMailShape,
	SUBJECT,
	ANSWER,
	RULE,
	THROTTLED,
	GOOD_PW,
	GOOD_PW2,
} from './accounts-harness.mjs';

const PRODUCT = 'Acme';
const FROM = 'accounts@acme.test';
let ctx;

before(async () => {
	ctx = await startAccounts({ product: PRODUCT, env: { GATEHOUSE_EMAIL_FROM: `Acme Accounts <${FROM}>` } });
});
after(async () => {
	await ctx?.stop();
});

const userCount = (c, email) =>
	Number(c.server.sqlRows(`SELECT count(*) AS n FROM users WHERE lower(email) = lower(${q(email)})`)[0].n);
const passwordHash = (c, email) =>
	c.server.sqlRows(`SELECT password FROM users WHERE lower(email) = lower(${q(email)})`)[0]?.password;

test('signup mails a confirmation link; following it lets the account log in', async () => {
	const email = uniqueEmail('signup');
	const since = mark(ctx);
	const c = await csrfClient(ctx.server);
	const r = await c.post('/api/signup/', {
		json: { email, password: GOOD_PW, first_name: 'Ada', last_name: 'Lovelace' },
	});
	assert.equal(r.status, 201, r.text);
	assert.deepEqual(r.json, ANSWER.signup);
	assertSecurityHeaders(r.headers, { api: true, what: 'signup 201' });
	assert.equal(cookiesNamed(r, 'sessionid').length, 0, 'signup does not log in');
	assert.equal(userCount(ctx, email), 1, 'one account made');

	const m = await nextMail(ctx, email, SUBJECT.confirm(PRODUCT), since);
	assertMailShape(m, { fromAddress: FROM, what: 'confirmation mail' });
	assert.deepEqual(m.to, [email], 'envelope recipient');
	assert.ok(m.toHeader.toLowerCase().includes(email), `To: ${m.toHeader}`);
	const key = confirmKeyOf(m, ctx.origin);
	assert.ok(key, `no ${ctx.origin}/confirm-email/<key> line in the text part:\n${m.text}`);
	assert.match(key, /^[a-z0-9]{40}$/, 'key: 40 chars of [a-z0-9]');

	const blocked = await tryLogin(ctx, email, GOOD_PW);
	assert.equal(blocked.res.status, 400, 'login before confirming');
	assert.deepEqual(blocked.res.json, ANSWER.notVerified);

	assert.ok(!ctx.server.stderr().includes(key), 'the confirmation key appears in the logs (stderr)');
	const cr = await confirm(ctx, key);
	assert.equal(cr.status, 200, cr.text);
	assert.deepEqual(cr.json, ANSWER.confirmed);
	assertSecurityHeaders(cr.headers, { api: true, what: 'confirm 200' });

	const u = await loggedIn(ctx.server, email, GOOD_PW);
	const p = await u.get('/api/users/profile/');
	assert.equal(p.status, 200);
	assert.equal(p.json.email, email);
	assert.equal(p.json.first_name, 'Ada');
	assert.equal(p.json.last_name, 'Lovelace');
	assert.equal(p.json.email_verified, true, 'profile email_verified after confirming');
});

test('signup answers a taken address exactly like a new one and mails the owner instead', async () => {
	const owner = await newAccount(ctx, { email: uniqueEmail('owner') });
	const hashBefore = passwordHash(ctx, owner.email);
	const fresh = uniqueEmail('fresh');
	const since = mark(ctx);

	const rNew = await signup(ctx, fresh, GOOD_PW);
	const rTaken = await signup(ctx, owner.email, GOOD_PW2, { first_name: 'Mallory' });
	const rTakenCase = await signup(ctx, owner.email.toUpperCase(), GOOD_PW2);
	for (const [name, r] of [
		['new', rNew],
		['taken', rTaken],
		['taken, upper-case', rTakenCase],
	]) {
		assert.equal(r.status, 201, `${name}: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, ANSWER.signup, name);
	}
	assert.equal(rTaken.text, rNew.text, 'byte-identical bodies');
	assert.equal(rTakenCase.text, rNew.text, 'byte-identical bodies');
	assert.deepEqual(headerNames(rTaken), headerNames(rNew), 'same header names (taken vs new)');
	assert.deepEqual(headerNames(rTakenCase), headerNames(rNew), 'same header names (taken upper-case vs new)');

	const warn = await nextMail(ctx, owner.email, SUBJECT.taken(PRODUCT), since);
	assertMailShape(warn, { fromAddress: FROM, what: 'someone-tried mail' });
	assert.ok(hasLinkLine(warn, `${ctx.origin}/login`), `a ${ctx.origin}/login line:\n${warn.text}`);
	assert.ok(hasLinkLine(warn, `${ctx.origin}/forgot-password`), `a ${ctx.origin}/forgot-password line:\n${warn.text}`);
	await nextMail(ctx, fresh, SUBJECT.confirm(PRODUCT), since);

	await drainMail(ctx);
	assert.equal(
		mailsTo(ctx, owner.email, SUBJECT.confirm(PRODUCT), since).length,
		0,
		'no confirmation mail to the taken address',
	);
	assert.equal(userCount(ctx, owner.email), 1, 'no second account for the taken address');
	assert.equal(passwordHash(ctx, owner.email), hashBefore, "the owner's password is untouched");
	const login = await tryLogin(ctx, owner.email, owner.password);
	assert.equal(login.res.status, 200, 'the owner still logs in with the old password');
	const p = await login.client.get('/api/users/profile/');
	assert.notEqual(p.json.first_name, 'Mallory');
	assert.equal((await tryLogin(ctx, owner.email, GOOD_PW2)).res.status, 400, "the squatter's password does not work");
});

test('in mandatory mode an unverified account with the right password is told to verify; a wrong password is still Invalid credentials', async () => {
	const email = uniqueEmail('unverified');
	await signupKey(ctx, email);
	const right = await tryLogin(ctx, email, GOOD_PW);
	assert.equal(right.res.status, 400, right.res.text);
	assert.deepEqual(right.res.json, ANSWER.notVerified);
	assert.equal(cookiesNamed(right.res, 'sessionid').length, 0, 'no session');
	assert.equal((await right.client.get('/api/users/profile/')).status, 401);
	const wrong = await tryLogin(ctx, email, 'not the password 1');
	assert.equal(wrong.res.status, 400, wrong.res.text);
	assert.deepEqual(wrong.res.json, ANSWER.invalid);
	assert.equal(cookiesNamed(wrong.res, 'sessionid').length, 0, 'no session');
});

test('a confirmation key works once', async () => {
	const email = uniqueEmail('once');
	const key = await signupKey(ctx, email);
	const first = await confirm(ctx, key);
	assert.equal(first.status, 200, first.text);
	const again = await confirm(ctx, key);
	assert.equal(again.status, 400, again.text);
	assert.deepEqual(again.json, ANSWER.badConfirm);
	assertSecurityHeaders(again.headers, { api: true, what: 'confirm 400' });
	assert.equal((await tryLogin(ctx, email, GOOD_PW)).res.status, 200, 'the account stays confirmed');
});

test('a tampered or made-up confirmation key is refused and does not burn the real one', async () => {
	const email = uniqueEmail('tamper');
	const key = await signupKey(ctx, email);
	const flip = (ch) => (ch === 'a' ? 'b' : 'a');
	const bad = [
		key.slice(0, -1) + flip(key.at(-1)),
		flip(key[0]) + key.slice(1),
		key.slice(0, 39),
		key + 'a',
		key.toUpperCase(),
		randomString(40, 'abcdefghijklmnopqrstuvwxyz0123456789'),
		`${key}/`,
		' ' + key,
	];
	for (const k of bad) {
		const r = await confirm(ctx, k);
		assert.equal(r.status, 400, `${JSON.stringify(k)}: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, ANSWER.badConfirm, JSON.stringify(k));
	}
	assert.deepEqual((await tryLogin(ctx, email, GOOD_PW)).res.json, ANSWER.notVerified, 'still unverified');
	const ok = await confirm(ctx, key);
	assert.equal(ok.status, 200, `the genuine key after the forgeries: ${ok.text}`);
});

test('the database holds no confirmation key in the clear', async () => {
	const email = uniqueEmail('hashed');
	const key = await signupKey(ctx, email);
	// The outbox may hold the message until it is sent; once the mail has
	// arrived, nothing in the database may give the key back.
	let dump = '';
	for (let i = 0; i < 30; i++) {
		dump = ctx.server.dump();
		if (!dump.includes(key)) break;
		await sleep(100);
	}
	assert.ok(!dump.includes(key), 'the confirmation key from the mail is in the database dump (after delivery)');
	assert.equal((await confirm(ctx, key)).status, 200, 'and the key still works');
});

test('resend mails a new key that works', async () => {
	const email = uniqueEmail('resend');
	const first = await signupKey(ctx, email);
	const since = mark(ctx);
	const c = await csrfClient(ctx.server);
	const r = await c.post('/api/signup/resend/', { json: { email } });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, ANSWER.resend);
	assertSecurityHeaders(r.headers, { api: true, what: 'resend 200' });
	const m = await nextMail(ctx, email, SUBJECT.confirm(PRODUCT), since);
	assertMailShape(m, { fromAddress: FROM, what: 'resent confirmation' });
	const second = confirmKeyOf(m, ctx.origin);
	assert.match(second ?? '', /^[a-z0-9]{40}$/, `a new key line in:\n${m.text}`);
	assert.notEqual(second, first, 'a new key');
	const ok = await confirm(ctx, second);
	assert.equal(ok.status, 200, ok.text);
	assert.equal((await tryLogin(ctx, email, GOOD_PW)).res.status, 200);
});

test('resend answers unknown and already confirmed addresses the same, and mails neither', async () => {
	const pending = uniqueEmail('pending');
	await signupKey(ctx, pending);
	const done = await newAccount(ctx);
	const unknown = uniqueEmail('unknown');
	const since = mark(ctx);
	const ask = async (email) => (await csrfClient(ctx.server)).post('/api/signup/resend/', { json: { email } });
	const rPending = await ask(pending);
	const rUnknown = await ask(unknown);
	const rDone = await ask(done.email);
	for (const [name, r] of [
		['unconfirmed', rPending],
		['unknown', rUnknown],
		['confirmed', rDone],
	]) {
		assert.equal(r.status, 200, `${name}: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, ANSWER.resend, name);
	}
	assert.equal(rUnknown.text, rPending.text);
	assert.equal(rDone.text, rPending.text);
	assert.deepEqual(headerNames(rUnknown), headerNames(rPending), 'header names: unknown vs unconfirmed');
	assert.deepEqual(headerNames(rDone), headerNames(rPending), 'header names: confirmed vs unconfirmed');
	await nextMail(ctx, pending, SUBJECT.confirm(PRODUCT), since);
	await drainMail(ctx);
	assert.deepEqual(mailsTo(ctx, unknown, undefined, since), [], 'no mail to an unknown address');
	assert.deepEqual(mailsTo(ctx, done.email, undefined, since), [], 'no mail to a confirmed address');
	assert.equal(userCount(ctx, unknown), 0, 'resend makes no account');
});

test("signup refuses weak passwords with Django's messages and makes no account", async () => {
	const local = `zebulonquartz${randomBytes(3).toString('hex')}`;
	const similarEmail = `${local}@example.com`;
	const cases = [
		{ what: 'too short', email: uniqueEmail('short'), pw: 'Ab3$efg', want: [RULE.tooShort(8)] },
		{ what: 'entirely numeric', email: uniqueEmail('numeric'), pw: '84920375619283', want: [RULE.numeric] },
		{ what: 'similar to the email', email: similarEmail, pw: local, want: [RULE.similar] },
		{ what: 'the email itself', email: uniqueEmail('itself'), pw: null, want: [RULE.similar] },
		{ what: 'common', email: uniqueEmail('common'), pw: 'password1234', want: [RULE.common] },
		{ what: 'common', email: uniqueEmail('common'), pw: 'iloveyou12', want: [RULE.common] },
		{ what: 'common', email: uniqueEmail('common'), pw: 'qwertyuiop', want: [RULE.common] },
		{ what: 'common, any case', email: uniqueEmail('common'), pw: 'QwertyUIOP', want: [RULE.common] },
		{
			what: 'short, numeric and common together',
			email: uniqueEmail('many'),
			pw: '1234',
			want: [RULE.tooShort(8), RULE.numeric, RULE.common],
		},
		{ what: 'over 4096 bytes', email: uniqueEmail('long'), pw: 'k9'.repeat(2049), want: [RULE.tooLong] },
		{
			what: 'over 4096 bytes in 2049 characters',
			email: uniqueEmail('longutf8'),
			pw: 'é'.repeat(2049),
			want: [RULE.tooLong],
		},
	];
	const since = mark(ctx);
	for (const k of cases) {
		const pw = k.pw ?? k.email;
		const r = await signup(ctx, k.email, pw);
		assert.equal(r.status, 400, `${k.what}: ${r.status} ${r.text}`);
		assert.deepEqual(Object.keys(r.json ?? {}), ['password'], `${k.what}: only a password error, got ${r.text}`);
		assert.ok(Array.isArray(r.json.password), `${k.what}: a list of messages`);
		for (const msg of k.want)
			assert.ok(r.json.password.includes(msg), `${k.what}: wanted ${JSON.stringify(msg)} in ${r.text}`);
		assert.equal(userCount(ctx, k.email), 0, `${k.what}: no account`);
	}
	const ok = await signup(ctx, uniqueEmail('strong'), GOOD_PW);
	assert.equal(ok.status, 201, `a good password passes: ${ok.text}`);
	const exact = await signup(ctx, uniqueEmail('exact4096'), 'k9'.repeat(2048));
	assert.equal(exact.status, 201, `a 4096-byte password passes: ${exact.text}`);
	await drainMail(ctx);
	for (const k of cases) assert.deepEqual(mailsTo(ctx, k.email, undefined, since), [], `${k.what}: no mail`);
});

test('signup reports missing and malformed fields as DRF field errors', async () => {
	const c = await csrfClient(ctx.server);
	let r = await c.post('/api/signup/', { json: {} });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { email: ANSWER.required, password: ANSWER.required });
	r = await c.post('/api/signup/', { json: { email: uniqueEmail('nopw') } });
	assert.equal(r.status, 400);
	assert.deepEqual(r.json, { password: ANSWER.required });
	r = await c.post('/api/signup/', { json: { password: GOOD_PW } });
	assert.equal(r.status, 400);
	assert.deepEqual(r.json, { email: ANSWER.required });
	for (const bad of ['not-an-email', 'a@', '@example.com', 'two@@example.com', 'sp ace@example.com']) {
		r = await c.post('/api/signup/', { json: { email: bad, password: GOOD_PW } });
		assert.equal(r.status, 400, `${bad}: ${r.text}`);
		assert.deepEqual(r.json, { email: ANSWER.badEmail }, bad);
	}
	const long = 'n'.repeat(151);
	const name150 = 'n'.repeat(150);
	r = await c.post('/api/signup/', { json: { email: uniqueEmail('fn'), password: GOOD_PW, first_name: long } });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { first_name: ['Ensure this field has no more than 150 characters.'] });
	r = await c.post('/api/signup/', { json: { email: uniqueEmail('ln'), password: GOOD_PW, last_name: long } });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { last_name: ['Ensure this field has no more than 150 characters.'] });
	r = await c.post('/api/signup/', {
		json: { email: uniqueEmail('n150'), password: GOOD_PW, first_name: name150, last_name: name150 },
	});
	assert.equal(r.status, 201, `150-character names pass: ${r.text}`);

	r = await c.post('/api/signup/confirm/', { json: {} });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { key: ANSWER.required });
	r = await c.post('/api/signup/resend/', { json: {} });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { email: ANSWER.required });
	r = await c.post('/api/signup/resend/', { json: { email: 'not-an-email' } });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { email: ANSWER.badEmail });
});

test('the new endpoints need the CSRF header', async () => {
	const since = mark(ctx);
	const email = uniqueEmail('csrf');
	const key = await signupKey(ctx, email);
	const c = await csrfClient(ctx.server);
	const cases = [
		['/api/signup/', { email: uniqueEmail('csrf-signup'), password: GOOD_PW }],
		['/api/signup/confirm/', { key }],
		['/api/signup/resend/', { email }],
		['/api/password/reset/', { email }],
		['/api/password/reset/confirm/', { uid: 'MQ', token: 'abc-123', new_password: GOOD_PW2 }],
	];
	for (const [p, body] of cases) {
		const r = await c.post(p, { json: body, csrf: false });
		assert.equal(r.status, 403, `${p} without X-CSRFToken: ${r.status} ${r.text}`);
		assert.ok(String(r.json?.detail).startsWith('CSRF Failed:'), `${p}: ${r.text}`);
		assertSecurityHeaders(r.headers, { api: true, what: `403 ${p}` });
		const other = await ctx.server.client().post(p, { json: body });
		assert.equal(other.status, 403, `${p} with neither cookie nor header: ${other.status}`);
	}
	assert.equal(userCount(ctx, cases[0][1].email), 0, 'a refused signup makes no account');
	assert.deepEqual(
		(await tryLogin(ctx, email, GOOD_PW)).res.json,
		ANSWER.notVerified,
		'a refused confirm confirms nothing',
	);

	const acct = await newAccount(ctx);
	const u = await loggedIn(ctx.server, acct.email, acct.password);
	const r = await u.post('/api/password/change/', {
		json: { old_password: acct.password, new_password: GOOD_PW2 },
		csrf: false,
	});
	assert.equal(r.status, 403, `password change without X-CSRFToken: ${r.status} ${r.text}`);
	assert.equal((await u.get('/api/users/profile/')).status, 200, 'the session lives on');
	assert.equal((await tryLogin(ctx, acct.email, acct.password)).res.status, 200, 'the password is unchanged');
	await drainMail(ctx);
	assert.deepEqual(mailsTo(ctx, email, SUBJECT.reset(PRODUCT), since), [], 'a refused reset sends nothing');
});

test('GET on each new endpoint is a JSON 405', async () => {
	const acct = await newAccount(ctx);
	const u = await loggedIn(ctx.server, acct.email, acct.password);
	for (const p of [
		'/api/signup/',
		'/api/signup/confirm/',
		'/api/signup/resend/',
		'/api/password/reset/',
		'/api/password/reset/confirm/',
		'/api/password/change/',
	]) {
		const r = await u.get(p);
		assert.equal(r.status, 405, `GET ${p}: ${r.status} ${r.text}`);
		assert.equal(typeof r.json?.detail, 'string', `GET ${p}: JSON detail`);
		assertSecurityHeaders(r.headers, { api: true, what: `405 GET ${p}` });
	}
	assert.equal((await u.get('/api/users/profile/')).status, 200);
});

test('the new paths are served without the trailing slash too', async () => {
	const c = await csrfClient(ctx.server);
	let r = await c.post('/api/signup/resend', { json: { email: uniqueEmail('noslash') } });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, ANSWER.resend);
	r = await c.post('/api/password/reset', { json: { email: uniqueEmail('noslash') } });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, ANSWER.reset);
	r = await c.post('/api/signup', { json: {} });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { email: ANSWER.required, password: ANSWER.required });
});

describe('EMAIL_VERIFICATION=optional', () => {
	let o;
	before(async () => {
		o = await startAccounts({ env: { GATEHOUSE_EMAIL_VERIFICATION: 'optional' } });
	});
	after(async () => {
		await o?.stop();
	});

	test('an unverified account logs in; confirming later marks it verified', async () => {
		const email = uniqueEmail('optional');
		const since = mark(o);
		const c = await csrfClient(o.server);
		const r = await c.post('/api/signup/', { form: { email, password: GOOD_PW } });
		assert.equal(r.status, 201, `form-encoded signup: ${r.text}`);
		assert.deepEqual(r.json, ANSWER.signup);
		const m = await nextMail(o, email, SUBJECT.confirm('Gatehouse'), since);
		assertMailShape(m, { fromAddress: 'noreply@localhost', what: 'default From' });
		const key = confirmKeyOf(m, o.origin);
		assert.ok(key, m.text);

		const u = await loggedIn(o.server, email, GOOD_PW);
		let p = await u.get('/api/users/profile/');
		assert.equal(p.status, 200);
		assert.equal(p.json.email_verified, false, 'not verified yet');
		assert.equal((await confirm(o, key)).status, 200);
		p = await u.get('/api/users/profile/');
		assert.equal(p.json.email_verified, true, 'verified after the link');
	});
});

describe('EMAIL_VERIFICATION=none (and PASSWORD_MIN_LENGTH=12)', () => {
	let o;
	before(async () => {
		o = await startAccounts({ env: { GATEHOUSE_EMAIL_VERIFICATION: 'none', GATEHOUSE_PASSWORD_MIN_LENGTH: '12' } });
	});
	after(async () => {
		await o?.stop();
	});

	test('signup creates an account that logs in at once, and mails no confirmation', async () => {
		const email = uniqueEmail('none');
		const since = mark(o);
		const r = await signup(o, email, GOOD_PW);
		assert.equal(r.status, 201, r.text);
		assert.deepEqual(r.json, ANSWER.signupNone);
		const u = await loggedIn(o.server, email, GOOD_PW);
		assert.equal((await u.get('/api/users/profile/')).json.email, email);
		await drainMail(o);
		assert.deepEqual(mailsTo(o, email, SUBJECT.confirm('Gatehouse'), since), [], 'no confirmation mail');
	});

	test('the minimum length follows the setting', async () => {
		const r = await signup(o, uniqueEmail('min12'), 'Kx7#mQ2$vL9');
		assert.equal(r.status, 400, r.text);
		assert.deepEqual(r.json, { password: [RULE.tooShort(12)] });
		const ok = await signup(o, uniqueEmail('min12'), 'Kx7#mQ2$vL9w');
		assert.equal(ok.status, 201, ok.text);
	});
});

describe('CONFIRM_TTL=1', () => {
	let o;
	before(async () => {
		o = await startAccounts({ env: { GATEHOUSE_CONFIRM_TTL: '1' } });
	});
	after(async () => {
		await o?.stop();
	});

	test('an expired confirmation key is refused', async () => {
		const email = uniqueEmail('expired');
		const key = await signupKey(o, email);
		await sleep(2500);
		const r = await confirm(o, key);
		assert.equal(r.status, 400, r.text);
		assert.deepEqual(r.json, ANSWER.badConfirm);
		assert.deepEqual((await tryLogin(o, email, GOOD_PW)).res.json, ANSWER.notVerified, 'still unverified');
	});
});

describe('limits on signup, resend and reset', () => {
	// X-Real-IP (with TRUST_PROXY, as behind nginx) gives each case its own client IP.
	let o;
	const WINDOW = 60;
	before(async () => {
		o = await startAccounts({
			env: {
				GATEHOUSE_TRUST_PROXY: '1',
				GATEHOUSE_ACCOUNT_IP_LIMIT: '3',
				GATEHOUSE_ACCOUNT_ADDRESS_LIMIT: '2',
				GATEHOUSE_ACCOUNT_WINDOW: String(WINDOW),
			},
		});
	});
	after(async () => {
		await o?.stop();
	});

	let ipN = 10;
	const nextIp = () => `127.0.${Math.floor(ipN / 250)}.${(ipN++ % 250) + 1}`;
	const endpoints = [
		{ name: 'signup', path: '/api/signup/', body: (email) => ({ email, password: GOOD_PW }), ok: 201 },
		{ name: 'resend', path: '/api/signup/resend/', body: (email) => ({ email }), ok: 200 },
		{ name: 'reset', path: '/api/password/reset/', body: (email) => ({ email }), ok: 200 },
	];
	async function send(ep, email, ip) {
		const c = await csrfClient(o.server);
		return c.post(ep.path, { json: ep.body(email), headers: { 'X-Real-IP': ip, 'X-Forwarded-For': ip } });
	}
	function assertThrottled(r, what) {
		assert.equal(r.status, 429, `${what}: ${r.status} ${r.text}`);
		const ra = r.headers.get('retry-after');
		assert.match(String(ra), /^\d+$/, `${what}: Retry-After ${ra}`);
		const n = Number(ra);
		assert.ok(n >= 1 && n <= WINDOW, `${what}: Retry-After ${n} within the ${WINDOW} s window`);
		const m = THROTTLED.exec(r.json?.detail ?? '');
		assert.ok(m, `${what}: 429 detail ${r.text}`);
		assert.equal(Number(m[1]), n, `${what}: body and Retry-After agree`);
		assertSecurityHeaders(r.headers, { api: true, what });
	}

	for (const ep of endpoints) {
		test(`${ep.name}: the per-address limit answers 429 with Retry-After`, async () => {
			const email = uniqueEmail(`lim-${ep.name}`);
			for (let i = 0; i < 2; i++) {
				const r = await send(ep, email, nextIp());
				assert.equal(r.status, ep.ok, `${ep.name} ${i + 1} for one address: ${r.status} ${r.text}`);
			}
			assertThrottled(await send(ep, email.toUpperCase(), nextIp()), `${ep.name}: third for one address (any case)`);
			const other = await send(ep, uniqueEmail(`lim-${ep.name}-other`), nextIp());
			assert.equal(other.status, ep.ok, `${ep.name}: another address is not limited: ${other.status}`);
		});

		test(`${ep.name}: the per-IP limit answers 429 with Retry-After`, async () => {
			const ip = nextIp();
			for (let i = 0; i < 3; i++) {
				const r = await send(ep, uniqueEmail(`ip-${ep.name}`), ip);
				assert.equal(r.status, ep.ok, `${ep.name} ${i + 1} from one IP: ${r.status} ${r.text}`);
			}
			const email = uniqueEmail(`ip-${ep.name}-last`);
			assertThrottled(await send(ep, email, ip), `${ep.name}: fourth from one IP`);
			if (ep.name === 'signup') assert.equal(userCount(o, email), 0, 'a throttled signup makes no account');
			const other = await send(ep, email, nextIp());
			assert.equal(other.status, ep.ok, `${ep.name}: the same address from another IP: ${other.status}`);
		});
	}
});

describe('the per-IP limit without a proxy in front', () => {
	let o;
	before(async () => {
		o = await startAccounts({ env: { GATEHOUSE_ACCOUNT_IP_LIMIT: '3', GATEHOUSE_ACCOUNT_ADDRESS_LIMIT: '100' } });
	});
	after(async () => {
		await o?.stop();
	});

	test('the peer address counts, and a forged X-Forwarded-For does not reset it', async () => {
		for (let i = 0; i < 3; i++) {
			const r = await signup(o, uniqueEmail('peer'));
			assert.equal(r.status, 201, `signup ${i + 1}: ${r.status} ${r.text}`);
		}
		const c = await csrfClient(o.server);
		const email = uniqueEmail('peer-last');
		const r = await c.post('/api/signup/', {
			json: { email, password: GOOD_PW },
			headers: { 'X-Forwarded-For': '127.9.9.9', 'X-Real-IP': '127.9.9.9' },
		});
		assert.equal(
			r.status,
			429,
			`fourth signup from 127.0.0.1 (X-Forwarded-For not trusted by default): ${r.status} ${r.text}`,
		);
		assert.match(String(r.headers.get('retry-after')), /^\d+$/);
		assert.match(r.json?.detail ?? '', THROTTLED);
		assert.equal(userCount(o, email), 0, 'no account');
	});
});
