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
	const db = freshDatabase();
	const m = await run(['migrate'], envFor(db));
	assert.equal(m.code, 0, m.stderr);
	// as if the last migration had not run yet: its row gone (its objects stay, harmless for the check)
	pg.psql(db, `DELETE FROM schema_migrations WHERE version = ${MIGRATIONS};`);
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
