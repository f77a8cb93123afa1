/*
 * The src/store/ layer (docs/architecture.md): persistence.  store.h is the
 * only door; backends live in sqlite/ (and later siblings), the schema in
 * migrations/<dialect>/NNNN_name.sql.  It may use the top only; it must never
 * know a rule, a request or a mail, nor receive a raw key or token.
 */
/*
 * store — the persistence interface: users, sessions and API tokens behind
 * one ops table per backend (sqlite/, pgsql/).  Everything above
 * src/store/ calls the store_* wrappers and never sees SQL or a backend
 * type.  A store must only ever receive hashes of session keys and tokens,
 * never the keys themselves.
 *
 * Return convention for every call: 0 done, STORE_NOTFOUND / STORE_CONFLICT,
 * or -1 on a database error (logged by the backend).
 */
#ifndef GATEHOUSE_STORE_H
#define GATEHOUSE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_NOTFOUND 1
#define STORE_CONFLICT 2
#define STORE_TOO_MANY 3 /* a bound was reached (social_state_create) */

#define STORE_EMAIL_MAX    254
#define STORE_NAME_MAX     150
#define STORE_HASH_MAX     512 /* encoded password hash */
#define STORE_KEYHASH_LEN  64  /* hex SHA-256 */
#define STORE_AUTHHASH_LEN 32
#define STORE_SEALED_MAX   128  /* a sealed (encrypted) secret, as text, with its NUL */
#define STORE_B64_MAX      1400 /* a base64url WebAuthn credential id or public key, with its NUL */

struct store_user {
	int64_t id;
	char email[STORE_EMAIL_MAX + 1];         /* normalised: trimmed, lower case */
	char password[STORE_HASH_MAX];           /* encoded hash; "" when not loaded */
	char first_name[STORE_NAME_MAX * 4 + 1]; /* UTF-8, up to 150 characters */
	char last_name[STORE_NAME_MAX * 4 + 1];
	bool is_active, is_staff, is_superuser, email_verified;
	int64_t date_joined, last_login;        /* unix seconds; last_login 0 = never */
	char auth_hash[STORE_AUTHHASH_LEN + 1]; /* changes when the password does */
	bool mfa_enabled;                       /* at least one second factor is on */
};

struct store_session {
	int64_t id, user_id;
	char key_hash[STORE_KEYHASH_LEN + 1];
	char auth_hash[STORE_AUTHHASH_LEN + 1]; /* the user's auth_hash at login */
	int64_t created_at, expires_at, last_seen;
	int64_t reauth_at; /* last password check on it (login counts) */
};

struct store_token {
	int64_t id, user_id;
	char key_hash[STORE_KEYHASH_LEN + 1];
	char name[STORE_NAME_MAX * 4 + 1];
	int64_t created_at, expires_at, last_used; /* expires_at/last_used 0 = none */
};

/* A one-time email confirmation key, stored by hash, bound to the address. */
struct store_confirmation {
	int64_t id, user_id;
	char key_hash[STORE_KEYHASH_LEN + 1];
	char email[STORE_EMAIL_MAX + 1];
	int64_t created_at, expires_at;
};

/* A message in the outbox: the whole RFC 5322 text, made when it was queued. */
struct store_mail {
	int64_t id;
	char recipient[STORE_EMAIL_MAX + 1];
	char *message; /* owned; free with store_mail_free */
	int attempts;
};

/* A session as its owner or an admin sees it (never its key or hash). */
struct store_session_info {
	int64_t id, user_id, created_at, last_seen, expires_at;
	char ip[64];
	char user_agent[256];
};

/* One audit row.  detail is a JSON object text; never a secret. */
struct store_audit {
	int64_t id, at;
	int64_t actor_id, user_id; /* 0: none (anonymous actor, no subject) */
	char event[48];
	char detail[512];
	char ip[64];
	char user_agent[256];
};

