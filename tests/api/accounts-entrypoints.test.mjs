// One user lifecycle, whatever the door (src/accounts/accounts.h): a user
// made by signup, by social login, by `gatehouse createuser` or by POST
// /api/admin/users/ gets the same treatment (normalised email, a fresh auth
// hash, an audit row, the right verified flag, the same refusal of a taken or
// look-alike address); and setting a password by reset link, by change or by
// `gatehouse changepassword` follows the one documented policy per reason
// (sessions, tokens, audit, the "password changed" mail).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createUser, createToken, loggedIn, uniqueEmail, q } from './harness.mjs';
import {
	startAccounts,
	signup,
	signupKey,
	confirm,
	resetLink,
	resetConfirm,
	nextMail,
	mark,
	SUBJECT,
	ANSWER,
	GOOD_PW,
	GOOD_PW2,
} from './accounts-harness.mjs';
import { withToken, assertSignedOut, assertSignedIn } from './admin-harness.mjs';
import { startSocial, socialLogin, loginOk, githubUser, assertRefused, stopAll } from './social-harness.mjs';

let ctx;
let root; // a signed-in superuser: creates users through the admin API, reads the audit log
let rootId;

before(async () => {
	ctx = await startSocial({ start: (env) => startAccounts({ env }) });
	const email = createUser(ctx.server, uniqueEmail('root'), GOOD_PW, ['--superuser']);
	root = await loggedIn(ctx.server, email, GOOD_PW);
	rootId = (await root.get('/api/users/profile/')).json.id;
});
after(async () => {
	await stopAll(() => ctx?.stop());
});

const userRow = (email) =>
	ctx.server.sqlRows(
		`SELECT id, email, auth_hash, email_verified, is_active FROM users WHERE email = ${q(email.toLowerCase())}`,
	)[0];
const userCountLike = (needle) =>
	Number(ctx.server.sqlRows(`SELECT count(*) AS n FROM users WHERE email LIKE ${q(`%${needle}%`)}`)[0].n);

/** Audit rows of user id with event (admin API). */
async function audit(id, event) {
	const r = await root.get(`/api/admin/audit/?user=${id}&event=${encodeURIComponent(event)}`);
	assert.equal(r.status, 200, `audit: ${r.status} ${r.text}`);
	return r.json.results;
}

/** An address in upper case with spaces around: what each door is given. */
const shouting = (email) => `  ${email.toUpperCase()} `;

/** Make a user through each door from `email` as typed; returns {door: stored row}. */
const DOORS = {
	async signup(email) {
		const r = await signup(ctx, email);
		assert.equal(r.status, 201, `signup: ${r.status} ${r.text}`);
	},
	async social(email) {
		const acct = githubUser(ctx, { email });
		await loginOk(ctx, 'github', acct);
	},
	async cli(email) {
		createUser(ctx.server, email, GOOD_PW);
	},
	async admin(email) {
		const r = await root.post('/api/admin/users/', { json: { email } });
		assert.equal(r.status, 201, `admin create: ${r.status} ${r.text}`);
	},
};

async function throughEveryDoor(prefix) {
	const made = {};
	for (const [door, make] of Object.entries(DOORS)) {
		const email = uniqueEmail(`${prefix}-${door}`);
		await make(door === 'signup' || door === 'cli' || door === 'admin' ? shouting(email) : email.toUpperCase());
		made[door] = { email, row: userRow(email) };
		assert.ok(made[door].row, `${door}: a user stored under the normal form ${email}`);
	}
	return made;
}

test('a user made by signup, social login, the CLI or the admin API is stored under the normalised email', async () => {
	const made = await throughEveryDoor('norm');
	for (const [door, { email, row }] of Object.entries(made)) assert.equal(row.email, email.toLowerCase(), door);
});

test('a user made through any door gets its own fresh auth hash', async () => {
	const made = await throughEveryDoor('authhash');
	const hashes = Object.values(made).map((m) => m.row.auth_hash);
	for (const [door, { row }] of Object.entries(made)) assert.match(row.auth_hash, /^[A-Za-z0-9]{32}$/, door);
	assert.equal(new Set(hashes).size, hashes.length, `distinct: ${hashes.join(' ')}`);
});

