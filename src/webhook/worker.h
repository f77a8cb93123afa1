/*
 * webhook/worker — the thread that empties the webhook outbox: it claims due
 * messages for a lease, POSTs each to its endpoint through libcurl with the
 * Standard Webhooks headers (webhook-id, webhook-timestamp,
 * webhook-signature), and records the outcome: a 2xx answer delivers it; a
 * 4xx other than 408 and 429 gives it up (the receiver refused this message:
 * sending it again would get the same answer); anything else (no connection,
 * a timeout, 3xx, 408, 429, 5xx) is retried with doubling backoff until
 * webhook_max_attempts or webhook_max_age.  At least once: a message whose
 * outcome was not recorded (a crash mid-delivery) is sent again when its
 * lease runs out, with the same webhook-id.  Never runs on a request's
 * thread, never follows a redirect, never logs a secret or a body.
 */
#ifndef GATEHOUSE_WEBHOOK_WORKER_H
#define GATEHOUSE_WEBHOOK_WORKER_H

#include <stdbool.h>
#include <stdint.h>

struct app;
struct webhook_worker;

/* What an attempt's outcome means for its message. */
enum webhook_outcome { WEBHOOK_DELIVERED, WEBHOOK_RETRY, WEBHOOK_GIVE_UP };

/* Start the thread (none when no endpoint is configured: NULL). */
struct webhook_worker *webhook_worker_start(struct app *app);
/* Stop: an attempt in flight is cut short and its message left to its lease; free. */
void webhook_worker_stop(struct webhook_worker *w);

/* The rule above: status is the HTTP status (0: no answer). */
enum webhook_outcome webhook_outcome_of(long status);
/* The wait before attempt attempts + 1 after `attempts` failures: base_ms doubled per failure
 * after the first, at most an hour. */
int64_t webhook_backoff_ms(long base_ms, int attempts);

#endif
