// A stand-in for Facebook Login's manual flow and the Graph API call a login
// needs, as Meta documents them (a version prefix such as /v19.0 is accepted
// and ignored):
//   GET /dialog/oauth          client_id, redirect_uri, state, response_type=code, scope,
//                              code_challenge(+_method=S256)
//   GET|POST /oauth/access_token  client_id, client_secret, redirect_uri (must be the
//                              dialog's), code, code_verifier → {access_token, token_type, expires_in};
//                              errors 400 {"error": {"message", "type": "OAuthException", "code", ...}}
//   GET /me?fields=id,name,email&access_token=…  (or Authorization: Bearer)
// Facebook never says whether an email is verified; some accounts have none.

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
	bearer,
	randomToken,
	s256,
	VERIFIER_RE,
	ClientRegistry,
	CodeStore,
} from './common.mjs';

export const FACEBOOK_DEFAULT_USERS = [
	{
		login: 'zuck',
		id: '10000000000001',
		name: 'Mark Test',
		first_name: 'Mark',
		last_name: 'Test',
		email: 'mark@facebook.test',
	},
	{ login: 'nomail', id: '10000000000002', name: 'Phone Only', first_name: 'Phone', last_name: 'Only', email: null },
];

const fbError = (message, code, subcode) => ({
	error: {
		message,
		type: 'OAuthException',
		code,
		...(subcode ? { error_subcode: subcode } : {}),
		fbtrace_id: randomToken(8),
	},
});

/**
 * Start the Facebook stand-in.
 * opts.clients      [{client_id, client_secret, redirect_uris}] (default one: fb-app/fb-secret)
 * opts.users        [{login, id, name, first_name, last_name, email}]
 * opts.autoApprove  a login to approve at once (else the login page)
 * opts.requirePkce  refuse a dialog without an S256 code_challenge (default true)
 * opts.fragment     append "#_=_" to the redirect, as Facebook does (default true)
 * faults: p.faults.<name> = 500 | 'hang' | 'close' | 'garbage' | 'error' | {fault, times};
 *   names: dialog, token, me.  'error' answers Facebook's OAuthException (400).
 */
