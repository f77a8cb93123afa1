/*
 * store/sqlite — the embedded backend.  One connection per thread (WAL lets
 * readers run beside the one writer), prepared statements cached on each
 * connection, every value bound as a parameter (docs/style.md rule 14).  The only file
 * that opens connections; sqlite_mail.c, sqlite_admin.c, sqlite_social.c,
 * sqlite_throttle.c and sqlite_mfa.c hold the rest of the ops.  Must never receive a raw session key or
 * token.
 */
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "log.h"
#include "util.h"
#include "store/sqlite/sqlite_int.h"

/* Numbered migrations, applied in order, each once, in one transaction.  Each is a file,
 * src/store/migrations/sqlite/NNNN_name.sql, numbered from 0001 without a gap; the Makefile compiles
 * them in, in that order, as this array (build/gen/sqlite_migrations.c).  Another dialect gets its own
 * folder beside sqlite/ (e.g. src/store/migrations/postgres/) with the same numbers and names, so
 * version N means the same schema on every backend. */
extern const char *const sqlite_migrations[];
extern const size_t sqlite_migrations_count;

#define USER_COLS                                                                                            \
	"u.id, u.email, u.first_name, u.last_name, u.is_active, u.is_staff, "                                \
	"u.is_superuser, u.email_verified, u.date_joined, u.last_login, u.auth_hash, u.mfa_enabled"
#define NUSER_COLS 12

static const char *stmt_sql[ST_COUNT] = {
	[ST_USER_CREATE] = "INSERT INTO users (email, password, first_name, last_name, is_active, is_staff,"
	                   " is_superuser, email_verified, date_joined, last_login, auth_hash)"
	                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
	[ST_USER_BY_EMAIL] = "SELECT " USER_COLS ", u.password FROM users u WHERE u.email = ?",
	[ST_USER_BY_ID] = "SELECT " USER_COLS ", u.password FROM users u WHERE u.id = ?",
	[ST_USER_SET_PASSWORD] = "UPDATE users SET password = ?, auth_hash = ? WHERE id = ?",
	[ST_USER_SET_PASSWORD_KEEP] = "UPDATE users SET password = ? WHERE id = ?",
	[ST_USER_LAST_LOGIN] = "UPDATE users SET last_login = ? WHERE id = ?",
	[ST_SESSION_CREATE] = "INSERT INTO sessions (key_hash, user_id, auth_hash, created_at, expires_at,"
	                      " last_seen, ip, user_agent, reauth_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_SESSION_GET] =
	    "SELECT s.id, s.user_id, s.auth_hash, s.created_at, s.expires_at, s.last_seen, " USER_COLS
	    ", s.reauth_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.key_hash = ?",
	[ST_SESSION_REAUTH] = "UPDATE sessions SET reauth_at = ? WHERE id = ?",
	[ST_SESSION_DELETE] = "DELETE FROM sessions WHERE key_hash = ?",
	[ST_SESSION_TOUCH] = "UPDATE sessions SET last_seen = ? WHERE id = ?",
	[ST_SESSION_DELETE_USER] = "DELETE FROM sessions WHERE user_id = ? AND id <> ?",
	[ST_SESSION_DELETE_EXPIRED] = "DELETE FROM sessions WHERE expires_at <= ?",
	[ST_TOKEN_CREATE] = "INSERT INTO tokens (key_hash, user_id, name, created_at, expires_at, last_used)"
	                    " VALUES (?, ?, ?, ?, ?, NULL)",
	[ST_TOKEN_GET] = "SELECT t.id, t.user_id, t.name, t.created_at, t.expires_at, t.last_used, " USER_COLS
	                 " FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.key_hash = ?",
	[ST_TOKEN_TOUCH] = "UPDATE tokens SET last_used = ? WHERE id = ?",
	[ST_TOKEN_DELETE_USER] = "DELETE FROM tokens WHERE user_id = ?",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_USER_SET_VERIFIED] = "UPDATE users SET email_verified = 1 WHERE id = ?",
	[ST_CONFIRM_CREATE] =
	    "INSERT INTO email_confirmations (key_hash, user_id, email, created_at, expires_at)"
	    " VALUES (?, ?, ?, ?, ?)",
	[ST_CONFIRM_GET] = "SELECT id, user_id, email, created_at, expires_at FROM email_confirmations"
	                   " WHERE key_hash = ?",
	[ST_CONFIRM_DELETE] = "DELETE FROM email_confirmations WHERE id = ?",
	[ST_CONFIRM_DELETE_USER] = "DELETE FROM email_confirmations WHERE user_id = ?",
	[ST_OUTBOX_ADD] =
	    "INSERT INTO outbox (recipient, message, created_at, next_attempt_at) VALUES (?, ?, ?, ?)",
	[ST_OUTBOX_DUE] =
	    "SELECT id, recipient, message, attempts FROM outbox"
	    " WHERE sent_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
	[ST_OUTBOX_LEASE] = "UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
	/* a delivered message's text goes: its links hold keys that must not stay at rest */
	[ST_OUTBOX_SENT] =
	    "UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = '', message = ''"
	    " WHERE id = ?",
	[ST_OUTBOX_FAILED] = "UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1, last_error = ?"
	                     " WHERE id = ?",
	/* a message the mailer gave up on waits at INT64_MAX / 2 (src/mail/mailer.c) */
	[ST_OUTBOX_DEPTH] =
	    "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND next_attempt_at < 4611686018427387903",
	[ST_SESSIONS_LIVE] = "SELECT count(*) FROM sessions WHERE expires_at > ?",
	[ST_SESSION_LIST] =
	    "SELECT id, user_id, created_at, last_seen, expires_at, ip, user_agent FROM sessions"
	    " WHERE user_id = ? ORDER BY last_seen DESC, id DESC",
	[ST_SESSION_DELETE_ID] = "DELETE FROM sessions WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)",
	[ST_TOKEN_LIST] = "SELECT id, user_id, name, created_at, expires_at, last_used FROM tokens"
	                  " WHERE user_id = ? ORDER BY id DESC",
	[ST_TOKEN_DELETE_ID] = "DELETE FROM tokens WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)",
	[ST_USER_LIST] = "SELECT " USER_COLS ", '' FROM users u WHERE (?1 IS NULL OR instr(u.email, ?1) > 0)"
	                 " ORDER BY u.id LIMIT ?2 OFFSET ?3",
	[ST_USER_COUNT] = "SELECT count(*) FROM users WHERE (?1 IS NULL OR instr(email, ?1) > 0)",
	[ST_USER_SET_FLAGS] =
	    "UPDATE users SET is_active = ?, is_staff = ?, is_superuser = ?, email_verified = ?"
	    " WHERE id = ?",
	[ST_AUDIT_ADD] = "INSERT INTO audit (at, actor_id, user_id, event, detail, ip, user_agent)"
	                 " VALUES (?, NULLIF(?, 0), NULLIF(?, 0), ?, ?, ?, ?)",
