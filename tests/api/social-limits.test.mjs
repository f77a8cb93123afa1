// Pending social sign-ins are bounded (docs/social-contract.md "Limits"):
// each GET /api/social/<p>/authorize/ stores a state, so one client calling it
// in a loop must not grow the table without bound nor slow the server down.
// A browser keeps its newest 10 (the oldest go); a client that drops the
// cookie is bounded by its IP: 1000 live states, then 429.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
	startProviders,
	startSocial,
	browser,
	bare,
	authorize,
	atProvider,
	callbackBody,
	finish,
	githubUser,
	assertRefused,
	assertHealthy,
	stopAll,
	SLOW,
} from './social-harness.mjs';

const CALLS = 3000;
const PER_BROWSER = 10;
const PER_IP = 1000;

let providers;
let ctx;
before(async () => {
	providers = await startProviders();
	ctx = await startSocial({ providers });
});
after(async () => {
	await stopAll(
		() => ctx && assertHealthy(ctx),
		() => ctx?.stop(),
		() => providers?.stop(),
	);
});

const states = (on) => Number(on.server.sqlRows('SELECT count(*) AS n FROM social_states')[0].n);

/** GET /healthz right now: answers 200 within 1 s (the one timing bound here). */
async function healthzFast(on) {
	const started = performance.now();
	const r = await fetch(`${on.origin}/healthz`, { signal: AbortSignal.timeout(10000 * SLOW) });
	const ms = performance.now() - started;
	assert.equal(r.status, 200);
	assert.ok(ms < 1000 * SLOW, `/healthz took ${Math.round(ms)} ms right after the flood`);
}

test(`${CALLS} authorize calls from one browser keep at most ${PER_BROWSER} pending states, the newest, and /healthz stays fast`, async () => {
	const c = await browser(ctx);
	const before = states(ctx);
	let first = null;
	let last = null;
	for (let i = 0; i < CALLS; i++) {
		const { res, url } = await authorize(c, 'github', { json: true });
		assert.equal(res.status, 200, `call ${i}: ${res.status} ${res.text}`);
		if (i === 0) first = url;
		last = url;
	}
	await healthzFast(ctx);
	assert.ok(states(ctx) - before <= PER_BROWSER, `${states(ctx) - before} states for one browser`);

	// the newest still works; the first was replaced
	const gh = githubUser(ctx);
	const cbLast = await atProvider(ctx, 'github', last, { login: gh.login });
	const cbFirst = await atProvider(ctx, 'github', first, { login: gh.login });
	const old = await finish(c, 'github', callbackBody(cbFirst));
	assertRefused(old, 400, 'the oldest state was replaced');
	const ok = await finish(c, 'github', callbackBody(cbLast));
	assert.equal(ok.status, 200, ok.text);
});

test(`${CALLS} authorize calls without cookies from one IP stop at ${PER_IP} live states with 429, and /healthz stays fast`, async () => {
	// its own server: this test uses up the IP's allowance for the state lifetime
	const own = await startSocial({ providers });
	try {
		const c = bare(own);
		let limited = 0;
		let firstLimited = null;
		for (let i = 0; i < CALLS; i++) {
			const { res } = await authorize(c, 'github', { json: true, headers: { Cookie: '' } });
			c.deleteCookie('gh_social');
			if (res.status === 429) {
				limited++;
				firstLimited ??= res;
			} else {
				assert.equal(res.status, 200, `call ${i}: ${res.status} ${res.text}`);
			}
		}
		await healthzFast(own);
		assert.ok(states(own) <= PER_IP, `${states(own)} states from one IP`);
		assert.ok(limited >= CALLS - PER_IP, `${limited} answers were 429`);
		assert.equal(typeof firstLimited.json?.detail, 'string');
		assert.ok(Number(firstLimited.headers.get('retry-after')) > 0, 'Retry-After on 429');
		await assertHealthy(own);
	} finally {
		await own.stop();
	}
});
