// Prometheus metrics (README "Metrics"): the separate listener
// (GATEHOUSE_METRICS_LISTEN) and the bearer-token /metrics on the public port,
// scraped with a real Prometheus text parser; the counters move with the
// requests these tests make, and no session, token or address ever shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';

import {
	startServer,
	csrfClient,
	loggedIn,
	createUser,
	createToken,
	uniqueEmail,
	freePort,
	q,
	SLOW,
} from './harness.mjs';
import { startWithMetrics, scrape, scrapeUntil, readExposition, METRICS_TYPE } from './metrics-harness.mjs';
import {
	newUser,
	signedIn,
	enableTotp,
	pendingLogin,
	totpStep,
	assertCompleted,
	wrongCode,
	PW,
} from './mfa-harness.mjs';
import { startSocial, githubUser, socialLogin } from './social-harness.mjs';
import { startGithub } from '../providers/index.mjs';

const REQUESTS = 'gatehouse_http_requests_total';
const LATENCY = 'gatehouse_http_request_duration_seconds';
const LOGINS = 'gatehouse_logins_total';

let ctx; // {server, providers, ...} from startSocial
let server;
// every secret the tests handle: none may appear in a scrape
const secrets = new Set();
const keep = (...xs) => xs.filter(Boolean).forEach((x) => secrets.add(String(x)));

before(async () => {
	const github = await startGithub({ clients: [{ client_id: 'gh-client-id', client_secret: 'gh-client-secret' }] });
	const providers = {
		github,
		byName: { github },
		env: () => github.gatehouseEnv(),
		allowOrigin: (origin) => github.allowOrigin(origin),
		stop: () => github.stop(),
	};
	// nothing listens there: every delivery fails and the mail stays in the outbox
	const deadSmtp = await freePort();
	ctx = await startSocial({
		providers,
		env: {
			GATEHOUSE_EMAIL: `smtp://127.0.0.1:${deadSmtp}`,
			GATEHOUSE_EMAIL_TLS: 'off',
			GATEHOUSE_MAIL_POLL: '1',
			GATEHOUSE_MAIL_RETRY: '1',
			GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '3',
			GATEHOUSE_LOGIN_FAILURE_QUANTUM_MS: '0',
			GATEHOUSE_SESSION_CACHE_TTL: '0',
		},
		start: async (env) => ({ server: await startWithMetrics({ env }) }),
	});
	// startSocial stops the providers it was given only when it started them
	const stop = ctx.stop;
	ctx.stop = async () => {
		try {
			await stop();
		} finally {
			await github.stop();
		}
	};
	server = ctx.server;
});

after(async () => {
	await ctx?.stop();
});

/** After − before for one series. */
const delta = (a, b, name, labels) => b.value(name, labels) - a.value(name, labels);

test('requests are counted by route pattern, method and status, with a latency histogram per route', async () => {
	const c = await loggedIn(server, createUser(server, uniqueEmail('req'), PW), PW);
	keep(c.cookie('sessionid'), c.cookie('csrftoken'));
	const a = await scrape(server.metricsUrl);
	for (let i = 0; i < 3; i++) assert.equal((await c.get('/api/login-set-cookie/')).status, 200);
	assert.equal((await c.delete('/api/tokens/987654321/')).status, 404);
	assert.equal((await c.get('/api/sessions/', { cookies: false })).status, 401);
	assert.equal((await c.get('/api/no-such-thing/')).status, 404);
	assert.equal((await c.get('/robots.txt')).status, 200);
	const b = await scrape(server.metricsUrl);

	const route = (r, method, status) => delta(a, b, REQUESTS, { route: r, method, status });
	assert.equal(route('/api/login-set-cookie/', 'GET', '200'), 3);
	assert.equal(route('/api/tokens/{id}/', 'DELETE', '404'), 1, 'the route pattern, not the path');
	assert.equal(route('/api/sessions/', 'GET', '401'), 1);
	assert.equal(route('unmatched', 'GET', '404'), 1);
	assert.equal(route('static', 'GET', '200'), 1);
	const h = (r) => b.histogram(LATENCY, { route: r }).count - (a.histogram(LATENCY, { route: r })?.count ?? 0);
	assert.equal(h('/api/login-set-cookie/'), 3, 'the latency histogram counts each answer');
	assert.equal(h('/api/tokens/{id}/'), 1);
	assert.ok(b.histogram(LATENCY, { route: '/api/login-set-cookie/' }).sum > 0, 'latency sum');
	// no raw path ever: every route label is a pattern of the table or one of the two fixed ones
	assert.ok(!b.text.includes('987654321'), 'the id in the path is not a label');
	assert.ok(!b.text.includes('no-such-thing'), 'an unmatched path is not a label');
	for (const s of b.samples.filter((x) => x.labels.route !== undefined))
		assert.match(s.labels.route, /^(static|unmatched|\/[a-z0-9/{}_-]*)$/, `route label ${s.labels.route}`);
	// the scrapes themselves are not requests of the public port
	assert.equal(delta(a, b, REQUESTS, { route: 'unmatched', method: 'GET', status: '200' }), 0);
});

