/*
 * django — see django.h.  Owns the reading of dumpdata JSON and the
 * decisions that need only the dump; must never touch the store, print or
 * log a password hash or a token key, or guess a user for a row that does
 * not name one exactly.
 */
#include "accounts/django.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "accounts/user.h"
#include "util.h"

struct ctx {
	struct django_dump *d;
	const char *oidc;
	char *err;
	size_t errsz;
	/* account.emailaddress rows: (user pk, normalised email) verified */
	struct verified {
		char user_pk[DJANGO_PK_MAX + 1];
		char email[STORE_EMAIL_MAX + 1];
		bool verified;
	} * addrs;
	size_t naddrs;
};

static const char *const skip_texts[DJ_SKIP_COUNT] = {
	[DJ_OK] = "imported",
	[DJ_EMPTY_EMAIL] = "empty email",
	[DJ_INVALID_EMAIL] = "invalid email",
	[DJ_SHARED_EMAIL] = "email shared by several users",
	[DJ_ACCOUNT_EXISTS] = "a gatehouse account not imported from Django has this email",
	[DJ_LINKED_ELSEWHERE] = "this email's account was imported from another Django user",
	[DJ_USER_SKIPPED] = "its user is not imported",
	[DJ_USER_UNKNOWN] = "its user is not in the dump nor imported before",
	[DJ_BAD_TOKEN] = "not a key gatehouse resolves (40 letters and digits)",
	[DJ_TOKEN_TAKEN] = "the key is another user's token",
	[DJ_UNKNOWN_PROVIDER] = "no gatehouse provider of that name",
	[DJ_BAD_UID] = "uid empty, too long or with control characters",
	[DJ_IDENTITY_TAKEN] = "that provider account is another user's",
	[DJ_EMAIL_CHANGED] = "imported before under another address: not updated",
	[DJ_USER_INACTIVE] = "its user is inactive (gatehouse ends an inactive user's tokens)",
};

const char *
django_skip_text(enum django_skip s)
{
	return s < DJ_SKIP_COUNT && skip_texts[s] ? skip_texts[s] : "?";
}

/* The row's model and pk into err, then the message: always -1. */
static int
fail(struct ctx *c, size_t index, const char *model, const char *pk, const char *fmt, const char *what)
{
	char safe[DJANGO_PK_MAX + 1], msafe[DJANGO_MODEL_MAX + 1], msg[256];

	ascii_sanitize(pk ? pk : "", DJANGO_PK_MAX, safe, sizeof(safe));
	ascii_sanitize(model ? model : "", DJANGO_MODEL_MAX, msafe, sizeof(msafe));
	snprintf(msg, sizeof(msg), fmt, what ? what : "");
	if (model)
		snprintf(c->err, c->errsz, "row %zu (%s pk %s): %s", index + 1, msafe, safe, msg);
	else
		snprintf(c->err, c->errsz, "row %zu: %s", index + 1, msg);
	return -1;
}

/* A pk or a foreign key as text: an integer or a string of at most DJANGO_PK_MAX bytes without control
 * characters.  0, or -1 (why: the problem). */
