/** When a Postgres integration test may skip: only when nobody asked for Postgres (no CI flag, no DATABASE_URL). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postgresRequiredBecause } from './helpers/services.js';

test('Postgres tests are required (fail, not skip) under COSTGATE_REQUIRE_SERVICES or an explicit DATABASE_URL', () => {
  assert.equal(postgresRequiredBecause({}), undefined);
  assert.equal(postgresRequiredBecause({ DATABASE_URL: '' }), undefined, 'an empty DATABASE_URL is unset (PG_URL falls back to the default too)');
  assert.equal(postgresRequiredBecause({ DATABASE_URL: 'postgres://db.internal:5432/ci' }), 'DATABASE_URL is set');
  assert.equal(postgresRequiredBecause({ COSTGATE_REQUIRE_SERVICES: '1' }), 'COSTGATE_REQUIRE_SERVICES is set');
  assert.equal(postgresRequiredBecause({ COSTGATE_REQUIRE_SERVICES: '1', DATABASE_URL: 'postgres://x/y' }), 'COSTGATE_REQUIRE_SERVICES is set');
});
