// A real OpenID Connect provider (npm oidc-provider) on 127.0.0.1, for
// gatehouse's `google-oauth2` (GOOGLE_ISSUER) and generic OIDC providers
// (OIDC_<NAME>_ISSUER).  Code flow only, PKCE S256 required, scopes openid
// email profile, claims email/email_verified/given_name/family_name/name.
//
// The login interaction is ours: /interaction/<uid> shows the common login
// page (type an account id, press Authorize or Cancel); consent is implied
// for the registered clients (loadExistingGrant), as for a first-party app
// or a Google account that already approved the app.  Node tests drive it
// with browser.mjs (follow redirects, post the form, keep cookies).
//
// Like Google, the token endpoint takes client_secret_basic or
// client_secret_post (oidc-provider registers one method per client: a
// posted secret is moved into the Authorization header before it sees it).

import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';
import {
	startHttp,
	fault,
	send,
	loginPage,
	errorPage,
	readBody,
	parseParams,
	randomToken,
	ClientRegistry,
} from './common.mjs';

export const OIDC_DEFAULT_ACCOUNTS = {
	alice: { email: 'alice@oidc.test', email_verified: true, given_name: 'Alice', family_name: 'Anders' },
	bob: { email: 'bob@oidc.test', email_verified: false, given_name: 'Bob', family_name: 'Unverified' },
};

const PLACEHOLDER_REDIRECT = 'http://127.0.0.1:9/placeholder';

