// A store unit binary (tests/unit/test_store_*.c) run against PostgreSQL, twice on one
// fresh database: the second run finds the schema migrated and the first run's rows.
// The binary is the one beside GATEHOUSE_BIN (build/tests/, build-asan/tests/),
// brought up to date by make first; on the run's cluster (run-pg.mjs), or, run
// alone, on a private one. Shared by store-mfa-pg and store-webhook-pg.
import { before, after } from 'node:test';
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

function run(unit, env, ms = 120000 * SLOW) {
	return new Promise((resolve) => {
		const child = spawn(unit, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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

/**
 * Register the hooks for tests/unit/<name>.c on PostgreSQL (call at a test file's top
 * level); returns runTwice(), which runs it twice on a new database, asserts both
 * runs pass ("<label> (postgres): N passed, 0 failed") and resolves {pg, db}.
 */
export function storeUnitOnPostgres(name, label) {
	const unit = path.join(BUILD, 'tests', name);
	let pg;
	let ownCluster = null;
	const databases = [];

	before(async () => {
		pg = PG || (ownCluster = await startCluster());
		// the unit binary of the same build as the server (plain or SANITIZE=1), up to date
		const rel = path.relative(ROOT, unit);
		const args = ['-C', ROOT, '--no-print-directory', rel];
		if (path.basename(BUILD) === 'build-asan') args.unshift('SANITIZE=1');
		const made = spawnSync('make', args, { encoding: 'utf8' });
		assert.equal(made.status, 0, `make ${rel}:\n${made.stdout}\n${made.stderr}`);
	});
	after(async () => {
		for (const db of databases) pg.dropDatabase(db);
		await ownCluster?.destroy();
	});

	return async function runTwice() {
		const db = `ghs_${process.pid}_${randomBytes(5).toString('hex')}`;
		pg.createDatabase(db);
		databases.push(db);
		const env = { ...process.env, GATEHOUSE_TEST_STORE_DSN: pg.dsn(db) };
		const want = new RegExp(`^${label} \\(postgres\\): [1-9]\\d* passed, 0 failed$`, 'm');
		for (let round = 1; round <= 2; round++) {
			const r = await run(unit, env);
			const failures = r.stderr
				.split('\n')
				.filter((l) => l && !l.startsWith('{'))
				.join('\n');
			assert.equal(r.code, 0, `round ${round}: exit ${r.code} ${r.signal ?? ''}\n${r.stdout}\n${failures}`);
			assert.match(r.stdout, want, `round ${round}: ${r.stdout}`);
		}
		return { pg, db };
	};
}
