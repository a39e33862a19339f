/**
 * The stored-bodies half of the ledger contract (run by contract.test.ts for every backend): a lossless round trip of
 * every column (unicode, a null response), idempotency on the request id (a retried batch), the since/until/feature
 * filters, keyset pagination oldest first without repeats or gaps, retention pruning by age, and bodies committed in
 * the same transaction as the rows they came with.
 */
import assert from 'node:assert/strict';
import type { LedgerStore, BodyRow, BodyQuery } from './types.js';
import { makeRow, makeBody, T0, HOUR } from '../../../test/fixtures/ledger-rows.js';

type WithStore = (title: string, fn: (h: { store: LedgerStore }) => Promise<void>) => unknown;

async function all(store: LedgerStore, q: BodyQuery, limit = 7): Promise<BodyRow[]> {
  const out: BodyRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.bodies({ ...q, limit, cursor });
    out.push(...page.rows);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

export function describeBodiesContract(withStore: WithStore): void {
  withStore('stored bodies: every column round-trips; a repeated request id is ignored; rows and bodies in one write', async ({ store }) => {
    const a = makeBody({ requestId: 'b-a', request: JSON.stringify({ messages: [{ role: 'user', content: 'naïve 日本語 \u2028 "quoted"' }] }) });
    const b = makeBody({ requestId: 'b-b', ts: T0 + 1, feature: null, model: null, response: null, redactions: null, stream: true, status: 499, cacheStatus: 'exact', surface: 'anthropic', endpoint: 'messages' });
    await store.write([makeRow({ uid: 'with-bodies', requestId: 'b-a' })], [], [a, b]);
    await store.write([], [], [makeBody({ requestId: 'b-a', request: 'replaced?' })]);
    assert.equal(await store.count(), 1, 'the row came in the same write');
    const { rows, nextCursor } = await store.bodies({});
    assert.equal(nextCursor, undefined);
    assert.deepEqual(rows, [a, b]);
  });

  withStore('stored bodies: since/until/feature filters and pagination oldest first, no repeat or gap', async ({ store }) => {
    const bodies = Array.from({ length: 30 }, (_, i) => makeBody({ requestId: `p-${String(i).padStart(2, '0')}`, ts: T0 + Math.floor(i / 3) * HOUR, feature: i % 2 ? 'chat' : 'search' }));
    await store.write([], [], bodies.slice().reverse());
    const got = await all(store, {});
    assert.deepEqual(got.map((b) => b.requestId), bodies.map((b) => b.requestId), 'oldest first, ties by request id');
    const chat = await all(store, { feature: 'chat', since: T0 + 2 * HOUR, until: T0 + 6 * HOUR }, 2);
    assert.deepEqual(chat.map((b) => b.requestId), bodies.filter((b) => b.feature === 'chat' && b.ts >= T0 + 2 * HOUR && b.ts < T0 + 6 * HOUR).map((b) => b.requestId));
    assert.ok(chat.length > 2, 'more than one page');
  });

  withStore('stored bodies: pruneBodies deletes those older than the cutoff only, and leaves ledger rows alone', async ({ store }) => {
    const bodies = [0, 1, 2, 3].map((h) => makeBody({ requestId: `r-${h}`, ts: T0 + h * HOUR }));
    await store.write([makeRow({ uid: 'stays', ts: T0 })], [], bodies);
    assert.equal(await store.pruneBodies(T0 + 2 * HOUR), 2);
    assert.deepEqual((await store.bodies({})).rows.map((b) => b.requestId), ['r-2', 'r-3']);
    assert.equal(await store.pruneBodies(T0 + 2 * HOUR), 0);
    assert.equal(await store.count(), 1);
  });
}