static int
key_text(const json_t *v, char *out, const char **why)
{
	const char *s;
	size_t len;

	if (json_is_integer(v)) {
		snprintf(out, DJANGO_PK_MAX + 1, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	}
	if (json_is_array(v) || json_is_object(v)) {
		*why = "a natural key (dump without --natural-foreign / --natural-primary)";
		return -1;
	}
	if (!json_is_string(v)) {
		*why = "missing or not an integer or string";
		return -1;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || len > DJANGO_PK_MAX || strlen(s) != len) {
		*why = "empty or longer than 64 bytes";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			*why = "with control characters";
			return -1;
		}
	memcpy(out, s, len + 1);
	return 0;
}

/* fields[name] as a string of at most max bytes (no NUL inside); NULL when absent or null and
 * optional; -1 when of another type or too long. */
static int
field_str(const json_t *fields, const char *name, size_t max, bool optional, const char **out)
{
	const json_t *v = json_object_get(fields, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return optional ? 0 : -1;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

/* fields[name] as a boolean; absent: dflt; -1 when of another type. */
static int
field_bool(const json_t *fields, const char *name, bool dflt, bool *out)
{
	const json_t *v = json_object_get(fields, name);

	if (v == NULL) {
		*out = dflt;
		return 0;
	}
	if (!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 0;
}

/* fields[name] as a datetime; absent or null: 0; -1 when not one. */
static int
field_time(const json_t *fields, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(fields, name);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > 64)
		return -1;
	return django_parse_time(json_string_value(v), out);
}

static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
django_parse_time(const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p = s;
	time_t t;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
		return -1;
	if ((*p != 'T' && *p != ' ') || (p++, digits(&p, 2, &h)) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		int n = 0;
		for (p++; isdigit((unsigned char)*p); p++)
			n++;
		if (n == 0 || n > 9)
			return -1;
	}
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
	}
	if (*p != '\0' || y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    sec > 59)
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*out = (int64_t)t - (int64_t)sign * (oh * 3600 + om * 60);
	return 0;
}

/* the password formats password_verify() knows (auth/password.h) */
static bool
password_supported(const char *pw)
{
	static const char *const prefixes[] = { "argon2$", "pbkdf2_sha256$", "pbkdf2_sha1$", "bcrypt_sha256$",
		"bcrypt$", "scrypt$" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(pw, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* length-prefixed, so no two rows hash alike by shifting text between fields */
static void
hash_part(crypto_hash_sha256_state *h, const char *s)
{
	char len[24];

	snprintf(len, sizeof(len), "%zu:", strlen(s));
	crypto_hash_sha256_update(h, (const unsigned char *)len, strlen(len));
	crypto_hash_sha256_update(h, (const unsigned char *)s, strlen(s));
}

/* du->row_hash over what is imported; the password enters as its hash (du->password_hash) */
static void
row_hash(struct django_user *du)
{
	crypto_hash_sha256_state h;
	unsigned char md[crypto_hash_sha256_BYTES];
	char num[96];

	crypto_hash_sha256_init(&h);
	hash_part(&h, du->u.email);
	hash_part(&h, du->password_hash);
	hash_part(&h, du->u.first_name);
	hash_part(&h, du->u.last_name);
	snprintf(num, sizeof(num), "%d%d%d%d %lld %lld", du->u.is_active, du->u.is_staff, du->u.is_superuser,
	    du->u.email_verified, (long long)du->u.date_joined, (long long)du->u.last_login);
	hash_part(&h, num);
	crypto_hash_sha256_final(&h, md);
	hex_encode(md, sizeof(md), du->row_hash);
}

/* a custom user model: "<app>.user" with email and password fields */
static bool
custom_user_model(const char *model, const json_t *f)
{
	const char *dot = strchr(model, '.');

	return dot && strcmp(dot, ".user") == 0 && json_is_object(f) && json_object_get(f, "email") &&
	    json_object_get(f, "password");
}

static int
user_model_of(struct ctx *c, size_t index, const char *model, const char *pk)
{
	if (c->d->user_model[0] == '\0') {
		strlcpy_ok(c->d->user_model, model, sizeof(c->d->user_model));
		return 0;
	}
	if (strcmp(c->d->user_model, model) == 0)
		return 0;
	return fail(c, index, model, pk, "%s", "a second user model in one dump: dump one user model");
}

static int
read_user(struct ctx *c, size_t index, const char *model, const char *pk, const json_t *f)
{
	struct django_user *du;
	const char *email, *password, *first, *last;
	if (user_model_of(c, index, model, pk) != 0)
		return -1;
	/* null or "" is a row to skip and report (DJ_EMPTY_EMAIL), not a broken dump */
	if (field_str(f, "email", 1024, true, &email) != 0)
		return fail(c, index, model, pk, "%s",
		    "\"email\" missing or not a string of at most 1024 bytes");
	if (field_str(f, "password", 1024, false, &password) != 0)
		return fail(c, index, model, pk, "%s",
		    "\"password\" missing or not a string of at most 1024 bytes");
	if (field_str(f, "first_name", 1024, true, &first) != 0 ||
	    field_str(f, "last_name", 1024, true, &last) != 0)
		return fail(c, index, model, pk, "%s", "a name that is not a string of at most 1024 bytes");
	du = &c->d->users[c->d->nusers++];
	memset(du, 0, sizeof(*du));
	strlcpy_ok(du->pk, pk, sizeof(du->pk));
	if (field_bool(f, "is_active", true, &du->u.is_active) != 0 ||
	    field_bool(f, "is_staff", false, &du->u.is_staff) != 0 ||
	    field_bool(f, "is_superuser", false, &du->u.is_superuser) != 0)
		return fail(c, index, model, pk, "%s",
		    "is_active, is_staff or is_superuser not true or false");
	if (field_time(f, "date_joined", &du->u.date_joined) != 0 ||
	    field_time(f, "last_login", &du->u.last_login) != 0)
		return fail(c, index, model, pk, "%s", "date_joined or last_login not a datetime");
	/* a superuser is always staff in gatehouse (accounts.h) */
	du->u.is_staff = du->u.is_staff || du->u.is_superuser;
	if (email == NULL || email[strspn(email, " \t")] == '\0')
		du->skip = DJ_EMPTY_EMAIL;
	else if (user_normalize_email(email, du->u.email, sizeof(du->u.email)) != 0)
		du->skip = DJ_INVALID_EMAIL;
	if (first && !user_name_valid(first, strlen(first))) {
		first = NULL;
		du->name_dropped = true;
	}
	if (last && !user_name_valid(last, strlen(last))) {
		last = NULL;
		du->name_dropped = true;
	}
	strlcpy_ok(du->u.first_name, first ? first : "", sizeof(du->u.first_name));
	strlcpy_ok(du->u.last_name, last ? last : "", sizeof(du->u.last_name));
	du->usable = password[0] != '!' && password_supported(password) && strlen(password) < STORE_HASH_MAX;
	if (du->usable || (password[0] == '!' && strlen(password) < STORE_HASH_MAX))
		strlcpy_ok(du->u.password, password, sizeof(du->u.password));
	else {
		/* kept unusable, never half-usable: a password reset sets a real one */
		du->unverifiable = true;
		/* like accounts_create_user's: "!" never verifies; the random rest keeps each distinct */
		du->u.password[0] = '!';
		random_chars(du->u.password + 1, 40, "abcdefghijklmnopqrstuvwxyz0123456789");
		du->u.password[41] = '\0';
	}
	/* the hashes are made once verified is known (finish) */
	sha256_hex(password, strlen(password), du->password_hash);
	return 0;
}

static int
read_token(struct ctx *c, size_t index, const char *model, const char *pk, const json_t *f)
{
	struct django_token *t = &c->d->tokens[c->d->ntokens];
	const char *key = pk, *why = "";
	size_t len = strlen(key);

	memset(t, 0, sizeof(*t));
	if (key_text(json_object_get(f, "user"), t->user_pk, &why) != 0)
		return fail(c, index, model, pk, "\"user\" %s", why);
	if (field_time(f, "created", &t->created) != 0)
		return fail(c, index, model, pk, "%s", "\"created\" not a datetime");
	c->d->ntokens++;
	if (len != DJANGO_TOKEN_LEN) {
		t->skip = DJ_BAD_TOKEN;
		return 0;
	}
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)key[i])) {
			t->skip = DJ_BAD_TOKEN;
			return 0;
		}
	memcpy(t->key, key, len + 1);
	return 0;
}

/* name is github, facebook, google-oauth2 or one of the configured OIDC providers */
static bool
provider_known(const char *oidc, const char *name)
{
	size_t n = strlen(name);

	if (!strcmp(name, "github") || !strcmp(name, "facebook") || !strcmp(name, "google-oauth2"))
		return true;
	for (const char *q = oidc ? oidc : ""; *q;) {
		size_t len = strcspn(q, ","), a = 0, b = len;
		while (a < b && q[a] == ' ')
			a++;
		while (b > a && q[b - 1] == ' ')
			b--;
		if (b - a == n && n > 0 && memcmp(q + a, name, n) == 0)
			return true;
		q += len;
		if (*q == ',')
			q++;
	}
	return false;
}

static int
read_social(struct ctx *c, size_t index, const char *model, const char *pk, const json_t *f)
{
	struct django_social *s = &c->d->socials[c->d->nsocials];
	const char *provider, *uid, *why = "";

	memset(s, 0, sizeof(*s));
	strlcpy_ok(s->pk, pk, sizeof(s->pk));
	if (field_str(f, "provider", 1024, false, &provider) != 0 ||
	    field_str(f, "uid", 4096, false, &uid) != 0)
		return fail(c, index, model, pk, "%s",
		    "\"provider\" or \"uid\" missing or not a short string");
	if (key_text(json_object_get(f, "user"), s->user_pk, &why) != 0)
		return fail(c, index, model, pk, "\"user\" %s", why);
	if (field_time(f, "created", &s->created) != 0)
		return fail(c, index, model, pk, "%s", "\"created\" not a datetime");
	c->d->nsocials++;
	if (strlen(provider) >= sizeof(s->provider) || !provider_known(c->oidc, provider)) {
		s->skip = DJ_UNKNOWN_PROVIDER;
		ascii_sanitize(provider, sizeof(s->provider) - 1, s->provider, sizeof(s->provider));
		return 0;
	}
	strlcpy_ok(s->provider, provider, sizeof(s->provider));
	if (uid[0] == '\0' || strlen(uid) >= sizeof(s->uid)) {
		s->skip = DJ_BAD_UID;
		return 0;
	}
	for (const char *p = uid; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			s->skip = DJ_BAD_UID;
			return 0;
		}
	strlcpy_ok(s->uid, uid, sizeof(s->uid));
	return 0;
}

static int
read_address(struct ctx *c, size_t index, const char *model, const char *pk, const json_t *f)
{
	struct verified *v = &c->addrs[c->naddrs];
	const char *email, *why = "";
	bool verified;

	memset(v, 0, sizeof(*v));
	if (key_text(json_object_get(f, "user"), v->user_pk, &why) != 0)
		return fail(c, index, model, pk, "\"user\" %s", why);
	if (field_str(f, "email", 1024, false, &email) != 0 ||
	    field_bool(f, "verified", false, &verified) != 0)
		return fail(c, index, model, pk, "%s",
		    "\"email\" or \"verified\" missing or of the wrong type");
	c->naddrs++;
	c->d->nemailaddress++;
	if (user_normalize_email(email, v->email, sizeof(v->email)) != 0)
		v->email[0] = '\0'; /* matches no user */
	v->verified = verified;
	return 0;
}

static int
by_pk(const void *a, const void *b)
{
	return strcmp(((const struct django_user *)a)->pk, ((const struct django_user *)b)->pk);
}

static int
by_email(const void *a, const void *b)
{
	const struct django_user *x = *(const struct django_user *const *)a,
	                         *y = *(const struct django_user *const *)b;

	return strcmp(x->u.email, y->u.email);
}

static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct django_token *)a)->key, ((const struct django_token *)b)->key);
}

