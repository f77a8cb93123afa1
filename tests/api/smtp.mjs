// A real SMTP server on 127.0.0.1 that keeps every message it accepts, for the
// API tests (docs/design.md §7: external services are real programs started by the
// harness).  npm `smtp-server` speaks the protocol; `mailparser` decodes the
// MIME so tests read the text part as a person's mail program would.
//
//   const smtp = await start();          // a free port; start(port) for a given one
//   ... GATEHOUSE_EMAIL=smtp://127.0.0.1:${smtp.port}, GATEHOUSE_EMAIL_TLS=off
//   const m = await smtp.waitFor((m) => m.to.includes(email) && m.subject === '...');
//   await smtp.stop();  ...  await smtp.start();   // down, then up on the same port
//   smtp.failNext(1, 451);                // answer the next message with a 4xx
//
// Each accepted message: {envelopeFrom, to (envelope recipients, lower-cased),
// raw, subject, text, html, headers, contentType, from, toHeader, receivedAt}.

import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import { SLOW, sleep } from './harness.mjs';

/** Start the SMTP server; resolves once it listens. */
export async function start(port = 0, { starttls = false } = {}) {
	let server = null;
	const waiters = new Set();
	const failures = [];

	const smtp = {
		port,
		/** accepted messages, in arrival order; kept across stop()/start() */
		messages: [],
		/** messages answered with a failure by failNext(): {to, code, stage, at} */
		rejected: [],
		/** TCP connections accepted so far */
		connections: 0,
		get running() {
			return server !== null;
		},

		/**
		 * Answer the next n messages with `code` (a 4xx is a temporary failure,
		 * which the sender must retry) at the DATA stage (after the message was
		 * sent) or the RCPT stage.
		 */
		failNext(n = 1, code = 451, { stage = 'data', text = 'Temporary failure, try again later' } = {}) {
			for (let i = 0; i < n; i++) failures.push({ code, stage, text });
		},

		/** Messages matching a predicate, now. */
		filter(pred = () => true) {
			return smtp.messages.filter(pred);
		},
		count(pred = () => true) {
			return smtp.messages.filter(pred).length;
		},

		/**
		 * The first message (already received or still to come) that matches;
		 * rejects after timeout ms naming what did arrive.
		 */
		waitFor(pred, timeout = 10000 * SLOW) {
			const found = smtp.messages.find(pred);
			if (found) return Promise.resolve(found);
			return new Promise((resolve, reject) => {
				const w = {
					check(m) {
						if (!pred(m)) return;
						clearTimeout(w.timer);
						waiters.delete(w);
						resolve(m);
					},
				};
				w.timer = setTimeout(() => {
					waiters.delete(w);
					const seen = smtp.messages.map((m) => `  ${m.to.join(',')}: ${m.subject}`).join('\n') || '  (none)';
					reject(new Error(`smtp: no matching message within ${timeout} ms; received:\n${seen}`));
				}, timeout);
				waiters.add(w);
			});
		},

		/** Listen (again) on smtp.port; the first call picks a free port when it is 0. */
		async start() {
			if (server) return smtp;
			const s = new SMTPServer({
				logger: false,
				authOptional: true,
				disabledCommands: starttls ? [] : ['STARTTLS'],
				closeTimeout: 200,
				size: 10 * 1024 * 1024,
				onConnect(session, cb) {
					smtp.connections++;
					cb();
				},
				onRcptTo(address, session, cb) {
					if (failures.length && failures[0].stage === 'rcpt') {
						const f = failures.shift();
						smtp.rejected.push({ to: [address.address.toLowerCase()], code: f.code, stage: 'rcpt', at: Date.now() });
						return cb(smtpError(f));
					}
					cb();
				},
				onData(stream, session, cb) {
					const chunks = [];
					stream.on('data', (d) => chunks.push(d));
					stream.on('end', async () => {
						const raw = Buffer.concat(chunks);
						const to = session.envelope.rcptTo.map((a) => a.address.toLowerCase());
						if (failures.length && failures[0].stage === 'data') {
							const f = failures.shift();
							smtp.rejected.push({ to, code: f.code, stage: 'data', at: Date.now(), raw });
							return cb(smtpError(f));
						}
						let parsed;
						try {
							parsed = await simpleParser(raw);
						} catch (e) {
							return cb(Object.assign(new Error(`unparsable message: ${e.message}`), { responseCode: 554 }));
						}
						const m = {
							envelopeFrom: (session.envelope.mailFrom && session.envelope.mailFrom.address) || '',
							to,
							raw,
							subject: parsed.subject ?? '',
							text: parsed.text ?? '',
							html: typeof parsed.html === 'string' ? parsed.html : '',
							headers: parsed.headers,
							contentType: parsed.headers.get('content-type')?.value ?? '',
							from: parsed.from?.text ?? '',
							toHeader: parsed.to?.text ?? '',
							parsed,
							receivedAt: Date.now(),
						};
						smtp.messages.push(m);
						cb(null, `Message ${smtp.messages.length} accepted`);
						for (const w of [...waiters]) w.check(m);
					});
				},
			});
			s.on('error', () => {
				/* a client's bad manners; the test sees what was accepted */
			});
			await new Promise((resolve, reject) => {
				const onErr = (e) => reject(e);
				s.server.once('error', onErr);
				s.listen(smtp.port, '127.0.0.1', () => {
					s.server.off('error', onErr);
					resolve();
				});
			});
			smtp.port = s.server.address().port;
			server = s;
			return smtp;
		},

		/** Stop listening and drop open connections (the port refuses connections). */
		async stop() {
			if (!server) return;
			const s = server;
			server = null;
			await new Promise((resolve) => s.close(resolve));
		},
	};

	// The port may still be held for a moment after a stop: retry briefly.
	for (let i = 0; ; i++) {
		try {
			await smtp.start();
			break;
		} catch (e) {
			if (e.code !== 'EADDRINUSE' || i >= 40) throw e;
			await sleep(50);
		}
	}
	return smtp;
}