struct store_audit_filter {
	int64_t user_id, actor_id; /* 0: any */
	const char *event;         /* NULL: any; a trailing '*' matches a prefix */
};

/* A pending social login: state, PKCE verifier and nonce, bound to a browser. */
struct store_social_state {
	char state_hash[STORE_KEYHASH_LEN + 1];
	char provider[64];
	char browser_hash[STORE_KEYHASH_LEN + 1]; /* SHA-256 of the browser-binding cookie */
	char verifier[96];
	char nonce[64];
	char next[512];
	char ip[64];          /* who asked (an IPv6 client by its /64): bounds the pending states */
	int64_t link_user_id; /* signed in at the start: link to this user */
	int64_t expires_at;
};

/* A social identity: (provider, uid) → user; never keyed on email. */
struct store_identity {
	int64_t id, user_id, created_at;
	char provider[64];
	char uid[256];
	char extra[1024]; /* JSON */
};

/* A user's authenticator app (TOTP): the secret sealed by the caller (never the raw secret).
 * Unconfirmed while being set up; last_step is the newest time step accepted (the replay guard). */
struct store_totp {
	int64_t user_id;
	char secret[STORE_SEALED_MAX];
	bool confirmed;
	int64_t last_step, created_at;
};

/* A registered passkey or security key (WebAuthn).  cred_id and public_key are base64url. */
struct store_webauthn {
	int64_t id, user_id;
	char cred_id[STORE_B64_MAX];
	char public_key[STORE_B64_MAX]; /* COSE key */
	int alg;                        /* COSE algorithm: -7, -8, -257 */
	int64_t sign_count;
	char name[257];                /* UTF-8, up to 64 characters */
	char transports[128];          /* comma-separated, "" when unknown */
	int64_t created_at, last_used; /* last_used 0 = never */
};

/* A single-use WebAuthn challenge, stored by hash, bound to what asked for it (a pending login, a
 * browser, a session: bind_hash) and maybe a user (0: none). */
struct store_challenge {
	char challenge_hash[STORE_KEYHASH_LEN + 1];
	char purpose[16];
	int64_t user_id;
	char bind_hash[STORE_KEYHASH_LEN + 1];
	int64_t expires_at;
};

/* A login waiting for its second factor, by the hash of its cookie's key.  auth_hash is the user's at
 * the first step (a password change since voids it); method how the first step was made; next where
 * to go after (social logins). */
struct store_mfa_pending {
	char key_hash[STORE_KEYHASH_LEN + 1];
	int64_t user_id;
	char auth_hash[STORE_AUTHHASH_LEN + 1];
	char method[72];
	char next[512];
	int64_t created_at, expires_at;
};

/* A user imported from Django (gatehouse import-django): the Django user model and primary key (as text) and
 * hashes of what the last import wrote: the row (row_hash) and its password hash alone (password_hash); hex
 * SHA-256 each, never a password hash itself. */
#define STORE_DJANGO_PK_MAX    64
#define STORE_DJANGO_MODEL_MAX 100
struct store_django_user {
	char django_model[STORE_DJANGO_MODEL_MAX + 1];
	char django_pk[STORE_DJANGO_PK_MAX + 1];
	int64_t user_id;
	char row_hash[STORE_KEYHASH_LEN + 1];
	char password_hash[STORE_KEYHASH_LEN + 1];
	int64_t imported_at;
};

struct store;

/* A webhook message in the webhook outbox (one event for one endpoint). */
#define STORE_WEBHOOK_URL_MAX 512
#define STORE_WEBHOOK_ID_MAX  40
struct store_webhook {
	int64_t id;
	char msg_id[STORE_WEBHOOK_ID_MAX + 1];    /* the webhook-id header, the same on every attempt */
	char endpoint[STORE_WEBHOOK_URL_MAX + 1]; /* the URL it goes to */
	char event[48];
	char *payload; /* owned; free with store_webhook_free */
	int64_t created_at, next_attempt_ms, done_at;
	int attempts, last_status;
	bool delivered;
	char last_error[256];
};

