// A failed login takes the same time whatever the account behind it: an
// unknown address, a wrong password on a native Argon2id hash, on a migrated
// Django pbkdf2_sha256 hash of 1,000,000 iterations (the slowest legacy
// hash), or on an account without a usable password.  Otherwise timing alone
// finds every imported account that has not logged in yet.
//
// Plain build only: sanitizers and valgrind change what things cost.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { BIN, WRAPPER, startServer, createUser, csrfClient, uniqueEmail, q } from './harness.mjs';

const PW = 'timing pass 1';
const SAMPLES = 5;

const skip = WRAPPER
	? `timing is meaningless under GATEHOUSE_WRAPPER=${WRAPPER}`
	: BIN.includes('build-asan')
		? 'timing is meaningless in the sanitizer build (build-asan)'
		: false;
if (skip) console.log(`# login-timing: skipped: ${skip}`);

let srv;
before(async () => {
	if (skip) return;
	srv = await startServer({
		defaultArgon2: true, // the native hash at its real cost
		env: { GATEHOUSE_LOGIN_IP_LIMIT: '10000', GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '1000' },
	});
});
after(async () => {
	await srv?.stop();
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('failed logins of every kind take the same time', { skip }, async () => {
	const native = createUser(srv, uniqueEmail('native'), PW);
	const legacy = createUser(srv, uniqueEmail('legacy'), PW);
	const salt = randomBytes(9).toString('hex');
	const django = `pbkdf2_sha256$1000000$${salt}$${pbkdf2Sync(PW, salt, 1000000, 32, 'sha256').toString('base64')}`;
	srv.sql(`UPDATE users SET password = ${q(django)} WHERE email = ${q(legacy)}`);
	const unusable = createUser(srv, uniqueEmail('nopass'), PW);
	srv.sql(`UPDATE users SET password = ${q('!' + randomBytes(20).toString('hex'))} WHERE email = ${q(unusable)}`);
	const kinds = {
		'unknown email': uniqueEmail('ghost'),
		'native argon2id, wrong password': native,
		'pbkdf2_sha256 1,000,000 iterations, wrong password': legacy,
		'no usable password': unusable,
	};
	const c = await csrfClient(srv);
	// the right password on the legacy hash works (so the hash is real) ...
	const right = await c.post('/api/login/', { json: { email: legacy, password: PW } });
	assert.equal(right.status, 200, `the Django hash logs in: ${right.text}`);
	// ... and it is upgraded then: put it back
	srv.sql(`UPDATE users SET password = ${q(django)} WHERE email = ${q(legacy)}`);

	const times = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
	for (let i = 0; i < SAMPLES; i++) {
		// interleaved, so load from anything running alongside weighs on all alike
		for (const [kind, email] of Object.entries(kinds)) {
			const r = await c.post('/api/login/', { json: { email, password: `wrong ${i}` } });
			assert.equal(r.status, 400, `${kind}: ${r.status} ${r.text}`);
			assert.deepEqual(r.json, { detail: 'Invalid credentials' }, kind);
			times[kind].push(r.elapsed);
		}
	}
	const medians = Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)]));
	const report = Object.entries(medians)
		.map(([k, m]) => `${k}: ${m.toFixed(0)} ms`)
		.join('; ');
	const lo = Math.min(...Object.values(medians));
	const hi = Math.max(...Object.values(medians));
	assert.ok(hi <= lo * 1.25, `medians more than 25 % apart: ${report}`);
});
