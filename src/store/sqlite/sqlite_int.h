/*
 * store/sqlite_int — what the SQLite backend's files share: the statement
 * table's names and the small helpers around prepared statements.  Private
 * to src/store/sqlite*.c.
 */
#ifndef GATEHOUSE_SQLITE_INT_H
#define GATEHOUSE_SQLITE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/store.h"

enum stmt {
	ST_USER_CREATE,
	ST_USER_BY_EMAIL,
	ST_USER_BY_ID,
	ST_USER_SET_PASSWORD,
	ST_USER_SET_PASSWORD_KEEP,
	ST_USER_LAST_LOGIN,
	ST_SESSION_CREATE,
	ST_SESSION_GET,
	ST_SESSION_DELETE,
	ST_SESSION_TOUCH,
	ST_SESSION_DELETE_USER,
	ST_SESSION_DELETE_EXPIRED,
	ST_TOKEN_CREATE,
	ST_TOKEN_GET,
	ST_TOKEN_TOUCH,
	ST_TOKEN_DELETE_USER,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_USER_SET_VERIFIED,
	ST_CONFIRM_CREATE,
	ST_CONFIRM_GET,
	ST_CONFIRM_DELETE,
	ST_CONFIRM_DELETE_USER,
	ST_OUTBOX_ADD,
	ST_OUTBOX_DUE,
	ST_OUTBOX_LEASE,
	ST_OUTBOX_SENT,
	ST_OUTBOX_FAILED,
	ST_OUTBOX_DEPTH,
	ST_SESSIONS_LIVE,
	ST_SESSION_LIST,
	ST_SESSION_DELETE_ID,
	ST_TOKEN_LIST,
	ST_TOKEN_DELETE_ID,
	ST_USER_LIST,
	ST_USER_COUNT,
	ST_USER_SET_FLAGS,
	ST_AUDIT_ADD,
	ST_AUDIT_LIST,
	ST_AUDIT_COUNT,
	ST_STATE_CREATE,
	ST_STATE_GET,
	ST_STATE_DELETE,
	ST_STATE_PURGE,
	ST_IDENTITY_GET,
	ST_IDENTITY_CREATE,
	ST_IDENTITY_EXTRA,
	ST_IDENTITY_LIST,
	ST_IDENTITY_DELETE,
	ST_USER_SET_NAMES,
	ST_STATE_TRIM_BROWSER,
	ST_STATE_COUNT_IP,
	ST_THROTTLE_ADD,
	ST_THROTTLE_WAIT,
	ST_THROTTLE_RELEASE,
	ST_THROTTLE_RESET,
	ST_THROTTLE_PURGE,
	ST_SESSION_REAUTH,
	ST_USER_SET_MFA,
	ST_TOTP_GET,
	ST_TOTP_PUT_PENDING,
	ST_TOTP_CONFIRM,
	ST_TOTP_USE_STEP,
	ST_TOTP_DELETE,
	ST_RECOVERY_DELETE_USER,
	ST_RECOVERY_ADD,
	ST_RECOVERY_USE,
	ST_RECOVERY_COUNT,
	ST_WEBAUTHN_ADD,
	ST_WEBAUTHN_GET,
	ST_WEBAUTHN_GET_ID,
	ST_WEBAUTHN_LIST,
	ST_WEBAUTHN_COUNT,
	ST_WEBAUTHN_RENAME,
	ST_WEBAUTHN_DELETE,
	ST_WEBAUTHN_USED,
	ST_WEBAUTHN_EXISTS,
	ST_WEBAUTHN_DELETE_USER,
	ST_CHALLENGE_TRIM,
	ST_CHALLENGE_CREATE,
	ST_CHALLENGE_GET,
	ST_CHALLENGE_DELETE,
	ST_CHALLENGE_PURGE,
	ST_PENDING_CREATE,
	ST_PENDING_GET,
	ST_PENDING_DELETE,
	ST_PENDING_PURGE,
	ST_WEBHOOK_ADD,
	ST_WEBHOOK_DUE,
	ST_WEBHOOK_LEASE,
	ST_WEBHOOK_DELIVERED,
	ST_WEBHOOK_FAILED,
	ST_WEBHOOK_GET,
	ST_WEBHOOK_PURGE,
	ST_PING,
	/* import from Django and export */
	ST_DJANGO_USER_GET,
	ST_DJANGO_USER_BY_USER,
	ST_DJANGO_USER_PUT,
	ST_TOKEN_EACH,
	ST_COUNT
};

