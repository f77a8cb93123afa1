/* Unit tests for src/accounts/django.c (reading dumpdata JSON, the decisions the dump alone makes) and
 * src/accounts/import.c (what the database decides, on a real SQLite store): idempotence, dry runs,
 * rows in the way of accounts that were not imported from them. */
#include "test.h"
#include "test_store.h"
#include "../../src/accounts/django.c"

#include <stdlib.h>
#include <unistd.h>

#include "accounts/accounts.h"
#include "accounts/import.h"
#include "auth/token.h"

#define PBKDF2 "pbkdf2_sha256$260000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGg="

static struct django_dump *
parse(const char *json, char *err)
{
	struct django_dump *d = NULL;

	err[0] = '\0';
	if (django_dump_parse(json, strlen(json), "corp, acme-sso", &d, err, 512) != 0)
		return NULL;
	return d;
}

static void
test_time(void)
{
	int64_t t = -1;

	CHECK(django_parse_time("1970-01-01T00:00:00Z", &t) == 0 && t == 0);
	CHECK(django_parse_time("2024-05-01T12:30:00.123Z", &t) == 0 && t == 1714566600);
	CHECK(django_parse_time("2024-05-01T12:30:00.123456", &t) == 0 && t == 1714566600); /* naive: UTC */
	CHECK(django_parse_time("2024-05-01 14:30:00+02:00", &t) == 0 && t == 1714566600);
	CHECK(django_parse_time("2024-05-01T07:00:00-05:30", &t) == 0 && t == 1714566600);
	CHECK(django_parse_time("2024-02-29T00:00:00Z", &t) == 0);
	CHECK(django_parse_time("2023-02-29T00:00:00Z", &t) == -1);
	CHECK(django_parse_time("2024-02-30T00:00:00Z", &t) == -1);
	CHECK(django_parse_time("2024-13-01T00:00:00Z", &t) == -1);
	CHECK(django_parse_time("2024-05-01T24:00:00Z", &t) == -1);
	CHECK(django_parse_time("2024-05-01T12:30:00.Z", &t) == -1);
	CHECK(django_parse_time("2024-05-01T12:30:00Zjunk", &t) == -1);
	CHECK(django_parse_time("2024-05-01", &t) == -1);
	CHECK(django_parse_time("", &t) == -1);
	CHECK(django_parse_time("2024-05-01T12:30:00+2:00", &t) == -1);
}

static void
test_errors(void)
{
	static const struct {
		const char *json, *want;
	} bad[] = {
		{ "", "not JSON" },
		{ "nope", "not JSON" },
		{ "{}", "not a dumpdata array" },
		{ "[1]", "row 1: not an object" },
		{ "[{\"model\":\"auth.user\",\"pk\":1}]", "not an object with" },
		{ "[{\"model\":\"auth.user\",\"pk\":1,\"fields\":{\"email\":\"a@b.cd\",\"password\":\"!\"}},"
		  "{\"model\":\"auth.user\",\"pk\":1,\"fields\":{\"email\":\"c@b.cd\",\"password\":\"!\"}}]",
		    "appears twice" },
		{ "[{\"model\":\"auth.user\",\"pk\":null,\"fields\":{\"email\":\"a@b.cd\",\"password\":\"!\"}"
		  "}]",
		    "pk missing" },
		{ "[{\"model\":\"auth.user\",\"pk\":[\"x\"],\"fields\":{\"email\":\"a@b.cd\",\"password\":\"!"
		  "\"}}]",
		    "natural key" },
		{ "[{\"model\":\"auth.user\",\"pk\":1,\"fields\":{\"email\":\"a@b.cd\",\"password\":1}}]",
		    "password" },
		{ "[{\"model\":\"auth.user\",\"pk\":1,\"fields\":{\"email\":\"a@b.cd\",\"password\":\"!\","
		  "\"is_active\":\"yes\"}}]",
		    "is_active" },
		{ "[{\"model\":\"auth.user\",\"pk\":1,\"fields\":{\"email\":\"a@b.cd\",\"password\":\"!\","
		  "\"last_login\":\"yesterday\"}}]",
		    "datetime" },
		{ "[{\"model\":\"auth.user\",\"pk\":1,\"fields\":{\"email\":\"a@b.cd\",\"password\":\"!\"}},"
		  "{\"model\":\"app.user\",\"pk\":2,\"fields\":{\"email\":\"c@b.cd\",\"password\":\"!\"}}]",
		    "second user model" },
		{ "[{\"model\":\"authtoken.token\",\"pk\":\"k\",\"fields\":{\"user\":{\"a\":1}}}]",
		    "natural key" },
		{ "[{\"model\":\"auth.user\",\"pk\":\"a\\u0000b\",\"fields\":{}}]",
		    "not JSON" }, /* jansson: no NUL */
		{ "[{\"model\":\"auth.user\",\"pk\":1,\"fields\":{},\"fields\":{}}]",
		    "not JSON" }, /* duplicate key */
		{ "[{\"model\":\"authtoken.token\",\"pk\":"
		  "\"0123456789012345678901234567890123456789012345678901234567890123456789\",\"fields\":{"
		  "\"user\":1}}]",
		    "longer than 64" },
		{ "[\"\xff\"]", "not JSON" },
	};
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct django_dump *d = parse(bad[i].json, err);
		CHECK(d == NULL);
		if (strstr(err, bad[i].want) == NULL) {
			fprintf(stderr, "case %zu: err \"%s\", want \"%s\"\n", i, err, bad[i].want);
			CHECK(0);
		}
		django_dump_free(d);
	}
}

