// A stand-in for GitHub's OAuth web application flow and the two REST calls a
// login needs, as GitHub documents them:
//   GET  /login/oauth/authorize      client_id, redirect_uri, scope, state,
//                                    code_challenge(+_method=S256), login, allow_signup
//   POST /login/oauth/access_token   client_id, client_secret (or HTTP Basic), code,
//                                    redirect_uri, code_verifier — form, JSON or query;
//                                    answers form-encoded unless Accept: application/json;
//                                    errors are 200 {"error": "bad_verification_code", ...}
//   GET  /user, GET /user/emails     Authorization: Bearer <t> (or "token <t>");
//                                    a User-Agent header is required, as on api.github.com
// One server plays both github.com and api.github.com: point
// GITHUB_AUTHORIZE_URL, GITHUB_TOKEN_URL and GITHUB_API_URL at it (gatehouseEnv()).

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

const DOCS = 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/';
const ERRORS = {
	bad_verification_code: 'The code passed is incorrect or expired.',
	incorrect_client_credentials: 'The client_id and/or client_secret passed are incorrect.',
	redirect_uri_mismatch: 'The redirect_uri MUST match the registered callback URL for this application.',
	unverified_user_email: 'The user must have a verified primary email.',
};

export const GITHUB_DEFAULT_USERS = [
	{
		login: 'octocat',
		id: 583231,
		name: 'The Octocat',
		email: null,
		emails: [{ email: 'octocat@github.test', primary: true, verified: true, visibility: 'private' }],
	},
	{
		login: 'unverified',
		id: 700001,
		name: 'Una Verified',
		email: 'una@github.test',
		emails: [
			{ email: 'una@github.test', primary: true, verified: false, visibility: 'public' },
			{ email: 'una-other@github.test', primary: false, verified: true, visibility: null },
		],
	},
];

/**
 * Start the GitHub stand-in.
 * opts.clients      [{client_id, client_secret, redirect_uris}] (default one: gh-client/gh-secret)
 * opts.users        [{login, id, name, email, emails: [{email, primary, verified, visibility}]}]
 * opts.autoApprove  a login: authorize redirects back at once, as for a user who
 *                   authorized the app before (else the login page is shown)
 * opts.requirePkce  refuse an authorize request without an S256 code_challenge (default true)
 * opts.requireUserAgent  403 API calls without User-Agent, as api.github.com does (default true)
 *
 * The returned object: url, clients (ClientRegistry), users (Map login → user),
 * addUser(u), autoApprove (settable), faults (see below), requests (log), stop(),
 * gatehouseEnv(), authorizeUrl, tokenUrl, apiUrl.
 * faults: set p.faults.<name> = 500 | 'hang' | 'close' | 'garbage' | 'error' | {fault, times}
 *   names: authorize, token, user, emails.  'error' on token answers GitHub's
 *   200 {"error":"bad_verification_code"}; on user/emails 401 Bad credentials.
 */
