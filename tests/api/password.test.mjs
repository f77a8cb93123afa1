// Password reset by mail and password change (docs/accounts-contract.md,
// docs/design.md §3: a change or reset ends the other sessions).  Reset links come
// from the mail a real SMTP server received.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
	csrfClient,
	loggedIn,
	createToken,
	uniqueEmail,
	cookiesNamed,
	assertSecurityHeaders,
	sleep,
} from './harness.mjs';
import { hasLinkLine } from './smtp.mjs';
import {
	startAccounts,
	mark,
	nextMail,
	mailsTo,
	drainMail,
	newAccount,
	resetLink,
	resetConfirm,
	tryLogin,
	headerNames,
	assertMailShape,
	SUBJECT,
	ANSWER,
	RULE,
	GOOD_PW,
	GOOD_PW2,
} from './accounts-harness.mjs';

const P = 'Gatehouse';
let ctx;

before(async () => {
	ctx = await startAccounts();
});
after(async () => {
	await ctx?.stop();
});

const profileStatus = async (client, cookie) =>
	(await client.get('/api/users/profile/', cookie ? { cookies: cookie } : {})).status;
const tokenStatus = async (key) =>
	(await ctx.server.fetch('/api/users/profile/', { headers: { Authorization: `Token ${key}` } })).status;

async function changePassword(client, old_password, new_password) {
	return client.post('/api/password/change/', { json: { old_password, new_password } });
}

