// deploy/nginx-cluster.conf, for real: the sample is rendered (its ports, a throw-away
// TLS certificate, temporary paths; every substitution must match the sample exactly
// once, so a change to the sample that the test does not follow fails here), checked
// with `nginx -t` (deploy/nginx.conf too), then run with nginx in front of two gatehouse
// instances on one PostgreSQL database, with GATEHOUSE_TRUST_PROXY as the sample says.
// Through it: the pool answers /healthz and the SPA's pages, nginx answers /assets/
// from disk, the client's address reaches gatehouse and a client-written X-Real-IP
// does not, requests reach both instances, a logout is refused everywhere, auth_request
// guards the backend, a stopped instance costs no failed request, and a POST that an
// instance took and dropped is answered 502, never sent twice.
//
// PostgreSQL only: on the run's cluster (run-pg.mjs), or, run alone, on a private one.
// Needs nginx (Debian's nginx-light: scripts/install-deps).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PG, SLOW, startServer, startInstance, createUser, uniqueEmail, sleep, INDEX_MARKER } from './harness.mjs';
import { startCluster, freePort } from './pg.mjs';
import { enforceProxied } from './openapi-check.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEPLOY = path.resolve(HERE, '../../deploy');
const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
const HOST = 'app.example.com';
const CLIENT_IP = '127.0.0.2'; // the browser's address: nginx listens on 127.0.0.1 and proxies from it
const PW = 'nginx pool harbour 31';
const REVOCATION_BOUND_MS = 250 * SLOW; // as tests/api/cluster.test.mjs

let pg;
let ownCluster = null;
let A, B; // gatehouse instances on one database
let tlsPort;
let work; // temp dir: certificate, rendered configuration, nginx prefixes, assets
let cert;
let backend; // stands in for "your API" behind auth_request
let backendSeen = [];
const nginxes = [];

/** Replace `from` by `to` in text, wanting exactly one occurrence. */
function sub(text, from, to) {
	const n = text.split(from).length - 1;
	assert.equal(n, 1, `the sample should hold ${JSON.stringify(from)} once, holds it ${n} times`);
	return text.replace(from, to);
}

function makeCert(dir) {
	const key = path.join(dir, 'key.pem');
	const crt = path.join(dir, 'cert.pem');
	const r = spawnSync(
		'openssl',
		['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '2'].concat([
			'-subj',
			`/CN=${HOST}`,
			'-addext',
			`subjectAltName=DNS:${HOST}`,
		]),
		{ encoding: 'utf8' },
	);
	assert.equal(r.status, 0, `openssl: ${r.stderr}`);
	return { key, crt, pem: fs.readFileSync(crt) };
}

/**
 * deploy/nginx-cluster.conf with this test's ports and paths.  extraServers: more
 * `server` lines for the pool (the POST-retry test's failing instance).
 */
