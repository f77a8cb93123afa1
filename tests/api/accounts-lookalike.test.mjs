// Addresses that look like another account's (issue "Hardening (1 of 2)"):
// fullwidth letters, zero-width and bidi characters, homoglyphs.  Each is
// refused with DRF's field error or lands on the one existing account; IDN
// domains are kept in their ASCII form.  Also: names from the CLI must be
// valid UTF-8 without controls, and a bad stored name cannot crash the
// profile.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, createUser, csrfClient, loggedIn, q, startServer, uniqueEmail } from './harness.mjs';
import {
	startAccounts,
	mark,
	nextMail,
	mailsTo,
	drainMail,
	signup,
	tryLogin,
	SUBJECT,
	ANSWER,
	GOOD_PW,
} from './accounts-harness.mjs';

const PRODUCT = 'Gatehouse';
let ctx, alice;

before(async () => {
	ctx = await startAccounts();
	alice = createUser(ctx.server, uniqueEmail('alice'), GOOD_PW);
});
after(async () => {
	await ctx?.stop();
});

const FULLWIDTH = (s) =>
	[...s].map((c) => (/[!-~]/.test(c) ? String.fromCodePoint(c.codePointAt(0) + 0xfee0) : c)).join('');
const userCount = () => ctx.server.sqlRows('SELECT count(*) AS n FROM users')[0].n;

/** Look-alikes of alice that must be refused: [what, address]. */
function refusedLookalikes() {
	const [l, d] = alice.split('@');
	return [
		['fullwidth local part', `${FULLWIDTH(l)}@${d}`],
		['zero-width space at the end', `${alice}\u200b`],
		['zero-width space in the local part', `${l.slice(0, 2)}\u200b${l.slice(2)}@${d}`],
		['zero-width joiner in the domain', `${l}@exam\u200dple.com`],
		['zero-width non-joiner in the domain', `${l}@exam\u200cple.com`],
		['right-to-left override', `${l}@\u202e${d}`],
		['left-to-right mark', `\u200e${alice}`],
		['word joiner', `${l}\u2060@${d}`],
		['byte order mark', `\ufeff${alice}`],
		['soft hyphen in the domain', `${l}@exam\u00adple.com`],
		['Cyrillic a in the local part', `\u0430${l.slice(1)}@${d}`],
		['no-break space', `${l}\u00a0@${d}`],
		['C1 control (NEL)', `${alice}\u0085`],
		['fullwidth @', `${l}\uff20${d}`],
	];
}

test('signup refuses every look-alike of an existing address with the field error, and creates no account', async () => {
	const before = userCount();
	for (const [what, email] of refusedLookalikes()) {
		const r = await signup(ctx, email);
		assert.equal(r.status, 400, `${what} (${JSON.stringify(email)}): ${r.status} ${r.text}`);
		assert.deepEqual(r.json, { email: ANSWER.badEmail }, what);
	}
	assert.equal(userCount(), before, 'no account was created');
});

test('login with a look-alike and the real password is the generic invalid-credentials answer', async () => {
	for (const [what, email] of refusedLookalikes()) {
		const { res } = await tryLogin(ctx, email, GOOD_PW);
		assert.equal(res.status, 400, `${what}: ${res.status} ${res.text}`);
		assert.deepEqual(res.json, ANSWER.invalid, what);
		assert.equal(
			res.setCookies.some(
				(c) => c.startsWith('sessionid=') && !c.startsWith('sessionid=;') && !c.startsWith('sessionid=""'),
			),
			false,
			`${what}: no session`,
		);
	}
	// and signup never made one of them an account of its own
	const tail = alice.split('@')[0].slice(1);
	const others = ctx.server
		.sqlRows(`SELECT email FROM users WHERE email <> ${q(alice)} AND email LIKE '%example.com%'`)
		.map((r) => r.email)
		.filter((e) => e.includes(tail));
	assert.deepEqual(others, []);
});

test('password reset for a look-alike is refused with the field error and mails nobody', async () => {
	const since = mark(ctx);
	for (const [what, email] of refusedLookalikes()) {
		const c = await csrfClient(ctx.server);
		const r = await c.post('/api/password/reset/', { json: { email } });
		assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, { email: ANSWER.badEmail }, what);
	}
	await drainMail(ctx);
	assert.equal(mailsTo(ctx, alice, undefined, since).length, 0, 'alice got no mail');
	assert.equal(
		ctx.smtp.messages.slice(since).filter((m) => !/sentinel/.test(m.to)).length,
		0,
		`no mail to any look-alike: ${ctx.smtp.messages
			.slice(since)
			.map((m) => m.to)
			.join(', ')}`,
	);
});