struct store_ops {
	const char *name;
	int (*open)(struct store *st, const char *dsn, char *err, size_t errsz);
	void (*close)(struct store *st);
	/* apply pending migrations; *applied gets how many.  Safe to run from several
	 * processes at once: one applies, the others wait and find nothing to do. */
	int (*migrate)(struct store *st, int *applied, char *err, size_t errsz);
	/* 0 when the schema is exactly this binary's; -1 with err when it is older
	 * (run `gatehouse migrate`), newer, or cannot be read */
	int (*schema_check)(struct store *st, char *err, size_t errsz);
	/* serve only: keep resolved sessions and tokens up to ttl seconds (0: no
	 * cache), dropped at once when any instance revokes them.  NULL: the backend
	 * has no cache (one process owns the data) */
	int (*cache_start)(struct store *st, int ttl, char *err, size_t errsz);
	/* serve only: give up on one answer from the database after ms (0: no bound of our own), so a
	 * server that stops answering costs a request a 503, never a hang.  NULL: not needed */
	void (*set_deadline)(struct store *st, int ms);
	/* 0 when the database answers (a lost connection is tried again, with backoff) */
	int (*ping)(struct store *st);

	int (*user_create)(struct store *st, struct store_user *u);
	int (*user_by_email)(struct store *st, const char *email, struct store_user *u);
	int (*user_by_id)(struct store *st, int64_t id, struct store_user *u);
	/* new_auth_hash NULL keeps the current one (a rehash, not a password change) */
	int (*user_set_password)(struct store *st, int64_t id, const char *hash, const char *new_auth_hash);
	int (*user_set_last_login)(struct store *st, int64_t id, int64_t when);

	int (*session_create)(struct store *st, struct store_session *s, const char *ip,
	    const char *user_agent);
	/* the session by key hash, joined with its user (password not loaded) */
	int (*session_get)(struct store *st, const char *key_hash, struct store_session *s,
	    struct store_user *u);
	int (*session_delete)(struct store *st, const char *key_hash);
	int (*session_touch)(struct store *st, int64_t id, int64_t when);
	/* delete every session of the user except except_id (0: all) */
	int (*session_delete_user)(struct store *st, int64_t user_id, int64_t except_id);
	int (*session_delete_expired)(struct store *st, int64_t now);

	int (*token_create)(struct store *st, struct store_token *t);
	int (*token_get)(struct store *st, const char *key_hash, struct store_token *t, struct store_user *u);
	int (*token_touch)(struct store *st, int64_t id, int64_t when);
	int (*token_delete_user)(struct store *st, int64_t user_id);

	/* a transaction on this thread's connection: what runs between begin and
	 * commit lands together or not at all (e.g. an account and its mail) */
	int (*begin)(struct store *st);
	int (*commit)(struct store *st);
	void (*rollback)(struct store *st);

	int (*user_set_verified)(struct store *st, int64_t id);

	int (*confirmation_create)(struct store *st, struct store_confirmation *c);
	/* find by key hash and delete it (single use); expired ones are found too */
	int (*confirmation_take)(struct store *st, const char *key_hash, struct store_confirmation *c);
	int (*confirmation_delete_user)(struct store *st, int64_t user_id);

	int (*outbox_add)(struct store *st, const char *recipient, const char *message, int64_t now);
	/* reserve up to max messages due at now until lease_until; *n gets how many */
	int (*outbox_claim)(struct store *st, int64_t now, int64_t lease_until, struct store_mail *out,
	    int max, int *n);
	int (*outbox_sent)(struct store *st, int64_t id, int64_t when);
	int (*outbox_failed)(struct store *st, int64_t id, int64_t next_attempt, const char *error);
	/* messages not yet sent and not given up (for /metrics) */
	int (*outbox_depth)(struct store *st, int64_t *n);
	/* sessions whose expires_at is after now (for /metrics) */
	int (*sessions_live)(struct store *st, int64_t now, int64_t *n);

