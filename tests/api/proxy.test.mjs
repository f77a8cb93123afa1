// Behind our own nginx (GATEHOUSE_TRUST_PROXY): with no X-Real-IP, the client
// IP is the LAST X-Forwarded-For hop, the one nginx appended; every hop before
// it was written by the client and proves nothing.  Observed through the
// per-IP login throttle and the ip the session list shows.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createUser, csrfClient, uniqueEmail } from './harness.mjs';

const PW = 'proxy pass 1';
const IP_LIMIT = 3;

/** A failed login (unknown email) with only an X-Forwarded-For header. */
async function failLogin(srv, xff) {
	const c = await csrfClient(srv);
	return c.post('/api/login/', {
		json: { email: uniqueEmail('nobody'), password: 'wrong password 1' },
		headers: { 'X-Forwarded-For': xff },
	});
}

async function sessionIp(srv, email, headers) {
	const c = await csrfClient(srv);
	const r = await c.post('/api/login/', { json: { email, password: PW }, headers });
	assert.equal(r.status, 200, r.text);
	const list = await c.get('/api/sessions/');
	assert.equal(list.status, 200, list.text);
	const [mine] = list.json.filter((s) => s.current);
	return mine.ip;
}

describe('with GATEHOUSE_TRUST_PROXY', () => {
	let srv;
	before(async () => {
		srv = await startServer({
			env: {
				GATEHOUSE_TRUST_PROXY: 'true',
				GATEHOUSE_LOGIN_IP_LIMIT: String(IP_LIMIT),
				GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '10000',
			},
		});
	});
	after(async () => {
		await srv?.stop();
	});

	test('varying the client-written first X-Forwarded-For hop gives no fresh login budget', async () => {
		const real = '203.0.113.7';
		for (let i = 1; i <= IP_LIMIT; i++) {
			const r = await failLogin(srv, `10.1.1.${i}, ${real}`);
			assert.equal(r.status, 400, `failure ${i}: ${r.status} ${r.text}`);
		}
		const r = await failLogin(srv, `10.1.1.${IP_LIMIT + 1}, ${real}`);
		assert.equal(r.status, 429, `a new first hop before the same proxy-added hop: ${r.status} ${r.text}`);
		assert.match(String(r.headers.get('retry-after')), /^\d+$/);
	});

	test('a different last X-Forwarded-For hop is a different client with its own budget', async () => {
		const spoofed = '9.9.9.9';
		for (let i = 1; i <= IP_LIMIT; i++)
			assert.equal((await failLogin(srv, `${spoofed}, 203.0.113.20`)).status, 400, `failure ${i}`);
		assert.equal((await failLogin(srv, `${spoofed}, 203.0.113.20`)).status, 429, 'that client is throttled');
		const other = await failLogin(srv, `${spoofed}, 203.0.113.21`);
		assert.equal(other.status, 400, `same first hop, another last hop: ${other.status} ${other.text}`);
	});

	test('the session list shows the last X-Forwarded-For hop as the ip', async () => {
		const email = createUser(srv, uniqueEmail('xff'), PW);
		assert.equal(await sessionIp(srv, email, { 'X-Forwarded-For': '6.6.6.6, 198.51.100.9' }), '198.51.100.9');
		assert.equal(await sessionIp(srv, email, { 'X-Forwarded-For': '6.6.6.6,198.51.100.10' }), '198.51.100.10');
		assert.equal(
			await sessionIp(srv, email, { 'X-Forwarded-For': '1.1.1.1, 6.6.6.6, 198.51.100.11' }),
			'198.51.100.11',
		);
		assert.equal(await sessionIp(srv, email, { 'X-Forwarded-For': '198.51.100.12' }), '198.51.100.12');
	});

	test('X-Real-IP, when nginx sets it, wins over X-Forwarded-For', async () => {
		const email = createUser(srv, uniqueEmail('xrip'), PW);
		const ip = await sessionIp(srv, email, {
			'X-Real-IP': '198.51.100.30',
			'X-Forwarded-For': '6.6.6.6, 198.51.100.31',
		});
		assert.equal(ip, '198.51.100.30');
	});
});

describe('without GATEHOUSE_TRUST_PROXY', () => {
	let srv;
	before(async () => {
		srv = await startServer();
	});
	after(async () => {
		await srv?.stop();
	});

	test('X-Forwarded-For and X-Real-IP are ignored: the session ip is the peer address', async () => {
		const email = createUser(srv, uniqueEmail('noproxy'), PW);
		const ip = await sessionIp(srv, email, {
			'X-Real-IP': '198.51.100.40',
			'X-Forwarded-For': '6.6.6.6, 198.51.100.41',
		});
		assert.equal(ip, '127.0.0.1');
	});
});
