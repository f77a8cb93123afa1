// Passkeys and security keys (WebAuthn, docs/mfa-contract.md, issue 14) with the
// software authenticator of softauthn.mjs: registration (ES256, RS256, EdDSA;
// attestation none and packed), list, rename and delete; a passkey as the second
// step of a password login; passkey sign-in without a password, bound to the
// browser by gatehouse_passkey; and every way an answer must be refused, each
// with its own clear reason.  The relying party is the public origin
// http://localhost:<port> (browsers refuse an IP address as rpId).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { csrfClient, cookiesNamed, startServer, unixNow, ISO_UTC } from './harness.mjs';
import { SoftAuthenticator, ES256, RS256, EDDSA, b64url, fromB64url } from './softauthn.mjs';
import {
	ANSWER,
	REASON,
	MAIL,
	THROTTLED,
	RECOVERY_CODE,
	startMfa,
	newUser,
	signedIn,
	passwordLogin,
	pendingLogin,
	secondStep,
	assertCompleted,
	enableTotp,
	totpStep,
	makeStale,
	auditRows,
	mark,
	alertMail,
	registerOptions,
	registerPasskey,
	addPasskey,
	stepOptions,
	webauthnStep,
	passkeyOptions,
	passkeyLogin,
	assertCredentialRefused,
} from './mfa-harness.mjs';

let ctx;
let server;
let RP; // the relying party id: the public origin's host
let ORIGIN;

before(async () => {
	ctx = await startMfa({ publicHost: 'localhost' });
	server = ctx.server;
	ORIGIN = ctx.origin;
	RP = new URL(ORIGIN).hostname;
});
after(async () => {
	await ctx?.stop();
});

const B64URL = /^[A-Za-z0-9_-]+$/;
const auth = (o = {}) => new SoftAuthenticator({ rpId: RP, origin: ORIGIN, ...o });
const mfaState = async (c) => {
	const r = await c.get('/api/mfa/');
	assert.equal(r.status, 200, `GET /api/mfa/: ${r.status} ${r.text}`);
	return r.json;
};

/** A user with one passkey of a fresh authenticator (options `o`) and a signed-in browser. */
async function passkeyUser(prefix, o = {}, name = 'Laptop') {
	const user = newUser(ctx, prefix);
	const client = await signedIn(ctx, user);
	const a = auth(o);
	const passkey = await addPasskey(client, user, a, { name });
	return { user, client, auth: a, passkey };
}

function assertPasskeyShape(p, what = 'passkey') {
	assert.deepEqual(
		Object.keys(p).sort(),
		['created', 'id', 'last_used', 'name', 'transports'],
		`${what}: ${JSON.stringify(p)}`,
	);
	assert.equal(typeof p.id, 'number', what);
	assert.equal(typeof p.name, 'string', what);
	assert.match(p.created, ISO_UTC, what);
	assert.ok(p.last_used === null || ISO_UTC.test(p.last_used), `${what}: last_used ${p.last_used}`);
	assert.ok(Array.isArray(p.transports), what);
}

// --- registration ----------------------------------------------------------------------

test('registration options name the relying party, the user and the three algorithms', async () => {
	const user = newUser(ctx, 'regopts');
	const c = await signedIn(ctx, user);
	const pk = await registerOptions(c);
	assert.match(pk.challenge, B64URL);
	assert.ok(fromB64url(pk.challenge).length >= 16, `a challenge of at least 128 bits: ${pk.challenge}`);
	assert.equal(pk.rp.id, RP, 'rpId is the public origin host');
	assert.equal(typeof pk.rp.name, 'string');
	assert.match(pk.user.id, B64URL);
	assert.ok(fromB64url(pk.user.id).length >= 16, 'a random user handle');
	assert.ok(!fromB64url(pk.user.id).toString().includes(user.email), 'the handle does not carry the address');
	assert.equal(pk.user.name, user.email);
	assert.equal(typeof pk.user.displayName, 'string');
	assert.deepEqual(
		pk.pubKeyCredParams.map((p) => p.alg).sort((a, b) => a - b),
		[-257, -8, -7],
	);
	for (const p of pk.pubKeyCredParams) assert.equal(p.type ?? 'public-key', 'public-key');
	assert.equal(pk.timeout, 300000);
	assert.equal(pk.attestation, 'none');
	assert.deepEqual(pk.authenticatorSelection, {
		residentKey: 'preferred',
		requireResidentKey: false,
		userVerification: 'preferred',
	});
	assert.deepEqual(pk.excludeCredentials, []);
	const again = await registerOptions(c);
	assert.notEqual(again.challenge, pk.challenge, 'a new challenge each time');
	assert.equal(again.user.id, pk.user.id, "the user's handle stays the same");
});

