// Mail delivery (docs/accounts-contract.md settings; docs/design.md §4: outbox table →
// mailer thread → SMTP | file | console): links built from the public origin
// only, retries when the SMTP server is down or answers 4xx, no loss and no
// duplicate across a crash, and the file and console transports.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, csrfClient, uniqueEmail, sleep, SLOW } from './harness.mjs';
import { start as startSmtp, confirmKeyOf, resetLinkOf, hasLinkLine, parseMessage } from './smtp.mjs';
import {
	startAccounts,
	mailEnv,
	NO_LIMITS,
	mark,
	nextMail,
	mailsTo,
	signup,
	signupKey,
	confirm,
	newAccount,
	SUBJECT,
	ANSWER,
} from './accounts-harness.mjs';

const P = 'Gatehouse';
/** Long enough for a lease (2 s) to end and the mailer (poll 1 s) to act on it twice. */
const SETTLE_MS = 4500 * (SLOW > 1 ? 2 : 1);

/** Send one request on a raw socket, with a Host header of our choosing. */
async function rawPost(server, p, body, { host, csrf, extraHeaders = {} }) {
	const json = JSON.stringify(body);
	let head =
		`POST ${p} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n` +
		`Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n` +
		`Cookie: csrftoken=${csrf}\r\nX-CSRFToken: ${csrf}\r\n`;
	for (const [k, v] of Object.entries(extraHeaders)) head += `${k}: ${v}\r\n`;
	return server.raw(head + '\r\n' + json);
}

describe('links come from GATEHOUSE_PUBLIC_ORIGIN', () => {
	const ORIGIN = 'http://accounts.example.test';
	const EVIL = 'evil.example.net';
	let ctx;
	before(async () => {
		ctx = await startAccounts({ env: { GATEHOUSE_PUBLIC_ORIGIN: ORIGIN } });
	});
	after(async () => {
		await ctx?.stop();
	});

	test('a forged Host header does not reach the links in any mail', async () => {
		const c = await csrfClient(ctx.server);
		const csrf = c.cookie('csrftoken');
		const forged = {
			host: EVIL,
			csrf,
			extraHeaders: { 'X-Forwarded-Host': EVIL, 'X-Forwarded-Proto': 'https', Forwarded: `host=${EVIL}` },
		};
		const acct = await newAccount(ctx);
		const fresh = uniqueEmail('host');
		const unknown = uniqueEmail('host-unknown');
		const since = mark(ctx);

		let r = await rawPost(ctx.server, '/api/signup/', { email: fresh, password: 'harbour lantern tranquil 8' }, forged);
		assert.equal(r.response?.status, 201, `signup with a forged Host: ${r.text}`);
		r = await rawPost(
			ctx.server,
			'/api/signup/',
			{ email: acct.email, password: 'harbour lantern tranquil 8' },
			forged,
		);
		assert.equal(r.response?.status, 201, `signup of a taken address with a forged Host: ${r.text}`);
		r = await rawPost(ctx.server, '/api/password/reset/', { email: acct.email }, forged);
		assert.equal(r.response?.status, 200, `reset with a forged Host: ${r.text}`);
		r = await rawPost(ctx.server, '/api/password/reset/', { email: unknown }, forged);
		assert.equal(r.response?.status, 200, `reset of an unknown address with a forged Host: ${r.text}`);

		const mConfirm = await nextMail(ctx, fresh, SUBJECT.confirm(P), since);
		const mTaken = await nextMail(ctx, acct.email, SUBJECT.taken(P), since);
		const mReset = await nextMail(ctx, acct.email, SUBJECT.reset(P), since);
		const mUnknown = await nextMail(ctx, unknown, SUBJECT.resetUnknown(P), since);
		for (const m of [mConfirm, mTaken, mReset, mUnknown]) {
			const all = `${m.raw.toString('latin1')}\n${m.text}\n${m.html}`;
			assert.ok(!all.includes(EVIL), `${m.subject}: the forged host leaked into the mail`);
			assert.ok(!all.includes(`127.0.0.1:${ctx.server.port}`), `${m.subject}: the listen address leaked into the mail`);
		}
		const key = confirmKeyOf(mConfirm, ORIGIN);
		assert.ok(key, `a ${ORIGIN}/confirm-email/<key> line:\n${mConfirm.text}`);
		assert.ok(hasLinkLine(mTaken, `${ORIGIN}/login`) && hasLinkLine(mTaken, `${ORIGIN}/forgot-password`), mTaken.text);
		assert.ok(resetLinkOf(mReset, ORIGIN), `a ${ORIGIN}/reset-password/<uid>/<token> line:\n${mReset.text}`);
		assert.ok(hasLinkLine(mUnknown, `${ORIGIN}/signup`), mUnknown.text);
		assert.equal((await confirm(ctx, key)).status, 200, 'the key from the public-origin link works');
	});
});

