/*
 * libFuzzer driver for src/auth/password.c: arbitrary bytes, as a NUL-terminated
 * string, are a stored hash handed to password_verify() and
 * password_needs_rehash(). Built with -DFUZZING, password.c caps costs
 * (pbkdf2 <= 1000 rounds, argon2 <= 64 KiB, bcrypt cost <= 5, scrypt
 * <= 64 KiB) so every input stays cheap.
 *
 * Oracle besides the sanitizers: the seeds in fuzz/corpus/password/ are
 * hashes of FUZZ_PW, listed again below. Django accepts a password only for
 * the exact text its hasher writes, so any other string that matches FUZZ_PW
 * (a second spelling of the same hash) aborts; the one equivalence Django
 * has, bcrypt's $2a$/$2b$/$2y$, is allowed.
 * Must never: call password_hash() per input (that would fuzz libsodium's
 * RNG, not our parsers).
 */
#include "../src/auth/password.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_PW "fuzz-password"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int known_match(const char *);

static const struct password_params fuzz_params = { 1, 8 };

static const char *const known[] = {
	"argon2$argon2i$m=8,t=1,p=1$ZnV6enNhbHRmdXp6c2FsdA$QNjH+p7Ek7m5k4HAHdCabA",
	"argon2$argon2i$v=19$m=64,t=1,p=2$ZnV6enNhbHRmdXp6c2FsdA$14clFBt6a+Lqpu5CqGKZCA",
	"argon2$argon2id$v=19$m=64,t=1,p=1$ZnV6enNhbHRmdXp6c2FsdA$"
	"UskYEmznRFg4XzuyMtLzuBYnmAsI1FFlLUBicI0roCs",
	"bcrypt$$2b$04$uwNxyafCnmPj9jggbLQgrumL9/8wIt4qGQJiCvWx8qa6VIGr0muh6",
	"bcrypt_sha256$$2b$04$rwcYB24bcPPmcc9V.WDqQOaxQSSmnulpEmSOBiMpnCS9y4ggW/u1m",
	"pbkdf2_sha1$1000$fuzzsalt$1CDc9y/pUrzE9xTAWXohcLutWRU=",
	"pbkdf2_sha256$1000$fuzzsalt$QrptiIlygGLCcATjebvhOK4AVtcIuweVyGE5AGhR6Yo=",
	"scrypt$16$fuzzsalt$8$1$+NL0/+D13/qrZOCs1Hq6EIJJOyky127JDM6sFlTPRWK1koK5FSF5/"
	"IAXME4EZc7cOG8DzUxym2XWw62aBMKOxQ==",
};

static int
known_match(const char *s)
{
	size_t i, n;
	const char *b;

	for (i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (strcmp(s, known[i]) == 0)
			return 1;
		/* bcrypt: "...$$2?$" may differ in the ? only */
		if ((b = strstr(known[i], "$$2b$")) == NULL)
			continue;
		n = (size_t)(b - known[i]) + 3;
		if (strlen(s) == strlen(known[i]) && strncmp(s, known[i], n) == 0 &&
		    strchr("aby", s[n]) != NULL && s[n] != '\0' && strcmp(s + n + 1, known[i] + n + 1) == 0)
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char *s;
	int ok;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	if (size > 2 * PASSWORD_ENCODED_MAX)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ok = password_verify(s, FUZZ_PW, strlen(FUZZ_PW));
	if (ok != 0 && ok != 1)
		abort();
	if (ok == 1 && !known_match(s)) {
		fprintf(stderr, "unexpected match: %s\n", s);
		abort();
	}
	ok = password_verify(s, "", 0);
	if (ok != 0 && ok != 1)
		abort();
	ok = password_needs_rehash(&fuzz_params, s);
	if (ok != 0 && ok != 1)
		abort();
	free(s);
	return 0;
}