test('reset answers a known and an unknown address alike; each gets its own mail', async () => {
	const acct = await newAccount(ctx);
	const unknown = uniqueEmail('noaccount');
	const since = mark(ctx);
	const ask = async (email) => (await csrfClient(ctx.server)).post('/api/password/reset/', { json: { email } });
	const rKnown = await ask(acct.email);
	const rUnknown = await ask(unknown);
	for (const [name, r] of [
		['known', rKnown],
		['unknown', rUnknown],
	]) {
		assert.equal(r.status, 200, `${name}: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, ANSWER.reset, name);
		assertSecurityHeaders(r.headers, { api: true, what: `reset ${name}` });
	}
	assert.equal(rUnknown.text, rKnown.text, 'byte-identical bodies');
	assert.deepEqual(headerNames(rUnknown), headerNames(rKnown), 'same header names');

	const known = await nextMail(ctx, acct.email, SUBJECT.reset(P), since);
	assertMailShape(known, { fromAddress: 'noreply@localhost', what: 'reset mail' });
	const re = new RegExp(`^${ctx.origin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/reset-password/[^/\\s]+/[^/\\s]+$`);
	assert.ok(
		known.text.split(/\r?\n/).some((l) => re.test(l.trim())),
		`a reset link line in:\n${known.text}`,
	);
	const other = await nextMail(ctx, unknown, SUBJECT.resetUnknown(P), since);
	assertMailShape(other, { fromAddress: 'noreply@localhost', what: 'reset requested, no account' });
	assert.ok(hasLinkLine(other, `${ctx.origin}/signup`), `a ${ctx.origin}/signup line in:\n${other.text}`);
	assert.ok(!/reset-password\//.test(other.text + other.html), 'no reset link for an address without an account');
	assert.equal(
		ctx.server.sqlRows(`SELECT count(*) AS n FROM users WHERE email = '${unknown}'`)[0].n,
		0,
		'no account made',
	);
});

test('reset reports a missing or malformed address as a field error', async () => {
	const c = await csrfClient(ctx.server);
	let r = await c.post('/api/password/reset/', { json: {} });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { email: ANSWER.required });
	r = await c.post('/api/password/reset/', { json: { email: 'no-at-sign' } });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { email: ANSWER.badEmail });
	r = await c.post('/api/password/reset/confirm/', { json: {} });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { uid: ANSWER.required, token: ANSWER.required, new_password: ANSWER.required });
});

test('the reset link sets a new password once, and does not log in', async () => {
	const acct = await newAccount(ctx);
	const link = await resetLink(ctx, acct.email);
	const c = await csrfClient(ctx.server);
	const r = await resetConfirm(ctx, link, GOOD_PW2, c);
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, ANSWER.resetDone);
	assertSecurityHeaders(r.headers, { api: true, what: 'reset confirm 200' });
	assert.equal(cookiesNamed(r, 'sessionid').length, 0, 'no sessionid cookie: a reset does not log in');
	assert.equal(await profileStatus(c), 401, 'not logged in');

	assert.equal((await tryLogin(ctx, acct.email, GOOD_PW2)).res.status, 200, 'the new password works');
	assert.deepEqual((await tryLogin(ctx, acct.email, acct.password)).res.json, ANSWER.invalid, 'the old one does not');

	const again = await resetConfirm(ctx, link, 'another fine passphrase 3');
	assert.equal(again.status, 400, again.text);
	assert.deepEqual(again.json, ANSWER.badReset);
	assert.equal((await tryLogin(ctx, acct.email, GOOD_PW2)).res.status, 200, 'the second use changed nothing');
});

test('a tampered reset uid or token is refused and does not burn the real link', async () => {
	const acct = await newAccount(ctx);
	const other = await newAccount(ctx);
	const link = await resetLink(ctx, acct.email);
	const otherLink = await resetLink(ctx, other.email);
	const flip = (ch) => (ch === 'a' ? 'b' : 'a');
	const bad = [
		{ uid: link.uid, token: link.token.slice(0, -1) + flip(link.token.at(-1)) },
		{ uid: link.uid, token: link.token.slice(0, -1) },
		{ uid: link.uid, token: link.token + 'a' },
		{ uid: link.uid, token: otherLink.token },
		{ uid: otherLink.uid, token: link.token },
		{ uid: 'MTIzNDU2Nzg5', token: link.token },
		{ uid: '!!', token: link.token },
		{ uid: link.uid, token: 'x' },
		{ uid: link.uid, token: '' },
	];
	for (const b of bad) {
		const r = await resetConfirm(ctx, b, 'tampered passphrase 9');
		assert.equal(r.status, 400, `${JSON.stringify(b)}: ${r.status} ${r.text}`);
		// an empty token may be reported as a missing field; anything else is the link error
		if (b.token !== '') assert.deepEqual(r.json, ANSWER.badReset, JSON.stringify(b));
	}
	// no login in between: a login moves last_login, which rightly kills the link
	const ok = await resetConfirm(ctx, link, GOOD_PW2);
	assert.equal(ok.status, 200, `the genuine link after the forgeries: ${ok.text}`);
	assert.equal((await tryLogin(ctx, acct.email, GOOD_PW2)).res.status, 200, 'the genuine link set the password');
	assert.equal((await tryLogin(ctx, other.email, other.password)).res.status, 200, 'the other account is unchanged');
});

test('a uid whose decoding is the right id followed by a NUL byte and junk is refused', async () => {
	// Django: int(b"3\x00".decode()) raises, so such a uid is an invalid link.
	const acct = await newAccount(ctx);
	const link = await resetLink(ctx, acct.email);
	const id = Buffer.from(link.uid, 'base64url').toString('latin1');
	assert.match(id, /^[1-9][0-9]*$/, `uid ${link.uid} is the base64 of the user id`);
	for (const uid of [
		link.uid + 'A',
		Buffer.from(`${id}\0`).toString('base64url'),
		Buffer.from(`${id}\0junk`).toString('base64url'),
	]) {
		const r = await resetConfirm(ctx, { uid, token: link.token }, 'nul byte passphrase 4');
		assert.equal(
			r.status,
			400,
			`uid ${uid} (${JSON.stringify(Buffer.from(uid, 'base64url').toString('latin1'))}): ${r.status} ${r.text}`,
		);
		assert.deepEqual(r.json, ANSWER.badReset);
	}
	assert.equal((await tryLogin(ctx, acct.email, acct.password)).res.status, 200, 'the password is unchanged');
});

test('completing a reset ends every session and API token and mails the owner', async () => {
	const acct = await newAccount(ctx);
	const a = await loggedIn(ctx.server, acct.email, acct.password);
	const b = await loggedIn(ctx.server, acct.email, acct.password);
	const key = createToken(ctx.server, acct.email);
	assert.equal(await tokenStatus(key), 200, 'the token works before');
	const link = await resetLink(ctx, acct.email);
	const since = mark(ctx);
	const r = await resetConfirm(ctx, link, GOOD_PW2);
	assert.equal(r.status, 200, r.text);
	assert.equal(await profileStatus(a), 401, 'first session ended');
	assert.equal(await profileStatus(b), 401, 'second session ended');
	assert.equal(await tokenStatus(key), 401, 'API token revoked');
	const m = await nextMail(ctx, acct.email, SUBJECT.changed(P), since);
	assertMailShape(m, { fromAddress: 'noreply@localhost', what: 'password changed mail' });
	assert.ok(hasLinkLine(m, `${ctx.origin}/forgot-password`), `a ${ctx.origin}/forgot-password line in:\n${m.text}`);
});

test('a reset link dies once the user logs in after it was sent', async () => {
	const acct = await newAccount(ctx);
	const link = await resetLink(ctx, acct.email);
	await sleep(1100); // a new second, so a last_login kept in seconds moves too
	assert.equal((await tryLogin(ctx, acct.email, acct.password)).res.status, 200);
	const r = await resetConfirm(ctx, link, GOOD_PW2);
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, ANSWER.badReset);
	assert.equal((await tryLogin(ctx, acct.email, acct.password)).res.status, 200, 'password unchanged');
});

test('a reset link dies once the password changes (by change or by another reset)', async () => {
	const acct = await newAccount(ctx);
	const first = await resetLink(ctx, acct.email);
	const second = await resetLink(ctx, acct.email);
	const r = await resetConfirm(ctx, second, GOOD_PW2);
	assert.equal(r.status, 200, r.text);
	const dead = await resetConfirm(ctx, first, 'yet another passphrase 5');
	assert.equal(dead.status, 400, `the older link after a reset: ${dead.text}`);
	assert.deepEqual(dead.json, ANSWER.badReset);

	const third = await resetLink(ctx, acct.email);
	const u = await loggedIn(ctx.server, acct.email, GOOD_PW2);
	const ch = await changePassword(u, GOOD_PW2, GOOD_PW);
	assert.equal(ch.status, 200, ch.text);
	const dead2 = await resetConfirm(ctx, third, 'yet another passphrase 6');
	assert.equal(dead2.status, 400, `a link after a password change: ${dead2.text}`);
	assert.deepEqual(dead2.json, ANSWER.badReset);
	assert.equal((await tryLogin(ctx, acct.email, GOOD_PW)).res.status, 200);
});

test('reset confirm applies the password rules and keeps the link for a better try', async () => {
	const acct = await newAccount(ctx);
	const link = await resetLink(ctx, acct.email);
	for (const [pw, msg] of [
		['password1234', RULE.common],
		['short1!', RULE.tooShort(8)],
		['5550123987456', RULE.numeric],
		[acct.email, RULE.similar],
		['w'.repeat(4097), RULE.tooLong],
	]) {
		const r = await resetConfirm(ctx, link, pw);
		assert.equal(r.status, 400, `${pw.slice(0, 20)}: ${r.status} ${r.text}`);
		assert.deepEqual(Object.keys(r.json ?? {}), ['new_password'], r.text);
		assert.ok(r.json.new_password.includes(msg), `${pw.slice(0, 20)}: wanted ${JSON.stringify(msg)} in ${r.text}`);
	}
	const ok = await resetConfirm(ctx, link, GOOD_PW2);
	assert.equal(ok.status, 200, `the same link after refused passwords: ${ok.text}`);
	assert.equal((await tryLogin(ctx, acct.email, GOOD_PW2)).res.status, 200);
});

test('the database holds no reset token in the clear', async () => {
	const acct = await newAccount(ctx);
	const link = await resetLink(ctx, acct.email);
	let dump = '';
	for (let i = 0; i < 30; i++) {
		dump = ctx.server.dump();
		if (!dump.includes(link.token)) break;
		await sleep(100);
	}
	assert.ok(!dump.includes(link.token), 'the reset token from the mail is in the database dump (after delivery)');
	assert.ok(!ctx.server.stderr().includes(link.token), 'the reset token appears in the logs (stderr)');
});

test('password change keeps this session under a new sessionid, ends the others and mails the owner', async () => {
	const acct = await newAccount(ctx);
	const me = await loggedIn(ctx.server, acct.email, acct.password);
	const other = await loggedIn(ctx.server, acct.email, acct.password);
	const oldSession = me.cookie('sessionid');
	const oldCsrf = me.cookie('csrftoken');
	const since = mark(ctx);
	const r = await changePassword(me, acct.password, GOOD_PW2);
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, ANSWER.changed);
	assertSecurityHeaders(r.headers, { api: true, what: 'password change 200' });
	const [sid] = cookiesNamed(r, 'sessionid');
	assert.ok(sid && sid.value, 'a new sessionid cookie');
	assert.notEqual(sid.value, oldSession, 'a new session key');
	const [csrf] = cookiesNamed(r, 'csrftoken');
	assert.ok(csrf && csrf.value && csrf.value !== oldCsrf, 'csrftoken rotated');

	const p = await me.get('/api/users/profile/');
	assert.equal(p.status, 200, 'this browser stays logged in');
	assert.equal(p.json.email, acct.email);
	assert.equal(await profileStatus(me, `sessionid=${oldSession}`), 401, 'the old session key is dead');
	assert.equal(await profileStatus(other), 401, 'the other session ended');
	assert.equal((await tryLogin(ctx, acct.email, GOOD_PW2)).res.status, 200, 'new password works');
	assert.deepEqual((await tryLogin(ctx, acct.email, acct.password)).res.json, ANSWER.invalid, 'old password does not');

	const m = await nextMail(ctx, acct.email, SUBJECT.changed(P), since);
	assertMailShape(m, { fromAddress: 'noreply@localhost', what: 'password changed mail' });
	assert.ok(hasLinkLine(m, `${ctx.origin}/forgot-password`), m.text);
	// the rotated CSRF token is the one to use now
	const out = await me.post('/api/logout/');
	assert.equal(out.status, 200, `logout with the rotated csrftoken: ${out.text}`);
});

test('password change with a wrong old password is refused and changes nothing', async () => {
	const acct = await newAccount(ctx);
	const me = await loggedIn(ctx.server, acct.email, acct.password);
	const sid = me.cookie('sessionid');
	const since = mark(ctx);
	const r = await changePassword(me, 'not my password 0', GOOD_PW2);
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, ANSWER.wrongOld);
	assert.equal(cookiesNamed(r, 'sessionid').length, 0, 'no new session');
	assert.equal(me.cookie('sessionid'), sid);
	assert.equal(await profileStatus(me), 200, 'still logged in');
	assert.equal((await tryLogin(ctx, acct.email, acct.password)).res.status, 200, 'old password still works');
	await drainMail(ctx);
	assert.deepEqual(mailsTo(ctx, acct.email, undefined, since), [], 'no mail');
});

test('password change applies the password rules and reports missing fields', async () => {
	const acct = await newAccount(ctx);
	const me = await loggedIn(ctx.server, acct.email, acct.password);
	for (const [pw, msg] of [
		['qwertyuiop', RULE.common],
		['Ab3$efg', RULE.tooShort(8)],
		['90210384756', RULE.numeric],
		[acct.email, RULE.similar],
		['é'.repeat(2049), RULE.tooLong],
	]) {
		const r = await changePassword(me, acct.password, pw);
		assert.equal(r.status, 400, `${pw.slice(0, 20)}: ${r.status} ${r.text}`);
		assert.deepEqual(Object.keys(r.json ?? {}), ['new_password'], r.text);
		assert.ok(r.json.new_password.includes(msg), `wanted ${JSON.stringify(msg)} in ${r.text}`);
	}
	let r = await me.post('/api/password/change/', { json: {} });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { old_password: ANSWER.required, new_password: ANSWER.required });
	r = await me.post('/api/password/change/', { json: { old_password: acct.password } });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { new_password: ANSWER.required });
	assert.equal((await tryLogin(ctx, acct.email, acct.password)).res.status, 200, 'password unchanged');
});

test('password change without a session is 401', async () => {
	const c = await csrfClient(ctx.server);
	const r = await changePassword(c, GOOD_PW, GOOD_PW2);
	assert.equal(r.status, 401, r.text);
	assertSecurityHeaders(r.headers, { api: true, what: 'password change 401' });
});

describe('RESET_TTL=1', () => {
	let o;
	before(async () => {
		o = await startAccounts({ env: { GATEHOUSE_RESET_TTL: '1' } });
	});
	after(async () => {
		await o?.stop();
	});

	test('an expired reset link is refused', async () => {
		const acct = await newAccount(o);
		const link = await resetLink(o, acct.email);
		await sleep(2500);
		const r = await resetConfirm(o, link, GOOD_PW2);
		assert.equal(r.status, 400, r.text);
		assert.deepEqual(r.json, ANSWER.badReset);
		assert.equal((await tryLogin(o, acct.email, acct.password)).res.status, 200, 'password unchanged');
	});
});