/* A reset, cleared, cached statement of this thread's connection, or NULL. */
sqlite3_stmt *sq_prep(struct store *st, enum stmt which);
void sq_done(sqlite3_stmt *s);
void sq_col_text(sqlite3_stmt *s, int i, char *out, size_t outsz);
void sq_read_user(sqlite3_stmt *s, int i, struct store_user *u);
void sq_log_error(sqlite3 *db, const char *what);
/* Step a write: 0, STORE_CONFLICT on a unique violation, or -1. */
int sq_step_write(struct store *st, sqlite3_stmt *s);
int sq_exec0(struct store *st, enum stmt which);
int sq_exec1(struct store *st, enum stmt which, int64_t a);
int sq_exec2(struct store *st, enum stmt which, int64_t a, int64_t b);
/* Step a single-row read: 0 with s on the row (read it, then sq_done), or
 * STORE_NOTFOUND / -1 with s already reset. */
int sq_step_one(sqlite3_stmt *s);
/* Step a read to the end, row(s, ctx) per row: 0 or -1. */
int sq_each_row(sqlite3_stmt *s, void (*row)(sqlite3_stmt *, void *), void *ctx);
int sq_count_rows(sqlite3_stmt *s, int64_t *total);
/* DELETE ... WHERE id = ?1 AND (?2 = 0 OR user_id = ?2): 0, STORE_NOTFOUND or -1. */
int sq_delete_owned(struct store *st, enum stmt which, int64_t id, int64_t user_id);
int sq_begin(struct store *st);
int sq_commit(struct store *st);
void sq_rollback(struct store *st);
/* true when this thread's connection is inside a transaction (store_begin()..commit) */
bool sq_in_transaction(struct store *st);

/* sqlite_mail.c */
int sq_confirmation_create(struct store *st, struct store_confirmation *c);
int sq_confirmation_take(struct store *st, const char *key_hash, struct store_confirmation *c);
int sq_confirmation_delete_user(struct store *st, int64_t user_id);
int sq_outbox_add(struct store *st, const char *recipient, const char *message, int64_t now);
int sq_outbox_claim(struct store *st, int64_t now, int64_t lease_until, struct store_mail *out, int max,
    int *n);
int sq_outbox_sent(struct store *st, int64_t id, int64_t when);
int sq_outbox_failed(struct store *st, int64_t id, int64_t next_attempt, const char *error);
int sq_outbox_depth(struct store *st, int64_t *n);
int sq_sessions_live(struct store *st, int64_t now, int64_t *n);
/* sqlite_admin.c */
int sq_session_list(struct store *st, int64_t user_id,
    void (*each)(void *, const struct store_session_info *), void *ctx);
int sq_session_delete_id(struct store *st, int64_t id, int64_t user_id);
int sq_token_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_token *),
    void *ctx);
int sq_token_delete_id(struct store *st, int64_t id, int64_t user_id);
int sq_user_list(struct store *st, const char *search, int64_t offset, int limit,
    void (*each)(void *, const struct store_user *), void *ctx, int64_t *total);
int sq_user_set_flags(struct store *st, int64_t id, bool is_active, bool is_staff, bool is_superuser,
    bool email_verified);
int sq_audit_add(struct store *st, struct store_audit *a);
int sq_audit_list(struct store *st, const struct store_audit_filter *f, int64_t offset, int limit,
    void (*each)(void *, const struct store_audit *), void *ctx, int64_t *total);
/* sqlite_social.c */
int sq_social_state_create(struct store *st, const struct store_social_state *ss, int per_browser,
    int per_ip);
int sq_social_state_purge(struct store *st, int64_t now, int limit, int *deleted);
int sq_social_state_take(struct store *st, const char *state_hash, struct store_social_state *ss);
int sq_identity_get(struct store *st, const char *provider, const char *uid, struct store_identity *i);
int sq_identity_create(struct store *st, struct store_identity *i);
int sq_identity_update_extra(struct store *st, int64_t id, const char *extra);
int sq_identity_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_identity *),
    void *ctx);