#define AUDIT_WHERE                                                                                          \
	" WHERE (?1 = 0 OR user_id = ?1) AND (?2 = 0 OR actor_id = ?2) AND (?3 IS NULL OR event = ?3)"       \
	" AND (?4 IS NULL OR substr(event, 1, length(?4)) = ?4)"
	[ST_AUDIT_LIST] =
	    "SELECT id, at, COALESCE(actor_id, 0), COALESCE(user_id, 0), event, detail, ip, user_agent"
	    " FROM audit" AUDIT_WHERE " ORDER BY id DESC LIMIT ?5 OFFSET ?6",
	[ST_AUDIT_COUNT] = "SELECT count(*) FROM audit" AUDIT_WHERE,
	[ST_STATE_CREATE] =
	    "INSERT INTO social_states (state_hash, provider, browser_hash, verifier, nonce, next,"
	    " link_user_id, expires_at, ip) VALUES (?, ?, ?, ?, ?, ?, NULLIF(?, 0), ?, ?)",
	[ST_STATE_GET] =
	    "SELECT provider, browser_hash, verifier, nonce, next, COALESCE(link_user_id, 0), expires_at"
	    " FROM social_states WHERE state_hash = ?",
	[ST_STATE_DELETE] = "DELETE FROM social_states WHERE state_hash = ?",
	[ST_STATE_PURGE] = "DELETE FROM social_states WHERE rowid IN (SELECT rowid FROM social_states"
	                   " WHERE expires_at <= ?1 LIMIT ?2)",
	/* all of a browser's states but its ?2 newest */
	[ST_STATE_TRIM_BROWSER] =
	    "DELETE FROM social_states WHERE rowid IN (SELECT rowid FROM social_states"
	    " WHERE browser_hash = ?1 ORDER BY expires_at DESC, rowid DESC LIMIT -1 OFFSET ?2)",
	/* an IP's live states, counted up to ?3 */
	[ST_STATE_COUNT_IP] =
	    "SELECT count(*) FROM (SELECT 1 FROM social_states WHERE ip = ?1 AND expires_at > ?2"
	    " LIMIT ?3)",
	[ST_IDENTITY_GET] = "SELECT id, user_id, provider, uid, extra, created_at FROM social_identities"
	                    " WHERE provider = ? AND uid = ?",
	[ST_IDENTITY_CREATE] = "INSERT INTO social_identities (user_id, provider, uid, extra, created_at)"
	                       " VALUES (?, ?, ?, ?, ?)",
	[ST_IDENTITY_EXTRA] = "UPDATE social_identities SET extra = ? WHERE id = ?",
	[ST_IDENTITY_LIST] = "SELECT id, user_id, provider, uid, extra, created_at FROM social_identities"
	                     " WHERE user_id = ? ORDER BY id",
	[ST_IDENTITY_DELETE] = "DELETE FROM social_identities WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)",
	[ST_USER_SET_NAMES] = "UPDATE users SET first_name = ?, last_name = ? WHERE id = ?",
	/* one statement, so the count and the insert are one write: atomic */
	[ST_THROTTLE_ADD] =
	    "INSERT INTO throttle_hits (key_hash, at, expires_at) SELECT ?1, ?2, ?2 + ?3"
	    " WHERE (SELECT count(*) FROM throttle_hits WHERE key_hash = ?1 AND at > ?2 - ?3) < ?4",
	[ST_THROTTLE_WAIT] = "SELECT at FROM throttle_hits WHERE key_hash = ?1 AND at > ?2 - ?3"
	                     " ORDER BY at DESC, id DESC LIMIT 1 OFFSET ?4 - 1",
	[ST_THROTTLE_RELEASE] = "DELETE FROM throttle_hits WHERE id ="
	                        " (SELECT max(id) FROM throttle_hits WHERE key_hash = ?)",
	[ST_THROTTLE_RESET] = "DELETE FROM throttle_hits WHERE key_hash = ?",
	[ST_THROTTLE_PURGE] = "DELETE FROM throttle_hits WHERE id IN"
	                      " (SELECT id FROM throttle_hits WHERE expires_at <= ?1 LIMIT ?2)",
	/* second factors (sqlite_mfa.c) */
	[ST_USER_SET_MFA] = "UPDATE users SET mfa_enabled = ? WHERE id = ?",
	[ST_TOTP_GET] = "SELECT secret, confirmed, last_step, created_at FROM mfa_totp WHERE user_id = ?",
	/* a set-up started again replaces the unconfirmed secret; a confirmed one is never touched */
	[ST_TOTP_PUT_PENDING] =
	    "INSERT INTO mfa_totp (user_id, secret, confirmed, last_step, created_at) VALUES (?1, ?2, 0, 0, "
	    "?3)"
	    " ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = 0,"
	    " created_at = excluded.created_at WHERE mfa_totp.confirmed = 0",
	[ST_TOTP_CONFIRM] = "UPDATE mfa_totp SET confirmed = 1, last_step = ?2, created_at = ?4"
	                    " WHERE user_id = ?1 AND confirmed = 0 AND created_at >= ?3",
	/* the replay guard: a step is accepted once, and never one older than the last */
	[ST_TOTP_USE_STEP] =
	    "UPDATE mfa_totp SET last_step = ?2 WHERE user_id = ?1 AND confirmed = 1 AND last_step < ?2",
	[ST_TOTP_DELETE] = "DELETE FROM mfa_totp WHERE user_id = ?",
	[ST_RECOVERY_DELETE_USER] = "DELETE FROM mfa_recovery WHERE user_id = ?",
	[ST_RECOVERY_ADD] = "INSERT INTO mfa_recovery (user_id, code_hash, created_at) VALUES (?, ?, ?)",
	/* used once: the first of two concurrent uses changes the row, the second finds it used */
	[ST_RECOVERY_USE] = "UPDATE mfa_recovery SET used_at = max(?3, 1)"
	                    " WHERE user_id = ?1 AND code_hash = ?2 AND used_at = 0",
	[ST_RECOVERY_COUNT] =
	    "SELECT count(*), COALESCE(sum(used_at = 0), 0) FROM mfa_recovery WHERE user_id = ?",