function renderCluster({ upstreams, backendPort, assetsRoot, extraServers = [] }) {
	let s = fs.readFileSync(path.join(DEPLOY, 'nginx-cluster.conf'), 'utf8');
	s = sub(s, 'listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;`);
	s = sub(s, 'listen 80;', `listen 127.0.0.1:${upstreams.httpPort};`);
	s = sub(s, '/etc/ssl/app.example.com/fullchain.pem', cert.crt);
	s = sub(s, '/etc/ssl/app.example.com/privkey.pem', cert.key);
	s = sub(s, 'server 127.0.0.1:8001 max_fails', `server 127.0.0.1:${upstreams.a} max_fails`);
	s = sub(
		s,
		'server 127.0.0.1:8002 max_fails=3 fail_timeout=10s;',
		[`server 127.0.0.1:${upstreams.b} max_fails=3 fail_timeout=10s;`, ...extraServers].join('\n    '),
	);
	s = sub(s, 'server 127.0.0.1:9000;', `server 127.0.0.1:${backendPort};`);
	s = sub(s, 'root /srv/gatehouse;', `root ${assetsRoot};`);
	return s;
}

/** deploy/nginx.conf (one instance) with this test's ports and paths. */
function renderSingle(port, gatehousePort, backendPort) {
	let s = fs.readFileSync(path.join(DEPLOY, 'nginx.conf'), 'utf8');
	s = sub(s, 'listen 443 ssl http2;', `listen 127.0.0.1:${port} ssl http2;`);
	s = sub(s, 'listen 80;', `listen 127.0.0.1:${port + 1};`);
	s = sub(s, '/etc/ssl/app.example.com/fullchain.pem', cert.crt);
	s = sub(s, '/etc/ssl/app.example.com/privkey.pem', cert.key);
	s = sub(s, 'server 127.0.0.1:8000;', `server 127.0.0.1:${gatehousePort};`);
	s = sub(s, 'server 127.0.0.1:9000;', `server 127.0.0.1:${backendPort};`);
	return s;
}

/** A prefix dir with nginx.conf including site (the sample goes in http {}, as in conf.d/). */
function nginxPrefix(name, site) {
	const dir = path.join(work, name);
	fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
	fs.writeFileSync(path.join(dir, 'site.conf'), site);
	fs.writeFileSync(
		path.join(dir, 'nginx.conf'),
		[
			`pid ${dir}/nginx.pid;`,
			`error_log ${dir}/error.log warn;`,
			'worker_processes 1;',
			'events { worker_connections 256; }',
			'http {',
			'    access_log off;',
			`    client_body_temp_path ${dir}/tmp/body;`,
			`    proxy_temp_path ${dir}/tmp/proxy;`,
			`    include ${dir}/site.conf;`,
			'}',
			'',
		].join('\n'),
	);
	return dir;
}

function nginxTest(dir) {
	return spawnSync(NGINX, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf')], { encoding: 'utf8' });
}

/** Start nginx on a prefix made by nginxPrefix; resolves once it answers TLS on tlsPort. */
async function startNginx(dir, port) {
	const child = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
		stdio: ['ignore', 'ignore', 'pipe'],
	});
	let stderr = '';
	child.stderr.setEncoding('utf8');
	child.stderr.on('data', (d) => (stderr += d));
	const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
	let gone = null;
	exited.then((e) => (gone = e));
	const n = {
		dir,
		child,
		errors: () => {
			try {
				return fs.readFileSync(path.join(dir, 'error.log'), 'utf8');
			} catch {
				return '';
			}
		},
		async stop() {
			if (gone === null) child.kill('SIGQUIT');
			const t = setTimeout(() => child.kill('SIGKILL'), 10000);
			await exited;
			clearTimeout(t);
		},
	};
	nginxes.push(n);
	const deadline = Date.now() + 10000 * SLOW;
	for (;;) {
		if (gone !== null) throw new Error(`nginx exited at start (${JSON.stringify(gone)}): ${stderr}\n${n.errors()}`);
		const ok = await new Promise((resolve) => {
			const s = net.connect(port, '127.0.0.1', () => {
				s.destroy();
				resolve(true);
			});
			s.on('error', () => resolve(false));
		});
		if (ok) return n;
		if (Date.now() > deadline) throw new Error(`nginx does not listen on ${port}: ${stderr}`);
		await sleep(50);
	}
}

/** One HTTPS request to nginx on port as a browser at CLIENT_IP would make it. */
function request(port, method, p, { headers = {}, body } = {}) {
	return new Promise((resolve, reject) => {
		const req = https.request(
			{
				host: '127.0.0.1',
				port,
				servername: HOST,
				ca: cert.pem,
				localAddress: CLIENT_IP,
				agent: false,
				method,
				path: p,
				headers: { Host: `${HOST}:${port}`, ...headers },
			},
			(res) => {
				let text = '';
				res.setEncoding('utf8');
				res.on('data', (d) => (text += d));
				res.on('end', () => {
					const answer = { status: res.statusCode, headers: res.headers, text };
					// gatehouse's answers through nginx are checked against docs/openapi.yaml
					try {
						enforceProxied(method, `https://${HOST}:${port}${p}`, answer);
					} catch (e) {
						reject(e);
						return;
					}
					resolve(answer);
				});
			},
		);
		req.on('error', reject);
		req.setTimeout(30000 * SLOW, () => req.destroy(new Error(`${method} ${p}: no answer`)));
		if (body !== undefined) req.write(body);
		req.end();
	});
}