export async function startGithub(opts = {}) {
	const clients = new ClientRegistry(opts.clients || [{ client_id: 'gh-client', client_secret: 'gh-secret' }]);
	const users = new Map();
	const codes = new CodeStore();
	const tokens = new Map(); // token -> {login, scope: [..], client_id}
	const requirePkce = opts.requirePkce ?? true;
	const requireUserAgent = opts.requireUserAgent ?? true;
	let nextId = 800000;

	const addUser = (u) => {
		const user = { id: u.id ?? nextId++, name: null, email: null, emails: [], ...u };
		users.set(user.login, user);
		return user;
	};
	for (const u of opts.users || GITHUB_DEFAULT_USERS) addUser(structuredClone(u));

	const p = {
		clients,
		users,
		addUser,
		autoApprove: opts.autoApprove ?? null,
		/** Tokens handed out: token → {login, scope, client_id}. */
		tokens,
	};

	const publicUser = (u) => ({
		login: u.login,
		id: u.id,
		node_id: Buffer.from(`04:User${u.id}`).toString('base64'),
		avatar_url: `https://avatars.githubusercontent.test/u/${u.id}?v=4`,
		html_url: `https://github.test/${u.login}`,
		type: 'User',
		site_admin: false,
		name: u.name,
		company: null,
		blog: '',
		location: null,
		email: u.email,
		hireable: null,
		bio: null,
		public_repos: 2,
		followers: 1,
		following: 0,
		created_at: '2011-01-25T18:44:36Z',
		updated_at: '2024-01-01T00:00:00Z',
	});

	function finish(res, q, login) {
		const client = clients.get(q.client_id);
		const code = codes.issue({
			client_id: client.client_id,
			redirect_uri: q.redirect_uri,
			login,
			scope: (q.scope || '').split(/[\s,]+/).filter(Boolean),
			code_challenge: q.code_challenge,
			code_challenge_method: q.code_challenge_method,
		});
		redirect(res, withQuery(q.redirect_uri, { code, state: q.state }));
	}

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
		if (!client) return errorPage(res, 404, 'Not Found', 'No OAuth application with this client_id.');
		if (!q.redirect_uri) q.redirect_uri = client.redirect_uris.values().next().value;
		if (!q.redirect_uri || !client.redirect_uris.has(q.redirect_uri)) {
			return errorPage(res, 400, 'Redirect URI mismatch', ERRORS.redirect_uri_mismatch);
		}
		if (q.code_challenge !== undefined || requirePkce) {
			if (!q.code_challenge || q.code_challenge_method !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge)) {
				return errorPage(res, 400, 'Invalid request', 'code_challenge (S256) is required by this test provider.');
			}
		}
		if (form) {
			if (form.decision === 'deny') {
				return redirect(
					res,
					withQuery(q.redirect_uri, {
						error: 'access_denied',
						error_description: 'The user has denied your application access.',
						error_uri: `${DOCS}#access-denied`,
						state: q.state,
					}),
				);
			}
			if (!users.has(form.login)) {
				return send(
					res,
					200,
					loginPage({
						title: 'Sign in to GitHub (test)',
						app: client.client_id,
						action: '/login/oauth/authorize',
						hidden: hiddenOf(q),
						accounts: [...users.keys()],
						error: 'Incorrect username or password.',
					}),
					{ 'Content-Type': 'text/html; charset=utf-8' },
				);
			}
			return finish(res, q, form.login);
		}
		if (p.autoApprove) return finish(res, q, p.autoApprove);
		send(
			res,
			200,
			loginPage({
				title: 'Sign in to GitHub (test)',
				app: client.client_id,
				action: '/login/oauth/authorize',
				hidden: hiddenOf(q),
				accounts: [...users.keys()],
			}),
			{ 'Content-Type': 'text/html; charset=utf-8' },
		);
	}

	const hiddenOf = (q) => {
		const h = {};
		for (const k of [
			'client_id',
			'redirect_uri',
			'scope',
			'state',
			'code_challenge',
			'code_challenge_method',
			'allow_signup',
		])
			h[k] = q[k];
		return h;
	};

	function tokenAnswer(req, res, obj) {
		const accept = (req.headers.accept || '').toLowerCase();
		if (accept.includes('application/json')) return send(res, 200, obj);
		const text = new URLSearchParams(obj).toString();
		if (accept.includes('xml')) {
			const xml = `<OAuth>${Object.entries(obj)
				.map(([k, v]) => `<${k}>${v}</${k}>`)
				.join('')}</OAuth>`;
			return send(res, 200, xml, { 'Content-Type': 'application/xml; charset=utf-8' });
		}
		return send(res, 200, text, { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' });
	}

	const tokenError = (req, res, error) =>
		tokenAnswer(req, res, {
			error,
			error_description: ERRORS[error],
			error_uri: `${DOCS}#${error.replace(/_/g, '-')}`,
		});

	async function accessToken(req, res, url, rec) {
		if (req.method !== 'POST') return send(res, 404, { message: 'Not Found' });
		rec.body = await readBody(req);
		const params = { ...Object.fromEntries(url.searchParams), ...parseParams(req.headers['content-type'], rec.body) };
		rec.params = params;
		if (faultMode(http.faults, 'token') === 'error') return tokenError(req, res, 'bad_verification_code');
		if (fault(http.faults, 'token', req, res)) return;
		const basic = basicAuth(req);
		const clientId = basic ? basic.id : params.client_id;
		const secret = basic ? basic.secret : params.client_secret;
		const client = clients.get(clientId);
		if (!client || !secret || secret !== client.client_secret)
			return tokenError(req, res, 'incorrect_client_credentials');
		const code = codes.take(params.code);
		if (!code || code.client_id !== client.client_id) return tokenError(req, res, 'bad_verification_code');
		if (params.redirect_uri !== undefined && params.redirect_uri !== code.redirect_uri)
			return tokenError(req, res, 'redirect_uri_mismatch');
		if (code.code_challenge) {
			const v = params.code_verifier;
			if (typeof v !== 'string' || !VERIFIER_RE.test(v) || s256(v) !== code.code_challenge)
				return tokenError(req, res, 'bad_verification_code');
		}
		const token = `gho_${randomToken(27).replace(/[-_]/g, 'x').slice(0, 36)}`;
		tokens.set(token, { login: code.login, scope: code.scope, client_id: client.client_id });
		return tokenAnswer(req, res, { access_token: token, token_type: 'bearer', scope: code.scope.join(',') });
	}

	function apiAuth(req, res, name) {
		if (requireUserAgent && !req.headers['user-agent']) {
			send(
				res,
				403,
				'Request forbidden by administrative rules. Please make sure your request has a User-Agent header ' +
					'(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).\n',
				{ 'Content-Type': 'text/plain; charset=utf-8' },
			);
			return null;
		}
		const bad = () =>
			send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
		if (faultMode(http.faults, name) === 'error') {
			bad();
			return null;
		}
		if (fault(http.faults, name, req, res)) return null;
		const t = tokens.get(bearer(req));
		const user = t && users.get(t.login);
		if (!user) {
			bad();
			return null;
		}
		return { t, user };
	}

	const http = await startHttp(
		async (req, res, url, rec) => {
			const path = url.pathname.replace(/\/+$/, '') || '/';
			if (path === '/login/oauth/authorize') return authorize(req, res, url, rec);
			if (path === '/login/oauth/access_token') return accessToken(req, res, url, rec);
			if (path === '/user' && req.method === 'GET') {
				const a = apiAuth(req, res, 'user');
				if (a)
					send(res, 200, publicUser(a.user), {
						'X-OAuth-Scopes': a.t.scope.join(', '),
						'X-GitHub-Media-Type': 'github.v3',
					});
				return;
			}
			if (path === '/user/emails' && req.method === 'GET') {
				const a = apiAuth(req, res, 'emails');
				if (!a) return;
				if (!a.t.scope.includes('user:email') && !a.t.scope.includes('user')) {
					return send(res, 404, {
						message: 'Not Found',
						documentation_url:
							'https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user',
						status: '404',
					});
				}
				return send(
					res,
					200,
					a.user.emails.map((e) => ({
						email: e.email,
						primary: !!e.primary,
						verified: !!e.verified,
						visibility: e.visibility ?? null,
					})),
					{ 'X-OAuth-Scopes': a.t.scope.join(', ') },
				);
			}
			send(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
		},
		{ port: opts.port, name: 'github' },
	);

	return Object.assign(p, {
		url: http.url,
		port: http.port,
		requests: http.requests,
		requestsTo: http.requestsTo,
		faults: http.faults,
		authorizeUrl: `${http.url}/login/oauth/authorize`,
		tokenUrl: `${http.url}/login/oauth/access_token`,
		apiUrl: http.url,
		/** GATEHOUSE_GITHUB_* for a gatehouse that uses this stand-in (first client, or clientId). */
		gatehouseEnv(clientId) {
			const c = clientId ? clients.get(clientId) : clients.first();
			return {
				GATEHOUSE_GITHUB_CLIENT_ID: c.client_id,
				GATEHOUSE_GITHUB_CLIENT_SECRET: c.client_secret,
				GATEHOUSE_GITHUB_AUTHORIZE_URL: p.authorizeUrl,
				GATEHOUSE_GITHUB_TOKEN_URL: p.tokenUrl,
				GATEHOUSE_GITHUB_API_URL: p.apiUrl,
			};
		},
		/** Register the callback of a relying party at `origin` (…/auth/github/callback). */
		allowOrigin(origin, name = 'github', clientId) {
			clients.addRedirectUri(`${origin}/auth/${name}/callback`, clientId);
		},
		stop: http.stop,
	});
}