#define WEBAUTHN_COLS                                                                                        \
	"id, user_id, cred_id, public_key, alg, sign_count, name, transports, created_at, last_used"
	[ST_WEBAUTHN_ADD] = "INSERT INTO webauthn_credentials (user_id, cred_id, public_key, alg, sign_count,"
	                    " name, transports, created_at, last_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
	[ST_WEBAUTHN_GET] = "SELECT " WEBAUTHN_COLS " FROM webauthn_credentials WHERE cred_id = ?",
	[ST_WEBAUTHN_GET_ID] = "SELECT " WEBAUTHN_COLS
	                       " FROM webauthn_credentials WHERE id = ? AND user_id = ?",
	[ST_WEBAUTHN_LIST] = "SELECT " WEBAUTHN_COLS
	                     " FROM webauthn_credentials WHERE user_id = ? ORDER BY id DESC",
	[ST_WEBAUTHN_COUNT] = "SELECT count(*) FROM webauthn_credentials WHERE user_id = ?",
	[ST_WEBAUTHN_RENAME] = "UPDATE webauthn_credentials SET name = ?3 WHERE id = ?1 AND user_id = ?2",
	[ST_WEBAUTHN_DELETE] = "DELETE FROM webauthn_credentials WHERE id = ?1 AND user_id = ?2",
	/* compare-and-set on the signature counter: one assertion per counter value */
	[ST_WEBAUTHN_USED] = "UPDATE webauthn_credentials SET sign_count = ?3, last_used = ?4"
	                     " WHERE id = ?1 AND sign_count = ?2",
	[ST_WEBAUTHN_EXISTS] = "SELECT count(*) FROM webauthn_credentials WHERE id = ?",
	[ST_WEBAUTHN_DELETE_USER] = "DELETE FROM webauthn_credentials WHERE user_id = ?",
	/* all of a binding's challenges but the one just made (?3) and its ?2 newest others */
	[ST_CHALLENGE_TRIM] =
	    "DELETE FROM mfa_challenges WHERE rowid IN (SELECT rowid FROM mfa_challenges"
	    " WHERE bind_hash = ?1 AND challenge_hash <> ?3 ORDER BY expires_at DESC, rowid DESC"
	    " LIMIT -1 OFFSET ?2)",
	[ST_CHALLENGE_CREATE] =
	    "INSERT INTO mfa_challenges (challenge_hash, purpose, user_id, bind_hash, expires_at)"
	    " VALUES (?, ?, ?, ?, ?)",
	[ST_CHALLENGE_GET] =
	    "SELECT purpose, user_id, bind_hash, expires_at FROM mfa_challenges WHERE challenge_hash = ?",
	[ST_CHALLENGE_DELETE] = "DELETE FROM mfa_challenges WHERE challenge_hash = ?",
	[ST_CHALLENGE_PURGE] = "DELETE FROM mfa_challenges WHERE rowid IN (SELECT rowid FROM mfa_challenges"
	                       " WHERE expires_at <= ?1 LIMIT ?2)",
	[ST_PENDING_CREATE] =
	    "INSERT INTO mfa_pending (key_hash, user_id, auth_hash, method, next, created_at,"
	    " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	[ST_PENDING_GET] = "SELECT user_id, auth_hash, method, next, created_at, expires_at FROM mfa_pending"
	                   " WHERE key_hash = ?",
	[ST_PENDING_DELETE] = "DELETE FROM mfa_pending WHERE key_hash = ?",
	[ST_PENDING_PURGE] = "DELETE FROM mfa_pending WHERE rowid IN (SELECT rowid FROM mfa_pending"
	                     " WHERE expires_at <= ?1 LIMIT ?2)",
	[ST_WEBHOOK_ADD] =
	    "INSERT INTO webhook_outbox (msg_id, endpoint, event, payload, created_at, next_attempt_ms)"
	    " VALUES (?, ?, ?, ?, ?, ?)",
	[ST_WEBHOOK_DUE] =
	    "SELECT id, msg_id, endpoint, event, payload, created_at, next_attempt_ms, attempts, "
	    "last_status, last_error, delivered, done_at FROM webhook_outbox"
	    " WHERE done_at IS NULL AND next_attempt_ms <= ? ORDER BY next_attempt_ms, id LIMIT ?",
	[ST_WEBHOOK_LEASE] = "UPDATE webhook_outbox SET next_attempt_ms = ? WHERE id = ?",
	[ST_WEBHOOK_DELIVERED] =
	    "UPDATE webhook_outbox SET delivered = 1, done_at = ?3, attempts = attempts + 1,"
	    " last_status = ?2, last_error = '' WHERE id = ?1 AND done_at IS NULL",
	[ST_WEBHOOK_FAILED] =
	    "UPDATE webhook_outbox SET attempts = attempts + 1, last_status = ?2, last_error = ?3,"
	    " next_attempt_ms = ?4, done_at = CASE WHEN ?5 THEN ?6 ELSE NULL END"
	    " WHERE id = ?1 AND done_at IS NULL",
	[ST_WEBHOOK_GET] =
	    "SELECT id, msg_id, endpoint, event, payload, created_at, next_attempt_ms, attempts, "
	    "last_status, last_error, delivered, done_at FROM webhook_outbox WHERE id = ?",
	[ST_WEBHOOK_PURGE] = "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox"
	                     " WHERE done_at IS NOT NULL AND done_at < ?1 LIMIT ?2)",
	[ST_PING] = "SELECT 1",
	/* import from Django and export (sqlite_import.c) */
	[ST_DJANGO_USER_GET] =
	    "SELECT django_model, django_pk, user_id, row_hash, password_hash, imported_at FROM django_users"
	    " WHERE django_model = ?1 AND django_pk = ?2",
	[ST_DJANGO_USER_BY_USER] =
	    "SELECT django_model, django_pk, user_id, row_hash, password_hash, imported_at FROM django_users"
	    " WHERE user_id = ?1",
	[ST_DJANGO_USER_PUT] =
	    "INSERT INTO django_users (django_model, django_pk, user_id, row_hash, password_hash, "
	    "imported_at)"
	    " SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (SELECT 1 FROM django_users WHERE user_id = ?3"
	    " AND (django_model <> ?1 OR django_pk <> ?2)) ON CONFLICT (django_model, django_pk) DO UPDATE "
	    "SET"
	    " user_id = excluded.user_id, row_hash = excluded.row_hash, password_hash = "
	    "excluded.password_hash,"
	    " imported_at = excluded.imported_at",
	[ST_TOKEN_EACH] =
	    "SELECT id, user_id, name, created_at, expires_at, last_used, key_hash FROM tokens ORDER BY id",
};

