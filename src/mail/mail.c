/*
 * mail — see mail.h.  Templates are C strings with {product}, {link},
 * {origin} and {email}; values are HTML-escaped in the HTML part.
 */
#include "mail/mail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "store/store.h"

struct template
{
	const char *subject;
	const char *text;
	const char *html;
};

/* A security alert: what happened, where to look, what to do if it was not you. */
#define ALERT(what, sentence)                                                                                \
	{                                                                                                    \
		"Security alert: " what,                                                                     \
		    "Hello,\n\n" sentence                                                                    \
		    "\n\nReview your second factors and sessions:\n{origin}/account/security\n\n"            \
		    "If this was not you, change your password now and remove what you do not know.\n",      \
		    "<p>Hello,</p><p>" sentence                                                              \
		    "</p><p><a href=\"{origin}/account/security\">Review your second factors "               \
		    "and sessions</a>.</p><p>If this was not you, change your password now and remove what " \
		    "you do "                                                                                \
		    "not know.</p>"                                                                          \
	}

static const struct template templates[] = {
	[MAIL_CONFIRM] = {
		"Confirm your email address",
		"Hello,\n\nplease confirm that {email} is your address to finish signing up for {product}:\n\n"
		"{link}\n\nIf you did not sign up, ignore this message: no account is active without the confirmation.\n",
		"<p>Hello,</p><p>please confirm that <b>{email}</b> is your address to finish signing up for {product}:</p>"
		"<p><a href=\"{link}\">Confirm my email address</a></p>"
		"<p>If you did not sign up, ignore this message: no account is active without the confirmation.</p>",
	},
	[MAIL_SIGNUP_EXISTS] = {
		"Someone tried to sign up with your address",
		"Hello,\n\nsomeone (maybe you) tried to create a {product} account with {email}, but an account with "
		"this address already exists. No new account was made.\n\nSign in:\n{origin}/login\n\n"
		"Forgot your password? Reset it:\n{origin}/forgot-password\n",
		"<p>Hello,</p><p>someone (maybe you) tried to create a {product} account with <b>{email}</b>, but an "
		"account with this address already exists. No new account was made.</p>"
		"<p><a href=\"{origin}/login\">Sign in</a> or <a href=\"{origin}/forgot-password\">reset your "
		"password</a>.</p>",
	},
	[MAIL_RESET] = {
		"Reset your password",
		"Hello,\n\nsomeone (maybe you) asked to reset the password of the {product} account {email}. "
		"Choose a new password here:\n\n{link}\n\nThe link works once and expires soon. If you did not ask, "
		"ignore this message: your password stays as it is.\n",
		"<p>Hello,</p><p>someone (maybe you) asked to reset the password of the {product} account "
		"<b>{email}</b>.</p><p><a href=\"{link}\">Choose a new password</a></p>"
		"<p>The link works once and expires soon. If you did not ask, ignore this message: your password "
		"stays as it is.</p>",
	},
	[MAIL_RESET_UNKNOWN] = {
		"Password reset requested",
		"Hello,\n\nsomeone (maybe you) asked to reset a {product} password for {email}, but there is no "
		"account with this address. If you meant to create one:\n\n{origin}/signup\n\n"
		"If you did not ask, ignore this message.\n",
		"<p>Hello,</p><p>someone (maybe you) asked to reset a {product} password for <b>{email}</b>, but "
		"there is no account with this address.</p><p><a href=\"{origin}/signup\">Create an account</a></p>"
		"<p>If you did not ask, ignore this message.</p>",
	},
	[MAIL_PASSWORD_CHANGED] = {
		"Your password was changed",
		"Hello,\n\nthe password of your {product} account {email} was just changed, and your other "
		"sessions were signed out.\n\nIf this was not you, reset your password now:\n{origin}/forgot-password\n",
		"<p>Hello,</p><p>the password of your {product} account <b>{email}</b> was just changed, and your "
		"other sessions were signed out.</p><p>If this was not you, "
		"<a href=\"{origin}/forgot-password\">reset your password now</a>.</p>",
	},
	[MAIL_MFA_TOTP_ADDED] = ALERT("an authenticator app was added",
	    "an authenticator app was added to your {product} account {email}. From now on, signing in asks for its code after your password."),
	[MAIL_MFA_TOTP_REMOVED] = ALERT("the authenticator app was removed",
	    "the authenticator app was removed from your {product} account {email}."),
	[MAIL_MFA_PASSKEY_ADDED] = ALERT("a passkey was added",
	    "a passkey was added to your {product} account {email}. It can sign you in without a password."),
	[MAIL_MFA_PASSKEY_REMOVED] = ALERT("a passkey was removed",
	    "a passkey was removed from your {product} account {email}."),
	[MAIL_MFA_RECOVERY_GENERATED] = ALERT("new recovery codes were made",
	    "new recovery codes were made for your {product} account {email}; the old ones no longer work."),
	[MAIL_MFA_RECOVERY_USED] = ALERT("a recovery code was used",
	    "a recovery code was just used to sign in to your {product} account {email}. Each code works once: make new ones on the security page if you are running out."),
	[MAIL_MFA_ADMIN_REMOVED] = ALERT("your second factors were removed",
	    "an administrator removed the second factors (authenticator app, passkeys, recovery codes) of your {product} account {email}. Signing in now needs only your password; set up a second factor again on the security page."),
};

