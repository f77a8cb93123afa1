/*
 * export — see export.h.  Owns the export's JSON-lines schema; must never
 * write a token key, a second factor's secret, a session, the auth hash, or
 * anything but a password's hash.
 */
#include "accounts/export.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "util.h"

#define PAGE 500

struct out {
	struct store *st;
	FILE *f;
	struct export_counts *c;
	int64_t *ids;
	size_t nids, cap;
	bool failed;
};

static json_t *
time_or_null(int64_t t)
{
	char s[32];

	if (t == 0)
		return json_null();
	iso8601(t, s, sizeof(s));
	return json_string(s);
}

/* one line; a value jansson cannot make (memory) or write fails the export */
static void
line(struct out *o, json_t *obj)
{
	if (obj == NULL || json_dumpf(obj, o->f, JSON_COMPACT | JSON_ENSURE_ASCII) != 0 ||
	    fputc('\n', o->f) == EOF)
		o->failed = true;
	json_decref(obj);
}

static void
collect_id(void *ctx, const struct store_user *u)
{
	struct out *o = ctx;

	if (o->nids == o->cap) {
		o->cap = o->cap ? o->cap * 2 : PAGE;
		o->ids = xrealloc(o->ids, o->cap * sizeof(*o->ids));
	}
	o->ids[o->nids++] = u->id;
}

static void
identity_line(void *ctx, const struct store_identity *i)
{
	struct out *o = ctx;

	line(o,
	    json_pack("{s:s, s:I, s:I, s:s, s:s, s:o}", "type", "identity", "id", (json_int_t)i->id,
	        "user_id", (json_int_t)i->user_id, "provider", i->provider, "uid", i->uid, "created",
	        time_or_null(i->created_at)));
	o->c->identities++;
}

static void
token_line(void *ctx, const struct store_token *t)
{
	struct out *o = ctx;

	line(o,
	    json_pack("{s:s, s:I, s:I, s:s, s:s, s:o, s:o, s:o}", "type", "token", "id", (json_int_t)t->id,
	        "user_id", (json_int_t)t->user_id, "name", t->name, "key_sha256", t->key_hash, "created",
	        time_or_null(t->created_at), "expires", time_or_null(t->expires_at), "last_used",
	        time_or_null(t->last_used)));
	o->c->tokens++;
}

static int
user_line(struct out *o, int64_t id)
{
	struct store_user u;
	struct store_django_user l;
	int rc, lrc;

	if ((rc = store_user_by_id(o->st, id, &u)) == STORE_NOTFOUND)
		return 0; /* deleted meanwhile */
	if (rc != 0)
		return -1;
	if ((lrc = store_django_user_get(o->st, NULL, NULL, id, &l)) != 0 && lrc != STORE_NOTFOUND) {
		sodium_memzero(&u, sizeof(u));
		return -1;
	}
	line(o,
	    json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:o, s:o, s:o, s:o}", "type",
	        "user", "id", (json_int_t)u.id, "email", u.email, "password", u.password, "first_name",
	        u.first_name, "last_name", u.last_name, "is_active", u.is_active, "is_staff", u.is_staff,
	        "is_superuser", u.is_superuser, "email_verified", u.email_verified, "mfa_enabled",
	        u.mfa_enabled, "date_joined", time_or_null(u.date_joined), "last_login",
	        time_or_null(u.last_login), "django_model",
	        lrc == 0 ? json_string(l.django_model) : json_null(), "django_pk",
	        lrc == 0 ? json_string(l.django_pk) : json_null()));
	sodium_memzero(&u, sizeof(u));
	o->c->users++;
	return store_identity_list(o->st, id, identity_line, o);
}

int
export_write(struct store *st, FILE *f, struct export_counts *c, char *err, size_t errsz)
{
	struct out o = { st, f, c, NULL, 0, 0, false };
	int64_t total = 0, offset = 0;
	const char *step = "listing the users";
	char now[32];
	int ret = -1;

	memset(c, 0, sizeof(*c));
	iso8601(now_unix(), now, sizeof(now));
	line(&o, json_pack("{s:s, s:i, s:s}", "type", "export", "format", 1, "created", now));
	/* the ids first, page by page, then each user with its password hash */
	do {
		size_t before = o.nids;
		if (store_user_list(st, NULL, offset, PAGE, collect_id, &o, &total) != 0)
			goto done;
		if (o.nids == before)
			break;
		offset += (int64_t)(o.nids - before);
	} while (offset < total);
	step = "reading the users";
	for (size_t i = 0; i < o.nids && !o.failed; i++)
		if (user_line(&o, o.ids[i]) != 0)
			goto done;
	step = "reading the tokens";
	if (store_token_each(st, token_line, &o) != 0)
		goto done;
	step = "writing";
	if (o.failed || fflush(f) != 0 || ferror(f))
		goto done;
	ret = 0;
done:
	if (ret != 0)
		snprintf(err, errsz, "export failed while %s: the output is incomplete", step);
	free(o.ids);
	return ret;
}