static void
test_custom_users(void)
{
	char err[512];
	const char *json =
	    "[{\"model\":\"contenttypes.contenttype\",\"pk\":1,\"fields\":{\"app_label\":\"x\"}},"
	    "{\"model\":\"accounts.user\",\"pk\":2,\"fields\":{\"email\":\" Bob@Example.COM "
	    "\",\"password\":\"" PBKDF2
	    "\",\"is_superuser\":true,\"first_name\":\"B\\u0007ob\",\"last_name\":\"Builder\","
	    "\"date_joined\":\"2024-05-01T12:30:00Z\",\"last_login\":null}},"
	    "{\"model\":\"accounts.user\",\"pk\":10,\"fields\":{\"email\":\"md5@example.com\",\"password\":"
	    "\"md5$salt$0123\",\"is_active\":false}},"
	    "{\"model\":\"accounts.user\",\"pk\":1,\"fields\":{\"email\":\"not an "
	    "address\",\"password\":\"!abc\"}},"
	    "{\"model\":\"accounts.user\",\"pk\":3,\"fields\":{\"email\":\"SAME@example.com\",\"password\":"
	    "\"!\"}},"
	    "{\"model\":\"accounts.user\",\"pk\":4,\"fields\":{\"email\":\"same@example.com\",\"password\":"
	    "\"!\"}}]";
	struct django_dump *d = parse(json, err);
	struct django_user *u;

	CHECK(d != NULL);
	if (d == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_STR(d->user_model, "accounts.user");
	CHECK(d->nusers == 5 && d->ignored == 1);
	/* sorted by pk as text, found by pk */
	CHECK_STR(d->users[0].pk, "1");
	CHECK_STR(d->users[1].pk, "10");
	CHECK(django_dump_user(d, "7") == NULL);
	u = django_dump_user(d, "2");
	CHECK(u && u->skip == DJ_OK);
	CHECK_STR(u->u.email, "bob@example.com");
	CHECK_STR(u->u.password, PBKDF2);
	CHECK(u->usable && !u->unverifiable);
	CHECK(
	    u->u.is_superuser && u->u.is_staff && u->u.is_active); /* superuser → staff; active by default */
	CHECK(u->name_dropped && u->u.first_name[0] == '\0');
	CHECK_STR(u->u.last_name, "Builder");
	CHECK(u->u.date_joined == 1714566600 && u->u.last_login == 0);
	CHECK(u->u.email_verified); /* no account.emailaddress rows: assumed */
	u = django_dump_user(d, "10");
	CHECK(u && u->skip == DJ_OK && !u->usable && u->unverifiable && u->u.password[0] == '!');
	CHECK(!u->u.is_active);
	u = django_dump_user(d, "1");
	CHECK(u && u->skip == DJ_INVALID_EMAIL);
	CHECK(django_dump_user(d, "3")->skip == DJ_SHARED_EMAIL);
	CHECK(django_dump_user(d, "4")->skip == DJ_SHARED_EMAIL);
	CHECK(d->assumed_verified == 2);
	django_dump_free(d);
}

static void
test_row_hash(void)
{
	char err[512], a[65], b[65];
	const char
	    *one = "[{\"model\":\"auth.user\",\"pk\":1,\"fields\":{\"email\":\"a@example.com\",\"password\":"
	           "\"!x\",\"first_name\":\"ab\",\"last_name\":\"c\"}}]";
	const char
	    *two = "[{\"model\":\"auth.user\",\"pk\":1,\"fields\":{\"email\":\"a@example.com\",\"password\":"
	           "\"!x\",\"first_name\":\"a\",\"last_name\":\"bc\"}}]";
	struct django_dump *d = parse(one, err);

	CHECK(d != NULL);
	if (d == NULL)
		return;
	memcpy(a, d->users[0].row_hash, sizeof(a));
	django_dump_free(d);
	d = parse(one, err);
	CHECK(d && strcmp(d->users[0].row_hash, a) == 0); /* the same row, the same hash */
	django_dump_free(d);
	d = parse(two, err);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	memcpy(b, d->users[0].row_hash, sizeof(b));
	CHECK(strcmp(b, a) != 0); /* text moved between fields is a change */
	django_dump_free(d);
}

static void
test_stock_tokens_social(void)
{
	char err[512];
	const char *json =
	    "[{\"model\":\"auth.user\",\"pk\":1,\"fields\":{\"username\":\"a\",\"email\":\"a@example.com\","
	    "\"password\":\"!\"}},"
	    "{\"model\":\"auth.user\",\"pk\":2,\"fields\":{\"username\":\"b\",\"email\":\"\",\"password\":\"!"
	    "\"}},"
	    "{\"model\":\"auth.user\",\"pk\":3,\"fields\":{\"username\":\"c\",\"email\":\"c@example.com\","
	    "\"password\":\"!\",\"is_active\":false}},"
	    "{\"model\":\"authtoken.token\",\"pk\":\"0123456789abcdef0123456789abcdef01234567\",\"fields\":{"
	    "\"user\":1,"
	    "\"created\":\"2024-05-01T12:30:00Z\"}},"
	    "{\"model\":\"authtoken.token\",\"pk\":\"1123456789abcdef0123456789abcdef01234567\",\"fields\":{"
	    "\"user\":2}},"
	    "{\"model\":\"authtoken.token\",\"pk\":\"2123456789abcdef0123456789abcdef01234567\",\"fields\":{"
	    "\"user\":3}},"
	    "{\"model\":\"authtoken.token\",\"pk\":\"short\",\"fields\":{\"user\":1}},"
	    "{\"model\":\"authtoken.token\",\"pk\":\"0123456789abcdef0123456789abcdef0123456-\",\"fields\":{"
	    "\"user\":1}},"
	    "{\"model\":\"authtoken.token\",\"pk\":\"3123456789abcdef0123456789abcdef01234567\",\"fields\":{"
	    "\"user\":99}},"
	    "{\"model\":\"social_django.usersocialauth\",\"pk\":1,\"fields\":{\"user\":1,\"provider\":"
	    "\"github\","
	    "\"uid\":\"583231\"}},"
	    "{\"model\":\"social_django.usersocialauth\",\"pk\":2,\"fields\":{\"user\":1,\"provider\":\"acme-"
	    "sso\","
	    "\"uid\":\"s\"}},"
	    "{\"model\":\"social_django.usersocialauth\",\"pk\":3,\"fields\":{\"user\":1,\"provider\":"
	    "\"twitter\","
	    "\"uid\":\"t\"}},"
	    "{\"model\":\"social_django.usersocialauth\",\"pk\":4,\"fields\":{\"user\":1,\"provider\":"
	    "\"acme\","
	    "\"uid\":\"t\"}},"
	    "{\"model\":\"social_django.usersocialauth\",\"pk\":5,\"fields\":{\"user\":2,\"provider\":"
	    "\"corp\","
	    "\"uid\":\"u\"}},"
	    "{\"model\":\"social_django.usersocialauth\",\"pk\":6,\"fields\":{\"user\":1,\"provider\":"
	    "\"corp\","
	    "\"uid\":\"a\\nb\"}},"
	    "{\"model\":\"account.emailaddress\",\"pk\":1,\"fields\":{\"user\":1,\"email\":\"A@example.com\","
	    "\"verified\":true}},"
	    "{\"model\":\"account.emailaddress\",\"pk\":2,\"fields\":{\"user\":3,\"email\":\"c@example.com\","
	    "\"verified\":false}}]";
	struct django_dump *d = parse(json, err);
	int ok = 0, bad = 0, skipped = 0, inactive = 0, unknown = 0;

	CHECK(d != NULL);
	if (d == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_STR(d->user_model, "auth.user");
	CHECK(django_dump_user(d, "2")->skip == DJ_EMPTY_EMAIL);
	/* allauth rows decide: a's verified address (case aside), c's is not */
	CHECK(django_dump_user(d, "1")->u.email_verified);
	CHECK(!django_dump_user(d, "3")->u.email_verified);
	CHECK(d->nemailaddress == 2 && d->assumed_verified == 0);
	CHECK(d->ntokens == 6);
	for (size_t i = 0; i < d->ntokens; i++) {
		switch (d->tokens[i].skip) {
		case DJ_OK:
			ok++;
			CHECK(strlen(d->tokens[i].key) == DJANGO_TOKEN_LEN);
			break;
		case DJ_BAD_TOKEN:
			bad++;
			break;
		case DJ_USER_SKIPPED:
			skipped++;
			break;
		case DJ_USER_INACTIVE:
			inactive++;
			break;
		default:
			unknown++;
		}
	}
	/* user 99 is not in the dump: import.c decides (an earlier import may know it) */
	CHECK(ok == 2 && bad == 2 && skipped == 1 && inactive == 1 && unknown == 0);
	CHECK(d->nsocials == 6);
	for (size_t i = 0; i < d->nsocials; i++) {
		const struct django_social *s = &d->socials[i];
		int pk = (int)strtol(s->pk, NULL, 10);
		enum django_skip want = pk == 1 || pk == 2 ? DJ_OK :
		    pk == 3 || pk == 4                     ? DJ_UNKNOWN_PROVIDER :
		    pk == 5                                ? DJ_USER_SKIPPED :
		                                             DJ_BAD_UID;
		if (s->skip != want) {
			fprintf(stderr, "social pk %d: skip %d, want %d\n", pk, s->skip, want);
			CHECK(0);
		}
	}
	django_dump_free(d);
}

/* --- import.c on a real store ---------------------------------------------------------------- */

static int reports;
static void
count_report(void *ctx, const char *model, const char *pk, const char *what)
{
	(void)ctx;
	(void)model;
	(void)pk;
	(void)what;
	reports++;
}

static int
run_import(struct store *st, const char *json, bool dry, struct import_counts *c)
{
	char err[512], ierr[256];
	struct django_dump *d = parse(json, err);
	int rc;

	if (d == NULL) {
		fprintf(stderr, "parse: %s\n", err);
		return -2;
	}
	/* as the CLI does: one transaction, rolled back for a dry run */
	if (store_begin(st) != 0) {
		django_dump_free(d);
		return -1;
	}
	rc = import_django(st, d, c, count_report, NULL, ierr, sizeof(ierr));
	if (rc != 0 || dry)
		store_rollback(st);
	else if (store_commit(st) != 0)
		rc = -1;
	django_dump_free(d);
	return rc;
}

static int64_t
count(struct store *st, const char *email)
{
	struct store_user u;

	return store_user_by_email(st, email, &u) == 0 ? u.id : 0;
}

static void
test_import(void)
{
	char dir[] = "/tmp/gh-django-XXXXXX", dsn[128], kh[65];
	struct store *st;
	struct store_user u, owner;
	struct store_token t;
	struct import_counts c;
	struct accounts_new_user n = { .origin = ACCOUNTS_CLI,
		.email = "here@example.com",
		.password_hash = "!" };
	const char *key = "0123456789abcdef0123456789abcdef01234567";
	const char *v1 = "[{\"model\":\"accounts.user\",\"pk\":1,\"fields\":{\"email\":\"a@example.com\","
	                 "\"password\":\"" PBKDF2
	                 "\",\"first_name\":\"A\",\"last_login\":\"2024-05-01T12:30:00Z\"}},"
	                 "{\"model\":\"accounts.user\",\"pk\":2,\"fields\":{\"email\":\"here@example.com\","
	                 "\"password\":\"!\"}},"
	                 "{\"model\":\"authtoken.token\",\"pk\":\"0123456789abcdef0123456789abcdef01234567\","
	                 "\"fields\":{\"user\":1}},"
	                 "{\"model\":\"social_django.usersocialauth\",\"pk\":1,\"fields\":{\"user\":1,"
	                 "\"provider\":\"github\","
	                 "\"uid\":\"42\"}}]";
	/* Django later: a's name changed and she was made inactive; her password too */
	const char
	    *v2 = "[{\"model\":\"accounts.user\",\"pk\":1,\"fields\":{\"email\":\"a@example.com\","
	          "\"password\":\"!gone\","
	          "\"first_name\":\"Ann\",\"is_active\":false,\"last_login\":\"2024-05-01T12:30:00Z\"}}]";
	/* another project's pk 1 with the same user model */
	const char
	    *other = "[{\"model\":\"accounts.user\",\"pk\":1,\"fields\":{\"email\":\"x@example.com\","
	             "\"password\":\"" PBKDF2 "\"}},"
	             "{\"model\":\"authtoken.token\",\"pk\":\"9123456789abcdef0123456789abcdef01234567\","
	             "\"fields\":{\"user\":1}}]";
	/* a token and an identity already held by another account */
	const char
	    *taken = "[{\"model\":\"accounts.user\",\"pk\":5,\"fields\":{\"email\":\"b@example.com\","
	             "\"password\":\"!\"}},"
	             "{\"model\":\"authtoken.token\",\"pk\":\"0123456789abcdef0123456789abcdef01234567\","
	             "\"fields\":{\"user\":5}},"
	             "{\"model\":\"social_django.usersocialauth\",\"pk\":9,\"fields\":{\"user\":5,"
	             "\"provider\":\"github\",\"uid\":\"42\"}}]";

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	snprintf(dsn, sizeof(dsn), "sqlite:%s/i.db", dir);
	st = test_store_open(dsn);
	CHECK(accounts_create_user(st, &n, NULL, &owner) == 0); /* made here, not imported */

	CHECK(run_import(st, v1, true, &c) == 0);
	CHECK(c.users_created == 1 && c.users_skipped == 1 && c.user_skips[DJ_ACCOUNT_EXISTS] == 1);
	CHECK(c.tokens_created == 1 && c.socials_created == 1);
	CHECK(count(st, "a@example.com") == 0); /* dry: rolled back */

	CHECK(run_import(st, v1, false, &c) == 0);
	CHECK(c.users_created == 1 && c.tokens_created == 1 && c.socials_created == 1);
	CHECK(store_user_by_email(st, "a@example.com", &u) == 0);
	CHECK_STR(u.password, PBKDF2);
	CHECK(u.last_login == 1714566600 && u.email_verified && u.is_active);
	sha256_hex(key, strlen(key), kh);
	CHECK(store_token_get(st, kh, &t, &owner) == 0 && t.user_id == u.id);

	CHECK(run_import(st, v1, false, &c) == 0);
	CHECK(c.users_created == 0 && c.users_unchanged == 1 && c.tokens_unchanged == 1 &&
	    c.socials_unchanged == 1);

	/* a password upgraded here survives a re-import of the unchanged row */
	CHECK(store_user_set_password(st, u.id, "argon2$upgraded", NULL) == 0);
	CHECK(run_import(st, v1, false, &c) == 0 && c.users_unchanged == 1);
	CHECK(store_user_by_id(st, u.id, &u) == 0);
	CHECK_STR(u.password, "argon2$upgraded");

	/* the row changed in Django: names, flags and its new password follow; deactivation ends tokens;
	 * a sign-in here later than Django's last_login stays */
	CHECK(store_user_set_last_login(st, u.id, 1800000000) == 0);
	CHECK(run_import(st, v2, false, &c) == 0 && c.users_updated == 1);
	CHECK(store_user_by_id(st, u.id, &u) == 0);
	CHECK(u.last_login == 1800000000);
	CHECK_STR(u.first_name, "Ann");
	CHECK_STR(u.password, "!gone");
	CHECK(!u.is_active);
	CHECK(store_token_get(st, kh, &t, &owner) == STORE_NOTFOUND);
	CHECK(run_import(st, v2, false, &c) == 0 && c.users_unchanged == 1);

	/* the same pk under another address: skipped, a's account untouched, its token not attached */
	reports = 0;
	CHECK(run_import(st, other, false, &c) == 0);
	CHECK(c.users_skipped == 1 && c.user_skips[DJ_EMAIL_CHANGED] == 1 && c.tokens_skipped == 1);
	CHECK(reports == 2);
	CHECK(count(st, "x@example.com") == 0);
	CHECK(store_user_by_id(st, u.id, &u) == 0);
	CHECK_STR(u.password, "!gone");

	/* a's token and identity cannot move to b */
	CHECK(run_import(st, v1, false, &c) == 0); /* back to v1: a active, token again */
	CHECK(run_import(st, taken, false, &c) == 0);
	CHECK(c.users_created == 1 && c.tokens_skipped == 1 && c.socials_skipped == 1);
	CHECK(store_token_get(st, kh, &t, &owner) == 0 && t.user_id == u.id);

	/* an address taken by an account imported from another pk */
	CHECK(run_import(st,
	          "[{\"model\":\"accounts.user\",\"pk\":77,\"fields\":{\"email\":\"b@example.com\","
	          "\"password\":\"!\"}}]",
	          false, &c) == 0);
	CHECK(c.user_skips[DJ_LINKED_ELSEWHERE] == 1);

	store_close(st);
	snprintf(dsn, sizeof(dsn), "rm -rf %s", dir);
	CHECK(system(dsn) == 0);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_time();
	test_errors();
	test_custom_users();
	test_row_hash();
	test_stock_tokens_social();
	test_import();
	return test_summary("test_django");
}
