/*
 * store/pgsql_int — what the PostgreSQL backend's files share: the statement
 * table, the connection slots, parameters as text, the helpers that run a
 * prepared statement on this thread's connection and read its rows
 * (pgsql_conn.c), and the session and token cache (pgsql_cache.c).  Private
 * to src/store/pgsql/; the only header above libpq-fe.h.
 */
#ifndef GATEHOUSE_PGSQL_INT_H
#define GATEHOUSE_PGSQL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

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
	ST_USER_SET_VERIFIED,
	ST_CONFIRM_CREATE,
	ST_CONFIRM_TAKE,
	ST_CONFIRM_DELETE_USER,
	ST_OUTBOX_ADD,
	ST_OUTBOX_CLAIM,
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
	ST_STATE_TAKE,
	ST_STATE_PURGE,
	ST_IDENTITY_GET,
	ST_IDENTITY_CREATE,
	ST_IDENTITY_EXTRA,
	ST_IDENTITY_LIST,
	ST_IDENTITY_DELETE,
	ST_USER_SET_NAMES,
	ST_STATE_TRIM_BROWSER,
	ST_STATE_COUNT_IP,
	ST_THROTTLE_LOCK,
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
	ST_CHALLENGE_CREATE,
	ST_CHALLENGE_TRIM,
	ST_CHALLENGE_TAKE,
	ST_CHALLENGE_PURGE,
	ST_PENDING_CREATE,
	ST_PENDING_GET,
	ST_PENDING_TAKE,
	ST_PENDING_DELETE,
	ST_PENDING_PURGE,
	ST_WEBHOOK_ADD,
	ST_WEBHOOK_CLAIM,
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
	ST_IMPORT_LOCK,
	ST_COUNT
};

/* the SQL of each statement (pgsql.c), prepared on each connection as "gh<number>" */
extern const char *const pg_stmt_sql[ST_COUNT];

/* an invalidation made inside a transaction, made again once it commits */
struct pending {
	char kind;
	int64_t id;
	char key_hash[STORE_KEYHASH_LEN + 1];
};
#define NPENDING 8

struct pg_conn {
	PGconn *pg; /* NULL: not connected (never opened, lost, or backing off) */
	bool prepared[ST_COUNT];
	bool in_tx;      /* between begin and commit/rollback, even when the connection was lost */
	double next_try; /* now_mono() before which no new connection is tried */
	int backoff_ms;  /* 0 after a success */
	struct pending pend[NPENDING];
	int npend;
	bool pend_overflow; /* more than NPENDING: flush the whole cache at commit */
	struct pgsql_impl *im;
	struct pg_conn *next;
};

struct pgsql_impl {
	char *dsn;
	/* the DSN's own options plus our statement_timeout, set after it; NULL when the DSN has no
	 * options (ours go before it) or sets statement_timeout itself */
	char *options;
	bool dsn_has_options;
	pthread_mutex_t lock;  /* guards conns */
	struct pg_conn *conns; /* every connection, to close them all */
	pthread_key_t tls;     /* this thread's connection */
	struct pg_cache *cache;
	/* serve sets it (set_deadline): the longest wait for one answer before the connection is given
	 * up as hung, in ms (0: wait as long as statement_timeout and TCP allow, as the CLI does) */
	_Atomic int deadline_ms;
	char connect_timeout[16]; /* libpq's connect_timeout, seconds (its minimum is 2) */
};

/* the default statement_timeout: a query stuck on a lock fails rather than holding a request */
#define STATEMENT_TIMEOUT "-c statement_timeout=10000"

/* pgsql_conn.c: connections (see there).  pg_connect: a new connection with our defaults, or NULL
 * with err (libpq's first line); pg_conn_mine: this thread's slot, made on first use; pg_conn_get:
 * the slot connected, or NULL with err (down, backing off, or lost inside a transaction);
 * pg_conn_drop: close it, the next use reconnects at once. */
