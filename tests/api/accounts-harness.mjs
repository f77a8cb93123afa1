// Helpers for the accounts-by-email tests (docs/accounts-contract.md): a
// gatehouse wired to a real SMTP server on 127.0.0.1, the contract's subjects
// and answers, and the flows a person goes through (sign up, open the mail,
// follow the link).  Black-box like harness.mjs: only the HTTP contract, the
// mail that arrives, and sqlite3 for facts the API cannot show.

import assert from 'node:assert/strict';
import { startServer, csrfClient, uniqueEmail, sleep, SLOW } from './harness.mjs';
import { start as startSmtp, confirmKeyOf, resetLinkOf } from './smtp.mjs';

/** Short mail timers so retries and leases fit in a test (the brief's values). */
export function mailEnv(smtp) {
	return {
		GATEHOUSE_EMAIL: `smtp://127.0.0.1:${smtp.port}`,
		GATEHOUSE_EMAIL_TLS: 'off',
		GATEHOUSE_MAIL_POLL: '1',
		GATEHOUSE_MAIL_RETRY: '1',
		GATEHOUSE_MAIL_LEASE: '2',
	};
}

/** Limits out of the way for tests that are not about them. */
export const NO_LIMITS = {
	GATEHOUSE_LOGIN_IP_LIMIT: '100000',
	GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '100000',
	GATEHOUSE_ACCOUNT_IP_LIMIT: '100000',
	GATEHOUSE_ACCOUNT_ADDRESS_LIMIT: '100000',
};

export const SUBJECT = {
	confirm: (p) => `[${p}] Confirm your email address`,
	taken: (p) => `[${p}] Someone tried to sign up with your address`,
	reset: (p) => `[${p}] Reset your password`,
	resetUnknown: (p) => `[${p}] Password reset requested`,
	changed: (p) => `[${p}] Your password was changed`,
};

export const ANSWER = {
	signup: { detail: 'Verification e-mail sent.' },
	signupNone: { detail: 'Account created.' },
	confirmed: { detail: 'Email confirmed.' },
	badConfirm: { detail: 'Invalid or expired confirmation link.' },
	resend: { detail: 'If this address has an unconfirmed account, a new confirmation e-mail is on its way.' },
	reset: { detail: 'Password reset e-mail has been sent.' },
	resetDone: { detail: 'Password has been reset with the new password.' },
	badReset: { detail: 'Invalid or expired reset link.' },
	changed: { detail: 'New password has been saved.' },
	wrongOld: { old_password: ['Your old password was entered incorrectly. Please enter it again.'] },
	notVerified: { detail: 'E-mail is not verified.' },
	invalid: { detail: 'Invalid credentials' },
	required: ['This field is required.'],
	badEmail: ['Enter a valid email address.'],
};

export const RULE = {
	tooShort: (n = 8) => `This password is too short. It must contain at least ${n} characters.`,
	common: 'This password is too common.',
	numeric: 'This password is entirely numeric.',
	similar: 'The password is too similar to the email address.',
	tooLong: 'Ensure this field has no more than 4096 characters.',
};

export const THROTTLED = /^Request was throttled\. Expected available in (\d+) seconds?\.$/;

/** A password no rule refuses. */
export const GOOD_PW = 'tranquil harbour lantern 42';
export const GOOD_PW2 = 'velvet orchard compass 77';

/**
 * A gatehouse whose mail goes to a fresh SMTP capture server (or `smtp`, if given).
 * Returns {server, smtp, product, origin, stop()}.
 */
export async function startAccounts({ env = {}, smtp, product = 'Gatehouse' } = {}) {
	const ownSmtp = !smtp;
	smtp = smtp || (await startSmtp());
	const e = { ...mailEnv(smtp), ...NO_LIMITS, ...env };
	if (product !== 'Gatehouse') e.GATEHOUSE_PRODUCT_NAME = product;
	let server;
	try {
		server = await startServer({ env: e });
	} catch (err) {
		if (ownSmtp) await smtp.stop();
		throw err;
	}
	const ctx = {
		server,
		smtp,
		product,
		origin: e.GATEHOUSE_PUBLIC_ORIGIN || server.origin,
		async stop() {
			try {
				await server.stop();
			} finally {
				if (ownSmtp) await smtp.stop();
			}
		},
	};
	return ctx;
}

/** The index the next message will have: pass to nextMail() to skip older ones. */
export const mark = (ctx) => ctx.smtp.messages.length;

/** The first message since `since` to `email` with `subject`. */
export function nextMail(ctx, email, subject, since = 0, timeout) {
	const to = email.toLowerCase();
	return ctx.smtp.waitFor(
		(m) => ctx.smtp.messages.indexOf(m) >= since && m.to.includes(to) && m.subject === subject,
		timeout,
	);
}

