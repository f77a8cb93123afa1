// A signed-in user's own sessions and API tokens (docs/admin-contract.md,
// "Own sessions and tokens"; docs/design.md §3 on keys and revocation).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
	startServer,
	createUser,
	csrfClient,
	uniqueEmail,
	cookiesNamed,
	sha256hex,
	q,
	ISO_UTC,
	estimatedBits,
} from './harness.mjs';
import {
	CHROME_LINUX,
	FIREFOX_WINDOWS,
	SAFARI_IPHONE,
	NOT_FOUND,
	INVALID_TOKEN,
	INCORRECT_PASSWORD,
	OTHERS_SIGNED_OUT,
	Secrets,
	signIn,
	ownSessions,
	currentSessionId,
	newToken,
	withToken,
	assertNotProvided,
	assertSignedIn,
	assertSignedOut,
	assertSessionShape,
	assertTokenShape,
	userId,
} from './admin-harness.mjs';

const PW = 'harbour lantern 42';
const ACCOUNT_LIMIT = 5;
const secrets = new Secrets();
secrets.add('password', PW);
let server;

before(async () => {
	server = await startServer({
		env: { GATEHOUSE_LOGIN_IP_LIMIT: '100000', GATEHOUSE_LOGIN_ACCOUNT_LIMIT: String(ACCOUNT_LIMIT) },
	});
});
after(async () => {
	await server?.stop();
});

const user = (prefix) => createUser(server, uniqueEmail(prefix), PW);
const signInAs = (email, userAgent) => signIn(server, email, PW, { userAgent, secrets });
const tokenCount = (email) =>
	server.sqlRows(`SELECT count(*) AS n FROM tokens WHERE user_id = ${userId(server, email)}`)[0].n;

// --- sessions ------------------------------------------------------------------

test('the session list shows every session of the user with device and ip, exactly one current', async () => {
	const email = user('list');
	const a = await signInAs(email, CHROME_LINUX);
	const b = await signInAs(email, FIREFOX_WINDOWS);
	const c = await signInAs(email, SAFARI_IPHONE);
	const other = await signInAs(user('list-other'), CHROME_LINUX);

	const list = await ownSessions(b);
	assert.equal(list.length, 3, `three sessions, none of another user's: ${JSON.stringify(list)}`);
	list.forEach((s, i) => assertSessionShape(s, `session ${i}`));
	assert.equal(new Set(list.map((s) => s.id)).size, 3, 'distinct ids');
	assert.equal(list.filter((s) => s.current).length, 1, 'exactly one current');
	for (const s of list) assert.equal(s.ip, '127.0.0.1', 'ip of the client');

	const byUa = Object.fromEntries(list.map((s) => [s.user_agent, s]));
	assert.deepEqual(Object.keys(byUa).sort(), [CHROME_LINUX, FIREFOX_WINDOWS, SAFARI_IPHONE].sort(), 'user agents');
	assert.equal(byUa[FIREFOX_WINDOWS].current, true, 'the calling session is current');
	assert.match(byUa[CHROME_LINUX].device, /Chrome/);
	assert.match(byUa[CHROME_LINUX].device, /Linux/);
	assert.match(byUa[FIREFOX_WINDOWS].device, /Firefox/);
	assert.match(byUa[FIREFOX_WINDOWS].device, /Windows/);
	assert.match(byUa[SAFARI_IPHONE].device, /Safari/);
	assert.match(byUa[SAFARI_IPHONE].device, /iOS|iPhone/);
	for (const s of list)
		assert.ok(!/Mozilla|AppleWebKit/.test(s.device), `device is readable, not the raw UA: ${s.device}`);

	// Each client sees its own session as the current one, and the same set.
	const ids = list.map((s) => s.id).sort();
	const currents = [];
	for (const cl of [a, b, c]) {
		const l = await ownSessions(cl);
		assert.deepEqual(l.map((s) => s.id).sort(), ids);
		currents.push(await currentSessionId(cl));
	}
	assert.equal(new Set(currents).size, 3, 'each client has its own current session');
	assert.ok(!(await ownSessions(other)).some((s) => ids.includes(s.id)), 'another user sees none of them');
});

