// A small hand-made OpenID Connect issuer (discovery, JWKS, authorize, token,
// userinfo) whose ID token a test can forge for the next token request: wrong
// signature, unknown kid, alg none, HS256 keyed with the public key, wrong
// iss/aud/nonce, expired, issued in the future...  The honest path is a
// correct code flow with PKCE (S256) and an RS256 ID token, so a relying
// party that verifies nothing passes the honest tests and fails the forged ones.

import { createHmac } from 'node:crypto';
import { CompactSign, exportJWK, exportSPKI, generateKeyPair, base64url } from 'jose';
import {
	startHttp,
	fault,
	faultMode,
	send,
	redirect,
	withQuery,
	loginPage,
	errorPage,
	readBody,
	parseParams,
	basicAuth,
	bearer,
	randomToken,
	s256,
	VERIFIER_RE,
	ClientRegistry,
	CodeStore,
} from './common.mjs';

export const FAKE_DEFAULT_ACCOUNTS = {
	mallory: { email: 'mallory@fake.test', email_verified: true, given_name: 'Mallory', family_name: 'Fake' },
};

const enc = new TextEncoder();
const now = () => Math.floor(Date.now() / 1000);

/** A compact JWS over `claims` with exactly `header`, signed by `key` (a jose/WebCrypto key). */
export async function signJwt(claims, header, key) {
	return new CompactSign(enc.encode(JSON.stringify(claims))).setProtectedHeader(header).sign(key);
}

/** header.payload. with alg "none" (or any header given). */
export function unsignedJwt(claims, header = { alg: 'none', typ: 'JWT' }) {
	return `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}.`;
}