int sq_identity_delete(struct store *st, int64_t id, int64_t user_id);
/* sqlite_throttle.c */
int sq_throttle_reserve(struct store *st, const char *key_hash, long limit, long window, int64_t now,
    long *retry_after);
int sq_throttle_release(struct store *st, const char *key_hash);
int sq_throttle_reset(struct store *st, const char *key_hash);
int sq_throttle_purge(struct store *st, int64_t now, int max, int *n);
/* sqlite_mfa.c */
int sq_user_set_mfa(struct store *st, int64_t id, bool enabled);
int sq_totp_get(struct store *st, int64_t user_id, struct store_totp *t);
int sq_totp_put_pending(struct store *st, int64_t user_id, const char *sealed, int64_t now);
int sq_totp_confirm(struct store *st, int64_t user_id, int64_t step, int64_t not_before, int64_t now);
int sq_totp_use_step(struct store *st, int64_t user_id, int64_t step);
int sq_totp_delete(struct store *st, int64_t user_id);
int sq_recovery_replace(struct store *st, int64_t user_id, const char (*hashes)[STORE_KEYHASH_LEN + 1], int n,
    int64_t now);
int sq_recovery_use(struct store *st, int64_t user_id, const char *code_hash, int64_t now);
int sq_recovery_count(struct store *st, int64_t user_id, int *total, int *unused);
int sq_recovery_delete_user(struct store *st, int64_t user_id);
int sq_webauthn_add(struct store *st, struct store_webauthn *w);
int sq_webauthn_get(struct store *st, const char *cred_id, struct store_webauthn *w);
int sq_webauthn_get_id(struct store *st, int64_t id, int64_t user_id, struct store_webauthn *w);
int sq_webauthn_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_webauthn *),
    void *ctx);
int sq_webauthn_count(struct store *st, int64_t user_id, int *n);
int sq_webauthn_rename(struct store *st, int64_t id, int64_t user_id, const char *name);
int sq_webauthn_delete(struct store *st, int64_t id, int64_t user_id);
int sq_webauthn_used(struct store *st, int64_t id, int64_t old_count, int64_t new_count, int64_t now);
int sq_mfa_delete_user(struct store *st, int64_t user_id);
int sq_challenge_create(struct store *st, const struct store_challenge *c, int per_bind);
int sq_challenge_take(struct store *st, const char *challenge_hash, struct store_challenge *c);
int sq_challenge_purge(struct store *st, int64_t now, int limit, int *deleted);
int sq_mfa_pending_create(struct store *st, const struct store_mfa_pending *p);
int sq_mfa_pending_get(struct store *st, const char *key_hash, struct store_mfa_pending *p);
int sq_mfa_pending_take(struct store *st, const char *key_hash, struct store_mfa_pending *p);
int sq_mfa_pending_delete(struct store *st, const char *key_hash);
int sq_mfa_pending_purge(struct store *st, int64_t now, int limit, int *deleted);

/* sqlite_webhooks.c */
int sq_webhook_add(struct store *st, struct store_webhook *w);
int sq_webhook_claim(struct store *st, int64_t now_ms, int64_t lease_until_ms, struct store_webhook *out,
    int max, int *n);
int sq_webhook_delivered(struct store *st, int64_t id, int status, int64_t when);
int sq_webhook_failed(struct store *st, int64_t id, int status, const char *error, int64_t next_attempt_ms,
    bool give_up, int64_t when);
int sq_webhook_get(struct store *st, int64_t id, struct store_webhook *w);
int sq_webhook_purge(struct store *st, int64_t before, int limit, int *deleted);
/* sqlite_import.c: the statements' SQL (used by the statement table) and the ops */
int sq_django_user_get(struct store *st, const char *django_model, const char *django_pk, int64_t user_id,
    struct store_django_user *d);
int sq_django_user_put(struct store *st, const struct store_django_user *d);
int sq_token_each(struct store *st, void (*each)(void *, const struct store_token *), void *ctx);
int sq_import_lock(struct store *st);

#endif
