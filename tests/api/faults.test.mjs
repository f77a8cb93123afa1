// The database goes away and comes back (issue 13): PostgreSQL stopped at once
// (pg_ctl stop -m immediate) while sessions, logins and signups flow gets only
// 503s with Retry-After from gatehouse (never a 500, a reset connection or an
// answer slower than GATEHOUSE_TIMEOUT) and /healthz 503; started again, service
// resumes within a few seconds without a restart of gatehouse, and nothing
// answered before is lost (users, sessions, a mail queued before the stop).  A
// killed LISTEN connection leaves revocation immediate (the cache is bypassed
// until the listener is back), and killed pool connections are re-opened.
//
// PostgreSQL only, on a private cluster: these tests stop it.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
	PG,
	SLOW,
	Client,
	startServer,
	startInstance,
	createUser,
	csrfClient,
	loggedIn,
	uniqueEmail,
	sha256hex,
	q,
	sleep,
} from './harness.mjs';
import { startCluster } from './pg.mjs';
import { start as startSmtp } from './smtp.mjs';

const PW = 'faults harbour lantern 42';
const TIMEOUT_S = 5;
const REVOCATION_BOUND_MS = 250 * SLOW;
const RECOVERY_BOUND_MS = 5000 * SLOW;

let pg, smtp, A, B;

before(async () => {
	pg = await startCluster({ template: PG?.template });
	smtp = await startSmtp();
	A = await startServer({
		pg,
		env: {
			GATEHOUSE_TIMEOUT: String(TIMEOUT_S),
			GATEHOUSE_SESSION_CACHE_TTL: '5',
			GATEHOUSE_EMAIL: `smtp://127.0.0.1:${smtp.port}`,
			GATEHOUSE_EMAIL_TLS: 'off',
			GATEHOUSE_MAIL_POLL: '1',
			// the queued mail's retry falls after the restart (see below)
			GATEHOUSE_MAIL_RETRY: '5',
			GATEHOUSE_MAIL_LEASE: '2',
			GATEHOUSE_LOGIN_IP_LIMIT: '100000',
			GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '100000',
			GATEHOUSE_ACCOUNT_IP_LIMIT: '100000',
			GATEHOUSE_ACCOUNT_ADDRESS_LIMIT: '100000',
		},
	});
	B = await startInstance(A);
});

after(async () => {
	await B?.stop();
	await A?.stop();
	await smtp?.stop();
	await pg?.destroy();
});

/** A client of `server` holding the same cookies as `c`. */
function sameBrowser(server, c) {
	const other = new Client(server.origin);
	for (const [k, v] of c.jar) other.setCookie(k, v);
	return other;
}

const healthz = (server) =>
	fetch(server.url('/healthz'), { signal: AbortSignal.timeout(TIMEOUT_S * 1000 + 2000) }).then(async (r) => ({
		status: r.status,
		retryAfter: r.headers.get('retry-after'),
		text: await r.text(),
	}));

/**
 * Run `fn` in a loop until stop() and record each outcome: {what, start, end, status,
 * retryAfter, json, text, error}.  A thrown error (connection reset, refused, a fetch
 * timeout) is recorded, never thrown.
 */
function flow(what, fn, pause = 20) {
	const results = [];
	let running = true;
	const done = (async () => {
		while (running) {
			const start = performance.now();
			try {
				const r = await fn();
				results.push({
					what,
					start,
					end: performance.now(),
					status: r.status,
					retryAfter: r.headers.get('retry-after'),
					json: r.json,
					text: r.text,
					email: r.email,
				});
			} catch (e) {
				results.push({ what, start, end: performance.now(), error: `${e.name}: ${e.message} ${e.cause ?? ''}` });
			}
			await sleep(pause);
		}
	})();
	return {
		results,
		async stop() {
			running = false;
			await done;
		},
	};
}

/** A Client whose requests give up after the server's own timeout and a margin. */
function timed(c) {
	const request = c.request.bind(c);
	c.request = (method, p, opts = {}) =>
		Promise.race([
			request(method, p, opts),
			sleep(TIMEOUT_S * 1000 + 3000).then(() => {
				throw new Error(`no answer to ${method} ${p} within ${TIMEOUT_S + 3} s`);
			}),
		]);
	return c;
}

const describeResult = (r) =>
	`${r.what} at ${Math.round(r.start)}: ${r.error ?? `${r.status} ${r.text?.slice(0, 120)}`} (${Math.round(r.end - r.start)} ms)`;