test('logins are counted by outcome: success, bad credentials, throttled, inactive, unverified, second step pending and done', async () => {
	const ok = createUser(server, uniqueEmail('ok'), PW);
	const inactive = createUser(server, uniqueEmail('inactive'), PW);
	server.sql(`UPDATE users SET is_active = 0 WHERE email = ${q(inactive)}`);
	const unverified = createUser(server, uniqueEmail('unverified'), PW);
	server.sql(`UPDATE users SET email_verified = 0 WHERE email = ${q(unverified)}`);
	const guessed = createUser(server, uniqueEmail('guessed'), PW);
	const mfaUser = newUser(ctx, 'metrics-mfa');
	const setup = await signedIn(ctx, mfaUser);
	await enableTotp(setup, mfaUser);
	keep(ok, inactive, unverified, guessed, mfaUser.email, mfaUser.secret, ...mfaUser.recoveryCodes);
	keep(setup.cookie('sessionid'), setup.cookie('csrftoken'));

	const a = await scrape(server.metricsUrl);
	const c = await csrfClient(server);
	const login = (email, password) => c.post('/api/login/', { json: { email, password } });
	assert.equal((await login(ok, PW)).status, 200);
	keep(c.cookie('sessionid'));
	assert.equal((await login(ok, 'not the password 1')).status, 400);
	assert.equal((await login(uniqueEmail('nobody'), PW)).status, 400);
	assert.equal((await login(inactive, PW)).status, 400);
	assert.equal((await login(unverified, PW)).status, 400);
	// the account limit is 3 failed attempts: the fourth is refused before any hash
	for (let i = 0; i < 3; i++) assert.equal((await login(guessed, `wrong guess ${i}`)).status, 400);
	assert.equal((await login(guessed, 'wrong guess 4')).status, 429);
	// password right, second factor asked; then a wrong code and a right one
	const { client: m } = await pendingLogin(ctx, mfaUser);
	keep(m.cookie('gatehouse_mfa'));
	const wrong = await m.post('/api/mfa/authenticate/', { json: { method: 'totp', code: wrongCode(mfaUser.secret) } });
	assert.equal(wrong.status, 400, wrong.text);
	const done = await totpStep(m, mfaUser);
	assertCompleted(done, m, 'second step');
	keep(m.cookie('sessionid'));
	const b = await scrape(server.metricsUrl);

	const n = (method, outcome) => delta(a, b, LOGINS, { method, outcome });
	assert.equal(n('password', 'success'), 1);
	assert.equal(n('password', 'bad_credentials'), 5, 'wrong password, unknown address, three guesses');
	assert.equal(n('password', 'inactive'), 1);
	assert.equal(n('password', 'unverified'), 1);
	assert.equal(n('password', 'throttled'), 1);
	assert.equal(n('password', 'mfa_pending'), 1);
	assert.equal(n('password', 'unavailable'), 0);
	assert.equal(n('second_factor', 'bad_credentials'), 1);
	assert.equal(n('second_factor', 'success'), 1);
	// every combination is there from the start (a rate over a series that appears late misses its first step)
	for (const method of ['password', 'passkey', 'second_factor'])
		for (const outcome of [
			'success',
			'bad_credentials',
			'throttled',
			'inactive',
			'unverified',
			'mfa_pending',
			'unavailable',
		])
			assert.ok(
				b.samples.some((s) => s.name === LOGINS && s.labels.method === method && s.labels.outcome === outcome),
				`${method}/${outcome}`,
			);
	// the hash pool ran those password checks: their waits are in its histogram
	const waits =
		b.histogram('gatehouse_hashpool_wait_seconds').count - a.histogram('gatehouse_hashpool_wait_seconds').count;
	assert.ok(waits >= 9, `hash-pool waits observed: ${waits}`);
});

