// Forged ID tokens (docs/social-contract.md "ID tokens (OIDC) are verified"):
// a hand-made OIDC issuer (tests/providers/fake-oidc.mjs) answers the token
// request of an otherwise honest login with a token that is wrong in exactly
// one way.  Each must be 400 with no session, no user and no identity.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sleep } from './harness.mjs';
import { unsignedJwt, hmacJwt, signJwt } from '../providers/index.mjs';
import {
	startSocial,
	browser,
	authorize,
	atProvider,
	callbackBody,
	finish,
	oidcAccount,
	assertRefused,
	assertHealthy,
	profile,
	userCount,
	identityRows,
	stopAll,
} from './social-harness.mjs';

let ctx;
let fake;
let rot; // a second gatehouse that fetched the JWKS once, at rotFetchedAt
let rotFetchedAt;
before(async () => {
	ctx = await startSocial();
	fake = ctx.providers.fake;
	rot = await startSocial({ providers: ctx.providers });
	const first = await loginWith(null, { on: rot });
	assert.equal(first.res.status, 200, first.res.text);
	rotFetchedAt = Date.now();
});
after(async () => {
	await stopAll(
		() => ctx && assertHealthy(ctx),
		() => rot && assertHealthy(rot),
		() => rot?.stop(),
		() => ctx?.stop(),
	);
});

const now = () => Math.floor(Date.now() / 1000);

/**
 * An honest login at `fake` for a fresh account whose token response carries
 * the ID token `forge({claims, header, p})` makes.  Returns {res, acct, client}.
 */
async function loginWith(forge, { account, on = ctx } = {}) {
	const acct = account || oidcAccount(on, 'fake');
	const client = await browser(on);
	const { url } = await authorize(client, 'fake');
	assert.ok(url, 'authorize fake');
	const cb = await atProvider(on, 'fake', url, { login: acct.login });
	if (forge) fake.nextIdToken(forge);
	const res = await finish(client, 'fake', callbackBody(cb));
	return { res, acct, client };
}

async function refused(forge, what) {
	const { res, acct } = await loginWith(forge);
	assertRefused(res, 400, what);
	assert.equal(userCount(ctx, acct.email), 0, `${what}: no user`);
	assert.deepEqual(identityRows(ctx, 'fake', acct.uid), [], `${what}: no identity`);
	return res;
}

test('an honestly signed RS256 ID token logs in (control)', async () => {
	const { res, acct, client } = await loginWith(null);
	assert.equal(res.status, 200, res.text);
	assert.equal((await profile(client)).email, acct.email);
	assert.equal(identityRows(ctx, 'fake', acct.uid).length, 1);
});

test('an ES256 ID token from the JWKS logs in', async () => {
	const es = [...fake.keys.values()].find((k) => k.alg === 'ES256');
	const { res } = await loginWith(({ claims }) => fake.sign(claims, { kid: es.kid }));
	assert.equal(res.status, 200, res.text);
});

test('a token with a wrong signature is refused', async () => {
	await refused(
		({ claims, header }) => signJwt(claims, header, fake.rogueKey.privateKey),
		'signed by another key under the real kid',
	);
});

test('a token whose payload was changed after signing is refused', async () => {
	await refused(async ({ claims, header }) => {
		const tok = await signJwt(claims, header, fake.mainKey.privateKey);
		const [h, , s] = tok.split('.');
		const evil = Buffer.from(JSON.stringify({ ...claims, email: 'admin@victim.test' })).toString('base64url');
		return `${h}.${evil}.${s}`;
	}, 'tampered payload');
});

test('a token whose kid is in no JWKS is refused, after at most one refetch', async () => {
	const before = fake.requestsTo('/jwks').length;
	await refused(
		({ claims }) => signJwt(claims, { alg: 'RS256', kid: 'rogue-kid', typ: 'JWT' }, fake.rogueKey.privateKey),
		'unknown kid',
	);
	const fetches = fake.requestsTo('/jwks').length - before;
	assert.ok(fetches <= 2, `JWKS fetched ${fetches} times for one unknown kid`);
});

test('alg none is refused, however it is spelled', async () => {
	for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
		await refused(({ claims }) => unsignedJwt(claims, { alg, typ: 'JWT', kid: fake.mainKey.kid }), `alg ${alg}`);
	}
	await refused(async ({ claims, header }) => {
		const [, p, s] = (await signJwt(claims, header, fake.mainKey.privateKey)).split('.');
		return `${Buffer.from(JSON.stringify({ alg: 'none', kid: fake.mainKey.kid })).toString('base64url')}.${p}.${s}`;
	}, 'alg none with a leftover signature');
});

test('HS256 keyed with the provider public key is refused (algorithm confusion)', async () => {
	const pem = fake.mainKey.pem;
	const secrets = {
		PEM: pem,
		'PEM without newline': pem.trimEnd(),
		'JWK JSON': JSON.stringify(fake.mainKey.jwk),
		modulus: Buffer.from(fake.mainKey.jwk.n, 'base64url'),
	};
	for (const [what, secret] of Object.entries(secrets)) {
		await refused(
			({ claims }) => hmacJwt(claims, secret, { alg: 'HS256', typ: 'JWT', kid: fake.mainKey.kid }),
			`HS256 with ${what}`,
		);
	}
	await refused(
		({ claims }) => hmacJwt(claims, 'fake-secret', { alg: 'HS256', typ: 'JWT' }),
		'HS256 with the client secret',
	);
});