PGconn *pg_connect(struct pgsql_impl *im, bool listener, char *err, size_t errsz);
struct pg_conn *pg_conn_mine(struct pgsql_impl *im);
struct pg_conn *pg_conn_get(struct store *st, char *err, size_t errsz);
void pg_conn_drop(struct pg_conn *c);
void pg_set_deadline(struct pgsql_impl *im, int ms);
/* the first line of a libpq message (they end with a newline) */
void pg_first_line(const char *msg, char *out, size_t outsz);

/* A statement's parameters, all sent as text (numbers written out here). */
#define PG_MAXPARAMS 12
struct pg_params {
	int n;
	const char *v[PG_MAXPARAMS];
	char num[PG_MAXPARAMS][24];
};

void pg_int(struct pg_params *p, int64_t v);
/* s NULL: SQL NULL; s is borrowed until the statement has run */
void pg_text(struct pg_params *p, const char *s);

/* Run a prepared statement on this thread's connection (connecting or
 * reconnecting first, with backoff).  The result on success (PQclear it), or
 * NULL with *rc = STORE_CONFLICT (an integrity violation, e.g. a unique key)
 * or -1 (logged). */
PGresult *pg_run(struct store *st, enum stmt which, const struct pg_params *p, int *rc);
/* A write: 0, STORE_CONFLICT or -1; *changed (may be NULL) gets the rows it touched. */
int pg_write(struct store *st, enum stmt which, const struct pg_params *p, int64_t *changed);
/* INSERT ... ON CONFLICT DO NOTHING RETURNING id: 0 with *id, STORE_CONFLICT (no row) or -1. */
int pg_insert(struct store *st, enum stmt which, const struct pg_params *p, int64_t *id);
/* A single-row read: the result on its one row, or NULL with *rc = STORE_NOTFOUND or -1. */
PGresult *pg_one(struct store *st, enum stmt which, const struct pg_params *p, int *rc);
/* A read to the end, row(r, i, ctx) per row: 0 or -1. */
int pg_each_row(struct store *st, enum stmt which, const struct pg_params *p,
    void (*row)(const PGresult *, int, void *), void *ctx);
/* SELECT count(*) ...: 0 with *total, or -1. */
int pg_count(struct store *st, enum stmt which, const struct pg_params *p, int64_t *total);
/* DELETE ... WHERE id = $1 AND ($2 = 0 OR user_id = $2): 0, STORE_NOTFOUND or -1. */
int pg_delete_owned(struct store *st, enum stmt which, int64_t id, int64_t user_id);

void pg_col_text(const PGresult *r, int row, int col, char *out, size_t outsz);
/* NULL and anything unparsable read as 0 */
int64_t pg_col_int(const PGresult *r, int row, int col);
/* USER_COLS from col on; the password is not loaded ("") */
void pg_read_user(const PGresult *r, int row, int col, struct store_user *u);

int pg_begin(struct store *st);
int pg_commit(struct store *st);
void pg_rollback(struct store *st);
/* true when this thread's connection is inside store_begin()..commit */
bool pg_in_transaction(struct store *st);

/* The cache (pgsql_cache.c) or NULL when off; local invalidations (queued
 * while a transaction is open, applied again at its commit). */
struct pg_cache *pg_cache_of(struct store *st);
void pg_invalidate(struct store *st, char kind, int64_t id, const char *key_hash);

/* pgsql_conn.c: the cache listener's own connection (application_name gatehouse-listen) */
/* NULL with err, or with *stopped when a byte arrived on stop_fd first (close() is waiting) */
PGconn *pg_connect_listener(struct store *st, int stop_fd, bool *stopped, char *err, size_t errsz);
/* log a lost or refused connection, at most once every few seconds */
void pg_log_down(const char *what, const char *detail);

/* pgsql_cache.c.  Kinds: 's' session by key hash, 't' token by key hash,
 * 'u' every entry of a user, 'S' a session by id, 'T' a token by id. */