struct conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	struct sqlite_impl *owner;
	struct conn *next;
};

struct sqlite_impl {
	char *path;
	pthread_mutex_t lock; /* guards conns */
	struct conn *conns;   /* every connection, to close them all */
	pthread_key_t tls;    /* this thread's connection */
};

static struct conn *conn_get(struct store *st);

void
sq_log_error(sqlite3 *db, const char *what)
{
	log_msg(LOG_ERROR, "sqlite: %s: %s", what, sqlite3_errmsg(db));
}

static int
exec_sql(sqlite3 *db, const char *sql, char *err, size_t errsz)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errsz, "sqlite: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static struct conn *
conn_open(struct sqlite_impl *im, char *err, size_t errsz)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	if (sqlite3_open_v2(im->path, &c->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "sqlite: cannot open %s: %s", im->path,
		    c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(c->db, 5000);
	if (exec_sql(c->db,
	        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
	        " PRAGMA secure_delete=FAST; PRAGMA mmap_size=268435456;",
	        err, errsz) != 0)
		goto fail;
	c->owner = im;
	pthread_mutex_lock(&im->lock);
	c->next = im->conns;
	im->conns = c;
	pthread_mutex_unlock(&im->lock);
	return c;
fail:
	sqlite3_close(c->db);
	free(c);
	return NULL;
}

static void
conn_close(struct conn *c)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close(c->db);
	free(c);
}

