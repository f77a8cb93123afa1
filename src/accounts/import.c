/*
 * import — see import.h.  Owns what the database decides about a Django
 * row (found again, changed, in the way of another account); must never
 * begin or commit a transaction (the caller owns the one of an import), store a token key, print a hash or
 * a key, or attach a Django row to an account it was not imported into.
 */
#include "accounts/import.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "accounts/accounts.h"
#include "accounts/audit.h"
#include "auth/session.h"
#include "util.h"

struct run {
	struct store *st;
	struct django_dump *d;
	struct import_counts *c;
	import_report_fn report;
	void *ctx;
	int64_t now;
};

static void
say(struct run *r, const char *model, const char *pk, const char *what)
{
	if (r->report)
		r->report(r->ctx, model, pk, what);
}

static void
skip_user(struct run *r, struct django_user *du, enum django_skip why)
{
	du->skip = why;
	du->user_id = 0;
	r->c->users_skipped++;
	r->c->user_skips[why]++;
	say(r, r->d->user_model, du->pk, django_skip_text(why));
}

/* notes on a user that is imported (names left out, password not usable) */
static void
notes(struct run *r, const struct django_user *du)
{
	if (du->name_dropped)
		say(r, r->d->user_model, du->pk,
		    "a first or last name gatehouse cannot store (control characters or over 150 characters) "
		    "was left out");
	if (du->unverifiable)
		say(r, r->d->user_model, du->pk,
		    "password hash in a format gatehouse cannot verify: imported without a usable password "
		    "(a password reset sets one)");
}

static int
link_put(struct run *r, const struct django_user *du, int64_t user_id)
{
	struct store_django_user l = { 0 };

	strlcpy_ok(l.django_model, r->d->user_model, sizeof(l.django_model));
	strlcpy_ok(l.django_pk, du->pk, sizeof(l.django_pk));
	l.user_id = user_id;
	memcpy(l.row_hash, du->row_hash, sizeof(l.row_hash));
	memcpy(l.password_hash, du->password_hash, sizeof(l.password_hash));
	l.imported_at = r->now;
	return store_django_user_put(r->st, &l);
}

static int
create_user(struct run *r, struct django_user *du)
{
	struct accounts_new_user n = { .origin = ACCOUNTS_IMPORT };
	struct store_user u;
	int rc;

	n.email = du->u.email;
	n.first_name = du->u.first_name;
	n.last_name = du->u.last_name;
	n.password_hash = du->u.password;
	n.method = du->pk;
	n.is_staff = du->u.is_staff;
	n.is_superuser = du->u.is_superuser;
	n.email_verified = du->u.email_verified;
	n.inactive = !du->u.is_active;
	n.date_joined = du->u.date_joined;
	n.last_login = du->u.last_login;
	rc = accounts_create_user(r->st, &n, NULL, &u);
	if (rc == ACCOUNTS_TAKEN) {
		skip_user(r, du, DJ_ACCOUNT_EXISTS);
		return 0;
	}
	if (rc != 0)
		return -1;
	if (link_put(r, du, u.id) != 0)
		return -1;
	du->user_id = u.id;
	r->c->users_created++;
	notes(r, du);
	sodium_memzero(&u, sizeof(u));
	return 0;
}

/* du was imported before as l: leave it, or bring it to Django's row */
static int
update_user(struct run *r, struct django_user *du, const struct store_django_user *l)
{
	struct store_user cur;
	char auth[STORE_AUTHHASH_LEN + 1];

	if (store_user_by_id(r->st, l->user_id, &cur) != 0)
		return -1; /* the link cascades with the user: a row that is gone is a store error */
	/* another address than the account's: the same pk of another project, or a change of address;
	 * either way the row is not this account's to overwrite (its password, its flags) */
	if (strcmp(cur.email, du->u.email) != 0) {
		sodium_memzero(&cur, sizeof(cur));
		skip_user(r, du, DJ_EMAIL_CHANGED);
		return 0;
	}
	du->user_id = cur.id;
	if (strcmp(l->row_hash, du->row_hash) == 0) {
		r->c->users_unchanged++;
		sodium_memzero(&cur, sizeof(cur));
		return 0;
	}
	if (store_user_set_flags(r->st, cur.id, du->u.is_active, du->u.is_staff, du->u.is_superuser,
	        du->u.email_verified) != 0 ||
	    store_user_set_names(r->st, cur.id, du->u.first_name, du->u.last_name) != 0)
		goto fail;
	/* a sign-in here since is newer than Django's: the latest of the two stays */
	if (du->u.last_login > cur.last_login &&
	    store_user_set_last_login(r->st, cur.id, du->u.last_login) != 0)
		goto fail;
	if (cur.is_active && !du->u.is_active && accounts_deactivate(r->st, cur.id) != 0)
		goto fail;
	if (strcmp(l->password_hash, du->password_hash) != 0) {
		/* changed in Django since the last import: theirs wins, and sessions made with the old end */
		session_new_auth_hash(auth);
		if (store_user_set_password(r->st, cur.id, du->u.password, auth) != 0)
			goto fail;
	}
	if (link_put(r, du, cur.id) != 0)
		goto fail;
	{
		/* is_active only when it changed, as the admin API does: a deactivation is news
		 * (the user.deactivated webhook), a row still inactive is not */
		json_t *detail = json_pack("{s:s, s:b, s:b}", "source", "import-django", "is_staff",
		    du->u.is_staff, "is_superuser", du->u.is_superuser);

		if (detail != NULL && cur.is_active != du->u.is_active)
			json_object_set_new(detail, "is_active", json_boolean(du->u.is_active));
		audit_log_cli(r->st, "admin.user.updated", cur.id, detail);
	}
	r->c->users_updated++;
	notes(r, du);
	sodium_memzero(&cur, sizeof(cur));
	return 0;
fail:
	sodium_memzero(&cur, sizeof(cur));
	return -1;
}