struct pg_cache;
/* the cache and its listener thread for st (ttl > 0), or NULL with err */
struct pg_cache *pg_cache_new(struct store *st, int ttl, char *err, size_t errsz);
/* stops the listener and frees everything */
void pg_cache_free(struct pg_cache *c);
/* the epoch to pass to a fill made from a read that starts now */
uint64_t pg_cache_epoch(struct pg_cache *c);
/* 0 and the copy on a hit, STORE_NOTFOUND on a miss */
int pg_cache_get_session(struct pg_cache *c, const char *key_hash, struct store_session *s,
    struct store_user *u);
int pg_cache_get_token(struct pg_cache *c, const char *key_hash, struct store_token *t, struct store_user *u);
/* kept only if nothing was invalidated since epoch and the listener is up */
void pg_cache_put_session(struct pg_cache *c, uint64_t epoch, const struct store_session *s,
    const struct store_user *u);
void pg_cache_put_token(struct pg_cache *c, uint64_t epoch, const struct store_token *t,
    const struct store_user *u);
void pg_cache_drop(struct pg_cache *c, char kind, int64_t id, const char *key_hash);
void pg_cache_flush(struct pg_cache *c);
/* kind 's' or 't' by id: the new last_seen / last_used */
void pg_cache_touch(struct pg_cache *c, char kind, int64_t id, int64_t when);

/* pgsql_mail.c */
int pg_confirmation_create(struct store *st, struct store_confirmation *c);
int pg_confirmation_take(struct store *st, const char *key_hash, struct store_confirmation *c);
int pg_confirmation_delete_user(struct store *st, int64_t user_id);
int pg_outbox_add(struct store *st, const char *recipient, const char *message, int64_t now);
int pg_outbox_claim(struct store *st, int64_t now, int64_t lease_until, struct store_mail *out, int max,
    int *n);
int pg_outbox_sent(struct store *st, int64_t id, int64_t when);
int pg_outbox_failed(struct store *st, int64_t id, int64_t next_attempt, const char *error);
int pg_outbox_depth(struct store *st, int64_t *n);
int pg_sessions_live(struct store *st, int64_t now, int64_t *n);
/* pgsql_admin.c */
int pg_session_list(struct store *st, int64_t user_id,
    void (*each)(void *, const struct store_session_info *), void *ctx);
int pg_session_delete_id(struct store *st, int64_t id, int64_t user_id);
int pg_token_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_token *),
    void *ctx);
int pg_token_delete_id(struct store *st, int64_t id, int64_t user_id);
int pg_user_list(struct store *st, const char *search, int64_t offset, int limit,
    void (*each)(void *, const struct store_user *), void *ctx, int64_t *total);
int pg_user_set_flags(struct store *st, int64_t id, bool is_active, bool is_staff, bool is_superuser,
    bool email_verified);
int pg_audit_add(struct store *st, struct store_audit *a);
int pg_audit_list(struct store *st, const struct store_audit_filter *f, int64_t offset, int limit,
    void (*each)(void *, const struct store_audit *), void *ctx, int64_t *total);
/* pgsql_social.c */
int pg_social_state_create(struct store *st, const struct store_social_state *ss, int per_browser,
    int per_ip);
int pg_social_state_purge(struct store *st, int64_t now, int limit, int *deleted);
int pg_social_state_take(struct store *st, const char *state_hash, struct store_social_state *ss);
int pg_identity_get(struct store *st, const char *provider, const char *uid, struct store_identity *i);
int pg_identity_create(struct store *st, struct store_identity *i);
int pg_identity_update_extra(struct store *st, int64_t id, const char *extra);
int pg_identity_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_identity *),
    void *ctx);
int pg_identity_delete(struct store *st, int64_t id, int64_t user_id);
/* pgsql_throttle.c */
int pg_throttle_reserve(struct store *st, const char *key_hash, long limit, long window, int64_t now,
    long *retry_after);