export async function startFacebook(opts = {}) {
	const clients = new ClientRegistry(opts.clients || [{ client_id: 'fb-app', client_secret: 'fb-secret' }]);
	const users = new Map();
	const codes = new CodeStore();
	const tokens = new Map();
	const requirePkce = opts.requirePkce ?? true;
	const fragment = opts.fragment ?? true;
	let nextId = 10000000000100n;

	const addUser = (u) => {
		const user = { id: String(u.id ?? nextId++), name: '', first_name: '', last_name: '', email: null, ...u };
		users.set(user.login, user);
		return user;
	};
	for (const u of opts.users || FACEBOOK_DEFAULT_USERS) addUser(structuredClone(u));

	const p = { clients, users, addUser, autoApprove: opts.autoApprove ?? null, tokens };

	const back = (res, uri, params) => {
		const to = withQuery(uri, params) + (fragment ? '#_=_' : '');
		redirect(res, to);
	};

	function finish(res, q, login) {
		const code = codes.issue({
			client_id: q.client_id,
			redirect_uri: q.redirect_uri,
			login,
			scope: (q.scope || 'public_profile').split(/[\s,]+/).filter(Boolean),
			code_challenge: q.code_challenge,
		});
		back(res, q.redirect_uri, { code, state: q.state });
	}

	const hiddenOf = (q) => {
		const h = {};
		for (const k of [
			'client_id',
			'redirect_uri',
			'scope',
			'state',
			'response_type',
			'code_challenge',
			'code_challenge_method',
		])
			h[k] = q[k];
		return h;
	};

	async function dialog(req, res, url, rec) {
		let q = Object.fromEntries(url.searchParams);
		let form = null;
		if (req.method === 'POST') {
			rec.body = await readBody(req);
			form = parseParams(req.headers['content-type'], rec.body);
			q = form;
		}
		if (fault(http.faults, 'dialog', req, res)) return;
		const client = clients.get(q.client_id);
		if (!client) return errorPage(res, 400, 'Invalid App ID', 'The provided app ID does not look like a valid app ID.');
		if (!q.redirect_uri || !client.redirect_uris.has(q.redirect_uri)) {
			return errorPage(
				res,
				400,
				'URL Blocked',
				"This redirect failed because the redirect URI is not whitelisted in the app's Client OAuth Settings.",
			);
		}
		if ((q.response_type || 'code') !== 'code')
			return errorPage(res, 400, 'Invalid request', 'response_type must be code');
		if (q.code_challenge !== undefined || requirePkce) {
			if (!q.code_challenge || q.code_challenge_method !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge)) {
				return errorPage(res, 400, 'Invalid request', 'code_challenge (S256) is required by this test provider.');
			}
		}
		const page = (error) =>
			send(
				res,
				200,
				loginPage({
					title: 'Log in to Facebook (test)',
					app: client.client_id,
					action: url.pathname,
					hidden: hiddenOf(q),
					accounts: [...users.keys()],
					error,
				}),
				{ 'Content-Type': 'text/html; charset=utf-8' },
			);
		if (form) {
			if (form.decision === 'deny') {
				return back(res, q.redirect_uri, {
					error_reason: 'user_denied',
					error: 'access_denied',
					error_description: 'Permissions error.',
					state: q.state,
				});
			}
			if (!users.has(form.login)) return page('The email or mobile number you entered isn’t connected to an account.');
			return finish(res, q, form.login);
		}
		if (p.autoApprove) return finish(res, q, p.autoApprove);
		page('');
	}

	async function accessToken(req, res, url, rec) {
		let params = Object.fromEntries(url.searchParams);
		if (req.method === 'POST') {
			rec.body = await readBody(req);
			params = { ...params, ...parseParams(req.headers['content-type'], rec.body) };
		}
		rec.params = params;
		if (faultMode(http.faults, 'token') === 'error')
			return send(res, 400, fbError('This authorization code has been used.', 100, 36009));
		if (fault(http.faults, 'token', req, res)) return;
		const client = clients.get(params.client_id);
		if (!client) return send(res, 400, fbError('Error validating application. Invalid application ID.', 101));
		if (params.client_secret !== client.client_secret)
			return send(res, 400, fbError('Error validating client secret.', 1));
		if (!params.code) return send(res, 400, fbError('Missing authorization code', 1));
		const code = codes.take(params.code);
		if (!code || code.client_id !== client.client_id)
			return send(res, 400, fbError('Invalid verification code format.', 100));
		if (params.redirect_uri !== code.redirect_uri) {
			return send(
				res,
				400,
				fbError(
					'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request',
					100,
					36008,
				),
			);
		}
		if (code.code_challenge) {
			const v = params.code_verifier;
			if (typeof v !== 'string' || !VERIFIER_RE.test(v) || s256(v) !== code.code_challenge) {
				return send(res, 400, fbError('Invalid code verifier.', 100));
			}
		}
		const token = `EAA${randomToken(40).replace(/[-_]/g, 'Z')}`;
		tokens.set(token, { login: code.login, scope: code.scope, client_id: client.client_id });
		send(res, 200, { access_token: token, token_type: 'bearer', expires_in: 5183944 });
	}

	function me(req, res, url) {
		if (faultMode(http.faults, 'me') === 'error')
			return send(res, 400, fbError('Invalid OAuth access token data.', 190));
		if (fault(http.faults, 'me', req, res)) return;
		const tok = url.searchParams.get('access_token') || bearer(req);
		const t = tokens.get(tok);
		const user = t && users.get(t.login);
		if (!user) return send(res, 400, fbError('Invalid OAuth access token - Cannot parse access token', 190));
		const fields = (url.searchParams.get('fields') || 'id,name')
			.split(',')
			.map((s) => s.trim())
			.filter(Boolean);
		const out = {};
		for (const f of fields) {
			if (f === 'email' && !t.scope.includes('email')) continue;
			if (user[f] !== undefined && user[f] !== null && f !== 'login') out[f] = user[f];
		}
		out.id = user.id;
		send(res, 200, out);
	}

	const http = await startHttp(
		async (req, res, url, rec) => {
			const path = url.pathname.replace(/^\/v\d+\.\d+(?=\/)/, '').replace(/\/+$/, '') || '/';
			if (path === '/dialog/oauth') return dialog(req, res, url, rec);
			if (path === '/oauth/access_token') return accessToken(req, res, url, rec);
			if (path === '/me' && req.method === 'GET') return me(req, res, url);
			send(res, 400, fbError(`Unknown path components: ${path}`, 2500));
		},
		{ port: opts.port, name: 'facebook' },
	);

	const version = opts.version ?? 'v19.0';
	return Object.assign(p, {
		url: http.url,
		port: http.port,
		requests: http.requests,
		requestsTo: http.requestsTo,
		faults: http.faults,
		authorizeUrl: `${http.url}/${version}/dialog/oauth`,
		tokenUrl: `${http.url}/${version}/oauth/access_token`,
		graphUrl: `${http.url}/${version}`,
		gatehouseEnv(clientId) {
			const c = clientId ? clients.get(clientId) : clients.first();
			return {
				GATEHOUSE_FACEBOOK_CLIENT_ID: c.client_id,
				GATEHOUSE_FACEBOOK_CLIENT_SECRET: c.client_secret,
				GATEHOUSE_FACEBOOK_AUTHORIZE_URL: p.authorizeUrl,
				GATEHOUSE_FACEBOOK_TOKEN_URL: p.tokenUrl,
				GATEHOUSE_FACEBOOK_GRAPH_URL: p.graphUrl,
			};
		},
		allowOrigin(origin, name = 'facebook', clientId) {
			clients.addRedirectUri(`${origin}/auth/${name}/callback`, clientId);
		},
		stop: http.stop,
	});
}