describe('PostgreSQL stopped at once mid-run, then started again', () => {
	test('only 503s with Retry-After while it is down, service back within seconds, nothing lost', async (t) => {
		// before: a user, its sessions on both instances, a token
		const email = createUser(A, uniqueEmail('before'), PW);
		const sessA = timed(await loggedIn(A, email, PW));
		const sessB = timed(sameBrowser(B, sessA));
		const made = await sessA.post('/api/tokens/', { json: { name: 'faults', password: PW } });
		assert.equal(made.status, 201, made.text);
		const token = made.json.key;

		// a mail queued before the stop and not yet delivered: the SMTP server turns the first
		// attempt away (451), the mailer will retry GATEHOUSE_MAIL_RETRY (5 s) later, after the restart
		const queuedEmail = uniqueEmail('queued');
		smtp.failNext(1, 451);
		const queued = await (await csrfClient(A)).post('/api/signup/', { json: { email: queuedEmail, password: PW } });
		assert.equal(queued.status, 201, queued.text);
		const t0 = performance.now();
		while (!smtp.rejected.some((r) => r.to.includes(queuedEmail.toLowerCase()))) {
			assert.ok(performance.now() - t0 < 10000 * SLOW, 'the mailer never tried the queued mail');
			await sleep(20);
		}

		// the flow: session reads on A and B, logins, signups
		const signed = [];
		const flows = [
			flow('profile A', () => sessA.get('/api/users/profile/')),
			flow('profile B', () => sessB.get('/api/users/profile/')),
			flow('token A', () =>
				timed(new Client(A.origin)).get('/api/users/profile/', { headers: { Authorization: `Token ${token}` } }),
			),
			flow('login B', async () => {
				const c = timed(new Client(B.origin));
				const r = await c.get('/api/login-set-cookie/');
				if (r.status !== 200) return r;
				return c.post('/api/login/', { json: { email, password: PW } });
			}),
			flow('signup A', async () => {
				const c = timed(new Client(A.origin));
				const r = await c.get('/api/login-set-cookie/');
				if (r.status !== 200) return r;
				const e = uniqueEmail('during');
				const s = await c.post('/api/signup/', { json: { email: e, password: PW } });
				signed.push({ email: e, status: s.status });
				return { ...s, email: e };
			}),
		];
		await sleep(800);

		assert.equal(
			smtp.count((x) => x.to.includes(queuedEmail.toLowerCase())),
			0,
			'the queued mail is still queued',
		);
		const stoppedAt = performance.now();
		const stoppedWall = Date.now();
		await pg.stopImmediate();
		const downSince = performance.now();
		t.diagnostic(`PostgreSQL stopped (immediate) in ${Math.round(downSince - stoppedAt)} ms`);

		// /healthz says so on both instances (give the instances a moment to notice)
		for (const [name, s] of [
			['A', A],
			['B', B],
		]) {
			let h;
			const until = performance.now() + 3000 * SLOW;
			do {
				h = await healthz(s);
				if (h.status === 503) break;
				await sleep(50);
			} while (performance.now() < until);
			assert.equal(h.status, 503, `/healthz on ${name} while the database is down: ${h.status} ${h.text}`);
		}
		await sleep(2500);

		const startedAt = performance.now();
		const startedWall = Date.now();
		await pg.start();
		const upAt = performance.now();
		t.diagnostic(`PostgreSQL back (crash recovery) in ${Math.round(upAt - startedAt)} ms`);

		// service resumes by itself: a login and a session read on each instance
		let recoveredAt = null;
		while (recoveredAt === null) {
			const okA = (await healthz(A)).status === 200;
			const okB = (await healthz(B)).status === 200;
			const pa = await sessA.get('/api/users/profile/').catch(() => ({ status: 0 }));
			const pb = await sessB.get('/api/users/profile/').catch(() => ({ status: 0 }));
			if (okA && okB && pa.status === 200 && pb.status === 200) recoveredAt = performance.now();
			else {
				assert.ok(
					performance.now() - upAt < RECOVERY_BOUND_MS,
					`not back ${RECOVERY_BOUND_MS} ms after PostgreSQL was: healthz A ${okA} B ${okB}, profile ${pa.status} ${pb.status}`,
				);
				await sleep(50);
			}
		}
		t.diagnostic(`gatehouse served again ${Math.round(recoveredAt - upAt)} ms after PostgreSQL accepted connections`);
		// each thread's connection comes back on its own next use, after at most one backoff
		// (2 s at most): let every flow run past that, until each has 3 answers served in a
		// row at its end (a slow machine makes fewer requests) or the bound has passed
		const streak = (f) => {
			let n = 0;
			for (let i = f.results.length - 1; i >= 0 && f.results[i].start > upAt && f.results[i].status < 300; i--) n++;
			return n;
		};
		for (;;) {
			const now = performance.now();
			if (now > upAt + 3000 && flows.every((f) => streak(f) >= 3)) break;
			if (now > upAt + RECOVERY_BOUND_MS + 3000) break;
			await sleep(100);
		}
		for (const f of flows) await f.stop();
		const results = flows.flatMap((f) => f.results);

		// every answer: no transport error, no 500, in time; a 503 carries Retry-After and a detail
		const errors = results.filter((r) => r.error);
		assert.deepEqual(errors.map(describeResult), [], 'no request failed without an HTTP answer');
		for (const r of results) {
			assert.ok(r.end - r.start < TIMEOUT_S * 1000, `slower than GATEHOUSE_TIMEOUT: ${describeResult(r)}`);
			assert.ok([200, 201, 503].includes(r.status), `unexpected status: ${describeResult(r)}`);
			if (r.status === 503) {
				assert.ok(Number(r.retryAfter) >= 1, `503 without Retry-After: ${describeResult(r)}`);
				assert.equal(typeof r.json?.detail, 'string', `503 without a detail: ${describeResult(r)}`);
			}
		}
		const before_ = results.filter((r) => r.end < stoppedAt);
		const down = results.filter((r) => r.start > downSince + 1000 && r.end < startedAt);
		const afterUp = results.filter((r) => r.start > upAt);
		t.diagnostic(
			`${results.length} requests: ${before_.length} before the stop, ${down.length} while down, ${afterUp.length} after recovery`,
		);
		assert.ok(before_.length > 0 && down.length > 0 && afterUp.length > 0, 'requests in every phase');
		assert.deepEqual(before_.filter((r) => r.status >= 300).map(describeResult), [], 'all served before the stop');
		assert.deepEqual(
			down.filter((r) => r.status !== 503).map(describeResult),
			[],
			'only 503 while the database is down (the cache is bypassed without its LISTEN connection)',
		);
		for (const what of ['profile A', 'profile B', 'token A', 'login B', 'signup A'])
			assert.ok(
				down.some((r) => r.what === what),
				`${what}: a request while down`,
			);
		// after the restart each flow recovers within the bound and stays recovered
		for (const f of flows) {
			const mine = afterUp.filter((r) => r.what === f.results[0]?.what);
			const what = mine[0]?.what;
			const lastFailure = mine.findLastIndex((r) => r.status >= 300);
			const recovered = lastFailure < 0 ? mine[0]?.start : mine[lastFailure + 1]?.start;
			assert.ok(recovered !== undefined, `${what}: never served again: ${mine.map(describeResult).join('\n')}`);
			assert.ok(mine.length - lastFailure - 1 >= 3, `${what}: fewer than 3 answers served at the end`);
			t.diagnostic(`${what}: served again ${Math.round(recovered - upAt)} ms after PostgreSQL was back`);
			assert.ok(
				recovered - upAt < RECOVERY_BOUND_MS,
				`${what}: served again only ${Math.round(recovered - upAt)} ms after PostgreSQL was back`,
			);
		}

		// nothing lost: the session and token from before, the user, every signup answered 201
		assert.equal((await sessA.get('/api/users/profile/')).status, 200, 'the session made before, on A');
		assert.equal((await sessB.get('/api/users/profile/')).status, 200, 'the session made before, on B');
		const tr = await fetch(A.url('/api/users/profile/'), { headers: { Authorization: `Token ${token}` } });
		assert.equal(tr.status, 200, 'the token made before');
		await loggedIn(B, email, PW);
		const created = signed.filter((s) => s.status === 201).map((s) => s.email.toLowerCase());
		const refused = signed.filter((s) => s.status !== 201).map((s) => s.email.toLowerCase());
		assert.ok(created.length > 0 && refused.length > 0, `signups: ${created.length} made, ${refused.length} refused`);
		const inList = (xs) => xs.map(q).join(', ');
		const have = A.sqlRows(`SELECT email FROM users WHERE email IN (${inList([...created, ...refused])})`).map(
			(r) => r.email,
		);
		assert.deepEqual(
			created.filter((e) => !have.includes(e)),
			[],
			'every signup answered 201 has its account',
		);
		assert.deepEqual(
			refused.filter((e) => have.includes(e)),
			[],
			'no signup answered 503 made an account (a failed write is reported as failed)',
		);

		// the mail queued before the stop arrives after the restart, once; every 201 signup's mail arrives once
		const m = await smtp.waitFor((x) => x.to.includes(queuedEmail.toLowerCase()), 20000 * SLOW);
		assert.ok(m.receivedAt >= startedWall, 'delivered after the restart');
		for (const e of created) await smtp.waitFor((x) => x.to.includes(e), 20000 * SLOW);
		await sleep(3000 * SLOW);
		const copies = [queuedEmail.toLowerCase(), ...created].map((e) => ({
			e,
			at: smtp.filter((x) => x.to.includes(e)).map((x) => x.receivedAt - stoppedWall),
		}));
		const mailLog = (e) => {
			const ids = A.sqlRows(`SELECT id FROM outbox WHERE recipient = ${q(e)}`).map((r) => r.id);
			const lines = [];
			for (const [name, s] of [
				['A', A],
				['B', B],
			])
				for (const l of s.logLines())
					if (ids.some((id) => new RegExp(`^mail ${id}\\b`).test(l.msg || '')))
						lines.push(`${name} ${((l.ts * 1000 - stoppedWall) | 0) + ' ms'}: ${l.msg}`);
			return `outbox ids ${ids}; ${lines.join('; ')}`;
		};
		for (const c of copies.filter((x) => x.at.length !== 1))
			t.diagnostic(`${c.e}: ${c.at.length} copies, received at ${c.at.join(', ')} ms from the stop (${mailLog(c.e)})`);
		// at least once, and once unless the first copy went out while the database was down: a
		// message the mailer had leased before the stop is sent, its "sent" mark cannot be written,
		// and after the restart its lease runs out and it goes again (at-least-once across a crash
		// of the database between the send and the mark)
		const downWindow = [-200, startedWall - stoppedWall];
		for (const c of copies) {
			assert.ok(c.at.length >= 1, `${c.e}: lost`);
			const inFlight = c.at[0] >= downWindow[0] && c.at[0] <= downWindow[1];
			assert.ok(
				c.at.length === 1 || (c.at.length === 2 && inFlight),
				`${c.e}: ${c.at.length} copies at ${c.at} ms from the stop (the database was down from 0 to ${downWindow[1]} ms)`,
			);
		}
	});
});

