// POST /api/login/ and the user CLI (docs/design.md §2, §3 passwords, §5).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import {
	startServer,
	createUser,
	csrfClient,
	loggedIn,
	uniqueEmail,
	q,
	headerPairs,
	cookiesNamed,
	assertSecurityHeaders,
	SLOW,
} from './harness.mjs';

const PW = 'login pass 1';
const INVALID = { detail: 'Invalid credentials' };
let server;

before(async () => {
	server = await startServer({
		// many logins of one account at once (one test): no per-account cap on checks in flight
		env: {
			GATEHOUSE_LOGIN_IP_LIMIT: '10000',
			GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '10000',
			GATEHOUSE_LOGIN_ACCOUNT_INFLIGHT: '100',
		},
	});
});
after(async () => {
	await server?.stop();
});

const passwordOf = (srv, email) => srv.sqlRows(`SELECT password FROM users WHERE email = ${q(email)}`)[0]?.password;

test('JSON login succeeds', async () => {
	const email = createUser(server, uniqueEmail('json'), PW);
	const c = await csrfClient(server);
	const r = await c.post('/api/login/', { json: { email, password: PW } });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, { detail: 'Success' });
	assertSecurityHeaders(r.headers, { api: true, what: 'login 200' });
	assert.equal((await c.get('/api/users/profile/')).json.email, email);
});

test('unknown extra fields in the login body are ignored', async () => {
	const email = createUser(server, uniqueEmail('extra'), PW);
	const c = await csrfClient(server);
	const r = await c.post('/api/login/', { json: { email, password: PW, remember: true, next: '/x' } });
	assert.equal(r.status, 200, r.text);
});

test('form-urlencoded login succeeds', async () => {
	const email = createUser(server, uniqueEmail('form'), PW);
	const c = await csrfClient(server);
	const r = await c.post('/api/login/', { form: { email, password: PW } });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, { detail: 'Success' });
	assert.equal((await c.get('/api/users/profile/')).status, 200);
});

test('a JSON Content-Type with a charset parameter is accepted', async () => {
	const email = createUser(server, uniqueEmail('charset'), PW);
	const c = await csrfClient(server);
	const r = await c.post('/api/login/', {
		body: JSON.stringify({ email, password: PW }),
		headers: { 'Content-Type': 'application/json; charset=utf-8' },
	});
	assert.equal(r.status, 200, r.text);
});

test('the login path without trailing slash is served too, with no redirect', async () => {
	const email = createUser(server, uniqueEmail('noslash'), PW);
	const c = server.client();
	let r = await c.get('/api/login-set-cookie');
	assert.equal(r.status, 200);
	r = await c.post('/api/login', { json: { email, password: PW } });
	assert.equal(r.status, 200, r.text);
	r = await c.get('/api/users/profile');
	assert.equal(r.status, 200);
	assert.equal(r.json.email, email);
	r = await c.post('/api/logout');
	assert.equal(r.status, 200);
	assert.equal((await c.get('/api/users/profile')).status, 401);
});

test('emails are matched case-insensitively at login', async () => {
	const email = uniqueEmail('case');
	createUser(server, email.toUpperCase(), PW);
	assert.equal(server.sqlRows(`SELECT id FROM users WHERE email = ${q(email)}`).length, 1, 'stored lower-cased');
	const c = await csrfClient(server);
	const mixed = email.replace(/^./, (x) => x.toUpperCase()).replace('@example.com', '@Example.COM');
	const r = await c.post('/api/login/', { json: { email: mixed, password: PW } });
	assert.equal(r.status, 200, r.text);
	assert.equal((await c.get('/api/users/profile/')).json.email, email);
});