/* This thread's connection, opened on first use. */
static struct conn *
conn_get(struct store *st)
{
	struct sqlite_impl *im = st->impl;
	struct conn *c = pthread_getspecific(im->tls);
	char err[256];

	if (c != NULL)
		return c;
	if ((c = conn_open(im, err, sizeof(err))) == NULL) {
		log_msg(LOG_ERROR, "%s", err);
		return NULL;
	}
	pthread_setspecific(im->tls, c);
	return c;
}

/* A reset, cleared, cached statement ready for binding, or NULL. */
sqlite3_stmt *
sq_prep(struct store *st, enum stmt which)
{
	struct conn *c = conn_get(st);

	if (c == NULL)
		return NULL;
	if (c->stmt[which] == NULL &&
	    sqlite3_prepare_v3(c->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[which],
	        NULL) != SQLITE_OK) {
		sq_log_error(c->db, stmt_sql[which]);
		return NULL;
	}
	return c->stmt[which];
}

void
sq_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

void
sq_col_text(sqlite3_stmt *s, int i, char *out, size_t outsz)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	strlcpy_ok(out, t ? (const char *)t : "", outsz);
}

void
sq_read_user(sqlite3_stmt *s, int i, struct store_user *u)
{
	u->id = sqlite3_column_int64(s, i);
	sq_col_text(s, i + 1, u->email, sizeof(u->email));
	sq_col_text(s, i + 2, u->first_name, sizeof(u->first_name));
	sq_col_text(s, i + 3, u->last_name, sizeof(u->last_name));
	u->is_active = sqlite3_column_int(s, i + 4) != 0;
	u->is_staff = sqlite3_column_int(s, i + 5) != 0;
	u->is_superuser = sqlite3_column_int(s, i + 6) != 0;
	u->email_verified = sqlite3_column_int(s, i + 7) != 0;
	u->date_joined = sqlite3_column_int64(s, i + 8);
	u->last_login = sqlite3_column_int64(s, i + 9); /* NULL reads as 0 */
	sq_col_text(s, i + 10, u->auth_hash, sizeof(u->auth_hash));
	u->mfa_enabled = sqlite3_column_int(s, i + 11) != 0;
	u->password[0] = '\0';
}

/* Step a write statement; 0, STORE_CONFLICT on a unique violation, or -1. */
int
sq_step_write(struct store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s), ret = 0;

	if (rc == SQLITE_CONSTRAINT)
		ret = STORE_CONFLICT;
	else if (rc != SQLITE_DONE) {
		sq_log_error(sqlite3_db_handle(s), sqlite3_sql(s));
		ret = -1;
	}
	(void)st;
	sq_done(s);
	return ret;
}

static int
sq_open(struct store *st, const char *dsn, char *err, size_t errsz)
{
	struct sqlite_impl *im = xcalloc(1, sizeof(*im));
	const char *slash = strrchr(dsn, '/');
	struct conn *c;

	if (slash != NULL && slash != dsn) {
		/* create the database's folder (one level: var/) when missing */
		char *dir = xstrndup(dsn, (size_t)(slash - dsn));
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errsz, "cannot create %s: %s", dir, strerror(errno));
			free(dir);
			free(im);
			return -1;
		}
		free(dir);
	}
	/* no global mutex around every allocation: per-thread connections need none */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	im->path = xstrdup(dsn);
	pthread_mutex_init(&im->lock, NULL);
	if (pthread_key_create(&im->tls, NULL) != 0)
		fatal("pthread_key_create");
	st->impl = im;
	/* open one connection now so a bad path fails at start-up, not on the first request */
	if ((c = conn_open(im, err, errsz)) == NULL) {
		pthread_key_delete(im->tls);
		pthread_mutex_destroy(&im->lock);
		free(im->path);
		free(im);
		st->impl = NULL;
		return -1;
	}
	pthread_setspecific(im->tls, c);
	return 0;
}

static void
sq_close(struct store *st)
{
	struct sqlite_impl *im = st->impl;
	struct conn *c, *next;

	if (im == NULL)
		return;
	for (c = im->conns; c; c = next) {
		next = c->next;
		conn_close(c);
	}
	pthread_key_delete(im->tls);
	pthread_mutex_destroy(&im->lock);
	free(im->path);
	free(im);
}