/** Messages since `since` to `email` (any subject, or the given one). */
export function mailsTo(ctx, email, subject, since = 0) {
	const to = email.toLowerCase();
	return ctx.smtp.messages
		.slice(since)
		.filter((m) => m.to.includes(to) && (subject === undefined || m.subject === subject));
}

/**
 * Wait until the mailer has certainly passed everything queued before now:
 * queue a mail of our own (a reset for an unknown address) and wait for it,
 * then a moment more.  Cheaper than sleeping for a fixed time before saying
 * "no mail was sent".
 */
export async function drainMail(ctx) {
	const sentinel = uniqueEmail('sentinel');
	const since = mark(ctx);
	const c = await csrfClient(ctx.server);
	const r = await c.post('/api/password/reset/', { json: { email: sentinel } });
	assert.equal(r.status, 200, `sentinel reset: ${r.status} ${r.text}`);
	await nextMail(ctx, sentinel, SUBJECT.resetUnknown(ctx.product), since);
	await sleep(300 * SLOW);
}

/** POST /api/signup/ from a fresh CSRF client. */
export async function signup(ctx, email, password = GOOD_PW, extra = {}, client) {
	const c = client || (await csrfClient(ctx.server));
	return c.post('/api/signup/', { json: { email, password, ...extra } });
}

/** Sign up and return the key from the confirmation mail. */
export async function signupKey(ctx, email, password = GOOD_PW, extra = {}) {
	const since = mark(ctx);
	const r = await signup(ctx, email, password, extra);
	assert.equal(r.status, 201, `signup ${email}: ${r.status} ${r.text}`);
	const m = await nextMail(ctx, email, SUBJECT.confirm(ctx.product), since);
	const key = confirmKeyOf(m, ctx.origin);
	assert.ok(key, `no ${ctx.origin}/confirm-email/<key> line in:\n${m.text}`);
	return key;
}

/** POST /api/signup/confirm/ {key}. */
export async function confirm(ctx, key, client) {
	const c = client || (await csrfClient(ctx.server));
	return c.post('/api/signup/confirm/', { json: { key } });
}

/** A confirmed account made through the API; returns {email, password}. */
export async function newAccount(ctx, { email = uniqueEmail('acct'), password = GOOD_PW } = {}) {
	const key = await signupKey(ctx, email, password);
	const r = await confirm(ctx, key);
	assert.equal(r.status, 200, `confirm ${email}: ${r.status} ${r.text}`);
	return { email, password };
}

/** Ask for a reset and return {uid, token} from the mail. */
export async function resetLink(ctx, email) {
	const since = mark(ctx);
	const c = await csrfClient(ctx.server);
	const r = await c.post('/api/password/reset/', { json: { email } });
	assert.equal(r.status, 200, `reset ${email}: ${r.status} ${r.text}`);
	const m = await nextMail(ctx, email, SUBJECT.reset(ctx.product), since);
	const link = resetLinkOf(m, ctx.origin);
	assert.ok(link, `no ${ctx.origin}/reset-password/<uid>/<token> line in:\n${m.text}`);
	return link;
}

/** POST /api/password/reset/confirm/. */
export async function resetConfirm(ctx, { uid, token }, new_password, client) {
	const c = client || (await csrfClient(ctx.server));
	return c.post('/api/password/reset/confirm/', { json: { uid, token, new_password } });
}

/** POST /api/login/ from a fresh client; returns {client, res}. */
export async function tryLogin(ctx, email, password) {
	const c = await csrfClient(ctx.server);
	const res = await c.post('/api/login/', { json: { email, password } });
	return { client: c, res };
}

/** Header names of a response, sorted, without Date; Set-Cookie as "set-cookie:<name>". */
export function headerNames(res) {
	const names = [];
	for (const [k] of res.headers) if (k !== 'date' && k !== 'set-cookie') names.push(k);
	for (const line of res.setCookies) names.push(`set-cookie:${line.split('=')[0].trim()}`);
	return names.sort();
}

/** A multipart/alternative message with a text and an HTML part, from EMAIL_FROM. */
export function assertMailShape(m, { fromAddress, what = '' } = {}) {
	const w = what ? ` (${what})` : '';
	assert.equal(m.contentType, 'multipart/alternative', `Content-Type${w}`);
	assert.ok(m.text.trim().length > 0, `a text part${w}`);
	assert.ok(m.html.trim().length > 0, `an HTML part${w}`);
	if (fromAddress) {
		assert.ok(m.from.toLowerCase().includes(fromAddress.toLowerCase()), `From: ${m.from}${w}`);
		if (m.envelopeFrom !== undefined)
			assert.equal(m.envelopeFrom.toLowerCase(), fromAddress.toLowerCase(), `envelope sender${w}`);
	}
}
