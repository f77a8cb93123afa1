/*
 * webhook — the events the webhooks report, made from the audit trail: every
 * change worth an event is audited inside the transaction that makes it, and
 * the audit log hands each row here, so the change, its audit row and its
 * webhook messages commit together or not at all (an event audited outside
 * a transaction, a failed login, is written on its own).  One message per
 * endpoint that wants the event, in the webhook outbox; the worker
 * (webhook/worker.h) delivers them.  Holds the endpoints configured at
 * start-up (read-only afterwards).  Must never put a password, key, token,
 * hash or secret in a payload, nor log an endpoint's secret.
 */
#ifndef GATEHOUSE_WEBHOOK_H
#define GATEHOUSE_WEBHOOK_H

#include <stdbool.h>

#include <jansson.h>

struct store;
struct store_audit;
struct webhook_endpoint;

/* Parse and keep the endpoint list (config key webhooks).  Start-up only,
 * before any thread uses the store.  0, or -1 with err (no secret in it). */
int webhook_configure(const char *text, char *err, size_t errsz);
/* Forget the endpoints (wiping their secrets). */
void webhook_unconfigure(void);
/* How many endpoints are configured. */
int webhook_endpoint_count(void);
/* The configured endpoint with this URL (borrowed, until webhook_unconfigure), or NULL. */
const struct webhook_endpoint *webhook_endpoint_find(const char *url);

/* An audit row was just written (detail: its JSON, borrowed, may be NULL):
 * queue the webhook event it maps to for every endpoint that wants it, on the
 * caller's connection (so inside its transaction when it has one), and wake
 * the worker.  0 (nothing to do counts), or -1 when a row could not be
 * written (logged). */
int webhook_on_audit(struct store *st, const struct store_audit *a, const json_t *detail);

/* Print a deployment warning per endpoint on plain http (loopback only, but unencrypted); how many. */
int webhook_check_deploy(void);

/* The worker's wake-up (webhook/worker.c registers it; NULL: none, e.g. the CLI). */
void webhook_set_waker(void (*wake)(void *arg), void *arg);

#endif
