// Django forms compatibility (issue 15 item 6): an HTML form POST
// (application/x-www-form-urlencoded or multipart/form-data) may carry the
// CSRF token in its csrfmiddlewaretoken field instead of the X-CSRFToken
// header, as Django's CsrfViewMiddleware reads request.POST first. Nothing
// else reads the field: not a JSON body, not a PUT/PATCH/DELETE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createUser, csrfClient, loggedIn, uniqueEmail, maskCsrf } from './harness.mjs';

const PW = 'form csrf pass 1';
let server;

before(async () => {
	server = await startServer();
});
after(() => server?.stop());

/** A multipart/form-data body as a browser sends it (fields: [name, value] pairs). */
function multipart(fields, boundary = '----gatehouseFormBoundary7MA4YWxkTrZu0gW') {
	let s = '';
	for (const [name, value] of fields)
		s += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
	s += `--${boundary}--\r\n`;
	return { body: s, type: `multipart/form-data; boundary=${boundary}` };
}

async function profileStatus(c) {
	return (await c.get('/api/users/profile/')).status;
}

test('a urlencoded form POST with csrfmiddlewaretoken and no header signs in', async () => {
	const email = createUser(server, uniqueEmail('formfield'), PW);
	const c = await csrfClient(server);
	const r = await c.post('/api/login/', {
		csrf: false,
		form: { email, password: PW, csrfmiddlewaretoken: c.cookie('csrftoken') },
	});
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, { detail: 'Success' });
	assert.equal(await profileStatus(c), 200);
});

test('the field takes the masked 64-character form too', async () => {
	const email = createUser(server, uniqueEmail('formmasked'), PW);
	const c = await csrfClient(server);
	const token = maskCsrf(c.cookie('csrftoken'));
	assert.equal(token.length, 64);
	const r = await c.post('/api/login/', { csrf: false, form: { email, password: PW, csrfmiddlewaretoken: token } });
	assert.equal(r.status, 200, r.text);
});

test('a multipart/form-data POST with csrfmiddlewaretoken signs in, then logs out by the same field', async () => {
	const email = createUser(server, uniqueEmail('multipart'), PW);
	const c = await csrfClient(server);
	let m = multipart([
		['csrfmiddlewaretoken', c.cookie('csrftoken')],
		['email', email],
		['password', PW],
	]);
	let r = await c.post('/api/login/', { csrf: false, body: m.body, headers: { 'Content-Type': m.type } });
	assert.equal(r.status, 200, r.text);
	assert.equal(await profileStatus(c), 200);
	// login rotated the token: the new one works, the old one no longer would
	m = multipart([['csrfmiddlewaretoken', c.cookie('csrftoken')]]);
	r = await c.post('/api/logout/', { csrf: false, body: m.body, headers: { 'Content-Type': m.type } });
	assert.ok(r.status < 300, `${r.status} ${r.text}`);
	assert.equal(await profileStatus(c), 401);
});

test('a wrong, empty or missing field is 403 and signs nobody in', async () => {
	const email = createUser(server, uniqueEmail('formwrong'), PW);
	for (const token of ['x'.repeat(32), '', undefined, 'A'.repeat(64)]) {
		const c = await csrfClient(server);
		const form = { email, password: PW };
		if (token !== undefined) form.csrfmiddlewaretoken = token;
		const r = await c.post('/api/login/', { csrf: false, form });
		assert.equal(r.status, 403, `token ${JSON.stringify(token)}: ${r.status} ${r.text}`);
		assert.match(r.json.detail, /CSRF/);
		assert.equal(c.cookie('sessionid'), undefined);
	}
	// multipart with a wrong token
	const c = await csrfClient(server);
	const m = multipart([
		['csrfmiddlewaretoken', 'y'.repeat(32)],
		['email', email],
		['password', PW],
	]);
	const r = await c.post('/api/login/', { csrf: false, body: m.body, headers: { 'Content-Type': m.type } });
	assert.equal(r.status, 403, r.text);
});

test("another browser's token in the field is refused: it must match this request's cookie", async () => {
	const email = createUser(server, uniqueEmail('formother'), PW);
	const attacker = await csrfClient(server);
	const victim = await csrfClient(server);
	const r = await victim.post('/api/login/', {
		csrf: false,
		form: { email, password: PW, csrfmiddlewaretoken: attacker.cookie('csrftoken') },
	});
	assert.equal(r.status, 403, r.text);
});

test('the field is not read from a JSON body, nor from a PUT, PATCH or DELETE form (Django reads request.POST)', async () => {
	const email = createUser(server, uniqueEmail('formjson'), PW);
	let c = await csrfClient(server);
	let r = await c.post('/api/login/', {
		csrf: false,
		json: { email, password: PW, csrfmiddlewaretoken: c.cookie('csrftoken') },
	});
	assert.equal(r.status, 403, r.text);
	c = await loggedIn(server, email, PW);
	const token = server.cli(['createtoken', email]).stdout.trim().split('\n').pop();
	const list = await c.get('/api/tokens/');
	assert.equal(list.status, 200, list.text);
	const items = Array.isArray(list.json) ? list.json : list.json.results;
	assert.ok(items.length >= 1 && token);
	// PATCH and DELETE with the right token in a form field: still no header, so 403
	r = await c.patch('/api/mfa/webauthn/1/', {
		csrf: false,
		form: { name: 'x', csrfmiddlewaretoken: c.cookie('csrftoken') },
	});
	assert.equal(r.status, 403, `patch: ${r.status} ${r.text}`);
	r = await c.delete(`/api/tokens/${items[0].id}/`, {
		csrf: false,
		form: { csrfmiddlewaretoken: c.cookie('csrftoken') },
	});
	assert.equal(r.status, 403, `delete: ${r.status} ${r.text}`);
	const left = (await c.get('/api/tokens/')).json;
	assert.equal((Array.isArray(left) ? left : left.results).length, items.length, 'the token is still there');
});