test('live sessions go up on login and down on logout', async () => {
	const email = createUser(server, uniqueEmail('live'), PW);
	keep(email);
	const a = await scrape(server.metricsUrl);
	const c = await loggedIn(server, email, PW);
	keep(c.cookie('sessionid'), c.cookie('csrftoken'));
	const b = await scrape(server.metricsUrl);
	assert.equal(b.value('gatehouse_sessions_live') - a.value('gatehouse_sessions_live'), 1);
	assert.equal((await c.post('/api/logout/')).status, 200);
	const d = await scrape(server.metricsUrl);
	assert.equal(d.value('gatehouse_sessions_live'), a.value('gatehouse_sessions_live'));
	// an expired session is not live (the hourly purge has not run yet)
	const e = await loggedIn(server, email, PW);
	keep(e.cookie('sessionid'));
	server.sql(`UPDATE sessions SET expires_at = 1 WHERE user_id = (SELECT id FROM users WHERE email = ${q(email)})`);
	assert.equal((await scrape(server.metricsUrl)).value('gatehouse_sessions_live'), a.value('gatehouse_sessions_live'));
});

test('with the SMTP server unreachable the outbox fills and delivery failures are counted under smtp', async () => {
	const email = createUser(server, uniqueEmail('mail'), PW);
	keep(email);
	const a = await scrape(server.metricsUrl);
	const c = await csrfClient(server);
	assert.equal((await c.post('/api/password/reset/', { json: { email } })).status, 200);
	const queued = await scrapeUntil(
		server.metricsUrl,
		(s) => s.value('gatehouse_mail_outbox_depth') > a.value('gatehouse_mail_outbox_depth'),
		5000 * SLOW,
	);
	assert.ok(
		queued.value('gatehouse_mail_outbox_depth') > a.value('gatehouse_mail_outbox_depth'),
		'the reset mail is in the outbox',
	);
	const failed = await scrapeUntil(
		server.metricsUrl,
		(s) => delta(a, s, 'gatehouse_mail_delivery_failures_total', { transport: 'smtp' }) >= 1,
		15000 * SLOW,
	);
	assert.ok(
		delta(a, failed, 'gatehouse_mail_delivery_failures_total', { transport: 'smtp' }) >= 1,
		'a failed delivery',
	);
	assert.equal(delta(a, failed, 'gatehouse_mail_delivery_failures_total', { transport: 'console' }), 0);
	// undelivered, it stays queued: the depth does not drop while the server is away
	assert.ok(failed.value('gatehouse_mail_outbox_depth') >= queued.value('gatehouse_mail_outbox_depth'));
	const rows = server.sqlRows('SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL');
	assert.equal(Number(rows[0].n), failed.value('gatehouse_mail_outbox_depth'), 'depth = unsent rows');
});

test('a provider error is counted for that provider', async () => {
	const a = await scrape(server.metricsUrl);
	assert.ok(
		a.samples.some((s) => s.name === 'gatehouse_social_provider_errors_total' && s.labels.provider === 'github'),
		'the configured provider is a series from the start',
	);
	const acct = githubUser(ctx);
	keep(acct.email, acct.login);
	// a code the provider never issued: its token endpoint refuses the exchange
	const r = await socialLogin(ctx, 'github', acct.login, {
		body: (b) => ({ code: `forged-${randomBytes(8).toString('hex')}`, state: b.state }),
	});
	assert.equal(r.res.status, 400, r.res.text);
	keep(r.body.code, r.body.state, r.client.cookie('csrftoken'));
	const b = await scrape(server.metricsUrl);
	assert.equal(delta(a, b, 'gatehouse_social_provider_errors_total', { provider: 'github' }), 1);
	// a login that works adds none
	const ok = githubUser(ctx);
	const good = await socialLogin(ctx, 'github', ok.login);
	assert.equal(good.res.status, 200, good.res.text);
	keep(ok.email, good.client.cookie('sessionid'));
	assert.equal(
		delta(b, await scrape(server.metricsUrl), 'gatehouse_social_provider_errors_total', { provider: 'github' }),
		0,
	);
});