/** A browser behind nginx: its own cookie jar, the public origin on unsafe requests. */
class Browser {
	constructor(port) {
		this.port = port;
		this.jar = new Map();
	}
	async send(method, p, { json, headers = {} } = {}) {
		const h = { ...headers };
		if (this.jar.size) h.Cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
		if (!['GET', 'HEAD'].includes(method)) {
			h.Origin = `https://${HOST}:${this.port}`;
			if (this.jar.has('csrftoken')) h['X-CSRFToken'] = this.jar.get('csrftoken');
		}
		let body;
		if (json !== undefined) {
			body = JSON.stringify(json);
			h['Content-Type'] = 'application/json';
		}
		const r = await request(this.port, method, p, { headers: h, body });
		for (const line of [].concat(r.headers['set-cookie'] || [])) {
			const [pair, ...attrs] = line.split(';');
			const i = pair.indexOf('=');
			const name = pair.slice(0, i).trim();
			const value = pair.slice(i + 1).trim();
			if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '') this.jar.delete(name);
			else this.jar.set(name, value);
		}
		return r;
	}
	get(p, o) {
		return this.send('GET', p, o);
	}
	post(p, o) {
		return this.send('POST', p, o);
	}
	async login(email, password = PW, headers = {}) {
		assert.equal((await this.get('/api/login-set-cookie/')).status, 200);
		return this.post('/api/login/', { json: { email, password }, headers });
	}
}

/** Lines of an instance's access log (GATEHOUSE_LOG_LEVEL info) for this path. */
function served(server, p) {
	return server.logLines().filter((l) => l.msg === 'request' && l.path === p).length;
}

before(async () => {
	assert.ok(NGINX, 'nginx is missing (Debian: nginx-light, which scripts/install-deps installs)');
	pg = PG || (ownCluster = await startCluster());
	work = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-nginx-'));
	fs.chmodSync(work, 0o755); // nginx's workers run as nobody when the master is root
	cert = makeCert(work);
	fs.mkdirSync(path.join(work, 'assets'), { recursive: true });
	fs.writeFileSync(path.join(work, 'assets', 'release1-Zz98Yy76.js'), 'console.log("from nginx");\n');
	fs.chmodSync(path.join(work, 'assets'), 0o755);
	fs.chmodSync(path.join(work, 'assets', 'release1-Zz98Yy76.js'), 0o644);

	backend = http.createServer((req, res) => {
		backendSeen.push({
			method: req.method,
			url: req.url,
			user: req.headers['x-auth-user-id'],
			email: req.headers['x-auth-email'],
			staff: req.headers['x-auth-staff'],
		});
		req.resume();
		req.on('end', () => {
			res.writeHead(200, { 'Content-Type': 'text/plain' });
			res.end('backend');
		});
	});
	await new Promise((r) => backend.listen(0, '127.0.0.1', r));

	tlsPort = await freePort();
	const env = {
		GATEHOUSE_TRUST_PROXY: 'true',
		GATEHOUSE_PUBLIC_ORIGIN: `https://${HOST}:${tlsPort}`,
		GATEHOUSE_SESSION_CACHE_TTL: '5',
		GATEHOUSE_LOGIN_IP_LIMIT: '100000',
		GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '100000',
		GATEHOUSE_LOGIN_ACCOUNT_INFLIGHT: '100',
		GATEHOUSE_LOG_LEVEL: 'info',
	};
	A = await startServer({ pg, env });
	B = await startInstance(A);
});

after(async () => {
	for (const n of nginxes) await n.stop();
	await B?.stop();
	await A?.stop();
	await new Promise((r) => (backend ? backend.close(r) : r()));
	await ownCluster?.destroy();
	if (work && !process.env.GATEHOUSE_KEEP_TMP) fs.rmSync(work, { recursive: true, force: true });
});

test('nginx -t accepts deploy/nginx.conf and deploy/nginx-cluster.conf as rendered', async () => {
	const single = nginxPrefix('single', renderSingle(await freePort(), A.port, backend.address().port));
	let r = nginxTest(single);
	assert.equal(r.status, 0, `deploy/nginx.conf:\n${r.stderr}`);
	assert.match(r.stderr, /test is successful/);
	const cluster = nginxPrefix(
		'check',
		renderCluster({
			upstreams: { a: A.port, b: B.port, httpPort: await freePort() },
			backendPort: backend.address().port,
			assetsRoot: work,
		}),
	);
	r = nginxTest(cluster);
	assert.equal(r.status, 0, `deploy/nginx-cluster.conf:\n${r.stderr}`);
	assert.match(r.stderr, /test is successful/);
});

