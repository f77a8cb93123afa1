/*
 * django — reading a Django project's `manage.py dumpdata` JSON (an array of
 * {"model", "pk", "fields"}) into the rows `gatehouse import-django` can
 * import, and deciding within the dump which rows cannot be: users with an
 * empty, invalid or shared address, tokens gatehouse could not resolve,
 * social rows of a provider gatehouse does not have.  Pure: text in, rows
 * and reasons out, so a unit test and a fuzzer call it without a database;
 * what the database already holds is decided by import.c.  Keeps Django's
 * password hashes exactly as they are; never prints or logs one, nor a
 * token key.
 *
 * Models read (any other model's rows are counted and left alone):
 *   the user model: "auth.user" (stock: username + email, the address may be
 *       empty or shared) or one custom "<app>.user" with "email" and
 *       "password" fields (email as USERNAME_FIELD); two user models in one
 *       dump is an error;
 *   "authtoken.token" (DRF: pk = the 40-character key, fields user, created);
 *   "social_django.usersocialauth" (python-social-auth: provider, uid, user);
 *   "account.emailaddress" (django-allauth: user, email, verified), which,
 *       when the dump has any, decides which addresses are verified.
 */
#ifndef GATEHOUSE_DJANGO_H
#define GATEHOUSE_DJANGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define DJANGO_PK_MAX    STORE_DJANGO_PK_MAX
#define DJANGO_MODEL_MAX 100
#define DJANGO_INPUT_MAX ((size_t)512 * 1024 * 1024) /* bytes of JSON read at most */
#define DJANGO_TOKEN_LEN 40

/* Why a row is not imported (DJ_OK: it is); django_skip_text() names each. */
enum django_skip {
	DJ_OK,
	DJ_EMPTY_EMAIL,      /* stock auth.user without an address: gatehouse signs in by address */
	DJ_INVALID_EMAIL,    /* not an address user_normalize_email accepts */
	DJ_SHARED_EMAIL,     /* several users of the dump have this address (after normalising) */
	DJ_ACCOUNT_EXISTS,   /* import: a gatehouse account not imported from Django has the address */
	DJ_LINKED_ELSEWHERE, /* import: the address's account was imported from another Django pk */
	DJ_USER_SKIPPED,     /* a token or social row whose user is not imported */
	DJ_USER_UNKNOWN,     /* a token or social row whose user is neither in the dump nor imported before */
	DJ_BAD_TOKEN,        /* a key gatehouse cannot resolve (not 40 letters and digits) */
	DJ_TOKEN_TAKEN,      /* import: the key is another user's token */
	DJ_UNKNOWN_PROVIDER, /* no gatehouse provider of that name */
	DJ_BAD_UID,          /* empty, too long or with control characters */
	DJ_IDENTITY_TAKEN,   /* import: (provider, uid) is another user's */
	DJ_USER_INACTIVE,    /* a token of an inactive user: gatehouse revokes those at deactivation */
	DJ_EMAIL_CHANGED,    /* import: imported before under another address: not updated */
	DJ_SKIP_COUNT
};
const char *django_skip_text(enum django_skip s);

struct django_user {
	char pk[DJANGO_PK_MAX + 1];
	/* email normalised, password exactly as in Django (or, when usable is false and it was not an
	 * unusable "!..." one already, an unusable "!" form), names, flags, dates (date_joined 0: the
	 * dump has none), email_verified as decided (see assumed_verified) */
	struct store_user u;
	bool usable;       /* a hash gatehouse verifies */
	bool unverifiable; /* Django had a hash gatehouse cannot verify (md5, crypt...): made unusable */
	bool name_dropped; /* a name user_name_valid refuses was left out */
	enum django_skip skip;
	char row_hash[STORE_KEYHASH_LEN + 1];      /* SHA-256 of what is imported, to spot a change */
	char password_hash[STORE_KEYHASH_LEN + 1]; /* SHA-256 of the Django password field */
	int64_t user_id;                           /* set by import: the gatehouse user, 0 when none */
};

struct django_token {
	char key[DJANGO_TOKEN_LEN + 1]; /* the Django key: hashed by import, never stored */
	char user_pk[DJANGO_PK_MAX + 1];
	int64_t created;
	enum django_skip skip;
};

struct django_social {
	char pk[DJANGO_PK_MAX + 1];
	char provider[64]; /* gatehouse's provider name */
	char uid[256];
	char user_pk[DJANGO_PK_MAX + 1];
	int64_t created;
	enum django_skip skip;
};

struct django_dump {
	char user_model[DJANGO_MODEL_MAX + 1]; /* "" when the dump has no users */
	struct django_user *users;             /* sorted by pk */
	size_t nusers;
	struct django_token *tokens;
	size_t ntokens;
	struct django_social *socials;
	size_t nsocials;
	size_t nemailaddress;    /* account.emailaddress rows */
	size_t assumed_verified; /* users marked verified because the dump has no emailaddress rows */
	size_t ignored;          /* rows of other models */
};

/*
 * Read len bytes of dumpdata JSON.  oidc_providers is the configured list of
 * generic OIDC provider names (comma-separated, may be NULL): a social row of
 * one of them is kept; github, facebook and google-oauth2 always are (the
 * same names as python-social-auth's backends).  0 with *out (free with
 * django_dump_free), or -1 with a message in err naming the row when the
 * input is not what dumpdata writes: not JSON, not an array, a row without
 * model, pk or fields, a field of the wrong type or size, a duplicate pk, a
 * natural key, two user models.
 */
int django_dump_parse(const char *text, size_t len, const char *oidc_providers, struct django_dump **out,
    char *err, size_t errsz);
void django_dump_free(struct django_dump *d);
/* The user of the dump with that pk (borrowed), or NULL. */
struct django_user *django_dump_user(struct django_dump *d, const char *pk);
/* A Django datetime as dumpdata writes it ("2024-05-01T12:30:00.123Z", "+02:00", or naive = UTC)
 * into unix seconds: 0, or -1 when it is not one. */
int django_parse_time(const char *s, int64_t *out);

#endif