test('a user made through any door leaves its audit row: user.signed_up for signup and social, admin.user.created for CLI and admin', async () => {
	const made = await throughEveryDoor('audit');
	const one = async (door, event, actor, detail) => {
		const rows = await audit(made[door].row.id, event);
		assert.equal(rows.length, 1, `${door}: one ${event} row, got ${JSON.stringify(rows)}`);
		assert.equal(rows[0].actor_id, actor, `${door}: actor`);
		assert.deepEqual(rows[0].detail, detail, `${door}: detail`);
	};
	await one('signup', 'user.signed_up', null, { method: 'password' });
	await one('social', 'user.signed_up', null, { method: 'github' });
	await one('cli', 'admin.user.created', null, { is_staff: false, is_superuser: false });
	await one('admin', 'admin.user.created', rootId, { is_staff: false, is_superuser: false });
});

test("the verified flag: signup waits for the confirmation link, social takes the provider's word, CLI and admin vouch", async () => {
	const made = await throughEveryDoor('verified');
	assert.equal(made.signup.row.email_verified, 0, 'signup: unverified until the link is followed');
	assert.equal(made.social.row.email_verified, 1, 'social: the provider said verified');
	assert.equal(made.cli.row.email_verified, 1, 'cli');
	assert.equal(made.admin.row.email_verified, 1, 'admin');
	for (const [door, { row }] of Object.entries(made)) assert.equal(row.is_active, 1, `${door}: active`);
});

test('an address that has an account, in any spelling, is refused by every door and never makes a second account', async () => {
	const taken = createUser(ctx.server, uniqueEmail('taken'), GOOD_PW);
	const spelled = shouting(taken);
	// signup: the same answer as a new address (no enumeration); the owner is told by mail
	const since = mark(ctx);
	const s = await signup(ctx, spelled);
	assert.equal(s.status, 201, `signup: ${s.status} ${s.text}`);
	assert.deepEqual(s.json, ANSWER.signup);
	await nextMail(ctx, taken, SUBJECT.taken(ctx.product), since);
	// social: refused
	const r = await socialLogin(ctx, 'github', githubUser(ctx, { email: taken.toUpperCase() }).login);
	assertRefused(r.res, 400, 'social with a taken address');
	// CLI: exit 1
	const c = ctx.server.cli(['createuser', spelled], { input: `${GOOD_PW}\n` });
	assert.equal(c.status, 1, `cli: ${c.status} ${c.stderr}`);
	assert.match(c.stderr, /already exists/);
	// admin: 400 on email
	const a = await root.post('/api/admin/users/', { json: { email: spelled } });
	assert.equal(a.status, 400, `admin: ${a.status} ${a.text}`);
	assert.deepEqual(a.json, { email: ['A user with that email address already exists.'] });
	assert.equal(userCountLike(taken.split('@')[0]), 1, 'still one account');
});

test('a look-alike address (zero-width or bidi character, Cyrillic letter) is refused by every door', async () => {
	const base = uniqueEmail('lookalike');
	const [local, domain] = base.split('@');
	const fakes = [`${local}\u200b@${domain}`, `${local.replace('o', '\u043e')}@${domain}`, `${local}@${domain}\u202e`];
	for (const fake of fakes) {
		const w = JSON.stringify(fake);
		const s = await signup(ctx, fake);
		assert.equal(s.status, 400, `signup ${w}: ${s.status} ${s.text}`);
		assert.deepEqual(s.json.email, ANSWER.badEmail, `signup ${w}`);
		const c = ctx.server.cli(['createuser', fake], { input: `${GOOD_PW}\n` });
		assert.equal(c.status, 1, `cli ${w}: ${c.status} ${c.stderr}`);
		const a = await root.post('/api/admin/users/', { json: { email: fake } });
		assert.equal(a.status, 400, `admin ${w}: ${a.status} ${a.text}`);
		assert.deepEqual(a.json, { email: ANSWER.badEmail }, `admin ${w}`);
		const r = await socialLogin(ctx, 'github', githubUser(ctx, { email: fake }).login);
		assertRefused(r.res, 400, `social ${w}`);
	}
	assert.equal(userCountLike(local.slice(-6)), 0, 'no account was made');
});