describe('two instances behind deploy/nginx-cluster.conf', () => {
	let ngx;
	const email = uniqueEmail('nginx');

	before(async () => {
		createUser(A, email, PW);
		const dir = nginxPrefix(
			'pool',
			renderCluster({
				upstreams: { a: A.port, b: B.port, httpPort: await freePort() },
				backendPort: backend.address().port,
				assetsRoot: work,
			}),
		);
		ngx = await startNginx(dir, tlsPort);
	});

	test('/healthz and the SPA come from the pool, /assets/ from nginx, and both instances serve', async () => {
		const a0 = served(A, '/healthz');
		const b0 = served(B, '/healthz');
		for (let i = 0; i < 8; i++) {
			const r = await request(tlsPort, 'GET', '/healthz');
			assert.equal(r.status, 200, r.text);
			assert.deepEqual(JSON.parse(r.text), { status: 'ok' });
		}
		await sleep(100); // the access log line is written as the request completes
		assert.ok(served(A, '/healthz') > a0 && served(B, '/healthz') > b0, 'round robin reaches both instances');

		const page = await request(tlsPort, 'GET', '/account/sessions');
		assert.equal(page.status, 200);
		assert.ok(page.text.includes(INDEX_MARKER), 'a history-mode route is index.html, from gatehouse');
		assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
		assert.equal(page.headers['cache-control'], 'no-cache');

		const asset = await request(tlsPort, 'GET', '/assets/release1-Zz98Yy76.js');
		assert.equal(asset.status, 200, 'an asset only nginx has (a previous release) is served');
		assert.equal(asset.text, 'console.log("from nginx");\n');
		assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
		assert.equal(asset.headers['x-content-type-options'], 'nosniff');
		const missing = await request(tlsPort, 'GET', '/assets/gone-Qq11Rr22.js');
		assert.equal(missing.status, 404, 'a missing asset is a 404, never index.html as script');
	});

	test('sign-in through nginx: gatehouse sees the client address, not nginx nor a client-written X-Real-IP', async () => {
		const br = new Browser(tlsPort);
		const spoof = { 'X-Real-IP': '203.0.113.9', 'X-Forwarded-For': '198.51.100.7' };
		const r = await br.login(email, PW, spoof);
		assert.equal(r.status, 200, r.text);
		const list = await br.get('/api/sessions/');
		assert.equal(list.status, 200, list.text);
		const mine = JSON.parse(list.text).find((s) => s.current);
		assert.equal(mine.ip, CLIENT_IP);
	});

	test('a logout through nginx is refused by both instances within the bound', async () => {
		const br = new Browser(tlsPort);
		assert.equal((await br.login(email)).status, 200);
		// warm both instances' caches (round robin alternates them)
		for (let i = 0; i < 6; i++) assert.equal((await br.get('/api/users/profile/')).status, 200);
		const cookie = [...br.jar].map(([k, v]) => `${k}=${v}`).join('; ');
		const out = await br.post('/api/logout/');
		assert.equal(out.status, 200, out.text);
		const answeredAt = performance.now();
		// refused for good: the first refusal of a streak of 8 (each instance several times
		// over, round robin), since one instance refusing says nothing of the other's cache
		let streakFrom = null;
		let streak = 0;
		while (streak < 8) {
			const r = await request(tlsPort, 'GET', '/api/users/profile/', { headers: { Cookie: cookie } });
			const at = performance.now();
			assert.ok(r.status === 200 || r.status === 401, `${r.status} ${r.text}`);
			if (r.status === 401) {
				if (streak++ === 0) streakFrom = at;
			} else {
				streak = 0;
				assert.ok(at - answeredAt < 5000, 'still accepted after 5 s');
			}
		}
		const delay = streakFrom - answeredAt;
		console.log(`logout through nginx refused by both instances after ${delay.toFixed(1)} ms`);
		assert.ok(delay <= REVOCATION_BOUND_MS, `refused after ${delay.toFixed(1)} ms`);
		for (let i = 0; i < 6; i++) {
			const r = await request(tlsPort, 'GET', '/api/users/profile/', { headers: { Cookie: cookie } });
			assert.equal(r.status, 401, `request ${i} after the refusal: ${r.status}`);
		}
	});

	test('auth_request: the backend gets the signed-in user, whatever the method; anonymous never reaches it', async () => {
		const br = new Browser(tlsPort);
		assert.equal((await br.login(email)).status, 200);
		const id = JSON.parse((await br.get('/api/users/profile/')).text).id;
		backendSeen = [];
		const g = await br.get('/backend/items?x=1');
		assert.equal(g.status, 200, g.text);
		const p = await br.post('/backend/items', { json: { a: 1 } });
		assert.equal(p.status, 200, p.text);
		assert.deepEqual(
			backendSeen.map((s) => [s.method, s.url, s.user, s.email, s.staff]),
			[
				['GET', '/items?x=1', String(id), email, 'false'],
				['POST', '/items', String(id), email, 'false'],
			],
		);
		backendSeen = [];
		const anon = await request(tlsPort, 'POST', '/backend/items', { body: 'x' });
		assert.equal(anon.status, 401);
		assert.deepEqual(backendSeen, [], 'the backend saw an anonymous request');
	});

	test('an instance stopped: every request still answered by the other, logins included', async () => {
		const br = new Browser(tlsPort);
		assert.equal((await br.login(email)).status, 200);
		await B.stop();
		B = null;
		for (let i = 0; i < 10; i++) {
			const r = await br.get('/api/users/profile/');
			assert.equal(r.status, 200, `profile ${i}: ${r.status} ${r.text}`);
		}
		for (let i = 0; i < 4; i++) {
			const r = await new Browser(tlsPort).login(email);
			assert.equal(r.status, 200, `login ${i}: ${r.status} ${r.text}`);
		}
		assert.match(ngx.errors(), /connect\(\) failed \(111: Connection refused\)/, 'nginx did try the stopped one');
	});
});