static int
sq_migrate(struct store *st, int *applied, char *err, size_t errsz)
{
	struct conn *c = conn_get(st);
	sqlite3_stmt *s = NULL;
	int current = 0, n = (int)sqlite_migrations_count;
	char sql[128];

	*applied = 0;
	if (c == NULL) {
		snprintf(err, errsz, "sqlite: no connection");
		return -1;
	}
	if (exec_sql(c->db,
	        "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_migrations ("
	        "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);",
	        err, errsz) != 0)
		goto fail;
	if (sqlite3_prepare_v2(c->db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1, &s,
	        NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		snprintf(err, errsz, "sqlite: %s", sqlite3_errmsg(c->db));
		goto fail;
	}
	current = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (current > n) {
		snprintf(err, errsz, "database schema is version %d, newer than this gatehouse (%d)", current,
		    n);
		goto fail;
	}
	for (int v = current + 1; v <= n; v++) {
		if (exec_sql(c->db, sqlite_migrations[v - 1], err, errsz) != 0)
			goto fail;
		snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations VALUES (%d, %lld)", v,
		    (long long)now_unix());
		if (exec_sql(c->db, sql, err, errsz) != 0)
			goto fail;
		(*applied)++;
	}
	return exec_sql(c->db, "COMMIT", err, errsz);
fail:
	sqlite3_finalize(s);
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	*applied = 0;
	return -1;
}

static int
sq_schema_check(struct store *st, char *err, size_t errsz)
{
	struct conn *c = conn_get(st);
	sqlite3_stmt *s = NULL;
	int current = -1, n = (int)sqlite_migrations_count;

	if (c == NULL) {
		snprintf(err, errsz, "sqlite: no connection");
		return -1;
	}
	if (sqlite3_prepare_v2(c->db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1, &s,
	        NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		current = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (current < 0)
		current = 0; /* no schema_migrations table: an empty database */
	if (current == n)
		return 0;
	snprintf(err, errsz,
	    current < n ? "database schema is version %d, this gatehouse needs %d: run `gatehouse migrate`" :
	                  "database schema is version %d, newer than this gatehouse (%d)",
	    current, n);
	return -1;
}

static int
sq_ping(struct store *st)
{
	sqlite3_stmt *s = sq_prep(st, ST_PING);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	sq_done(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
sq_user_create(struct store *st, struct store_user *u)
{
	sqlite3_stmt *s = sq_prep(st, ST_USER_CREATE);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, u->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, u->password, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, u->first_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, u->last_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, u->is_active);
	sqlite3_bind_int(s, 6, u->is_staff);
	sqlite3_bind_int(s, 7, u->is_superuser);
	sqlite3_bind_int(s, 8, u->email_verified);
	sqlite3_bind_int64(s, 9, u->date_joined);
	sqlite3_bind_text(s, 10, u->auth_hash, -1, SQLITE_STATIC);
	if ((ret = sq_step_write(st, s)) == 0)
		u->id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
	return ret;
}

static int
user_query(sqlite3_stmt *s, struct store_user *u)
{
	int ret;

	if ((ret = sq_step_one(s)) != 0)
		return ret;
	sq_read_user(s, 0, u);
	sq_col_text(s, NUSER_COLS, u->password, sizeof(u->password));
	sq_done(s);
	return 0;
}

static int
sq_user_by_email(struct store *st, const char *email, struct store_user *u)
{
	sqlite3_stmt *s = sq_prep(st, ST_USER_BY_EMAIL);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, email, -1, SQLITE_STATIC);
	return user_query(s, u);
}

static int
sq_user_by_id(struct store *st, int64_t id, struct store_user *u)
{
	sqlite3_stmt *s = sq_prep(st, ST_USER_BY_ID);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return user_query(s, u);
}

static int
sq_user_set_password(struct store *st, int64_t id, const char *hash, const char *new_auth_hash)
{
	sqlite3_stmt *s = sq_prep(st, new_auth_hash ? ST_USER_SET_PASSWORD : ST_USER_SET_PASSWORD_KEEP);
	int i = 1;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, i++, hash, -1, SQLITE_STATIC);
	if (new_auth_hash)
		sqlite3_bind_text(s, i++, new_auth_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, i, id);
	return sq_step_write(st, s);
}

int
sq_exec2(struct store *st, enum stmt which, int64_t a, int64_t b)
{
	sqlite3_stmt *s = sq_prep(st, which);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a);
	sqlite3_bind_int64(s, 2, b);
	return sq_step_write(st, s);
}

int
sq_exec1(struct store *st, enum stmt which, int64_t a)
{
	sqlite3_stmt *s = sq_prep(st, which);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a);
	return sq_step_write(st, s);
}

static int
sq_user_set_last_login(struct store *st, int64_t id, int64_t when)
{
	return sq_exec2(st, ST_USER_LAST_LOGIN, when, id);
}

static int
sq_session_create(struct store *st, struct store_session *ss, const char *ip, const char *ua)
{
	sqlite3_stmt *s = sq_prep(st, ST_SESSION_CREATE);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, ss->key_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, ss->user_id);
	sqlite3_bind_text(s, 3, ss->auth_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, ss->created_at);
	sqlite3_bind_int64(s, 5, ss->expires_at);
	sqlite3_bind_int64(s, 6, ss->last_seen);
	sqlite3_bind_text(s, 7, ip ? ip : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, ua ? ua : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, ss->reauth_at);
	if ((ret = sq_step_write(st, s)) == 0)
		ss->id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
	return ret;
}

