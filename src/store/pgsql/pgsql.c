/*
 * store/pgsql — the shared backend, through libpq: the SQL of every
 * statement, open and close, migrations (under an advisory lock) and the
 * schema check, users, sessions, tokens, and the ops table.  One connection
 * per thread that uses the store, every query a prepared statement with text
 * parameters (docs/style.md rule 14): pgsql_conn.c; pgsql_mail.c,
 * pgsql_admin.c, pgsql_social.c, pgsql_throttle.c and pgsql_mfa.c hold the
 * rest of the ops, pgsql_cache.c the session and token cache.  Must never
 * receive a raw session key or token, nor print the DSN (it may hold a
 * password).
 */
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "util.h"
#include "store/pgsql/pgsql_int.h"

/* Numbered migrations, the same numbers and names as sqlite/ (version N is the same schema on every
 * backend), compiled in by the Makefile from src/store/migrations/postgres/ (build/gen/). */
extern const char *const postgres_migrations[];
extern const size_t postgres_migrations_count;

/* pg_advisory_xact_lock key that serialises `gatehouse migrate` runs ("gatehse1") */
#define MIGRATE_LOCK "7449363237540422961"

#define USER_COLS                                                                                            \
	"u.id, u.email, u.first_name, u.last_name, u.is_active, u.is_staff, "                                \
	"u.is_superuser, u.email_verified, u.date_joined, u.last_login, u.auth_hash, u.mfa_enabled"
#define NUSER_COLS 12

const char *const pg_stmt_sql[ST_COUNT] = {
	/* ON CONFLICT DO NOTHING: a taken key is "no row", not an error that would abort the caller's
	 * transaction (SQLite reports it and goes on; signup queues a mail after a taken address) */
	[ST_USER_CREATE] = "INSERT INTO users (email, password, first_name, last_name, is_active, is_staff,"
	                   " is_superuser, email_verified, date_joined, last_login, auth_hash)"
	                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10)"
	                   " ON CONFLICT DO NOTHING RETURNING id",
	[ST_USER_BY_EMAIL] = "SELECT " USER_COLS ", u.password FROM users u WHERE u.email = $1",
	[ST_USER_BY_ID] = "SELECT " USER_COLS ", u.password FROM users u WHERE u.id = $1",
	[ST_USER_SET_PASSWORD] = "UPDATE users SET password = $1, auth_hash = $2 WHERE id = $3",
	[ST_USER_SET_PASSWORD_KEEP] = "UPDATE users SET password = $1 WHERE id = $2",
	[ST_USER_LAST_LOGIN] = "UPDATE users SET last_login = $1 WHERE id = $2",
	[ST_SESSION_CREATE] =
	    "INSERT INTO sessions (key_hash, user_id, auth_hash, created_at, expires_at,"
	    " last_seen, ip, user_agent, reauth_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
	    " ON CONFLICT DO NOTHING RETURNING id",
	[ST_SESSION_GET] =
	    "SELECT s.id, s.user_id, s.auth_hash, s.created_at, s.expires_at, s.last_seen, " USER_COLS
	    ", s.reauth_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.key_hash = $1",
	[ST_SESSION_REAUTH] = "UPDATE sessions SET reauth_at = $1 WHERE id = $2",
	[ST_SESSION_DELETE] = "DELETE FROM sessions WHERE key_hash = $1",
	[ST_SESSION_TOUCH] = "UPDATE sessions SET last_seen = $1 WHERE id = $2",
	[ST_SESSION_DELETE_USER] = "DELETE FROM sessions WHERE user_id = $1 AND id <> $2",
	[ST_SESSION_DELETE_EXPIRED] = "DELETE FROM sessions WHERE expires_at <= $1",
	[ST_TOKEN_CREATE] = "INSERT INTO tokens (key_hash, user_id, name, created_at, expires_at, last_used)"
	                    " VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT DO NOTHING RETURNING id",
	[ST_TOKEN_GET] = "SELECT t.id, t.user_id, t.name, t.created_at, t.expires_at, t.last_used, " USER_COLS
	                 " FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.key_hash = $1",
	[ST_TOKEN_TOUCH] = "UPDATE tokens SET last_used = $1 WHERE id = $2",
	[ST_TOKEN_DELETE_USER] = "DELETE FROM tokens WHERE user_id = $1",
	[ST_USER_SET_VERIFIED] = "UPDATE users SET email_verified = 1 WHERE id = $1",
	[ST_CONFIRM_CREATE] =
	    "INSERT INTO email_confirmations (key_hash, user_id, email, created_at, expires_at)"
	    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
	/* found and deleted in one statement: two instances cannot both take it */
	[ST_CONFIRM_TAKE] = "DELETE FROM email_confirmations WHERE key_hash = $1"
	                    " RETURNING id, user_id, email, created_at, expires_at",
	[ST_CONFIRM_DELETE_USER] = "DELETE FROM email_confirmations WHERE user_id = $1",
	[ST_OUTBOX_ADD] = "INSERT INTO outbox (recipient, message, created_at, next_attempt_at)"
	                  " VALUES ($1, $2, $3, $3)",
	/* the due messages leased in one statement; SKIP LOCKED: another instance's mailer claiming at
	 * the same moment takes the others, never the same ones */
	[ST_OUTBOX_CLAIM] =
	    "WITH due AS MATERIALIZED (SELECT id, next_attempt_at AS was FROM outbox"
	    " WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3"
	    " FOR UPDATE SKIP LOCKED),"
	    " leased AS (UPDATE outbox o SET next_attempt_at = $2 FROM due WHERE o.id = due.id"
	    " RETURNING o.id, o.recipient, o.message, o.attempts, due.was)"
	    " SELECT id, recipient, message, attempts FROM leased ORDER BY was, id",
	/* a delivered message's text goes: its links hold keys that must not stay at rest */
	[ST_OUTBOX_SENT] =
	    "UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = '', message = ''"
	    " WHERE id = $2",
	[ST_OUTBOX_FAILED] =
	    "UPDATE outbox SET next_attempt_at = $1, attempts = attempts + 1, last_error = $2"
	    " WHERE id = $3",
	/* a message the mailer gave up on waits at INT64_MAX / 2 (src/mail/mailer.c) */
	[ST_OUTBOX_DEPTH] =
	    "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND next_attempt_at < 4611686018427387903",
	[ST_SESSIONS_LIVE] = "SELECT count(*) FROM sessions WHERE expires_at > $1",
	[ST_SESSION_LIST] =
	    "SELECT id, user_id, created_at, last_seen, expires_at, ip, user_agent FROM sessions"
	    " WHERE user_id = $1 ORDER BY last_seen DESC, id DESC",
	[ST_SESSION_DELETE_ID] = "DELETE FROM sessions WHERE id = $1 AND ($2::bigint = 0 OR user_id = $2)",
	[ST_TOKEN_LIST] = "SELECT id, user_id, name, created_at, expires_at, last_used FROM tokens"
	                  " WHERE user_id = $1 ORDER BY id DESC",
	[ST_TOKEN_DELETE_ID] = "DELETE FROM tokens WHERE id = $1 AND ($2::bigint = 0 OR user_id = $2)",
	/* SQLite's LIMIT -1 is "no limit" and a negative OFFSET is 0; PostgreSQL refuses both */
	[ST_USER_LIST] = "SELECT " USER_COLS " FROM users u"
	                 " WHERE ($1::text IS NULL OR strpos(u.email, $1::text) > 0) ORDER BY u.id"
	                 " LIMIT CASE WHEN $2::bigint < 0 THEN NULL ELSE $2::bigint END"
	                 " OFFSET GREATEST($3::bigint, 0)",
	[ST_USER_COUNT] =
	    "SELECT count(*) FROM users WHERE ($1::text IS NULL OR strpos(email, $1::text) > 0)",
	[ST_USER_SET_FLAGS] =
	    "UPDATE users SET is_active = $1, is_staff = $2, is_superuser = $3, email_verified = $4"
	    " WHERE id = $5",
	[ST_AUDIT_ADD] = "INSERT INTO audit (at, actor_id, user_id, event, detail, ip, user_agent)"
	                 " VALUES ($1, NULLIF($2::bigint, 0), NULLIF($3::bigint, 0), $4, $5, $6, $7)"
	                 " RETURNING id",