test('a fullwidth or upper-case domain is the same account: signup is "taken", login and reset reach alice', async () => {
	const [l] = alice.split('@');
	const variants = [
		`${l}@${FULLWIDTH('example.com')}`,
		`${l}@${FULLWIDTH('EXAMPLE')}\uff0ecom`,
		`${l}@example\u3002com`,
	];
	const before = userCount();
	for (const email of variants) {
		const since = mark(ctx);
		const r = await signup(ctx, email);
		assert.equal(r.status, 201, `${email}: ${r.status} ${r.text}`);
		await nextMail(ctx, alice, SUBJECT.taken(PRODUCT), since);
		const { res, client } = await tryLogin(ctx, email, GOOD_PW);
		assert.equal(res.status, 200, `login as ${email}: ${res.status} ${res.text}`);
		assert.equal((await client.get('/api/users/profile/')).json.email, alice, 'signed in as alice');
		const since2 = mark(ctx);
		const c = await csrfClient(ctx.server);
		const rr = await c.post('/api/password/reset/', { json: { email } });
		assert.deepEqual(rr.json, ANSWER.reset, `reset ${email}`);
		await nextMail(ctx, alice, SUBJECT.reset(PRODUCT), since2);
	}
	assert.equal(userCount(), before, 'no second account');
});

test('an internationalised domain is stored and shown in its ASCII (punycode) form, whichever way it is typed', async () => {
	const l = uniqueEmail('bob').split('@')[0];
	const r = await signup(ctx, `${l}@b\u00fccher.example`);
	assert.equal(r.status, 201, r.text);
	const rows = ctx.server.sqlRows(`SELECT email FROM users WHERE email LIKE ${q(l + '@%')}`);
	assert.deepEqual(
		rows.map((x) => x.email),
		[`${l}@xn--bcher-kva.example`],
	);
	const before = userCount();
	for (const email of [`${l}@xn--bcher-kva.example`, `${l}@bu\u0308cher.example`, `${l}@B\u00dcCHER.example`]) {
		const since = mark(ctx);
		const s = await signup(ctx, email);
		assert.equal(s.status, 201, `${email}: ${s.text}`);
		// the capture server (smtp-server) shows envelope addresses decoded to Unicode
		await nextMail(ctx, `${l}@b\u00fccher.example`, SUBJECT.taken(PRODUCT), since);
	}
	assert.equal(userCount(), before, 'the same account each time');
});

// --- names and emails from the CLI; a bad stored name -----------------------------

/** createuser through sh, so the arguments can hold bytes that are not UTF-8. */
function createuserRaw(email, shellArgs) {
	return spawnSync('/bin/sh', ['-c', `exec "$GH_BIN" createuser "$1" ${shellArgs}`, 'sh', email], {
		env: { ...ctx.server.env, GH_BIN: BIN },
		cwd: ctx.server.tmp,
		input: GOOD_PW + '\n',
		encoding: 'utf8',
	});
}

test('createuser refuses a first or last name that is not UTF-8 or holds control characters: exit 1, no user', async () => {
	for (const [what, args] of [
		['first name \\xff', `--first-name "$(printf '\\377')"`],
		['last name cut UTF-8', `--last-name "$(printf 'Zo\\303')"`],
		['first name with an escape sequence', `--first-name "$(printf 'a\\033[31mred')"`],
		['first name with a newline', `--first-name "$(printf 'a\\nb')"`],
		['last name with a bidi override', `--last-name "$(printf '\\342\\200\\256evil')"`],
		['first name of 151 characters', `--first-name ${'n'.repeat(151)}`],
	]) {
		const email = uniqueEmail('cliname');
		const r = createuserRaw(email, args);
		assert.equal(r.status, 1, `${what}: exit ${r.status}\n${r.stderr}`);
		assert.match(r.stderr, /name must be valid UTF-8/, what);
		assert.equal(
			ctx.server.sqlRows(`SELECT count(*) AS n FROM users WHERE email = ${q(email)}`)[0].n,
			0,
			`${what}: no user`,
		);
	}
	const ok = createuserRaw(uniqueEmail('cliname'), `--first-name "$(printf 'Zo\\303\\253')" --last-name 'de la Cruz'`);
	assert.equal(ok.status, 0, ok.stderr);
});

