// No request can stop the server: client text that reaches an error message
// (Origin, Referer, the method name, a JSON parse error) is never copied in
// unchecked, and an answer that cannot be encoded is a 500 for that request
// alone.  Each test sends the attack over a raw socket (fetch refuses such
// bytes) and then asks the same server for /healthz.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { SLOW, sleep, startServer } from './harness.mjs';

/** A POST with the given extra header lines, as bytes (latin1 keeps \xff). */
function rawPost(path, headerLines, body = '{}') {
	let s = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`;
	s += 'Content-Type: application/json\r\n';
	s += `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n`;
	for (const l of headerLines) s += `${l}\r\n`;
	return Buffer.from(s + '\r\n' + body, 'latin1');
}

async function answerThenAlive(server, bytes) {
	const res = await server.raw(bytes);
	assert.ok(res.response, `no answer (closed=${res.closed}, timedOut=${res.timedOut})`);
	assert.ok(
		res.response.status >= 400 && res.response.status < 500,
		`wanted a 4xx, got ${res.response.status} ${res.response.text}`,
	);
	assert.ok(await server.alive(), 'the server must still answer /healthz');
	assert.equal(server.exited(), null, 'the server process exited');
	return res.response;
}

describe('malformed client text never stops the process (http public origin)', () => {
	let server;
	before(async () => {
		server = await startServer();
	});
	after(async () => {
		await server.stop();
	});

	test('Origin with an invalid UTF-8 byte on logout answers 403 and the server lives', async () => {
		const r = await answerThenAlive(server, rawPost('/api/logout/', ['Origin: http://\xff']));
		assert.equal(r.status, 403);
		assert.match(r.json.detail, /^CSRF Failed: Origin checking failed - http:\/\/\? does not match/);
	});

	test('Origin whose multi-byte character would be cut by a length limit answers 403', async () => {
		const origin = 'http://' + 'a'.repeat(192) + '\u00e9';
		const bytes = Buffer.concat([
			rawPost('/api/logout/', []).subarray(0, 0),
			Buffer.from(
				'POST /api/logout/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n' +
					'Content-Type: application/json\r\nContent-Length: 2\r\nOrigin: ',
				'latin1',
			),
			Buffer.from(origin, 'utf8'),
			Buffer.from('\r\n\r\n{}', 'latin1'),
		]);
		const r = await answerThenAlive(server, bytes);
		assert.equal(r.status, 403);
		// only printable ASCII of the client's text comes back, cut with "..."
		assert.match(r.json.detail, /^CSRF Failed: Origin checking failed - http:\/\/a+\.\.\. does not match/);
		assert.ok(/^[\x20-\x7e]*$/.test(r.json.detail));
	});

	test('a method name with non-ASCII bytes on an API path answers 405 without echoing it', async () => {
		const bytes = Buffer.from(
			'G\xc3\xa9T /api/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
			'latin1',
		);
		const res = await server.raw(bytes);
		assert.ok(res.response, 'no answer');
		assert.ok(res.response.status === 405 || res.response.status === 400, `got ${res.response.status}`);
		if (res.response.json) assert.ok(/^[\x20-\x7e]*$/.test(res.response.json.detail));
		assert.ok(await server.alive());
	});

	test('a long unknown method name answers 405 with a fixed text', async () => {
		const res = await server.raw(
			Buffer.from(`${'X'.repeat(300)} /api/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
		);
		assert.ok(res.response);
		assert.equal(res.response.status, 405);
		assert.equal(res.response.json.detail, 'Method "OTHER" not allowed.');
		assert.ok(await server.alive());
	});

	test('a path with invalid UTF-8 leaves a valid JSON log line', async () => {
		const res = await server.raw(
			Buffer.from('GET /api/\xff\xfe%FF/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 'latin1'),
		);
		assert.equal(res.response.status, 404);
		assert.ok(await server.alive());
		// the access line is written when the connection's request completes,
		// which may come a moment after the answer (valgrind): wait for it
		const seen = () =>
			server
				.stderr()
				.split('\n')
				.some((l) => l.includes('"path":"/api/\\ufffd'));
		for (let waited = 0; !seen() && waited < 5000 * SLOW; waited += 50) await sleep(50);
		const raw = server.logLines().filter((l) => l.__raw !== undefined);
		assert.deepEqual(raw, [], 'every log line must be JSON');
		// written as the JSON escape, not as raw bytes a log shipper would reject
		assert.ok(seen(), 'the access line shows the bad bytes as the escape \\ufffd');
	});

	test('a JSON body with invalid UTF-8 answers 400 with a printable parse error', async () => {
		const c = server.client();
		await c.get('/api/login-set-cookie/');
		const csrf = c.cookie('csrftoken');
		const bytes = Buffer.concat([
			Buffer.from(
				`POST /api/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n` +
					`Cookie: csrftoken=${csrf}\r\nX-CSRFToken: ${csrf}\r\nContent-Length: 14\r\n\r\n`,
				'latin1',
			),
			Buffer.from([0x7b, 0x22, 0x65, 0x6d, 0x61, 0x69, 0x6c, 0x22, 0x3a, 0xff, 0xfe, 0x22, 0x22, 0x7d]),
		]);
		const r = await answerThenAlive(server, bytes);
		assert.equal(r.status, 400);
		assert.match(r.json.detail, /^JSON parse error - /);
		assert.ok(/^[\x20-\x7e]*$/.test(r.json.detail), r.json.detail);
	});
});

describe('malformed client text never stops the process (https public origin)', () => {
	let server;
	before(async () => {
		server = await startServer({ env: { GATEHOUSE_PUBLIC_ORIGIN: 'https://app.example.test' } });
	});
	after(async () => {
		await server.stop();
	});

	test('Referer with an invalid UTF-8 byte and no Origin answers 403 and the server lives', async () => {
		const r = await answerThenAlive(server, rawPost('/api/logout/', ['Referer: https://\xff/x']));
		assert.equal(r.status, 403);
		assert.match(r.json.detail, /^CSRF Failed: Referer checking failed - https:\/\/\?\/x does not match/);
	});

	test('Referer whose multi-byte character would be cut answers 403 with printable text', async () => {
		const bytes = Buffer.concat([
			Buffer.from(
				'POST /api/logout/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n' +
					'Content-Length: 2\r\nReferer: ',
				'latin1',
			),
			Buffer.from('https://' + 'b'.repeat(191) + '\u20ac/', 'utf8'),
			Buffer.from('\r\n\r\n{}', 'latin1'),
		]);
		const r = await answerThenAlive(server, bytes);
		assert.equal(r.status, 403);
		assert.ok(/^[\x20-\x7e]*$/.test(r.json.detail), r.json.detail);
	});
});