#define AUDIT_WHERE                                                                                          \
	" WHERE ($1::bigint = 0 OR user_id = $1) AND ($2::bigint = 0 OR actor_id = $2)"                      \
	" AND ($3::text IS NULL OR event = $3::text)"                                                        \
	" AND ($4::text IS NULL OR left(event, length($4::text)) = $4::text)"
	[ST_AUDIT_LIST] =
	    "SELECT id, at, COALESCE(actor_id, 0), COALESCE(user_id, 0), event, detail, ip, user_agent"
	    " FROM audit" AUDIT_WHERE " ORDER BY id DESC"
	    " LIMIT CASE WHEN $5::bigint < 0 THEN NULL ELSE $5::bigint END OFFSET GREATEST($6::bigint, 0)",
	[ST_AUDIT_COUNT] = "SELECT count(*) FROM audit" AUDIT_WHERE,
	[ST_STATE_CREATE] =
	    "INSERT INTO social_states (state_hash, provider, browser_hash, verifier, nonce, next,"
	    " link_user_id, expires_at, ip) VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7::bigint, 0), $8, $9)"
	    " ON CONFLICT DO NOTHING RETURNING 0",
	/* single use: found and deleted in one statement */
	[ST_STATE_TAKE] = "DELETE FROM social_states WHERE state_hash = $1 RETURNING provider, browser_hash,"
	                  " verifier, nonce, next, COALESCE(link_user_id, 0), expires_at",
	/* state_hash is the primary key where SQLite uses its rowid */
	[ST_STATE_PURGE] =
	    "DELETE FROM social_states WHERE state_hash IN (SELECT state_hash FROM social_states"
	    " WHERE expires_at <= $1 LIMIT $2)",
	/* all of a browser's states but its $2 newest */
	[ST_STATE_TRIM_BROWSER] = "DELETE FROM social_states WHERE state_hash IN (SELECT state_hash FROM"
	                          " social_states WHERE browser_hash = $1 ORDER BY expires_at DESC,"
	                          " state_hash DESC OFFSET GREATEST($2::bigint, 0))",
	/* an IP's live states, counted up to $3 */
	[ST_STATE_COUNT_IP] = "SELECT count(*) FROM (SELECT 1 FROM social_states WHERE ip = $1"
	                      " AND expires_at > $2 LIMIT GREATEST($3::bigint, 0)) AS live",
	[ST_IDENTITY_GET] = "SELECT id, user_id, provider, uid, extra, created_at FROM social_identities"
	                    " WHERE provider = $1 AND uid = $2",
	[ST_IDENTITY_CREATE] = "INSERT INTO social_identities (user_id, provider, uid, extra, created_at)"
	                       " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
	[ST_IDENTITY_EXTRA] = "UPDATE social_identities SET extra = $1 WHERE id = $2",
	[ST_IDENTITY_LIST] = "SELECT id, user_id, provider, uid, extra, created_at FROM social_identities"
	                     " WHERE user_id = $1 ORDER BY id",
	[ST_IDENTITY_DELETE] =
	    "DELETE FROM social_identities WHERE id = $1 AND ($2::bigint = 0 OR user_id = $2)",
	[ST_USER_SET_NAMES] = "UPDATE users SET first_name = $1, last_name = $2 WHERE id = $3",
	/* taken first, in its own statement, so the count below sees every attempt committed before it */
	[ST_THROTTLE_LOCK] = "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))",
	[ST_THROTTLE_ADD] =
	    "INSERT INTO throttle_hits (key_hash, at, expires_at) SELECT $1::text, $2::bigint,"
	    " $2::bigint + $3::bigint WHERE (SELECT count(*) FROM throttle_hits WHERE key_hash = $1::text"
	    " AND at > $2::bigint - $3::bigint) < $4::bigint",
	[ST_THROTTLE_WAIT] =
	    "SELECT at FROM throttle_hits WHERE key_hash = $1 AND at > $2::bigint - $3::bigint"
	    " ORDER BY at DESC, id DESC LIMIT 1 OFFSET GREATEST($4::bigint - 1, 0)",
	[ST_THROTTLE_RELEASE] = "DELETE FROM throttle_hits WHERE id ="
	                        " (SELECT max(id) FROM throttle_hits WHERE key_hash = $1)",
	[ST_THROTTLE_RESET] = "DELETE FROM throttle_hits WHERE key_hash = $1",
	[ST_THROTTLE_PURGE] = "DELETE FROM throttle_hits WHERE id IN"
	                      " (SELECT id FROM throttle_hits WHERE expires_at <= $1 LIMIT $2)",
	/* second factors (pgsql_mfa.c) */
	[ST_USER_SET_MFA] = "UPDATE users SET mfa_enabled = $1 WHERE id = $2",
	[ST_TOTP_GET] = "SELECT secret, confirmed, last_step, created_at FROM mfa_totp WHERE user_id = $1",
	/* a set-up started again replaces the unconfirmed secret; a confirmed one is never touched (no
	 * row returned: STORE_CONFLICT, and the caller's transaction goes on) */
	[ST_TOTP_PUT_PENDING] =
	    "INSERT INTO mfa_totp (user_id, secret, confirmed, last_step, created_at) VALUES ($1, $2, 0, 0, "
	    "$3)"
	    " ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = 0,"
	    " created_at = excluded.created_at WHERE mfa_totp.confirmed = 0 RETURNING user_id",
	[ST_TOTP_CONFIRM] = "UPDATE mfa_totp SET confirmed = 1, last_step = $2, created_at = $4"
	                    " WHERE user_id = $1 AND confirmed = 0 AND created_at >= $3",
	/* the replay guard: a step is accepted once, and never one older than the last (a concurrent
	 * update of the row is waited for, then the condition is checked again on its result) */
	[ST_TOTP_USE_STEP] =
	    "UPDATE mfa_totp SET last_step = $2 WHERE user_id = $1 AND confirmed = 1 AND last_step < $2",
	[ST_TOTP_DELETE] = "DELETE FROM mfa_totp WHERE user_id = $1",
	[ST_RECOVERY_DELETE_USER] = "DELETE FROM mfa_recovery WHERE user_id = $1",
	[ST_RECOVERY_ADD] = "INSERT INTO mfa_recovery (user_id, code_hash, created_at) VALUES ($1, $2, $3)"
	                    " ON CONFLICT DO NOTHING RETURNING id",
	/* used once: of two concurrent uses the second waits, then finds it used */
	[ST_RECOVERY_USE] = "UPDATE mfa_recovery SET used_at = GREATEST($3::bigint, 1)"
	                    " WHERE user_id = $1 AND code_hash = $2 AND used_at = 0",
	[ST_RECOVERY_COUNT] = "SELECT count(*), count(*) FILTER (WHERE used_at = 0) FROM mfa_recovery"
	                      " WHERE user_id = $1",
