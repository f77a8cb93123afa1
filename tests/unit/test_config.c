/* Unit tests for src/config.c: defaults, INI, environment precedence, checks. */
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "../../src/config.c"

static char tmpl[] = "/tmp/gatehouse-config-XXXXXX";

static const char *
write_ini(const char *text)
{
	int fd;
	FILE *f;

	memcpy(tmpl + strlen(tmpl) - 6, "XXXXXX", 6);
	fd = mkstemp(tmpl);
	f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	return tmpl;
}

static void
clear_env(void)
{
	unsetenv("GATEHOUSE_LISTEN");
	unsetenv("GATEHOUSE_THREADS");
	unsetenv("GATEHOUSE_PUBLIC_ORIGIN");
	unsetenv("GATEHOUSE_DEBUG");
	unsetenv("GATEHOUSE_WEBHOOKS");
	unsetenv("GATEHOUSE_WEBHOOK_TIMEOUT");
	unsetenv("GATEHOUSE_WEBHOOK_LEASE");
}

static void
test_defaults(void)
{
	struct config c;
	char err[256];

	clear_env();
	CHECK(config_load(&c, NULL, err, sizeof(err)) == 0);
	CHECK_STR(c.listen, "127.0.0.1:8000");
	CHECK_STR(c.listen_host, "127.0.0.1");
	CHECK(c.listen_port == 8000);
	CHECK_STR(c.database, "sqlite:var/gatehouse.db");
	CHECK_STR(c.public_origin, "http://127.0.0.1:8000");
	CHECK(!c.secure_cookies);
	CHECK(c.session_max_age == 1209600);
	CHECK(c.argon2_memory_kib == 19456 && c.argon2_iterations == 2);
	CHECK(c.threads >= 1);
	CHECK(config_origin_allowed(&c, "http://127.0.0.1:8000", 21));
	CHECK(!config_origin_allowed(&c, "http://127.0.0.1:800", 20));
	config_free(&c);
}

static void
test_ini_and_env(void)
{
	struct config c;
	char err[256];
	const char *f = write_ini("; comment\n[gatehouse]\nlisten = 127.0.0.1:9000\nthreads = 3\n"
	                          "public_origin = https://app.example.com\ntrusted_origins = "
	                          "https://a.example.com, https://b.example.com\n"
	                          "debug = yes\n");

	clear_env();
	CHECK(config_load(&c, f, err, sizeof(err)) == 0);
	CHECK(c.listen_port == 9000 && c.threads == 3 && c.debug);
	CHECK(c.secure_cookies);
	CHECK(config_origin_allowed(&c, "https://b.example.com", 21));
	CHECK(config_origin_allowed(&c, "https://a.example.com", 21));
	CHECK(!config_origin_allowed(&c, "https://c.example.com", 21));
	config_free(&c);

	/* the environment wins over the file */
	setenv("GATEHOUSE_THREADS", "5", 1);
	setenv("GATEHOUSE_DEBUG", "off", 1);
	CHECK(config_load(&c, f, err, sizeof(err)) == 0);
	CHECK(c.threads == 5 && !c.debug);
	config_free(&c);
	clear_env();
	unlink(f);
}

static void
test_rejects(void)
{
	struct config c;
	char err[256];
	const char *f;

	clear_env();
	setenv("GATEHOUSE_THREADS", "many", 1);
	CHECK(config_load(&c, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "GATEHOUSE_THREADS") != NULL);
	config_free(&c);
	setenv("GATEHOUSE_THREADS", "100000", 1);
	CHECK(config_load(&c, NULL, err, sizeof(err)) == -1);
	config_free(&c);
	clear_env();
	setenv("GATEHOUSE_LISTEN", "nowhere", 1);
	CHECK(config_load(&c, NULL, err, sizeof(err)) == -1);
	config_free(&c);
	clear_env();
	setenv("GATEHOUSE_PUBLIC_ORIGIN", "https://example.com/path", 1);
	CHECK(config_load(&c, NULL, err, sizeof(err)) == -1);
	config_free(&c);
	setenv("GATEHOUSE_PUBLIC_ORIGIN", "ftp://example.com", 1);
	CHECK(config_load(&c, NULL, err, sizeof(err)) == -1);
	config_free(&c);
	clear_env();

	f = write_ini("nonsense = 1\n");
	CHECK(config_load(&c, f, err, sizeof(err)) == -1);
	CHECK(strstr(err, "unknown setting") != NULL);
	config_free(&c);
	unlink(f);
	f = write_ini("[other]\nlisten = 1.2.3.4:1\n");
	CHECK(config_load(&c, f, err, sizeof(err)) == -1);
	config_free(&c);
	unlink(f);
	f = write_ini("this is not ini\n");
	CHECK(config_load(&c, f, err, sizeof(err)) == -1);
	CHECK(strstr(err, "syntax error") != NULL);
	config_free(&c);
	unlink(f);
	CHECK(config_load(&c, "/nonexistent/gatehouse.ini", err, sizeof(err)) == -1);
	config_free(&c);
}