test('passkeys register with ES256, RS256 and EdDSA, attestation none and packed, and each completes a login', async () => {
	const user = newUser(ctx, 'algs');
	const c = await signedIn(ctx, user);
	const since = mark(ctx);
	const kinds = [
		['ES256 none', { alg: ES256, fmt: 'none' }],
		['ES256 packed', { alg: ES256, fmt: 'packed' }],
		['RS256 none', { alg: RS256, fmt: 'none' }],
		['RS256 packed', { alg: RS256, fmt: 'packed' }],
		['EdDSA none', { alg: EDDSA, fmt: 'none' }],
		['EdDSA packed', { alg: EDDSA, fmt: 'packed' }],
	];
	const auths = [];
	for (const [i, [name, o]] of kinds.entries()) {
		const a = auth(o);
		const { res } = await registerPasskey(c, a, { name });
		assert.equal(res.status, 201, `${name}: ${res.status} ${res.text}`);
		if (i === 0) {
			assert.equal(res.json.recovery_codes?.length, 10, `the first factor brings recovery codes: ${res.text}`);
			for (const code of res.json.recovery_codes) assert.match(code, RECOVERY_CODE);
			const { recovery_codes: _, ...rest } = res.json;
			assertPasskeyShape(rest, name);
		} else {
			assert.equal(res.json.recovery_codes, undefined, `${name}: no new recovery codes`);
			assertPasskeyShape(res.json, name);
		}
		assert.equal(res.json.name, name);
		assert.equal(res.json.last_used, null);
		assert.deepEqual(res.json.transports, ['internal', 'hybrid']);
		auths.push([name, a]);
	}
	const st = await mfaState(c);
	assert.deepEqual(st.webauthn.map((p) => p.name).sort(), kinds.map(([n]) => n).sort());
	assert.equal((await c.get('/api/users/profile/')).json.mfa_enabled, true);
	assert.equal(auditRows(server, { user: user.id, event: 'mfa.webauthn_added' }).length, kinds.length);
	await alertMail(ctx, user.email, MAIL.passkeyAdded, since);

	for (const [name, a] of auths) {
		const p = await pendingLogin(ctx, user, { methods: ['webauthn', 'recovery_code'] });
		const { res } = await webauthnStep(p.client, a);
		assertCompleted(res, p.client, `second step with ${name}`);
		assert.equal((await p.client.get('/api/users/profile/')).json.email, user.email);
	}
	const used = (await mfaState(c)).webauthn;
	for (const p of used) assert.match(p.last_used ?? '', ISO_UTC, `${p.name} was used`);
	const ok = auditRows(server, { user: user.id, event: 'login.succeeded' });
	assert.equal(ok.at(-1).detail.method, 'password+webauthn');
});

test('registration answers that must be refused, each with its reason', async () => {
	const user = newUser(ctx, 'regbad');
	const c = await signedIn(ctx, user);
	const a = auth();
	const cases = [
		['another origin', { origin: 'http://evil.example' }, REASON.origin],
		['the IP origin the server listens on', { origin: server.origin }, REASON.origin],
		['another rpId', { rpId: 'evil.example' }, REASON.rpId],
		['user presence missing', { userPresent: false }, REASON.presence],
		['a challenge the server never made', { challenge: b64url(Buffer.alloc(32, 7)) }, REASON.challenge],
		[
			'a packed attestation with a tampered signature',
			{ fmt: 'packed', tamperSignature: true },
			REASON.attestationSignature,
		],
		['an assertion type', { type: 'webauthn.get' }, REASON.type],
	];
	for (const [what, overrides, reason] of cases) {
		const { res } = await registerPasskey(c, a, { overrides });
		assertCredentialRefused(res, reason, what);
	}
	// a used registration challenge cannot register a second key
	const { res, options } = await registerPasskey(c, a);
	assert.equal(res.status, 201, res.text);
	const replay = await c.post('/api/mfa/webauthn/register/', { json: { credential: a.create(options) } });
	assertCredentialRefused(replay, REASON.challenge, 'a used registration challenge');
	assert.equal((await mfaState(c)).webauthn.length, 1, 'only the good one');

	const bodies = async function* (cl) {
		yield ['no credential', {}];
		yield ['a string', { credential: 'abc' }];
		yield ['no response', { credential: { id: 'AAAA', rawId: 'AAAA', type: 'public-key' } }];
		const good = a.create(await registerOptions(cl));
		yield ['not base64url', { credential: { ...good, response: { clientDataJSON: '!!', attestationObject: '$$' } } }];
		const good2 = a.create(await registerOptions(cl));
		const big = a.create(await registerOptions(cl));
		yield [
			'a 200 kB clientDataJSON',
			{ credential: { ...big, response: { ...big.response, clientDataJSON: b64url(Buffer.alloc(200000, 0x41)) } } },
		];
		yield [
			'an attestation that is not CBOR',
			{ credential: { ...good2, response: { ...good2.response, attestationObject: b64url('not cbor') } } },
		];
	};
	// malformed answers on a second account (wrong answers may count against one account's limit)
	const c2 = await signedIn(ctx, newUser(ctx, 'regbad2'));
	for await (const [what, body] of bodies(c2)) {
		const r = await c2.post('/api/mfa/webauthn/register/', { json: body });
		if (r.status === 413) continue; // over the body limit: refused before anything reads it
		assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
		assert.ok(Array.isArray(r.json?.credential), `${what}: ${r.text}`);
	}
	assert.deepEqual((await mfaState(c2)).webauthn, []);
	assert.equal((await mfaState(c)).webauthn.length, 1);
	assert.ok(await server.alive(), 'the server lives on');
});

