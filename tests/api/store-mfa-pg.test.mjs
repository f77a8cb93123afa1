// The second factors' persistence on PostgreSQL (issue 14): tests/unit/test_store_mfa.c,
// the same checks the unit suite runs on SQLite, run against a fresh database of the
// run's cluster (or, run alone, a private one) through GATEHOUSE_TEST_STORE_DSN: every
// op, the single-use guarantees under racing threads, mfa_enabled in every user row,
// the cascade with the user, and the session cache dropping a user row whose
// mfa_enabled changed (here, or announced by 0009's trigger). PostgreSQL only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storeUnitOnPostgres } from './store-unit-pg.mjs';

const runTwice = storeUnitOnPostgres('test_store_mfa', 'store_mfa');

test('the store tests of second factors pass on PostgreSQL, twice on one database', async () => {
	// the second run finds the schema migrated and the first run's rows: nothing may collide
	const { pg, db } = await runTwice();
	// every table is there, and every factor went with its user in the cascade check
	const orphans = pg.psql(
		db,
		'SELECT (SELECT count(*) FROM mfa_totp t WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id))' +
			' + (SELECT count(*) FROM webauthn_credentials w WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = w.user_id))' +
			' + (SELECT count(*) FROM mfa_recovery r WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id))' +
			' + (SELECT count(*) FROM mfa_pending p WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id));',
	);
	assert.equal(orphans.trim(), '0');
});