#define WEBAUTHN_COLS                                                                                        \
	"id, user_id, cred_id, public_key, alg, sign_count, name, transports, created_at, last_used"
	[ST_WEBAUTHN_ADD] =
	    "INSERT INTO webauthn_credentials (user_id, cred_id, public_key, alg, sign_count, name,"
	    " transports, created_at, last_used) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)"
	    " ON CONFLICT (cred_id) DO NOTHING RETURNING id",
	[ST_WEBAUTHN_GET] = "SELECT " WEBAUTHN_COLS " FROM webauthn_credentials WHERE cred_id = $1",
	[ST_WEBAUTHN_GET_ID] = "SELECT " WEBAUTHN_COLS
	                       " FROM webauthn_credentials WHERE id = $1 AND user_id = $2",
	[ST_WEBAUTHN_LIST] = "SELECT " WEBAUTHN_COLS
	                     " FROM webauthn_credentials WHERE user_id = $1 ORDER BY id DESC",
	[ST_WEBAUTHN_COUNT] = "SELECT count(*) FROM webauthn_credentials WHERE user_id = $1",
	[ST_WEBAUTHN_RENAME] = "UPDATE webauthn_credentials SET name = $3 WHERE id = $1 AND user_id = $2",
	[ST_WEBAUTHN_DELETE] = "DELETE FROM webauthn_credentials WHERE id = $1 AND user_id = $2",
	/* compare-and-set on the signature counter: one assertion per counter value */
	[ST_WEBAUTHN_USED] = "UPDATE webauthn_credentials SET sign_count = $3, last_used = $4"
	                     " WHERE id = $1 AND sign_count = $2",
	[ST_WEBAUTHN_EXISTS] = "SELECT count(*) FROM webauthn_credentials WHERE id = $1",
	[ST_WEBAUTHN_DELETE_USER] = "DELETE FROM webauthn_credentials WHERE user_id = $1",
	[ST_CHALLENGE_CREATE] =
	    "INSERT INTO mfa_challenges (challenge_hash, purpose, user_id, bind_hash, expires_at)"
	    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 0",
	/* all of a binding's challenges but the one just made ($3) and its $2 newest others */
	[ST_CHALLENGE_TRIM] =
	    "DELETE FROM mfa_challenges WHERE challenge_hash IN (SELECT challenge_hash FROM mfa_challenges"
	    " WHERE bind_hash = $1 AND challenge_hash <> $3 ORDER BY expires_at DESC, challenge_hash DESC"
	    " OFFSET GREATEST($2::bigint, 0))",
	/* single use: found and deleted in one statement */
	[ST_CHALLENGE_TAKE] = "DELETE FROM mfa_challenges WHERE challenge_hash = $1"
	                      " RETURNING purpose, user_id, bind_hash, expires_at",
	[ST_CHALLENGE_PURGE] =
	    "DELETE FROM mfa_challenges WHERE challenge_hash IN (SELECT challenge_hash FROM mfa_challenges"
	    " WHERE expires_at <= $1 LIMIT $2)",
	[ST_PENDING_CREATE] =
	    "INSERT INTO mfa_pending (key_hash, user_id, auth_hash, method, next, created_at, expires_at)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING 0",