	/* lists call each() per row, newest first; they return 0 or -1 */
	int (*session_list)(struct store *st, int64_t user_id,
	    void (*each)(void *ctx, const struct store_session_info *s), void *ctx);
	/* delete session id (of user_id, or of anyone when user_id is 0); STORE_NOTFOUND if none */
	int (*session_delete_id)(struct store *st, int64_t id, int64_t user_id);
	int (*token_list)(struct store *st, int64_t user_id,
	    void (*each)(void *ctx, const struct store_token *t), void *ctx);
	int (*token_delete_id)(struct store *st, int64_t id, int64_t user_id);
	/* users whose email contains search (NULL: all), by id; *total gets the count of all matches */
	int (*user_list)(struct store *st, const char *search, int64_t offset, int limit,
	    void (*each)(void *ctx, const struct store_user *u), void *ctx, int64_t *total);
	int (*user_set_flags)(struct store *st, int64_t id, bool is_active, bool is_staff, bool is_superuser,
	    bool email_verified);
	int (*audit_add)(struct store *st, struct store_audit *a);
	int (*audit_list)(struct store *st, const struct store_audit_filter *f, int64_t offset, int limit,
	    void (*each)(void *ctx, const struct store_audit *a), void *ctx, int64_t *total);

	/* keep at most per_browser - 1 older states of s->browser_hash (the oldest
	 * go), then add s unless s->ip already has per_ip live ones: 0,
	 * STORE_TOO_MANY or -1 */
	int (*social_state_create)(struct store *st, const struct store_social_state *s, int per_browser,
	    int per_ip);
	/* delete up to limit states expired at now; *deleted gets how many */
	int (*social_state_purge)(struct store *st, int64_t now, int limit, int *deleted);
	/* find by state hash and delete it (single use) */
	int (*social_state_take)(struct store *st, const char *state_hash, struct store_social_state *s);
	int (
	    *identity_get)(struct store *st, const char *provider, const char *uid, struct store_identity *i);
	int (*identity_create)(struct store *st, struct store_identity *i);
	int (*identity_update_extra)(struct store *st, int64_t id, const char *extra);
	int (*identity_list)(struct store *st, int64_t user_id,
	    void (*each)(void *ctx, const struct store_identity *i), void *ctx);
	int (*identity_delete)(struct store *st, int64_t id, int64_t user_id);
	int (*user_set_names)(struct store *st, int64_t id, const char *first_name, const char *last_name);

	/* throttle counters (sqlite_throttle.c, pgsql_throttle.c): one row per admitted attempt,
	 * keyed by a hash of the limiter's key.  reserve is atomic: 0 and the
	 * attempt recorded, or STORE_CONFLICT with *retry_after when key already has
	 * limit attempts in (now - window, now].  A backend must make the count and
	 * the insert one step per key (SQLite: one statement under its single
	 * writer; PostgreSQL: e.g. pg_advisory_xact_lock on the key's hash first). */
	int (*throttle_reserve)(struct store *st, const char *key_hash, long limit, long window, int64_t now,
	    long *retry_after);
	/* delete key's newest attempt (0, also when there is none) */
	int (*throttle_release)(struct store *st, const char *key_hash);
	int (*throttle_reset)(struct store *st, const char *key_hash);
	/* delete at most max attempts out of their window; *n gets how many */
	int (*throttle_purge)(struct store *st, int64_t now, int max, int *n);
	/* the session's password was just checked again */
	int (*session_set_reauth)(struct store *st, int64_t id, int64_t when);

