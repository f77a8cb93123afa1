/*
 * Unit tests of src/social/pipeline.c on a real SQLite store in a temp file
 * (store_open + store_migrate, each test its own database): every domain
 * error comes back, with its text, for the case it names, nothing is left in
 * the store when the pipeline refuses (the caller rolls back as the API
 * does), and the happy paths create, link and log in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "config.h"
#include "social/social.h"
#include "store/store.h"
#include "test.h"
#include "test_store.h"

#define DEFAULT_PIPELINE                                                                                     \
	"social_details,social_uid,auth_allowed,social_user,create_user,associate_user,"                     \
	"load_extra_data,user_details"
#define BY_EMAIL_PIPELINE                                                                                    \
	"social_details,social_uid,auth_allowed,social_user,associate_by_email,create_user,"                 \
	"associate_user,load_extra_data,user_details"

static char dir[] = "/tmp/gh-social-XXXXXX";
static char path[256];
static int dbs;

static const struct social_provider github = { .name = "github", .label = "GitHub" };

static struct config
config(const char *pipeline, const char *domains, const char *emails)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.social_pipeline = (char *)pipeline;
	c.social_allowed_domains = (char *)domains;
	c.social_allowed_emails = (char *)emails;
	return c;
}

/* A fresh, migrated store of its own (its file name stays in path). */
static struct store *
open_store(void)
{
	char dsn[300];

	snprintf(path, sizeof(path), "%s/%d.db", dir, ++dbs);
	snprintf(dsn, sizeof(dsn), "sqlite:%s", path);
	return test_store_open(dsn);
}

static struct social_profile
profile(const char *uid, const char *email, bool verified)
{
	struct social_profile p;

	memset(&p, 0, sizeof(p));
	snprintf(p.uid, sizeof(p.uid), "%s", uid);
	snprintf(p.email, sizeof(p.email), "%s", email);
	p.email_verified = verified;
	snprintf(p.first_name, sizeof(p.first_name), "Ada");
	snprintf(p.last_name, sizeof(p.last_name), "Lovelace");
	snprintf(p.extra, sizeof(p.extra), "{\"login\":\"ada\"}");
	return p;
}

static int64_t
add_user(struct store *st, const char *email, bool verified, bool active)
{
	struct store_user u;

	memset(&u, 0, sizeof(u));
	snprintf(u.email, sizeof(u.email), "%s", email);
	snprintf(u.password, sizeof(u.password), "!unusable");
	snprintf(u.auth_hash, sizeof(u.auth_hash), "0123456789abcdef0123456789abcdef");
	u.is_active = active;
	u.email_verified = verified;
	u.date_joined = 1700000000;
	if (store_user_create(st, &u) != 0) {
		fprintf(stderr, "store_user_create failed\n");
		exit(1);
	}
	return u.id;
}

static void
add_identity(struct store *st, int64_t user_id, const char *uid)
{
	struct store_identity i;

	memset(&i, 0, sizeof(i));
	i.user_id = user_id;
	snprintf(i.provider, sizeof(i.provider), "github");
	snprintf(i.uid, sizeof(i.uid), "%s", uid);
	snprintf(i.extra, sizeof(i.extra), "{}");
	i.created_at = 1700000000;
	if (store_identity_create(st, &i) != 0) {
		fprintf(stderr, "store_identity_create failed\n");
		exit(1);
	}
}

/* As src/api/social.c does: one transaction, committed only on success. */
static void
run(const struct config *cfg, struct store *st, const struct social_profile *p, int64_t link_user_id,
    struct social_result *res)
{
	CHECK(store_begin(st) == 0);
	social_pipeline(cfg, st, &github, p, link_user_id, res);
	if (res->error == SOCIAL_OK)
		CHECK(store_commit(st) == 0);
	else
		store_rollback(st);
}

/* The user an identity points at, or 0. */
static int64_t
identity_owner(struct store *st, const char *uid)
{
	struct store_identity i;

	return store_identity_get(st, "github", uid, &i) == 0 ? i.user_id : 0;
}

static void
test_missing_uid_is_no_uid(void)
{
	struct store *st = open_store();
	struct config cfg = config(DEFAULT_PIPELINE, "", "");
	struct social_profile p = profile("", "ada@example.com", true);
	struct social_result res;
	struct store_user u;

	run(&cfg, st, &p, 0, &res);
	CHECK(res.error == SOCIAL_ERR_NO_UID);
	CHECK_STR(res.detail, "GitHub did not identify the account.");
	CHECK(store_user_by_email(st, "ada@example.com", &u) == STORE_NOTFOUND);
	store_close(st);
}