describe('delivery through a flaky SMTP server', () => {
	let ctx;
	before(async () => {
		ctx = await startAccounts();
	});
	after(async () => {
		await ctx?.stop();
	});

	test('SMTP down, then up: the message is delivered exactly once', async () => {
		const email = uniqueEmail('down');
		await ctx.smtp.stop();
		const r = await signup(ctx, email);
		assert.equal(r.status, 201, `signup answers while SMTP is down: ${r.text}`);
		assert.deepEqual(r.json, ANSWER.signup);
		await sleep(2500); // a few failed attempts (MAIL_RETRY=1, doubling)
		assert.equal(mailsTo(ctx, email).length, 0);
		await ctx.smtp.start();
		const m = await nextMail(ctx, email, SUBJECT.confirm(P), 0, 20000 * SLOW);
		await sleep(SETTLE_MS);
		assert.equal(mailsTo(ctx, email).length, 1, 'delivered exactly once');
		const key = confirmKeyOf(m, ctx.origin);
		assert.ok(key, m.text);
		assert.equal((await confirm(ctx, key)).status, 200);
	});

	test('a temporary SMTP failure (4xx) is retried until the message goes through, once', async () => {
		const afterData = uniqueEmail('tempfail-data');
		const atRcpt = uniqueEmail('tempfail-rcpt');
		const rejectedBefore = ctx.smtp.rejected.length;

		ctx.smtp.failNext(1, 451);
		await signupKey(ctx, afterData); // waits for the delivered copy
		assert.ok(
			ctx.smtp.rejected.slice(rejectedBefore).some((x) => x.to.includes(afterData) && x.code === 451),
			'the first attempt was answered 451 after DATA',
		);

		ctx.smtp.failNext(1, 450, { stage: 'rcpt' });
		await signupKey(ctx, atRcpt);
		assert.ok(
			ctx.smtp.rejected.slice(rejectedBefore).some((x) => x.to.includes(atRcpt) && x.code === 450),
			'the first attempt was answered 450 at RCPT TO',
		);

		await sleep(SETTLE_MS);
		assert.equal(mailsTo(ctx, afterData).length, 1, 'delivered once after the 451');
		assert.equal(mailsTo(ctx, atRcpt).length, 1, 'delivered once after the 450');
	});
});

describe('a crash between the answer and the delivery', () => {
	const ORIGIN = 'http://crash.example.test';
	let smtp;
	let first;
	let second;
	before(async () => {
		smtp = await startSmtp();
	});
	after(async () => {
		if (second) await second.stop();
		else if (first) {
			await first.kill();
			first.remove();
		}
		await smtp?.stop();
	});

	test('a message queued before SIGKILL is delivered once after the restart', async () => {
		const env = { ...mailEnv(smtp), ...NO_LIMITS, GATEHOUSE_PUBLIC_ORIGIN: ORIGIN };
		first = await startServer({ env });
		const email = uniqueEmail('crash');
		await smtp.stop();
		const c = await csrfClient(first);
		const r = await c.post('/api/signup/', { json: { email, password: 'crash test passphrase 1' } });
		assert.equal(r.status, 201, r.text);
		const exit = await first.kill('SIGKILL');
		assert.equal(exit.signal, 'SIGKILL', 'killed, not exited');
		assert.equal(smtp.messages.length, 0);

		await smtp.start();
		second = await startServer({ env, reuse: first });
		const m = await smtp.waitFor((x) => x.to.includes(email), 20000 * SLOW);
		assert.equal(m.subject, SUBJECT.confirm(P));
		await sleep(SETTLE_MS);
		assert.equal(
			smtp.count((x) => x.to.includes(email)),
			1,
			'delivered exactly once',
		);
		const key = confirmKeyOf(m, ORIGIN);
		assert.ok(key, m.text);
		const c2 = await csrfClient(second);
		const ok = await c2.post('/api/signup/confirm/', { json: { key } });
		assert.equal(ok.status, 200, `the key works on the restarted server: ${ok.text}`);
	});
});