test('a name over 64 characters is refused; the same credential twice is 409; options exclude what is registered', async () => {
	const { user, client: c, auth: a } = await passkeyUser('exclude');
	const long = await registerPasskey(c, auth(), { name: 'x'.repeat(65) });
	assert.equal(long.res.status, 400, long.res.text);
	assert.deepEqual(long.res.json, { name: ['Ensure this field has no more than 64 characters.'] });
	const pk = await registerOptions(c);
	assert.deepEqual(
		pk.excludeCredentials.map((x) => [x.type, x.id]),
		[['public-key', a.credentials[0].id]],
		'the registered credential is excluded',
	);
	const twice = await c.post('/api/mfa/webauthn/register/', {
		json: { credential: a.create(pk, { credentialId: fromB64url(a.credentials[0].id) }) },
	});
	assert.equal(twice.status, 409, twice.text);
	assert.deepEqual(twice.json, ANSWER.passkeyExists);
	assert.equal((await mfaState(c)).webauthn.length, 1);
	assert.equal(auditRows(server, { user: user.id, event: 'mfa.webauthn_added' }).length, 1);
});

test('registering needs a recent check, a session (not a token) and the CSRF token', async () => {
	const user = newUser(ctx, 'regstale');
	const c = await signedIn(ctx, user);
	makeStale(server, c);
	for (const p of ['/api/mfa/webauthn/register/options/', '/api/mfa/webauthn/register/']) {
		const r = await c.post(p, { json: {} });
		assert.equal(r.status, 403, `${p} stale: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, ANSWER.reauthRequired);
	}
	assert.equal((await c.post('/api/auth/reauthenticate/', { json: { password: user.password } })).status, 200);
	const r = await c.post('/api/mfa/webauthn/register/options/', { csrf: false });
	assert.equal(r.status, 403, `without CSRF: ${r.status} ${r.text}`);
	const a = auth();
	const pk = await registerOptions(c);
	const noCsrf = await c.post('/api/mfa/webauthn/register/', { json: { credential: a.create(pk) }, csrf: false });
	assert.equal(noCsrf.status, 403, noCsrf.text);
	assert.deepEqual((await mfaState(c)).webauthn, []);
});

test('one registration raced with itself adds the passkey once', async () => {
	const user = newUser(ctx, 'regrace');
	const c = await signedIn(ctx, user);
	const a = auth();
	const pk = await registerOptions(c);
	const credential = a.create(pk);
	const rs = await Promise.all(
		Array.from({ length: 6 }, () => c.post('/api/mfa/webauthn/register/', { json: { credential } })),
	);
	const st = rs.map((r) => r.status);
	assert.equal(st.filter((x) => x === 201).length, 1, `exactly one registration: ${st}`);
	assert.ok(
		st.every((x) => x === 201 || x === 400 || x === 409),
		`${st}`,
	);
	assert.equal((await mfaState(c)).webauthn.length, 1);
	assert.equal(auditRows(server, { user: user.id, event: 'mfa.webauthn_added' }).length, 1);
	assert.equal(rs.filter((r) => r.json?.recovery_codes).length, 1, 'one set of recovery codes');
});

// --- list, rename, delete ------------------------------------------------------------------

test("passkeys are listed, renamed and deleted by their owner; another user's id is 404", async () => {
	const { user, client: c, auth: a, passkey } = await passkeyUser('manage');
	const phone = auth({ alg: EDDSA });
	const second = await addPasskey(c, user, phone, { name: 'Phone' });
	const other = await passkeyUser('stranger');
	let st = await mfaState(c);
	assert.deepEqual(st.webauthn.map((p) => p.name).sort(), ['Laptop', 'Phone']);
	for (const p of st.webauthn) assertPasskeyShape(p);
	assert.deepEqual(st.recovery_codes, { total: 10, unused: 10 });

	const ren = await c.patch(`/api/mfa/webauthn/${passkey.id}/`, { json: { name: 'Work laptop' } });
	assert.equal(ren.status, 200, ren.text);
	assertPasskeyShape(ren.json);
	assert.equal(ren.json.name, 'Work laptop');
	assert.equal(ren.json.id, passkey.id);
	assert.equal(auditRows(server, { user: user.id, event: 'mfa.webauthn_renamed' }).length, 1);
	const bad = await c.patch(`/api/mfa/webauthn/${passkey.id}/`, { json: { name: 'y'.repeat(65) } });
	assert.equal(bad.status, 400, bad.text);
	assert.deepEqual(bad.json, { name: ['Ensure this field has no more than 64 characters.'] });

	// the stranger cannot touch them, and learns nothing
	for (const [m, json] of [
		['PATCH', { name: 'mine now' }],
		['DELETE', undefined],
	]) {
		const r = await other.client.request(m, `/api/mfa/webauthn/${passkey.id}/`, { json });
		assert.equal(r.status, 404, `${m} another user's passkey: ${r.status} ${r.text}`);
		assert.deepEqual(r.json, ANSWER.notFound);
		const none = await other.client.request(m, '/api/mfa/webauthn/999999/', { json });
		assert.equal(none.status, 404, `${m} an unknown id`);
		assert.deepEqual(none.json, r.json, 'unknown and foreign ids answer the same');
	}
	assert.equal((await mfaState(c)).webauthn.find((p) => p.id === passkey.id).name, 'Work laptop');

	// delete: needs a recent check
	makeStale(server, c);
	const stale = await c.delete(`/api/mfa/webauthn/${passkey.id}/`);
	assert.equal(stale.status, 403, stale.text);
	assert.deepEqual(stale.json, ANSWER.reauthRequired);
	assert.equal((await c.post('/api/auth/reauthenticate/', { json: { password: user.password } })).status, 200);
	const since = mark(ctx);
	const del = await c.delete(`/api/mfa/webauthn/${passkey.id}/`);
	assert.equal(del.status, 200, del.text);
	assert.deepEqual(del.json, ANSWER.passkeyRemoved);
	await alertMail(ctx, user.email, MAIL.passkeyRemoved, since);
	assert.equal(auditRows(server, { user: user.id, event: 'mfa.webauthn_removed' }).length, 1);
	st = await mfaState(c);
	assert.deepEqual(
		st.webauthn.map((p) => p.id),
		[second.id],
	);
	assert.equal(st.recovery_codes.unused, 10, 'codes stay while a factor is left');
	assert.equal((await c.delete(`/api/mfa/webauthn/${passkey.id}/`)).status, 404, 'gone');
	// the removed key no longer signs in
	const p = await pendingLogin(ctx, user, { methods: ['webauthn', 'recovery_code'] });
	const o = await stepOptions(p.client);
	assert.deepEqual(
		o.json.publicKey.allowCredentials.map((x) => x.id),
		[phone.credentials[0].id],
		'only the passkey left is offered',
	);
	const gone = await secondStep(p.client, {
		method: 'webauthn',
		credential: a.get(o.json.publicKey, { credentialIndex: 0 }),
	});
	assertCredentialRefused(gone, REASON.notThisAccount, 'a removed passkey');

	// the last one takes the recovery codes along
	const last = await c.delete(`/api/mfa/webauthn/${second.id}/`);
	assert.equal(last.status, 200, last.text);
	st = await mfaState(c);
	assert.deepEqual(st.webauthn, []);
	assert.equal(st.recovery_codes.unused, 0);
	assert.equal((await c.get('/api/users/profile/')).json.mfa_enabled, false);
	const pw = await passwordLogin(ctx, user);
	assert.equal(pw.res.status, 200, `a password alone signs in again: ${pw.res.text}`);
});

// --- the second step --------------------------------------------------------------------------

test('a passkey completes a password login; the options are bound to the pending login', async () => {
	const { user, auth: a } = await passkeyUser('second');
	const anon = await csrfClient(server);
	const noPending = await stepOptions(anon);
	assert.equal(noPending.status, 401, noPending.text);
	assert.deepEqual(noPending.json, ANSWER.expired);

	const p = await pendingLogin(ctx, user, { methods: ['webauthn', 'recovery_code'] });
	const o = await stepOptions(p.client);
	assert.equal(o.status, 200, o.text);
	const pk = o.json.publicKey;
	assert.deepEqual(Object.keys(pk).sort(), ['allowCredentials', 'challenge', 'rpId', 'timeout', 'userVerification']);
	assert.equal(pk.rpId, RP);
	assert.equal(pk.timeout, 300000);
	assert.equal(pk.userVerification, 'preferred');
	assert.ok(fromB64url(pk.challenge).length >= 16);
	assert.deepEqual(pk.allowCredentials, [
		{ type: 'public-key', id: a.credentials[0].id, transports: ['internal', 'hybrid'] },
	]);

	// another pending login's challenge does not do for this one
	const q = await pendingLogin(ctx, user);
	const foreign = await secondStep(q.client, { method: 'webauthn', credential: a.get(pk) });
	assertCredentialRefused(foreign, REASON.challenge, "another pending login's challenge");

	// user verification is not required for a second factor
	const r = (await webauthnStep(p.client, a, { userVerified: false })).res;
	assertCompleted(r, p.client, 'passkey without UV as a second factor');
	assert.equal(
		auditRows(server, { user: user.id, event: 'login.succeeded' }).at(-1).detail.method,
		'password+webauthn',
	);
});

test('a user with an authenticator app and a passkey is offered both, passkey first; the options say so to a TOTP-only user', async () => {
	const { user, client: c } = await passkeyUser('both');
	await enableTotp(c, user);
	const p = await pendingLogin(ctx, user, { methods: ['webauthn', 'totp', 'recovery_code'] });
	assertCompleted(await totpStep(p.client, user), p.client, 'totp with a passkey around');

	const t = newUser(ctx, 'totponly');
	const tc = await signedIn(ctx, t);
	await enableTotp(tc, t);
	const tp = await pendingLogin(ctx, t, { methods: ['totp', 'recovery_code'] });
	const o = await stepOptions(tp.client);
	assert.equal(o.status, 400, o.text);
	assert.deepEqual(o.json, ANSWER.noPasskey);
});

test('second-step assertions that must be refused, each with its reason', async () => {
	const { user, auth: a } = await passkeyUser('refuse');
	const cases = [
		['another origin', { origin: 'http://evil.example' }, REASON.origin],
		['another rpId', { rpId: 'evil.example' }, REASON.rpId],
		['user presence missing', { userPresent: false }, REASON.presence],
		['a tampered signature', { tamperSignature: true }, REASON.signature],
		['authenticator data changed after signing', { tamperAuthenticatorData: true }, REASON.signature],
		['a cross-origin call', { crossOrigin: true }, REASON.crossOrigin],
		['a registration response', { type: 'webauthn.create' }, REASON.type],
	];
	let p = await pendingLogin(ctx, user);
	for (const [i, [what, overrides, reason]] of cases.entries()) {
		if (i === 4) p = await pendingLogin(ctx, user); // five wrong answers per pending login
		const { res } = await webauthnStep(p.client, a, overrides);
		assertCredentialRefused(res, reason, what);
	}
	const fails = auditRows(server, { user: user.id, event: 'mfa.failed' });
	assert.equal(fails.length, cases.length);
	for (const f of fails) assert.equal(f.detail.method, 'webauthn');
	assertCompleted((await webauthnStep(p.client, a)).res, p.client, 'then a good assertion');
});

test('an assertion is single use: replayed, or after a refusal of its challenge, it is refused', async () => {
	const { user, auth: a } = await passkeyUser('replay');
	const p = await pendingLogin(ctx, user);
	const { res, credential } = await webauthnStep(p.client, a);
	assertCompleted(res, p.client, 'first use');
	const p2 = await pendingLogin(ctx, user);
	assert.equal((await stepOptions(p2.client)).status, 200);
	const again = await secondStep(p2.client, { method: 'webauthn', credential });
	assertCredentialRefused(again, REASON.challenge, 'the same assertion on a new pending login');

	// a challenge answered once with a bad signature cannot be answered again
	const p3 = await pendingLogin(ctx, user);
	const o = await stepOptions(p3.client);
	const bad = await secondStep(p3.client, {
		method: 'webauthn',
		credential: a.get(o.json.publicKey, { tamperSignature: true }),
	});
	assertCredentialRefused(bad, REASON.signature, 'bad signature');
	const late = await secondStep(p3.client, { method: 'webauthn', credential: a.get(o.json.publicKey) });
	assertCredentialRefused(late, REASON.challenge, 'a good answer to a spent challenge');
	assertCompleted((await webauthnStep(p3.client, a)).res, p3.client, 'a new challenge');
});

test('a counter that goes backwards is refused and audited; two zero counters are fine', async () => {
	const { user, auth: a } = await passkeyUser('counter', { signCount: 10 });
	const p = await pendingLogin(ctx, user);
	assertCompleted((await webauthnStep(p.client, a)).res, p.client, 'counter 11');
	const p2 = await pendingLogin(ctx, user);
	const { res } = await webauthnStep(p2.client, a, { signCount: 5 });
	assertCredentialRefused(res, REASON.counter, 'counter 5 after 11');
	const reg = auditRows(server, { user: user.id, event: 'mfa.counter_regressed' });
	assert.equal(reg.length, 1, JSON.stringify(reg));
	const same = await webauthnStep(p2.client, a, { signCount: 11 });
	assertCredentialRefused(same.res, REASON.counter, 'the same counter again');
	assertCompleted((await webauthnStep(p2.client, a, { signCount: 12 })).res, p2.client, 'counter 12');

	const z = await passkeyUser('zero', { signCount: 0, incrementCounter: false });
	for (let i = 0; i < 2; i++) {
		const pz = await pendingLogin(ctx, z.user);
		assertCompleted((await webauthnStep(pz.client, z.auth)).res, pz.client, `zero counter, login ${i + 1}`);
	}
	assert.equal(auditRows(server, { user: z.user.id, event: 'mfa.counter_regressed' }).length, 0);
});

test('a challenge older than five minutes is refused', async () => {
	const { user, auth: a } = await passkeyUser('oldchallenge', { residentKey: true, userVerifying: true });
	const p = await pendingLogin(ctx, user);
	const o = await stepOptions(p.client);
	assert.equal(o.status, 200, o.text);
	const b = await csrfClient(server);
	const { publicKey } = await passkeyOptions(b);
	// this file's tests run one at a time: every stored challenge is one of this test's
	server.sql(`UPDATE mfa_challenges SET expires_at = ${unixNow() - 1}`);
	const late = await secondStep(p.client, { method: 'webauthn', credential: a.get(o.json.publicKey) });
	assertCredentialRefused(late, REASON.challenge, 'an expired second-step challenge');
	const lateSignIn = await b.post('/api/passkey/login/', { json: { credential: a.get(publicKey) } });
	assertCredentialRefused(lateSignIn, REASON.challenge, 'an expired passkey sign-in challenge');
	assertCompleted((await webauthnStep(p.client, a)).res, p.client, 'a new challenge');
});

test("an unknown passkey, or another user's, does not complete a login", async () => {
	const { user } = await passkeyUser('victim');
	const other = await passkeyUser('otherkey');
	const p = await pendingLogin(ctx, user);
	const o = await stepOptions(p.client);
	const stray = auth();
	stray.create({ challenge: 'AA', rp: { id: RP }, user: { id: b64url('nobody') } }); // a key never registered
	const unknown = await secondStep(p.client, {
		method: 'webauthn',
		credential: stray.get(o.json.publicKey, { credentialIndex: 0 }),
	});
	assertCredentialRefused(unknown, REASON.notThisAccount, 'a key never registered');
	const o2 = await stepOptions(p.client);
	const foreign = await secondStep(p.client, {
		method: 'webauthn',
		credential: other.auth.get(o2.json.publicKey, { credentialIndex: 0 }),
	});
	assertCredentialRefused(foreign, REASON.notThisAccount, "another user's registered passkey");
	assert.equal((await p.client.get('/api/users/profile/')).status, 401);
});

// --- passkey sign-in without a password ----------------------------------------------------------

test('a passkey signs in without a password; gatehouse_passkey binds the challenge to the browser', async () => {
	const { user, auth: a } = await passkeyUser('passwordless', { residentKey: true, userVerifying: true });
	const c = await csrfClient(server);
	const { res: optRes, publicKey } = await passkeyOptions(c);
	assert.deepEqual(Object.keys(publicKey).sort(), [
		'allowCredentials',
		'challenge',
		'rpId',
		'timeout',
		'userVerification',
	]);
	assert.equal(publicKey.rpId, RP);
	assert.equal(publicKey.userVerification, 'required');
	assert.equal(publicKey.timeout, 300000);
	assert.deepEqual(publicKey.allowCredentials, []);
	const [ck] = cookiesNamed(optRes, 'gatehouse_passkey');
	assert.ok(ck && ck.value.length >= 32, optRes.setCookies.join(' | '));
	assert.ok(ck.attrs.httponly);
	assert.equal(String(ck.attrs.samesite).toLowerCase(), 'lax');
	assert.equal(ck.attrs.path, '/');
	assert.equal(ck.attrs['max-age'], '300');
	// a second call keeps a valid cookie
	const again = await passkeyOptions(c);
	assert.equal(c.cookie('gatehouse_passkey'), ck.value, 'the cookie is kept');
	assert.notEqual(again.publicKey.challenge, publicKey.challenge, 'a new challenge');

	const csrfBefore = c.cookie('csrftoken');
	const r = await c.post('/api/passkey/login/', { json: { credential: a.get(publicKey) } });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, ANSWER.success);
	assert.ok(c.cookie('sessionid'), 'a session');
	assert.notEqual(c.cookie('csrftoken'), csrfBefore, 'csrftoken rotated');
	assert.equal((await c.get('/api/users/profile/')).json.email, user.email);
	assert.equal(auditRows(server, { user: user.id, event: 'login.succeeded' }).at(-1).detail.method, 'passkey');
	assert.equal((await mfaState(c)).reauth_fresh, true);
	// this browser's other challenge, posted by another browser
	const r2 = await (
		await csrfClient(server)
	).post('/api/passkey/login/', { json: { credential: a.get(again.publicKey) } });
	assertCredentialRefused(r2, REASON.challenge, "another browser posting this browser's challenge");
});

