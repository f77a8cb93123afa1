// Schema migrations on PostgreSQL (issue 13): `gatehouse migrate` is explicit and
// takes an advisory lock, so two started at once on an empty database apply each
// migration once between them; `serve` refuses a schema older or newer than its
// own (exit 1, a message naming both versions) unless GATEHOUSE_AUTO_MIGRATE.
//
// PostgreSQL only: on the run's cluster (run-pg.mjs), or, run alone, on a private one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PG, BIN, SLOW, FAST_ARGON2, startServer, createUser, loggedIn, uniqueEmail } from './harness.mjs';
import { freePort, startCluster } from './pg.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** As many as the binary carries: one per file in src/store/migrations/postgres/. */
const MIGRATIONS = fs
	.readdirSync(path.join(HERE, '../../src/store/migrations/postgres'))
	.filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).length;

let pg;
let ownCluster = null;
let tmp;
const databases = [];

before(async () => {
	pg = PG || (ownCluster = await startCluster());
	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-migrate-'));
});
after(async () => {
	for (const db of databases) pg.dropDatabase(db);
	fs.rmSync(tmp, { recursive: true, force: true });
	await ownCluster?.destroy();
});

function freshDatabase() {
	const name = `ghm_${process.pid}_${randomBytes(5).toString('hex')}`;
	pg.createDatabase(name);
	databases.push(name);
	return name;
}

/** The environment of a gatehouse on database db: nothing inherited from the caller's GATEHOUSE_*. */
function envFor(db, extra = {}) {
	const env = {};
	for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
	return {
		...env,
		...FAST_ARGON2,
		GATEHOUSE_DATABASE: pg.dsn(db),
		GATEHOUSE_SECRET_KEY: randomBytes(32).toString('hex'),
		GATEHOUSE_STATIC_DIR: tmp,
		...extra,
	};
}

