/*
 * The src/mail/ layer (docs/architecture.md): the outbox -- composing and
 * queueing the account mails (mail.c) and the mailer thread that delivers
 * them (mailer.c).  It may use the store and the top; it must never know a
 * request or a rule, or log a body or a credential.
 */
/*
 * mail — composing the account mails (templates with the product name, a
 * plain-text and an HTML part) and queueing them in the outbox through the
 * store, inside the caller's transaction, so an action and its mail land
 * together.  Links are always built from the configured public origin, never
 * from a request's Host header.  Delivery is mailer.c's job.
 */
#ifndef GATEHOUSE_MAIL_H
#define GATEHOUSE_MAIL_H

#include "config.h"
#include "util.h"

struct store;

enum mail_kind {
	MAIL_CONFIRM,       /* link: /confirm-email/<key> */
	MAIL_SIGNUP_EXISTS, /* someone signed up with a taken address */
	MAIL_RESET,         /* link: /reset-password/<uid>/<token> */
	MAIL_RESET_UNKNOWN, /* reset asked for an address without an account */
	MAIL_PASSWORD_CHANGED,
	/* security alerts about second factors (no link but the account page) */
	MAIL_MFA_TOTP_ADDED,
	MAIL_MFA_TOTP_REMOVED,
	MAIL_MFA_PASSKEY_ADDED,
	MAIL_MFA_PASSKEY_REMOVED,
	MAIL_MFA_RECOVERY_GENERATED,
	MAIL_MFA_RECOVERY_USED,
	MAIL_MFA_ADMIN_REMOVED,
};

/* Build the whole RFC 5322 message (CRLF lines) for kind into out.  path is
 * appended to the public origin to make the link (ignored by kinds without
 * one).  0, or -1 when to is not a plain address. */
int mail_compose(const struct config *cfg, enum mail_kind kind, const char *to, const char *path,
    struct buf *out);
/* Compose and add to the outbox (inside the caller's transaction).  0 or -1. */
int mail_queue(struct store *st, const struct config *cfg, enum mail_kind kind, const char *to,
    const char *path);

#endif