#define PENDING_COLS "user_id, auth_hash, method, next, created_at, expires_at"
	[ST_PENDING_GET] = "SELECT " PENDING_COLS " FROM mfa_pending WHERE key_hash = $1",
	[ST_PENDING_TAKE] = "DELETE FROM mfa_pending WHERE key_hash = $1 RETURNING " PENDING_COLS,
	[ST_PENDING_DELETE] = "DELETE FROM mfa_pending WHERE key_hash = $1",
	[ST_PENDING_PURGE] = "DELETE FROM mfa_pending WHERE key_hash IN (SELECT key_hash FROM mfa_pending"
	                     " WHERE expires_at <= $1 LIMIT $2)",
	[ST_WEBHOOK_ADD] =
	    "INSERT INTO webhook_outbox (msg_id, endpoint, event, payload, created_at, next_attempt_ms)"
	    " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
	/* the due messages leased in one statement; SKIP LOCKED: another instance's worker claiming at
	 * the same moment takes the others, never the same ones */
	[ST_WEBHOOK_CLAIM] =
	    "WITH due AS MATERIALIZED (SELECT id, next_attempt_ms AS was FROM webhook_outbox"
	    " WHERE done_at IS NULL AND next_attempt_ms <= $1 ORDER BY next_attempt_ms, id LIMIT $3"
	    " FOR UPDATE SKIP LOCKED),"
	    " leased AS (UPDATE webhook_outbox o SET next_attempt_ms = $2 FROM due WHERE o.id = due.id"
	    " RETURNING o.id, o.msg_id, o.endpoint, o.event, o.payload, o.created_at, o.next_attempt_ms, "
	    "o.attempts, o.last_status, o.last_error, o.delivered, o.done_at, due.was)"
	    " SELECT id, msg_id, endpoint, event, payload, created_at, next_attempt_ms, attempts, "
	    "last_status, last_error, delivered, done_at FROM leased ORDER BY was, id",
	[ST_WEBHOOK_DELIVERED] =
	    "UPDATE webhook_outbox SET delivered = 1, done_at = $3, attempts = attempts + 1,"
	    " last_status = $2, last_error = '' WHERE id = $1 AND done_at IS NULL",
	[ST_WEBHOOK_FAILED] =
	    "UPDATE webhook_outbox SET attempts = attempts + 1, last_status = $2, last_error = $3,"
	    " next_attempt_ms = $4, done_at = CASE WHEN $5::int <> 0 THEN $6::bigint END"
	    " WHERE id = $1 AND done_at IS NULL",
	[ST_WEBHOOK_GET] =
	    "SELECT id, msg_id, endpoint, event, payload, created_at, next_attempt_ms, attempts, "
	    "last_status, last_error, delivered, done_at FROM webhook_outbox WHERE id = $1",
	[ST_WEBHOOK_PURGE] = "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox"
	                     " WHERE done_at IS NOT NULL AND done_at < $1 LIMIT $2)",
	[ST_PING] = "SELECT 1",
	/* import from Django and export (pgsql_import.c) */
	[ST_DJANGO_USER_GET] =
	    "SELECT django_model, django_pk, user_id, row_hash, password_hash, imported_at FROM django_users"
	    " WHERE django_model = $1 AND django_pk = $2",
	[ST_DJANGO_USER_BY_USER] =
	    "SELECT django_model, django_pk, user_id, row_hash, password_hash, imported_at FROM django_users"
	    " WHERE user_id = $1",
	[ST_DJANGO_USER_PUT] = "INSERT INTO django_users (django_model, django_pk, user_id, row_hash, "
	                       "password_hash, imported_at)"
	                       " SELECT $1, $2, $3::bigint, $4, $5, $6::bigint WHERE NOT EXISTS (SELECT 1 "
	                       "FROM django_users WHERE user_id = $3"
	                       " AND (django_model <> $1 OR django_pk <> $2)) ON CONFLICT (django_model, "
	                       "django_pk) DO UPDATE SET"
	                       " user_id = excluded.user_id, row_hash = excluded.row_hash, password_hash = "
	                       "excluded.password_hash,"
	                       " imported_at = excluded.imported_at",
	[ST_TOKEN_EACH] =
	    "SELECT id, user_id, name, created_at, expires_at, last_used, key_hash FROM tokens ORDER BY id",
	/* one import at a time: a transaction-scoped advisory lock on a key of its own */
	[ST_IMPORT_LOCK] = "SELECT pg_advisory_xact_lock(hashtext('gatehouse import-django'))",
};

