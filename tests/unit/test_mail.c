/* Unit tests for src/mail/mail.c: the composed messages. */
#include <sodium.h>

#include "test.h"
#include "../../src/mail/mail.c"

static struct config cfg;

static void
test_compose(void)
{
	struct buf b = { 0 };

	CHECK(mail_compose(&cfg, MAIL_CONFIRM, "alice@example.com", "/confirm-email/abc", &b) == 0);
	CHECK(strstr(b.data, "From: Acme <noreply@acme.test>\r\n") != NULL);
	CHECK(strstr(b.data, "To: alice@example.com\r\n") != NULL);
	CHECK(strstr(b.data, "Subject: [Acme & Co] Confirm your email address\r\n") != NULL);
	CHECK(strstr(b.data, "\r\nhttps://app.test/confirm-email/abc\r\n") != NULL);
	CHECK(strstr(b.data, "href=\"https://app.test/confirm-email/abc\"") != NULL);
	CHECK(strstr(b.data, "Acme &amp; Co") != NULL); /* escaped in HTML */
	CHECK(strstr(b.data, "multipart/alternative") != NULL);
	CHECK(strstr(b.data, "Message-ID: <") != NULL && strstr(b.data, "@acme.test>") != NULL);
	/* CRLF everywhere: no bare LF */
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '\n' && (i == 0 || b.data[i - 1] != '\r')) {
			CHECK(!"bare LF");
			break;
		}
	buf_free(&b);
	/* header injection through the recipient is refused */
	CHECK(mail_compose(&cfg, MAIL_RESET, "a@b.c\r\nBcc: x@y.z", "/x", &b) == -1);
	CHECK(mail_compose(&cfg, MAIL_RESET, "a@b.c, x@y.z", "/x", &b) == -1);
	buf_free(&b);
}

static void
test_utf8_subject(void)
{
	struct buf b = { 0 };

	cfg.product_name = "Caf\xc3\xa9";
	CHECK(mail_compose(&cfg, MAIL_PASSWORD_CHANGED, "a@b.c", NULL, &b) == 0);
	CHECK(strstr(b.data, "Subject: =?utf-8?B?") != NULL);
	CHECK(strstr(b.data, "https://app.test/forgot-password") != NULL);
	buf_free(&b);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	cfg.public_origin = "https://app.test";
	cfg.product_name = "Acme & Co";
	cfg.email_from = "Acme <noreply@acme.test>";
	test_compose();
	test_utf8_subject();
	return test_summary("test_mail");
}
