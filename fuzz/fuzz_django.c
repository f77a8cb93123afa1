/* libFuzzer driver: `manage.py dumpdata` JSON as `gatehouse import-django`
 * reads it (src/accounts/django.c) — any bytes, any shape, any size.  A
 * parse either fails with a message or gives rows that hold what the
 * reader promises: users sorted by pk without duplicates, normalised
 * addresses, passwords that fit the store, tokens of exactly 40
 * characters, and only known providers kept. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "accounts/django.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct django_dump *d = NULL;
	char err[512];
	int64_t t;
	char *s;

	if (!ready)
		ready = sodium_init() >= 0 ? 1 : (abort(), 0);
	err[0] = '\0';
	if (django_dump_parse((const char *)data, size, "corp, fake", &d, err, sizeof(err)) != 0) {
		if (d != NULL || err[0] == '\0')
			abort();
	} else {
		for (size_t i = 0; i < d->nusers; i++) {
			const struct django_user *u = &d->users[i];
			if (i > 0 && strcmp(d->users[i - 1].pk, u->pk) >= 0)
				abort();
			if (django_dump_user(d, u->pk) != u)
				abort();
			if (u->skip == DJ_OK && (u->u.email[0] == '\0' || strchr(u->u.email, '@') == NULL))
				abort();
			if (strlen(u->u.password) >= STORE_HASH_MAX || u->u.password[0] == '\0')
				abort();
			if (!u->usable && u->u.password[0] != '!')
				abort();
			if (strlen(u->row_hash) != 64 || strlen(u->password_hash) != 64)
				abort();
			if (u->u.is_superuser && !u->u.is_staff)
				abort();
		}
		for (size_t i = 0; i < d->ntokens; i++)
			if (d->tokens[i].skip == DJ_OK && strlen(d->tokens[i].key) != DJANGO_TOKEN_LEN)
				abort();
		for (size_t i = 0; i < d->nsocials; i++) {
			const struct django_social *so = &d->socials[i];
			if (so->skip == DJ_OK &&
			    (so->uid[0] == '\0' ||
			        (strcmp(so->provider, "github") && strcmp(so->provider, "facebook") &&
			            strcmp(so->provider, "google-oauth2") && strcmp(so->provider, "corp") &&
			            strcmp(so->provider, "fake"))))
				abort();
		}
		django_dump_free(d);
	}
	/* the datetime reader alone, on the same bytes */
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	(void)django_parse_time(s, &t);
	free(s);
	return 0;
}