static int
sq_session_get(struct store *st, const char *key_hash, struct store_session *ss, struct store_user *u)
{
	sqlite3_stmt *s = sq_prep(st, ST_SESSION_GET);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key_hash, -1, SQLITE_STATIC);
	if ((ret = sq_step_one(s)) != 0)
		return ret;
	ss->id = sqlite3_column_int64(s, 0);
	ss->user_id = sqlite3_column_int64(s, 1);
	sq_col_text(s, 2, ss->auth_hash, sizeof(ss->auth_hash));
	ss->created_at = sqlite3_column_int64(s, 3);
	ss->expires_at = sqlite3_column_int64(s, 4);
	ss->last_seen = sqlite3_column_int64(s, 5);
	strlcpy_ok(ss->key_hash, key_hash, sizeof(ss->key_hash));
	sq_read_user(s, 6, u);
	ss->reauth_at = sqlite3_column_int64(s, 6 + NUSER_COLS);
	sq_done(s);
	return 0;
}

static int
sq_session_delete(struct store *st, const char *key_hash)
{
	sqlite3_stmt *s = sq_prep(st, ST_SESSION_DELETE);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key_hash, -1, SQLITE_STATIC);
	return sq_step_write(st, s);
}

static int
sq_session_touch(struct store *st, int64_t id, int64_t when)
{
	return sq_exec2(st, ST_SESSION_TOUCH, when, id);
}

static int
sq_session_set_reauth(struct store *st, int64_t id, int64_t when)
{
	return sq_exec2(st, ST_SESSION_REAUTH, when, id);
}

static int
sq_session_delete_user(struct store *st, int64_t user_id, int64_t except_id)
{
	return sq_exec2(st, ST_SESSION_DELETE_USER, user_id, except_id);
}

static int
sq_session_delete_expired(struct store *st, int64_t now)
{
	sqlite3_stmt *s = sq_prep(st, ST_SESSION_DELETE_EXPIRED);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	return sq_step_write(st, s);
}

static int
sq_token_create(struct store *st, struct store_token *t)
{
	sqlite3_stmt *s = sq_prep(st, ST_TOKEN_CREATE);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, t->key_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, t->user_id);
	sqlite3_bind_text(s, 3, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, t->created_at);
	if (t->expires_at)
		sqlite3_bind_int64(s, 5, t->expires_at);
	else
		sqlite3_bind_null(s, 5);
	if ((ret = sq_step_write(st, s)) == 0)
		t->id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
	return ret;
}

static int
sq_token_get(struct store *st, const char *key_hash, struct store_token *t, struct store_user *u)
{
	sqlite3_stmt *s = sq_prep(st, ST_TOKEN_GET);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key_hash, -1, SQLITE_STATIC);
	if ((ret = sq_step_one(s)) != 0)
		return ret;
	t->id = sqlite3_column_int64(s, 0);
	t->user_id = sqlite3_column_int64(s, 1);
	sq_col_text(s, 2, t->name, sizeof(t->name));
	t->created_at = sqlite3_column_int64(s, 3);
	t->expires_at = sqlite3_column_int64(s, 4);
	t->last_used = sqlite3_column_int64(s, 5);
	strlcpy_ok(t->key_hash, key_hash, sizeof(t->key_hash));
	sq_read_user(s, 6, u);
	sq_done(s);
	return 0;
}

static int
sq_token_touch(struct store *st, int64_t id, int64_t when)
{
	return sq_exec2(st, ST_TOKEN_TOUCH, when, id);
}

static int
sq_token_delete_user(struct store *st, int64_t user_id)
{
	return sq_exec1(st, ST_TOKEN_DELETE_USER, user_id) < 0 ? -1 : 0;
}

int
sq_exec0(struct store *st, enum stmt which)
{
	sqlite3_stmt *s = sq_prep(st, which);

	if (s == NULL)
		return -1;
	return sq_step_write(st, s) == 0 ? 0 : -1;
}

int
sq_begin(struct store *st)
{
	return sq_exec0(st, ST_BEGIN);
}
int
sq_commit(struct store *st)
{
	return sq_exec0(st, ST_COMMIT);
}
void
sq_rollback(struct store *st)
{
	sq_exec0(st, ST_ROLLBACK);
}
bool
sq_in_transaction(struct store *st)
{
	struct conn *c = conn_get(st);

	return c != NULL && !sqlite3_get_autocommit(c->db);
}

static int
sq_user_set_verified(struct store *st, int64_t id)
{
	return sq_exec1(st, ST_USER_SET_VERIFIED, id);
}

int
sq_each_row(sqlite3_stmt *s, void (*row)(sqlite3_stmt *, void *), void *ctx)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		row(s, ctx);
	if (rc != SQLITE_DONE)
		sq_log_error(sqlite3_db_handle(s), sqlite3_sql(s));
	sq_done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
sq_step_one(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		sq_log_error(sqlite3_db_handle(s), sqlite3_sql(s));
	sq_done(s);
	return rc == SQLITE_DONE ? STORE_NOTFOUND : -1;
}

