/*
 * mailer — the thread that empties the outbox: it reserves due messages for
 * a lease, hands each to the transport (console, file:DIR, or SMTP through
 * libcurl), and marks it sent, or schedules a retry with doubling backoff.
 * A message leaves the outbox only once delivered, so none is lost when the
 * process dies mid-send or SMTP is down.  Never logs credentials or bodies.
 */
#ifndef GATEHOUSE_MAILER_H
#define GATEHOUSE_MAILER_H

struct app;
struct mailer;

/* Start the thread for app's store and configuration. */
struct mailer *mailer_start(struct app *app);
/* A message was just committed: look at the outbox now. */
void mailer_wake(struct mailer *m);
/* Finish the current delivery, stop the thread, free. */
void mailer_stop(struct mailer *m);

#endif
