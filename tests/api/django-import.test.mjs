// `gatehouse import-django` and `gatehouse export` (issue 15 item 4), against a
// real Django project: django_project.py builds two small projects with
// Debian's python3-django, DRF and social_django (one with a custom user model
// whose USERNAME_FIELD is email, one with the stock auth.user), makes users
// with Django's own create_user (its real PBKDF2 hashes), DRF tokens and
// python-social-auth rows, and runs `manage.py dumpdata`.  The dumps are
// imported into the server's database with the CLI, then the server is used as
// their users would: the Django password, the Django token, and a GitHub
// sign-in through the stand-in provider of tests/providers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { startServer, csrfClient, loggedIn, q, sha256hex, sleep, SLOW, BIN } from './harness.mjs';
import { startGithub } from '../providers/index.mjs';
import { socialLogin } from './social-harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// Debian's interpreter: python3-django and friends live in its dist-packages,
// not in whatever python3 comes first on PATH
const PYTHON = '/usr/bin/python3';
const ALICE_PW = 'alice django pass 1';
const ERIN_PW = 'erin django pass 4';

let server, github, ghUser, tmp, custom, stock;

/** Build one Django project (django_project.py) and return what it printed. */
function djangoProject(dir, kind, uid) {
	return new Promise((resolve, reject) => {
		const child = spawn(PYTHON, [path.join(HERE, 'django_project.py'), dir, kind, uid], {
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let out = '';
		let err = '';
		child.stdout.on('data', (d) => (out += d));
		child.stderr.on('data', (d) => (err += d));
		child.on('error', reject);
		child.on('exit', (code) => {
			if (code !== 0) reject(new Error(`django_project.py ${kind} exited ${code}\n${err}`));
			else resolve(JSON.parse(out));
		});
	});
}

before(async () => {
	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-django-'));
	github = await startGithub({ clients: [{ client_id: 'gh-dj-client', client_secret: 'gh-dj-secret' }] });
	// a GitHub account whose address is not the Django user's: only the imported (provider, uid) can
	// lead to that account
	ghUser = github.addUser({
		login: 'bob-at-github',
		name: 'Bob Elsewhere',
		email: null,
		emails: [{ email: 'bob-elsewhere@github.test', primary: true, verified: true, visibility: 'private' }],
	});
	[custom, stock, server] = await Promise.all([
		djangoProject(path.join(tmp, 'custom'), 'custom', String(ghUser.id)),
		djangoProject(path.join(tmp, 'stock'), 'stock', String(ghUser.id)),
		startServer({
			env: {
				...github.gatehouseEnv(),
				GATEHOUSE_LOGIN_IP_LIMIT: '10000',
				GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '10000',
				// every event wanted (nothing listens on port 9): an import must queue none
				GATEHOUSE_WEBHOOKS: `http://127.0.0.1:9/hook * whsec_${randomBytes(32).toString('base64')}`,
			},
		}),
	]);
	github.allowOrigin(server.origin);
});

after(async () => {
	await server?.stop();
	await github?.stop();
	if (tmp && !process.env.GATEHOUSE_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

const importDjango = (args, o) => server.cli(['import-django', ...args], o);

/** The summary's counts: {users: {created, updated, unchanged, skipped}, tokens: {...}, social: {...}}. */
function summary(stdout) {
	const counts = (label) => {
		const m = stdout.match(new RegExp(`^${label}: (.*)$`, 'm'));
		assert.ok(m, `summary has a "${label}:" line:\n${stdout}`);
		return Object.fromEntries([...m[1].matchAll(/(\d+) (\w+)/g)].map((x) => [x[2], Number(x[1])]));
	};
	return { users: counts('users'), tokens: counts('tokens'), social: counts('social identities') };
}

/** What the import may change, as comparable text. */
const state = () =>
	JSON.stringify([
		server.sqlRows('SELECT * FROM users ORDER BY id'),
		server.sqlRows('SELECT * FROM tokens ORDER BY id'),
		server.sqlRows('SELECT * FROM social_identities ORDER BY id'),
		server.sqlRows('SELECT * FROM django_users ORDER BY django_model, django_pk'),
		server.sqlRows('SELECT count(*) AS n FROM audit'),
	]);

const userRow = (email) => server.sqlRows(`SELECT * FROM users WHERE email = ${q(email)}`)[0];
const profileByToken = (key) => server.fetch('/api/users/profile/', { headers: { Authorization: `Token ${key}` } });

test('a dry run on a fresh database writes nothing and reports what the import will do', () => {
	const before = state();
	const dry = importDjango(['--dry-run', custom.dump]);
	assert.equal(dry.status, 0, dry.stderr);
	assert.equal(state(), before, 'a dry run changed the database');
	assert.match(dry.stdout, /^dry run \(nothing written\): user model: accounts\.user$/m);
	assert.deepEqual(summary(dry.stdout), {
		users: { created: 4, updated: 0, unchanged: 0, skipped: 0 },
		tokens: { created: 1, unchanged: 0, skipped: 0 },
		social: { created: 1, unchanged: 0, skipped: 0 },
	});
	const real = importDjango([custom.dump]);
	assert.equal(real.status, 0, real.stderr);
	assert.equal(real.stdout, dry.stdout.replace('dry run (nothing written): ', ''), 'the same summary');
	// a move, not news: no user.created, token.created or social.connected webhook for imported rows
	assert.deepEqual(server.sqlRows('SELECT event FROM webhook_outbox'), []);
	const audit = server.sqlRows("SELECT event FROM audit WHERE event LIKE 'admin.%.imported'").map((a) => a.event);
	assert.deepEqual([...new Set(audit)].sort(), [
		'admin.social.imported',
		'admin.token.imported',
		'admin.user.imported',
	]);
});

test('the custom user model comes in with its hashes, flags, names and dates as Django had them', () => {
	const alice = userRow('alice@example.com'); // Django kept "Alice@example.com": normalised here
	assert.ok(alice, 'alice imported under the normal form of her address');
	assert.equal(alice.password, custom.hashes['Alice@example.com'], 'the Django hash as it was');
	assert.equal(alice.first_name, 'Alice');
	assert.equal(alice.last_name, 'Liddell');
	assert.deepEqual([alice.is_active, alice.is_staff, alice.is_superuser, alice.email_verified], [1, 1, 0, 1]);
	assert.ok(alice.last_login > 0 && alice.last_login < alice.date_joined, 'last_login kept (3 days back)');
	const bob = userRow('bob@example.com');
	assert.equal(bob.password, custom.hashes['bob@example.com'], "Django's unusable password stays unusable");
	assert.match(bob.password, /^!/);
	const carol = userRow('carol@example.com');
	assert.deepEqual([carol.is_staff, carol.is_superuser], [1, 1]);
	assert.equal(userRow('dave@example.com').is_active, 0, 'an inactive user stays inactive');
	const links = server.sqlRows(
		`SELECT d.django_model, d.django_pk, u.email FROM django_users d JOIN users u ON u.id = d.user_id ORDER BY u.email`,
	);
	assert.deepEqual(
		links.map((l) => [l.django_model, l.django_pk, l.email]),
		[
			['accounts.user', String(custom.alice_pk), 'alice@example.com'],
			['accounts.user', String(custom.bob_pk), 'bob@example.com'],
			['accounts.user', '3', 'carol@example.com'],
			['accounts.user', '4', 'dave@example.com'],
		],
	);
	const [tok] = server.sqlRows(
		`SELECT t.key_hash, u.email FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.name = 'Django'`,
	);
	assert.deepEqual(tok, { key_hash: sha256hex(custom.alice_token), email: 'alice@example.com' });
	assert.equal(server.dump().includes(custom.alice_token), false, 'the token key is stored nowhere');
	assert.equal(server.dump().includes('gho_SECRET'), false, "social_django's extra_data is not imported");
});

test('a second run of the same dump changes nothing and says so', () => {
	const before = state();
	const again = importDjango([custom.dump]);
	assert.equal(again.status, 0, again.stderr);
	assert.deepEqual(summary(again.stdout), {
		users: { created: 0, updated: 0, unchanged: 4, skipped: 0 },
		tokens: { created: 0, unchanged: 1, skipped: 0 },
		social: { created: 0, unchanged: 1, skipped: 0 },
	});
	assert.match(again.stdout, /^nothing to change$/m);
	assert.equal(state(), before, 'the second run changed the database');
});

test('the Django password signs in, and the hash is upgraded to Argon2id and not put back by a re-import', async () => {
	const bad = await (
		await csrfClient(server)
	).post('/api/login/', {
		json: { email: 'alice@example.com', password: 'not alice django pass' },
	});
	assert.equal(bad.status, 400, bad.text);
	const c = await loggedIn(server, 'Alice@Example.com', ALICE_PW);
	const p = await c.get('/api/users/profile/');
	assert.equal(p.status, 200, p.text);
	assert.equal(p.json.email, 'alice@example.com');
	assert.equal(p.json.first_name, 'Alice');
	let hash;
	for (let i = 0; i < 100 * SLOW; i++) {
		hash = userRow('alice@example.com').password;
		if (hash.startsWith('argon2$argon2id$')) break;
		await sleep(50);
	}
	assert.match(hash, /^argon2\$argon2id\$/, 'upgraded on login');
	const again = importDjango([custom.dump]);
	assert.equal(again.status, 0, again.stderr);
	assert.equal(summary(again.stdout).users.unchanged, 4);
	assert.equal(userRow('alice@example.com').password, hash, 'a re-import keeps the upgraded hash');
	await loggedIn(server, 'alice@example.com', ALICE_PW);
});

test('the DRF token authenticates its user as it did in Django', async () => {
	const r = await profileByToken(custom.alice_token);
	assert.equal(r.status, 200);
	assert.equal((await r.json()).email, 'alice@example.com');
	const wrong = await profileByToken(custom.alice_token.replace(/.$/, (ch) => (ch === '0' ? '1' : '0')));
	assert.equal(wrong.status, 401);
	// the owner sees it among their tokens, under the name the import gave it
	const list = await server.fetch('/api/tokens/', { headers: { Authorization: `Token ${custom.alice_token}` } });
	assert.equal(list.status, 200);
	const body = await list.json();
	const names = (Array.isArray(body) ? body : body.results || body.tokens || []).map((t) => t.name);
	assert.ok(names.includes('Django'), `tokens: ${JSON.stringify(body)}`);
});

test('signing in through the GitHub stand-in with the imported uid lands in the imported account', async () => {
	const usersBefore = server.sqlRows('SELECT count(*) AS n FROM users')[0].n;
	const ctx = { server, origin: server.origin, providers: { byName: { github } }, log: [] };
	const r = await socialLogin(ctx, 'github', ghUser.login);
	assert.equal(r.res.status, 200, r.res.text);
	const p = await r.client.get('/api/users/profile/');
	assert.equal(p.status, 200, p.text);
	assert.equal(p.json.email, 'bob@example.com', 'the account python-social-auth had, not a new one');
	assert.equal(server.sqlRows('SELECT count(*) AS n FROM users')[0].n, usersBefore, 'no account made');
});

test('the stock auth.user: empty and shared addresses and what hangs on them are reported and skipped', async () => {
	const before = state();
	const dry = importDjango(['--dry-run', stock.dump]);
	assert.equal(dry.status, 3, dry.stderr);
	assert.equal(state(), before, 'a dry run changed the database');
	const r = importDjango([stock.dump]);
	assert.equal(r.status, 3, `3: imported, rows skipped\n${r.stderr}`);
	assert.equal(r.stdout, dry.stdout.replace('dry run (nothing written): ', ''));
	assert.equal(r.stderr, dry.stderr, 'the dry run reports the same rows');
	assert.deepEqual(summary(r.stdout), {
		users: { created: 2, updated: 0, unchanged: 0, skipped: 3 },
		tokens: { created: 1, unchanged: 0, skipped: 1 },
		social: { created: 0, unchanged: 0, skipped: 2 },
	});
	assert.match(r.stdout, /^ {2}skipped: 1 empty email$/m);
	assert.match(r.stdout, /^ {2}skipped: 2 email shared by several users$/m);
	assert.match(r.stdout, /^passwords: 1 unusable \(1 in a format gatehouse cannot verify\)$/m);
	const err = r.stderr;
	assert.match(err, new RegExp(`auth\\.user pk ${stock.nomail_pk}: empty email`));
	for (const pk of stock.shared_pks)
		assert.match(err, new RegExp(`auth\\.user pk ${pk}: email shared by several users`));
	assert.match(err, new RegExp(`auth\\.user pk ${stock.old_pk}: password hash in a format gatehouse cannot verify`));
	assert.match(err, new RegExp(`authtoken\\.token: the token of user ${stock.nomail_pk}: its user is not imported`));
	assert.match(err, /social_django\.usersocialauth pk \d+: no gatehouse provider of that name \(provider twitter\)/);
	assert.match(err, /social_django\.usersocialauth pk \d+: its user is not imported \(provider github\)/);
	assert.equal(err.includes(stock.nomail_token) || err.includes(stock.erin_token), false, 'no key printed');
	assert.equal(server.sqlRows("SELECT count(*) AS n FROM users WHERE email = 'shared@example.com'")[0].n, 0);
	assert.equal(userRow('old@example.com').password.startsWith('!'), true, 'md5: imported unusable');
	await loggedIn(server, 'erin@example.com', ERIN_PW);
	assert.equal((await profileByToken(stock.erin_token)).status, 200);
	assert.equal((await profileByToken(stock.nomail_token)).status, 401, "a skipped user's token is not imported");
	const again = importDjango([stock.dump]);
	assert.equal(again.status, 3);
	assert.match(again.stdout, /^nothing to change$/m);
});

test('export: every user with its hash, identities and token hashes as JSON lines, never a key', () => {
	const r = server.cli(['export']);
	assert.equal(r.status, 0, r.stderr);
	const lines = r.stdout
		.trimEnd()
		.split('\n')
		.map((l) => JSON.parse(l));
	assert.ok(
		lines.every((l) => typeof l.type === 'string'),
		'every line has a type',
	);
	assert.equal(lines[0].type, 'export');
	const users = lines.filter((l) => l.type === 'user');
	const emails = users.map((u) => u.email).sort();
	for (const e of [
		'alice@example.com',
		'bob@example.com',
		'carol@example.com',
		'dave@example.com',
		'erin@example.com',
		'old@example.com',
	])
		assert.ok(emails.includes(e), `${e} exported`);
	const dave = users.find((u) => u.email === 'dave@example.com');
	assert.equal(dave.is_active, false);
	assert.equal(dave.django_model, 'accounts.user');
	assert.equal(dave.password, custom.hashes['dave@example.com']);
	const tokens = lines.filter((l) => l.type === 'token');
	const byHash = Object.fromEntries(tokens.map((t) => [t.key_sha256, t]));
	const aliceId = users.find((u) => u.email === 'alice@example.com').id;
	assert.equal(byHash[sha256hex(custom.alice_token)]?.user_id, aliceId);
	assert.ok(byHash[sha256hex(stock.erin_token)]);
	for (const k of [custom.alice_token, stock.erin_token, stock.nomail_token, 'gho_SECRET'])
		assert.equal(r.stdout.includes(k), false, 'no key in the export');
	const ident = lines.filter((l) => l.type === 'identity');
	assert.deepEqual(
		ident.map((i) => [i.provider, i.uid, i.user_id]),
		[['github', String(ghUser.id), users.find((u) => u.email === 'bob@example.com').id]],
	);
	const file = path.join(server.tmp, 'export.jsonl');
	fs.writeFileSync(file, 'old', { mode: 0o644 });
	const w = server.cli(['export', file]);
	assert.equal(w.status, 0, w.stderr);
	assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'the file holds password hashes: 0600');
	const fromFile = fs
		.readFileSync(file, 'utf8')
		.trimEnd()
		.split('\n')
		.map((l) => JSON.parse(l));
	assert.equal(fromFile.filter((l) => l.type === 'user').length, users.length);
});

/** The CLI as a child process (several at once), resolving {status, stdout, stderr}. */
function cliAsync(args) {
	return new Promise((resolve, reject) => {
		const child = spawn(BIN, args, {
			env: server.env,
			cwd: server.tmp,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (d) => (stdout += d));
		child.stderr.on('data', (d) => (stderr += d));
		child.on('error', reject);
		child.on('exit', (status) => resolve({ status, stdout, stderr }));
	});
}

test('three imports of one new dump at once: one creates, the others find everything unchanged', async () => {
	const rows = [];
	for (let i = 0; i < 5; i++)
		rows.push({ model: 'accounts.user', pk: 100 + i, fields: { email: `conc${i}@example.com`, password: '!' } });
	const file = path.join(tmp, 'concurrent.json');
	fs.writeFileSync(file, JSON.stringify(rows));
	const runs = await Promise.all([0, 1, 2].map(() => cliAsync(['import-django', file])));
	for (const r of runs) assert.equal(r.status, 0, r.stderr);
	const users = runs.map((r) => summary(r.stdout).users);
	assert.deepEqual(users.map((u) => u.created).sort(), [0, 0, 5], JSON.stringify(users));
	assert.deepEqual(users.map((u) => u.unchanged).sort(), [0, 5, 5]);
	assert.equal(server.sqlRows("SELECT count(*) AS n FROM users WHERE email LIKE 'conc%'")[0].n, 5);
});

test('bad input is a clear error, imports nothing and never crashes', () => {
	const before = state();
	const huge = 'x'.repeat(2 * 1024 * 1024);
	const user = (fields, pk = 900) => ({
		model: 'accounts.user',
		pk,
		fields: { email: 'z@example.com', password: '!x', ...fields },
	});
	const cases = [
		['not JSON', 'this is not json', /not JSON/],
		['not an array', '{"model": "accounts.user"}', /not a dumpdata array/],
		['a row that is not an object', '[1]', /row 1: not an object/],
		['invalid UTF-8', Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]), /not JSON/],
		['a huge email', JSON.stringify([user({ email: huge })]), /email/],
		['a boolean as a string', JSON.stringify([user({ is_staff: 'yes' })]), /is_staff/],
		['a duplicate pk', JSON.stringify([user({}), user({ email: 'y@example.com' })]), /appears twice/],
		[
			'a natural key',
			JSON.stringify([{ model: 'authtoken.token', pk: 'a'.repeat(40), fields: { user: ['alice'] } }]),
			/natural key/,
		],
		['a bad date', JSON.stringify([user({ date_joined: '2024-02-30T00:00:00Z' })]), /datetime/],
		[
			'two user models',
			JSON.stringify([user({}), { model: 'auth.user', pk: 1, fields: { email: '', password: '!' } }]),
			/second user model/,
		],
	];
	for (const [what, input, re] of cases) {
		const r = importDjango(['-'], { input });
		assert.equal(r.signal, null, `${what}: died of ${r.signal}`);
		assert.equal(r.status, 1, `${what}: ${r.status} ${r.stderr}`);
		assert.match(r.stderr, re, what);
		assert.match(r.stderr, /nothing was imported/, what);
		assert.equal(r.stdout, '', `${what}: no summary`);
	}
	assert.equal(importDjango([path.join(tmp, 'missing.json')]).status, 1);
	assert.equal(importDjango([]).status, 2);
	assert.equal(importDjango(['--bogus', custom.dump]).status, 2);
	assert.equal(state(), before, 'bad input changed the database');
});
