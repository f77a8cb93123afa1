// The second factors' persistence on PostgreSQL (issue 14): tests/unit/test_store_mfa.c,
// the same checks the unit suite runs on SQLite, run against a fresh database of the
// run's cluster (or, run alone, a private one) through GATEHOUSE_TEST_STORE_DSN: every
// op, the single-use guarantees under racing threads, mfa_enabled in every user row,
// the cascade with the user, and the session cache dropping a user row whose
// mfa_enabled changed (here, or announced by 0009's trigger).
//
// The unit binary is the one beside GATEHOUSE_BIN (build/tests/, build-asan/tests/),
// brought up to date by make first.
//
// PostgreSQL only: on the run's cluster (run-pg.mjs), or, run alone, on a private one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PG, BIN, SLOW } from './harness.mjs';
import { startCluster } from './pg.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const BUILD = path.dirname(BIN);
const UNIT = path.join(BUILD, 'tests', 'test_store_mfa');

let pg;
let ownCluster = null;
const databases = [];

before(async () => {
	pg = PG || (ownCluster = await startCluster());
	// the unit binary of the same build as the server (plain or SANITIZE=1), up to date
	const rel = path.relative(ROOT, UNIT);
	const args = ['-C', ROOT, '--no-print-directory', rel];
	if (path.basename(BUILD) === 'build-asan') args.unshift('SANITIZE=1');
	const made = spawnSync('make', args, { encoding: 'utf8' });
	assert.equal(made.status, 0, `make ${rel}:\n${made.stdout}\n${made.stderr}`);
});
after(async () => {
	for (const db of databases) pg.dropDatabase(db);
	await ownCluster?.destroy();
});

function run(env, ms = 120000 * SLOW) {
	return new Promise((resolve) => {
		const child = spawn(UNIT, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.setEncoding('utf8');
		child.stderr.setEncoding('utf8');
		child.stdout.on('data', (d) => (stdout += d));
		child.stderr.on('data', (d) => (stderr += d));
		const timer = setTimeout(() => child.kill('SIGKILL'), ms);
		child.on('exit', (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stdout, stderr });
		});
	});
}

test('the store tests of second factors pass on PostgreSQL, twice on one database', async () => {
	const db = `ghs_${process.pid}_${randomBytes(5).toString('hex')}`;
	pg.createDatabase(db);
	databases.push(db);
	const env = { ...process.env, GATEHOUSE_TEST_STORE_DSN: pg.dsn(db) };
	// the second run finds the schema migrated and the first run's rows: nothing may collide
	for (let round = 1; round <= 2; round++) {
		const r = await run(env);
		const failures = r.stderr
			.split('\n')
			.filter((l) => l && !l.startsWith('{'))
			.join('\n');
		assert.equal(r.code, 0, `round ${round}: exit ${r.code} ${r.signal ?? ''}\n${r.stdout}\n${failures}`);
		assert.match(r.stdout, /^store_mfa \(postgres\): [1-9]\d* passed, 0 failed$/m, `round ${round}: ${r.stdout}`);
	}
	// every table is there, and every factor went with its user in the cascade check
	const orphans = pg.psql(
		db,
		'SELECT (SELECT count(*) FROM mfa_totp t WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id))' +
			' + (SELECT count(*) FROM webauthn_credentials w WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = w.user_id))' +
			' + (SELECT count(*) FROM mfa_recovery r WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id))' +
			' + (SELECT count(*) FROM mfa_pending p WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id));',
	);
	assert.equal(orphans.trim(), '0');
});