test('no session id, token, address or secret ever appears in a scrape', async () => {
	const email = createUser(server, uniqueEmail('tok'), PW);
	const token = createToken(server, email);
	keep(email, token);
	const t = await fetch(server.url('/api/users/profile/'), { headers: { Authorization: `Token ${token}` } });
	assert.equal(t.status, 200);
	const s = await scrape(server.metricsUrl);
	assert.ok(secrets.size > 10, `secrets gathered: ${secrets.size}`);
	for (const x of secrets) assert.ok(!s.text.includes(x), `a scrape shows ${x.slice(0, 6)}...`);
	assert.ok(!/@/.test(s.text), 'no address at all');
	// the store was reachable all along
	assert.equal(s.value('gatehouse_store_errors_total'), 0);
	assert.equal(s.family('gatehouse_store_errors_total').type, 'COUNTER');
});

test('the metrics listener answers only GET and HEAD /metrics', async () => {
	const base = `http://127.0.0.1:${server.metricsPort}`;
	for (const p of ['/', '/metrics/', '/api/login/', '/healthz', '/metricsx'])
		assert.equal((await fetch(base + p)).status, 404, p);
	const post = await fetch(base + '/metrics', { method: 'POST', body: 'x' });
	assert.equal(post.status, 405);
	assert.equal(post.headers.get('allow'), 'GET, HEAD');
	const head = await fetch(base + '/metrics', { method: 'HEAD' });
	assert.equal(head.status, 200);
	assert.equal(head.headers.get('content-type'), METRICS_TYPE);
	assert.equal((await head.text()).length, 0);
	// no session, no cookie, no CSRF: a cookie or an Authorization sent is ignored
	const withCookie = await fetch(base + '/metrics', {
		headers: { Cookie: 'sessionid=x', Authorization: 'Bearer nope' },
	});
	assert.equal(withCookie.status, 200);
	assert.equal(withCookie.headers.get('set-cookie'), null);
	// the public port still has no /metrics (no token configured)
	const pub = await fetch(server.url('/metrics'));
	assert.equal(pub.status, 404);
	assert.ok(!(await pub.text()).includes('gatehouse_'), 'nothing of the exposition');
	// many scrapes at once: each a whole, valid exposition
	const many = await Promise.all(Array.from({ length: 12 }, () => scrape(server.metricsUrl)));
	for (const m of many) assert.ok(m.family(REQUESTS));
});

/** Ports this process listens on, from /proc (Linux). */
function listeningPorts(pid) {
	const inodes = new Set();
	for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
		try {
			const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
			if (m) inodes.add(m[1]);
		} catch {
			// closed meanwhile
		}
	}
	const ports = new Set();
	for (const f of ['tcp', 'tcp6']) {
		for (const line of fs.readFileSync(`/proc/${pid}/net/${f}`, 'utf8').split('\n').slice(1)) {
			const cols = line.trim().split(/\s+/);
			if (cols.length < 10 || cols[3] !== '0A' || !inodes.has(cols[9])) continue; // 0A: LISTEN
			ports.add(parseInt(cols[1].split(':').pop(), 16));
		}
	}
	return ports;
}

test('by default there is no metrics listener and /metrics on the public port is 404', async () => {
	const plain = await startServer();
	try {
		assert.deepEqual([...listeningPorts(plain.child.pid)], [plain.port], 'only the public port listens');
		const r = await fetch(plain.url('/metrics'), { headers: { Authorization: 'Bearer anything' } });
		assert.equal(r.status, 404);
		assert.ok(!plain.logLines().some((l) => /metrics on/.test(l.msg ?? '')), 'no listener announced');
	} finally {
		await plain.stop();
	}
	// and with one, the process listens on both
	const withIt = await startWithMetrics();
	try {
		assert.deepEqual([...listeningPorts(withIt.child.pid)].sort(), [withIt.port, withIt.metricsPort].sort());
	} finally {
		await withIt.stop();
	}
});