test('the session list is ordered most recently seen first', async () => {
	const email = user('order');
	const a = await signInAs(email, CHROME_LINUX);
	await signInAs(email, FIREFOX_WINDOWS);
	await signInAs(email, SAFARI_IPHONE);
	const ids = (await ownSessions(a)).map((s) => s.id).sort((x, y) => x - y);
	// Make the oldest session the most recently seen and the newest the least.
	const now = Math.floor(Date.now() / 1000);
	ids.forEach((id, i) =>
		server.sql(`UPDATE sessions SET last_seen = ${now - 100 - 100 * (ids.length - i)} WHERE id = ${id}`),
	);
	const list = await ownSessions(a);
	const seen = list.map((s) => Date.parse(s.last_seen));
	assert.ok(new Set(seen).size >= 2, `distinct last_seen values: ${JSON.stringify(list.map((s) => s.last_seen))}`);
	for (let i = 1; i < seen.length; i++)
		assert.ok(
			seen[i - 1] >= seen[i],
			`not most recently seen first: ${JSON.stringify(list.map((s) => [s.id, s.last_seen]))}`,
		);
});

test('deleting one of my other sessions ends it at once while mine keeps working', async () => {
	const email = user('del');
	const a = await signInAs(email, CHROME_LINUX);
	const b = await signInAs(email, FIREFOX_WINDOWS);
	const bid = await currentSessionId(b);
	const r = await a.delete(`/api/sessions/${bid}/`);
	assert.equal(r.status, 204, r.text);
	assert.equal(r.body.length, 0, '204 has no body');
	await assertSignedOut(b, 'deleted session');
	await assertSignedIn(a, email, 'the caller');
	const left = await ownSessions(a);
	assert.deepEqual(
		left.map((s) => s.id),
		[await currentSessionId(a)],
		'only the caller is left',
	);
});

test('the path without the trailing slash deletes a session too', async () => {
	const email = user('noslash');
	const a = await signInAs(email);
	const b = await signInAs(email);
	const r = await a.delete(`/api/sessions/${await currentSessionId(b)}`);
	assert.equal(r.status, 204, r.text);
	await assertSignedOut(b, 'deleted without slash');
});

test('deleting my current session signs this browser out and clears its cookie', async () => {
	const email = user('self');
	const a = await signInAs(email);
	const b = await signInAs(email);
	const old = a.cookie('sessionid');
	const r = await a.delete(`/api/sessions/${await currentSessionId(a)}/`);
	assert.equal(r.status, 204, r.text);
	const cleared = cookiesNamed(r, 'sessionid');
	assert.equal(cleared.length, 1, `one Set-Cookie for sessionid: ${JSON.stringify(r.setCookies)}`);
	assert.equal(cleared[0].value, '', 'sessionid emptied');
	assert.ok(
		cleared[0].attrs['max-age'] === '0' || Date.parse(cleared[0].attrs.expires) < Date.now(),
		`sessionid expired: ${cleared[0].raw}`,
	);
	assert.equal(a.cookie('sessionid'), undefined);
	await assertSignedOut(a, 'after deleting the current session');
	assertNotProvided(await a.get('/api/users/profile/', { cookies: `sessionid=${old}` }), 'the old cookie value');
	await assertSignedIn(b, email, 'the other session is untouched');
});

test('revoke-others keeps only the calling session', async () => {
	const email = user('others');
	const a = await signInAs(email, CHROME_LINUX);
	const b = await signInAs(email, FIREFOX_WINDOWS);
	const c = await signInAs(email, SAFARI_IPHONE);
	const bystander = await signInAs(user('others-by'));
	const r = await b.post('/api/sessions/revoke-others/');
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, OTHERS_SIGNED_OUT);
	await assertSignedOut(a, 'session a');
	await assertSignedOut(c, 'session c');
	await assertSignedIn(b, email, 'the caller');
	const list = await ownSessions(b);
	assert.equal(list.length, 1);
	assert.equal(list[0].current, true);
	await assertSignedIn(bystander, null, 'another user keeps their session');
});

test('revoke-others with an API token ends every session of the user', async () => {
	const email = user('others-tok');
	const a = await signInAs(email);
	const b = await signInAs(email);
	const { key } = await newToken(a, PW, { secrets });
	const r = await withToken(server, key, '/api/sessions/revoke-others/', { method: 'POST' });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, OTHERS_SIGNED_OUT);
	await assertSignedOut(a, 'session a');
	await assertSignedOut(b, 'session b');
	assert.equal((await withToken(server, key)).status, 200, 'the token itself still works');
});