/** oidc-provider's storage for one provider instance: plain Maps, gone at stop(). */
function mapAdapter() {
	const store = new Map();
	const grants = new Map(); // grantId -> Set of keys
	return class MapAdapter {
		constructor(model) {
			this.model = model;
		}
		key(id) {
			return `${this.model}:${id}`;
		}
		async upsert(id, payload, expiresIn) {
			const k = this.key(id);
			store.set(k, { payload, exp: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
			if (payload.grantId) {
				if (!grants.has(payload.grantId)) grants.set(payload.grantId, new Set());
				grants.get(payload.grantId).add(k);
			}
			if (payload.uid) store.set(`${this.model}:uid:${payload.uid}`, { ref: id });
			if (payload.userCode) store.set(`${this.model}:userCode:${payload.userCode}`, { ref: id });
		}
		async find(id) {
			const e = store.get(this.key(id));
			if (!e || e.exp < Date.now()) return undefined;
			return e.payload;
		}
		async findByUid(uid) {
			const r = store.get(`${this.model}:uid:${uid}`);
			return r ? this.find(r.ref) : undefined;
		}
		async findByUserCode(c) {
			const r = store.get(`${this.model}:userCode:${c}`);
			return r ? this.find(r.ref) : undefined;
		}
		async consume(id) {
			const e = store.get(this.key(id));
			if (e) e.payload.consumed = Math.floor(Date.now() / 1000);
		}
		async destroy(id) {
			store.delete(this.key(id));
		}
		async revokeByGrantId(grantId) {
			for (const k of grants.get(grantId) || []) store.delete(k);
			grants.delete(grantId);
		}
	};
}

/**
 * Start oidc-provider.
 * opts.clients   [{client_id, client_secret, redirect_uris}] (default one: oidc-client/oidc-secret);
 *                more redirect URIs: p.allowOrigin(origin, name) / p.clients.addRedirectUri(uri)
 * opts.accounts  {id: {email, email_verified, given_name, family_name, name}}; sub = id.
 *                p.accounts (a Map) stays live: change an email between logins.
 * opts.port      fixed port (default any free one)
 * opts.claimsInIdToken  put the scope claims (email, names) into the ID token, as
 *                Google does (default true); false: only in userinfo, as oidc-provider's
 *                strict default (conformIdTokenClaims) and many OIDC servers do
 * opts.autoApprove  an account id to sign in without showing the login page
 * Returned: issuer, url, port, provider (the oidc-provider instance), clients,
 * accounts, addAccount, autoApprove, faults (discovery, jwks, authorize, token,
 * userinfo: 500 | 'hang' | 'close' | 'garbage' | {fault, times}), requests, stop(),
 * gatehouseEnv(name, label), allowOrigin(origin, name).
 */
export async function startOidcProvider(opts = {}) {
	const clients = new ClientRegistry(opts.clients || [{ client_id: 'oidc-client', client_secret: 'oidc-secret' }]);
	const accounts = new Map();
	const addAccount = (id, claims = {}) => {
		accounts.set(id, { ...claims });
		return accounts.get(id);
	};
	for (const [id, c] of Object.entries(opts.accounts || OIDC_DEFAULT_ACCOUNTS)) addAccount(id, structuredClone(c));

	const { privateKey } = await generateKeyPair('RS256', { extractable: true });
	const signingJwk = { ...(await exportJWK(privateKey)), kid: `oidc-${randomToken(6)}`, alg: 'RS256', use: 'sig' };

	const p = { clients, accounts, addAccount, autoApprove: opts.autoApprove ?? null };
	let provider;
	let handle; // provider.callback(), made once

	async function loginAnswer(req, res, uid, accountId, deny) {
		if (deny) {
			return provider.interactionFinished(
				req,
				res,
				{ error: 'access_denied', error_description: 'End-User aborted interaction' },
				{ mergeWithLastSubmission: false },
			);
		}
		return provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
	}

	async function consentAnswer(req, res, details) {
		const { prompt, params, session, grantId } = details;
		const grant = grantId
			? await provider.Grant.find(grantId)
			: new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
		if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
		if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
		return provider.interactionFinished(
			req,
			res,
			{ consent: { grantId: await grant.save() } },
			{ mergeWithLastSubmission: true },
		);
	}

	async function interaction(req, res, url, rec) {
		const m = /^\/interaction\/([^/]+)\/?$/.exec(url.pathname);
		if (!m) return errorPage(res, 404, 'Not found', 'no such interaction');
		let details;
		try {
			details = await provider.interactionDetails(req, res);
		} catch (e) {
			return errorPage(res, 400, 'Interaction expired', e.message);
		}
		const page = (error) =>
			send(
				res,
				200,
				loginPage({
					title: 'Sign in (test OpenID provider)',
					app: details.params.client_id,
					action: url.pathname,
					hidden: {},
					accounts: [...accounts.keys()],
					error,
				}),
				{ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' },
			);
		if (details.prompt.name === 'consent') return consentAnswer(req, res, details);
		if (req.method === 'POST') {
			rec.body = await readBody(req);
			const form = parseParams(req.headers['content-type'], rec.body);
			if (form.decision === 'deny') return loginAnswer(req, res, m[1], null, true);
			if (!accounts.has(form.login)) return page('Unknown account.');
			return loginAnswer(req, res, m[1], form.login, false);
		}
		if (p.autoApprove && accounts.has(p.autoApprove)) return loginAnswer(req, res, m[1], p.autoApprove, false);
		return page('');
	}

	/** A posted client secret goes into Authorization: Basic (see the file comment). */
	async function normaliseTokenAuth(req, rec) {
		rec.body = await readBody(req);
		const params = parseParams(req.headers['content-type'], rec.body);
		rec.params = { ...params };
		rec.clientAuth = req.headers.authorization
			? 'client_secret_basic'
			: params.client_secret !== undefined
				? 'client_secret_post'
				: 'none';
		if (!req.headers.authorization && params.client_secret !== undefined && params.client_id !== undefined) {
			const e = (s) => encodeURIComponent(s);
			req.headers.authorization = `Basic ${Buffer.from(`${e(params.client_id)}:${e(params.client_secret)}`).toString('base64')}`;
			delete params.client_secret;
		}
		req.body = params; // oidc-provider reads an already-parsed body from here
	}

	const ROUTES = {
		'/.well-known/openid-configuration': 'discovery',
		'/jwks': 'jwks',
		'/auth': 'authorize',
		'/token': 'token',
		'/me': 'userinfo',
	};

	const http = await startHttp(
		async (req, res, url, rec) => {
			if (url.pathname.startsWith('/interaction/')) return interaction(req, res, url, rec);
			const name = ROUTES[url.pathname.replace(/\/+$/, '')];
			if (name && fault(http.faults, name, req, res)) return;
			if (name === 'token' && req.method === 'POST') await normaliseTokenAuth(req, rec);
			handle ||= provider.callback();
			return handle(req, res);
		},
		{ port: opts.port, name: 'oidc-provider' },
	);

	const issuer = http.url;
	const claimsInIdToken = opts.claimsInIdToken ?? true;
	provider = new Provider(issuer, {
		clients: [...clients.map.values()].map((c) => ({
			client_id: c.client_id,
			client_secret: c.client_secret,
			redirect_uris: c.redirect_uris.size ? [...c.redirect_uris] : [PLACEHOLDER_REDIRECT],
			grant_types: ['authorization_code'],
			response_types: ['code'],
			token_endpoint_auth_method: 'client_secret_basic',
		})),
		adapter: mapAdapter(),
		jwks: { keys: [signingJwk] },
		ttl: {
			AccessToken: 3600,
			AuthorizationCode: 600,
			ClientCredentials: 600,
			IdToken: 3600,
			Interaction: 3600,
			Session: 3600,
			Grant: 3600,
		},
		pkce: { required: () => true },
		scopes: ['openid', 'email', 'profile'],
		claims: {
			openid: ['sub'],
			email: ['email', 'email_verified'],
			profile: ['given_name', 'family_name', 'name'],
		},
		conformIdTokenClaims: !claimsInIdToken,
		features: { devInteractions: { enabled: false } },
		interactions: { url: (ctx, i) => `/interaction/${i.uid}` },
		cookies: { keys: [randomToken(32)] },
		async findAccount(ctx, id) {
			const a = accounts.get(id);
			if (!a) return undefined;
			return {
				accountId: id,
				async claims() {
					const cur = accounts.get(id) || a;
					const out = { sub: id, ...cur };
					if (out.name === undefined && (cur.given_name || cur.family_name))
						out.name = [cur.given_name, cur.family_name].filter(Boolean).join(' ');
					return out;
				},
			};
		},
		// consent is implied for the test clients
		async loadExistingGrant(ctx) {
			const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
			if (grantId) {
				const g = await ctx.oidc.provider.Grant.find(grantId);
				if (g) return g;
			}
			const grant = new ctx.oidc.provider.Grant({
				clientId: ctx.oidc.client.clientId,
				accountId: ctx.oidc.session.accountId,
			});
			grant.addOIDCScope('openid email profile');
			await grant.save();
			return grant;
		},
		renderError(ctx, out) {
			ctx.type = 'html';
			ctx.body = `<!doctype html><html><head><title>oops</title></head><body><h1>oops! something went wrong</h1><pre class="error">${Object.entries(
				out,
			)
				.map(([k, v]) => `${k}: ${String(v).replace(/[<>&]/g, '')}`)
				.join('\n')}</pre></body></html>`;
		},
	});
	// Redirect URIs added after start (the relying party's port is known late).
	const allowed = provider.Client.prototype.redirectUriAllowed;
	provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
		return clients.get(this.clientId)?.redirect_uris.has(value) || allowed.call(this, value);
	};
	provider.on('server_error', (ctx, err) => {
		process.stderr.write(`oidc-provider server_error: ${err.stack}\n`);
	});

	return Object.assign(p, {
		issuer,
		url: issuer,
		port: http.port,
		provider,
		requests: http.requests,
		requestsTo: http.requestsTo,
		faults: http.faults,
		/** For GOOGLE_* when name is 'google-oauth2', else OIDC_<NAME>_* (add name to OIDC_PROVIDERS). */
		gatehouseEnv(name = 'google-oauth2', label, clientId) {
			const c = clientId ? clients.get(clientId) : clients.first();
			if (name === 'google-oauth2') {
				return {
					GATEHOUSE_GOOGLE_CLIENT_ID: c.client_id,
					GATEHOUSE_GOOGLE_CLIENT_SECRET: c.client_secret,
					GATEHOUSE_GOOGLE_ISSUER: issuer,
				};
			}
			const N = name.toUpperCase().replace(/-/g, '_');
			return {
				[`GATEHOUSE_OIDC_${N}_ISSUER`]: issuer,
				[`GATEHOUSE_OIDC_${N}_CLIENT_ID`]: c.client_id,
				[`GATEHOUSE_OIDC_${N}_CLIENT_SECRET`]: c.client_secret,
				...(label ? { [`GATEHOUSE_OIDC_${N}_LABEL`]: label } : {}),
			};
		},
		allowOrigin(origin, name = 'google-oauth2', clientId) {
			clients.addRedirectUri(`${origin}/auth/${name}/callback`, clientId);
		},
		stop: http.stop,
	});
}
