// A real PostgreSQL for the API tests (issue 13): a throw-away cluster in a temp
// dir, started as the `postgres` user (PostgreSQL refuses to run as root) on
// 127.0.0.1 and a Unix socket inside that dir.  fsync and full_page_writes are off:
// nothing here must survive a crash of the machine, only a crash of PostgreSQL
// (stopImmediate), which the OS page cache still covers.  synchronous_commit stays
// on: with it off, a commit already answered could be lost at stopImmediate, and
// the fault tests count on every answered write being there after the restart.
//
//   const pg = await startCluster();          // initdb (or a copy of a template), start
//   pg.createDatabase('x'); pg.dsn('x')       // postgresql://postgres@127.0.0.1:PORT/x
//   pg.psql('x', 'SELECT 1')                  // psql -X -A -t -q, stdout
//   await pg.stopImmediate(); await pg.start() // a crash of the server, then back on the same data
//   await pg.destroy()                        // stop (SIGINT, then SIGKILL), remove the dir
//
// The postmaster is spawned through setpriv (it execs, so the child's PID is the
// postmaster's own): stop() and stopImmediate() signal that PID as pg_ctl would
// (SIGINT fast shutdown, SIGQUIT immediate).  Every cluster this process starts
// is stopped and its dir removed at process exit, even on an uncaught error: a
// postmaster left behind would hold its port and its shared memory.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The directory of initdb/postgres: $PG_BINDIR, else Debian's newest /usr/lib/postgresql/N/bin, else PATH. */
function pgBinDir() {
	if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
	const root = '/usr/lib/postgresql';
	try {
		const versions = fs
			.readdirSync(root)
			.filter((v) => /^\d+$/.test(v) && fs.existsSync(path.join(root, v, 'bin', 'postgres')))
			.sort((a, b) => Number(b) - Number(a));
		if (versions.length) return path.join(root, versions[0], 'bin');
	} catch {
		/* not Debian's layout */
	}
	return '';
}
const BINDIR = pgBinDir();
const pgBin = (name) => (BINDIR ? path.join(BINDIR, name) : name);

const AS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

/** The unprivileged account PostgreSQL runs under when we are root. */
function pgAccount() {
	const u = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
	const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
	if (u.status !== 0 || g.status !== 0)
		throw new Error('running as root needs a `postgres` user to run PostgreSQL as (apt-get install postgresql)');
	return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/**
 * argv that runs a PostgreSQL program as the postgres user (as ourselves when not root)
 * through setpriv, which execs it; with deathSignal, the program gets that signal when
 * this process dies, however it dies (even SIGKILL): a postmaster never outlives us.
 */
function asPostgres(argv, deathSignal) {
	const pre = ['setpriv'];
	if (deathSignal) pre.push(`--pdeathsig=${deathSignal}`);
	if (AS_ROOT) pre.push('--reuid=postgres', '--regid=postgres', '--init-groups');
	return [...pre, '--', ...argv];
}

export async function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.unref();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The PIDs of the processes whose parent is pid. */
function childrenOf(pid) {
	const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
	return (r.stdout || '').split('\n').filter(Boolean).map(Number);
}

// --- clean-up at exit ----------------------------------------------------------

const exitHooks = new Set();
let hooked = false;

function runExitHooks() {
	for (const fn of [...exitHooks]) {
		try {
			fn();
		} catch {
			/* best effort: the others still run */
		}
	}
	exitHooks.clear();
}

/**
 * Run fn (synchronously: nothing can wait at exit) when this process exits, on an
 * uncaught error or SIGINT/SIGTERM/SIGHUP too.  Returns a function that cancels it.
 * On a signal, with no other handler for it, the process then dies of it as it would
 * have; beside other handlers (run-pg.mjs), those decide.  The harness uses it for its
 * servers, the clusters here for their postmasters.
 */
export function atExit(fn) {
	if (!hooked) {
		hooked = true;
		process.on('exit', runExitHooks);
		for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
			const onSignal = () => {
				runExitHooks();
				if (process.listenerCount(sig) === 1) {
					process.removeListener(sig, onSignal);
					process.kill(process.pid, sig);
				}
			};
			process.on(sig, onSignal);
		}
	}
	exitHooks.add(fn);
	return () => exitHooks.delete(fn);
}