test("another user's session id is 404 and that session stays alive", async () => {
	const mallory = await signInAs(user('mallory'));
	const aliceEmail = user('alice');
	const alice = await signInAs(aliceEmail);
	const aid = await currentSessionId(alice);
	const r = await mallory.delete(`/api/sessions/${aid}/`);
	assert.equal(r.status, 404, r.text);
	assert.deepEqual(r.json, NOT_FOUND);
	await assertSignedIn(alice, aliceEmail, 'alice after mallory tried to delete her session');
	const unknown = await mallory.delete('/api/sessions/999999999/');
	assert.equal(unknown.status, 404, unknown.text);
	assert.deepEqual(unknown.json, NOT_FOUND);
});

test('deleting a session or revoking the others without the CSRF header is 403 and changes nothing', async () => {
	const email = user('csrf');
	const a = await signInAs(email);
	const b = await signInAs(email);
	const bid = await currentSessionId(b);
	let r = await a.delete(`/api/sessions/${bid}/`, { csrf: false });
	assert.equal(r.status, 403, r.text);
	r = await a.delete(`/api/sessions/${bid}/`, { csrf: 'x'.repeat(32) });
	assert.equal(r.status, 403, `wrong CSRF token: ${r.text}`);
	r = await a.post('/api/sessions/revoke-others/', { csrf: false });
	assert.equal(r.status, 403, r.text);
	await assertSignedIn(b, email, 'session b');
	assert.equal((await ownSessions(a)).length, 2);
});

test('every own-session and token endpoint is 401 for an anonymous client', async () => {
	const c = await csrfClient(server); // a valid CSRF token, so the answer is about authentication
	for (const [method, p, json] of [
		['GET', '/api/sessions/'],
		['DELETE', '/api/sessions/1/'],
		['POST', '/api/sessions/revoke-others/'],
		['GET', '/api/tokens/'],
		['POST', '/api/tokens/', { name: 'x', password: PW }],
		['DELETE', '/api/tokens/1/'],
	]) {
		const r = await c.request(method, p, json ? { json } : {});
		assertNotProvided(r, `${method} ${p}`);
		assert.equal(r.headers.get('www-authenticate'), 'Token', `${method} ${p}: WWW-Authenticate`);
	}
	assertNotProvided(await server.client().get('/api/sessions/'), 'GET /api/sessions/ without any cookie');
});

// --- tokens --------------------------------------------------------------------

test('creating a token with the right password returns the 40-char key once and it authenticates', async () => {
	const email = user('tok');
	const a = await signInAs(email);
	const r = await a.post('/api/tokens/', { json: { name: 'laptop script', password: PW } });
	assert.equal(r.status, 201, r.text);
	secrets.add('token key', r.json.key);
	assert.deepEqual(Object.keys(r.json).sort(), ['created', 'expires', 'id', 'key', 'last_used', 'name']);
	assert.equal(r.json.name, 'laptop script');
	assert.equal(typeof r.json.id, 'number');
	assert.match(r.json.created, ISO_UTC);
	assert.equal(r.json.last_used, null);
	assert.equal(r.json.expires, null, 'no expiry unless asked for');
	assert.equal(r.json.key.length, 40, `key ${r.json.key}`);
	assert.match(r.json.key, /^[A-Za-z0-9_-]+$/);
	assert.ok(estimatedBits(r.json.key) >= 160, 'at least 160 bits');

	const p = await withToken(server, r.json.key);
	assert.equal(p.status, 200, p.text);
	assert.equal(p.json.email, email);
	const again = await withToken(server, r.json.key, '/api/tokens/');
	assert.equal(again.status, 200);
	assert.deepEqual(
		again.json.map((t) => t.id),
		[r.json.id],
		'the token sees itself in the list',
	);
});

test('a wrong password creates no token: 400 Incorrect password', async () => {
	const email = user('tokbad');
	const a = await signInAs(email);
	secrets.add('wrong password', PW + ' nope');
	const r = await a.post('/api/tokens/', { json: { name: 'x', password: PW + ' nope' } });
	assert.equal(r.status, 400, r.text);
	assert.deepEqual(r.json, INCORRECT_PASSWORD);
	assert.deepEqual((await a.get('/api/tokens/')).json, [], 'no token listed');
	assert.equal(tokenCount(email), 0, 'no token row');
});