	/* second factors (sqlite_mfa.c, pgsql_mfa.c); the contracts are at the wrappers below */
	int (*user_set_mfa)(struct store *st, int64_t id, bool enabled);
	int (*totp_get)(struct store *st, int64_t user_id, struct store_totp *t);
	int (*totp_put_pending)(struct store *st, int64_t user_id, const char *sealed, int64_t now);
	int (*totp_confirm)(struct store *st, int64_t user_id, int64_t step, int64_t not_before, int64_t now);
	int (*totp_use_step)(struct store *st, int64_t user_id, int64_t step);
	int (*totp_delete)(struct store *st, int64_t user_id);
	int (*recovery_replace)(struct store *st, int64_t user_id,
	    const char (*hashes)[STORE_KEYHASH_LEN + 1], int n, int64_t now);
	int (*recovery_use)(struct store *st, int64_t user_id, const char *code_hash, int64_t now);
	int (*recovery_count)(struct store *st, int64_t user_id, int *total, int *unused);
	int (*recovery_delete_user)(struct store *st, int64_t user_id);
	int (*webauthn_add)(struct store *st, struct store_webauthn *w);
	int (*webauthn_get)(struct store *st, const char *cred_id, struct store_webauthn *w);
	int (*webauthn_get_id)(struct store *st, int64_t id, int64_t user_id, struct store_webauthn *w);
	int (*webauthn_list)(struct store *st, int64_t user_id,
	    void (*each)(void *ctx, const struct store_webauthn *w), void *ctx);
	int (*webauthn_count)(struct store *st, int64_t user_id, int *n);
	int (*webauthn_rename)(struct store *st, int64_t id, int64_t user_id, const char *name);
	int (*webauthn_delete)(struct store *st, int64_t id, int64_t user_id);
	int (*webauthn_used)(struct store *st, int64_t id, int64_t old_count, int64_t new_count, int64_t now);
	int (*mfa_delete_user)(struct store *st, int64_t user_id);
	int (*challenge_create)(struct store *st, const struct store_challenge *c, int per_bind);
	int (*challenge_take)(struct store *st, const char *challenge_hash, struct store_challenge *c);
	int (*challenge_purge)(struct store *st, int64_t now, int limit, int *deleted);
	int (*mfa_pending_create)(struct store *st, const struct store_mfa_pending *p);
	int (*mfa_pending_get)(struct store *st, const char *key_hash, struct store_mfa_pending *p);
	int (*mfa_pending_take)(struct store *st, const char *key_hash, struct store_mfa_pending *p);
	int (*mfa_pending_delete)(struct store *st, const char *key_hash);
	int (*mfa_pending_purge)(struct store *st, int64_t now, int limit, int *deleted);

	/* webhooks (the webhook outbox): add one message (w->payload borrowed; w->id set); claim up to max
	 * due at now_ms, leasing them until lease_until_ms (*n: how many; free each); delivered; failed
	 * (next_attempt_ms, or given up: done with give_up set); get one by id; purge rows done before
	 * `before` (up to limit, *deleted: how many) */
	int (*webhook_add)(struct store *st, struct store_webhook *w);
	int (*webhook_claim)(struct store *st, int64_t now_ms, int64_t lease_until_ms,
	    struct store_webhook *out, int max, int *n);
	int (*webhook_delivered)(struct store *st, int64_t id, int status, int64_t when);
	int (*webhook_failed)(struct store *st, int64_t id, int status, const char *error,
	    int64_t next_attempt_ms, bool give_up, int64_t when);
	int (*webhook_get)(struct store *st, int64_t id, struct store_webhook *w);
	int (*webhook_purge)(struct store *st, int64_t before, int limit, int *deleted);
	/* import from Django and export (sqlite_import.c, pgsql_import.c); contracts at the wrappers */
	int (*django_user_get)(struct store *st, const char *django_model, const char *django_pk,
	    int64_t user_id, struct store_django_user *d);
	int (*django_user_put)(struct store *st, const struct store_django_user *d);
	int (*token_each)(struct store *st, void (*each)(void *ctx, const struct store_token *t), void *ctx);
	int (*import_lock)(struct store *st);
};