int pg_throttle_release(struct store *st, const char *key_hash);
int pg_throttle_reset(struct store *st, const char *key_hash);
int pg_throttle_purge(struct store *st, int64_t now, int max, int *n);
/* pgsql_mfa.c */
int pg_user_set_mfa(struct store *st, int64_t id, bool enabled);
int pg_totp_get(struct store *st, int64_t user_id, struct store_totp *t);
int pg_totp_put_pending(struct store *st, int64_t user_id, const char *sealed, int64_t now);
int pg_totp_confirm(struct store *st, int64_t user_id, int64_t step, int64_t not_before, int64_t now);
int pg_totp_use_step(struct store *st, int64_t user_id, int64_t step);
int pg_totp_delete(struct store *st, int64_t user_id);
int pg_recovery_replace(struct store *st, int64_t user_id, const char (*hashes)[STORE_KEYHASH_LEN + 1], int n,
    int64_t now);
int pg_recovery_use(struct store *st, int64_t user_id, const char *code_hash, int64_t now);
int pg_recovery_count(struct store *st, int64_t user_id, int *total, int *unused);
int pg_recovery_delete_user(struct store *st, int64_t user_id);
int pg_webauthn_add(struct store *st, struct store_webauthn *w);
int pg_webauthn_get(struct store *st, const char *cred_id, struct store_webauthn *w);
int pg_webauthn_get_id(struct store *st, int64_t id, int64_t user_id, struct store_webauthn *w);
int pg_webauthn_list(struct store *st, int64_t user_id, void (*each)(void *, const struct store_webauthn *),
    void *ctx);
int pg_webauthn_count(struct store *st, int64_t user_id, int *n);
int pg_webauthn_rename(struct store *st, int64_t id, int64_t user_id, const char *name);
int pg_webauthn_delete(struct store *st, int64_t id, int64_t user_id);
int pg_webauthn_used(struct store *st, int64_t id, int64_t old_count, int64_t new_count, int64_t now);
int pg_mfa_delete_user(struct store *st, int64_t user_id);
int pg_challenge_create(struct store *st, const struct store_challenge *c, int per_bind);
int pg_challenge_take(struct store *st, const char *challenge_hash, struct store_challenge *c);
int pg_challenge_purge(struct store *st, int64_t now, int limit, int *deleted);
int pg_mfa_pending_create(struct store *st, const struct store_mfa_pending *p);
int pg_mfa_pending_get(struct store *st, const char *key_hash, struct store_mfa_pending *p);
int pg_mfa_pending_take(struct store *st, const char *key_hash, struct store_mfa_pending *p);
int pg_mfa_pending_delete(struct store *st, const char *key_hash);
int pg_mfa_pending_purge(struct store *st, int64_t now, int limit, int *deleted);

/* pgsql_webhooks.c */
int pg_webhook_add(struct store *st, struct store_webhook *w);
int pg_webhook_claim(struct store *st, int64_t now_ms, int64_t lease_until_ms, struct store_webhook *out,
    int max, int *n);
int pg_webhook_delivered(struct store *st, int64_t id, int status, int64_t when);
int pg_webhook_failed(struct store *st, int64_t id, int status, const char *error, int64_t next_attempt_ms,
    bool give_up, int64_t when);
int pg_webhook_get(struct store *st, int64_t id, struct store_webhook *w);
int pg_webhook_purge(struct store *st, int64_t before, int limit, int *deleted);
/* pgsql_import.c: the statements' SQL (used by the statement table) and the ops */
int pg_django_user_get(struct store *st, const char *django_model, const char *django_pk, int64_t user_id,
    struct store_django_user *d);
int pg_django_user_put(struct store *st, const struct store_django_user *d);
int pg_token_each(struct store *st, void (*each)(void *, const struct store_token *), void *ctx);
int pg_import_lock(struct store *st);

#endif