/** HS256 over header.payload keyed with `secret` (string or Buffer) — the alg-confusion attack. */
export function hmacJwt(claims, secret, header = { alg: 'HS256', typ: 'JWT' }) {
	const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}`;
	return `${input}.${createHmac(
		header.alg === 'HS512' ? 'sha512' : header.alg === 'HS384' ? 'sha384' : 'sha256',
		secret,
	)
		.update(input)
		.digest('base64url')}`;
}

/**
 * Start the forgeable issuer.
 * opts.clients    [{client_id, client_secret, redirect_uris}] (default fake-client/fake-secret)
 * opts.accounts   {id: {email, email_verified, given_name, family_name, ...}}; sub = id
 * opts.autoApprove  an account id to approve at once (else the login page)
 * Returned: issuer, url, clients, accounts (Map), addAccount(id, claims), keys
 * (Map kid → {alg, privateKey, publicKey, jwk, published}), addKey(alg, {kid, publish}),
 * rogueKey (an RS256 key pair never published), nextIdToken(fn), nextUserinfo(fn),
 * sign(claims, {kid, header}), faults (names: discovery, jwks, authorize, token,
 * userinfo; 'error' on token → 400 invalid_grant), requests, lastToken, stop(),
 * gatehouseEnv(name).
 *
 * nextIdToken(fn): the next token response's ID token comes from
 * `await fn({claims, header, p})`, where claims/header are what an honest issuer
 * would sign (nonce included); fn returns the compact token string.
 */
export async function startFakeOidc(opts = {}) {
	const clients = new ClientRegistry(opts.clients || [{ client_id: 'fake-client', client_secret: 'fake-secret' }]);
	const accounts = new Map();
	const codes = new CodeStore();
	const tokens = new Map();
	const keys = new Map();
	const forgeQueue = [];
	const userinfoQueue = [];
	let keySeq = 0;

	const addAccount = (id, claims = {}) => {
		accounts.set(id, { sub: id, ...claims });
		return accounts.get(id);
	};
	for (const [id, c] of Object.entries(opts.accounts || FAKE_DEFAULT_ACCOUNTS)) addAccount(id, structuredClone(c));

	async function addKey(alg = 'RS256', { kid, publish = true } = {}) {
		const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
		kid = kid ?? `${alg.toLowerCase()}-${++keySeq}`;
		const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
		const k = { kid, alg, privateKey, publicKey, jwk, published: publish, pem: await exportSPKI(publicKey) };
		keys.set(kid, k);
		return k;
	}
	const mainKey = await addKey('RS256');
	await addKey('ES256');
	const rogue = await generateKeyPair('RS256', { extractable: true });
	const rogueKey = {
		alg: 'RS256',
		privateKey: rogue.privateKey,
		publicKey: rogue.publicKey,
		pem: await exportSPKI(rogue.publicKey),
	};

	const p = {
		clients,
		accounts,
		addAccount,
		keys,
		addKey,
		mainKey,
		rogueKey,
		autoApprove: opts.autoApprove ?? null,
		/** The last ID token handed out (compact string). */
		lastToken: null,
		nextIdToken(fn) {
			forgeQueue.push(fn);
		},
		nextUserinfo(fn) {
			userinfoQueue.push(fn);
		},
		/** Sign claims with a published key (default the main RS256 one), header {alg, kid, typ}. */
		async sign(claims, { kid = mainKey.kid, header = {} } = {}) {
			const k = keys.get(kid);
			return signJwt(claims, { alg: k.alg, kid: k.kid, typ: 'JWT', ...header }, k.privateKey);
		},
	};

	function finish(res, q, accountId) {
		const code = codes.issue({
			client_id: q.client_id,
			redirect_uri: q.redirect_uri,
			accountId,
			nonce: q.nonce,
			scope: (q.scope || '').split(' ').filter(Boolean),
			code_challenge: q.code_challenge,
		});
		redirect(res, withQuery(q.redirect_uri, { code, state: q.state, iss: p.issuer }));
	}

	const hiddenOf = (q) => {
		const h = {};
		for (const k of [
			'client_id',
			'redirect_uri',
			'scope',
			'state',
			'nonce',
			'response_type',
			'code_challenge',
			'code_challenge_method',
		])
			h[k] = q[k];
		return h;
	};

	async function authorize(req, res, url, rec) {
		let q = Object.fromEntries(url.searchParams);
		let form = null;
		if (req.method === 'POST') {
			rec.body = await readBody(req);
			form = parseParams(req.headers['content-type'], rec.body);
			q = form;
		}
		if (fault(http.faults, 'authorize', req, res)) return;
		const client = clients.get(q.client_id);
		if (!client) return errorPage(res, 400, 'invalid_client', 'unknown client_id');
		if (!q.redirect_uri || !client.redirect_uris.has(q.redirect_uri))
			return errorPage(res, 400, 'invalid_redirect_uri', 'redirect_uri is not registered');
		const err = (error, desc) =>
			redirect(res, withQuery(q.redirect_uri, { error, error_description: desc, state: q.state, iss: p.issuer }));
		if (q.response_type !== 'code') return err('unsupported_response_type', 'only code');
		if (!(q.scope || '').split(' ').includes('openid')) return err('invalid_scope', 'openid scope missing');
		if (!q.code_challenge || q.code_challenge_method !== 'S256') return err('invalid_request', 'PKCE S256 required');
		const page = (e) =>
			send(
				res,
				200,
				loginPage({
					title: 'Fake OIDC sign-in',
					app: client.client_id,
					action: '/authorize',
					hidden: hiddenOf(q),
					accounts: [...accounts.keys()],
					error: e,
				}),
				{ 'Content-Type': 'text/html; charset=utf-8' },
			);
		if (form) {
			if (form.decision === 'deny') return err('access_denied', 'End-User denied the request');
			if (!accounts.has(form.login)) return page('Unknown account.');
			return finish(res, q, form.login);
		}
		if (p.autoApprove) return finish(res, q, p.autoApprove);
		page('');
	}

	async function token(req, res, url, rec) {
		if (req.method !== 'POST') return send(res, 405, { error: 'invalid_request' });
		rec.body = await readBody(req);
		const params = parseParams(req.headers['content-type'], rec.body);
		rec.params = params;
		if (faultMode(http.faults, 'token') === 'error')
			return send(res, 400, { error: 'invalid_grant', error_description: 'injected' });
		if (fault(http.faults, 'token', req, res)) return;
		const basic = basicAuth(req);
		const client = clients.get(basic ? basic.id : params.client_id);
		const secret = basic ? basic.secret : params.client_secret;
		if (!client || secret !== client.client_secret) return send(res, 401, { error: 'invalid_client' });
		if (params.grant_type !== 'authorization_code') return send(res, 400, { error: 'unsupported_grant_type' });
		const code = codes.take(params.code);
		if (!code || code.client_id !== client.client_id)
			return send(res, 400, { error: 'invalid_grant', error_description: 'bad code' });
		if (params.redirect_uri !== code.redirect_uri)
			return send(res, 400, { error: 'invalid_grant', error_description: 'redirect_uri mismatch' });
		const v = params.code_verifier;
		if (typeof v !== 'string' || !VERIFIER_RE.test(v) || s256(v) !== code.code_challenge) {
			return send(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
		}
		const acct = accounts.get(code.accountId);
		const at = randomToken(24);
		tokens.set(at, { accountId: code.accountId, client_id: client.client_id });
		const t = now();
		const claims = {
			iss: p.issuer,
			sub: acct.sub,
			aud: client.client_id,
			exp: t + 600,
			iat: t,
			auth_time: t,
			...(code.nonce !== undefined ? { nonce: code.nonce } : {}),
		};
		for (const [k, val] of Object.entries(acct)) if (k !== 'sub') claims[k] = val;
		const header = { alg: mainKey.alg, kid: mainKey.kid, typ: 'JWT' };
		const forge = forgeQueue.shift();
		const idToken = forge ? await forge({ claims, header, p }) : await signJwt(claims, header, mainKey.privateKey);
		p.lastToken = idToken;
		send(res, 200, {
			access_token: at,
			token_type: 'Bearer',
			expires_in: 3600,
			scope: code.scope.join(' '),
			id_token: idToken,
		});
	}

	async function userinfo(req, res) {
		if (fault(http.faults, 'userinfo', req, res)) return;
		const t = tokens.get(bearer(req));
		if (!t) return send(res, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
		const claims = { ...accounts.get(t.accountId) };
		const f = userinfoQueue.shift();
		send(res, 200, f ? await f({ claims, p }) : claims);
	}

	const http = await startHttp(
		async (req, res, url, rec) => {
			const path = url.pathname;
			if (path === '/.well-known/openid-configuration') {
				if (fault(http.faults, 'discovery', req, res)) return;
				return send(res, 200, {
					issuer: p.issuer,
					authorization_endpoint: `${p.issuer}/authorize`,
					token_endpoint: `${p.issuer}/token`,
					userinfo_endpoint: `${p.issuer}/userinfo`,
					jwks_uri: `${p.issuer}/jwks`,
					response_types_supported: ['code'],
					subject_types_supported: ['public'],
					id_token_signing_alg_values_supported: ['RS256', 'ES256'],
					scopes_supported: ['openid', 'email', 'profile'],
					token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
					code_challenge_methods_supported: ['S256'],
					claims_supported: [
						'sub',
						'iss',
						'aud',
						'exp',
						'iat',
						'nonce',
						'email',
						'email_verified',
						'given_name',
						'family_name',
						'name',
					],
				});
			}
			if (path === '/jwks') {
				if (fault(http.faults, 'jwks', req, res)) return;
				return send(res, 200, { keys: [...keys.values()].filter((k) => k.published).map((k) => k.jwk) });
			}
			if (path === '/authorize') return authorize(req, res, url, rec);
			if (path === '/token') return token(req, res, url, rec);
			if (path === '/userinfo') return userinfo(req, res);
			send(res, 404, { error: 'not_found' });
		},
		{ port: opts.port, name: 'fake-oidc' },
	);

	p.issuer = http.url;
	return Object.assign(p, {
		url: http.url,
		port: http.port,
		requests: http.requests,
		requestsTo: http.requestsTo,
		faults: http.faults,
		/** GATEHOUSE_OIDC_<NAME>_* (add `name` to GATEHOUSE_OIDC_PROVIDERS yourself). */
		gatehouseEnv(name = 'fake', label = 'Fake', clientId) {
			const c = clientId ? clients.get(clientId) : clients.first();
			const N = name.toUpperCase().replace(/-/g, '_');
			return {
				[`GATEHOUSE_OIDC_${N}_ISSUER`]: p.issuer,
				[`GATEHOUSE_OIDC_${N}_CLIENT_ID`]: c.client_id,
				[`GATEHOUSE_OIDC_${N}_CLIENT_SECRET`]: c.client_secret,
				[`GATEHOUSE_OIDC_${N}_LABEL`]: label,
			};
		},
		allowOrigin(origin, name = 'fake', clientId) {
			clients.addRedirectUri(`${origin}/auth/${name}/callback`, clientId);
		},
		stop: http.stop,
	});
}
