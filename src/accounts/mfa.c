/*
 * accounts/mfa — see mfa.h.
 */
#include "accounts/mfa.h"

#include <sodium.h>

#include "accounts/audit.h"
#include "config.h"
#include "log.h"

int
accounts_mfa_state(struct store *st, int64_t user_id, struct accounts_mfa_state *s)
{
	struct store_totp t;
	int rc;

	*s = (struct accounts_mfa_state){ 0 };
	rc = store_totp_get(st, user_id, &t);
	if (rc != 0 && rc != STORE_NOTFOUND)
		return -1;
	if (rc == 0 && t.confirmed) {
		s->totp = true;
		s->totp_since = t.created_at;
	}
	sodium_memzero(&t, sizeof(t));
	if (store_webauthn_count(st, user_id, &s->webauthn) != 0 ||
	    store_recovery_count(st, user_id, &s->recovery_total, &s->recovery_unused) != 0)
		return -1;
	return 0;
}

json_t *
accounts_mfa_methods(const struct accounts_mfa_state *s)
{
	json_t *m = json_array();

	if (s->webauthn > 0)
		json_array_append_new(m, json_string("webauthn"));
	if (s->totp)
		json_array_append_new(m, json_string("totp"));
	if (s->recovery_unused > 0 && (s->totp || s->webauthn > 0))
		json_array_append_new(m, json_string("recovery_code"));
	return m;
}

int
accounts_mfa_new_recovery(struct store *st, const struct config *cfg, int64_t user_id,
    char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_TEXT])
{
	char hashes[RECOVERY_CODE_COUNT][STORE_KEYHASH_LEN + 1];
	int ret = -1;

	for (int i = 0; i < RECOVERY_CODE_COUNT; i++) {
		recovery_code_new(codes[i]);
		if (recovery_code_hash(cfg->secret_key, codes[i], hashes[i]) != 0)
			goto done;
	}
	ret = store_recovery_replace(st, user_id, (const char(*)[STORE_KEYHASH_LEN + 1]) hashes,
	          RECOVERY_CODE_COUNT, now_unix()) == 0 ?
	    0 :
	    -1;
done:
	sodium_memzero(hashes, sizeof(hashes));
	return ret;
}

int
accounts_mfa_changed(struct store *st, const struct config *cfg, struct store_user *u,
    const struct accounts_actor *a, const char *event, json_t *detail, int mail,
    char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_TEXT], bool *made)
{
	struct accounts_mfa_state s;
	bool enabled;

	if (made)
		*made = false;
	if (accounts_mfa_state(st, u->id, &s) != 0)
		goto fail;
	enabled = s.totp || s.webauthn > 0;
	if (enabled != u->mfa_enabled) {
		if (store_user_set_mfa(st, u->id, enabled) != 0)
			goto fail;
		u->mfa_enabled = enabled;
	}
	/* recovery codes exist only beside a factor they stand in for */
	if (!enabled && s.recovery_total > 0 && store_recovery_delete_user(st, u->id) != 0)
		goto fail;
	if (enabled && codes && made && s.recovery_unused == 0) {
		if (accounts_mfa_new_recovery(st, cfg, u->id, codes) != 0)
			goto fail;
		*made = true;
	}
	audit_write(st, a->id, a->ip, a->user_agent, event, u->id, detail);
	detail = NULL;
	if (mail >= 0 && mail_queue(st, cfg, (enum mail_kind)mail, u->email, NULL) != 0)
		return -1;
	return 0;
fail:
	json_decref(detail);
	return -1;
}

int
accounts_mfa_remove_all(struct store *st, const struct config *cfg, struct store_user *u,
    const struct accounts_actor *a)
{
	if (store_mfa_delete_user(st, u->id) != 0)
		return -1;
	u->mfa_enabled = false;
	audit_write(st, a->id, a->ip, a->user_agent, "admin.mfa_removed", u->id, NULL);
	return mail_queue(st, cfg, MAIL_MFA_ADMIN_REMOVED, u->email, NULL);
}