static int
import_user(struct run *r, struct django_user *du)
{
	struct store_django_user l;
	struct store_user other;
	int rc;

	if (du->skip != DJ_OK) {
		skip_user(r, du, du->skip);
		return 0;
	}
	rc = store_django_user_get(r->st, r->d->user_model, du->pk, 0, &l);
	if (rc == 0)
		return update_user(r, du, &l);
	if (rc != STORE_NOTFOUND)
		return -1;
	rc = store_user_by_email(r->st, du->u.email, &other);
	if (rc == STORE_NOTFOUND)
		return create_user(r, du);
	if (rc != 0)
		return -1;
	/* the address is an account already: imported from another pk, or made here; never merged */
	rc = store_django_user_get(r->st, NULL, NULL, other.id, &l);
	sodium_memzero(&other, sizeof(other));
	if (rc != 0 && rc != STORE_NOTFOUND)
		return -1;
	skip_user(r, du, rc == 0 ? DJ_LINKED_ELSEWHERE : DJ_ACCOUNT_EXISTS);
	return 0;
}

/* The gatehouse user of a token's or social row's Django user pk: 0 with *id (0 and *why when none) */
static int
owner(struct run *r, const char *user_pk, int64_t *id, enum django_skip *why, bool *active)
{
	struct django_user *du = django_dump_user(r->d, user_pk);
	struct store_django_user l;
	struct store_user u;
	int rc;

	*id = 0;
	if (du) {
		*id = du->user_id;
		*active = du->u.is_active;
		*why = du->user_id ? DJ_OK : DJ_USER_SKIPPED;
		return 0;
	}
	/* a user of an earlier import, not in this dump */
	rc = r->d->user_model[0] ? store_django_user_get(r->st, r->d->user_model, user_pk, 0, &l) :
	                           STORE_NOTFOUND;
	if (rc == STORE_NOTFOUND) {
		*why = DJ_USER_UNKNOWN;
		return 0;
	}
	if (rc != 0 || store_user_by_id(r->st, l.user_id, &u) != 0)
		return -1;
	*id = l.user_id;
	*active = u.is_active;
	*why = DJ_OK;
	sodium_memzero(&u, sizeof(u));
	return 0;
}

static int
import_token(struct run *r, struct django_token *t)
{
	struct store_token tok = { 0 }, found;
	struct store_user u;
	enum django_skip why = t->skip;
	bool active = true;
	int64_t id = 0;
	int rc;

	if (why == DJ_OK && owner(r, t->user_pk, &id, &why, &active) != 0)
		return -1;
	if (why == DJ_OK && !active)
		why = DJ_USER_INACTIVE;
	if (why == DJ_OK) {
		/* the same hash as a key of our own (auth/token.c), so the Django key resolves as it is */
		sha256_hex(t->key, strlen(t->key), tok.key_hash);
		rc = store_token_get(r->st, tok.key_hash, &found, &u);
		sodium_memzero(&u, sizeof(u));
		if (rc == 0 && found.user_id == id) {
			r->c->tokens_unchanged++;
			return 0;
		}
		if (rc == 0)
			why = DJ_TOKEN_TAKEN;
		else if (rc != STORE_NOTFOUND)
			return -1;
	}
	if (why != DJ_OK) {
		char what[DJANGO_PK_MAX + 160];
		/* the key is the token's pk: name its user instead, never the key */
		snprintf(what, sizeof(what), "the token of user %s: %s", t->user_pk, django_skip_text(why));
		r->c->tokens_skipped++;
		say(r, "authtoken.token", NULL, what);
		return 0;
	}
	tok.user_id = id;
	strlcpy_ok(tok.name, "Django", sizeof(tok.name));
	tok.created_at = t->created ? t->created : r->now;
	if (store_token_create(r->st, &tok) != 0)
		return -1;
	audit_log_cli(r->st, "admin.token.imported", id,
	    json_pack("{s:I, s:s, s:s}", "token_id", (json_int_t)tok.id, "name", tok.name, "source",
	        "import-django"));
	r->c->tokens_created++;
	return 0;
}