struct store {
	const struct store_ops *ops;
	void *impl; /* the backend's own state */
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pgsql_ops;

/* Open the backend named by dsn: "sqlite:PATH"; "postgres://...", "postgresql://..."
 * or libpq's "key=value ..." form for PostgreSQL.  NULL with err on failure. */
struct store *store_open(const char *dsn, char *err, size_t errsz);
void store_close(struct store *st);
/* "sqlite" or "postgres" */
const char *store_backend(const struct store *st);

int store_migrate(struct store *st, int *applied, char *err, size_t errsz);
int store_schema_check(struct store *st, char *err, size_t errsz);
int store_cache_start(struct store *st, int ttl, char *err, size_t errsz);
void store_set_deadline(struct store *st, int ms);
int store_ping(struct store *st);
int store_user_create(struct store *st, struct store_user *u);
int store_user_by_email(struct store *st, const char *email, struct store_user *u);
int store_user_by_id(struct store *st, int64_t id, struct store_user *u);
int store_user_set_password(struct store *st, int64_t id, const char *hash, const char *new_auth_hash);
int store_user_set_last_login(struct store *st, int64_t id, int64_t when);
int store_session_create(struct store *st, struct store_session *s, const char *ip, const char *user_agent);
int store_session_get(struct store *st, const char *key_hash, struct store_session *s, struct store_user *u);
int store_session_delete(struct store *st, const char *key_hash);
int store_session_touch(struct store *st, int64_t id, int64_t when);
int store_session_delete_user(struct store *st, int64_t user_id, int64_t except_id);
int store_session_delete_expired(struct store *st, int64_t now);
int store_token_create(struct store *st, struct store_token *t);
int store_token_get(struct store *st, const char *key_hash, struct store_token *t, struct store_user *u);
int store_token_touch(struct store *st, int64_t id, int64_t when);
int store_token_delete_user(struct store *st, int64_t user_id);
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);
int store_user_set_verified(struct store *st, int64_t id);
int store_confirmation_create(struct store *st, struct store_confirmation *c);
int store_confirmation_take(struct store *st, const char *key_hash, struct store_confirmation *c);
int store_confirmation_delete_user(struct store *st, int64_t user_id);
int store_outbox_add(struct store *st, const char *recipient, const char *message, int64_t now);
int store_outbox_claim(struct store *st, int64_t now, int64_t lease_until, struct store_mail *out, int max,
    int *n);
int store_outbox_sent(struct store *st, int64_t id, int64_t when);
int store_outbox_failed(struct store *st, int64_t id, int64_t next_attempt, const char *error);
int store_outbox_depth(struct store *st, int64_t *n);
int store_sessions_live(struct store *st, int64_t now, int64_t *n);
void store_mail_free(struct store_mail *m);
int store_session_list(struct store *st, int64_t user_id,
    void (*each)(void *ctx, const struct store_session_info *s), void *ctx);
int store_session_delete_id(struct store *st, int64_t id, int64_t user_id);
int store_token_list(struct store *st, int64_t user_id, void (*each)(void *ctx, const struct store_token *t),
    void *ctx);
int store_token_delete_id(struct store *st, int64_t id, int64_t user_id);
int store_user_list(struct store *st, const char *search, int64_t offset, int limit,
    void (*each)(void *ctx, const struct store_user *u), void *ctx, int64_t *total);
int store_user_set_flags(struct store *st, int64_t id, bool is_active, bool is_staff, bool is_superuser,
    bool email_verified);
int store_audit_add(struct store *st, struct store_audit *a);
int store_audit_list(struct store *st, const struct store_audit_filter *f, int64_t offset, int limit,
    void (*each)(void *ctx, const struct store_audit *a), void *ctx, int64_t *total);
int store_social_state_create(struct store *st, const struct store_social_state *s, int per_browser,
    int per_ip);
int store_social_state_purge(struct store *st, int64_t now, int limit, int *deleted);
int store_social_state_take(struct store *st, const char *state_hash, struct store_social_state *s);
int store_identity_get(struct store *st, const char *provider, const char *uid, struct store_identity *i);
int store_identity_create(struct store *st, struct store_identity *i);
int store_identity_update_extra(struct store *st, int64_t id, const char *extra);
int store_identity_list(struct store *st, int64_t user_id,
    void (*each)(void *ctx, const struct store_identity *i), void *ctx);
