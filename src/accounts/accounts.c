/*
 * accounts — see accounts.h.  Owns the user lifecycle rules (create, set a
 * password, confirm an address, deactivate); must never take a request,
 * include http/, open or commit a transaction, or log a secret.
 */
#include "accounts/accounts.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "accounts/audit.h"
#include "accounts/user.h"
#include "auth/reset_token.h"
#include "auth/session.h"
#include "config.h"
#include "log.h"
#include "mail/mail.h"
#include "util.h"

static const struct accounts_actor nobody = { 0, NULL, NULL };

static void
audit(struct store *st, const struct accounts_actor *a, const char *event, int64_t user_id, json_t *detail)
{
	if (a == NULL)
		a = &nobody;
	audit_write(st, a->id, a->ip, a->user_agent, event, user_id, detail);
}

/* A name into out: 0, or -1 when it is not acceptable. */
static int
name_copy(const char *in, char *out, size_t outsz)
{
	size_t len;

	out[0] = '\0';
	if (in == NULL || in[0] == '\0')
		return 0;
	len = strlen(in);
	if (len >= outsz || !user_name_valid(in, len))
		return -1;
	strlcpy_ok(out, in, outsz);
	return 0;
}

int
accounts_create_user(struct store *st, const struct accounts_new_user *n, const struct accounts_actor *a,
    struct store_user *out)
{
	struct store_user u = { 0 };
	char pw[40];
	json_t *detail;
	int rc;

	if (n->email == NULL || user_normalize_email(n->email, u.email, sizeof(u.email)) != 0)
		return ACCOUNTS_BAD_EMAIL;
	if (name_copy(n->first_name, u.first_name, sizeof(u.first_name)) != 0) {
		if (n->origin != ACCOUNTS_SOCIAL)
			return ACCOUNTS_BAD_NAME;
		u.first_name[0] = '\0';
	}
	if (name_copy(n->last_name, u.last_name, sizeof(u.last_name)) != 0) {
		if (n->origin != ACCOUNTS_SOCIAL)
			return ACCOUNTS_BAD_NAME;
		u.last_name[0] = '\0';
	}
	rc = store_user_by_email(st, u.email, out);
	if (rc == 0)
		return ACCOUNTS_TAKEN;
	if (rc != STORE_NOTFOUND)
		return -1;
	if (n->password_hash)
		strlcpy_ok(u.password, n->password_hash, sizeof(u.password));
	else {
		/* no usable password: "!" never verifies; a reset sets a real one */
		random_chars(pw, sizeof(pw) - 1, "abcdefghijklmnopqrstuvwxyz0123456789");
		snprintf(u.password, sizeof(u.password), "!%s", pw);
		sodium_memzero(pw, sizeof(pw));
	}
	u.is_superuser = n->is_superuser;
	u.is_staff = n->is_staff || n->is_superuser;
	u.is_active = !(n->origin == ACCOUNTS_IMPORT && n->inactive);
	u.email_verified = n->email_verified;
	u.date_joined = n->origin == ACCOUNTS_IMPORT && n->date_joined > 0 ? n->date_joined : now_unix();
	session_new_auth_hash(u.auth_hash);
	rc = store_user_create(st, &u);
	if (rc == STORE_CONFLICT) {
		/* a concurrent insert won: taken, like any other */
		if (store_user_by_email(st, u.email, out) != 0)
			memset(out, 0, sizeof(*out));
		sodium_memzero(&u, sizeof(u));
		return ACCOUNTS_TAKEN;
	}
	if (rc == 0 && n->origin == ACCOUNTS_IMPORT && n->last_login > 0) {
		rc = store_user_set_last_login(st, u.id, n->last_login);
		u.last_login = n->last_login;
	}
	if (rc != 0) {
		sodium_memzero(&u, sizeof(u));
		return -1;
	}
	switch (n->origin) {
	case ACCOUNTS_SIGNUP:
	case ACCOUNTS_SOCIAL:
		audit(st, a, "user.signed_up", u.id,
		    json_pack("{s:s}", "method",
		        n->origin == ACCOUNTS_SIGNUP ? "password" :
		            n->method                ? n->method :
		                                       "social"));
		break;
	case ACCOUNTS_ADMIN:
	case ACCOUNTS_CLI:
		detail = json_pack("{s:b, s:b}", "is_staff", u.is_staff, "is_superuser", u.is_superuser);
		if (n->origin == ACCOUNTS_CLI)
			audit_log_cli(st, "admin.user.created", u.id, detail);
		else
			audit(st, a, "admin.user.created", u.id, detail);
		break;
	case ACCOUNTS_IMPORT:
		audit_log_cli(st, "admin.user.imported", u.id,
		    json_pack("{s:b, s:b, s:s}", "is_staff", u.is_staff, "is_superuser", u.is_superuser,
		        "django_pk", n->method ? n->method : ""));
		break;
	}
	*out = u;
	sodium_memzero(&u, sizeof(u));
	return 0;
}