/* ---- open, close, schema ---- */

static int
pg_open(struct store *st, const char *dsn, char *err, size_t errsz)
{
	struct pgsql_impl *im;
	PQconninfoOption *opts;
	char *perr = NULL, cerr[256];

	/* checked here so a typo is reported as one, not as a failed connection */
	if ((opts = PQconninfoParse(dsn, &perr)) == NULL) {
		pg_first_line(perr ? perr : "out of memory", cerr, sizeof(cerr));
		snprintf(err, errsz, "postgres: invalid connection string: %s", cerr);
		PQfreemem(perr);
		return -1;
	}
	im = xcalloc(1, sizeof(*im));
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, "options") != 0 || o->val == NULL || o->val[0] == '\0')
			continue;
		im->dsn_has_options = true;
		if (strstr(o->val, "statement_timeout") == NULL) {
			size_t n = strlen(o->val) + sizeof(STATEMENT_TIMEOUT) + 1;
			im->options = xmalloc(n);
			snprintf(im->options, n, "%s " STATEMENT_TIMEOUT, o->val);
		}
	}
	PQconninfoFree(opts);
	im->dsn = xstrdup(dsn);
	pthread_mutex_init(&im->lock, NULL);
	if (pthread_key_create(&im->tls, NULL) != 0)
		fatal("pthread_key_create");
	st->impl = im;
	/* connect now so a bad DSN, password or host fails at start-up, not on the first request (the
	 * caller prints the reason: no log line too) */
	if ((pg_conn_mine(im)->pg = pg_connect(im, false, cerr, sizeof(cerr))) == NULL) {
		snprintf(err, errsz, "postgres: cannot connect: %s", cerr);
		st->ops->close(st);
		st->impl = NULL;
		return -1;
	}
	return 0;
}

static void
pg_close(struct store *st)
{
	struct pgsql_impl *im = st->impl;
	struct pg_conn *c, *next;

	if (im == NULL)
		return;
	if (im->cache)
		pg_cache_free(im->cache);
	for (c = im->conns; c; c = next) {
		next = c->next;
		if (c->pg)
			PQfinish(c->pg);
		free(c);
	}
	pthread_key_delete(im->tls);
	pthread_mutex_destroy(&im->lock);
	if (im->dsn)
		explicit_bzero(im->dsn, strlen(im->dsn)); /* it may hold a password */
	free(im->dsn);
	free(im->options);
	free(im);
	st->impl = NULL;
}

/* a command of migrate: 0, or -1 with err */
static int
mig_exec(PGconn *pg, const char *sql, const char *what, char *err, size_t errsz)
{
	PGresult *r = PQexec(pg, sql);
	char line[256];
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(pg), line, sizeof(line));
		snprintf(err, errsz, "postgres: %s: %s", what, line);
		ret = -1;
	}
	PQclear(r);
	return ret;
}

/* MAX(version) of schema_migrations: 0 or more, -2 when the table is missing, -1 on an error */
static int
schema_version(PGconn *pg, char *err, size_t errsz)
{
	PGresult *r = PQexec(pg, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
	const char *state;
	char line[256];
	int v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
	else if ((state = PQresultErrorField(r, PG_DIAG_SQLSTATE)) != NULL && strcmp(state, "42P01") == 0)
		v = -2;
	else {
		pg_first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(pg), line, sizeof(line));
		snprintf(err, errsz, "postgres: cannot read the schema version: %s", line);
	}
	PQclear(r);
	return v;
}