static void
test_address_outside_allowed_domains_is_domain_not_allowed(void)
{
	struct store *st = open_store();
	struct config cfg = config(DEFAULT_PIPELINE, "example.org", "");
	struct social_profile p = profile("1", "ada@example.com", true);
	struct social_result res;

	run(&cfg, st, &p, 0, &res);
	CHECK(res.error == SOCIAL_ERR_DOMAIN_NOT_ALLOWED);
	CHECK_STR(res.detail, "Your email address is not allowed to sign in here.");
	CHECK(identity_owner(st, "1") == 0);
	store_close(st);
}

static void
test_unverified_provider_email_in_allowed_domain_is_domain_not_allowed(void)
{
	struct store *st = open_store();
	struct config cfg = config(DEFAULT_PIPELINE, "example.com", "");
	struct social_profile p = profile("1", "ada@example.com", false);
	struct social_result res;

	run(&cfg, st, &p, 0, &res);
	CHECK(res.error == SOCIAL_ERR_DOMAIN_NOT_ALLOWED);
	store_close(st);
}

static void
test_unverified_provider_email_never_reaches_existing_account(void)
{
	struct store *st = open_store();
	struct config cfg = config(BY_EMAIL_PIPELINE, "", "");
	struct social_profile p = profile("1", "ada@example.com", false);
	struct social_result res;

	add_user(st, "ada@example.com", true, true);
	run(&cfg, st, &p, 0, &res);
	CHECK(res.error == SOCIAL_ERR_EMAIL_TAKEN);
	CHECK_STR(res.detail,
	    "An account already uses this email address. Sign in with your password, then connect "
	    "GitHub from your account page.");
	CHECK(identity_owner(st, "1") == 0);
	store_close(st);
}

static void
test_unconfirmed_local_address_is_email_taken_unverified(void)
{
	struct store *st = open_store();
	struct config cfg = config(BY_EMAIL_PIPELINE, "", "");
	struct social_profile p = profile("1", "ada@example.com", true);
	struct social_result res;

	add_user(st, "ada@example.com", false, true);
	run(&cfg, st, &p, 0, &res);
	CHECK(res.error == SOCIAL_ERR_EMAIL_TAKEN_UNVERIFIED);
	CHECK_STR(res.detail,
	    "An account already uses this email address but has not confirmed it. If it is yours, "
	    "sign in with your password (or reset it), then connect GitHub from your account page.");
	CHECK(identity_owner(st, "1") == 0);
	store_close(st);
}

static void
test_no_email_from_provider_is_no_email(void)
{
	struct store *st = open_store();
	struct config cfg = config(DEFAULT_PIPELINE, "", "");
	struct social_profile p = profile("1", "", false);
	struct social_result res;

	run(&cfg, st, &p, 0, &res);
	CHECK(res.error == SOCIAL_ERR_NO_EMAIL);
	CHECK_STR(res.detail, "GitHub did not share an email address; add one there and try again.");
	store_close(st);
}

static void
test_inactive_user_is_inactive(void)
{
	struct store *st = open_store();
	struct config cfg = config(DEFAULT_PIPELINE, "", "");
	struct social_profile p = profile("1", "ada@example.com", true);
	struct social_result res;

	add_identity(st, add_user(st, "ada@example.com", true, false), "1");
	run(&cfg, st, &p, 0, &res);
	CHECK(res.error == SOCIAL_ERR_INACTIVE);
	CHECK_STR(res.detail, "This account is inactive.");
	store_close(st);
}

static void
test_identity_of_other_user_on_connect_is_refused(void)
{
	struct store *st = open_store();
	struct config cfg = config(DEFAULT_PIPELINE, "", "");
	struct social_profile p = profile("1", "ada@example.com", true);
	struct social_result res;
	int64_t owner = add_user(st, "ada@example.com", true, true);
	int64_t other = add_user(st, "bob@example.com", true, true);

	add_identity(st, owner, "1");
	run(&cfg, st, &p, other, &res);
	CHECK(res.error == SOCIAL_ERR_IDENTITY_OF_OTHER_USER);
	CHECK_STR(res.detail, "This GitHub account is already connected to another user.");
	CHECK(identity_owner(st, "1") == owner);
	store_close(st);
}

static void
test_pipeline_without_create_user_is_no_account(void)
{
	struct store *st = open_store();
	struct config cfg = config("social_details,social_uid,social_user,associate_user", "", "");
	struct social_profile p = profile("1", "ada@example.com", true);
	struct social_result res;

	run(&cfg, st, &p, 0, &res);
	CHECK(res.error == SOCIAL_ERR_NO_ACCOUNT);
	CHECK_STR(res.detail, "No account for this sign-in (the pipeline has no create_user step).");
	store_close(st);
}