static void
append_html(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		case '\'':
			buf_puts(b, "&#39;");
			break;
		default:
			buf_append(b, s, 1);
		}
	}
}

/* Expand {names} of tmpl into b, escaping for HTML when html; "\n" becomes CRLF. */
static void
expand(struct buf *b, const char *tmpl, const char *const vars[][2], int html)
{
	for (const char *p = tmpl; *p;) {
		const char *close;
		int done = 0;

		if (*p == '{' && (close = strchr(p, '}')) != NULL) {
			for (int i = 0; vars[i][0]; i++) {
				size_t n = strlen(vars[i][0]);
				if ((size_t)(close - p - 1) == n && memcmp(p + 1, vars[i][0], n) == 0) {
					if (html)
						append_html(b, vars[i][1]);
					else
						buf_puts(b, vars[i][1]);
					p = close + 1;
					done = 1;
					break;
				}
			}
		}
		if (done)
			continue;
		if (*p == '\n')
			buf_puts(b, "\r\n");
		else
			buf_append(b, p, 1);
		p++;
	}
}

/* RFC 2047 for a header value that is not plain ASCII. */
static void
header_text(struct buf *b, const char *s)
{
	int ascii = 1;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x80)
			ascii = 0;
	if (ascii) {
		buf_puts(b, s);
		return;
	}
	{
		size_t n = strlen(s), enc = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
		char *out = xmalloc(enc);
		sodium_bin2base64(out, enc, (const unsigned char *)s, n, sodium_base64_VARIANT_ORIGINAL);
		buf_printf(b, "=?utf-8?B?%s?=", out);
		free(out);
	}
}

int
mail_compose(const struct config *cfg, enum mail_kind kind, const char *to, const char *path, struct buf *out)
{
	const struct template *t = &templates[kind];
	char boundary[40], id[33], date[64], link[1024], subject[256];
	const char *host = strrchr(cfg->email_from, '@');
	time_t now = time(NULL);
	struct tm tm;

	for (const char *p = to; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == '<' || *p == '>' || *p == ',')
			return -1;
	snprintf(link, sizeof(link), "%s%s", cfg->public_origin, path ? path : "");
	snprintf(subject, sizeof(subject), "[%s] %s", cfg->product_name, t->subject);
	random_chars(id, 32, "abcdefghijklmnopqrstuvwxyz0123456789");
	random_chars(boundary, 24, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	{
		const char *const vars[][2] = {
			{ "product", cfg->product_name },
			{ "link", link },
			{ "origin", cfg->public_origin },
			{ "email", to },
			{ NULL, NULL },
		};
		char hostpart[256];

		snprintf(hostpart, sizeof(hostpart), "%s", host ? host + 1 : "localhost");
		hostpart[strcspn(hostpart, ">")] = '\0';
		buf_puts(out, "From: ");
		header_text(out, cfg->email_from);
		buf_printf(out, "\r\nTo: %s\r\nSubject: ", to);
		header_text(out, subject);
		buf_printf(out,
		    "\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
		    "Auto-Submitted: auto-generated\r\n"
		    "Content-Type: multipart/alternative; boundary=\"=_gh_%s\"\r\n\r\n",
		    date, id, hostpart, boundary);
		buf_printf(out,
		    "--=_gh_%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n\r\n",
		    boundary);
		expand(out, t->text, vars, 0);
		buf_printf(out,
		    "\r\n--=_gh_%s\r\nContent-Type: text/html; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n\r\n<!doctype html><html><body "
		    "style=\"font-family:sans-serif\">",
		    boundary);
		expand(out, t->html, vars, 1);
		buf_printf(out, "</body></html>\r\n--=_gh_%s--\r\n", boundary);
	}
	sodium_memzero(link, sizeof(link));
	return 0;
}

int
mail_queue(struct store *st, const struct config *cfg, enum mail_kind kind, const char *to, const char *path)
{
	struct buf b = { 0 };
	int ret = -1;

	if (mail_compose(cfg, kind, to, path, &b) == 0)
		ret = store_outbox_add(st, to, b.data, now_unix()) == 0 ? 0 : -1;
	buf_free(&b);
	return ret;
}
