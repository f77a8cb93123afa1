// POST /api/admin/users/ (docs/admin-contract.md): staff create an account
// for someone; it is active, its address verified (the admin vouches), it has
// no usable password, and the person gets the password-reset mail.  Staff
// only, CSRF, and a fresh re-authentication like granting staff.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createUser, loggedIn, csrfClient, uniqueEmail, sleep, SLOW } from './harness.mjs';
import {
	startAccounts,
	nextMail,
	mark,
	SUBJECT,
	GOOD_PW,
	GOOD_PW2,
	tryLogin,
	resetConfirm,
} from './accounts-harness.mjs';
import { resetLinkOf } from './smtp.mjs';
import { ADMIN_USER_KEYS, NOT_PROVIDED, NO_PERMISSION } from './admin-harness.mjs';

const MAX_AGE = 3 * SLOW; // GATEHOUSE_REAUTH_MAX_AGE of this server
const REAUTH_REQUIRED = { detail: 'Confirm your password to continue.', code: 'reauthentication_required' };
const URL = '/api/admin/users/';

let ctx;

before(async () => {
	ctx = await startAccounts({ env: { GATEHOUSE_REAUTH_MAX_AGE: String(MAX_AGE) } });
});
after(async () => {
	await ctx?.stop();
});

/** A fresh signed-in staff member (or superuser). */
async function admin(flag = '--staff') {
	const email = createUser(ctx.server, uniqueEmail('admin'), GOOD_PW, [flag]);
	return loggedIn(ctx.server, email, GOOD_PW);
}

const userRows = (email) => ctx.server.sqlRows(`SELECT id FROM users WHERE email = '${email.toLowerCase()}'`);

test('an anonymous POST /api/admin/users/ is 401 and creates nobody', async () => {
	const c = await csrfClient(ctx.server);
	const email = uniqueEmail('anon-made');
	const r = await c.post(URL, { json: { email } });
	assert.equal(r.status, 401, `${r.status} ${r.text}`);
	assert.deepEqual(r.json, NOT_PROVIDED);
	assert.equal(userRows(email).length, 0);
});

test('a non-staff POST /api/admin/users/ is 403 and creates nobody', async () => {
	const plain = createUser(ctx.server, uniqueEmail('plain'), GOOD_PW);
	const c = await loggedIn(ctx.server, plain, GOOD_PW);
	const email = uniqueEmail('plain-made');
	const r = await c.post(URL, { json: { email } });
	assert.equal(r.status, 403, `${r.status} ${r.text}`);
	assert.deepEqual(r.json, NO_PERMISSION);
	assert.equal(userRows(email).length, 0);
});

test('POST /api/admin/users/ without the CSRF header is 403 and creates nobody', async () => {
	const c = await admin();
	const email = uniqueEmail('nocsrf-made');
	const r = await c.post(URL, { json: { email }, csrf: false });
	assert.equal(r.status, 403, `${r.status} ${r.text}`);
	assert.match(r.json.detail, /^CSRF Failed/);
	assert.equal(userRows(email).length, 0);
});

test('POST /api/admin/users/ with a stale re-authentication is 403 reauthentication_required', async () => {
	const c = await admin();
	await sleep(MAX_AGE * 1000 + 700);
	const email = uniqueEmail('stale-made');
	const r = await c.post(URL, { json: { email } });
	assert.equal(r.status, 403, `${r.status} ${r.text}`);
	assert.deepEqual(r.json, REAUTH_REQUIRED);
	assert.equal(userRows(email).length, 0);
	// after re-authenticating it goes through
	const re = await c.post('/api/auth/reauthenticate/', { json: { password: GOOD_PW } });
	assert.equal(re.status, 200, `reauthenticate: ${re.status} ${re.text}`);
	const ok = await c.post(URL, { json: { email } });
	assert.equal(ok.status, 201, `${ok.status} ${ok.text}`);
});