int
sq_count_rows(sqlite3_stmt *s, int64_t *total)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		*total = sqlite3_column_int64(s, 0);
	else
		sq_log_error(sqlite3_db_handle(s), sqlite3_sql(s));
	sq_done(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
sq_delete_owned(struct store *st, enum stmt which, int64_t id, int64_t user_id)
{
	sqlite3_stmt *s = sq_prep(st, which);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, user_id);
	ret = sq_step_write(st, s);
	if (ret == 0 && sqlite3_changes(sqlite3_db_handle(s)) == 0)
		ret = STORE_NOTFOUND;
	return ret;
}

static int
sq_user_set_names(struct store *st, int64_t id, const char *first_name, const char *last_name)
{
	sqlite3_stmt *s = sq_prep(st, ST_USER_SET_NAMES);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, first_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, last_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, id);
	return sq_step_write(st, s);
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.migrate = sq_migrate,
	.schema_check = sq_schema_check,
	.ping = sq_ping,
	.user_create = sq_user_create,
	.user_by_email = sq_user_by_email,
	.user_by_id = sq_user_by_id,
	.user_set_password = sq_user_set_password,
	.user_set_last_login = sq_user_set_last_login,
	.session_create = sq_session_create,
	.session_get = sq_session_get,
	.session_delete = sq_session_delete,
	.session_touch = sq_session_touch,
	.session_set_reauth = sq_session_set_reauth,
	.session_delete_user = sq_session_delete_user,
	.session_delete_expired = sq_session_delete_expired,
	.token_create = sq_token_create,
	.token_get = sq_token_get,
	.token_touch = sq_token_touch,
	.token_delete_user = sq_token_delete_user,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.user_set_verified = sq_user_set_verified,
	.confirmation_create = sq_confirmation_create,
	.confirmation_take = sq_confirmation_take,
	.confirmation_delete_user = sq_confirmation_delete_user,
	.outbox_add = sq_outbox_add,
	.outbox_claim = sq_outbox_claim,
	.outbox_sent = sq_outbox_sent,
	.outbox_failed = sq_outbox_failed,
	.outbox_depth = sq_outbox_depth,
	.sessions_live = sq_sessions_live,
	.session_list = sq_session_list,
	.session_delete_id = sq_session_delete_id,
	.token_list = sq_token_list,
	.token_delete_id = sq_token_delete_id,
	.user_list = sq_user_list,
	.user_set_flags = sq_user_set_flags,
	.audit_add = sq_audit_add,
	.audit_list = sq_audit_list,
	.social_state_create = sq_social_state_create,
	.social_state_purge = sq_social_state_purge,
	.social_state_take = sq_social_state_take,
	.identity_get = sq_identity_get,
	.identity_create = sq_identity_create,
	.identity_update_extra = sq_identity_update_extra,
	.identity_list = sq_identity_list,
	.identity_delete = sq_identity_delete,
	.user_set_names = sq_user_set_names,
	.throttle_reserve = sq_throttle_reserve,
	.throttle_release = sq_throttle_release,
	.throttle_reset = sq_throttle_reset,
	.throttle_purge = sq_throttle_purge,
	.user_set_mfa = sq_user_set_mfa,
	.totp_get = sq_totp_get,
	.totp_put_pending = sq_totp_put_pending,
	.totp_confirm = sq_totp_confirm,
	.totp_use_step = sq_totp_use_step,
	.totp_delete = sq_totp_delete,
	.recovery_replace = sq_recovery_replace,
	.recovery_use = sq_recovery_use,
	.recovery_count = sq_recovery_count,
	.recovery_delete_user = sq_recovery_delete_user,
	.webauthn_add = sq_webauthn_add,
	.webauthn_get = sq_webauthn_get,
	.webauthn_get_id = sq_webauthn_get_id,
	.webauthn_list = sq_webauthn_list,
	.webauthn_count = sq_webauthn_count,
	.webauthn_rename = sq_webauthn_rename,
	.webauthn_delete = sq_webauthn_delete,
	.webauthn_used = sq_webauthn_used,
	.mfa_delete_user = sq_mfa_delete_user,
	.challenge_create = sq_challenge_create,
	.challenge_take = sq_challenge_take,
	.challenge_purge = sq_challenge_purge,
	.mfa_pending_create = sq_mfa_pending_create,
	.mfa_pending_get = sq_mfa_pending_get,
	.mfa_pending_take = sq_mfa_pending_take,
	.mfa_pending_delete = sq_mfa_pending_delete,
	.mfa_pending_purge = sq_mfa_pending_purge,
	.webhook_add = sq_webhook_add,
	.webhook_claim = sq_webhook_claim,
	.webhook_delivered = sq_webhook_delivered,
	.webhook_failed = sq_webhook_failed,
	.webhook_get = sq_webhook_get,
	.webhook_purge = sq_webhook_purge,
	/* import from Django and export */
	.django_user_get = sq_django_user_get,
	.django_user_put = sq_django_user_put,
	.token_each = sq_token_each,
	.import_lock = sq_import_lock,
};
