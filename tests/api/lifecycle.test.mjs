// Stop and start: SIGTERM answers every waiting request 503 and exits 0, a
// second server on a busy port fails loudly, and the process never writes a
// core file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startServer, csrfClient, uniqueEmail, sleep, BIN, SLOW, WRAPPER } from './harness.mjs';
import { startWithMetrics, scrapeUntil } from './metrics-harness.mjs';

/** Run `gatehouse serve` with env; resolves {code, signal, stderr} at exit or null after ms. */
function runServe(argv, env, ms) {
	return new Promise((resolve) => {
		const child = spawn(argv[0], [...argv.slice(1)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
		let stderr = '';
		child.stderr.setEncoding('utf8');
		child.stderr.on('data', (d) => {
			stderr += d;
		});
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			resolve(null);
		}, ms);
		child.on('exit', (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stderr });
		});
	});
}

async function freePort() {
	return new Promise((resolve) => {
		const s = net.createServer();
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

test('SIGTERM answers logins waiting for the hash pool 503 with Retry-After and exits 0', async () => {
	// one hash thread and a slow hash (a few tenths of a second each): the logins queue;
	// the metrics listener tells when every one of them has reached the hash pool
	const server = await startWithMetrics({
		env: {
			GATEHOUSE_HASH_THREADS: '1',
			// the same cost wrapped or not: under valgrind a cheaper hash let all twenty be
			// checked before the last had arrived, and nothing waited on the pool any more
			GATEHOUSE_ARGON2_MEMORY_KIB: '131072',
			GATEHOUSE_ARGON2_ITERATIONS: '2',
		},
	});
	// twenty: on a quiet machine a wrapped run hashes faster than assumed, and the
	// test needs at least four still queued when the signal comes
	const clients = await Promise.all(Array.from({ length: 20 }, () => csrfClient(server)));
	const logins = clients.map((c) =>
		c.post('/api/login/', { json: { email: uniqueEmail('stop'), password: 'nope nope 1' } }).then(
			(r) => ({ ...r, at: performance.now() }),
			(e) => ({ error: e }),
		),
	);
	// all arrived: each one is on the hash pool (one hashing, the rest queued) or
	// already checked; polled, not guessed: under a slow wrapper a fixed sleep once
	// stopped the server before a login had even been read
	const where = (s) => ({
		queued: s.value('gatehouse_hashpool_jobs', { state: 'queued' }),
		running: s.value('gatehouse_hashpool_jobs', { state: 'running' }),
		checked: s.value('gatehouse_logins_total', { method: 'password', outcome: 'bad_credentials' }),
	});
	// (not "and one running": when every hash is done by then, that never comes true and the
	// wait runs out; the held answers of checked logins are waiting requests as well)
	const arrived = (w) => w.queued + w.running + w.checked === 20;
	const seen = where(await scrapeUntil(server.metricsUrl, (s) => arrived(where(s)), 60000 * SLOW));
	assert.ok(arrived(seen), `all twenty logins reached the hash pool: ${JSON.stringify(seen)}`);
	const sigterm = performance.now();
	const stopped = server.stop(); // SIGTERM; asserts exit code 0, no signal
	const results = await Promise.all(logins);
	await stopped;
	let stoppedOnes = 0;
	for (const r of results) {
		assert.ok(!r.error, `a waiting login got no answer: ${r.error}`);
		// one answered around the signal may carry its own result
		if (r.status === 400 && r.at < sigterm + 1000 * SLOW) continue;
		stoppedOnes++;
		assert.equal(r.status, 503, `waiting login: ${r.status} ${r.text}`);
		assert.equal(typeof r.json?.detail, 'string', r.text);
		assert.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
	}
	assert.ok(stoppedOnes >= 4, `only ${stoppedOnes} logins were still waiting at the stop`);
});

test('SIGTERM answers a failed login held for equal timing 503 at once and exits 0', async () => {
	// a failed login is answered at the next minute: held on a suspended connection
	const server = await startServer({ env: { GATEHOUSE_LOGIN_FAILURE_QUANTUM_MS: '60000' } });
	const c = await csrfClient(server);
	const login = c
		.post('/api/login/', { json: { email: uniqueEmail('held'), password: 'nope nope 1' } })
		.catch((e) => ({ error: e }));
	await sleep(1000);
	const t0 = performance.now();
	const stopped = server.stop();
	const r = await login;
	await stopped;
	assert.ok(!r.error, `the held login got no answer: ${r.error}`);
	assert.equal(r.status, 503, `${r.status} ${r.text}`);
	assert.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
	assert.ok(performance.now() - t0 < 10000 * SLOW, 'the stop waited for the hold');
});

test('SIGTERM after a client left while its login was held still exits at once', async () => {
	// the failed login is held (suspended) for 2 s; its client goes away before it is answered
	const server = await startServer({ env: { GATEHOUSE_LOGIN_FAILURE_QUANTUM_MS: '2000' } });
	const c = await csrfClient(server);
	const gone = new AbortController();
	const login = fetch(server.url('/api/login/'), {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', Cookie: c.cookieHeader(), 'X-CSRFToken': c.jar.get('csrftoken') },
		body: JSON.stringify({ email: uniqueEmail('left'), password: 'nope nope 1' }),
		signal: gone.signal,
	}).catch((e) => ({ error: e }));
	await sleep(500);
	gone.abort();
	await login;
	// resumed, found its client gone, ended without its handler: its request line is logged then
	const ended = () => server.logLines().some((l) => l.msg === 'request' && l.path === '/api/login/');
	for (const t0 = performance.now(); !ended(); await sleep(100))
		assert.ok(performance.now() - t0 < 5000 * SLOW, 'the abandoned login never ended');
	const t0 = performance.now();
	await server.stop(); // asserts exit 0
	assert.ok(performance.now() - t0 < 5000 * SLOW, `the stop took ${Math.round(performance.now() - t0)} ms`);
});

test('SIGTERM answers a social login waiting on a silent provider 503 and exits 0', async () => {
	// a provider that accepts the token call and never answers
	const silent = net.createServer(() => {});
	await new Promise((r) => silent.listen(0, '127.0.0.1', r));
	const server = await startServer({
		env: {
			GATEHOUSE_GITHUB_CLIENT_ID: 'gh-id',
			GATEHOUSE_GITHUB_CLIENT_SECRET: 'gh-secret',
			GATEHOUSE_GITHUB_TOKEN_URL: `http://127.0.0.1:${silent.address().port}/token`,
			GATEHOUSE_SOCIAL_TIMEOUT: '3', // the stop waits for the call in flight
		},
	});
	try {
		const c = await csrfClient(server);
		const a = await c.get('/api/social/github/authorize/', { headers: { Accept: 'application/json' } });
		assert.equal(a.status, 200, a.text);
		const state = new URL(a.json.url).searchParams.get('state');
		const login = c.post('/api/social/github/', { json: { code: 'some-code', state } }).catch((e) => ({ error: e }));
		await sleep(500);
		const stopped = server.stop();
		const r = await login;
		await stopped;
		assert.ok(!r.error, `the waiting social login got no answer: ${r.error}`);
		assert.equal(r.status, 503, `${r.status} ${r.text}`);
		assert.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
	} finally {
		silent.close();
	}
});

test('a second server on a port already being served exits non-zero and says the port is in use', async () => {
	const first = await startServer();
	try {
		const r = await runServe(
			[BIN, 'serve'],
			{
				...first.env,
				GATEHOUSE_DATABASE: `sqlite:${path.join(first.tmp, 'second.db')}`,
			},
			10000 * SLOW,
		);
		assert.ok(r !== null, 'the second server kept running on the busy port');
		assert.notEqual(r.code, 0);
		assert.match(r.stderr, /cannot listen on 127\.0\.0\.1:\d+: .*(in use|already)/, r.stderr);
		assert.ok(await first.alive(), 'the first server still serves');
	} finally {
		await first.stop();
	}
});

test('a server on a port another program listens on exits non-zero', async () => {
	const other = net.createServer();
	await new Promise((r) => other.listen(0, '127.0.0.1', r));
	const { port } = other.address();
	const first = await startServer();
	try {
		const r = await runServe([BIN, 'serve'], { ...first.env, GATEHOUSE_LISTEN: `127.0.0.1:${port}` }, 10000 * SLOW);
		assert.ok(r !== null, 'the server kept running on a port another program listens on');
		assert.notEqual(r.code, 0);
		assert.match(r.stderr, /in use/, r.stderr);
	} finally {
		other.close();
		await first.stop();
	}
});

test('the serving process has core dumps off even when started with them allowed', async () => {
	const first = await startServer();
	const port = await freePort();
	const env = { ...first.env, GATEHOUSE_LISTEN: `127.0.0.1:${port}` };
	const child = spawn('prlimit', ['--core=unlimited:unlimited', BIN, 'serve'], { env, stdio: 'ignore' });
	try {
		let up = false;
		for (let i = 0; i < 100 && !up; i++) {
			try {
				const r = await fetch(`http://127.0.0.1:${port}/healthz`);
				up = r.status === 200;
			} catch {
				await sleep(100);
			}
		}
		assert.ok(up, 'server did not start');
		const limits = fs.readFileSync(`/proc/${child.pid}/limits`, 'utf8');
		const line = limits.split('\n').find((l) => l.startsWith('Max core file size'));
		assert.match(line, /^Max core file size\s+0\s+0\s/, line);
	} finally {
		child.kill('SIGTERM');
		await new Promise((r) => child.on('exit', r));
		await first.stop();
	}
});