test('passkey sign-in is refused without the browser cookie, with another browser’s, without UV, for unknown keys', async () => {
	const { auth: a } = await passkeyUser('pkrefuse', { residentKey: true, userVerifying: true });
	// without the cookie
	const b1 = await csrfClient(server);
	const { publicKey: pk1 } = await passkeyOptions(b1);
	const cred1 = a.get(pk1);
	b1.deleteCookie('gatehouse_passkey');
	assertCredentialRefused(
		await b1.post('/api/passkey/login/', { json: { credential: cred1 } }),
		REASON.challenge,
		'no cookie',
	);
	// with another browser's cookie
	const b2 = await csrfClient(server);
	const b3 = await csrfClient(server);
	const { publicKey: pk2 } = await passkeyOptions(b2);
	await passkeyOptions(b3);
	const cred2 = a.get(pk2);
	assertCredentialRefused(
		await b3.post('/api/passkey/login/', { json: { credential: cred2 } }),
		REASON.challenge,
		"another browser's cookie",
	);

	// no user verification
	const b4 = await csrfClient(server);
	const noUv = await passkeyLogin(b4, a, { userVerified: false });
	assertCredentialRefused(noUv.res, REASON.verification, 'UV missing');
	// a key never registered here
	const stray = auth({ residentKey: true });
	stray.create({ challenge: 'AA', rp: { id: RP }, user: { id: b64url('nobody') } });
	const unknown = await passkeyLogin(b4, stray);
	assertCredentialRefused(unknown.res, REASON.notHere, 'unknown key');
	// wrong origin, replayed assertion
	const wrong = await passkeyLogin(b4, a, { origin: 'http://evil.example' });
	assertCredentialRefused(wrong.res, REASON.origin, 'another origin');
	const ok = await passkeyLogin(b4, a);
	assert.equal(ok.res.status, 200, ok.res.text);
	const b5 = await csrfClient(server);
	await passkeyOptions(b5);
	const replay = await b5.post('/api/passkey/login/', { json: { credential: ok.credential } });
	assertCredentialRefused(replay, REASON.challenge, 'a replayed assertion');
	// the same assertion raced: one session
	const b7 = await csrfClient(server);
	const { publicKey: pk7 } = await passkeyOptions(b7);
	const cred7 = a.get(pk7);
	const raced = await Promise.all(
		Array.from({ length: 5 }, () => b7.post('/api/passkey/login/', { json: { credential: cred7 } })),
	);
	const st7 = raced.map((r) => r.status);
	assert.equal(st7.filter((x) => x === 200).length, 1, `one sign-in from one assertion: ${st7}`);
	for (const r of raced.filter((x) => x.status !== 200)) assertCredentialRefused(r, REASON.challenge, 'the losers');
	// CSRF
	const b6 = await csrfClient(server);
	const { publicKey: pk6 } = await passkeyOptions(b6);
	const noCsrf = await b6.post('/api/passkey/login/', { json: { credential: a.get(pk6) }, csrf: false });
	assert.equal(noCsrf.status, 403, noCsrf.text);
	for (const b of [b1, b2, b3, b5, b6]) assert.equal((await b.get('/api/users/profile/')).status, 401);
});

