/*
 * audit — the audit trail: who did what to whom, when, from where.  Rows
 * carry event names, ids, IP and user agent, and a small JSON detail; never a
 * password, key, token or hash.  Writing a row never fails the request.
 */
#ifndef GATEHOUSE_AUDIT_H
#define GATEHOUSE_AUDIT_H

#include <stdint.h>

#include <jansson.h>

struct store;

/* Event about user_id (0: no subject) by actor_id (0: nobody signed in),
 * from ip and user_agent (NULL: none; a user agent that is not valid UTF-8
 * is dropped); detail (may be NULL) is taken over.  The HTTP handlers call
 * it through audit_log (api/api.h), which fills the actor from the request. */
void audit_write(struct store *st, int64_t actor_id, const char *ip, const char *user_agent,
    const char *event, int64_t user_id, json_t *detail);
/* The same from the command line (actor "cli", no IP). */
void audit_log_cli(struct store *st, const char *event, int64_t user_id, json_t *detail);
/* An audit row as JSON for the admin API (new reference). */
struct store_audit;
json_t *audit_json(const struct store_audit *a);

#endif