test('a token from another issuer is refused', async () => {
	await refused(({ claims }) => fake.sign({ ...claims, iss: 'https://evil.test' }), 'iss evil');
	await refused(({ claims }) => fake.sign({ ...claims, iss: `${fake.issuer}/` }), 'iss with a trailing slash');
	await refused(({ claims }) => {
		const c = { ...claims };
		delete c.iss;
		return fake.sign(c);
	}, 'no iss');
});

test('a token for another audience is refused', async () => {
	await refused(({ claims }) => fake.sign({ ...claims, aud: 'some-other-client' }), 'aud other');
	await refused(
		({ claims }) => fake.sign({ ...claims, aud: ['some-other-client', 'yet-another'] }),
		'aud list without us',
	);
	await refused(({ claims }) => {
		const c = { ...claims };
		delete c.aud;
		return fake.sign(c);
	}, 'no aud');
});

test('an audience list that contains the client id, with azp naming it, logs in', async () => {
	const { res } = await loginWith(({ claims }) =>
		fake.sign({ ...claims, aud: ['another-rp', claims.aud], azp: claims.aud }),
	);
	assert.equal(res.status, 200, res.text);
});

test('an audience list whose azp names another client is refused', async () => {
	await refused(
		({ claims }) => fake.sign({ ...claims, aud: ['another-rp', claims.aud], azp: 'another-rp' }),
		'azp other',
	);
});

test('an expired token is refused', async () => {
	await refused(({ claims }) => fake.sign({ ...claims, iat: now() - 7200, exp: now() - 3600 }), 'expired an hour ago');
	await refused(
		({ claims }) => fake.sign({ ...claims, iat: now() - 600, exp: now() - 120 }),
		'expired beyond the 60 s leeway',
	);
	await refused(({ claims }) => {
		const c = { ...claims };
		delete c.exp;
		return fake.sign(c);
	}, 'no exp');
});

test('a token issued in the future is refused', async () => {
	await refused(({ claims }) => fake.sign({ ...claims, iat: now() + 3600, exp: now() + 7200 }), 'iat in an hour');
});

test('clock skew within the 60 s leeway is accepted', async () => {
	const { res } = await loginWith(({ claims }) => fake.sign({ ...claims, iat: now() + 20, exp: now() + 600 }));
	assert.equal(res.status, 200, `iat 20 s ahead: ${res.text}`);
});

test('a token with the wrong nonce or none is refused', async () => {
	await refused(({ claims }) => fake.sign({ ...claims, nonce: 'not-the-nonce' }), 'wrong nonce');
	await refused(({ claims }) => fake.sign({ ...claims, nonce: `${claims.nonce}x` }), 'nonce with a character added');
	await refused(({ claims }) => {
		const c = { ...claims };
		delete c.nonce;
		return fake.sign(c);
	}, 'no nonce');
});

test('a token replayed from an earlier login is refused (its nonce was for that login)', async () => {
	const first = await loginWith(null);
	assert.equal(first.res.status, 200, first.res.text);
	const old = fake.lastToken;
	const { res } = await loginWith(() => old, { account: first.acct });
	assertRefused(res, 400, 'replayed ID token');
});

test('malformed tokens are refused', async () => {
	const cases = {
		empty: '',
		'two parts': 'a.b',
		'not base64': '!!!.@@@.###',
		'header not JSON': `${Buffer.from('x').toString('base64url')}.e30.`,
		huge: `${'A'.repeat(200000)}.${'B'.repeat(10)}.C`,
	};
	for (const [what, tok] of Object.entries(cases)) await refused(() => tok, what);
	const { res } = await loginWith((x) => {
		fake.faults.token = {
			fault: {
				status: 200,
				body: JSON.stringify({ access_token: 'a', token_type: 'Bearer' }),
				headers: { 'Content-Type': 'application/json' },
			},
			times: 1,
		};
		return fake.sign(x.claims);
	});
	// the fault above applies to the next token request, not this one
	assert.equal(res.status, 200, res.text);
	const r2 = await loginWith(null);
	assertRefused(r2.res, 400, 'token response without id_token');
	delete fake.faults.token;
});

test('userinfo answering for another subject does not log in as that subject', async () => {
	const victim = oidcAccount(ctx, 'fake', { email: `victim-${randomBytes(3).toString('hex')}@fake.test` });
	const v = await loginWith(null, { account: victim });
	assert.equal(v.res.status, 200, v.res.text);
	const victimId = (await profile(v.client)).id;
	const attacker = oidcAccount(ctx, 'fake');
	fake.nextUserinfo(() => ({ sub: victim.uid, email: victim.email, email_verified: true }));
	const { res, client } = await loginWith(null, { account: attacker });
	if (res.status === 200) {
		const me = await profile(client);
		assert.notEqual(me.id, victimId, 'logged in as the victim through userinfo');
		assert.notEqual(me.email, victim.email);
	} else {
		assertRefused(res, 400, 'userinfo sub mismatch');
	}
	assert.equal(identityRows(ctx, 'fake', victim.uid).length, 1);
});

// Last, so the minute the server waits between two JWKS fetches (keys rotate;
// an unknown kid must not make it fetch on every request) has passed.
test('a key published after the JWKS was cached is found by fetching it again', async () => {
	const k = await fake.addKey('RS256', { kid: `late-${randomBytes(3).toString('hex')}` });
	const wait = rotFetchedAt + 61000 - Date.now();
	if (wait > 0) await sleep(wait);
	const before = fake.requestsTo('/jwks').length;
	const { res } = await loginWith(({ claims }) => fake.sign(claims, { kid: k.kid }), { on: rot });
	assert.equal(res.status, 200, res.text);
	assert.equal(fake.requestsTo('/jwks').length - before, 1, 'one JWKS fetch');
});
