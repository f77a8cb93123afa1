/*
 * The src/ top (docs/architecture.md): config, log and util sit under every
 * layer and include nothing of ours but each other; main.c is the CLI and
 * start-up; app.h is the wiring, forward declarations only, included from
 * any layer above the store.  Nothing here may be reached by a client's input
 * on the way to fatal().
 */
/*
 * app — the process-wide context handed to every request: configuration and
 * the shared services.  Built once at start-up and read-only afterwards
 * (each service guards its own mutable state).
 */
#ifndef GATEHOUSE_APP_H
#define GATEHOUSE_APP_H

#include "config.h"

struct password_params;
struct store;
struct hashpool;
struct limiter;
struct mailer;
struct social;

struct app {
	struct config cfg;
	const struct password_params *pw; /* Argon2 cost of new hashes */
	struct store *store;
	struct hashpool *hashpool; /* password hashing */
	struct hashpool *netpool;  /* blocking calls to social login providers */
	struct social *social;     /* configured providers (may be empty) */
	struct limiter *limiter;
	struct mailer *mailer; /* NULL outside `serve`: mail waits in the outbox */
};

#endif