test('repeated wrong passwords on token creation are throttled with 429 and Retry-After', async () => {
	const email = user('tokthr');
	const a = await signInAs(email);
	const statuses = [];
	let throttled;
	for (let i = 0; i < ACCOUNT_LIMIT + 3; i++) {
		const r = await a.post('/api/tokens/', {
			json: { name: 'x', password: secrets.add('wrong password', `wrong guess ${i}`) },
		});
		statuses.push(r.status);
		if (r.status === 429) {
			throttled = r;
			break;
		}
		assert.equal(r.status, 400, `attempt ${i}: ${r.text}`);
	}
	assert.ok(throttled, `no 429 after ${statuses.length} wrong passwords: ${statuses}`);
	assert.ok(statuses.length > 1, 'the first wrong password is a plain 400');
	assert.match(throttled.headers.get('retry-after') || '', /^\d+$/, 'Retry-After');
	assert.match(throttled.json?.detail || '', /^Request was throttled\./);
	assert.equal(tokenCount(email), 0, 'no token row');
});

test('the token list never contains a key', async () => {
	const email = user('toklist');
	const a = await signInAs(email);
	const t1 = await newToken(a, PW, { name: 'one', secrets });
	const t2 = await newToken(a, PW, { name: 'two', expires_in_days: 5, secrets });
	const r = await a.get('/api/tokens/');
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.length, 2);
	r.json.forEach((t, i) => assertTokenShape(t, `token ${i}`));
	assert.deepEqual(r.json.map((t) => t.id).sort(), [t1.id, t2.id].sort());
	for (const k of [t1.key, t2.key]) {
		assert.ok(!r.text.includes(k), 'a key in the token list');
		assert.ok(!r.text.includes(sha256hex(k)), 'a key hash in the token list');
	}
	assert.ok(!/"key"/.test(r.text), 'no "key" field');
});

test("expires_in_days sets the token's expiry that many days after creation", async () => {
	const email = user('tokexp');
	const a = await signInAs(email);
	const t = await newToken(a, PW, { name: 'month', expires_in_days: 30, secrets });
	const diff = (Date.parse(t.expires) - Date.parse(t.created)) / 1000;
	assert.ok(Math.abs(diff - 30 * 86400) <= 2, `expires ${t.expires} vs created ${t.created}`);
	const listed = (await a.get('/api/tokens/')).json.find((x) => x.id === t.id);
	assert.equal(listed.expires, t.expires, 'the list shows the same expiry');
	const max = await newToken(a, PW, { name: 'max', expires_in_days: 3650, secrets });
	assert.ok(
		Math.abs((Date.parse(max.expires) - Date.parse(max.created)) / 1000 - 3650 * 86400) <= 2,
		'the upper bound',
	);
	const min = await newToken(a, PW, { name: 'min', expires_in_days: 1, secrets });
	assert.ok(Math.abs((Date.parse(min.expires) - Date.parse(min.created)) / 1000 - 86400) <= 2, 'the lower bound');
});

test('using a token records last_used', async () => {
	const email = user('toklast');
	const a = await signInAs(email);
	const t = await newToken(a, PW, { secrets });
	assert.equal((await withToken(server, t.key)).status, 200);
	const listed = (await a.get('/api/tokens/')).json.find((x) => x.id === t.id);
	assert.match(listed.last_used || '', ISO_UTC, `last_used after a use: ${JSON.stringify(listed)}`);
});

test('token creation refuses a missing or long name, a bad expires_in_days or no password with field errors', async () => {
	const email = user('tokfield');
	const a = await signInAs(email);
	const cases = [
		[{ password: PW }, 'name'],
		[{ name: null, password: PW }, 'name'],
		[{ name: 'x'.repeat(151), password: PW }, 'name'],
		[{ name: 'é'.repeat(151), password: PW }, 'name'],
		[{ name: 'x' }, 'password'],
		[{ name: 'x', password: PW, expires_in_days: 0 }, 'expires_in_days'],
		[{ name: 'x', password: PW, expires_in_days: -1 }, 'expires_in_days'],
		[{ name: 'x', password: PW, expires_in_days: 3651 }, 'expires_in_days'],
		[{ name: 'x', password: PW, expires_in_days: '7' }, 'expires_in_days'],
		[{ name: 'x', password: PW, expires_in_days: 1.5 }, 'expires_in_days'],
		[{ name: 'x', password: PW, expires_in_days: true }, 'expires_in_days'],
	];
	for (const [json, field] of cases) {
		const r = await a.post('/api/tokens/', { json });
		assert.equal(r.status, 400, `${JSON.stringify(json).slice(0, 80)}: ${r.status} ${r.text}`);
		assert.ok(
			Array.isArray(r.json?.[field]) && r.json[field].length > 0 && r.json[field].every((m) => typeof m === 'string'),
			`${JSON.stringify(json).slice(0, 80)}: field error for ${field}, got ${r.text}`,
		);
	}
	assert.equal(tokenCount(email), 0, 'no token made by a refused request');
	// The bounds themselves are fine: 150 characters (not bytes) of name.
	for (const name of ['x'.repeat(150), 'é'.repeat(150)]) {
		const t = await newToken(a, PW, { name, secrets });
		assert.equal(t.name, name);
	}
});