static int
pg_migrate(struct store *st, int *applied, char *err, size_t errsz)
{
	struct pg_conn *c;
	int current, n = (int)postgres_migrations_count;
	char cerr[256], what[64];

	*applied = 0;
	if ((c = pg_conn_get(st, cerr, sizeof(cerr))) == NULL) {
		snprintf(err, errsz, "postgres: cannot connect: %s", cerr);
		return -1;
	}
	/* the lock first: two instances migrating at once queue here, and the second finds the work
	 * done (CREATE TABLE IF NOT EXISTS alone races: both may try to create it) */
	/* no statement_timeout here: a migration may rewrite a large table, and a second `gatehouse
	 * migrate` waits on the lock for as long as the first one takes */
	if (mig_exec(c->pg, "BEGIN; SET LOCAL statement_timeout = 0", "BEGIN", err, errsz) != 0)
		goto fail;
	if (mig_exec(c->pg, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", "migration lock", err, errsz) !=
	        0 ||
	    mig_exec(c->pg,
	        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
	        " applied_at BIGINT NOT NULL)",
	        "schema_migrations", err, errsz) != 0)
		goto fail;
	if ((current = schema_version(c->pg, err, errsz)) < 0)
		goto fail;
	if (current > n) {
		snprintf(err, errsz, "database schema is version %d, newer than this gatehouse (%d)", current,
		    n);
		goto fail;
	}
	for (int v = current + 1; v <= n; v++) {
		char sql[128];

		snprintf(what, sizeof(what), "migration %04d", v);
		if (mig_exec(c->pg, postgres_migrations[v - 1], what, err, errsz) != 0)
			goto fail;
		snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations VALUES (%d, %lld)", v,
		    (long long)now_unix());
		if (mig_exec(c->pg, sql, what, err, errsz) != 0)
			goto fail;
		(*applied)++;
	}
	if (mig_exec(c->pg, "COMMIT", "COMMIT", err, errsz) != 0) {
		*applied = 0;
		return -1;
	}
	return 0;
fail:
	if (PQstatus(c->pg) == CONNECTION_BAD)
		pg_conn_drop(c);
	else
		PQclear(PQexec(c->pg, "ROLLBACK"));
	*applied = 0;
	return -1;
}