static int
by_identity(const void *a, const void *b)
{
	const struct django_social *x = a, *y = b;
	int r = strcmp(x->provider, y->provider);

	return r ? r : strcmp(x->uid, y->uid);
}

struct django_user *
django_dump_user(struct django_dump *d, const char *pk)
{
	struct django_user key;

	if (d == NULL || d->nusers == 0 || strlen(pk) > DJANGO_PK_MAX)
		return NULL;
	strlcpy_ok(key.pk, pk, sizeof(key.pk));
	return bsearch(&key, d->users, d->nusers, sizeof(*d->users), by_pk);
}

/* What needs the whole dump: duplicates, shared addresses, verified addresses, rows of skipped users. */
static int
finish(struct ctx *c)
{
	struct django_dump *d = c->d;
	struct django_user **order = NULL;
	int ret = -1;

	qsort(d->users, d->nusers, sizeof(*d->users), by_pk);
	for (size_t i = 1; i < d->nusers; i++)
		if (strcmp(d->users[i - 1].pk, d->users[i].pk) == 0) {
			snprintf(c->err, c->errsz, "%s pk %s appears twice", d->user_model, d->users[i].pk);
			goto done;
		}
	/* an address several users share belongs to none of them: report them all, guess nothing */
	order = xcalloc(d->nusers + 1, sizeof(*order));
	for (size_t i = 0; i < d->nusers; i++)
		order[i] = &d->users[i];
	qsort(order, d->nusers, sizeof(*order), by_email);
	for (size_t i = 0; i < d->nusers;) {
		size_t j = i + 1;
		while (j < d->nusers && order[i]->u.email[0] &&
		    strcmp(order[i]->u.email, order[j]->u.email) == 0)
			j++;
		if (j - i > 1)
			for (size_t k = i; k < j; k++)
				if (order[k]->skip == DJ_OK)
					order[k]->skip = DJ_SHARED_EMAIL;
		i = j;
	}
	for (size_t i = 0; i < d->nusers; i++) {
		struct django_user *du = &d->users[i];
		if (c->naddrs == 0) {
			/* no allauth: Django let them sign in with this address; gatehouse does the same */
			du->u.email_verified = true;
			if (du->skip == DJ_OK)
				d->assumed_verified++;
		} else
			for (size_t k = 0; k < c->naddrs; k++)
				if (c->addrs[k].verified && strcmp(c->addrs[k].user_pk, du->pk) == 0 &&
				    strcmp(c->addrs[k].email, du->u.email) == 0)
					du->u.email_verified = true;
	}
	for (size_t i = 0; i < d->nusers; i++)
		row_hash(&d->users[i]);
	qsort(d->tokens, d->ntokens, sizeof(*d->tokens), by_key);
	for (size_t i = 1; i < d->ntokens; i++)
		if (d->tokens[i].skip == DJ_OK && strcmp(d->tokens[i - 1].key, d->tokens[i].key) == 0) {
			snprintf(c->err, c->errsz, "authtoken.token: a key appears twice");
			goto done;
		}
	qsort(d->socials, d->nsocials, sizeof(*d->socials), by_identity);
	for (size_t i = 1; i < d->nsocials; i++)
		if (d->socials[i].skip == DJ_OK && d->socials[i - 1].skip == DJ_OK &&
		    by_identity(&d->socials[i - 1], &d->socials[i]) == 0) {
			snprintf(c->err, c->errsz,
			    "social_django.usersocialauth pk %s: (provider, uid) appears twice",
			    d->socials[i].pk);
			goto done;
		}
	for (size_t i = 0; i < d->ntokens; i++) {
		struct django_user *du = django_dump_user(d, d->tokens[i].user_pk);
		if (d->tokens[i].skip == DJ_OK && du && du->skip != DJ_OK)
			d->tokens[i].skip = DJ_USER_SKIPPED;
		else if (d->tokens[i].skip == DJ_OK && du && !du->u.is_active)
			d->tokens[i].skip = DJ_USER_INACTIVE;
	}
	for (size_t i = 0; i < d->nsocials; i++) {
		struct django_user *du = django_dump_user(d, d->socials[i].user_pk);
		if (d->socials[i].skip == DJ_OK && du && du->skip != DJ_OK)
			d->socials[i].skip = DJ_USER_SKIPPED;
	}
	ret = 0;
done:
	free(order);
	return ret;
}