test('a deleted token is 401 Invalid token at once', async () => {
	const email = user('tokdel');
	const a = await signInAs(email);
	const keep = await newToken(a, PW, { name: 'keep', secrets });
	const t = await newToken(a, PW, { name: 'drop', secrets });
	assert.equal((await withToken(server, t.key)).status, 200);
	const r = await a.delete(`/api/tokens/${t.id}/`);
	assert.equal(r.status, 204, r.text);
	const after = await withToken(server, t.key);
	assert.equal(after.status, 401, after.text);
	assert.deepEqual(after.json, INVALID_TOKEN);
	assert.deepEqual(
		(await a.get('/api/tokens/')).json.map((x) => x.id),
		[keep.id],
	);
	assert.equal((await withToken(server, keep.key)).status, 200, 'the other token still works');
	const again = await a.delete(`/api/tokens/${t.id}/`);
	assert.equal(again.status, 404, 'deleting it twice');
	assert.deepEqual(again.json, NOT_FOUND);
});

test('a token can delete itself without a CSRF header', async () => {
	const email = user('tokself');
	const a = await signInAs(email);
	const t = await newToken(a, PW, { secrets });
	const r = await withToken(server, t.key, `/api/tokens/${t.id}/`, { method: 'DELETE' });
	assert.equal(r.status, 204, r.text);
	assert.deepEqual((await withToken(server, t.key)).json, INVALID_TOKEN);
});

test("another user's token id is 404 and that token keeps working", async () => {
	const alice = await signInAs(user('tokalice'));
	const mallory = await signInAs(user('tokmallory'));
	const t = await newToken(alice, PW, { secrets });
	const r = await mallory.delete(`/api/tokens/${t.id}/`);
	assert.equal(r.status, 404, r.text);
	assert.deepEqual(r.json, NOT_FOUND);
	assert.equal((await withToken(server, t.key)).status, 200, "alice's token still works");
	assert.ok(!(await mallory.get('/api/tokens/')).json.some((x) => x.id === t.id), 'mallory does not list it');
});

test('creating or deleting a token without the CSRF header is 403 and changes nothing', async () => {
	const email = user('tokcsrf');
	const a = await signInAs(email);
	let r = await a.post('/api/tokens/', { json: { name: 'x', password: PW }, csrf: false });
	assert.equal(r.status, 403, r.text);
	assert.equal(tokenCount(email), 0);
	const t = await newToken(a, PW, { secrets });
	r = await a.delete(`/api/tokens/${t.id}/`, { csrf: false });
	assert.equal(r.status, 403, r.text);
	assert.equal((await withToken(server, t.key)).status, 200, 'token still works');
});

test('the database holds only a hash of a token key made over the API', async () => {
	const email = user('tokdb');
	const a = await signInAs(email);
	const t = await newToken(a, PW, { secrets });
	const dump = server.dump();
	assert.ok(!dump.includes(t.key), 'token key in clear in the database');
	assert.ok(dump.includes(sha256hex(t.key)), 'the SHA-256 of the key is what is stored');
	const rows = server.sqlRows(
		`SELECT count(*) AS n FROM tokens WHERE key_hash = ${q(sha256hex(t.key))} AND id = ${t.id}`,
	);
	assert.equal(rows[0].n, 1);
});

test('no audit row holds a password, session cookie or token key used in this file', async () => {
	const rows = server.sql('SELECT * FROM audit;');
	assert.ok(rows.includes('token.created'), "the audit table has this file's rows");
	for (const [what, needle] of secrets.needles()) assert.ok(!rows.includes(needle), `${what} found in the audit table`);
});
