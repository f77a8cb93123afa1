/*
 * A real store for unit tests: open the SQLite database at dsn and migrate
 * it to the current schema, or stop the test binary (nothing can be tested
 * without it).  Shared by every test that needs rows.
 */
#ifndef GATEHOUSE_TEST_STORE_H
#define GATEHOUSE_TEST_STORE_H

#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"

static inline struct store *
test_store_open(const char *dsn)
{
	char err[256];
	int applied;
	struct store *st = store_open(dsn, err, sizeof(err));

	if (st == NULL || store_migrate(st, &applied, err, sizeof(err)) != 0) {
		fprintf(stderr, "store: %s\n", err);
		exit(1);
	}
	return st;
}

#endif