int store_identity_delete(struct store *st, int64_t id, int64_t user_id);
int store_user_set_names(struct store *st, int64_t id, const char *first_name, const char *last_name);
int store_throttle_reserve(struct store *st, const char *key_hash, long limit, long window, int64_t now,
    long *retry_after);
int store_throttle_release(struct store *st, const char *key_hash);
int store_throttle_reset(struct store *st, const char *key_hash);
int store_throttle_purge(struct store *st, int64_t now, int max, int *n);
int store_session_set_reauth(struct store *st, int64_t id, int64_t when);

/*
 * Second factors.  Text values longer than their struct's field are refused (-1, logged) rather than
 * stored to be cut when read back; every hash is STORE_KEYHASH_LEN hex characters.  Every table of a
 * user's factors cascades with the user's row.
 */
/* mfa_enabled of the user (NOTFOUND when no such user); a signed-in caller's cached row goes too */
int store_user_set_mfa(struct store *st, int64_t id, bool enabled);
/* TOTP: get (NOTFOUND when none); put_pending inserts or replaces an UNconfirmed secret (STORE_CONFLICT,
 * nothing changed, when a confirmed one exists); confirm sets confirmed, last_step=step, created_at=now
 * on an unconfirmed row created at or after not_before (NOTFOUND otherwise); use_step is the replay
 * guard: sets last_step=step only where confirmed and last_step < step, in ONE statement (0;
 * STORE_CONFLICT when last_step >= step; NOTFOUND when no confirmed row); delete (NOTFOUND when none). */
int store_totp_get(struct store *st, int64_t user_id, struct store_totp *t);
int store_totp_put_pending(struct store *st, int64_t user_id, const char *sealed, int64_t now);
int store_totp_confirm(struct store *st, int64_t user_id, int64_t step, int64_t not_before, int64_t now);
int store_totp_use_step(struct store *st, int64_t user_id, int64_t step);
int store_totp_delete(struct store *st, int64_t user_id);
/* Recovery codes: replace deletes the user's codes and inserts n hashes (run inside the caller's
 * transaction; without one it makes its own, so it lands whole or not at all; STORE_CONFLICT when two
 * hashes are the same: roll back); use marks one unused code used in ONE statement (0, or NOTFOUND when
 * no unused code has that hash: two concurrent uses of one code → exactly one 0); count (*total,
 * *unused); delete_user (0, also when there were none). */
int store_recovery_replace(struct store *st, int64_t user_id, const char (*hashes)[STORE_KEYHASH_LEN + 1],
    int n, int64_t now);
int store_recovery_use(struct store *st, int64_t user_id, const char *code_hash, int64_t now);
int store_recovery_count(struct store *st, int64_t user_id, int *total, int *unused);
int store_recovery_delete_user(struct store *st, int64_t user_id);
/* WebAuthn: add (w->id set; STORE_CONFLICT when cred_id exists, nothing changed — on PG without
 * aborting the caller's transaction: ON CONFLICT DO NOTHING RETURNING id), get by cred_id, get by id of
 * user (NOTFOUND when not that user's), list (newest first), count, rename/delete (NOTFOUND when not
 * that user's), used (sign_count=new, last_used=now; only when the stored sign_count is still
 * old_count, else STORE_CONFLICT: two concurrent assertions with one counter value cannot both pass;
 * NOTFOUND when no such credential). */
int store_webauthn_add(struct store *st, struct store_webauthn *w);
int store_webauthn_get(struct store *st, const char *cred_id, struct store_webauthn *w);
int store_webauthn_get_id(struct store *st, int64_t id, int64_t user_id, struct store_webauthn *w);
int store_webauthn_list(struct store *st, int64_t user_id,
    void (*each)(void *ctx, const struct store_webauthn *w), void *ctx);
