// Limits that hold: an attempt counts the moment it is admitted, so
// concurrency buys no extra guesses; one account cannot keep the hash pool
// full; counters survive a restart; IPv6 clients count per /64; the signup,
// resend and reset budgets are separate; unverified-account logins count.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createUser, csrfClient, loggedIn, uniqueEmail, q, sleep } from './harness.mjs';

const PW = 'throttle pass 1';
const NEW_PW = 'a brand new passphrase 7';
const LIMIT = 5;

const count = (xs, st) => xs.filter((r) => r.status === st).length;

function assertHeld(results, what) {
	const statuses = results.map((r) => r.status);
	assert.equal(count(results, 503), 0, `${what}: no 503: ${statuses}`);
	assert.ok(
		statuses.every((s) => s === 400 || s === 429),
		`${what}: only 400 and 429: ${statuses}`,
	);
	assert.ok(count(results, 400) >= 1, `${what}: some attempts were checked: ${statuses}`);
	assert.ok(
		count(results, 400) <= LIMIT,
		`${what}: ${count(results, 400)} wrong passwords checked, limit ${LIMIT}: ${statuses}`,
	);
}

describe('concurrent wrong passwords for one account', () => {
	let srv;
	before(async () => {
		srv = await startServer({
			env: {
				GATEHOUSE_LOGIN_ACCOUNT_LIMIT: String(LIMIT),
				GATEHOUSE_LOGIN_IP_LIMIT: '10000',
				GATEHOUSE_LOGIN_WINDOW: '300',
				GATEHOUSE_LOGIN_FAILURE_QUANTUM_MS: '100',
			},
		});
	});
	after(async () => {
		await srv?.stop();
	});

	test('40 concurrent wrong logins let no more than the limit through', async () => {
		const email = createUser(srv, uniqueEmail('race-login'), PW);
		const clients = await Promise.all(Array.from({ length: 40 }, () => csrfClient(srv)));
		const results = await Promise.all(
			clients.map((c, i) => c.post('/api/login/', { json: { email, password: `wrong ${i}` } })),
		);
		assertHeld(results, 'login');
	});

	test('40 concurrent wrong old passwords on password change let no more than the limit through', async () => {
		const email = createUser(srv, uniqueEmail('race-change'), PW);
		const me = await loggedIn(srv, email, PW);
		const results = await Promise.all(
			Array.from({ length: 40 }, (_, i) =>
				me.post('/api/password/change/', { json: { old_password: `wrong ${i}`, new_password: NEW_PW } }),
			),
		);
		assertHeld(results, 'password change');
		assert.equal((await me.get('/api/users/profile/')).status, 200, 'still signed in: the password did not change');
	});

	test('40 concurrent wrong passwords on token creation let no more than the limit through', async () => {
		const email = createUser(srv, uniqueEmail('race-token'), PW);
		const me = await loggedIn(srv, email, PW);
		const results = await Promise.all(
			Array.from({ length: 40 }, (_, i) =>
				me.post('/api/tokens/', { json: { name: `t${i}`, password: `wrong ${i}` } }),
			),
		);
		assertHeld(results, 'token creation');
		const [row] = srv.sqlRows(
			`SELECT count(*) AS n FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.email = ${q(email)}`,
		);
		assert.equal(row.n, 0, 'no token made');
	});
});

describe('one account looping correct logins', () => {
	let srv;
	before(async () => {
		srv = await startServer({
			defaultArgon2: true,
			env: {
				GATEHOUSE_TRUST_PROXY: 'true',
				GATEHOUSE_HASH_THREADS: '1',
				GATEHOUSE_HASH_QUEUE: '2',
				GATEHOUSE_LOGIN_IP_LIMIT: '20',
				GATEHOUSE_LOGIN_ACCOUNT_LIMIT: String(LIMIT),
			},
		});
	});
	after(async () => {
		await srv?.stop();
	});

	test("cannot push another user's login into 503, and leaves few sessions", async () => {
		const attacker = createUser(srv, uniqueEmail('hog'), PW);
		const victim = createUser(srv, uniqueEmail('victim'), PW);
		const ATTACKER_IP = { 'X-Real-IP': '198.51.100.7' };
		const VICTIM_IP = { 'X-Real-IP': '203.0.113.9' };
		let stop = false;
		let throttled = 0;
		let answered = 0;
		const loop = async () => {
			const c = await csrfClient(srv);
			while (!stop) {
				const r = await c.post('/api/login/', { json: { email: attacker, password: PW }, headers: ATTACKER_IP });
				answered++;
				if (r.status === 429) throttled++;
			}
		};
		const loops = Array.from({ length: 12 }, loop);
		const t0 = Date.now();
		while (throttled === 0 && Date.now() - t0 < 4000) await sleep(50);
		const statuses = [];
		try {
			for (let i = 0; i < 3; i++) {
				const c = await csrfClient(srv);
				const r = await c.post('/api/login/', { json: { email: victim, password: PW }, headers: VICTIM_IP });
				statuses.push(r.status);
				await sleep(150);
			}
		} finally {
			stop = true;
			await Promise.all(loops);
		}
		assert.deepEqual(
			statuses,
			[200, 200, 200],
			`victim's logins during the loop (attacker: ${answered} answers, ${throttled} × 429)`,
		);
		const [row] = srv.sqlRows(
			`SELECT count(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ${q(attacker)}`,
		);
		assert.ok(row.n <= 20, `the looping account left ${row.n} sessions (per-IP limit 20)`);
	});
});

