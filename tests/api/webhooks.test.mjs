// Webhooks (issue 15 item 5): GATEHOUSE_WEBHOOKS endpoints get every event they subscribed to,
// once, signed per Standard Webhooks and checked here by the npm `standardwebhooks` verifier
// (not our own HMAC code), with a payload that carries ids and never a secret; an endpoint
// gets nothing it did not ask for; a receiver that is down, answers 500 or 429, or holds a
// delivery open while gatehouse is SIGKILLed gets the same message again later, with the same
// webhook-id (at least once); a 4xx other than 408/429 is not retried; a bad setting refuses
// to start.  The receivers are node http servers on 127.0.0.1.
//
// Runs on SQLite and, through run-pg.mjs, on PostgreSQL.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { startWithMetrics, readExposition } from './metrics-harness.mjs';
import {
	BIN,
	SLOW,
	STORE,
	startServer,
	startInstance,
	createUser,
	csrfClient,
	uniqueEmail,
	sleep,
	q,
} from './harness.mjs';
import { startMfa, newUser, signedIn, enableTotp, pendingLogin, secondStep, PW } from './mfa-harness.mjs';
import { newAccount, GOOD_PW, GOOD_PW2 } from './accounts-harness.mjs';
import { currentSessionId } from './admin-harness.mjs';
import { addPasskey } from './mfa-harness.mjs';
import { SoftAuthenticator } from './softauthn.mjs';
import { startProviders, startSocial, githubUser, socialLogin, stopAll } from './social-harness.mjs';

const newSecret = (bytes = 32) => 'whsec_' + randomBytes(bytes).toString('base64');
/** Short timers so retries and leases fit in a test. */
const FAST = {
	GATEHOUSE_WEBHOOK_POLL: '1',
	GATEHOUSE_WEBHOOK_RETRY_BASE_MS: '300',
	// an attempt must fit in its timeout even under valgrind; the lease outlasts it
	GATEHOUSE_WEBHOOK_TIMEOUT: String(2 * SLOW),
	GATEHOUSE_WEBHOOK_LEASE: String(3 * SLOW),
};
const WAIT = 20000 * SLOW;

/**
 * A receiver on 127.0.0.1 that verifies each delivery with standardwebhooks.
 * answer(req, n) picks the answer of the n-th request (0-based): a status, or 'hang'
 * (keep the request open and never answer).  Every request is recorded, verified or not.
 */
async function startReceiver(secret, { answer = () => 200, port = 0 } = {}) {
	const wh = new Webhook(secret);
	const requests = [];
	const hanging = [];
	const waiters = [];
	const server = http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			const body = Buffer.concat(chunks).toString('utf8');
			const rec = {
				at: Date.now(),
				id: req.headers['webhook-id'],
				timestamp: req.headers['webhook-timestamp'],
				signature: req.headers['webhook-signature'],
				contentType: req.headers['content-type'],
				userAgent: req.headers['user-agent'],
				method: req.method,
				body,
				payload: null,
				error: null,
			};
			try {
				rec.payload = wh.verify(body, req.headers);
			} catch (e) {
				rec.error = String(e?.message || e);
			}
			const n = requests.length;
			requests.push(rec);
			for (const w of [...waiters]) w();
			const a = answer(req, n, rec);
			if (a === 'hang') {
				hanging.push(res);
				return;
			}
			res.writeHead(a, { 'content-type': 'text/plain' });
			res.end(a >= 200 && a < 300 ? 'ok' : 'no');
		});
	});
	await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
	const r = {
		port: server.address().port,
		get url() {
			return `http://127.0.0.1:${r.port}/hooks/gatehouse`;
		},
		requests,
		/** verified deliveries */
		ok: () => requests.filter((x) => x.payload),
		async waitFor(pred, timeout = WAIT, what = 'deliveries') {
			const deadline = Date.now() + timeout;
			while (!pred(requests)) {
				if (Date.now() > deadline)
					throw new Error(`timed out waiting for ${what}; got:\n${requests.map((x) => x.body).join('\n')}`);
				await new Promise((res) => {
					const t = setTimeout(res, 100);
					waiters.push(() => {
						clearTimeout(t);
						res();
					});
				});
				waiters.length = 0;
			}
		},
		async stop() {
			for (const res of hanging) res.destroy();
			server.closeAllConnections?.();
			await new Promise((resolve) => server.close(resolve));
		},
	};
	return r;
}

