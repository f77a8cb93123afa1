/*
 * pipeline — the named steps (python-social-auth's design) that turn a
 * provider's profile into a user: check the subject and the allowed
 * addresses, find the identity, maybe link by a vouched-for and confirmed
 * address, create the user, link the identity, keep extra data and fill in
 * missing names; cfg->social_pipeline picks and orders them.  Runs inside
 * the caller's transaction.  Answers with a domain error (enum social_error)
 * and text for the user, never an HTTP answer: src/api/social.c maps them.
 * Must never link by an address the provider does not vouch for or the
 * account never confirmed, never put a password or provider token anywhere
 * but the store, and never log.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "accounts/accounts.h"
#include "config.h"
#include "social/social.h"

#define BUSY "Service temporarily unavailable."

struct ctx {
	const struct config *cfg;
	struct store *st;
	const struct social_provider *p;
	const struct social_profile *profile;
	int64_t link_user_id;
	struct store_identity identity;
	bool have_identity, have_user;
	struct social_result *res;
};

static int
fail(struct ctx *c, enum social_error error, const char *fmt, const char *arg)
{
	c->res->error = error;
	snprintf(c->res->detail, sizeof(c->res->detail), fmt, arg);
	return -1;
}

static int
in_list(const char *list, const char *item)
{
	for (const char *q = list; *q;) {
		size_t n = strcspn(q, ",");
		const char *s = q;
		size_t m = n;
		while (m && *s == ' ')
			s++, m--;
		while (m && s[m - 1] == ' ')
			m--;
		if (m && strlen(item) == m && strncasecmp(s, item, m) == 0)
			return 1;
		q += n;
		if (*q == ',')
			q++;
	}
	return 0;
}

static int
step_details(struct ctx *c)
{
	(void)c; /* the profile was fetched by social_exchange */
	return 0;
}

static int
step_uid(struct ctx *c)
{
	if (c->profile->uid[0] == '\0')
		return fail(c, SOCIAL_ERR_NO_UID, "%s did not identify the account.", c->p->label);
	return 0;
}

static int
step_auth_allowed(struct ctx *c)
{
	const char *email = c->profile->email, *at = strchr(email, '@');

	if (!c->cfg->social_allowed_domains[0] && !c->cfg->social_allowed_emails[0])
		return 0;
	if (at && c->profile->email_verified &&
	    (in_list(c->cfg->social_allowed_emails, email) ||
	        in_list(c->cfg->social_allowed_domains, at + 1)))
		return 0;
	return fail(c, SOCIAL_ERR_DOMAIN_NOT_ALLOWED, "%s",
	    "Your email address is not allowed to sign in here.");
}

static int
step_social_user(struct ctx *c)
{
	int rc = store_identity_get(c->st, c->p->name, c->profile->uid, &c->identity);

	if (rc < 0)
		return fail(c, SOCIAL_ERR_STORE, "%s", BUSY);
	if (rc == STORE_NOTFOUND) {
		/* the signed-in user to link to: a store failure must not read as "no such user" */
		if (c->link_user_id && (rc = store_user_by_id(c->st, c->link_user_id, &c->res->user)) < 0)
			return fail(c, SOCIAL_ERR_STORE, "%s", BUSY);
		if (c->link_user_id && rc == 0)
			c->have_user = true;
		return 0;
	}
	if (c->link_user_id && c->identity.user_id != c->link_user_id)
		return fail(c, SOCIAL_ERR_IDENTITY_OF_OTHER_USER,
		    "This %s account is already connected to another user.", c->p->label);
	c->have_identity = true;
	if (store_user_by_id(c->st, c->identity.user_id, &c->res->user) != 0)
		return fail(c, SOCIAL_ERR_STORE, "%s", BUSY);
	c->have_user = true;
	return 0;
}

static int
step_associate_by_email(struct ctx *c)
{
	struct store_user u;

	/* only an address the provider vouches for may reach an existing account,
	 * and only an account whose own address was confirmed: anyone can sign up
	 * with someone else's address and a password of their own, and linking
	 * the owner's provider to that account would let both in */
	if (c->have_user || !c->profile->email_verified || !c->profile->email[0])
		return 0;
	switch (store_user_by_email(c->st, c->profile->email, &u)) {
	case 0:
		break;
	case STORE_NOTFOUND:
		return 0;
	default:
		return fail(c, SOCIAL_ERR_STORE, "%s", BUSY);
	}
	sodium_memzero(u.password, sizeof(u.password));
	if (!u.email_verified)
		return fail(c, SOCIAL_ERR_EMAIL_TAKEN_UNVERIFIED,
		    "An account already uses this email address but has not "
		    "confirmed it. If it is yours, sign in with your password (or reset it), then connect %s "
		    "from your "
		    "account page.",
		    c->p->label);
	c->res->user = u;
	c->have_user = true;
	return 0;
}