test('unknown email, wrong password and inactive user get the same status, body and headers', async () => {
	const active = createUser(server, uniqueEmail('same'), PW);
	const inactive = createUser(server, uniqueEmail('inactive'), PW);
	server.sql(`UPDATE users SET is_active = 0 WHERE email = ${q(inactive)}`);
	const attempt = async (em, pw) => {
		const c = await csrfClient(server);
		return c.post('/api/login/', { json: { email: em, password: pw } });
	};
	const unknown = await attempt(uniqueEmail('nobody'), PW);
	const wrong = await attempt(active, 'not the password');
	const off = await attempt(inactive, PW);
	for (const [name, r] of [
		['unknown', unknown],
		['wrong', wrong],
		['inactive', off],
	]) {
		assert.equal(r.status, 400, `${name}: ${r.text}`);
		assert.deepEqual(r.json, INVALID, name);
		assert.equal(cookiesNamed(r, 'sessionid').length, 0, `${name}: no session`);
	}
	assert.equal(wrong.text, unknown.text, 'byte-identical bodies');
	assert.equal(off.text, unknown.text, 'byte-identical bodies');
	assert.deepEqual(headerPairs(wrong), headerPairs(unknown), 'wrong password vs unknown email headers');
	assert.deepEqual(headerPairs(off), headerPairs(unknown), 'inactive user vs unknown email headers');
	assertSecurityHeaders(unknown.headers, { api: true, what: 'login 400' });
});

test('a missing email or password is a DRF field error', async () => {
	const c = await csrfClient(server);
	let r = await c.post('/api/login/', { json: { password: PW } });
	assert.equal(r.status, 400);
	assert.deepEqual(r.json, { email: ['This field is required.'] });
	r = await c.post('/api/login/', { json: { email: 'someone@example.com' } });
	assert.equal(r.status, 400);
	assert.deepEqual(r.json, { password: ['This field is required.'] });
	r = await c.post('/api/login/', { json: {} });
	assert.equal(r.status, 400);
	assert.deepEqual(r.json, { email: ['This field is required.'], password: ['This field is required.'] });
	r = await c.post('/api/login/', { form: { email: 'someone@example.com' } });
	assert.equal(r.status, 400);
	assert.deepEqual(r.json, { password: ['This field is required.'] });
});

test('a password over 4096 bytes is rejected with a field error, quickly', async () => {
	const email = createUser(server, uniqueEmail('long'), PW);
	const c = await csrfClient(server);
	const r = await c.post('/api/login/', { json: { email, password: 'x'.repeat(4097) } });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, { password: ['Ensure this field has no more than 4096 characters.'] });
	assert.ok(r.elapsed < 2000 * SLOW, `took ${r.elapsed} ms`);
	// 60,000 bytes: still under the body limit, still refused before hashing.
	const big = await c.post('/api/login/', { json: { email, password: 'y'.repeat(60000) } });
	assert.equal(big.status, 400);
	assert.deepEqual(big.json, { password: ['Ensure this field has no more than 4096 characters.'] });
	assert.ok(big.elapsed < 2000 * SLOW, `took ${big.elapsed} ms`);
});

test('a password of exactly 4096 bytes is checked like any other', async () => {
	const long = 'z'.repeat(4096);
	const email = createUser(server, uniqueEmail('exact'), long);
	const c = await csrfClient(server);
	const bad = await c.post('/api/login/', { json: { email, password: 'z'.repeat(4095) + 'y' } });
	assert.equal(bad.status, 400);
	assert.deepEqual(bad.json, INVALID);
	const ok = await c.post('/api/login/', { json: { email, password: long } });
	assert.equal(ok.status, 200, ok.text);
});

test('the 4096 limit counts bytes, not characters', async () => {
	const email = createUser(server, uniqueEmail('utf8'), PW);
	const c = await csrfClient(server);
	const r = await c.post('/api/login/', { json: { email, password: 'é'.repeat(2049) } }); // 4098 bytes
	assert.equal(r.status, 400);
	assert.deepEqual(r.json, { password: ['Ensure this field has no more than 4096 characters.'] });
});

test('a non-ASCII password works end to end', async () => {
	const pw = 'pässwörd ✓ 密码';
	const email = createUser(server, uniqueEmail('unicode'), pw);
	const c = await csrfClient(server);
	assert.equal((await c.post('/api/login/', { form: { email, password: pw } })).status, 200);
});