test('GATEHOUSE_METRICS_TOKEN: /metrics on the public port with the bearer token, 401 without it', async () => {
	const token = randomBytes(24).toString('base64url');
	const s = await startServer({ env: { GATEHOUSE_METRICS_TOKEN: token } });
	try {
		const url = s.url('/metrics');
		for (const headers of [
			{},
			{ Authorization: `Bearer ${token}x` },
			{ Authorization: `Bearer ${token.slice(1)}` },
			{ Authorization: `Token ${token}` },
			{ Authorization: token },
		]) {
			const r = await fetch(url, { headers });
			const text = await r.text();
			assert.equal(r.status, 401, `${JSON.stringify(headers)}: ${text}`);
			assert.equal(r.headers.get('www-authenticate'), 'Bearer');
			assert.ok(!text.includes('gatehouse_'), 'nothing of the exposition');
		}
		const ok = await scrape(url, { Authorization: `Bearer ${token}` });
		assert.ok(!ok.text.includes(token), 'the token is not in the output');
		// the refused scrapes were counted (by route pattern, as /metrics), the good one is not yet
		assert.equal(ok.value(REQUESTS, { route: '/metrics', method: 'GET', status: '401' }), 5);
		const again = await scrape(url, { Authorization: `bearer ${token}` });
		assert.equal(again.value(REQUESTS, { route: '/metrics', method: 'GET', status: '200' }), 1);
		assert.ok(readExposition(again.text).family(LOGINS));
	} finally {
		await s.stop();
	}
});

test('a full hash pool: each 503 is counted, and every job that ran had its wait observed', async () => {
	const s = await startWithMetrics({
		env: {
			GATEHOUSE_HASH_THREADS: '1',
			GATEHOUSE_HASH_QUEUE: '1',
			GATEHOUSE_LOGIN_FAILURE_QUANTUM_MS: '0',
			GATEHOUSE_ARGON2_MEMORY_KIB: '65536',
			GATEHOUSE_ARGON2_ITERATIONS: '2',
		},
	});
	try {
		const clients = await Promise.all(Array.from({ length: 8 }, () => csrfClient(s)));
		const a = await scrape(s.metricsUrl);
		const answers = await Promise.all(
			clients.map((c) => c.post('/api/login/', { json: { email: uniqueEmail('full'), password: 'nope nope 1' } })),
		);
		const full = answers.filter((r) => r.status === 503);
		const checked = answers.filter((r) => r.status === 400);
		assert.equal(full.length + checked.length, 8, answers.map((r) => r.status).join(' '));
		assert.ok(full.length >= 1, 'a pool of two places took eight logins at once');
		for (const r of full) assert.equal(r.json.detail, 'Too many logins in progress, try again shortly.');
		const b = await scrape(s.metricsUrl);
		assert.equal(
			b.value('gatehouse_hashpool_rejected_total') - a.value('gatehouse_hashpool_rejected_total'),
			full.length,
		);
		assert.equal(delta(a, b, LOGINS, { method: 'password', outcome: 'unavailable' }), full.length);
		assert.equal(delta(a, b, LOGINS, { method: 'password', outcome: 'bad_credentials' }), checked.length);
		const w = (x) => x.histogram('gatehouse_hashpool_wait_seconds');
		assert.equal(w(b).count - w(a).count, checked.length, 'one wait per job that ran');
		assert.ok(w(b).sum > w(a).sum, 'the queued ones waited');
		assert.equal(delta(a, b, REQUESTS, { route: '/api/login/', method: 'POST', status: '503' }), full.length);
		assert.equal(b.value('gatehouse_hashpool_jobs', { state: 'queued' }), 0);
		assert.equal(b.value('gatehouse_hashpool_jobs', { state: 'running' }), 0);
	} finally {
		await s.stop();
	}
});
