// The strict edge, for when gatehouse faces clients directly: a deadline for
// the request head and a minimum body rate, a per-IP connection cap by
// default, ambiguous framing refused with 400 and the connection closed, and
// HSTS on an https public origin.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, sleep, SLOW } from './harness.mjs';

let server;

before(async () => {
	server = await startServer();
});
after(async () => {
	if (server) assert.ok(await server.alive(), 'server alive at the end');
	await server?.stop();
});

/** The server answers /healthz on a fresh connection. */
async function healthy(srv = server) {
	const r = await fetch(srv.url('/healthz'), { signal: AbortSignal.timeout(3000 * SLOW) });
	await r.arrayBuffer();
	return r.status === 200;
}

test('a client sending one header line a second is cut at the head deadline while others are served', async () => {
	const chunks = ['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'];
	for (let i = 0; i < 15; i++) chunks.push(1000, `X-Slow-${i}: a\r\n`);
	const slow = server.raw(chunks, { timeout: 15000 * SLOW });
	let served = 0;
	let done = false;
	slow.then(() => {
		done = true;
	});
	while (!done) {
		assert.ok(await healthy(), 'a normal client was not served while the slow one was open');
		served++;
		await sleep(300);
	}
	const r = await slow;
	assert.ok(!r.timedOut && r.closed, 'the slow client was never cut');
	assert.equal(r.responses.length, 0, `the slow client got an answer: ${r.text.slice(0, 100)}`);
	// default head deadline 5 s, checked a few times a second
	assert.ok(r.elapsed < 7500 * SLOW, `cut after ${Math.round(r.elapsed)} ms, wanted within the 5 s deadline`);
	assert.ok(served >= 5, `only ${served} normal requests were served meanwhile`);
});

test('a request body sent one byte a second is cut', async () => {
	const chunks = [
		'POST /api/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
			'Content-Length: 100\r\n\r\n',
	];
	for (let i = 0; i < 20; i++) chunks.push(1000, ' ');
	const r = await server.raw(chunks, { timeout: 20000 * SLOW });
	assert.ok(!r.timedOut && r.closed, 'the slow body was never cut');
	assert.equal(r.responses.length, 0, `the slow body got an answer: ${r.text.slice(0, 100)}`);
	assert.ok(r.elapsed < 9000 * SLOW, `cut after ${Math.round(r.elapsed)} ms`);
	assert.ok(await healthy());
});

describe('ambiguous framing is 400 with the connection closed and no second answer', () => {
	const second = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
	const post = (headers, body) =>
		`POST /api/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}\r\n${body}`;
	const cases = {
		'Content-Length with Transfer-Encoding':
			post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n') + second,
		'Transfer-Encoding with Content-Length':
			post('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', '0\r\n\r\n') + second,
		'two equal Content-Length headers': post('Content-Length: 2\r\nContent-Length: 2\r\n', '{}') + second,
		'two different Content-Length headers': post('Content-Length: 2\r\nContent-Length: 44\r\n', '{}') + second,
		'Transfer-Encoding: gzip': post('Transfer-Encoding: gzip\r\n', '{}') + second,
		'Transfer-Encoding: chunked, gzip': post('Transfer-Encoding: chunked, gzip\r\n', '2\r\n{}\r\n0\r\n\r\n') + second,
		'a bare LF after the request line': 'GET /healthz HTTP/1.1\nHost: 127.0.0.1\r\n\r\n' + second,
		'a bare LF after a header': 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\nX-A: b\r\n\r\n' + second,
		'a bare LF ending the head': 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\n' + second,
		'an obs-fold continuation line': 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: b\r\n  folded\r\n\r\n' + second,
		'a control character in a header value': 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\x01b\r\n\r\n' + second,
		'a space before the colon': 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length : 0\r\n\r\n' + second,
	};
	for (const [name, data] of Object.entries(cases)) {
		test(name, async () => {
			const r = await server.raw(Buffer.from(data, 'latin1'), { responses: 2, timeout: 3000 * SLOW });
			assert.ok(!r.timedOut, `no close within 3 s; got ${JSON.stringify(r.text.slice(0, 200))}`);
			assert.deepEqual(
				r.responses.map((x) => x.status),
				[400],
				`answers: ${JSON.stringify(r.text.slice(0, 300))}`,
			);
			assert.equal(typeof r.response.json?.detail, 'string', `400 body ${r.response.text}`);
			assert.ok(r.closed, 'connection left open');
		});
	}
});

