// A password over 4096 bytes is refused with a field error before it ever
// reaches the hash pool.  Proof by behaviour, not by the clock: with a pool of
// one thread and one queue place, both taken by slow hashes, a normal login is
// answered 503 (no room) while the over-long one still gets its 400 field
// error, and a normal login right after is 503 again (the pool was full the
// whole time).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WRAPPER, startServer, createUser, csrfClient, loggedIn, uniqueEmail } from './harness.mjs';

// Saturating the pool needs a hash to outlast the handling of the next
// request; valgrind slows gatehouse's own code far more than the hash's
// vector code, so there the four fillers are served one after another and
// the pool is never full.  The plain and sanitizer runs prove the rule.
const skip = WRAPPER ? `the hash pool cannot be saturated under GATEHOUSE_WRAPPER=${WRAPPER}` : false;
if (skip) console.log(`# password-limit: skipped: ${skip}`);

const PW = 'limit pass 1';
const TOO_LONG = { password: ['Ensure this field has no more than 4096 characters.'] };
let server;

before(async () => {
	if (skip) return;
	server = await startServer({
		defaultArgon2: true,
		env: {
			GATEHOUSE_HASH_THREADS: '1',
			GATEHOUSE_HASH_QUEUE: '1',
			// slow hashes: the pool stays full for seconds
			GATEHOUSE_ARGON2_MEMORY_KIB: '32768',
			GATEHOUSE_ARGON2_ITERATIONS: '4',
			GATEHOUSE_LOGIN_IP_LIMIT: '10000',
			GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '10000',
		},
	});
});
after(async () => {
	await server?.stop();
});

const normalLogin = (c) =>
	c.post('/api/login/', { json: { email: uniqueEmail('nobody'), password: 'some password 1' } });

/**
 * Fill the pool: four slow logins at once for its two places, so at least one
 * is refused 503.  Once one is, the pool is full: run fn(), then check the
 * pool is still full after it (a normal login is refused 503 too).
 */
async function whileSaturated(fn) {
	const fillers = await Promise.all([1, 2, 3, 4].map(() => csrfClient(server)));
	const probe = await csrfClient(server);
	let refused;
	const firstRefusal = new Promise((resolve) => {
		refused = resolve;
	});
	const fills = fillers.map((c) =>
		normalLogin(c).then((r) => {
			if (r.status === 503) refused();
			return r;
		}),
	);
	const done = Promise.all(fills);
	await Promise.race([firstRefusal, done]);
	const statuses = () => done.then((rs) => rs.map((r) => r.status));
	await fn();
	const after = await normalLogin(probe);
	assert.equal(
		after.status,
		503,
		`the pool was still full after the request under test (fillers: ${await statuses()})`,
	);
	const st = await statuses();
	assert.ok(st.includes(503), `four logins for two places: one was refused (${st})`);
	assert.ok(
		st.every((x) => x === 400 || x === 503),
		`fillers: ${st}`,
	);
}

test(
	'a login with a password over 4096 bytes is answered its field error while the hash pool is full',
	{ skip },
	async () => {
		const email = createUser(server, uniqueEmail('long'), PW);
		const c = await csrfClient(server);
		await whileSaturated(async () => {
			const r = await c.post('/api/login/', { json: { email, password: 'x'.repeat(4097) } });
			assert.equal(r.status, 400, `4097 bytes: ${r.status} ${r.text}`);
			assert.deepEqual(r.json, TOO_LONG);
			const big = await c.post('/api/login/', { json: { email, password: 'y'.repeat(60000) } });
			assert.equal(big.status, 400, `60000 bytes: ${big.status} ${big.text}`);
			assert.deepEqual(big.json, TOO_LONG);
			const multi = await c.post('/api/login/', { json: { email, password: 'é'.repeat(2049) } });
			assert.equal(multi.status, 400, `4098 bytes in 2049 characters: ${multi.status} ${multi.text}`);
			assert.deepEqual(multi.json, TOO_LONG);
		});
		assert.equal(c.cookie('sessionid'), undefined, 'no session');
	},
);

test(
	'a signup with a password over 4096 bytes is answered its field error while the hash pool is full',
	{ skip },
	async () => {
		const c = await csrfClient(server);
		await whileSaturated(async () => {
			const r = await c.post('/api/signup/', { json: { email: uniqueEmail('su'), password: 'k9'.repeat(2049) } });
			assert.equal(r.status, 400, `${r.status} ${r.text}`);
			assert.ok(Array.isArray(r.json?.password), r.text);
			assert.ok(r.json.password.includes('Ensure this field has no more than 4096 characters.'), r.text);
		});
	},
);

test(
	'a password change to over 4096 bytes is answered its field error while the hash pool is full',
	{ skip },
	async () => {
		const email = createUser(server, uniqueEmail('chg'), PW);
		const c = await loggedIn(server, email, PW);
		await whileSaturated(async () => {
			const r = await c.post('/api/password/change/', { json: { old_password: PW, new_password: 'k9'.repeat(2049) } });
			assert.equal(r.status, 400, `${r.status} ${r.text}`);
			assert.ok(Array.isArray(r.json?.new_password), r.text);
			assert.ok(r.json.new_password.includes('Ensure this field has no more than 4096 characters.'), r.text);
		});
		const after = await c.get('/api/users/profile/');
		assert.equal(after.status, 200, 'still logged in');
	},
);