static int
step_create_user(struct ctx *c)
{
	struct accounts_new_user n = { .origin = ACCOUNTS_SOCIAL,
		.email = c->profile->email,
		.first_name = c->profile->first_name,
		.last_name = c->profile->last_name,
		.method = c->p->name,
		.email_verified = c->profile->email_verified };
	struct store_user u;

	if (c->have_user)
		return 0;
	if (!c->profile->email[0])
		return fail(c, SOCIAL_ERR_NO_EMAIL,
		    "%s did not share an email address; add one there and try again.", c->p->label);
	/* no password (an unusable one; a reset can set a real one) */
	switch (accounts_create_user(c->st, &n, NULL, &u)) {
	case 0:
		break;
	case ACCOUNTS_TAKEN:
		return fail(c, SOCIAL_ERR_EMAIL_TAKEN,
		    "An account already uses this email address. Sign in with your "
		    "password, then connect %s from your account page.",
		    c->p->label);
	case ACCOUNTS_BAD_EMAIL:
		return fail(c, SOCIAL_ERR_NO_EMAIL, "%s shared an email address that cannot be used here.",
		    c->p->label);
	default:
		return fail(c, SOCIAL_ERR_STORE, "%s", "Service temporarily unavailable.");
	}
	c->res->user = u;
	c->res->created = true;
	c->have_user = true;
	return 0;
}

static int
step_associate_user(struct ctx *c)
{
	if (c->have_identity || !c->have_user)
		return 0;
	memset(&c->identity, 0, sizeof(c->identity));
	c->identity.user_id = c->res->user.id;
	strlcpy_ok(c->identity.provider, c->p->name, sizeof(c->identity.provider));
	strlcpy_ok(c->identity.uid, c->profile->uid, sizeof(c->identity.uid));
	strlcpy_ok(c->identity.extra, c->profile->extra[0] ? c->profile->extra : "{}",
	    sizeof(c->identity.extra));
	c->identity.created_at = now_unix();
	if (store_identity_create(c->st, &c->identity) != 0)
		return fail(c, SOCIAL_ERR_IDENTITY_OF_OTHER_USER,
		    "This %s account is already connected to another user.", c->p->label);
	c->have_identity = true;
	c->res->linked = true;
	return 0;
}

static int
step_load_extra_data(struct ctx *c)
{
	if (c->have_identity && c->profile->extra[0] && strcmp(c->identity.extra, c->profile->extra) != 0 &&
	    store_identity_update_extra(c->st, c->identity.id, c->profile->extra) != 0)
		return fail(c, SOCIAL_ERR_STORE, "%s", BUSY);
	return 0;
}

static int
step_user_details(struct ctx *c)
{
	struct store_user *u = &c->res->user;

	/* fill in names the account lacks; never overwrite what the user set */
	if (!c->have_user || (u->first_name[0] && u->last_name[0]) ||
	    (!c->profile->first_name[0] && !c->profile->last_name[0]))
		return 0;
	if (!u->first_name[0])
		strlcpy_ok(u->first_name, c->profile->first_name, sizeof(u->first_name));
	if (!u->last_name[0])
		strlcpy_ok(u->last_name, c->profile->last_name, sizeof(u->last_name));
	if (store_user_set_names(c->st, u->id, u->first_name, u->last_name) != 0)
		return fail(c, SOCIAL_ERR_STORE, "%s", BUSY);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct ctx *);
} steps[] = {
	{ "social_details", step_details },
	{ "social_uid", step_uid },
	{ "auth_allowed", step_auth_allowed },
	{ "social_user", step_social_user },
	{ "associate_by_email", step_associate_by_email },
	{ "create_user", step_create_user },
	{ "associate_user", step_associate_user },
	{ "load_extra_data", step_load_extra_data },
	{ "user_details", step_user_details },
};

int
social_step_known(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (strlen(steps[i].name) == len && memcmp(steps[i].name, name, len) == 0)
			return 1;
	return 0;
}

void
social_pipeline(const struct config *cfg, struct store *st, const struct social_provider *p,
    const struct social_profile *profile, int64_t link_user_id, struct social_result *res)
{
	struct ctx c = { cfg, st, p, profile, link_user_id, { 0 }, false, false, res };

	memset(res, 0, sizeof(*res));
	for (const char *q = cfg->social_pipeline; *q;) {
		size_t n = strcspn(q, ","), m;
		const char *s = q;

		while (n && *s == ' ')
			s++, n--;
		m = strcspn(s, ", ");
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
			if (strlen(steps[i].name) == m && memcmp(steps[i].name, s, m) == 0 &&
			    steps[i].run(&c) != 0)
				return;
		q = s + n;
		if (*q == ',')
			q++;
	}
	if (!c.have_user)
		fail(&c, SOCIAL_ERR_NO_ACCOUNT, "%s",
		    "No account for this sign-in (the pipeline has no create_user step).");
	else if (!res->user.is_active)
		fail(&c, SOCIAL_ERR_INACTIVE, "%s", "This account is inactive.");
	else if (link_user_id && res->user.id != link_user_id)
		fail(&c, SOCIAL_ERR_IDENTITY_OF_OTHER_USER,
		    "This %s account is already connected to another user.", p->label);
}
