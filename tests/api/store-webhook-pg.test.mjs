// The webhook outbox's persistence on PostgreSQL (issue 15): tests/unit/test_store_webhook.c,
// the same checks the unit suite runs on SQLite, run against a fresh database of the
// run's cluster (or, run alone, a private one) through GATEHOUSE_TEST_STORE_DSN: every
// op, the lease, racing claimers never taking the same row (FOR UPDATE SKIP LOCKED),
// done rows never claimed again, the purge. PostgreSQL only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storeUnitOnPostgres } from './store-unit-pg.mjs';

const runTwice = storeUnitOnPostgres('test_store_webhook', 'store_webhook');

test('the store tests of the webhook outbox pass on PostgreSQL, twice on one database', async () => {
	// the second run finds the schema migrated and the first run's rows, all done: it claims none of them
	const { pg, db } = await runTwice();
	// every row either run made ended done
	assert.equal(pg.psql(db, 'SELECT count(*) FROM webhook_outbox WHERE done_at IS NULL;').trim(), '0');
});