/** A port nothing listens on (yet). */
async function closedPort() {
	const s = http.createServer();
	await new Promise((r) => s.listen(0, '127.0.0.1', r));
	const { port } = s.address();
	await new Promise((r) => s.close(r));
	return port;
}

function outboxRows(server, where = '1=1') {
	return server.sqlRows(
		`SELECT msg_id, endpoint, event, attempts, last_status, last_error, delivered, done_at FROM webhook_outbox WHERE ${where} ORDER BY id`,
	);
}

/** The verified payloads of one type, for one user email (when given). */
function ofType(rcv, type, email) {
	return rcv.ok().filter((x) => x.payload.type === type && (email === undefined || x.payload.data.email === email));
}

describe('every event, once, signed and without a secret', () => {
	let ctx;
	let all;
	let loginsOnly;
	const secretAll = newSecret();
	const secretLogins = newSecret(24);
	// what must never appear in a payload
	const secrets = [];

	before(async () => {
		all = await startReceiver(secretAll);
		loginsOnly = await startReceiver(secretLogins);
		ctx = await startMfa({
			env: {
				...FAST,
				GATEHOUSE_WEBHOOKS: `${all.url} * ${secretAll};\n ${loginsOnly.url} user.login,user.login_failed ${secretLogins}`,
			},
		});
		secrets.push(secretAll, secretAll.slice(6), secretLogins, secretLogins.slice(6));
	});
	after(async () => {
		await ctx?.stop();
		await all?.stop();
		await loginsOnly?.stop();
	});

	test('each event arrives exactly once with a valid signature and its payload', async () => {
		const server = ctx.server;
		const expected = {}; // type -> count, across every user of this test
		const want = (type, n = 1) => (expected[type] = (expected[type] || 0) + n);

		// user.created (signup) and user.email_confirmed
		const acct = await newAccount(ctx, { email: uniqueEmail('hook'), password: GOOD_PW });
		want('user.created');
		want('user.email_confirmed');
		secrets.push(GOOD_PW, GOOD_PW2);
		const [{ id: uid }] = server.sqlRows(`SELECT id FROM users WHERE email = ${q(acct.email)}`);

		// user.login_failed, user.login
		const bad = await csrfClient(server);
		const r1 = await bad.post('/api/login/', { json: { email: acct.email, password: 'not the password at all' } });
		assert.equal(r1.status, 400);
		want('user.login_failed');
		secrets.push('not the password at all');
		const a = await signedIn(ctx, { email: acct.email, password: GOOD_PW });
		want('user.login');
		secrets.push(a.cookie('sessionid'), a.cookie('csrftoken'));

		// token.created, token.revoked
		const made = await a.post('/api/tokens/', { json: { name: 'hook test', password: GOOD_PW } });
		assert.equal(made.status, 201, made.text);
		want('token.created');
		secrets.push(made.json.key);
		const del = await a.delete(`/api/tokens/${made.json.id}/`);
		assert.equal(del.status, 204, del.text);
		want('token.revoked');

		// session.revoked: a second browser's session ended from the first
		const b = await signedIn(ctx, { email: acct.email, password: GOOD_PW });
		want('user.login');
		secrets.push(b.cookie('sessionid'));
		const bid = await currentSessionId(b);
		const end = await a.delete(`/api/sessions/${bid}/`);
		assert.equal(end.status, 204, end.text);
		want('session.revoked');

		// user.password_changed
		const ch = await a.post('/api/password/change/', { json: { old_password: GOOD_PW, new_password: GOOD_PW2 } });
		assert.equal(ch.status, 200, ch.text);
		want('user.password_changed');

		// second factors: mfa.enabled, a login with a recovery code (user.login + mfa.recovery_code_used),
		// mfa.disabled
		const mu = newUser(ctx, 'hookmfa'); // CLI: user.created too
		want('user.created');
		const mc = await signedIn(ctx, mu);
		want('user.login');
		await enableTotp(mc, mu);
		want('mfa.enabled');
		secrets.push(mu.secret, ...mu.recoveryCodes, PW);
		const { client: pc } = await pendingLogin(ctx, mu);
		const rc = await secondStep(pc, { method: 'recovery_code', code: mu.recoveryCodes[0] });
		assert.equal(rc.status, 200, rc.text);
		want('user.login');
		want('mfa.recovery_code_used');
		const off = await pc.delete('/api/mfa/totp/');
		assert.equal(off.status, 200, off.text);
		want('mfa.disabled');

		// user.deactivated, by a staff member (created on the CLI: user.created)
		const staff = newUser(ctx, 'hookstaff', ['--staff']);
		want('user.created');
		const sc = await signedIn(ctx, staff);
		want('user.login');
		const deact = await sc.patch(`/api/admin/users/${uid}/`, { json: { is_active: false } });
		assert.equal(deact.status, 200, deact.text);
		want('user.deactivated');

		// session.revoked by logging out
		const lo = await sc.post('/api/logout/');
		assert.equal(lo.status, 200, lo.text);
		want('session.revoked');

		const total = Object.values(expected).reduce((x, y) => x + y, 0);
		await all.waitFor((reqs) => reqs.length >= total, WAIT, `${total} deliveries`);
		await sleep(1500 * SLOW); // a duplicate would come within a poll or two
		assert.deepEqual(
			all.requests.filter((x) => x.error).map((x) => x.error),
			[],
			'every delivery verifies with standardwebhooks',
		);
		const counts = {};
		for (const x of all.ok()) counts[x.payload.type] = (counts[x.payload.type] || 0) + 1;
		assert.deepEqual(counts, expected, 'each event once');
		assert.equal(new Set(all.requests.map((x) => x.id)).size, all.requests.length, 'one webhook-id per message');

		for (const x of all.requests) {
			assert.equal(x.method, 'POST');
			assert.equal(x.contentType, 'application/json');
			assert.match(x.userAgent, /^gatehouse-webhooks\//);
			assert.match(x.id, /^msg_[0-9A-Za-z]{28}$/);
			assert.match(x.signature, /^v1,[A-Za-z0-9+/]{43}=$/);
			assert.ok(Math.abs(Number(x.timestamp) - x.at / 1000) < 10 * SLOW, 'webhook-timestamp is the attempt time');
			assert.deepEqual(Object.keys(x.payload).sort(), ['data', 'timestamp', 'type']);
			assert.match(x.payload.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
			for (const s of secrets) if (s) assert.ok(!x.body.includes(s), `a secret in ${x.body}`);
			assert.doesNotMatch(x.body, /"(password|hash|key|secret|token|code|auth_hash)":|argon2|pbkdf2|whsec_/i, x.body);
		}

		// the payloads say who and what
		const [created] = ofType(all, 'user.created', acct.email);
		assert.equal(created.payload.data.user_id, uid);
		assert.equal(created.payload.data.method, 'password');
		assert.equal(ofType(all, 'user.email_confirmed', acct.email).length, 1);
		const [failed] = ofType(all, 'user.login_failed', acct.email);
		assert.equal(failed.payload.data.reason, 'wrong_password');
		assert.equal(failed.payload.data.user_id, uid);
		assert.equal(failed.payload.data.ip, '127.0.0.1');
		const logins = ofType(all, 'user.login', acct.email);
		assert.equal(logins.length, 2);
		assert.equal(logins[0].payload.data.method, 'password');
		const [tc] = ofType(all, 'token.created', acct.email);
		assert.equal(tc.payload.data.token_id, made.json.id);
		assert.equal(tc.payload.data.name, 'hook test');
		assert.equal(ofType(all, 'token.revoked', acct.email)[0].payload.data.token_id, made.json.id);
		const [sr] = ofType(all, 'session.revoked', acct.email);
		assert.equal(sr.payload.data.session_id, bid);
		assert.equal(sr.payload.data.reason, 'revoked');
		assert.equal(ofType(all, 'user.password_changed', acct.email)[0].payload.data.reason, 'change');
		assert.equal(ofType(all, 'mfa.enabled', mu.email)[0].payload.data.factor, 'totp');
		assert.equal(ofType(all, 'mfa.disabled', mu.email)[0].payload.data.factor, 'totp');
		assert.equal(ofType(all, 'mfa.recovery_code_used', mu.email)[0].payload.data.unused, 9);
		assert.equal(ofType(all, 'user.login', mu.email).at(-1).payload.data.method, 'password+recovery_code');
		assert.equal(ofType(all, 'user.created', mu.email)[0].payload.data.method, 'command_line');
		const [gone] = ofType(all, 'user.deactivated', acct.email);
		assert.equal(gone.payload.data.user_id, uid);
		assert.equal(gone.payload.data.actor_id, staff.id);
		assert.equal(ofType(all, 'session.revoked', staff.email)[0].payload.data.reason, 'logout');

		// the endpoint that asked for logins only got exactly those
		const types = new Set(loginsOnly.ok().map((x) => x.payload.type));
		assert.deepEqual([...types].sort(), ['user.login', 'user.login_failed']);
		assert.equal(loginsOnly.requests.length, expected['user.login'] + expected['user.login_failed']);
		assert.deepEqual(
			loginsOnly.requests.filter((x) => x.error),
			[],
		);

		// the outbox agrees: every row delivered once, with its status
		const rows = outboxRows(server);
		assert.equal(rows.length, all.requests.length + loginsOnly.requests.length);
		for (const row of rows) {
			assert.equal(Number(row.delivered), 1, JSON.stringify(row));
			assert.equal(Number(row.attempts), 1, JSON.stringify(row));
			assert.equal(Number(row.last_status), 200);
		}
	});
});

describe('passkeys and social login', () => {
	test('passkey.added, passkey.removed and social.connected arrive once, signed', async () => {
		const secret = newSecret();
		const rcv = await startReceiver(secret);
		const hooks = {
			...FAST,
			GATEHOUSE_WEBHOOKS: `${rcv.url} passkey.added,passkey.removed,social.connected ${secret}`,
		};
		let mfa;
		let providers;
		let social;
		try {
			// passkeys: the relying party needs a host name, not an IP address
			mfa = await startMfa({ publicHost: 'localhost', env: hooks });
			const user = newUser(mfa, 'hookpk');
			const c = await signedIn(mfa, user);
			const auth = new SoftAuthenticator({ rpId: 'localhost', origin: mfa.origin });
			const pk = await addPasskey(c, user, auth, { name: 'Hook key' });
			const del = await c.delete(`/api/mfa/webauthn/${pk.id}/`);
			assert.equal(del.status, 200, del.text);

			// social: a GitHub account connected to a signed-in password account
			providers = await startProviders();
			social = await startSocial({ providers, env: hooks });
			const email = createUser(social.server, uniqueEmail('hooksoc'), 'social hook passphrase 42');
			const pw = await csrfClient(social.server);
			const li = await pw.post('/api/login/', { json: { email, password: 'social hook passphrase 42' } });
			assert.equal(li.status, 200, li.text);
			const gh = githubUser(social);
			const r = await socialLogin(social, 'github', gh.login, { client: pw, connect: true });
			assert.equal(r.res.status, 200, r.res.text);

			await rcv.waitFor((reqs) => reqs.length >= 3);
			await sleep(1500 * SLOW);
			assert.equal(rcv.requests.length, 3, rcv.requests.map((x) => x.body).join('\n'));
			assert.deepEqual(
				rcv.requests.map((x) => x.error),
				[null, null, null],
			);
			const by = (t) => rcv.ok().filter((x) => x.payload.type === t);
			const [added] = by('passkey.added');
			assert.equal(added.payload.data.email, user.email);
			assert.equal(added.payload.data.name, 'Hook key');
			const [removed] = by('passkey.removed');
			assert.equal(removed.payload.data.credential, pk.id);
			const [connected] = by('social.connected');
			assert.equal(connected.payload.data.email, email);
			assert.equal(connected.payload.data.provider, 'github');
			for (const x of rcv.requests)
				assert.doesNotMatch(x.body, /"(public_key|credential_id|sign_count)":|access_token|code=/);
		} finally {
			await stopAll(
				() => mfa?.stop(),
				() => social?.stop(),
				() => providers?.stop(),
				() => rcv.stop(),
			);
		}
	});
});

describe('retries', () => {
	test('receiver down, then up: delivered after it comes back, with the same webhook-id', async () => {
		const port = await closedPort();
		const secret = newSecret();
		const server = await startServer({
			env: { ...FAST, GATEHOUSE_WEBHOOKS: `http://127.0.0.1:${port}/in user.created ${secret}` },
		});
		let rcv;
		try {
			const email = createUser(server, uniqueEmail('down'), 'down and up again 42');
			// at least two attempts fail on the closed port
			const deadline = Date.now() + WAIT;
			let row;
			for (;;) {
				[row] = outboxRows(server);
				if (row && Number(row.attempts) >= 2) break;
				assert.ok(Date.now() < deadline, `no failed attempts recorded: ${JSON.stringify(row)}`);
				await sleep(100);
			}
			assert.equal(Number(row.delivered), 0);
			assert.equal(row.done_at, null);
			assert.match(row.last_error, /connect|refused/i);
			rcv = await startReceiver(secret, { port });
			await rcv.waitFor((r) => r.length >= 1);
			await sleep(1000 * SLOW);
			assert.equal(rcv.requests.length, 1, 'delivered once');
			const [got] = rcv.requests;
			assert.equal(got.error, null);
			assert.equal(got.id, row.msg_id, 'the same webhook-id as the failed attempts');
			assert.equal(got.payload.data.email, email);
			const [done] = outboxRows(server);
			assert.equal(Number(done.delivered), 1);
			assert.ok(Number(done.attempts) >= 3, JSON.stringify(done));
		} finally {
			await server.stop();
			await rcv?.stop();
		}
	});

	test('a 500 is retried with doubling backoff and the same webhook-id until a 2xx', async () => {
		const secret = newSecret();
		const rcv = await startReceiver(secret, { answer: (req, n) => (n < 3 ? 500 : 204) });
		// with the metrics listener: the failed attempts show in gatehouse_webhook_delivery_failures_total
		const server = await startWithMetrics({
			env: { ...FAST, GATEHOUSE_WEBHOOKS: `${rcv.url} user.created ${secret}` },
		});
		try {
			createUser(server, uniqueEmail('five'), 'five hundred retries 42');
			await rcv.waitFor((r) => r.length >= 4);
			await sleep(1500 * SLOW);
			assert.equal(rcv.requests.length, 4, 'three failures, then one success, then nothing');
			assert.equal(new Set(rcv.requests.map((x) => x.id)).size, 1, 'one webhook-id on every attempt');
			for (const x of rcv.requests) assert.equal(x.error, null, 'each attempt signed anew and valid');
			const gaps = rcv.requests.slice(1).map((x, i) => x.at - rcv.requests[i].at);
			// 300, 600, 1200 ms planned (plus the delivery time)
			assert.ok(gaps[0] >= 250, `first retry after the base delay: ${gaps}`);
			if (!SLOW || SLOW === 1) {
				assert.ok(gaps[1] >= gaps[0] * 1.5, `the delay doubles: ${gaps}`);
				assert.ok(gaps[2] >= gaps[1] * 1.5, `the delay doubles: ${gaps}`);
			}
			const [row] = outboxRows(server);
			assert.equal(Number(row.attempts), 4);
			assert.equal(Number(row.delivered), 1);
			assert.equal(Number(row.last_status), 204);
			const m = readExposition(await (await fetch(server.metricsUrl)).text());
			assert.equal(m.value('gatehouse_webhook_delivery_failures_total'), 3, 'three failed attempts counted');
		} finally {
			await server.stop();
			await rcv.stop();
		}
	});

	test('a 4xx is not retried (given up, recorded), except 408 and 429, which are', async () => {
		const secret = newSecret();
		// by the user in the payload: 400 and 410 for good, 429 once then 200
		const answers = new Map();
		const rcv = await startReceiver(secret, {
			answer: (req, n, rec) => {
				const email = rec.payload?.data?.email || '';
				const seen = answers.get(email) || 0;
				answers.set(email, seen + 1);
				if (email.startsWith('four00')) return 400;
				if (email.startsWith('gone')) return 410;
				if (email.startsWith('slow')) return seen === 0 ? 429 : 200;
				return 500;
			},
		});
		const server = await startServer({ env: { ...FAST, GATEHOUSE_WEBHOOKS: `${rcv.url} user.created ${secret}` } });
		try {
			const e400 = createUser(server, uniqueEmail('four00'), 'four hundred answer 42');
			const e410 = createUser(server, uniqueEmail('gone'), 'four hundred answer 42');
			const e429 = createUser(server, uniqueEmail('slow'), 'four hundred answer 42');
			await rcv.waitFor((r) => r.length >= 4);
			await sleep(2000 * SLOW); // several backoffs: a retry of the 400 or the 410 would show
			const by = (e) => rcv.requests.filter((x) => x.payload?.data?.email === e);
			assert.equal(by(e400).length, 1, 'a 400 is not retried');
			assert.equal(by(e410).length, 1, 'a 410 is not retried');
			assert.equal(by(e429).length, 2, 'a 429 is retried');
			assert.equal(by(e429)[0].id, by(e429)[1].id);
			const rows = outboxRows(server);
			const status = rows.map((r) => [Number(r.last_status), Number(r.delivered), r.done_at !== null]);
			assert.deepEqual(status, [
				[400, 0, true],
				[410, 0, true],
				[200, 1, true],
			]);
			assert.equal(rows[0].last_error, 'HTTP 400');
			// the give-up is logged
			assert.ok(
				server.logLines().some((l) => /given up/.test(l.msg || '') && (l.msg || '').includes(rows[0].msg_id)),
				server.stderr(),
			);
		} finally {
			await server.stop();
			await rcv.stop();
		}
	});

	test('gatehouse SIGKILLed while the receiver holds a delivery open: delivered after the restart, same webhook-id', async () => {
		const secret = newSecret();
		let hold = true;
		const rcv = await startReceiver(secret, { answer: () => (hold ? 'hang' : 200) });
		const env = { ...FAST, GATEHOUSE_WEBHOOKS: `${rcv.url} user.created ${secret}` };
		const first = await startServer({ env });
		let second;
		try {
			const email = createUser(first, uniqueEmail('killed'), 'killed mid delivery 42');
			await rcv.waitFor((r) => r.length >= 1);
			const held = rcv.requests[0];
			assert.equal(held.error, null);
			const exit = await first.kill('SIGKILL');
			assert.equal(exit.signal, 'SIGKILL');
			hold = false;
			second = await startServer({ env, reuse: first });
			// the lease (3 s, more under a wrapper) runs out, then the message goes again
			await rcv.waitFor((r) => r.length >= 2);
			await sleep(1000 * SLOW);
			assert.equal(rcv.requests.length, 2, 'once held, once delivered');
			const again = rcv.requests[1];
			assert.equal(again.error, null);
			assert.equal(again.id, held.id, 'the same webhook-id: the receiver can drop the duplicate');
			assert.equal(again.payload.data.email, email);
			const [row] = outboxRows(second);
			assert.equal(Number(row.delivered), 1);
		} finally {
			if (second) await second.stop();
			else await first.kill();
			first.remove?.();
			await rcv.stop();
		}
	});
});

describe('giving up', () => {
	test('after GATEHOUSE_WEBHOOK_MAX_ATTEMPTS failures, and when its endpoint left the configuration', async () => {
		const secret = newSecret();
		const rcv = await startReceiver(secret, { answer: () => 503 });
		const kept = await startReceiver(secret);
		const env = {
			...FAST,
			GATEHOUSE_WEBHOOK_MAX_ATTEMPTS: '2',
			GATEHOUSE_WEBHOOKS: `${rcv.url} user.created ${secret}`,
		};
		const first = await startServer({ env });
		let second;
		try {
			createUser(first, uniqueEmail('maxed'), 'given up after two 42');
			await rcv.waitFor((r) => r.length >= 2);
			await sleep(1500 * SLOW);
			assert.equal(rcv.requests.length, 2, 'two attempts, then no more');
			const [row] = outboxRows(first);
			assert.deepEqual([Number(row.attempts), Number(row.delivered), row.done_at !== null], [2, 0, true]);
			assert.equal(row.last_error, 'HTTP 503');

			// a message queued for an endpoint, then the endpoint removed: given up, not sent elsewhere
			await first.kill('SIGKILL');
			const offline = { ...env, GATEHOUSE_WEBHOOKS: `${kept.url} user.login ${secret}` };
			const email = createUser(first, uniqueEmail('orphan'), 'orphaned message 42'); // CLI: queued for rcv
			second = await startServer({ env: offline, reuse: first });
			const deadline = Date.now() + WAIT;
			let orphan;
			for (;;) {
				orphan = outboxRows(second).find((r) => r.done_at !== null && r.last_error.includes('no longer configured'));
				if (orphan) break;
				assert.ok(Date.now() < deadline, JSON.stringify(outboxRows(second)));
				await sleep(100);
			}
			assert.equal(Number(orphan.delivered), 0);
			assert.equal(rcv.requests.length, 2, 'nothing more to the removed endpoint');
			assert.equal(kept.requests.length, 0, 'nor to another one');
			assert.ok(email);
		} finally {
			if (second) await second.stop();
			else await first.kill();
			await rcv.stop();
			await kept.stop();
		}
	});
});

describe('several instances on one PostgreSQL database', { skip: STORE !== 'postgres' && 'PostgreSQL only' }, () => {
	test('two instances deliver each message once between them', async () => {
		const secret = newSecret();
		const rcv = await startReceiver(secret);
		const env = { ...FAST, GATEHOUSE_WEBHOOKS: `${rcv.url} user.login ${secret}` };
		const a = await startServer({ env });
		let b;
		try {
			b = await startInstance(a);
			const email = createUser(a, uniqueEmail('pair'), 'two instances one row 42');
			const N = 12;
			for (let i = 0; i < N; i++) {
				const c = await csrfClient(i % 2 ? b : a);
				const r = await c.post('/api/login/', { json: { email, password: 'two instances one row 42' } });
				assert.equal(r.status, 200, r.text);
			}
			await rcv.waitFor((r) => r.length >= N);
			await sleep(2000 * SLOW);
			assert.equal(rcv.requests.length, N, 'each once');
			assert.equal(new Set(rcv.requests.map((x) => x.id)).size, N);
			assert.deepEqual(
				rcv.requests.filter((x) => x.error),
				[],
			);
		} finally {
			await b?.stop();
			await a.stop();
			await rcv.stop();
		}
	});
});

describe('GATEHOUSE_WEBHOOKS is checked at start', () => {
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-hooks-'));
	after(() => fs.rmSync(tmp, { recursive: true, force: true }));

	const good = newSecret();
	const cases = [
		[
			'an unknown event',
			`https://hooks.example.com/x user.created,user.exploded ${good}`,
			/unknown event "user\.exploded"/,
		],
		['plain http to another host', `http://hooks.example.com/x * ${good}`, /http:\/\/ is allowed only to a loopback/],
		['a scheme that is not http(s)', `ftp://hooks.example.com/x * ${good}`, /must start with https:\/\//],
		['a short secret', `https://hooks.example.com/x * ${newSecret(16)}`, /16 bytes; it must be 24 to 64/],
		['a long secret', `https://hooks.example.com/x * ${newSecret(65)}`, /65 bytes; it must be 24 to 64/],
		['a secret without whsec_', `https://hooks.example.com/x * ${good.slice(6)}`, /whsec_/],
		['a secret that is not base64', `https://hooks.example.com/x * whsec_${'!'.repeat(40)}`, /not valid base64/],
		['a missing field', `https://hooks.example.com/x ${good}`, /three fields/],
		['credentials in the URL', `https://user:pw@hooks.example.com/x * ${good}`, /user or password/],
		['the same URL twice', `https://h.example.com/x * ${good};https://h.example.com/x user.login ${good}`, /same URL/],
	];
	for (const [what, value, message] of cases)
		test(`refused: ${what}`, () => {
			const env = {};
			for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
			Object.assign(env, {
				GATEHOUSE_DATABASE: `sqlite:${path.join(tmp, 'gh.db')}`,
				GATEHOUSE_LISTEN: '127.0.0.1:1',
				GATEHOUSE_WEBHOOKS: value,
			});
			const r = spawnSync(BIN, ['serve'], { env, cwd: tmp, encoding: 'utf8', timeout: 30000 * SLOW });
			assert.equal(r.status, 1, `exit status: ${r.status} ${r.stderr}`);
			assert.match(r.stderr, message);
			assert.ok(!r.stderr.includes(good.slice(6, 20)), 'the secret is never printed');
		});

	test('accepted: loopback http, https, several entries, blank ones', () => {
		const env = {};
		for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
		Object.assign(env, {
			GATEHOUSE_DATABASE: `sqlite:${path.join(tmp, 'ok.db')}`,
			GATEHOUSE_WEBHOOKS: `  ;https://h.example.com:8443/in?x=1 * ${good};\n\thttp://[::1]:9/a user.login ${newSecret(64)} ; http://localhost/b token.created,token.revoked ${newSecret(24)};`,
		});
		const r = spawnSync(BIN, ['check'], { env, cwd: tmp, encoding: 'utf8', timeout: 30000 * SLOW });
		assert.equal(r.status, 0, r.stderr + r.stdout);
	});
});
