// A software WebAuthn authenticator and client for the tests: what a browser with a
// platform authenticator returns from navigator.credentials.create() / .get(), as the
// JSON the SPA posts (every binary member base64url without padding).  Keys and
// signatures come from node's crypto (ES256 on P-256, RS256 with RSA-2048, EdDSA on
// Ed25519).  The CBOR it needs (maps, byte and text strings, integers, booleans,
// arrays) is encoded by the small encoder below: the `cbor` npm package is not in
// tests/api/node_modules, and an encoder of this size is easier to read than a new
// dependency.  Encoding only, tests only: the server decodes with libcbor.
//
// Overrides let a test make each thing a real client or a hostile one could get wrong
// (another origin, another rpId, a flag missing, a tampered signature, a counter that
// goes backwards); the member names are in the comments of create() and get().

import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export const ES256 = -7;
export const RS256 = -257;
export const EDDSA = -8;

export const FLAG_UP = 0x01;
export const FLAG_UV = 0x04;
export const FLAG_BE = 0x08;
export const FLAG_BS = 0x10;
export const FLAG_AT = 0x40;
export const FLAG_ED = 0x80;

/** base64url without padding of bytes (Buffer, Uint8Array or string as UTF-8). */
export function b64url(bytes) {
	return Buffer.from(bytes).toString('base64url');
}

/** The bytes of base64url (or base64) text. */
export function fromB64url(text) {
	return Buffer.from(text, 'base64url');
}

function sha256(data) {
	return createHash('sha256').update(data).digest();
}

// ---------------------------------------------------------------- CBOR (RFC 8949), encoding only

function head(major, n) {
	const m = major << 5;
	if (typeof n === 'bigint' || n > 0xffffffff) {
		const b = Buffer.alloc(9);
		b[0] = m | 27;
		b.writeBigUInt64BE(BigInt(n), 1);
		return b;
	}
	if (n < 24) return Buffer.from([m | n]);
	if (n < 0x100) return Buffer.from([m | 24, n]);
	if (n < 0x10000) {
		const b = Buffer.alloc(3);
		b[0] = m | 25;
		b.writeUInt16BE(n, 1);
		return b;
	}
	const b = Buffer.alloc(5);
	b[0] = m | 26;
	b.writeUInt32BE(n, 1);
	return b;
}

/**
 * The shortest CBOR encoding of v: a Map (any keys, in insertion order), a plain object
 * (text keys, in insertion order), an Array, a Buffer / Uint8Array (byte string), a string
 * (text), an integer number or bigint, a boolean.  Anything else throws.
 */
export function cborEncode(v) {
	if (typeof v === 'boolean') return Buffer.from([v ? 0xf5 : 0xf4]);
	if (typeof v === 'number' || typeof v === 'bigint') {
		if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new Error(`cborEncode: not an integer: ${v}`);
		return v >= 0 ? head(0, v) : head(1, typeof v === 'bigint' ? -1n - v : -1 - v);
	}
	if (typeof v === 'string') {
		const b = Buffer.from(v, 'utf8');
		return Buffer.concat([head(3, b.length), b]);
	}
	if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), Buffer.from(v)]);
	if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cborEncode)]);
	const entries = v instanceof Map ? [...v.entries()] : v && typeof v === 'object' ? Object.entries(v) : null;
	if (entries === null) throw new Error(`cborEncode: cannot encode ${typeof v}`);
	return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, x]) => [cborEncode(k), cborEncode(x)])]);
}

// ---------------------------------------------------------------- keys

function newKey(alg) {
	let pair, cose;
	if (alg === ES256) {
		pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
		const j = pair.publicKey.export({ format: 'jwk' });
		cose = new Map([
			[1, 2],
			[3, ES256],
			[-1, 1],
			[-2, fromB64url(j.x)],
			[-3, fromB64url(j.y)],
		]);
	} else if (alg === RS256) {
		pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
		const j = pair.publicKey.export({ format: 'jwk' });
		cose = new Map([
			[1, 3],
			[3, RS256],
			[-1, fromB64url(j.n)],
			[-2, fromB64url(j.e)],
		]);
	} else if (alg === EDDSA) {
		pair = generateKeyPairSync('ed25519');
		const j = pair.publicKey.export({ format: 'jwk' });
		cose = new Map([
			[1, 1],
			[3, EDDSA],
			[-1, 6],
			[-2, fromB64url(j.x)],
		]);
	} else {
		throw new Error(`SoftAuthenticator: unsupported alg ${alg}`);
	}
	return { privateKey: pair.privateKey, publicKey: pair.publicKey, cose: cborEncode(cose) };
}