describe('counters in the database', () => {
	const env = {
		GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '3',
		GATEHOUSE_LOGIN_IP_LIMIT: '10000',
		GATEHOUSE_LOGIN_WINDOW: '300',
		GATEHOUSE_LOGIN_FAILURE_QUANTUM_MS: '100',
	};
	let srv;
	after(async () => {
		await srv?.stop();
	});

	test('a restart of the server on the same database keeps the counters', async () => {
		srv = await startServer({ env });
		const email = createUser(srv, uniqueEmail('restart'), PW);
		let c = await csrfClient(srv);
		for (let i = 0; i < 3; i++)
			assert.equal((await c.post('/api/login/', { json: { email, password: 'wrong' } })).status, 400);
		assert.equal((await c.post('/api/login/', { json: { email, password: PW } })).status, 429, 'throttled before');
		await srv.kill();
		srv = await startServer({ reuse: srv, env });
		c = await csrfClient(srv);
		const r = await c.post('/api/login/', { json: { email, password: PW } });
		assert.equal(r.status, 429, `after the restart: ${r.status} ${r.text}`);
		assert.ok(
			Number(r.headers.get('retry-after')) > 200,
			`Retry-After ${r.headers.get('retry-after')} counts from the first failures`,
		);
	});
});

describe('IPv6 clients', () => {
	let srv;
	before(async () => {
		srv = await startServer({
			env: {
				GATEHOUSE_TRUST_PROXY: 'true',
				GATEHOUSE_LOGIN_IP_LIMIT: '3',
				GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '1000',
				GATEHOUSE_LOGIN_FAILURE_QUANTUM_MS: '100',
			},
		});
	});
	after(async () => {
		await srv?.stop();
	});

	test('two addresses of one /64 share a budget, a different /64 does not', async () => {
		const c = await csrfClient(srv);
		const from = (ip) =>
			c.post('/api/login/', { json: { email: uniqueEmail('v6'), password: 'x' }, headers: { 'X-Real-IP': ip } });
		for (let i = 0; i < 3; i++) assert.equal((await from('2001:db8::1')).status, 400, `attempt ${i + 1}`);
		const same = await from('2001:db8::2');
		assert.equal(same.status, 429, `2001:db8::2 after 3 attempts from 2001:db8::1: ${same.status}`);
		const other = await from('2001:db8:0:1::1');
		assert.equal(other.status, 400, `another /64: ${other.status} ${other.text}`);
	});
});

describe('signup, resend and reset budgets', () => {
	let srv;
	before(async () => {
		srv = await startServer({ env: { GATEHOUSE_ACCOUNT_ADDRESS_LIMIT: '5', GATEHOUSE_ACCOUNT_IP_LIMIT: '1000' } });
	});
	after(async () => {
		await srv?.stop();
	});

	test('resend cannot block a reset', async () => {
		const alice = createUser(srv, uniqueEmail('alice'), PW);
		const c = await csrfClient(srv);
		for (let i = 0; i < 5; i++) {
			const r = await c.post('/api/signup/resend/', { json: { email: alice } });
			assert.equal(r.status, 200, `resend ${i + 1}: ${r.status}`);
		}
		assert.equal((await c.post('/api/signup/resend/', { json: { email: alice } })).status, 429, 'resend is limited');
		const r = await c.post('/api/password/reset/', { json: { email: alice } });
		assert.equal(r.status, 200, `alice's reset after five resends for her address: ${r.status} ${r.text}`);
	});
});

describe('unverified accounts', () => {
	let srv;
	before(async () => {
		srv = await startServer({
			env: {
				GATEHOUSE_EMAIL_VERIFICATION: 'mandatory',
				GATEHOUSE_LOGIN_ACCOUNT_LIMIT: String(LIMIT),
				GATEHOUSE_LOGIN_IP_LIMIT: '10000',
			},
		});
	});
	after(async () => {
		await srv?.stop();
	});

	test('logins of an unverified account are counted like failures', async () => {
		const email = createUser(srv, uniqueEmail('unverified'), PW);
		srv.sql(`UPDATE users SET email_verified = 0 WHERE email = ${q(email)}`);
		const c = await csrfClient(srv);
		for (let i = 0; i < LIMIT; i++) {
			const r = await c.post('/api/login/', { json: { email, password: PW } });
			assert.equal(r.status, 400, `login ${i + 1}: ${r.status}`);
			assert.deepEqual(r.json, { detail: 'E-mail is not verified.' });
		}
		const r = await c.post('/api/login/', { json: { email, password: PW } });
		assert.equal(r.status, 429, `login ${LIMIT + 1} of an unverified account: ${r.status} ${r.text}`);
	});
});
