/*
 * accounts/mfa — the lifecycle of a user's second factors, one rule in one
 * place for every entry point (the owner's own API, an administrator): when
 * a factor is added or removed the user's mfa_enabled follows what is left,
 * the recovery codes go with the last factor and come with the first, the
 * change is audited and the user is told by mail.  Plain inputs only; never
 * begins or commits a transaction (the caller owns it, so the change, its
 * mail and its audit row land together).  Never logs a secret or a code.
 */
#ifndef GATEHOUSE_ACCOUNTS_MFA_H
#define GATEHOUSE_ACCOUNTS_MFA_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "accounts/accounts.h"
#include "auth/recovery.h"
#include "mail/mail.h"
#include "store/store.h"

/* A user's factors as the owner, an admin or the login sees them. */
struct accounts_mfa_state {
	bool totp;          /* an authenticator app is enabled (confirmed) */
	int64_t totp_since; /* when it was confirmed */
	int webauthn;       /* passkeys registered */
	int recovery_total, recovery_unused;
};

/* Read u's factors: 0 or -1. */
int accounts_mfa_state(struct store *st, int64_t user_id, struct accounts_mfa_state *s);
/* The methods that can complete a second step for s, in the contract's
 * order ("webauthn", "totp", "recovery_code"): a new JSON array. */
json_t *accounts_mfa_methods(const struct accounts_mfa_state *s);

/* Ten new recovery codes for user_id (the old ones stop working): their
 * text in codes (shown once), their keyed hashes stored.  0 or -1. */
int accounts_mfa_new_recovery(struct store *st, const struct config *cfg, int64_t user_id,
    char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_TEXT]);

/* A factor of u was added or removed (already in the store): u's
 * mfa_enabled follows what is left (u updated in place); the last factor
 * gone takes the recovery codes with it; event is audited (detail taken
 * over, may be NULL) and mail (when not -1) queued to u.  When codes is not
 * NULL and the user has no unused recovery code after an addition, ten are
 * made into codes and *made set.  0 or -1. */
int accounts_mfa_changed(struct store *st, const struct config *cfg, struct store_user *u,
    const struct accounts_actor *a, const char *event, json_t *detail, int mail,
    char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_TEXT], bool *made);

/* An administrator removes every factor and recovery code of u: audited
 * admin.mfa_removed, mailed.  0 or -1. */
int accounts_mfa_remove_all(struct store *st, const struct config *cfg, struct store_user *u,
    const struct accounts_actor *a);

#endif