/** The WebAuthn signature of data by privateKey for alg (ECDSA: DER, as authenticators send it). */
export function signWith(alg, privateKey, data) {
	return sign(alg === EDDSA ? null : 'sha256', data, privateKey);
}

function u32(n) {
	const b = Buffer.alloc(4);
	b.writeUInt32BE(n >>> 0, 0);
	return b;
}

function u16(n) {
	const b = Buffer.alloc(2);
	b.writeUInt16BE(n, 0);
	return b;
}

// ---------------------------------------------------------------- the authenticator

export class SoftAuthenticator {
	/**
	 * alg: -7 ES256 | -257 RS256 | -8 EdDSA; rpId and origin: what a browser on the public origin
	 * would use; userVerifying: sets UV; residentKey: returns the user handle in assertions;
	 * signCount: the counter's first value, and each assertion adds one to it unless
	 * incrementCounter is false (the counter then stays as it is, like many passkey providers'
	 * 0); fmt: 'none' or 'packed' (self attestation); aaguid: 16 bytes (default all zero).
	 */
	constructor({
		alg = ES256,
		rpId,
		origin,
		userVerifying = true,
		residentKey = true,
		signCount = 0,
		incrementCounter = true,
		fmt = 'none',
		aaguid = Buffer.alloc(16),
	} = {}) {
		Object.assign(this, { alg, rpId, origin, userVerifying, residentKey, signCount, incrementCounter, fmt });
		this.aaguid = Buffer.from(aaguid);
		/** [{ id (base64url), privateKey, publicKey, alg, userHandle (base64url or null), signCount, rpId, cose }] */
		this.credentials = [];
	}

	/**
	 * navigator.credentials.create() for publicKey creation options as the server sends them
	 * ({ challenge (base64url), rp: { id }, user: { id (base64url) }, pubKeyCredParams: [{ alg }] }).
	 * overrides: origin, rpId, type (clientData.type), challenge (base64url text put in clientData),
	 * flags (number: the flags byte, as is), userPresent: false, fmt, credentialId (Buffer),
	 * signCount (the first counter value), crossOrigin (true: clientData.crossOrigin),
	 * rawId (base64url text sent as rawId while id keeps the real one), tamperSignature: true (one bit of
	 * the packed attestation signature flipped).
	 */
	create(publicKeyOptions = {}, overrides = {}) {
		const rpId = overrides.rpId ?? publicKeyOptions.rp?.id ?? this.rpId;
		const origin = overrides.origin ?? this.origin;
		const challenge = overrides.challenge ?? publicKeyOptions.challenge;
		const params = publicKeyOptions.pubKeyCredParams;
		if (Array.isArray(params) && params.length && !params.some((p) => p.alg === this.alg))
			throw new Error(`SoftAuthenticator: the server does not offer alg ${this.alg}`);
		const fmt = overrides.fmt ?? this.fmt;
		const key = newKey(this.alg);
		const credId = overrides.credentialId ?? randomBytes(32);
		const count = overrides.signCount ?? this.signCount;
		let flags = FLAG_AT;
		if (overrides.userPresent !== false) flags |= FLAG_UP;
		if (this.userVerifying && overrides.userVerified !== false) flags |= FLAG_UV;
		if (overrides.flags !== undefined) flags = overrides.flags;

		const clientData = { type: overrides.type ?? 'webauthn.create', challenge, origin, crossOrigin: false };
		if (overrides.crossOrigin) clientData.crossOrigin = true;
		const clientDataJSON = Buffer.from(JSON.stringify(clientData));
		const authData = Buffer.concat([
			sha256(rpId),
			Buffer.from([flags]),
			u32(count),
			this.aaguid,
			u16(credId.length),
			credId,
			key.cose,
		]);
		let attStmt = {};
		if (fmt === 'packed') {
			const sig = signWith(this.alg, key.privateKey, Buffer.concat([authData, sha256(clientDataJSON)]));
			if (overrides.tamperSignature) sig[sig.length - 1] ^= 0x01;
			attStmt = { alg: this.alg, sig };
		} else if (fmt !== 'none') {
			throw new Error(`SoftAuthenticator: unsupported fmt ${fmt}`);
		}
		const attestationObject = cborEncode({ fmt, attStmt, authData });
		const id = b64url(credId);
		this.credentials.push({
			id,
			privateKey: key.privateKey,
			publicKey: key.publicKey,
			alg: this.alg,
			userHandle: publicKeyOptions.user?.id ?? null,
			signCount: count,
			rpId,
			cose: key.cose,
		});
		return {
			id,
			rawId: overrides.rawId ?? id,
			type: 'public-key',
			authenticatorAttachment: 'platform',
			clientExtensionResults: {},
			response: {
				clientDataJSON: b64url(clientDataJSON),
				attestationObject: b64url(attestationObject),
				transports: ['internal', 'hybrid'],
			},
		};
	}