test('an idle keep-alive connection outlives the head deadline and serves a second request', async () => {
	const srv = await startServer({ env: { GATEHOUSE_HEAD_TIMEOUT: '1' } });
	try {
		const req = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
		const r = await srv.raw([req, 2500, req], { responses: 2, timeout: 8000 * SLOW });
		assert.deepEqual(
			r.responses.map((x) => x.status),
			[200, 200],
			r.text.slice(0, 300),
		);
	} finally {
		await srv.stop();
	}
});

test('one address cannot hold more than the default connections per HTTP thread', async () => {
	const srv = await startServer({ env: { GATEHOUSE_THREADS: '1' } });
	const socks = [];
	try {
		for (let i = 0; i < 80; i++) {
			const s = net.connect(srv.port, '127.0.0.1');
			s.closedByServer = false;
			s.on('close', () => {
				s.closedByServer = true;
			});
			s.on('error', () => {});
			socks.push(s);
		}
		await sleep(1000);
		const cut = socks.filter((s) => s.closedByServer).length;
		assert.ok(cut >= 16 && cut <= 16 + 1, `${cut} of 80 connections were refused, wanted the 16 over the default 64`);
	} finally {
		for (const s of socks) s.destroy();
	}
	await sleep(200);
	assert.ok(await healthy(srv), 'the address is served again once its connections close');
	await srv.stop();
});

describe('HSTS', () => {
	test('an https public origin sends Strict-Transport-Security on every response', async () => {
		const srv = await startServer({ env: { GATEHOUSE_PUBLIC_ORIGIN: 'https://auth.example.com' } });
		try {
			for (const p of ['/healthz', '/api/nothing-here/', '/', '/robots.txt']) {
				const r = await srv.fetch(p);
				await r.arrayBuffer();
				assert.equal(r.headers.get('strict-transport-security'), 'max-age=31536000', p);
			}
		} finally {
			await srv.stop();
		}
	});

	test('GATEHOUSE_HSTS_MAX_AGE sets the max-age and 0 turns it off', async () => {
		const srv = await startServer({
			env: { GATEHOUSE_PUBLIC_ORIGIN: 'https://auth.example.com', GATEHOUSE_HSTS_MAX_AGE: '600' },
		});
		try {
			const r = await srv.fetch('/healthz');
			assert.equal(r.headers.get('strict-transport-security'), 'max-age=600');
		} finally {
			await srv.stop();
		}
		const off = await startServer({
			env: { GATEHOUSE_PUBLIC_ORIGIN: 'https://auth.example.com', GATEHOUSE_HSTS_MAX_AGE: '0' },
		});
		try {
			const r = await off.fetch('/healthz');
			assert.equal(r.headers.get('strict-transport-security'), null);
		} finally {
			await off.stop();
		}
	});

	test('a plain-http public origin sends no Strict-Transport-Security', async () => {
		const r = await server.fetch('/healthz');
		await r.arrayBuffer();
		assert.equal(r.status, 200);
		assert.equal(r.headers.get('strict-transport-security'), null);
	});

	test('check --deploy warns about an https origin without HSTS and not with it', () => {
		const https = { GATEHOUSE_PUBLIC_ORIGIN: 'https://auth.example.com' };
		const off = server.cli(['check', '--deploy'], { env: { ...https, GATEHOUSE_HSTS_MAX_AGE: '0' } });
		assert.match(off.stdout, /WARNING .*HSTS/i, off.stdout);
		const on = server.cli(['check', '--deploy'], { env: https });
		assert.doesNotMatch(on.stdout, /HSTS/i, on.stdout);
	});
});