test('the field comes first, as in Django: a wrong field is not rescued by a right header', async () => {
	const email = createUser(server, uniqueEmail('formfirst'), PW);
	const c = await csrfClient(server);
	const r = await c.post('/api/login/', { form: { email, password: PW, csrfmiddlewaretoken: 'z'.repeat(32) } });
	assert.equal(r.status, 403, r.text);
	// and a form without the field still takes the header
	const r2 = await c.post('/api/login/', { form: { email, password: PW } });
	assert.equal(r2.status, 200, r2.text);
});

test('a token-authenticated form POST needs no CSRF field', async () => {
	const email = createUser(server, uniqueEmail('formtoken'), PW);
	const key = server.cli(['createtoken', email]).stdout.trim().split('\n').pop();
	const r = await fetch(server.url('/api/sessions/revoke-others/'), {
		method: 'POST',
		headers: { Authorization: `Token ${key}`, 'Content-Type': 'application/x-www-form-urlencoded' },
		body: 'csrfmiddlewaretoken=nonsense',
	});
	assert.ok(r.status < 400, `${r.status} ${await r.text()}`);
});

test('malformed multipart bodies are 400 or 403, never a crash; file parts are refused', async () => {
	const email = createUser(server, uniqueEmail('formbad'), PW);
	const c = await csrfClient(server);
	const t = c.cookie('csrftoken');
	const B = 'b0undary';
	const cases = [
		['no boundary', 'multipart/form-data', `--${B}\r\n\r\n`],
		['empty boundary', 'multipart/form-data; boundary=', `--\r\n`],
		['boundary too long', `multipart/form-data; boundary=${'x'.repeat(71)}`, `--${'x'.repeat(71)}--\r\n`],
		[
			'no closing delimiter',
			`multipart/form-data; boundary=${B}`,
			`--${B}\r\nContent-Disposition: form-data; name="email"\r\n\r\n${email}`,
		],
		[
			'no name',
			`multipart/form-data; boundary=${B}`,
			`--${B}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${B}--\r\n`,
		],
		[
			'not form-data',
			`multipart/form-data; boundary=${B}`,
			`--${B}\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--${B}--\r\n`,
		],
		[
			'invalid UTF-8',
			`multipart/form-data; boundary=${B}`,
			Buffer.concat([
				Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="email"\r\n\r\n`),
				Buffer.from([0xff, 0xfe]),
				Buffer.from(`\r\n--${B}--\r\n`),
			]),
		],
		[
			'NUL in a value',
			`multipart/form-data; boundary=${B}`,
			`--${B}\r\nContent-Disposition: form-data; name="email"\r\n\r\na\0b\r\n--${B}--\r\n`,
		],
		[
			'headers never end',
			`multipart/form-data; boundary=${B}`,
			`--${B}\r\nContent-Disposition: form-data; name="email"\r\n`,
		],
		['garbage', `multipart/form-data; boundary=${B}`, '\x00\x01\x02 not multipart at all'],
	];
	for (const [what, type, body] of cases) {
		// with the header: the body itself is judged (400); without it: no token, 403
		let r = await c.post('/api/login/', { body, headers: { 'Content-Type': type } });
		assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
		assert.equal(typeof r.json.detail, 'string', what);
		r = await c.post('/api/login/', { csrf: false, body, headers: { 'Content-Type': type } });
		assert.equal(r.status, 403, `${what} without the header: ${r.status} ${r.text}`);
	}
	// a file part, even an empty file input, is refused with a clear message
	for (const disp of ['form-data; name="avatar"; filename="a.png"', 'form-data; name="avatar"; filename=""']) {
		const body = `--${B}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n${t}\r\n--${B}\r\nContent-Disposition: ${disp}\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--${B}--\r\n`;
		const r = await c.post('/api/login/', { body, headers: { 'Content-Type': `multipart/form-data; boundary=${B}` } });
		assert.equal(r.status, 400, r.text);
		assert.equal(r.json.detail, 'File uploads are not accepted.');
	}
	// a quoted boundary with RFC 2046 characters, the last of repeated fields wins
	const qb = "it's (quoted) +_,-./:=?";
	const body = `--${qb}\r\nContent-Disposition: form-data; name="email"\r\n\r\nnobody@example.com\r\n--${qb}\r\nContent-Disposition: form-data; name="email"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${email}\r\n--${qb}\r\nContent-Disposition: form-data; name="password"\r\n\r\n${PW}\r\n--${qb}\r\ncontent-disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n${t}\r\n--${qb}--\r\nepilogue`;
	const r = await c.post('/api/login/', {
		csrf: false,
		body,
		headers: { 'Content-Type': `multipart/form-data; boundary="${qb}"` },
	});
	assert.equal(r.status, 200, r.text);
	// the server still answers
	assert.equal((await c.get('/api/users/profile/')).status, 200);
});