int store_webauthn_count(struct store *st, int64_t user_id, int *n);
int store_webauthn_rename(struct store *st, int64_t id, int64_t user_id, const char *name);
int store_webauthn_delete(struct store *st, int64_t id, int64_t user_id);
int store_webauthn_used(struct store *st, int64_t id, int64_t old_count, int64_t new_count, int64_t now);
/* every factor of a user (totp, recovery codes, webauthn) and mfa_enabled=false, for an admin removal;
 * all or nothing (its own transaction unless inside the caller's); NOTFOUND when no such user */
int store_mfa_delete_user(struct store *st, int64_t user_id);
/* Challenges: create inserts c (STORE_CONFLICT, nothing changed, when that hash exists) and keeps at most
 * per_bind - 1 other challenges of c->bind_hash (the oldest go); take finds by hash and deletes it (single
 * use; expired ones are found too: the caller checks expires_at); purge deletes up to limit expired at now,
 * *deleted gets how many. */
int store_challenge_create(struct store *st, const struct store_challenge *c, int per_bind);
int store_challenge_take(struct store *st, const char *challenge_hash, struct store_challenge *c);
int store_challenge_purge(struct store *st, int64_t now, int limit, int *deleted);
/* Pending logins: create (STORE_CONFLICT when that key exists); get (no delete); take (find and
 * delete: single use); delete by key (NOTFOUND when none); purge expired (up to limit).  get and take
 * find expired ones too: the caller checks expires_at. */
int store_mfa_pending_create(struct store *st, const struct store_mfa_pending *p);
int store_mfa_pending_get(struct store *st, const char *key_hash, struct store_mfa_pending *p);
int store_mfa_pending_take(struct store *st, const char *key_hash, struct store_mfa_pending *p);
int store_mfa_pending_delete(struct store *st, const char *key_hash);
int store_mfa_pending_purge(struct store *st, int64_t now, int limit, int *deleted);

/* The webhook outbox (see struct store_ops): 0 or -1 (get: STORE_NOTFOUND).  Claimed and fetched
 * rows own their payload: store_webhook_free. */
int store_webhook_add(struct store *st, struct store_webhook *w);
int store_webhook_claim(struct store *st, int64_t now_ms, int64_t lease_until_ms, struct store_webhook *out,
    int max, int *n);
int store_webhook_delivered(struct store *st, int64_t id, int status, int64_t when);
int store_webhook_failed(struct store *st, int64_t id, int status, const char *error, int64_t next_attempt_ms,
    bool give_up, int64_t when);
int store_webhook_get(struct store *st, int64_t id, struct store_webhook *w);
int store_webhook_purge(struct store *st, int64_t before, int limit, int *deleted);
void store_webhook_free(struct store_webhook *w);
/*
 * Import from Django and export.  django_user_get finds the link by (django_model, django_pk) when
 * django_pk is not NULL, else by user_id: 0, STORE_NOTFOUND or -1.  django_user_put inserts the link or
 * replaces the one of (d->django_model, d->django_pk) (0, STORE_CONFLICT when d->user_id is linked to another
 * pk — on PostgreSQL without aborting the caller's transaction — or -1).  token_each calls each() for every
 * token of every user, by id, WITH its key hash (for the export; the key itself is never stored): 0 or -1.
 * import_lock, inside the caller's transaction, waits until no other import's transaction is open and
 * holds that until this one ends (SQLite: its single writer already does; PostgreSQL: an advisory
 * lock), so two imports at once run one after the other: 0 or -1.
 */
int store_django_user_get(struct store *st, const char *django_model, const char *django_pk, int64_t user_id,
    struct store_django_user *d);
int store_django_user_put(struct store *st, const struct store_django_user *d);
int store_token_each(struct store *st, void (*each)(void *ctx, const struct store_token *t), void *ctx);
int store_import_lock(struct store *st);

#endif