describe('GATEHOUSE_EMAIL=file:DIR', () => {
	let server;
	let dir;
	before(async () => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-mail-'));
		server = await startServer({
			env: {
				...NO_LIMITS,
				GATEHOUSE_EMAIL: `file:${dir}`,
				GATEHOUSE_MAIL_POLL: '1',
				GATEHOUSE_MAIL_RETRY: '1',
				GATEHOUSE_MAIL_LEASE: '2',
			},
		});
	});
	after(async () => {
		await server?.stop();
		if (dir) fs.rmSync(dir, { recursive: true, force: true });
	});

	const emlFiles = () =>
		fs
			.readdirSync(dir)
			.filter((f) => f.endsWith('.eml'))
			.sort();

	test('each message is one .eml file, and its link works', async () => {
		const a = uniqueEmail('file-a');
		const b = uniqueEmail('file-b');
		const nobody = uniqueEmail('file-nobody');
		const c = await csrfClient(server);
		assert.equal(
			(await c.post('/api/signup/', { json: { email: a, password: 'file transport passphrase 1' } })).status,
			201,
		);
		assert.equal(
			(await c.post('/api/signup/', { json: { email: b, password: 'file transport passphrase 2' } })).status,
			201,
		);
		assert.equal((await c.post('/api/password/reset/', { json: { email: nobody } })).status, 200);

		const deadline = Date.now() + 15000 * SLOW;
		let parsed = [];
		for (;;) {
			const files = emlFiles();
			if (files.length >= 3) {
				parsed = await Promise.all(files.map((f) => parseMessage(fs.readFileSync(path.join(dir, f)))));
				// a file still being written parses without its text: look again
				if (parsed.every((m) => m.text.includes(server.origin))) break;
			}
			assert.ok(Date.now() < deadline, `wanted 3 .eml files in ${dir}, have ${JSON.stringify(files)}`);
			await sleep(100);
		}
		await sleep(SETTLE_MS);
		assert.equal(emlFiles().length, 3, `one file per message, no more: ${JSON.stringify(fs.readdirSync(dir))}`);

		const find = (to, subject) => parsed.find((m) => m.to.includes(to) && m.subject === subject);
		const ma = find(a, SUBJECT.confirm(P));
		assert.ok(ma, `a confirmation for ${a}: ${parsed.map((m) => `${m.to}: ${m.subject}`)}`);
		assert.ok(find(b, SUBJECT.confirm(P)), `a confirmation for ${b}`);
		const mn = find(nobody, SUBJECT.resetUnknown(P));
		assert.ok(mn, `a reset-requested mail for ${nobody}`);
		assert.ok(hasLinkLine(mn, `${server.origin}/signup`), mn.text);
		assert.equal(ma.contentType, 'multipart/alternative');
		const key = confirmKeyOf(ma, server.origin);
		assert.ok(key, ma.text);
		const ok = await c.post('/api/signup/confirm/', { json: { key } });
		assert.equal(ok.status, 200, ok.text);
	});
});

describe('GATEHOUSE_EMAIL=console', () => {
	let server;
	before(async () => {
		server = await startServer({
			env: {
				...NO_LIMITS,
				GATEHOUSE_EMAIL: 'console',
				GATEHOUSE_MAIL_POLL: '1',
				GATEHOUSE_MAIL_RETRY: '1',
				GATEHOUSE_MAIL_LEASE: '2',
			},
		});
	});
	after(async () => {
		await server?.stop();
	});

	test('the message is printed on stdout, with a link that works, and not in the logs', async () => {
		const email = uniqueEmail('console');
		const c = await csrfClient(server);
		const r = await c.post('/api/signup/', { json: { email, password: 'console transport passphrase 1' } });
		assert.equal(r.status, 201, r.text);
		const subject = SUBJECT.confirm(P);
		const deadline = Date.now() + 15000 * SLOW;
		let m;
		for (;;) {
			const out = server.stdout();
			// The message as it would be sent: parse it from its first header line.
			const start = out.search(/^[A-Za-z][A-Za-z0-9-]*: /m);
			if (start >= 0 && out.includes(email)) {
				m = await parseMessage(Buffer.from(out.slice(start), 'utf8'));
				if (m.subject === subject && confirmKeyOf(m, server.origin)) break;
			}
			assert.ok(Date.now() < deadline, `no "${subject}" message for ${email} on stdout:\n${out.slice(0, 3000)}`);
			await sleep(100);
		}
		const key = confirmKeyOf(m, server.origin);
		assert.ok(!server.stderr().includes(key), 'the confirmation key appears in the logs (stderr)');
		const ok = await c.post('/api/signup/confirm/', { json: { key } });
		assert.equal(ok.status, 200, ok.text);
	});
});