test('POST /api/admin/users/ with an address that has an account (any spelling) is 400 on email', async () => {
	const c = await admin();
	const taken = createUser(ctx.server, uniqueEmail('taken'), GOOD_PW);
	const [local, domain] = taken.split('@');
	for (const email of [taken, `${local.toUpperCase()}@${domain.toUpperCase()}`, ` ${taken} `]) {
		const r = await c.post(URL, { json: { email } });
		assert.equal(r.status, 400, `${JSON.stringify(email)}: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, { email: ['A user with that email address already exists.'] }, JSON.stringify(email));
	}
	assert.equal(userRows(taken).length, 1);
});

test('POST /api/admin/users/ with a look-alike address is 400 on email and creates nobody', async () => {
	const c = await admin();
	const real = uniqueEmail('lookalike');
	const [local, domain] = real.split('@');
	for (const email of [
		`${local}\u200b@${domain}`,
		`${local}@${domain}\u202e`,
		`${local.replace('o', '\u043e')}@${domain}`,
		'no-at-sign',
	]) {
		const r = await c.post(URL, { json: { email } });
		assert.equal(r.status, 400, `${JSON.stringify(email)}: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, { email: ['Enter a valid email address.'] }, JSON.stringify(email));
	}
	assert.equal(
		Number(ctx.server.sqlRows(`SELECT count(*) AS n FROM users WHERE email LIKE '%${local.slice(-6)}%'`)[0].n),
		0,
	);
});

test('POST /api/admin/users/ with a name holding control or bidi characters is 400 on that name', async () => {
	const c = await admin();
	for (const [field, value] of [
		['first_name', 'Eve\u202eliam'],
		['last_name', 'Mal\u0007lory'],
		['first_name', 'x'.repeat(151)],
	]) {
		const email = uniqueEmail('badname');
		const r = await c.post(URL, { json: { email, [field]: value } });
		assert.equal(r.status, 400, `${field}=${JSON.stringify(value)}: ${r.status} ${r.text}`);
		assert.deepEqual(Object.keys(r.json), [field], r.text);
		assert.equal(userRows(email).length, 0);
	}
});

test('POST /api/admin/users/ creates a verified account without a password (201) and mails the person a reset link that works', async () => {
	const c = await admin();
	const email = uniqueEmail('Made-By-Admin');
	const since = mark(ctx);
	const r = await c.post(URL, { json: { email: email.toUpperCase(), first_name: 'Ada', last_name: 'Lovelace' } });
	assert.equal(r.status, 201, `${r.status} ${r.text}`);
	assert.deepEqual(Object.keys(r.json).sort(), ADMIN_USER_KEYS);
	assert.equal(r.json.email, email.toLowerCase());
	assert.equal(r.json.first_name, 'Ada');
	assert.equal(r.json.last_name, 'Lovelace');
	assert.equal(r.json.is_active, true);
	assert.equal(r.json.email_verified, true);
	assert.equal(r.json.is_staff, false);
	assert.equal(r.json.is_superuser, false);
	// no password works yet: not even an empty or guessed one
	assert.equal((await tryLogin(ctx, email, GOOD_PW)).res.status, 400);
	const m = await nextMail(ctx, email, SUBJECT.reset(ctx.product), since);
	const link = resetLinkOf(m, ctx.origin);
	assert.ok(link, `a reset link in:\n${m.text}`);
	const done = await resetConfirm(ctx, link, GOOD_PW2);
	assert.equal(done.status, 200, `reset confirm: ${done.status} ${done.text}`);
	assert.equal((await tryLogin(ctx, email, GOOD_PW2)).res.status, 200, 'the person signs in with their own password');
});

test('only a superuser creates a staff account through POST /api/admin/users/', async () => {
	const staff = await admin('--staff');
	const email = uniqueEmail('want-staff');
	const r = await staff.post(URL, { json: { email, is_staff: true } });
	assert.equal(r.status, 403, `${r.status} ${r.text}`);
	assert.equal(userRows(email).length, 0);
	const sup = await admin('--superuser');
	const ok = await sup.post(URL, { json: { email, is_staff: true } });
	assert.equal(ok.status, 201, `${ok.status} ${ok.text}`);
	assert.equal(ok.json.is_staff, true);
});