test('createuser refuses a look-alike email with exit 1 and a clear message', async () => {
	for (const email of [`${alice}\u200b`, FULLWIDTH(alice.split('@')[0]) + '@example.com', `${alice}\u202e`]) {
		const r = ctx.server.cli(['createuser', email], { input: GOOD_PW + '\n' });
		assert.equal(r.status, 1, `${JSON.stringify(email)}: exit ${r.status}\n${r.stderr}`);
		assert.match(r.stderr, /not a valid email address/);
	}
});

test('a stored name that is not UTF-8 still gives a 200 profile and admin list, and the server stays up', async () => {
	// a database that can hold such bytes: any SQLite file; on PostgreSQL one in
	// SQL_ASCII (a UTF8 database refuses them), as legacy databases are
	const srv = await startServer({ pgEncoding: 'SQL_ASCII' });
	try {
		const staff = createUser(srv, uniqueEmail('badname-admin'), GOOD_PW, ['--staff']);
		const email = createUser(srv, uniqueEmail('badname'), GOOD_PW);
		srv.sql(
			`UPDATE users SET first_name = ${srv.bytesAsText('41FF42')}, last_name = ${srv.bytesAsText('C3')} WHERE email = ${q(email)}`,
		);
		const admin = await loggedIn(srv, staff, GOOD_PW);
		const search = (e) => admin.get(`/api/admin/users/?search=${encodeURIComponent(e)}`);
		if (srv.store === 'sqlite') {
			// SQLite hands the bytes over as they are: gatehouse shows U+FFFD for what is not UTF-8
			const c = await loggedIn(srv, email, GOOD_PW);
			const r = await c.get('/api/users/profile/');
			assert.equal(r.status, 200, r.text);
			assert.equal(r.json.first_name, 'A\ufffdB');
			assert.equal(r.json.last_name, '\ufffd');
			const list = await search(email);
			assert.equal(list.status, 200, list.text);
			assert.equal(list.json.results[0].first_name, 'A\ufffdB');
		} else {
			// PostgreSQL never hands a UTF8 client (gatehouse) bytes that are not UTF-8: reading
			// the row fails in the database, and gatehouse answers that request 503, not a crash
			const c = await csrfClient(srv);
			for (const r of [await c.post('/api/login/', { json: { email, password: GOOD_PW } }), await search(email)]) {
				assert.equal(r.status, 503, r.text);
				assert.equal(typeof r.json?.detail, 'string', r.text);
				assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After');
			}
		}
		// the row spoils nothing else
		const self = await search(staff);
		assert.equal(self.status, 200, self.text);
		assert.equal(self.json.results[0].email, staff);
		assert.ok(await srv.alive(), 'server alive');
	} finally {
		await srv.stop();
	}
});

test('the admin user search finds an account by its address typed with a fullwidth or upper-case domain', async () => {
	const staff = createUser(ctx.server, uniqueEmail('searcher'), GOOD_PW, ['--staff']);
	const c = await loggedIn(ctx.server, staff, GOOD_PW);
	const [l] = alice.split('@');
	for (const typed of [`${l}@${FULLWIDTH('EXAMPLE')}.com`, `${l.toUpperCase()}@Example.COM`]) {
		const r = await c.get(`/api/admin/users/?search=${encodeURIComponent(typed)}`);
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(
			r.json.results.map((u) => u.email),
			[alice],
			typed,
		);
	}
});

test('signup refuses a first or last name with control or bidi characters, as the CLI does', async () => {
	const before = userCount();
	for (const [field, value] of [
		['first_name', 'Al\u202eice'],
		['last_name', 'Smith\u0007'],
		['first_name', 'a\u200fb'],
	]) {
		const r = await signup(ctx, uniqueEmail('named'), GOOD_PW, { [field]: value });
		assert.equal(r.status, 400, `${field}=${JSON.stringify(value)}: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, { [field]: ['Enter a valid name.'] });
	}
	assert.equal(userCount(), before, 'no account was created');
	const ok = await signup(ctx, uniqueEmail('named'), GOOD_PW, { first_name: 'Zoë', last_name: 'Ångström' });
	assert.equal(ok.status, 201, ok.text);
});