describe('lost connections', () => {
	test('the LISTEN connection killed: revocation from B is still immediate on A', async (t) => {
		const email = createUser(A, uniqueEmail('listen'), PW);
		const listeners = () =>
			Number(
				pg
					.psql(
						'postgres',
						`SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gatehouse-listen' AND datname = ${q(A.pgdb.name)};`,
					)
					.trim(),
			);
		assert.equal(listeners(), 2, 'one LISTEN connection per instance');
		for (const pause of [0, 200, 1500]) {
			const a = await loggedIn(A, email, PW);
			for (let i = 0; i < 3; i++) assert.equal((await a.get('/api/users/profile/')).status, 200, 'warm on A');
			const killed = pg.terminateBackend('gatehouse-listen');
			assert.ok(killed >= 2, `terminated ${killed} LISTEN connections`);
			if (pause) await sleep(pause);
			const cookie = a.cookie('sessionid');
			const r = await sameBrowser(B, a).post('/api/logout/');
			const answeredAt = performance.now();
			assert.equal(r.status, 200, r.text);
			let accepted = 0;
			for (;;) {
				const p = await a.get('/api/users/profile/', { cookies: `sessionid=${cookie}` });
				const delay = performance.now() - answeredAt;
				if (p.status === 401) {
					t.diagnostic(`listener killed ${pause} ms before: refused ${delay.toFixed(1)} ms after the logout`);
					break;
				}
				assert.equal(p.status, 200, `${p.status} ${p.text}`);
				accepted++;
				assert.ok(
					delay < REVOCATION_BOUND_MS,
					`listener killed ${pause} ms before the logout: still accepted after ${delay.toFixed(1)} ms (${accepted} requests)`,
				);
			}
		}
		// the listeners come back by themselves
		const t0 = performance.now();
		while (listeners() < 2) {
			assert.ok(performance.now() - t0 < 10000 * SLOW, `only ${listeners()} LISTEN connections back`);
			await sleep(100);
		}
	});

	test('the LISTEN connection killed: the cache is flushed, a change made without a notice is seen at once', async () => {
		const email = createUser(A, uniqueEmail('flush'), PW);
		const a = await loggedIn(A, email, PW);
		for (let i = 0; i < 3; i++) assert.equal((await a.get('/api/users/profile/')).status, 200, 'warm on A');
		assert.ok(pg.terminateBackend('gatehouse-listen') >= 2);
		// session_replication_role=replica: no trigger, no NOTIFY; only the flush can make A see it
		A.sql(
			`SET session_replication_role = replica; DELETE FROM sessions WHERE key_hash = ${q(sha256hex(a.cookie('sessionid')))}`,
		);
		const r = await a.get('/api/users/profile/');
		assert.equal(r.status, 401, `${r.status} ${r.text}`);
	});

	test('every connection of the instances killed: the next requests reconnect, none is a 500', async () => {
		const email = createUser(A, uniqueEmail('reconnect'), PW);
		const a = await loggedIn(A, email, PW);
		const b = sameBrowser(B, a);
		const killed = Number(
			pg
				.psql(
					'postgres',
					`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${q(A.pgdb.name)} AND pid <> pg_backend_pid();`,
				)
				.trim(),
		);
		assert.ok(killed >= 2, `terminated ${killed} connections`);
		const statuses = [];
		const t0 = performance.now();
		let ok = 0;
		while (ok < 10) {
			for (const c of [a, b]) {
				const r = await c.get('/api/users/profile/');
				assert.ok([200, 503].includes(r.status), `${r.status} ${r.text}`);
				if (r.status === 503) assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After');
				statuses.push(r.status);
				ok = r.status === 200 ? ok + 1 : 0;
			}
			assert.ok(performance.now() - t0 < 5000 * SLOW, `not back: ${statuses}`);
		}
		const c = await csrfClient(A);
		const r = await c.post('/api/login/', { json: { email, password: PW } });
		assert.equal(r.status, 200, r.text);
	});
});