test('passkey sign-in follows the account: inactive is invalid credentials, unverified is refused', async () => {
	const { user, auth: a } = await passkeyUser('pkaccount', { residentKey: true, userVerifying: true });
	server.sql(`UPDATE users SET email_verified = 0 WHERE id = ${user.id}`);
	const b = await csrfClient(server);
	const unv = await passkeyLogin(b, a);
	assert.equal(unv.res.status, 400, unv.res.text);
	assert.deepEqual(unv.res.json, ANSWER.notVerified);
	server.sql(`UPDATE users SET email_verified = 1, is_active = 0 WHERE id = ${user.id}`);
	const off = await passkeyLogin(b, a);
	assert.equal(off.res.status, 400, off.res.text);
	assert.deepEqual(off.res.json, ANSWER.invalidCredentials);
	assert.equal((await b.get('/api/users/profile/')).status, 401);
});

// --- re-authentication with a passkey --------------------------------------------------------

test('a passkey re-authenticates a stale session', async () => {
	const { user, client: c, auth: a } = await passkeyUser('reauth');
	makeStale(server, c);
	const o = await c.post('/api/auth/reauthenticate/webauthn/options/');
	assert.equal(o.status, 200, o.text);
	assert.equal(o.json.publicKey.rpId, RP);
	assert.deepEqual(
		o.json.publicKey.allowCredentials.map((x) => x.id),
		[a.credentials[0].id],
	);
	const bad = await c.post('/api/auth/reauthenticate/', {
		json: { method: 'webauthn', credential: a.get(o.json.publicKey, { origin: 'http://evil.example' }) },
	});
	assertCredentialRefused(bad, REASON.origin, 'reauth from another origin');
	assert.equal((await mfaState(c)).reauth_fresh, false);
	const o2 = await c.post('/api/auth/reauthenticate/webauthn/options/');
	// a challenge of another session does not do
	const other = await signedIn(ctx, newUser(ctx, 'reauthother'));
	const foreign = await other.post('/api/auth/reauthenticate/', {
		json: { method: 'webauthn', credential: a.get(o2.json.publicKey) },
	});
	assert.equal(foreign.status, 400, foreign.text);
	assert.equal((await mfaState(other)).reauth_fresh, true, 'unchanged');
	const o3 = await c.post('/api/auth/reauthenticate/webauthn/options/');
	const r = await c.post('/api/auth/reauthenticate/', {
		json: { method: 'webauthn', credential: a.get(o3.json.publicKey) },
	});
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json, ANSWER.identityConfirmed);
	assert.equal((await mfaState(c)).reauth_fresh, true);
	const codes = await c.post('/api/mfa/recovery-codes/');
	assert.equal(codes.status, 200, `a gated action now passes: ${codes.text}`);
	assert.equal(codes.json.recovery_codes.length, 10);
	assert.notDeepEqual(codes.json.recovery_codes, user.recoveryCodes);
});

// --- limits ----------------------------------------------------------------------------------

test('passkey options are limited to 30 per client IP per minute', async () => {
	const own = await startServer({ publicHost: 'localhost' });
	try {
		const c = await csrfClient(own);
		const statuses = [];
		for (let i = 0; i < 30; i++) statuses.push((await c.post('/api/passkey/options/')).status);
		assert.deepEqual(statuses, Array(30).fill(200), `${statuses}`);
		const r = await c.post('/api/passkey/options/');
		assert.equal(r.status, 429, r.text);
		assert.match(r.json?.detail ?? '', THROTTLED);
		assert.ok(Number(r.headers.get('retry-after')) > 0);
	} finally {
		await own.stop();
	}
});