test('a password is stored as Django-format argon2id with the configured cost', async () => {
	const email = createUser(server, uniqueEmail('fmt'), PW);
	const stored = passwordOf(server, email);
	assert.match(stored, /^argon2\$argon2id\$v=19\$m=8192,t=1,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
	assert.ok(!stored.includes(PW));
});

test('a Django pbkdf2_sha256 hash logs in and is upgraded to argon2id', async () => {
	const email = uniqueEmail('django');
	createUser(server, email, 'placeholder pass');
	const pw = 'correct horse';
	const salt = 'gatehouseSalt1';
	const hash = `pbkdf2_sha256$260000$${salt}$${pbkdf2Sync(pw, salt, 260000, 32, 'sha256').toString('base64')}`;
	server.sql(`UPDATE users SET password = ${q(hash)} WHERE email = ${q(email)}`);

	const c = await csrfClient(server);
	const wrong = await c.post('/api/login/', { json: { email, password: 'correct horsf' } });
	assert.equal(wrong.status, 400);
	assert.deepEqual(wrong.json, INVALID);
	assert.equal(passwordOf(server, email), hash, 'a failed login does not touch the hash');

	const r = await c.post('/api/login/', { json: { email, password: pw } });
	assert.equal(r.status, 200, r.text);
	const upgraded = passwordOf(server, email);
	assert.ok(upgraded.startsWith('argon2$argon2id$'), `upgraded hash ${upgraded}`);

	const again = await csrfClient(server);
	assert.equal((await again.post('/api/login/', { json: { email, password: pw } })).status, 200, 'the rehash verifies');
	assert.equal((await again.post('/api/login/', { json: { email, password: 'nope' } })).status, 400);
});

test('a successful login records last_login', async () => {
	const email = createUser(server, uniqueEmail('last'), PW);
	const before_ = server.sqlRows(`SELECT last_login FROM users WHERE email = ${q(email)}`)[0].last_login;
	assert.equal(before_, null);
	await loggedIn(server, email, PW);
	const ll = server.sqlRows(`SELECT last_login FROM users WHERE email = ${q(email)}`)[0].last_login;
	assert.ok(Math.abs(ll - Date.now() / 1000) < 120, `last_login ${ll}`);
});

test('concurrent logins all complete without 5xx', async () => {
	const email = createUser(server, uniqueEmail('conc'), PW);
	const clients = await Promise.all(Array.from({ length: 16 }, () => csrfClient(server)));
	const results = await Promise.all(
		clients.map((c, i) => c.post('/api/login/', { json: { email, password: i % 2 ? PW : 'wrong' } })),
	);
	results.forEach((r, i) => assert.equal(r.status, i % 2 ? 200 : 400, `login ${i}: ${r.status} ${r.text}`));
	assert.ok(await server.alive());
});

test('CLI createuser reads the password from stdin and the user can log in', async () => {
	const email = uniqueEmail('cli');
	const r = server.cli(['createuser', email], { input: 'stdin password 1\nsecond line ignored\n' });
	assert.equal(r.status, 0, r.stderr);
	assert.ok(
		!r.stdout.includes('stdin password 1') && !r.stderr.includes('stdin password 1'),
		'the CLI never echoes the password',
	);
	const c = await csrfClient(server);
	assert.equal((await c.post('/api/login/', { json: { email, password: 'stdin password 1' } })).status, 200);
});

test('CLI createuser rejects a duplicate email, case-insensitively', async () => {
	const email = createUser(server, uniqueEmail('dup'), PW);
	const r1 = server.cli(['createuser', email], { input: 'other pass\n' });
	assert.notEqual(r1.status, 0, 'same email');
	const r2 = server.cli(['createuser', '  ' + email.toUpperCase() + ' '], { input: 'other pass\n' });
	assert.notEqual(r2.status, 0, 'upper-cased and padded email');
	assert.equal(server.sqlRows(`SELECT id FROM users WHERE lower(email) = ${q(email)}`).length, 1);
	const c = await csrfClient(server);
	assert.equal(
		(await c.post('/api/login/', { json: { email, password: PW } })).status,
		200,
		'the original password still works',
	);
});

test('CLI createuser stores the email lower-cased and trimmed', async () => {
	const email = uniqueEmail('trim');
	const r = server.cli(['createuser', `  ${email.toUpperCase()}  `], { input: PW + '\n' });
	assert.equal(r.status, 0, r.stderr);
	assert.equal(server.sqlRows(`SELECT id FROM users WHERE email = ${q(email)}`).length, 1);
});

test('CLI version, check and migrate exit 0', async () => {
	for (const args of [['version'], ['check'], ['migrate'], ['migrate']]) {
		const r = server.cli(args);
		assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
	}
	assert.ok(server.cli(['version']).stdout.trim().length > 0, 'version prints something');
	assert.notEqual(server.cli(['no-such-command']).status, 0, 'an unknown command fails');
});

test('a PostgreSQL database needs an explicit secret key: serve and check --deploy refuse without one, and never echo the DSN', async () => {
	const dsn = 'postgresql://gatehouse:Hunter2-db-password@127.0.0.1:1/gatehouse';
	for (const args of [['serve'], ['check', '--deploy'], ['check']]) {
		const r = server.cli(args, { env: { GATEHOUSE_DATABASE: dsn, GATEHOUSE_SECRET_KEY: '' } });
		assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
		assert.match(r.stderr, /GATEHOUSE_SECRET_KEY/, `${args.join(' ')} names the setting`);
		assert.doesNotMatch(r.stdout + r.stderr, /Hunter2/, 'the password in the DSN is never printed');
	}
	// with a key, the store is tried: an unreachable database is a clear failure, still without the password
	const r = server.cli(['check'], { env: { GATEHOUSE_DATABASE: dsn, GATEHOUSE_SECRET_KEY: 'k'.repeat(50) } });
	assert.equal(r.status, 1, r.stdout + r.stderr);
	assert.doesNotMatch(r.stdout + r.stderr, /Hunter2/);
	// a database setting that is neither SQLite nor PostgreSQL is refused without echoing it
	const bad = server.cli(['check'], { env: { GATEHOUSE_DATABASE: 'mysql://root:Hunter2@db/x' } });
	assert.equal(bad.status, 1);
	assert.match(bad.stderr, /database must be sqlite:PATH, postgres:/);
	assert.doesNotMatch(bad.stderr, /Hunter2/);
});

describe('with the default argon2 cost', () => {
	let srv;
	before(async () => {
		srv = await startServer({
			defaultArgon2: true,
			env: { GATEHOUSE_LOGIN_IP_LIMIT: '10000', GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '10000' },
		});
	});
	after(async () => {
		await srv?.stop();
	});

	test('passwords are hashed with argon2id m=19456,t=2,p=1 by default', async () => {
		const email = createUser(srv, uniqueEmail('default'), PW);
		assert.match(passwordOf(srv, email), /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
		const c = await csrfClient(srv);
		assert.equal((await c.post('/api/login/', { json: { email, password: PW } })).status, 200);
	});

	test('an unknown email costs a password hash like a wrong password does', async () => {
		const email = createUser(srv, uniqueEmail('timing'), PW);
		const c = await csrfClient(srv);
		// Interleaved, so load from tests running alongside weighs on both alike.
		const ghost = uniqueEmail('ghost');
		const xs = { [email]: [], [ghost]: [] };
		for (let i = 0; i < 5; i++) {
			for (const em of [email, ghost]) {
				const r = await c.post('/api/login/', { json: { email: em, password: 'wrong ' + i } });
				assert.equal(r.status, 400);
				xs[em].push(r.elapsed);
			}
		}
		const median = (a) => a.sort((x, y) => x - y)[2];
		const wrong = median(xs[email]);
		const unknown = median(xs[ghost]);
		// About 50 ms each with the default cost; a skipped hash would be ~1 ms.
		assert.ok(
			unknown > wrong * 0.3,
			`median unknown-email login ${unknown.toFixed(1)} ms vs wrong password ${wrong.toFixed(1)} ms`,
		);
	});
});