static int
import_social(struct run *r, struct django_social *s)
{
	struct store_identity i = { 0 };
	enum django_skip why = s->skip;
	bool active = true;
	int64_t id = 0;
	int rc;

	if (why == DJ_OK && owner(r, s->user_pk, &id, &why, &active) != 0)
		return -1;
	if (why == DJ_OK) {
		rc = store_identity_get(r->st, s->provider, s->uid, &i);
		if (rc == 0 && i.user_id == id) {
			r->c->socials_unchanged++;
			return 0;
		}
		if (rc == 0)
			why = DJ_IDENTITY_TAKEN;
		else if (rc != STORE_NOTFOUND)
			return -1;
	}
	if (why != DJ_OK) {
		char what[160];
		snprintf(what, sizeof(what), "%s (provider %s)", django_skip_text(why), s->provider);
		r->c->socials_skipped++;
		say(r, "social_django.usersocialauth", s->pk, what);
		return 0;
	}
	memset(&i, 0, sizeof(i));
	i.user_id = id;
	strlcpy_ok(i.provider, s->provider, sizeof(i.provider));
	strlcpy_ok(i.uid, s->uid, sizeof(i.uid));
	strlcpy_ok(i.extra, "{}",
	    sizeof(i.extra)); /* Django's extra_data holds the provider's tokens: left */
	i.created_at = s->created ? s->created : r->now;
	if (store_identity_create(r->st, &i) != 0)
		return -1;
	audit_log_cli(r->st, "admin.social.imported", id,
	    json_pack("{s:s, s:s}", "provider", i.provider, "source", "import-django"));
	r->c->socials_created++;
	return 0;
}

int
import_django(struct store *st, struct django_dump *d, struct import_counts *c, import_report_fn report,
    void *ctx, char *err, size_t errsz)
{
	struct run r = { st, d, c, report, ctx, now_unix() };
	const char *step = "importing the users";

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < d->nusers; i++) {
		if (import_user(&r, &d->users[i]) != 0)
			goto fail;
		if (d->users[i].skip == DJ_OK && !d->users[i].usable) {
			c->unusable_passwords++;
			if (d->users[i].unverifiable)
				c->unverifiable++;
		}
	}
	step = "importing the tokens";
	for (size_t i = 0; i < d->ntokens; i++)
		if (import_token(&r, &d->tokens[i]) != 0)
			goto fail;
	step = "importing the social identities";
	for (size_t i = 0; i < d->nsocials; i++)
		if (import_social(&r, &d->socials[i]) != 0)
			goto fail;
	return 0;
fail:
	snprintf(err, errsz, "database error while %s", step);
	return -1;
}

void
import_print_summary(FILE *f, const struct django_dump *d, const struct import_counts *c, bool dry_run)
{
	fprintf(f, "%suser model: %s\n", dry_run ? "dry run (nothing written): " : "",
	    d->user_model[0] ? d->user_model : "(none in the dump)");
	fprintf(f, "users: %zu created, %zu updated, %zu unchanged, %zu skipped\n", c->users_created,
	    c->users_updated, c->users_unchanged, c->users_skipped);
	for (int i = 1; i < DJ_SKIP_COUNT; i++)
		if (c->user_skips[i])
			fprintf(f, "  skipped: %zu %s\n", c->user_skips[i],
			    django_skip_text((enum django_skip)i));
	fprintf(f, "tokens: %zu created, %zu unchanged, %zu skipped\n", c->tokens_created,
	    c->tokens_unchanged, c->tokens_skipped);
	fprintf(f, "social identities: %zu created, %zu unchanged, %zu skipped\n", c->socials_created,
	    c->socials_unchanged, c->socials_skipped);
	fprintf(f, "passwords: %zu unusable (%zu in a format gatehouse cannot verify)\n",
	    c->unusable_passwords, c->unverifiable);
	if (d->nemailaddress)
		fprintf(f, "email verified: from %zu account.emailaddress rows\n", d->nemailaddress);
	else
		fprintf(f,
		    "email verified: assumed for %zu users (no account.emailaddress rows in the dump)\n",
		    d->assumed_verified);
	fprintf(f, "rows of other models ignored: %zu\n", d->ignored);
	if (c->users_created + c->users_updated + c->tokens_created + c->socials_created == 0)
		fprintf(f, "nothing to change\n");
}