// --- initdb ------------------------------------------------------------------

/**
 * A fresh, stopped data dir at dataDir (which must not exist; its parent is owned by
 * the postgres user): a copy of `template` when given (much faster than initdb), else initdb.
 */
function initDataDir(dataDir, template) {
	if (template && fs.existsSync(path.join(template, 'PG_VERSION'))) {
		const r = spawnSync('cp', ['-a', template, dataDir], { encoding: 'utf8' });
		if (r.status !== 0) throw new Error(`cp -a ${template} ${dataDir}: ${r.stderr}`);
		return;
	}
	const argv = asPostgres([
		pgBin('initdb'),
		'-D',
		dataDir,
		'--auth=trust',
		'-U',
		'postgres',
		'--no-sync',
		'-E',
		'UTF8',
		'--locale=C.UTF-8',
	]);
	const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
	if (r.error) throw new Error(`initdb: ${r.error.message}`);
	if (r.status !== 0) throw new Error(`initdb failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

/** A directory under os.tmpdir() the postgres user owns. */
function ownedTempDir(prefix) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
	if (AS_ROOT) {
		const { uid, gid } = pgAccount();
		fs.chownSync(dir, uid, gid);
	}
	return dir;
}

/** Make a stopped template data dir once (the runner does); clusters copy it. */
export function makeTemplate() {
	const dir = ownedTempDir('pg-test-template-');
	const dataDir = path.join(dir, 'data');
	try {
		initDataDir(dataDir, null);
	} catch (e) {
		fs.rmSync(dir, { recursive: true, force: true });
		throw e;
	}
	return { dir, dataDir };
}

// --- SQL on a cluster ------------------------------------------------------------

const DBNAME = /^[a-z_][a-z0-9_]*$/;

/** Run SQL through psql (-X -A -t -q, fields split by '|') on database db of the cluster on port. */
function psqlOn(port, db, sqlText, { allowError = false } = {}) {
	const args = ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port)];
	args.push('-U', 'postgres', '-d', db, '-F', '|', '-P', 'footer=off', '-f', '-');
	const r = spawnSync('psql', args, {
		input: sqlText,
		encoding: 'utf8',
		env: { ...process.env, PGCONNECT_TIMEOUT: '5', PGAPPNAME: 'gatehouse-tests' },
		timeout: 60000,
		maxBuffer: 256 * 1024 * 1024,
	});
	if (r.error) throw new Error(`psql: ${r.error.message}`);
	if (allowError) return { status: r.status, stdout: r.stdout, stderr: r.stderr };
	if (r.status !== 0) throw new Error(`psql on ${db} failed (${r.status}) on ${JSON.stringify(sqlText)}:\n${r.stderr}`);
	return r.stdout;
}

/** SQL string literal. */
const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

/** The SQL helpers every cluster handle has, for the cluster on port. */
function sqlHelpers(port) {
	const h = {
		/** A libpq URL for a database on this cluster (TCP, user postgres, no password). */
		dsn: (db = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${encodeURIComponent(db)}`,
		/**
		 * Run SQL on database db; returns psql's stdout (unaligned rows, '|' between fields,
		 * no headers), or with allowError {status, stdout, stderr} instead of throwing.
		 */
		psql: (db, sqlText, o) => psqlOn(port, db, sqlText, o),
		/** CREATE DATABASE name: UTF8 from template1, or from template0 in another encoding (e.g. SQL_ASCII). */
		createDatabase(name, { encoding } = {}) {
			if (!DBNAME.test(name)) throw new Error(`database name ${JSON.stringify(name)}`);
			const enc = encoding ? ` ENCODING ${lit(encoding)} LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0` : '';
			// FILE_COPY: a copy of the template's files and a checkpoint (cheap with fsync off)
			// is a third faster than WAL-logging every page of it
			h.psql('postgres', `CREATE DATABASE ${name}${enc} STRATEGY FILE_COPY;`);
			return name;
		},
		/** DROP DATABASE IF EXISTS name WITH (FORCE): its connections are ended first. */
		dropDatabase(name) {
			if (!DBNAME.test(name)) throw new Error(`database name ${JSON.stringify(name)}`);
			h.psql('postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE);`);
		},
		/** pg_terminate_backend on every connection with this application_name; returns how many. */
		terminateBackend(appName) {
			const q = `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = ${lit(appName)};`;
			return Number(h.psql('postgres', q).trim());
		},
	};
	return h;
}

// --- the cluster ---------------------------------------------------------------

/**
 * Start a cluster.  opts.port (default a free one), opts.template (a stopped data
 * dir to copy instead of running initdb), opts.settings ({name: value} added to the
 * command line), opts.maxConnections (default 400).
 */
export async function startCluster(opts = {}) {
	const dir = ownedTempDir('pg-test-');
	const dataDir = path.join(dir, 'data');
	const socketDir = path.join(dir, 'sock');
	const logFile = path.join(dir, 'postgres.log');
	let child = null;
	let exited = null;
	let log = '';
	let unhook = null;

	const port = opts.port || (await freePort());
	const cluster = {
		...sqlHelpers(port),
		host: '127.0.0.1',
		port,
		dir,
		dataDir,
		socketDir,
		get pid() {
			return child && exited === null ? child.pid : null;
		},
		get running() {
			return child !== null && exited === null;
		},
		/** What the postmaster wrote to stderr (its log) since start. */
		log: () => log,

		/** Start the postmaster on the existing data dir; resolves once it accepts connections. */
		async start() {
			if (cluster.running) throw new Error('cluster already running');
			const settings = {
				listen_addresses: '127.0.0.1',
				fsync: 'off',
				full_page_writes: 'off',
				shared_buffers: '32MB',
				max_connections: String(opts.maxConnections || 400),
				// a shared_buffers slice per connection is small; keep work memory small too
				work_mem: '4MB',
				max_wal_size: '1GB',
				checkpoint_timeout: '30min',
				log_min_messages: 'warning',
				log_min_error_statement: 'panic',
				log_connections: 'off',
				log_checkpoints: 'off',
				...(opts.settings || {}),
			};
			const argv = [pgBin('postgres'), '-D', dataDir, '-k', socketDir, '-p', String(cluster.port)];
			for (const [k, v] of Object.entries(settings)) argv.push('-c', `${k}=${v}`);
			// SIGQUIT (an immediate shutdown) should this process die without stopping it
			const full = asPostgres(argv, 'SIGQUIT');
			log = '';
			exited = null;
			// its own process group: a terminal's Ctrl-C reaches it only through our own shutdown
			const c = spawn(full[0], full.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
			child = c;
			c.stderr.setEncoding('utf8');
			c.stderr.on('data', (d) => {
				log += d;
				if (log.length > 1 << 20) log = log.slice(-(1 << 19));
				try {
					fs.appendFileSync(logFile, d);
				} catch {
					/* the dir is being removed: the log in memory is enough */
				}
			});
			c.exitPromise = new Promise((resolve) => {
				c.on('exit', (code, signal) => {
					if (child === c) exited = { code, signal };
					resolve({ code, signal });
				});
				c.on('error', (err) => {
					if (child === c) exited = { code: null, signal: null, error: err };
					resolve({ code: null, signal: null, error: err });
				});
			});
			if (!unhook) unhook = atExit(() => cluster.killNow());
			const deadline = Date.now() + 30000;
			for (;;) {
				if (exited !== null) throw new Error(`postgres exited at start (${JSON.stringify(exited)}):\n${log}`);
				const r = spawnSync(
					pgBin('pg_isready'),
					['-q', '-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'postgres', '-t', '2'],
					{ encoding: 'utf8' },
				);
				if (r.status === 0) break;
				if (Date.now() > deadline) {
					await cluster.kill();
					throw new Error(`postgres did not accept connections within 30 s:\n${log}`);
				}
				await sleep(50);
			}
			return cluster;
		},

		/** Wait for the postmaster to exit; SIGKILL it after ms.  Resolves its exit status. */
		async waitExit(ms = 30000) {
			if (!child) return null;
			const c = child;
			let timer;
			const res = await Promise.race([
				c.exitPromise,
				new Promise((r) => {
					timer = setTimeout(() => r(null), ms);
				}),
			]);
			clearTimeout(timer);
			if (res === null) {
				try {
					process.kill(c.pid, 'SIGKILL');
				} catch {
					/* gone */
				}
				return c.exitPromise;
			}
			return res;
		},

		/** Fast shutdown (pg_ctl stop -m fast): SIGINT to the postmaster, wait for it. */
		async stop() {
			if (!cluster.running) return null;
			process.kill(child.pid, 'SIGINT');
			return cluster.waitExit();
		},

		/**
		 * Immediate shutdown (pg_ctl stop -m immediate): SIGQUIT, every backend quits
		 * at once without a checkpoint, the next start recovers from the WAL.
		 */
		async stopImmediate() {
			if (!cluster.running) return null;
			process.kill(child.pid, 'SIGQUIT');
			return cluster.waitExit();
		},

		/** SIGKILL the postmaster and its backends. */
		async kill() {
			if (!cluster.running) return null;
			for (const p of [child.pid, ...childrenOf(child.pid)]) {
				try {
					process.kill(p, 'SIGKILL');
				} catch {
					/* gone */
				}
			}
			return cluster.waitExit();
		},

		/**
		 * The PIDs of the postmaster and every process it started (backends, checkpointer...):
		 * a test can SIGSTOP them all to make a database that accepts packets and never answers.
		 */
		processes() {
			if (!cluster.running) return [];
			return [child.pid, ...childrenOf(child.pid)];
		},

		/**
		 * Synchronous last resort for exit handlers: an immediate shutdown (SIGQUIT), SIGKILL
		 * if the postmaster is still there a moment later, and the dir removed.
		 */
		killNow() {
			if (cluster.running) {
				const pid = child.pid;
				// gone or a zombie (nothing reaps children while the process exits)
				const alive = () => {
					try {
						return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
					} catch {
						return false;
					}
				};
				// every backend is a session of its own (setsid): signal each by PID
				const all = [pid, ...childrenOf(pid)];
				const each = (sig) => {
					for (const p of all) {
						try {
							process.kill(p, sig);
						} catch {
							/* gone */
						}
					}
				};
				process.kill(pid, 'SIGQUIT');
				each('SIGCONT'); // a test may have frozen them (SIGSTOP)
				for (let i = 0; i < 20 && alive(); i++) spawnSync('sleep', ['0.05']);
				each('SIGKILL'); // the backends too, whatever became of the postmaster
			}
			if (!process.env.GATEHOUSE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
		},

		/** Stop (fast, SIGKILL if it hangs) and remove the temp dir; resolves the exit status or null. */
		async destroy() {
			let res = null;
			if (cluster.running) {
				process.kill(child.pid, 'SIGINT');
				res = await cluster.waitExit(15000);
			}
			unhook?.();
			if (!process.env.GATEHOUSE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
			return res;
		},
	};

	try {
		initDataDir(dataDir, opts.template || null);
		fs.mkdirSync(socketDir);
		if (AS_ROOT) {
			const { uid, gid } = pgAccount();
			fs.chownSync(socketDir, uid, gid);
			fs.writeFileSync(logFile, '');
			fs.chownSync(logFile, uid, gid);
		}
		await cluster.start();
	} catch (e) {
		unhook?.();
		if (cluster.running) await cluster.kill();
		fs.rmSync(dir, { recursive: true, force: true });
		throw e;
	}
	return cluster;
}

/**
 * Where the runner's shared cluster is (GATEHOUSE_TEST_PG: JSON {host, port, template}),
 * or null on a SQLite run.
 */
export function sharedClusterInfo() {
	const v = process.env.GATEHOUSE_TEST_PG;
	if (!v) return null;
	const info = JSON.parse(v);
	if (!info.port) throw new Error(`GATEHOUSE_TEST_PG without a port: ${v}`);
	return info;
}

/**
 * A handle on a cluster that is already running (the runner's), with the same
 * dsn/psql/createDatabase/dropDatabase/terminateBackend as startCluster's; it
 * cannot be stopped from here.
 */
export function attachCluster(info) {
	return {
		...sqlHelpers(info.port),
		host: '127.0.0.1',
		port: info.port,
		template: info.template || null,
		shared: true,
	};
}