static void
test_store_failure_is_store_error(void)
{
	struct store *st = open_store();
	struct config cfg = config(DEFAULT_PIPELINE, "", "");
	struct social_profile p = profile("1", "ada@example.com", true);
	struct social_result res;
	sqlite3 *db;

	/* a real failure: the identities table is gone under the store (the
	 * store logs the failed statement: expected on stderr) */
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "DROP TABLE social_identities", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	run(&cfg, st, &p, 0, &res);
	CHECK(res.error == SOCIAL_ERR_STORE);
	CHECK_STR(res.detail, "Service temporarily unavailable.");
	store_close(st);
}

static void
test_new_person_gets_a_user_and_an_identity(void)
{
	struct store *st = open_store();
	struct config cfg = config(DEFAULT_PIPELINE, "example.com", "");
	struct social_profile p = profile("1", "ada@example.com", true);
	struct social_result res;
	struct store_user u;
	struct store_identity i;

	run(&cfg, st, &p, 0, &res);
	CHECK(res.error == SOCIAL_OK);
	CHECK(res.created && res.linked);
	CHECK(store_user_by_email(st, "ada@example.com", &u) == 0 && u.id == res.user.id);
	CHECK(u.is_active && u.email_verified && u.password[0] == '!');
	CHECK_STR(u.first_name, "Ada");
	CHECK_STR(u.last_name, "Lovelace");
	CHECK(store_identity_get(st, "github", "1", &i) == 0 && i.user_id == u.id);
	CHECK_STR(i.extra, "{\"login\":\"ada\"}");
	store_close(st);
}

static void
test_known_identity_logs_in_its_user(void)
{
	struct store *st = open_store();
	struct config cfg = config(DEFAULT_PIPELINE, "", "");
	struct social_profile p = profile("1", "other@example.com", true);
	struct social_result res;
	int64_t id = add_user(st, "ada@example.com", true, true);

	add_identity(st, id, "1");
	run(&cfg, st, &p, 0, &res);
	CHECK(res.error == SOCIAL_OK);
	CHECK(res.user.id == id && !res.created && !res.linked);
	/* names the account lacked are filled in */
	CHECK_STR(res.user.first_name, "Ada");
	store_close(st);
}

static void
test_connect_links_the_signed_in_user(void)
{
	struct store *st = open_store();
	struct config cfg = config(DEFAULT_PIPELINE, "", "");
	struct social_profile p = profile("1", "elsewhere@example.net", true);
	struct social_result res;
	int64_t id = add_user(st, "ada@example.com", true, true);

	run(&cfg, st, &p, id, &res);
	CHECK(res.error == SOCIAL_OK);
	CHECK(res.user.id == id && !res.created && res.linked);
	CHECK(identity_owner(st, "1") == id);
	store_close(st);
}

static void
test_vouched_email_links_confirmed_account(void)
{
	struct store *st = open_store();
	struct config cfg = config(BY_EMAIL_PIPELINE, "", "");
	struct social_profile p = profile("1", "ada@example.com", true);
	struct social_result res;
	int64_t id = add_user(st, "ada@example.com", true, true);

	run(&cfg, st, &p, 0, &res);
	CHECK(res.error == SOCIAL_OK);
	CHECK(res.user.id == id && !res.created && res.linked);
	CHECK(identity_owner(st, "1") == id);
	store_close(st);
}

static void
test_step_names_are_known(void)
{
	CHECK(social_step_known("associate_by_email", 18));
	CHECK(social_step_known("create_user", 11));
	CHECK(!social_step_known("create_use", 10));
	CHECK(!social_step_known("drop_users", 10));
}

int
main(void)
{
	char file[300];

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	test_missing_uid_is_no_uid();
	test_address_outside_allowed_domains_is_domain_not_allowed();
	test_unverified_provider_email_in_allowed_domain_is_domain_not_allowed();
	test_unverified_provider_email_never_reaches_existing_account();
	test_unconfirmed_local_address_is_email_taken_unverified();
	test_no_email_from_provider_is_no_email();
	test_inactive_user_is_inactive();
	test_identity_of_other_user_on_connect_is_refused();
	test_pipeline_without_create_user_is_no_account();
	test_store_failure_is_store_error();
	test_new_person_gets_a_user_and_an_identity();
	test_known_identity_logs_in_its_user();
	test_connect_links_the_signed_in_user();
	test_vouched_email_links_confirmed_account();
	test_step_names_are_known();
	for (int i = 1; i <= dbs; i++) {
		const char *sfx[] = { "", "-wal", "-shm", "-journal" };
		for (size_t k = 0; k < sizeof(sfx) / sizeof(sfx[0]); k++) {
			snprintf(file, sizeof(file), "%s/%d.db%s", dir, i, sfx[k]);
			unlink(file);
		}
	}
	rmdir(dir);
	return test_summary("test_social");
}