int
accounts_confirm_email(struct store *st, struct store_user *u, const struct accounts_actor *a)
{
	if (store_user_set_verified(st, u->id) != 0 || store_confirmation_delete_user(st, u->id) < 0)
		return -1;
	if (!u->email_verified)
		audit(st, a, "email.confirmed", u->id, NULL);
	u->email_verified = true;
	return 0;
}

int
accounts_set_password(struct store *st, const struct config *cfg, struct store_user *u, const char *hash,
    enum accounts_pw_reason why, const struct accounts_actor *a)
{
	char auth[STORE_AUTHHASH_LEN + 1];

	session_new_auth_hash(auth);
	if (store_user_set_password(st, u->id, hash, auth) != 0)
		return -1;
	strlcpy_ok(u->password, hash, sizeof(u->password));
	strlcpy_ok(u->auth_hash, auth, sizeof(u->auth_hash));
	/* every reason: the sessions made under the old password end (a change
	 * keeps the caller signed in by rotating its session afterwards) */
	if (store_session_delete_user(st, u->id, 0) < 0)
		return -1;
	if (why == ACCOUNTS_PW_RESET &&
	    (store_token_delete_user(st, u->id) < 0 || accounts_confirm_email(st, u, a) != 0))
		return -1;
	if (mail_queue(st, cfg, MAIL_PASSWORD_CHANGED, u->email, NULL) != 0)
		return -1;
	switch (why) {
	case ACCOUNTS_PW_RESET:
		log_msg(LOG_INFO, "user %lld reset their password; sessions and tokens ended",
		    (long long)u->id);
		audit(st, a, "password.reset", u->id, NULL);
		break;
	case ACCOUNTS_PW_CHANGE:
		log_msg(LOG_INFO, "user %lld changed their password; other sessions ended", (long long)u->id);
		audit(st, a, "password.changed", u->id, NULL);
		break;
	case ACCOUNTS_PW_CLI:
		audit_log_cli(st, "password.changed", u->id, NULL);
		break;
	}
	return 0;
}

int
accounts_upgrade_hash(struct store *st, int64_t user_id, const char *hash)
{
	return store_user_set_password(st, user_id, hash, NULL) == 0 ? 0 : -1;
}

int
accounts_deactivate(struct store *st, int64_t user_id)
{
	if (store_session_delete_user(st, user_id, 0) < 0 || store_token_delete_user(st, user_id) < 0)
		return -1;
	return 0;
}

int
accounts_queue_reset(struct store *st, const struct config *cfg, const struct store_user *u)
{
	char uid[RESET_UID_MAX + 1], token[RESET_TOKEN_MAX], path[160];
	int ret;

	reset_uid_encode(u->id, uid, sizeof(uid));
	reset_token_make(cfg->secret_key, u, now_unix(), token, sizeof(token));
	snprintf(path, sizeof(path), "/reset-password/%s/%s", uid, token);
	ret = mail_queue(st, cfg, MAIL_RESET, u->email, path);
	sodium_memzero(token, sizeof(token));
	sodium_memzero(path, sizeof(path));
	return ret == 0 ? 0 : -1;
}