static void
test_deploy_warnings(void)
{
	struct config c;
	char err[256];

	clear_env();
	CHECK(config_load(&c, NULL, err, sizeof(err)) == 0);
	c.secret_generated = true;
	/* http origin, generated secret */
	CHECK(config_check_deploy(&c) >= 2);
	config_free(&c);
	setenv("GATEHOUSE_PUBLIC_ORIGIN", "https://app.example.com", 1);
	setenv("GATEHOUSE_EMAIL", "smtps://mail.example.com:465", 1);
	CHECK(config_load(&c, NULL, err, sizeof(err)) == 0);
	CHECK(config_check_deploy(&c) == 0);
	unsetenv("GATEHOUSE_EMAIL");
	config_free(&c);
	clear_env();
}

/* A choice setting set through its variable: config_load's answer, and the
 * error text when it refuses. */
static int
load_with(const char *var, const char *value, struct config *c, char *err, size_t errsz)
{
	int rc;

	clear_env();
	setenv(var, value, 1);
	rc = config_load(c, NULL, err, errsz);
	unsetenv(var);
	return rc;
}

static void
test_choices_are_enums(void)
{
	static const struct {
		const char *var, *value;
		int field; /* 0 email_verification, 1 email_tls, 2 log_level, 3 email_transport */
		int want;
	} ok[] = {
		{ "GATEHOUSE_EMAIL_VERIFICATION", "mandatory", 0, EMAIL_VERIFICATION_MANDATORY },
		{ "GATEHOUSE_EMAIL_VERIFICATION", "optional", 0, EMAIL_VERIFICATION_OPTIONAL },
		{ "GATEHOUSE_EMAIL_VERIFICATION", "none", 0, EMAIL_VERIFICATION_NONE },
		{ "GATEHOUSE_EMAIL_TLS", "try", 1, CONFIG_TLS_TRY },
		{ "GATEHOUSE_EMAIL_TLS", "require", 1, CONFIG_TLS_REQUIRE },
		{ "GATEHOUSE_EMAIL_TLS", "off", 1, CONFIG_TLS_OFF },
		{ "GATEHOUSE_LOG_LEVEL", "debug", 2, CONFIG_LOG_DEBUG },
		{ "GATEHOUSE_LOG_LEVEL", "info", 2, CONFIG_LOG_INFO },
		{ "GATEHOUSE_LOG_LEVEL", "warn", 2, CONFIG_LOG_WARN },
		{ "GATEHOUSE_LOG_LEVEL", "error", 2, CONFIG_LOG_ERROR },
		{ "GATEHOUSE_EMAIL", "console", 3, CONFIG_MAIL_CONSOLE },
		{ "GATEHOUSE_EMAIL", "file:/tmp/mail", 3, CONFIG_MAIL_FILE },
		{ "GATEHOUSE_EMAIL", "smtp://127.0.0.1:25", 3, CONFIG_MAIL_SMTP },
		{ "GATEHOUSE_EMAIL", "smtps://mail.example.com:465", 3, CONFIG_MAIL_SMTPS },
	};
	static const struct {
		const char *var, *value, *message;
	} bad[] = {
		{ "GATEHOUSE_EMAIL_VERIFICATION", "Mandatory",
		    "email_verification must be mandatory, optional or none" },
		{ "GATEHOUSE_EMAIL_VERIFICATION", "",
		    "email_verification must be mandatory, optional or none" },
		{ "GATEHOUSE_EMAIL_TLS", "yes", "email_tls must be try, require or off" },
		{ "GATEHOUSE_LOG_LEVEL", "verbose", "log_level must be debug, info, warn or error" },
		{ "GATEHOUSE_EMAIL", "sendmail",
		    "email must be console, file:DIR, smtp://... or smtps://..." },
	};
	struct config c;
	char err[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int got = -1;
		CHECK(load_with(ok[i].var, ok[i].value, &c, err, sizeof(err)) == 0);
		switch (ok[i].field) {
		case 0:
			got = (int)c.email_verification;
			break;
		case 1:
			got = (int)c.email_tls;
			break;
		case 2:
			got = (int)c.log_level;
			break;
		case 3:
			got = (int)c.email_transport;
			break;
		}
		CHECK(got == ok[i].want);
		config_free(&c);
	}
	/* the defaults */
	clear_env();
	CHECK(config_load(&c, NULL, err, sizeof(err)) == 0);
	CHECK(c.email_verification == EMAIL_VERIFICATION_MANDATORY && c.email_tls == CONFIG_TLS_TRY &&
	    c.log_level == CONFIG_LOG_INFO && c.email_transport == CONFIG_MAIL_CONSOLE);
	config_free(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(load_with(bad[i].var, bad[i].value, &c, err, sizeof(err)) == -1);
		CHECK_STR(err, bad[i].message);
		config_free(&c);
	}
	clear_env();
}