static int
pg_schema_check(struct store *st, char *err, size_t errsz)
{
	struct pg_conn *c;
	int current, n = (int)postgres_migrations_count;
	char cerr[256];

	if ((c = pg_conn_get(st, cerr, sizeof(cerr))) == NULL) {
		snprintf(err, errsz, "postgres: cannot connect: %s", cerr);
		return -1;
	}
	if ((current = schema_version(c->pg, err, errsz)) == -1)
		return -1;
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
pg_cache_start_op(struct store *st, int ttl, char *err, size_t errsz)
{
	struct pgsql_impl *im = st->impl;

	if (ttl <= 0 || im->cache != NULL)
		return 0;
	if ((im->cache = pg_cache_new(st, ttl, err, errsz)) == NULL)
		return -1;
	return 0;
}

static int
pg_ping(struct store *st)
{
	int rc;
	PGresult *r = pg_run(st, ST_PING, NULL, &rc);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* ---- users ---- */

static int
pg_user_create(struct store *st, struct store_user *u)
{
	struct pg_params p = { 0 };

	pg_text(&p, u->email);
	pg_text(&p, u->password);
	pg_text(&p, u->first_name);
	pg_text(&p, u->last_name);
	pg_int(&p, u->is_active);
	pg_int(&p, u->is_staff);
	pg_int(&p, u->is_superuser);
	pg_int(&p, u->email_verified);
	pg_int(&p, u->date_joined);
	pg_text(&p, u->auth_hash);
	return pg_insert(st, ST_USER_CREATE, &p, &u->id);
}

static int
user_query(struct store *st, enum stmt which, const struct pg_params *p, struct store_user *u)
{
	int rc;
	PGresult *r = pg_one(st, which, p, &rc);

	if (r == NULL)
		return rc;
	pg_read_user(r, 0, 0, u);
	pg_col_text(r, 0, NUSER_COLS, u->password, sizeof(u->password));
	PQclear(r);
	return 0;
}

static int
pg_user_by_email(struct store *st, const char *email, struct store_user *u)
{
	struct pg_params p = { 0 };

	pg_text(&p, email);
	return user_query(st, ST_USER_BY_EMAIL, &p, u);
}

static int
pg_user_by_id(struct store *st, int64_t id, struct store_user *u)
{
	struct pg_params p = { 0 };

	pg_int(&p, id);
	return user_query(st, ST_USER_BY_ID, &p, u);
}

/* a write that changes what a signed-in caller resolves to: its cache entries go too (after it,
 * whatever it returned: a failed write may still have committed) */
static int
write_dropping(struct store *st, enum stmt which, const struct pg_params *p, char kind, int64_t id,
    const char *key_hash)
{
	int rc = pg_write(st, which, p, NULL);

	pg_invalidate(st, kind, id, key_hash);
	return rc;
}

static int
pg_user_set_password(struct store *st, int64_t id, const char *hash, const char *new_auth_hash)
{
	struct pg_params p = { 0 };

	pg_text(&p, hash);
	if (new_auth_hash)
		pg_text(&p, new_auth_hash);
	pg_int(&p, id);
	return write_dropping(st, new_auth_hash ? ST_USER_SET_PASSWORD : ST_USER_SET_PASSWORD_KEEP, &p, 'u',
	    id, NULL);
}

/* two integers: ($1, $2) */
static int
exec2(struct store *st, enum stmt which, int64_t a, int64_t b)
{
	struct pg_params p = { 0 };

	pg_int(&p, a);
	pg_int(&p, b);
	return pg_write(st, which, &p, NULL);
}

static int
pg_user_set_last_login(struct store *st, int64_t id, int64_t when)
{
	struct pg_params p = { 0 };

	pg_int(&p, when);
	pg_int(&p, id);
	return write_dropping(st, ST_USER_LAST_LOGIN, &p, 'u', id, NULL);
}

static int
pg_user_set_verified(struct store *st, int64_t id)
{
	struct pg_params p = { 0 };

	pg_int(&p, id);
	return write_dropping(st, ST_USER_SET_VERIFIED, &p, 'u', id, NULL);
}

static int
pg_user_set_names(struct store *st, int64_t id, const char *first_name, const char *last_name)
{
	struct pg_params p = { 0 };

	pg_text(&p, first_name);
	pg_text(&p, last_name);
	pg_int(&p, id);
	return write_dropping(st, ST_USER_SET_NAMES, &p, 'u', id, NULL);
}

/* ---- sessions ---- */

static int
pg_session_create(struct store *st, struct store_session *ss, const char *ip, const char *ua)
{
	struct pg_params p = { 0 };

	pg_text(&p, ss->key_hash);
	pg_int(&p, ss->user_id);
	pg_text(&p, ss->auth_hash);
	pg_int(&p, ss->created_at);
	pg_int(&p, ss->expires_at);
	pg_int(&p, ss->last_seen);
	pg_text(&p, ip ? ip : "");
	pg_text(&p, ua ? ua : "");
	pg_int(&p, ss->reauth_at);
	return pg_insert(st, ST_SESSION_CREATE, &p, &ss->id);
}

/* the cache, unless off or inside a transaction (which may read its own uncommitted rows) */
static struct pg_cache *
cache_for_read(struct store *st)
{
	struct pgsql_impl *im = st->impl;

	return im->cache && !pg_in_transaction(st) ? im->cache : NULL;
}

static int
pg_session_get(struct store *st, const char *key_hash, struct store_session *ss, struct store_user *u)
{
	struct pg_cache *cache = cache_for_read(st);
	struct pg_params p = { 0 };
	uint64_t epoch = 0;
	PGresult *r;
	int rc;

	if (cache) {
		if (pg_cache_get_session(cache, key_hash, ss, u) == 0)
			return 0;
		epoch = pg_cache_epoch(cache);
	}
	pg_text(&p, key_hash);
	if ((r = pg_one(st, ST_SESSION_GET, &p, &rc)) == NULL)
		return rc;
	ss->id = pg_col_int(r, 0, 0);
	ss->user_id = pg_col_int(r, 0, 1);
	pg_col_text(r, 0, 2, ss->auth_hash, sizeof(ss->auth_hash));
	ss->created_at = pg_col_int(r, 0, 3);
	ss->expires_at = pg_col_int(r, 0, 4);
	ss->last_seen = pg_col_int(r, 0, 5);
	strlcpy_ok(ss->key_hash, key_hash, sizeof(ss->key_hash));
	pg_read_user(r, 0, 6, u);
	ss->reauth_at = pg_col_int(r, 0, 6 + NUSER_COLS);
	PQclear(r);
	if (cache)
		pg_cache_put_session(cache, epoch, ss, u);
	return 0;
}

static int
pg_session_delete(struct store *st, const char *key_hash)
{
	struct pg_params p = { 0 };

	pg_text(&p, key_hash);
	return write_dropping(st, ST_SESSION_DELETE, &p, 's', 0, key_hash);
}

static int
pg_session_touch(struct store *st, int64_t id, int64_t when)
{
	struct pgsql_impl *im = st->impl;
	int rc = exec2(st, ST_SESSION_TOUCH, when, id);

	/* not a revocation (no NOTIFY): this instance's copy moves forward with it */
	if (rc == 0 && im->cache)
		pg_cache_touch(im->cache, 's', id, when);
	return rc;
}

static int
pg_session_set_reauth(struct store *st, int64_t id, int64_t when)
{
	struct pg_params p = { 0 };

	pg_int(&p, when);
	pg_int(&p, id);
	return write_dropping(st, ST_SESSION_REAUTH, &p, 'S', id, NULL);
}

static int
pg_session_delete_user(struct store *st, int64_t user_id, int64_t except_id)
{
	struct pg_params p = { 0 };

	pg_int(&p, user_id);
	pg_int(&p, except_id);
	return write_dropping(st, ST_SESSION_DELETE_USER, &p, 'u', user_id, NULL);
}

static int
pg_session_delete_expired(struct store *st, int64_t now)
{
	struct pg_params p = { 0 };

	pg_int(&p, now);
	return pg_write(st, ST_SESSION_DELETE_EXPIRED, &p, NULL);
}

/* ---- tokens ---- */

static int
pg_token_create(struct store *st, struct store_token *t)
{
	struct pg_params p = { 0 };

	pg_text(&p, t->key_hash);
	pg_int(&p, t->user_id);
	pg_text(&p, t->name);
	pg_int(&p, t->created_at);
	if (t->expires_at)
		pg_int(&p, t->expires_at);
	else
		pg_text(&p, NULL);
	return pg_insert(st, ST_TOKEN_CREATE, &p, &t->id);
}

static int
pg_token_get(struct store *st, const char *key_hash, struct store_token *t, struct store_user *u)
{
	struct pg_cache *cache = cache_for_read(st);
	struct pg_params p = { 0 };
	uint64_t epoch = 0;
	PGresult *r;
	int rc;

	if (cache) {
		if (pg_cache_get_token(cache, key_hash, t, u) == 0)
			return 0;
		epoch = pg_cache_epoch(cache);
	}
	pg_text(&p, key_hash);
	if ((r = pg_one(st, ST_TOKEN_GET, &p, &rc)) == NULL)
		return rc;
	t->id = pg_col_int(r, 0, 0);
	t->user_id = pg_col_int(r, 0, 1);
	pg_col_text(r, 0, 2, t->name, sizeof(t->name));
	t->created_at = pg_col_int(r, 0, 3);
	t->expires_at = pg_col_int(r, 0, 4);
	t->last_used = pg_col_int(r, 0, 5);
	strlcpy_ok(t->key_hash, key_hash, sizeof(t->key_hash));
	pg_read_user(r, 0, 6, u);
	PQclear(r);
	if (cache)
		pg_cache_put_token(cache, epoch, t, u);
	return 0;
}

static int
pg_token_touch(struct store *st, int64_t id, int64_t when)
{
	struct pgsql_impl *im = st->impl;
	int rc = exec2(st, ST_TOKEN_TOUCH, when, id);

	if (rc == 0 && im->cache)
		pg_cache_touch(im->cache, 't', id, when);
	return rc;
}

static int
pg_token_delete_user(struct store *st, int64_t user_id)
{
	struct pg_params p = { 0 };

	pg_int(&p, user_id);
	return write_dropping(st, ST_TOKEN_DELETE_USER, &p, 'u', user_id, NULL) < 0 ? -1 : 0;
}

static void
pg_store_set_deadline(struct store *st, int ms)
{
	pg_set_deadline(st->impl, ms);
}

const struct store_ops store_pgsql_ops = {
	.name = "postgres",
	.open = pg_open,
	.close = pg_close,
	.migrate = pg_migrate,
	.schema_check = pg_schema_check,
	.cache_start = pg_cache_start_op,
	.set_deadline = pg_store_set_deadline,
	.ping = pg_ping,
	.user_create = pg_user_create,
	.user_by_email = pg_user_by_email,
	.user_by_id = pg_user_by_id,
	.user_set_password = pg_user_set_password,
	.user_set_last_login = pg_user_set_last_login,
	.session_create = pg_session_create,
	.session_get = pg_session_get,
	.session_delete = pg_session_delete,
	.session_touch = pg_session_touch,
	.session_set_reauth = pg_session_set_reauth,
	.session_delete_user = pg_session_delete_user,
	.session_delete_expired = pg_session_delete_expired,
	.token_create = pg_token_create,
	.token_get = pg_token_get,
	.token_touch = pg_token_touch,
	.token_delete_user = pg_token_delete_user,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.user_set_verified = pg_user_set_verified,
	.confirmation_create = pg_confirmation_create,
	.confirmation_take = pg_confirmation_take,
	.confirmation_delete_user = pg_confirmation_delete_user,
	.outbox_add = pg_outbox_add,
	.outbox_claim = pg_outbox_claim,
	.outbox_sent = pg_outbox_sent,
	.outbox_failed = pg_outbox_failed,
	.outbox_depth = pg_outbox_depth,
	.sessions_live = pg_sessions_live,
	.session_list = pg_session_list,
	.session_delete_id = pg_session_delete_id,
	.token_list = pg_token_list,
	.token_delete_id = pg_token_delete_id,
	.user_list = pg_user_list,
	.user_set_flags = pg_user_set_flags,
	.audit_add = pg_audit_add,
	.audit_list = pg_audit_list,
	.social_state_create = pg_social_state_create,
	.social_state_purge = pg_social_state_purge,
	.social_state_take = pg_social_state_take,
	.identity_get = pg_identity_get,
	.identity_create = pg_identity_create,
	.identity_update_extra = pg_identity_update_extra,
	.identity_list = pg_identity_list,
	.identity_delete = pg_identity_delete,
	.user_set_names = pg_user_set_names,
	.throttle_reserve = pg_throttle_reserve,
	.throttle_release = pg_throttle_release,
	.throttle_reset = pg_throttle_reset,
	.throttle_purge = pg_throttle_purge,
	.user_set_mfa = pg_user_set_mfa,
	.totp_get = pg_totp_get,
	.totp_put_pending = pg_totp_put_pending,
	.totp_confirm = pg_totp_confirm,
	.totp_use_step = pg_totp_use_step,
	.totp_delete = pg_totp_delete,
	.recovery_replace = pg_recovery_replace,
	.recovery_use = pg_recovery_use,
	.recovery_count = pg_recovery_count,
	.recovery_delete_user = pg_recovery_delete_user,
	.webauthn_add = pg_webauthn_add,
	.webauthn_get = pg_webauthn_get,
	.webauthn_get_id = pg_webauthn_get_id,
	.webauthn_list = pg_webauthn_list,
	.webauthn_count = pg_webauthn_count,
	.webauthn_rename = pg_webauthn_rename,
	.webauthn_delete = pg_webauthn_delete,
	.webauthn_used = pg_webauthn_used,
	.mfa_delete_user = pg_mfa_delete_user,
	.challenge_create = pg_challenge_create,
	.challenge_take = pg_challenge_take,
	.challenge_purge = pg_challenge_purge,
	.mfa_pending_create = pg_mfa_pending_create,
	.mfa_pending_get = pg_mfa_pending_get,
	.mfa_pending_take = pg_mfa_pending_take,
	.mfa_pending_delete = pg_mfa_pending_delete,
	.mfa_pending_purge = pg_mfa_pending_purge,
	.webhook_add = pg_webhook_add,
	.webhook_claim = pg_webhook_claim,
	.webhook_delivered = pg_webhook_delivered,
	.webhook_failed = pg_webhook_failed,
	.webhook_get = pg_webhook_get,
	.webhook_purge = pg_webhook_purge,
	/* import from Django and export */
	.django_user_get = pg_django_user_get,
	.django_user_put = pg_django_user_put,
	.token_each = pg_token_each,
	.import_lock = pg_import_lock,
};