/** Run the binary; resolves {code, signal, stdout, stderr}; SIGKILL after ms. */
function run(args, env, ms = 30000 * SLOW) {
	return new Promise((resolve) => {
		const child = spawn(BIN, args, { env, cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
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

const versions = (db) =>
	pg.psql(db, 'SELECT version FROM schema_migrations ORDER BY version;').trim().split('\n').filter(Boolean).map(Number);

/** The versions applied so far, [] while not even schema_migrations exists. */
const versions0 = (db) => {
	const r = pg.psql(db, "SELECT to_regclass('schema_migrations') IS NOT NULL;").trim();
	return r === 't' ? versions(db) : [];
};

const plural = (n) => `applied ${n} migration${n === 1 ? '' : 's'}`;

test(`two migrate runs at once on an empty database: one applies all ${MIGRATIONS}, the other none`, async () => {
	assert.ok(MIGRATIONS >= 8, `found ${MIGRATIONS} migration files`);
	for (let round = 0; round < 3; round++) {
		const db = freshDatabase();
		const env = envFor(db);
		const [r1, r2] = await Promise.all([run(['migrate'], env), run(['migrate'], env)]);
		for (const r of [r1, r2])
			assert.equal(r.code, 0, `migrate: exit ${r.code} ${r.signal ?? ''}\n${r.stdout}\n${r.stderr}`);
		const outs = [r1.stdout.trim(), r2.stdout.trim()].sort();
		assert.deepEqual(outs, [plural(0), plural(MIGRATIONS)].sort(), `round ${round + 1}`);
		assert.deepEqual(
			versions(db),
			Array.from({ length: MIGRATIONS }, (_, i) => i + 1),
			'each version once',
		);
		// and a third finds nothing to do
		const r3 = await run(['migrate'], env);
		assert.equal(r3.code, 0, r3.stderr);
		assert.equal(r3.stdout.trim(), plural(0));
	}
});

/** pg_advisory_xact_lock key of `gatehouse migrate` (src/store/pgsql/pgsql.c, MIGRATE_LOCK). */
const MIGRATE_LOCK = '7449363237540422961';

test('two migrate runs held at the lock together: one applies everything, the other then finds nothing to do', async () => {
	// the race above may be won before the second has even connected; here both are
	// made to wait on the lock at once, by a session holding it, then let go together
	const db = freshDatabase();
	const env = envFor(db);
	const args = ['-X', '-q', '-A', '-t', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', db];
	const holder = spawn('psql', args, { stdio: ['pipe', 'pipe', 'pipe'] });
	let said = '';
	holder.stdout.setEncoding('utf8');
	holder.stdout.on('data', (d) => (said += d));
	const holderExit = new Promise((r) => holder.on('exit', r));
	try {
		holder.stdin.write(`SELECT pg_advisory_lock(${MIGRATE_LOCK}), 'held';\n`);
		for (let t0 = performance.now(); !said.includes('held'); await new Promise((r) => setTimeout(r, 20)))
			assert.ok(performance.now() - t0 < 10000 * SLOW, 'the lock holder got no answer');
		const runs = Promise.all([run(['migrate'], env), run(['migrate'], env)]);
		const waiting = () =>
			Number(
				pg
					.psql(
						'postgres',
						`SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}' AND wait_event_type = 'Lock' AND wait_event = 'advisory';`,
					)
					.trim(),
			);
		for (let t0 = performance.now(); waiting() < 2; await new Promise((r) => setTimeout(r, 20)))
			assert.ok(
				performance.now() - t0 < 10000 * SLOW,
				`only ${waiting()} migrate runs wait on advisory lock ${MIGRATE_LOCK} (has its key changed?)`,
			);
		assert.deepEqual(versions0(db), [], 'nothing applied while the lock is held');
		holder.stdin.end(); // the session ends, the lock with it
		const [r1, r2] = await runs;
		for (const r of [r1, r2]) assert.equal(r.code, 0, `migrate: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
		assert.deepEqual([r1.stdout.trim(), r2.stdout.trim()].sort(), [plural(0), plural(MIGRATIONS)].sort());
		assert.deepEqual(
			versions(db),
			Array.from({ length: MIGRATIONS }, (_, i) => i + 1),
		);
	} finally {
		holder.kill();
		await holderExit;
	}
});

test('serve on a migrated database works without GATEHOUSE_AUTO_MIGRATE', async () => {
	const db = freshDatabase();
	const env = envFor(db);
	const m = await run(['migrate'], env);
	assert.equal(m.code, 0, m.stderr);
	const srv = await startServer({ pg, pgDatabase: db, env: { GATEHOUSE_AUTO_MIGRATE: 'false' } });
	try {
		const email = createUser(srv, uniqueEmail('migrated'), 'migrate harbour 42');
		await loggedIn(srv, email, 'migrate harbour 42');
	} finally {
		await srv.stop();
	}
});

test('serve on an empty database without GATEHOUSE_AUTO_MIGRATE exits 1 and says to run gatehouse migrate', async () => {
	const db = freshDatabase();
	const port = await freePort();
	const r = await run(['serve'], envFor(db, { GATEHOUSE_LISTEN: `127.0.0.1:${port}` }));
	assert.equal(r.code, 1, `exit ${r.code} ${r.signal ?? ''}\n${r.stderr}`);
	assert.match(
		r.stderr,
		new RegExp(`database schema is version 0, this gatehouse needs ${MIGRATIONS}: run \`gatehouse migrate\``),
	);
});

test('serve on an older schema without GATEHOUSE_AUTO_MIGRATE exits 1 naming both versions; with it, migrates', async () => {
	// the schema of a gatehouse one migration behind: every migration file but the last
	// applied by hand, and recorded as gatehouse records them
	const db = freshDatabase();
	const dir = path.join(HERE, '../../src/store/migrations/postgres');
	const files = fs
		.readdirSync(dir)
		.filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
		.sort();
	let older = 'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL);\n';
	for (const [i, f] of files.slice(0, -1).entries())
		older += fs.readFileSync(path.join(dir, f), 'utf8') + `\nINSERT INTO schema_migrations VALUES (${i + 1}, 0);\n`;
	pg.psql(db, older);
	const port = await freePort();
	const r = await run(['serve'], envFor(db, { GATEHOUSE_LISTEN: `127.0.0.1:${port}` }));
	assert.equal(r.code, 1, `exit ${r.code}\n${r.stderr}`);
	assert.match(
		r.stderr,
		new RegExp(
			`database schema is version ${MIGRATIONS - 1}, this gatehouse needs ${MIGRATIONS}: run \`gatehouse migrate\``,
		),
	);
	// the CLI's other commands refuse it as well
	const cu = await run(['createuser', 'someone@example.com'], envFor(db));
	assert.equal(cu.code, 1, `createuser on an old schema: exit ${cu.code}\n${cu.stderr}`);
	assert.match(cu.stderr, /run `gatehouse migrate`/);
	assert.deepEqual(
		versions(db),
		Array.from({ length: MIGRATIONS - 1 }, (_, i) => i + 1),
		'left as it was',
	);
	// with GATEHOUSE_AUTO_MIGRATE the last one is applied at start, and the server serves
	const srv = await startServer({ pg, pgDatabase: db });
	try {
		assert.deepEqual(
			versions(db),
			Array.from({ length: MIGRATIONS }, (_, i) => i + 1),
		);
		const email = createUser(srv, uniqueEmail('upgraded'), 'migrate harbour 42');
		await loggedIn(srv, email, 'migrate harbour 42');
	} finally {
		await srv.stop();
	}
});

test('serve on a schema from a newer gatehouse exits 1 naming both versions, with or without auto-migrate', async () => {
	const db = freshDatabase();
	const m = await run(['migrate'], envFor(db));
	assert.equal(m.code, 0, m.stderr);
	const newer = MIGRATIONS + 1;
	pg.psql(db, `INSERT INTO schema_migrations (version, applied_at) VALUES (${newer}, 0);`);
	for (const auto of ['false', 'true']) {
		const port = await freePort();
		const r = await run(['serve'], envFor(db, { GATEHOUSE_LISTEN: `127.0.0.1:${port}`, GATEHOUSE_AUTO_MIGRATE: auto }));
		assert.equal(r.code, 1, `auto_migrate=${auto}: exit ${r.code}\n${r.stderr}`);
		assert.match(
			r.stderr,
			new RegExp(`database schema is version ${newer}, newer than this gatehouse \\(${MIGRATIONS}\\)`),
		);
	}
	const mig = await run(['migrate'], envFor(db));
	assert.equal(mig.code, 1, `migrate on a newer schema: exit ${mig.code}\n${mig.stdout}\n${mig.stderr}`);
	assert.match(mig.stderr, /newer than this gatehouse/);
	assert.deepEqual(versions(db).slice(-1), [newer], 'left as it was');
});