/* the webhook list over several lines of an INI file: continuation lines and a repeated key add
 * entries; the environment's value replaces the file's; the lease must outlast the timeout */
static void
test_webhooks_lines(void)
{
	struct config c;
	char err[256];
	const char *f = write_ini("[gatehouse]\nwebhooks = https://a.example.com/x * whsec_A\n"
	                          "  https://b.example.com/y user.login whsec_B\n"
	                          "webhooks = https://c.example.com/z user.created whsec_C;\n");

	clear_env();
	CHECK(config_load(&c, f, err, sizeof(err)) == 0);
	CHECK_STR(c.webhooks,
	    "https://a.example.com/x * whsec_A\nhttps://b.example.com/y user.login whsec_B\n"
	    "https://c.example.com/z user.created whsec_C;");
	config_free(&c);
	setenv("GATEHOUSE_WEBHOOKS", "https://d.example.com/ * whsec_D", 1);
	CHECK(config_load(&c, f, err, sizeof(err)) == 0);
	CHECK_STR(c.webhooks, "https://d.example.com/ * whsec_D");
	config_free(&c);
	clear_env();
	setenv("GATEHOUSE_WEBHOOK_TIMEOUT", "30", 1);
	setenv("GATEHOUSE_WEBHOOK_LEASE", "30", 1);
	CHECK(config_load(&c, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "webhook_lease") != NULL);
	config_free(&c);
	clear_env();
	unlink(f);
}

/* metrics_listen: an IP address and a port, split for the listener; a name or
 * a missing port refused at load */
static void
test_metrics_listen(void)
{
	static const char *bad[] = { "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "localhost:9100",
		"[::1:9100", "[]:9100", ":9100", "127.0.0.1:91a0", "999.0.0.1:9100" };
	struct config c;
	char err[256];

	clear_env();
	CHECK(config_load(&c, NULL, err, sizeof(err)) == 0);
	CHECK_STR(c.metrics_listen, ""); /* no listener by default */
	CHECK_STR(c.metrics_token, "");
	config_free(&c);
	setenv("GATEHOUSE_METRICS_LISTEN", "127.0.0.1:9100", 1);
	CHECK(config_load(&c, NULL, err, sizeof(err)) == 0);
	CHECK_STR(c.metrics_host, "127.0.0.1");
	CHECK(c.metrics_port == 9100);
	config_free(&c);
	setenv("GATEHOUSE_METRICS_LISTEN", "[::1]:9101", 1);
	CHECK(config_load(&c, NULL, err, sizeof(err)) == 0);
	CHECK_STR(c.metrics_host, "::1");
	CHECK(c.metrics_port == 9101);
	config_free(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("GATEHOUSE_METRICS_LISTEN", bad[i], 1);
		CHECK(config_load(&c, NULL, err, sizeof(err)) == -1);
		CHECK(strstr(err, "metrics_listen") != NULL);
		config_free(&c);
	}
	unsetenv("GATEHOUSE_METRICS_LISTEN");
}

int
main(void)
{
	test_defaults();
	test_metrics_listen();
	test_ini_and_env();
	test_webhooks_lines();
	test_rejects();
	test_deploy_warnings();
	test_choices_are_enums();
	return test_summary("test_config");
}