// --- setting a password: one policy per reason ----------------------------------------

/** A CLI user with two signed-in browsers and an API token. */
async function victim(prefix) {
	const email = createUser(ctx.server, uniqueEmail(prefix), GOOD_PW);
	const a = await loggedIn(ctx.server, email, GOOD_PW);
	const b = await loggedIn(ctx.server, email, GOOD_PW);
	const key = createToken(ctx.server, email);
	return { email, a, b, key, id: userRow(email).id };
}

const tokenWorks = async (key) => (await withToken(ctx.server, key)).status === 200;

test('reset-confirm ends every session and token, audits password.reset and mails "password changed"', async () => {
	const v = await victim('pol-reset');
	const link = await resetLink(ctx, v.email);
	const since = mark(ctx);
	const r = await resetConfirm(ctx, link, GOOD_PW2);
	assert.equal(r.status, 200, `${r.status} ${r.text}`);
	await assertSignedOut(v.a, 'reset: browser a');
	await assertSignedOut(v.b, 'reset: browser b');
	assert.equal(await tokenWorks(v.key), false, 'reset: the token ended');
	assert.equal((await audit(v.id, 'password.reset')).length, 1);
	await nextMail(ctx, v.email, SUBJECT.changed(ctx.product), since);
});

test('a reset link confirms an unconfirmed address, drops its confirmation key and audits email.confirmed', async () => {
	const email = uniqueEmail('pol-reset-unconfirmed');
	const key = await signupKey(ctx, email);
	const id = userRow(email).id;
	assert.equal(userRow(email).email_verified, 0);
	const r = await resetConfirm(ctx, await resetLink(ctx, email), GOOD_PW2);
	assert.equal(r.status, 200, `${r.status} ${r.text}`);
	assert.equal(userRow(email).email_verified, 1, 'verified by the reset');
	assert.equal((await confirm(ctx, key)).status, 400, 'the old confirmation key is gone');
	assert.equal((await audit(id, 'email.confirmed')).length, 1, 'email.confirmed audited once');
});

test('a password change ends the other sessions, keeps this one and the tokens, audits password.changed and mails', async () => {
	const v = await victim('pol-change');
	const since = mark(ctx);
	const r = await v.a.post('/api/password/change/', { json: { old_password: GOOD_PW, new_password: GOOD_PW2 } });
	assert.equal(r.status, 200, `${r.status} ${r.text}`);
	await assertSignedIn(v.a, v.email, 'change: this browser goes on');
	await assertSignedOut(v.b, 'change: the other browser');
	assert.equal(await tokenWorks(v.key), true, 'change: the token stays');
	const rows = await audit(v.id, 'password.changed');
	assert.equal(rows.length, 1);
	assert.equal(rows[0].actor_id, v.id, 'the owner acted');
	await nextMail(ctx, v.email, SUBJECT.changed(ctx.product), since);
});

test('gatehouse changepassword ends every session, keeps the tokens, audits password.changed with no actor and mails the owner', async () => {
	const v = await victim('pol-cli');
	const since = mark(ctx);
	const c = ctx.server.cli(['changepassword', v.email], { input: `${GOOD_PW2}\n` });
	assert.equal(c.status, 0, `cli: ${c.status} ${c.stderr}`);
	await assertSignedOut(v.a, 'cli: browser a');
	await assertSignedOut(v.b, 'cli: browser b');
	assert.equal(await tokenWorks(v.key), true, 'cli: the token stays');
	const rows = await audit(v.id, 'password.changed');
	assert.equal(rows.length, 1);
	assert.equal(rows[0].actor_id, null, 'no actor on the command line');
	await nextMail(ctx, v.email, SUBJECT.changed(ctx.product), since);
	assert.equal((await loggedIn(ctx.server, v.email, GOOD_PW2)).cookie('sessionid') !== undefined, true);
});
