// The webhook outbox's persistence on PostgreSQL (issue 15): tests/unit/test_store_webhook.c,
// the same checks the unit suite runs on SQLite, run against a fresh database of the
// run's cluster (or, run alone, a private one) through GATEHOUSE_TEST_STORE_DSN: every
// op, the lease, racing claimers never taking the same row (FOR UPDATE SKIP LOCKED),
// done rows never claimed again, the purge.
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
const UNIT = path.join(BUILD, 'tests', 'test_store_webhook');

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

test('the store tests of the webhook outbox pass on PostgreSQL, twice on one database', async () => {
	const db = `ghw_${process.pid}_${randomBytes(5).toString('hex')}`;
	pg.createDatabase(db);
	databases.push(db);
	const env = { ...process.env, GATEHOUSE_TEST_STORE_DSN: pg.dsn(db) };
	// the second run finds the schema migrated and the first run's rows, all done: it claims none of them
	for (let round = 1; round <= 2; round++) {
		const r = await run(env);
		const failures = r.stderr
			.split('\n')
			.filter((l) => l && !l.startsWith('{'))
			.join('\n');
		assert.equal(r.code, 0, `round ${round}: exit ${r.code} ${r.signal ?? ''}\n${r.stdout}\n${failures}`);
		assert.match(r.stdout, /^store_webhook \(postgres\): [1-9]\d* passed, 0 failed$/m, `round ${round}: ${r.stdout}`);
	}
	// every row either run made ended done
	assert.equal(pg.psql(db, 'SELECT count(*) FROM webhook_outbox WHERE done_at IS NULL;').trim(), '0');
});