	/**
	 * navigator.credentials.get() for request options ({ challenge, rpId, allowCredentials? }).
	 * The credential is the one at overrides.credentialIndex, else the first in allowCredentials
	 * that this authenticator holds, else (discoverable) the first made for the rpId, else the first.
	 * overrides: origin, rpId, type, challenge, userPresent: false, userVerified: false,
	 * signCount (the value sent; the stored counter is left as it is), tamperSignature: true (one
	 * bit of the signature flipped), tamperAuthenticatorData: true (a counter byte changed after
	 * signing), credentialIndex, userHandle (base64url text, or null to leave it out), flags
	 * (number: the flags byte, as is), crossOrigin, rawId (base64url text sent as rawId).
	 */
	get(publicKeyOptions = {}, overrides = {}) {
		const rpId = overrides.rpId ?? publicKeyOptions.rpId ?? this.rpId;
		const origin = overrides.origin ?? this.origin;
		const challenge = overrides.challenge ?? publicKeyOptions.challenge;
		let cred;
		if (overrides.credentialIndex !== undefined) cred = this.credentials[overrides.credentialIndex];
		else {
			const allowed = (publicKeyOptions.allowCredentials ?? []).map((c) => c.id);
			cred =
				(allowed.length ? this.credentials.find((c) => allowed.includes(c.id)) : undefined) ??
				this.credentials.find((c) => c.rpId === rpId) ??
				this.credentials[0];
		}
		if (!cred) throw new Error('SoftAuthenticator: no credential');
		let count;
		if (overrides.signCount !== undefined) count = overrides.signCount;
		else {
			if (this.incrementCounter) cred.signCount = (cred.signCount + 1) >>> 0;
			count = cred.signCount;
		}
		let flags = 0;
		if (overrides.userPresent !== false) flags |= FLAG_UP;
		if (this.userVerifying && overrides.userVerified !== false) flags |= FLAG_UV;
		if (overrides.flags !== undefined) flags = overrides.flags;

		const clientData = { type: overrides.type ?? 'webauthn.get', challenge, origin, crossOrigin: false };
		if (overrides.crossOrigin) clientData.crossOrigin = true;
		const clientDataJSON = Buffer.from(JSON.stringify(clientData));
		const authenticatorData = Buffer.concat([sha256(rpId), Buffer.from([flags]), u32(count)]);
		const signature = signWith(cred.alg, cred.privateKey, Buffer.concat([authenticatorData, sha256(clientDataJSON)]));
		if (overrides.tamperSignature) signature[signature.length - 1] ^= 0x01;
		if (overrides.tamperAuthenticatorData) authenticatorData[36] ^= 0x01;
		let userHandle = this.residentKey ? cred.userHandle : null;
		if (overrides.userHandle !== undefined) userHandle = overrides.userHandle;
		return {
			id: cred.id,
			rawId: overrides.rawId ?? cred.id,
			type: 'public-key',
			authenticatorAttachment: 'platform',
			clientExtensionResults: {},
			response: {
				clientDataJSON: b64url(clientDataJSON),
				authenticatorData: b64url(authenticatorData),
				signature: b64url(signature),
				userHandle,
			},
		};
	}
}
