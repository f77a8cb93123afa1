/*
 * accounts — the user lifecycle, one rule in one place: creating a user,
 * setting a password, confirming an address, deactivating.  Every entry
 * point (signup, social login, the admin API, the command line) calls these,
 * so a user made or changed one way has exactly the effects of the others.
 * Plain inputs only (store, config, an actor for the audit): never a
 * request, never http/.  Never begins or commits a transaction: the caller
 * owns it, so the change, its mail and its audit row land together or not
 * at all.  Never logs a password, hash or key.
 *
 * Password policy, one per reason (docs/design.md §3):
 *   ACCOUNTS_PW_RESET  (reset-confirm link): new auth hash, EVERY session and
 *       EVERY token ends (whoever lost the password may hold them), the
 *       address is marked verified (the link proved it: accounts_confirm_email,
 *       which also drops pending confirmations), "password changed" mail,
 *       audit password.reset.
 *   ACCOUNTS_PW_CHANGE (the signed-in owner, old password checked): new auth
 *       hash, every session ends; the caller's own goes on because the
 *       handler rotates it (session_rotate) inside the same transaction;
 *       tokens stay (the owner made them after proving the password, and a
 *       change is not a recovery); mail; audit password.changed.
 *   ACCOUNTS_PW_CLI    (gatehouse changepassword, an operator): new auth hash,
 *       every session ends; tokens stay, as for a change (an operator who
 *       suspects a stolen key ends it through the admin API); the "password
 *       changed" mail is queued too, because the owner must hear of every
 *       change of their password whoever made it (it is their only signal
 *       of a takeover); audit password.changed with no actor.
 */
#ifndef GATEHOUSE_ACCOUNTS_H
#define GATEHOUSE_ACCOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct config;

/* Who did it, for the audit row: id 0 = nobody signed in; ip and user_agent
 * may be NULL (command line, social pipeline). */
struct accounts_actor {
	int64_t id;
	const char *ip;
	const char *user_agent;
};

/* Where a new user comes from: decides the audit event and how bad names are treated. */
enum accounts_origin {
	ACCOUNTS_SIGNUP, /* audit user.signed_up {"method":"password"} */
	ACCOUNTS_SOCIAL, /* audit user.signed_up {"method":<provider>}; a name that is not
	                  * acceptable is dropped (provider text), not refused */
	ACCOUNTS_ADMIN,  /* audit admin.user.created {is_staff, is_superuser} */
	ACCOUNTS_CLI,    /* the same, no actor, user agent "gatehouse command line" */
	ACCOUNTS_IMPORT, /* gatehouse import-django: audit admin.user.imported {is_staff, is_superuser,
	                  * django_pk: method}, no actor; keeps the imported dates and is_active */
};

struct accounts_new_user {
	enum accounts_origin origin;
	const char *email;                  /* as given: normalised here (user_normalize_email) */
	const char *first_name, *last_name; /* NULL or "" for none */
	const char *password_hash;          /* encoded, already computed; NULL: an unusable password */
	const char *method;                 /* ACCOUNTS_SOCIAL: the provider's name */
	bool is_staff, is_superuser;        /* a superuser is always staff */
	bool email_verified;
	/* ACCOUNTS_IMPORT only: the account comes in inactive; its dates (0: now, never) */
	bool inactive;
	int64_t date_joined, last_login;
};

/* accounts_create_user's answers besides 0 and -1 (store error). */
#define ACCOUNTS_BAD_EMAIL 1 /* not an address, or a look-alike (user_normalize_email refuses it) */
#define ACCOUNTS_BAD_NAME  2 /* a name user_name_valid refuses */
#define ACCOUNTS_TAKEN     3 /* an account has this normal form: *out is that account */

/* Create an active user: normalised email, checked names, the given hash (or
 * an unusable one), flags, verified or not, a fresh auth hash, the audit row.
 * 0 with the new user in *out; ACCOUNTS_BAD_EMAIL, ACCOUNTS_BAD_NAME,
 * ACCOUNTS_TAKEN (*out = the existing account, also when a concurrent insert
 * won), or -1. */
int accounts_create_user(struct store *st, const struct accounts_new_user *n, const struct accounts_actor *a,
    struct store_user *out);

enum accounts_pw_reason { ACCOUNTS_PW_RESET, ACCOUNTS_PW_CHANGE, ACCOUNTS_PW_CLI };

/* Give u the encoded hash per the policy for why (top of this file): u's
 * password, auth_hash and (reset) email_verified are updated in place, so the
 * handler can rotate its session under the new auth hash.  Queues mail but
 * does not wake the mailer.  0 or -1. */
int accounts_set_password(struct store *st, const struct config *cfg, struct store_user *u, const char *hash,
    enum accounts_pw_reason why, const struct accounts_actor *a);
/* A stronger hash of the same password (login rehash): the auth hash stays,
 * so nobody is signed out.  0 or -1. */
int accounts_upgrade_hash(struct store *st, int64_t user_id, const char *hash);

/* The address of u is confirmed: marked verified, pending confirmation keys
 * end; audit email.confirmed when it was not verified before.  0 or -1. */
int accounts_confirm_email(struct store *st, struct store_user *u, const struct accounts_actor *a);

/* u was deactivated (the flag is already set by the caller's update): every
 * session and token of u ends now.  The caller's audit row records the
 * change (admin.user.updated {"is_active": false}).  0 or -1. */
int accounts_deactivate(struct store *st, int64_t user_id);

/* Queue the password-reset mail for u (u->password loaded: the token is
 * bound to it).  Does not wake the mailer.  0 or -1. */
int accounts_queue_reset(struct store *st, const struct config *cfg, const struct store_user *u);

#endif