function smtpError({ code, text }) {
	return Object.assign(new Error(text), { responseCode: code });
}

// --- reading mail ------------------------------------------------------------

export const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The lines of a text part, trimmed. */
export function textLines(m) {
	return (m.text || '').split(/\r?\n/).map((l) => l.trim());
}

/** True when `url` stands on a line of its own in the text part. */
export function hasLinkLine(m, url) {
	return textLines(m).includes(url);
}

/** The confirmation key from `<origin>/confirm-email/<key>` on a line of its own, or undefined. */
export function confirmKeyOf(m, origin) {
	const re = new RegExp(`^${escapeRe(origin)}/confirm-email/([^/\\s]+)$`);
	for (const l of textLines(m)) {
		const x = re.exec(l);
		if (x) return x[1];
	}
	return undefined;
}

/** {uid, token} from `<origin>/reset-password/<uid>/<token>` on a line of its own, or undefined. */
export function resetLinkOf(m, origin) {
	const re = new RegExp(`^${escapeRe(origin)}/reset-password/([^/\\s]+)/([^/\\s]+)$`);
	for (const l of textLines(m)) {
		const x = re.exec(l);
		if (x) return { uid: x[1], token: x[2] };
	}
	return undefined;
}

/** Parse one RFC 5322 message (an .eml file, console output). */
export async function parseMessage(raw) {
	const parsed = await simpleParser(raw);
	return {
		subject: parsed.subject ?? '',
		text: parsed.text ?? '',
		html: typeof parsed.html === 'string' ? parsed.html : '',
		headers: parsed.headers,
		contentType: parsed.headers.get('content-type')?.value ?? '',
		from: parsed.from?.text ?? '',
		toHeader: parsed.to?.text ?? '',
		to: (parsed.to?.value ?? []).map((a) => (a.address || '').toLowerCase()),
		parsed,
		raw,
	};
}
