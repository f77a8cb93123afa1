// The per-user auth hash on its own: a password change deletes the user's
// sessions AND gives the user a new auth hash, and a session whose auth hash
// is not the user's is refused.  Deleting rows hides the second half, so these
// tests put an old session row back (as a restored backup or a lagging replica
// would) and show that its cookie is still refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createUser, loggedIn, uniqueEmail, sha256hex, q } from './harness.mjs';

const PW = 'authhash pass 1';
const NEW_PW = 'authhash pass 2 new';
let server;

before(async () => {
	server = await startServer({
		env: { GATEHOUSE_LOGIN_IP_LIMIT: '10000', GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '10000' },
	});
});
after(async () => {
	await server?.stop();
});

const COLS = ['id', 'key_hash', 'user_id', 'auth_hash', 'created_at', 'expires_at', 'last_seen', 'ip', 'user_agent'];

/** The session row of a logged-in client, as the database holds it. */
function saveRow(c) {
	const rows = server.sqlRows(
		`SELECT ${COLS.join(', ')} FROM sessions WHERE key_hash = ${q(sha256hex(c.cookie('sessionid')))}`,
	);
	assert.equal(rows.length, 1, 'the client has one session row');
	return rows[0];
}

/** Put a saved row back under a fresh id (its old id may belong to a newer session by now). */
function restoreRow(row) {
	const cols = COLS.filter((k) => k !== 'id');
	const vals = cols.map((k) => (typeof row[k] === 'number' ? String(row[k]) : q(row[k])));
	server.sql(
		`DELETE FROM sessions WHERE key_hash = ${q(row.key_hash)};` +
			`INSERT INTO sessions (${cols.join(', ')}) VALUES (${vals.join(', ')})`,
	);
}

const authHash = (email) => server.sqlRows(`SELECT auth_hash FROM users WHERE email = ${q(email)}`)[0].auth_hash;
const profile = (c) => c.get('/api/users/profile/');

test('a session row put back unchanged still authenticates (the method below is sound)', async () => {
	const email = createUser(server, uniqueEmail('ahctl'), PW);
	const c = await loggedIn(server, email, PW);
	const row = saveRow(c);
	server.sql(`DELETE FROM sessions WHERE id = ${row.id}`);
	assert.equal((await profile(c)).status, 401, 'deleted row: 401');
	restoreRow(row);
	const r = await profile(c);
	assert.equal(r.status, 200, `restored row: ${r.status} ${r.text}`);
	assert.equal(r.json.email, email);
});

test('after a password change an old session row put back is still refused (401)', async () => {
	const email = createUser(server, uniqueEmail('ahapi'), PW);
	const other = await loggedIn(server, email, PW);
	const me = await loggedIn(server, email, PW);
	const otherRow = saveRow(other);
	const myOldRow = saveRow(me);
	const myOldCookie = me.cookie('sessionid');
	const before = authHash(email);
	const r = await me.post('/api/password/change/', { json: { old_password: PW, new_password: NEW_PW } });
	assert.equal(r.status, 200, r.text);
	assert.notEqual(authHash(email), before, 'the user got a new auth hash');
	assert.equal((await profile(me)).status, 200, 'the changing browser goes on under its new key');

	restoreRow(otherRow);
	const o = await profile(other);
	assert.equal(o.status, 401, `another browser's old session, put back: ${o.status} ${o.text}`);
	assert.equal(
		server.sqlRows(`SELECT id FROM sessions WHERE key_hash = ${q(otherRow.key_hash)}`).length,
		0,
		'the refused row is removed',
	);

	restoreRow(myOldRow);
	const old = await server.fetch('/api/auth/verify/', { headers: { Cookie: `sessionid=${myOldCookie}` } });
	assert.equal(old.status, 401, 'verify refuses the restored row of the changing browser too');
	assert.equal((await profile(me)).status, 200, 'the new session is untouched');
});

test('the cookie of the changing browser from before the change is refused when its row is put back', async () => {
	const email = createUser(server, uniqueEmail('ahself'), PW);
	const me = await loggedIn(server, email, PW);
	const oldCookie = me.cookie('sessionid');
	const oldRow = saveRow(me);
	const r = await me.post('/api/password/change/', { json: { old_password: PW, new_password: NEW_PW } });
	assert.equal(r.status, 200, r.text);
	assert.notEqual(me.cookie('sessionid'), oldCookie, 'the session key was rotated');
	restoreRow(oldRow);
	const old = await server.fetch('/api/users/profile/', { headers: { Cookie: `sessionid=${oldCookie}` } });
	assert.equal(old.status, 401, 'the pre-change key with its row put back');
});

test('after changepassword on the CLI an old session row put back is refused (401)', async () => {
	const email = createUser(server, uniqueEmail('ahcli'), PW);
	const c = await loggedIn(server, email, PW);
	const row = saveRow(c);
	const before = authHash(email);
	const r = server.cli(['changepassword', email], { input: `${NEW_PW}\n` });
	assert.equal(r.status, 0, r.stderr);
	assert.notEqual(authHash(email), before, 'the user got a new auth hash');
	restoreRow(row);
	assert.equal((await profile(c)).status, 401);
});

test("a session row whose auth hash is not the user's is refused even with the right key", async () => {
	const email = createUser(server, uniqueEmail('ahforge'), PW);
	const c = await loggedIn(server, email, PW);
	const row = saveRow(c);
	restoreRow({ ...row, auth_hash: row.auth_hash.replace(/.$/, (ch) => (ch === '0' ? '1' : '0')) });
	assert.equal((await profile(c)).status, 401, 'last character of the auth hash changed');
});