test('a POST that an instance took and dropped is a 502, never sent to another; a GET goes on', async () => {
	// a third pool member that reads each request and closes the connection unanswered
	const dropped = [];
	const hole = net.createServer((s) => {
		s.once('data', (d) => {
			dropped.push(d.toString('latin1').split(' ', 2).join(' '));
			s.destroy();
		});
		s.on('error', () => {});
	});
	await new Promise((r) => hole.listen(0, '127.0.0.1', r));
	const port = await freePort();
	const save = tlsPort;
	tlsPort = port;
	try {
		const dir = nginxPrefix(
			'hole',
			renderCluster({
				upstreams: { a: A.port, b: A.port, httpPort: await freePort() },
				backendPort: backend.address().port,
				assetsRoot: work,
				extraServers: [`server 127.0.0.1:${hole.address().port} max_fails=100 fail_timeout=10s;`],
			}),
		);
		// the instances' public origin names the first nginx's port: requests through this
		// one send that Origin (the same site through a second front door)
		const ngx = await startNginx(dir, port);
		const email = uniqueEmail('hole');
		createUser(A, email, PW);
		const id = Number(A.sql(`SELECT id FROM users WHERE email = '${email}';`).trim());
		for (let i = 0; i < 6; i++) {
			const r = await request(port, 'GET', '/healthz');
			assert.equal(r.status, 200, `GET ${i}: ${r.status} (a GET is retried on the next instance)`);
		}
		let ok = 0;
		let bad = 0;
		for (let i = 0; i < 9; i++) {
			const first = await request(port, 'GET', '/api/login-set-cookie/');
			assert.equal(first.status, 200);
			const csrf = /csrftoken=([^;]+)/.exec([].concat(first.headers['set-cookie']).join('\n'))[1];
			const r = await request(port, 'POST', '/api/login/', {
				headers: {
					Cookie: `csrftoken=${csrf}`,
					'X-CSRFToken': csrf,
					Origin: `https://${HOST}:${save}`,
					'Content-Type': 'application/json',
				},
				body: JSON.stringify({ email, password: PW }),
			});
			if (r.status === 200) ok++;
			else if (r.status === 502) bad++;
			else assert.fail(`login ${i}: ${r.status} ${r.text}`);
		}
		const droppedPosts = dropped.filter((l) => l.startsWith('POST')).length;
		assert.ok(droppedPosts >= 1, `the dropping instance got no POST (${JSON.stringify(dropped)})`);
		assert.equal(bad, droppedPosts, `${droppedPosts} POSTs dropped, ${bad} answered 502: the others were sent again`);
		assert.equal(ok + bad, 9);
		const sessions = Number(A.sql(`SELECT count(*) FROM sessions WHERE user_id = ${id};`).trim());
		assert.equal(sessions, ok, `${ok} logins answered 200 made ${sessions} sessions`);
		await ngx.stop();
	} finally {
		tlsPort = save;
		await new Promise((r) => hole.close(r));
	}
});