/* a custom user model: "<app>.user" with email and password fields */

int
django_dump_parse(const char *text, size_t len, const char *oidc_providers, struct django_dump **out,
    char *err, size_t errsz)
{
	struct ctx c = { .oidc = oidc_providers, .err = err, .errsz = errsz };
	json_error_t je;
	json_t *root = NULL, *row;
	size_t i, nusr = 0, ntok = 0, nsoc = 0, naddr = 0;
	int ret = -1;

	*out = NULL;
	if (len > DJANGO_INPUT_MAX) {
		snprintf(err, errsz, "the dump is larger than %zu MiB", DJANGO_INPUT_MAX >> 20);
		return -1;
	}
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		char safe[128];
		ascii_sanitize(je.text, sizeof(safe) - 1, safe, sizeof(safe));
		snprintf(err, errsz, "not JSON (line %d, column %d): %s", je.line, je.column, safe);
		return -1;
	}
	if (!json_is_array(root)) {
		snprintf(err, errsz, "not a dumpdata array of {\"model\", \"pk\", \"fields\"}");
		goto done;
	}
	/* room for each kind of row, counted first: other models cost nothing */
	json_array_foreach (root, i, row) {
		const char *model = json_string_value(json_object_get(row, "model"));
		if (model == NULL)
			continue;
		if (!strcmp(model, "authtoken.token"))
			ntok++;
		else if (!strcmp(model, "social_django.usersocialauth"))
			nsoc++;
		else if (!strcmp(model, "account.emailaddress"))
			naddr++;
		else if (!strcmp(model, "auth.user") ||
		    custom_user_model(model, json_object_get(row, "fields")))
			nusr++;
	}
	c.d = xcalloc(1, sizeof(*c.d));
	c.d->users = xcalloc(nusr + 1, sizeof(*c.d->users));
	c.d->tokens = xcalloc(ntok + 1, sizeof(*c.d->tokens));
	c.d->socials = xcalloc(nsoc + 1, sizeof(*c.d->socials));
	c.addrs = xcalloc(naddr + 1, sizeof(*c.addrs));
	json_array_foreach (root, i, row) {
		const json_t *m = json_object_get(row, "model"), *f = json_object_get(row, "fields");
		const char *model, *why = "";
		char pk[DJANGO_PK_MAX + 1];
		int rc = 0;

		if (!json_is_object(row) || !json_is_string(m) || json_string_length(m) > DJANGO_MODEL_MAX ||
		    !json_is_object(f)) {
			fail(&c, i, NULL, NULL, "%s",
			    "not an object with a \"model\" string and a \"fields\" object");
			goto done;
		}
		model = json_string_value(m);
		if (strlen(model) != json_string_length(m)) {
			fail(&c, i, NULL, NULL, "%s", "a model name with a NUL");
			goto done;
		}
		if (strcmp(model, "auth.user") == 0 || custom_user_model(model, f) ||
		    strcmp(model, "authtoken.token") == 0 ||
		    strcmp(model, "social_django.usersocialauth") == 0 ||
		    strcmp(model, "account.emailaddress") == 0) {
			if (key_text(json_object_get(row, "pk"), pk, &why) != 0) {
				fail(&c, i, model, NULL, "pk %s", why);
				goto done;
			}
		} else {
			c.d->ignored++;
			continue;
		}
		if (strcmp(model, "authtoken.token") == 0)
			rc = read_token(&c, i, model, pk, f);
		else if (strcmp(model, "social_django.usersocialauth") == 0)
			rc = read_social(&c, i, model, pk, f);
		else if (strcmp(model, "account.emailaddress") == 0)
			rc = read_address(&c, i, model, pk, f);
		else
			rc = read_user(&c, i, model, pk, f);
		if (rc != 0)
			goto done;
	}
	if (finish(&c) != 0)
		goto done;
	*out = c.d;
	c.d = NULL;
	ret = 0;
done:
	django_dump_free(c.d);
	free(c.addrs);
	json_decref(root);
	return ret;
}

void
django_dump_free(struct django_dump *d)
{
	if (d == NULL)
		return;
	if (d->users)
		sodium_memzero(d->users, d->nusers * sizeof(*d->users));
	if (d->tokens)
		sodium_memzero(d->tokens, d->ntokens * sizeof(*d->tokens));
	free(d->users);
	free(d->tokens);
	free(d->socials);
	free(d);
}