describe('PostgreSQL stops answering (every process of it frozen: packets acknowledged, nothing answered)', () => {
	test('requests answer 503 within GATEHOUSE_TIMEOUT, /healthz too; thawed, service resumes', async (t) => {
		const email = createUser(A, uniqueEmail('frozen'), PW);
		const a = timed(await loggedIn(A, email, PW));
		const pids = pg.processes();
		assert.ok(pids.length >= 2, `PostgreSQL processes: ${pids}`);
		// should this process die while they are stopped, pg.mjs's exit hook continues and kills them
		const frozenAt = performance.now();
		for (const p of pids) process.kill(p, 'SIGSTOP');
		let results;
		try {
			const timedFetch = async (what, p, init = {}) => {
				const start = performance.now();
				try {
					const r = await fetch(A.url(p), { ...init, signal: AbortSignal.timeout(TIMEOUT_S * 1000 + 3000) });
					const text = await r.text();
					return {
						what,
						status: r.status,
						retryAfter: r.headers.get('retry-after'),
						text,
						ms: performance.now() - start,
					};
				} catch (e) {
					return { what, error: `${e.name}: ${e.message}`, ms: performance.now() - start };
				}
			};
			const login = timed(await csrfClient(A));
			results = await Promise.all([
				timedFetch('profile', '/api/users/profile/', { headers: { Cookie: a.cookieHeader() } }),
				timedFetch('healthz', '/healthz'),
				login.post('/api/login/', { json: { email, password: PW } }).then(
					(r) => ({
						what: 'login',
						status: r.status,
						retryAfter: r.headers.get('retry-after'),
						text: r.text,
						ms: r.elapsed,
					}),
					(e) => ({ what: 'login', error: e.message, ms: performance.now() - frozenAt }),
				),
			]);
		} finally {
			for (const p of pids) {
				try {
					process.kill(p, 'SIGCONT');
				} catch {
					/* gone */
				}
			}
		}
		for (const r of results)
			t.diagnostic(`${r.what}: ${r.error ?? `${r.status} ${r.text?.slice(0, 80)}`} in ${Math.round(r.ms)} ms`);
		for (const r of results) {
			assert.ok(!r.error, `${r.what}: no answer within ${TIMEOUT_S + 3} s (${r.error})`);
			assert.ok(
				r.ms < TIMEOUT_S * 1000 + 1000,
				`${r.what}: answered after ${Math.round(r.ms)} ms, GATEHOUSE_TIMEOUT is ${TIMEOUT_S} s`,
			);
			if (r.what !== 'profile' || r.status !== 200) {
				assert.equal(r.status, 503, `${r.what}: ${r.status} ${r.text}`);
				if (r.what !== 'healthz') assert.ok(Number(r.retryAfter) >= 1, `${r.what}: Retry-After`);
			}
		}
		// thawed: served again within the recovery bound
		const thawed = performance.now();
		for (;;) {
			const p = await a.get('/api/users/profile/').catch(() => ({ status: 0 }));
			const h = await healthz(A);
			if (p.status === 200 && h.status === 200) break;
			assert.ok(performance.now() - thawed < RECOVERY_BOUND_MS, `not back: profile ${p.status}, healthz ${h.status}`);
			await sleep(50);
		}
		await loggedIn(A, email, PW);
	});
});
