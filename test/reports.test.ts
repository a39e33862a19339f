/**
 * Cost reports end to end, every number checked by hand: a small ledger over two months (February and March 2025:
 * four features, three models, users, teams, keys, upstream errors, a rejected call, a response-cache hit, estimated
 * usage, a routed-down call with savings) is summarised, grouped, filtered by time, Pareto-ranked and written up as the
 * monthly Markdown review — through the library (`summarize`, `pareto`, `monthlyReport`), through the CLI
 * (`node bin/costgate.js report …` as a child process on a seeded SQLite file) and through the HTTP endpoints
 * (`/v1/costgate/report`, `/report/pareto`, `/report/monthly`). All expected values are literals worked out below from
 * the seeded rows and gpt-4o / gpt-4o-mini / claude-haiku-4-5 list prices; none is computed by the code under test.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRow, HOUR, DAY } from './fixtures/ledger-rows.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { SqliteLedger } from '../src/stores/ledger/sqlite.js';
import type { LedgerRow, LedgerStore } from '../src/stores/ledger/types.js';
import { summarize, pareto, callPareto, parseGroupBy, type SummaryRow } from '../src/observability/reports/summary.js';
import { filterFrom } from '../src/observability/reports/params.js';
import { parseTime, monthRange } from '../src/observability/reports/time.js';
import { monthlyReport } from '../src/observability/reports/monthly.js';
import { summaryCsv, summaryJson, summaryTable } from '../src/observability/reports/format.js';
import { PriceCatalog } from '../src/pricing/catalog.js';
import { Pricer } from '../src/pricing/pricer.js';
import { GatewayError } from '../src/pipeline/errors.js';

const BIN = fileURLToPath(new URL('../../bin/costgate.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const at = (month: number, day: number, hour: number) => Date.UTC(2025, month - 1, day, hour);
const MARCH = { since: at(3, 1, 0), until: at(4, 1, 0) };
const MARCH_Q = 'since=2025-03-01&until=2025-04-01';

/** A successful call with no caching, batch, reasoning or estimation unless `o` says so. */
function call(ts: number, o: Partial<LedgerRow>): LedgerRow {
  const model = o.model === undefined ? 'gpt-4o-mini' : o.model;
  return makeRow({
    ts, requestedModel: model ?? 'gpt-4o-mini', model, provider: model?.startsWith('claude') ? 'anthropic' : 'openai', deployment: null,
    stream: false, status: 200, errorType: null, errorMessage: null, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0,
    reasoningTokens: 0, usageEstimated: false, baselineModel: model, batch: false, cacheStatus: 'miss', attemptCount: 1, avoidedCostNanos: 0, governance: null, queueMs: null, cacheScore: null, shadowMatch: null, optimize: null, prefixHash: null, prefixTokens: null, requestHash: null, ...o,
  });
}

/**
 * March 2025 (costs are list prices: gpt-4o $2.50 in / $1.25 cached / $10 out per Mtok, gpt-4o-mini $0.15 / $0.60,
 * claude-haiku-4-5 $1 / $5; 1 µ$ = 1,000 n$):
 *   R1 search    gpt-4o      alice core   key-1  1000 in, 100 out            2500+1000 µ$        = 3,500,000 n$
 *   R2 search    gpt-4o      bob   core   key-1  2000 in (960 cached), 200    2600+1200+2000 µ$  = 5,800,000 n$
 *   R3 search    gpt-4o-mini alice core   key-2  1000 in, 50 out, asked for alias `fast`, baseline gpt-4o
 *                                                150+30 µ$ = 180,000 n$; baseline 2500+500 µ$ = 3,000,000 n$
 *   R4 chat      gpt-4o-mini carol growth key-2  500 in, 300 out              75+180 µ$           = 255,000 n$
 *   R5 chat      gpt-4o-mini carol growth key-2  same call, response-cache hit (`exact`): cost 0, baseline 255,000
 *   R6 chat      gpt-4o-mini dave  growth key-3  502 upstream error, no usage
 *   R7 summarize haiku-4-5   alice core   key-1  4000 in, 400 out, usage estimated  4000+2000 µ$ = 6,000,000 n$
 *   R8 summarize haiku-4-5   bob   core   key-3  429 rate limited, no usage
 *   R9 (no feature, model, user, team or key)    400 rejected before routing
 * February 2025:
 *   P1 search    gpt-4o      alice core   key-1  1000 in, 100 out  = 3,500,000 n$
 *   P2 chat      gpt-4o-mini carol growth key-2  500 in, 150 out   = 165,000 n$
 *   P3 summarize haiku-4-5   alice core   key-1  4000 in, 200 out  = 5,000,000 n$
 */
function seedRows(): LedgerRow[] {
  const gpt4o = { model: 'gpt-4o' } as const;
  const haiku = { model: 'claude-haiku-4-5' } as const;
  return [
    call(at(3, 10, 9), { ...gpt4o, feature: 'search', user: 'alice', team: 'core', apiKeyId: 'key-1', inputTokens: 1000, outputTokens: 100, costNanos: 3_500_000, baselineCostNanos: 3_500_000 }),
    call(at(3, 10, 15), { ...gpt4o, feature: 'search', user: 'bob', team: 'core', apiKeyId: 'key-1', inputTokens: 2000, cacheReadTokens: 960, outputTokens: 200, costNanos: 5_800_000, baselineCostNanos: 5_800_000 }),
    call(at(3, 11, 10), { requestedModel: 'fast', feature: 'search', user: 'alice', team: 'core', apiKeyId: 'key-2', inputTokens: 1000, outputTokens: 50, costNanos: 180_000, baselineModel: 'gpt-4o', baselineCostNanos: 3_000_000, routeDecision: 'primary' }),
    call(at(3, 11, 16), { feature: 'chat', user: 'carol', team: 'growth', apiKeyId: 'key-2', inputTokens: 500, outputTokens: 300, costNanos: 255_000, baselineCostNanos: 255_000 }),
    call(at(3, 12, 9), { feature: 'chat', user: 'carol', team: 'growth', apiKeyId: 'key-2', inputTokens: 500, outputTokens: 300, costNanos: 0, baselineCostNanos: 255_000, cacheStatus: 'exact', priceSource: 'cache:genai-prices:openai/gpt-4o-mini' }),
    call(at(3, 12, 15), { feature: 'chat', user: 'dave', team: 'growth', apiKeyId: 'key-3', status: 502, errorType: 'upstream_error', errorMessage: 'bad gateway', inputTokens: 0, outputTokens: 0, costNanos: 0, baselineCostNanos: 0, priceSource: 'no-usage' }),
    call(at(3, 12, 18), { ...haiku, feature: 'summarize', user: 'alice', team: 'core', apiKeyId: 'key-1', inputTokens: 4000, outputTokens: 400, usageEstimated: true, costNanos: 6_000_000, baselineCostNanos: 6_000_000 }),
    call(at(3, 13, 8), { ...haiku, feature: 'summarize', user: 'bob', team: 'core', apiKeyId: 'key-3', status: 429, errorType: 'rate_limited', errorMessage: 'slow down', inputTokens: 0, outputTokens: 0, costNanos: 0, baselineCostNanos: 0, priceSource: 'no-usage' }),
    call(at(3, 13, 9), { model: null, requestedModel: '', feature: null, user: null, team: null, apiKeyId: null, priority: null, status: 400, errorType: 'invalid_value', errorMessage: 'messages: required', inputTokens: 0, outputTokens: 0, costNanos: 0, baselineModel: null, baselineCostNanos: 0, priceSource: 'rejected', attemptCount: 0 }),
    call(at(2, 10, 12), { ...gpt4o, feature: 'search', user: 'alice', team: 'core', apiKeyId: 'key-1', inputTokens: 1000, outputTokens: 100, costNanos: 3_500_000, baselineCostNanos: 3_500_000 }),
    call(at(2, 11, 12), { feature: 'chat', user: 'carol', team: 'growth', apiKeyId: 'key-2', inputTokens: 500, outputTokens: 150, costNanos: 165_000, baselineCostNanos: 165_000 }),
    call(at(2, 20, 12), { ...haiku, feature: 'summarize', user: 'alice', team: 'core', apiKeyId: 'key-1', inputTokens: 4000, outputTokens: 200, costNanos: 5_000_000, baselineCostNanos: 5_000_000 }),
  ];
}

const MARCH_COST = 15_735_000n;
const MARCH_BASELINE = 18_810_000n;

type Expect = Partial<Omit<SummaryRow, 'group'>>;
/** March, by feature (hand sums of R1–R9). */
const MARCH_BY_FEATURE: Record<string, Expect> = {
  search: { requests: 3, errors: 0, inputTokens: 4000, cachedTokens: 960, outputTokens: 350, costNanos: 9_480_000n, baselineCostNanos: 12_300_000n, savedNanos: 2_820_000n, cacheHitRate: 0, errorRate: 0, avgOutputTokens: 350 / 3, costPer1kNanos: 3_160_000_000n },
  chat: { requests: 3, errors: 1, inputTokens: 1000, cachedTokens: 0, outputTokens: 600, costNanos: 255_000n, baselineCostNanos: 510_000n, savedNanos: 255_000n, cacheHitRate: 1 / 3, errorRate: 1 / 3, avgOutputTokens: 200, costPer1kNanos: 85_000_000n },
  summarize: { requests: 2, errors: 1, inputTokens: 4000, cachedTokens: 0, outputTokens: 400, costNanos: 6_000_000n, baselineCostNanos: 6_000_000n, savedNanos: 0n, cacheHitRate: 0, errorRate: 0.5, avgOutputTokens: 200, costPer1kNanos: 3_000_000_000n },
  null: { requests: 1, errors: 1, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costNanos: 0n, baselineCostNanos: 0n, savedNanos: 0n, cacheHitRate: 0, errorRate: 1, avgOutputTokens: 0, costPer1kNanos: 0n },
};
/** 15,735,000 n$ × 1000 / 9 = 1,748,333,333.3… → 1,748,333,333. */
const MARCH_TOTAL: Expect = { requests: 9, errors: 3, inputTokens: 9000, cachedTokens: 960, outputTokens: 1350, costNanos: MARCH_COST, baselineCostNanos: MARCH_BASELINE, savedNanos: 3_075_000n, cacheHitRate: 1 / 9, errorRate: 1 / 3, avgOutputTokens: 150, costPer1kNanos: 1_748_333_333n };

function check(row: SummaryRow | undefined, want: Expect, what: string): void {
  assert.ok(row, `${what}: missing`);
  for (const [k, v] of Object.entries(want)) {
    const got: unknown = row[k as keyof SummaryRow];
    if (typeof v === 'number' && !Number.isInteger(v)) assert.ok(Math.abs((got as number) - v) < 1e-12, `${what}.${k}: ${got} != ${v}`);
    else assert.equal(got, v, `${what}.${k}`);
  }
}

const groupOf = (rows: SummaryRow[], k: string) => new Map(rows.map((r) => [String(r.group[k]), r]));

async function seededStore(rows = seedRows()): Promise<LedgerStore> {
  const store = new SqliteLedger(':memory:');
  await store.init();
  await store.write(rows, []);
  return store;
}

const pricer = () => new Pricer({ catalog: new PriceCatalog({}), providerType: () => undefined, aliasBaseline: () => undefined, defaultBaseline: 'gpt-4o' });

describe('summarize', () => {
  let store: LedgerStore;
  before(async () => (store = await seededStore()));
  after(() => store.close());

  test('March by feature: requests, tokens, cost, savings, cache hit and error rates, avg output, cost per 1k, shares', async () => {
    const s = await summarize(store, MARCH, ['feature']);
    assert.deepEqual(s.by, ['feature']);
    check(s.total, { ...MARCH_TOTAL, costShare: 1 }, 'total');
    const g = groupOf(s.rows, 'feature');
    assert.deepEqual([...g.keys()], ['search', 'summarize', 'chat', 'null'], 'highest cost first');
    for (const [k, want] of Object.entries(MARCH_BY_FEATURE)) check(g.get(k), want, k);
    check(g.get('search'), { costShare: 9_480_000 / 15_735_000 }, 'search');
    check(g.get('chat'), { costShare: 255_000 / 15_735_000 }, 'chat');
    check(g.get('summarize'), { costShare: 6_000_000 / 15_735_000 }, 'summarize');
    assert.equal(s.rows.reduce((a, r) => a + r.costShare, 0).toFixed(12), '1.000000000000');
  });

  test('no filter covers both months; a filter narrows to one month, feature, status or user', async () => {
    check((await summarize(store, {}, [])).total, { requests: 12, costNanos: MARCH_COST + 8_665_000n, baselineCostNanos: MARCH_BASELINE + 8_665_000n, outputTokens: 1800 }, 'all');
    check((await summarize(store, { until: MARCH.since }, [])).total, { requests: 3, errors: 0, costNanos: 8_665_000n, savedNanos: 0n, avgOutputTokens: 150 }, 'february');
    check((await summarize(store, { ...MARCH, status: 'error' }, [])).total, { requests: 3, errors: 3, costNanos: 0n, errorRate: 1 }, 'march errors');
    check((await summarize(store, { ...MARCH, status: 'ok' }, [])).total, { requests: 6, errors: 0, costNanos: MARCH_COST, cacheHitRate: 1 / 6 }, 'march ok');
    check((await summarize(store, { ...filterFrom({ feature: 'search', user: 'alice' }), ...MARCH }, [])).total, { requests: 2, costNanos: 3_680_000n, savedNanos: 2_820_000n }, 'search/alice');
    check((await summarize(store, { ...MARCH, apiKeyId: 'key-3' }, [])).total, { requests: 2, errors: 2, costNanos: 0n, costPer1kNanos: 0n }, 'key-3');
    check((await summarize(store, { ...MARCH, feature: 'nope' }, [])).total, { requests: 0, costNanos: 0n, cacheHitRate: 0, errorRate: 0, avgOutputTokens: 0, costPer1kNanos: 0n, costShare: 0 }, 'empty');
  });

  test('by model, user, team and key', async () => {
    const model = groupOf((await summarize(store, MARCH, ['model'])).rows, 'model');
    assert.deepEqual([...model.keys()], ['gpt-4o', 'claude-haiku-4-5', 'gpt-4o-mini', 'null']);
    check(model.get('gpt-4o'), { requests: 2, inputTokens: 3000, cachedTokens: 960, outputTokens: 300, costNanos: 9_300_000n, savedNanos: 0n }, 'gpt-4o');
    check(model.get('gpt-4o-mini'), { requests: 4, errors: 1, costNanos: 435_000n, baselineCostNanos: 3_510_000n, savedNanos: 3_075_000n, cacheHitRate: 0.25, avgOutputTokens: 162.5, costPer1kNanos: 108_750_000n }, 'gpt-4o-mini');
    check(model.get('claude-haiku-4-5'), { requests: 2, errors: 1, costNanos: 6_000_000n }, 'haiku');

    const user = groupOf((await summarize(store, MARCH, ['user'])).rows, 'user');
    assert.deepEqual(Object.fromEntries([...user].map(([k, r]) => [k, [r.requests, r.costNanos]])), {
      alice: [3, 9_680_000n], bob: [2, 5_800_000n], carol: [2, 255_000n], dave: [1, 0n], null: [1, 0n],
    });
    const team = groupOf((await summarize(store, MARCH, ['team'])).rows, 'team');
    assert.deepEqual(Object.fromEntries([...team].map(([k, r]) => [k, [r.requests, r.errors, r.costNanos]])), {
      core: [5, 1, 15_480_000n], growth: [3, 1, 255_000n], null: [1, 1, 0n],
    });
    const key = groupOf((await summarize(store, MARCH, ['key'])).rows, 'key');
    assert.deepEqual(Object.fromEntries([...key].map(([k, r]) => [k, [r.requests, r.costNanos, r.savedNanos]])), {
      'key-1': [3, 15_300_000n, 0n], 'key-2': [3, 435_000n, 3_075_000n], 'key-3': [2, 0n, 0n], null: [1, 0n, 0n],
    });
  });

  test('by feature,model,day: one row per combination, UTC days in order, adding up to the total', async () => {
    const s = await summarize(store, MARCH, parseGroupBy('feature,model,day'));
    assert.deepEqual(s.by, ['feature', 'model', 'day']);
    const got = new Map(s.rows.map((r) => [`${r.group.feature}/${r.group.model}/${r.group.day}`, [r.requests, r.errors, r.costNanos, r.cacheHitRate]]));
    assert.deepEqual(Object.fromEntries(got), {
      'search/gpt-4o/2025-03-10': [2, 0, 9_300_000n, 0],
      'search/gpt-4o-mini/2025-03-11': [1, 0, 180_000n, 0],
      'chat/gpt-4o-mini/2025-03-11': [1, 0, 255_000n, 0],
      'chat/gpt-4o-mini/2025-03-12': [2, 1, 0n, 0.5],
      'summarize/claude-haiku-4-5/2025-03-12': [1, 0, 6_000_000n, 0],
      'summarize/claude-haiku-4-5/2025-03-13': [1, 1, 0n, 0],
      'null/null/2025-03-13': [1, 1, 0n, 0],
    });
    assert.equal(s.rows.reduce((a, r) => a + r.costNanos, 0n), MARCH_COST);
    const day = await summarize(store, {}, ['day']);
    assert.deepEqual(day.rows.map((r) => [r.group.day, r.costNanos]), [
      ['2025-02-10', 3_500_000n], ['2025-02-11', 165_000n], ['2025-02-20', 5_000_000n],
      ['2025-03-10', 9_300_000n], ['2025-03-11', 435_000n], ['2025-03-12', 6_000_000n], ['2025-03-13', 0n],
    ]);
    const month = await summarize(store, {}, ['month']);
    assert.deepEqual(month.rows.map((r) => [r.group.month, r.requests, r.costNanos]), [['2025-02', 3, 8_665_000n], ['2025-03', 9, MARCH_COST]]);
  });

  test('unknown group keys are a clear error', () => {
    assert.deepEqual(parseGroupBy(undefined), []);
    assert.deepEqual(parseGroupBy(' user , team ,,key'), ['user', 'team', 'key']);
    assert.throws(() => parseGroupBy('feature,colour'), (e: unknown) => e instanceof GatewayError && e.status === 400 && /by: unknown group 'colour' \(use feature, model/.test(e.message));
  });

  test('cost per 1,000 requests is rounded half to even, like every money value', async () => {
    // 16 calls costing 1 n$ in all: 1000/16 = 62.5 → 62; 3 n$ in all: 3000/16 = 187.5 → 188.
    const tiny = (total: number) => Array.from({ length: 16 }, (_, i) => call(at(1, 5, 1), { feature: `t${total}`, costNanos: i < total ? 1 : 0, baselineCostNanos: 0 }));
    const s = await seededStore([...tiny(1), ...tiny(3)]);
    try {
      const g = groupOf((await summarize(s, {}, ['feature'])).rows, 'feature');
      assert.equal(g.get('t1')!.costPer1kNanos, 62n);
      assert.equal(g.get('t3')!.costPer1kNanos, 188n);
    } finally {
      await s.close();
    }
  });
});

describe('time arguments (--since / --until / since=)', () => {
  const now = at(3, 13, 12);
  test('relative (7d, 24h, 30m, 2w, 1.5d), ISO dates and times, epoch ms', () => {
    assert.equal(parseTime('7d', now), at(3, 6, 12));
    assert.equal(parseTime('24h', now), at(3, 12, 12));
    assert.equal(parseTime('30m', now), now - 30 * 60_000);
    assert.equal(parseTime('2w', now), now - 14 * DAY);
    assert.equal(parseTime('1.5d', now), now - 36 * HOUR);
    assert.equal(parseTime('2025-03-11', now), at(3, 11, 0));
    assert.equal(parseTime('2025-03-11T10:30:00Z', now), Date.UTC(2025, 2, 11, 10, 30));
    assert.equal(parseTime('2025-03-11T10:30:00.250+02:00', now), Date.UTC(2025, 2, 11, 8, 30, 0, 250));
    assert.equal(parseTime(String(at(3, 11, 0)), now), at(3, 11, 0));
  });

  test('they select the right rows', async () => {
    const store = await seededStore();
    try {
      const total = async (p: Record<string, string>) => (await summarize(store, filterFrom(p, now), [])).total;
      check(await total({ since: '7d' }), { requests: 9, costNanos: MARCH_COST }, '7d');
      // Since 2025-03-12T12:00: R6 (15:00), R7, R8, R9.
      check(await total({ since: '24h' }), { requests: 4, errors: 3, costNanos: 6_000_000n }, '24h');
      check(await total({ since: '2025-03-11', until: '2025-03-12' }), { requests: 2, costNanos: 435_000n }, 'one UTC day');
      check(await total({ since: '2025-03-10T15:00:00Z', until: '2025-03-11T10:00:00Z' }), { requests: 1, costNanos: 5_800_000n }, 'half-open');
      check(await total({ since: '60d' }), { requests: 12 }, '60d');
    } finally {
      await store.close();
    }
  });

  test('bad values are a 400-style error naming the parameter, never a silently different window', () => {
    // V8's Date.parse guesses at free text: '7' is July 2001, 'week 7' too, 'x 2025' is 2025-01-01, '2025-02-30' is
    // 2 March. Each of these must be refused, not turned into a report over the wrong months.
    for (const bad of ['yesterday', '7x', '-7d', '7 days', 'd', '7', 'week 7', 'x 2025', 'March 7', '2025-13-01', '2025-02-30', '2025-03-11T25:00Z', '12345']) {
      assert.throws(() => parseTime(bad, now, 'since'), (e: unknown) => e instanceof GatewayError && e.status === 400 && e.message === `since: expected 7d / 24h / 30m / an ISO date / epoch ms, got '${bad}'`, bad);
    }
    assert.throws(() => filterFrom({ until: 'soon' }, now), /until: expected 7d .* got 'soon'/);
    assert.throws(() => filterFrom({ status: 'failed' }, now), /status: use 'ok' or 'error'/);
  });

  test('months: YYYY-MM, 01 to 12', () => {
    assert.deepEqual(monthRange('2025-03'), { start: at(3, 1, 0), end: at(4, 1, 0), label: '2025-03' });
    assert.deepEqual(monthRange('2024-12'), { start: Date.UTC(2024, 11, 1), end: Date.UTC(2025, 0, 1), label: '2024-12' });
    assert.deepEqual(monthRange(undefined, new Date(at(3, 13, 12))), { start: at(3, 1, 0), end: at(4, 1, 0), label: '2025-03' });
    for (const bad of ['2025-13', '2025-00', '2025-3', 'March', '2025-03-01']) assert.throws(() => monthRange(bad), /month: expected YYYY-MM/, bad);
  });
});

describe('pareto', () => {
  let store: LedgerStore;
  before(async () => (store = await seededStore()));
  after(() => store.close());

  test('by feature: the top 20 % of features (1 of 4) and the groups that make up 80 %', async () => {
    const p = await pareto(store, MARCH);
    assert.equal(p.by, 'feature');
    assert.equal(p.groups, 4);
    // Cumulative: search 9.48/15.735 = 60.2 %, + summarize 6.0 → 98.4 %: two features make up 80 %.
    assert.equal(p.groupsFor80, 2);
    assert.equal(p.topShareOfGroups, 0.5);
    assert.equal(p.costShareOfTop20, 9_480_000 / 15_735_000);
    assert.deepEqual(p.rows.map((r) => [r.group.feature, r.costNanos]), [['search', 9_480_000n], ['summarize', 6_000_000n], ['chat', 255_000n], [null, 0n]]);
    assert.deepEqual(p.rows.map((r) => r.cumulativeShare), [9_480_000 / 15_735_000, 15_480_000 / 15_735_000, 1, 1]);
  });

  test('by user: 5 users, the top 1 drives 61.5 %, 2 make up 80 %', async () => {
    const p = await pareto(store, MARCH, 'user');
    assert.deepEqual([p.groups, p.groupsFor80, p.topShareOfGroups, p.costShareOfTop20], [5, 2, 0.4, 9_680_000 / 15_735_000]);
  });

  test('per call: the 2 dearest of 9 calls drive 75.0 %, 3 calls make up 80 %', async () => {
    // Costs: 6.0, 5.8, 3.5, 0.255, 0.18 (m n$) and four zeros; top ceil(9 × 0.2) = 2 → 11.8 / 15.735.
    assert.deepEqual(await callPareto(store, MARCH), { calls: 9, costShareOfTop20: 11_800_000 / 15_735_000, callsFor80: 3 });
  });

  test('an empty window is all zeros, not NaN', async () => {
    const p = await pareto(store, { feature: 'none-such' });
    assert.deepEqual([p.groups, p.groupsFor80, p.topShareOfGroups, p.costShareOfTop20, p.rows.length], [0, 0, 0, 0, 0]);
    assert.deepEqual(await callPareto(store, { feature: 'none-such' }), { calls: 0, costShareOfTop20: 0, callsFor80: 0 });
  });
});

/** The March 2025 review, line by line (numbers as worked out in the seed's comment). */
const MARCH_REVIEW_LINES = [
  '# costgate monthly cost review — 2025-03',
  // 15,735,000 vs 8,665,000 n$: +7,070,000 / 8,665,000 = +81.6 %.
  'Total spend **$0.015735** over 9 requests (+81.6% vs 2025-02: $0.008665).',
  // Response cache: 1 hit (R5) of 9 requests; prompt cache: 960 cached of 9000 input tokens = 10.7 %.
  'Saved vs baseline: **$0.003075** (baseline $0.018810). Response-cache hit rate 11.1%; prompt-cache share 10.7% of input tokens; error rate 33.3%.',
  '## Cost by feature',
  '| feature | requests | cost | share | vs 2025-02 | response cache hit | prompt cached | avg output tok |',
  // search 9.48 vs 3.5 m n$ = +170.9 %; chat 255k vs 165k = +54.5 %; summarize 6.0 vs 5.0 = +20.0 %. search cached 960 / 4000.
  '| search | 3 | $0.009480 | 60.2% | +170.9% | 0.0% | 24.0% | 116.7 |',
  '| summarize | 2 | $0.006000 | 38.1% | +20.0% | 0.0% | 0.0% | 200.0 |',
  '| chat | 3 | $0.000255 | 1.6% | +54.5% | 33.3% | 0.0% | 200.0 |',
  '| (none) | 1 | $0.000000 | 0.0% | — | 0.0% | 0.0% | 0.0 |',
  '## Cost by model',
  '| model | requests | cost | share | vs 2025-02 | prompt cached |',
  // gpt-4o cached 960 / 3000.
  '| gpt-4o | 2 | $0.009300 | 59.1% | +165.7% | 32.0% |',
  '| claude-haiku-4-5 | 2 | $0.006000 | 38.1% | +20.0% | 0.0% |',
  '| gpt-4o-mini | 4 | $0.000435 | 2.8% | +163.6% | 0.0% |',
  '| (none) | 1 | $0.000000 | 0.0% | — | 0.0% |',
  '## Token waste: output-length drift',
  '| feature | avg output 2025-02 | avg output 2025-03 | change |',
  '| search | 100.0 | 116.7 | +16.7% |',
  '| summarize | 200.0 | 200.0 | +0.0% |',
  '| chat | 150.0 | 200.0 | +33.3% |',
  '## Top savings opportunities',
  '| opportunity | est. monthly saving | how estimated |',
  // search on gpt-4o: 3000 in / 300 out costs 7500+3000 µ$ on gpt-4o, 450+180 on gpt-4o-mini;
  // 9,300,000 × (10,500,000 − 630,000) / (10,500,000 × 2) = 4,371,000 n$.
  "| Route half of search's gpt-4o calls to gpt-4o-mini | $0.004371 | $0.009300 × (1 − $0.000630/$0.010500) × 50 % routable |",
  // Uncached search input on gpt-4o: 2040 × 2.5 µ$ = 5,100,000 n$ × 0.45 = 2,295,000.
  '| Prompt caching for search on gpt-4o (avg input 1500 tokens, 32.0% cached) | $0.002295 | uncached input $0.005100 × 50 % reusable prefix × 90 % read discount |',
  // summarize on haiku: 4000 × 1 µ$ = 4,000,000 n$ × 0.45 = 1,800,000.
  '| Prompt caching for summarize on claude-haiku-4-5 (avg input 2000 tokens, 0.0% cached) | $0.001800 | uncached input $0.004000 × 50 % reusable prefix × 90 % read discount |',
];

function assertReview(md: string): void {
  const lines = md.split('\n').filter((l) => l.trim() && !/^\|(---\|)+$/.test(l));
  assert.deepEqual(lines, MARCH_REVIEW_LINES);
}

describe('monthly review', () => {
  let store: LedgerStore;
  before(async () => (store = await seededStore()));
  after(() => store.close());

  test('March 2025: totals, growth vs February, cost by feature and model, drift, opportunities', async () => {
    const md = await monthlyReport(store, pricer(), '2025-03');
    assertReview(md);
    assert.match(md, /\n\|---\|---\|---\|---\|---\|---\|---\|---\|\n/, 'a Markdown table separator row');
  });

  test('a month with no previous traffic: growth is "new", no drift, and the default month is the current one', async () => {
    const md = await monthlyReport(store, pricer(), '2025-02');
    assert.match(md, /^Total spend \*\*\$0\.008665\*\* over 3 requests \(new vs 2025-01: \$0\.000000\)\.$/m);
    assert.match(md, /^\| search \| 1 \| \$0\.003500 \| 40\.4% \| new \| 0\.0% \| 0\.0% \| 100\.0 \|$/m);
    assert.match(md, /No feature has traffic in both 2025-01 and 2025-02\./);
    const april = await monthlyReport(store, pricer(), undefined, new Date(at(4, 2, 0)));
    assert.match(april, /^# costgate monthly cost review — 2025-04$/m);
    assert.match(april, /^Total spend \*\*\$0\.000000\*\* over 0 requests \(-100\.0% vs 2025-03: \$0\.015735\)\.$/m);
    assert.match(april, /None found this month\./);
  });
});

test('monthly review: one money precision per column (a sub-µ$ amount makes the whole column 9 decimals)', async () => {
  // Two features in May: $0.2904 (a whole µ$ amount) and $0.1650864 (sub-µ$ digits); prompt-cached 9000 of 10000 input tokens.
  const store = await seededStore([
    call(at(5, 3, 9), { model: 'claude-opus-4-1', feature: 'code-review', inputTokens: 1000, outputTokens: 100, costNanos: 290_400_000, baselineCostNanos: 290_400_000 }),
    call(at(5, 3, 10), { model: 'claude-sonnet-4-6', feature: 'summarizer', inputTokens: 10000, cacheReadTokens: 9000, outputTokens: 100, costNanos: 165_086_400, baselineCostNanos: 165_086_400 }),
  ]);
  try {
    const md = await monthlyReport(store, pricer(), '2025-05');
    assert.match(md, /^Total spend \*\*\$0\.455486400\*\* over 2 requests \(new vs 2025-04: \$0\.000000000\)\.$/m);
    assert.match(md, /Response-cache hit rate 0\.0%; prompt-cache share 81\.8% of input tokens;/); // 9000 / 11000
    assert.match(md, /^\| code-review \| 1 \| \$0\.290400000 \| 63\.8% \| new \| 0\.0% \| 0\.0% \| 100\.0 \|$/m);
    assert.match(md, /^\| summarizer \| 1 \| \$0\.165086400 \| 36\.2% \| new \| 0\.0% \| 90\.0% \| 100\.0 \|$/m);
    assert.match(md, /^\| claude-opus-4-1 \| 1 \| \$0\.290400000 \| 63\.8% \| new \| 0\.0% \|$/m);
    // Savings 290,400,000 × (22,500 − 4,500) / (22,500 × 2) = 116,160,000 n$ (Opus 1000 in / 100 out: 15000 + 7500 µ$,
    // Sonnet 4.5: 3000 + 1500 µ$) and 165,086,400 × (31,500 − 10,500) / (31,500 × 2) = 55,028,800 n$ (Sonnet 4.6 10000 in /
    // 100 out: 30000 + 1500 µ$, Haiku 4.5: 10000 + 500 µ$): one column at 9 decimals; each formula at its own one precision.
    assert.match(md, /^\| Route half of code-review's claude-opus-4-1 calls to claude-sonnet-4-5 \| \$0\.116160000 \| \$0\.290400 × \(1 − \$0\.004500\/\$0\.022500\) × 50 % routable \|$/m);
    assert.match(md, /^\| Route half of summarizer's claude-sonnet-4-6 calls to claude-haiku-4-5 \| \$0\.055028800 \| \$0\.165086400 × \(1 − \$0\.010500000\/\$0\.031500000\) × 50 % routable \|$/m);
  } finally {
    await store.close();
  }
});

/** Parse a decimal USD string exactly into nano-dollars. */
function usdToNanos(s: string): bigint {
  const m = /^(-?)(\d+)\.(\d{9})$/.exec(s);
  assert.ok(m, `not an exact USD amount: ${s}`);
  const n = BigInt(m[2]!) * 1_000_000_000n + BigInt(m[3]!);
  return m[1] ? -n : n;
}

function parseCsv(text: string): string[][] {
  return text.trimEnd().split('\n').map((l) => l.split(','));
}

describe('formats', () => {
  test('table, CSV and JSON of the March summary by feature', async () => {
    const store = await seededStore();
    try {
      const s = await summarize(store, MARCH, ['feature']);
      const t = summaryTable(s).split('\n');
      // The $/1k column takes 9 decimals for every row because the TOTAL needs them (one precision per column).
      assert.deepEqual(t[0]!.trim().split(/\s{2,}/), ['feature', 'requests', 'input tok', 'cached', 'output tok', 'cost', 'share', 'saved', 'cache hit', 'avoided', 'errors', 'avg out', '$/1k req']);
      assert.deepEqual(t[2]!.trim().split(/\s{2,}/), ['search', '3', '4,000', '24.0%', '350', '$0.009480', '60.2%', '$0.002820', '0.0%', '$0.000000', '0.0%', '116.7', '$3.160000000']);
      assert.deepEqual(t.at(-1)!.trim().split(/\s{2,}/), ['TOTAL', '9', '9,000', '10.7%', '1,350', '$0.015735', '100.0%', '$0.003075', '11.1%', '$0.000000', '33.3%', '150.0', '$1.748333333']);
      const csv = parseCsv(summaryCsv(s));
      assert.equal(csv.length, 5);
      assert.equal(csv[1]!.join(','), 'search,3,0,4000,960,350,0.009480000,0.012300000,0.002820000,0.0000,0.0000,116.67,3.160000000,0,0.000000000');
      const j = JSON.parse(JSON.stringify(summaryJson(s)));
      assert.equal(j.total.costNanos, '15735000');
      assert.equal(j.total.costUsd, '0.015735000');
    } finally {
      await store.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The CLI, as a user runs it: a child process reading a SQLite ledger named by a config file.

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: cwd, NODE_NO_WARNINGS: '1' };
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | null) ?? 1 : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

describe('costgate report (CLI, child process)', () => {
  let dir: string;
  let config: string;
  const recentCost = 1_234_567;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'costgate-reports-'));
    const db = join(dir, 'ledger.db');
    config = join(dir, 'costgate.json');
    writeFileSync(config, JSON.stringify({ ledger: { store: 'sqlite', path: db } }));
    const store = new SqliteLedger(db);
    await store.init();
    // Plus one call from an hour ago, for the relative windows (the default --since is 30d).
    await store.write([...seedRows(), call(Date.now() - HOUR, { feature: 'recent', inputTokens: 10, outputTokens: 5, costNanos: recentCost, baselineCostNanos: recentCost })], []);
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const march = ['--since', '2025-03-01', '--until', '2025-04-01'];

  test('summary table by feature', async () => {
    const r = await cli(['report', '--config', config, ...march, '--by', 'feature'], dir);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n').map((l) => l.trim().split(/\s{2,}/));
    assert.deepEqual(lines[0], ['feature', 'requests', 'input tok', 'cached', 'output tok', 'cost', 'share', 'saved', 'cache hit', 'avoided', 'errors', 'avg out', '$/1k req']);
    assert.deepEqual(lines.slice(2).map((l) => [l[0], l[1], l[5], l[6], l[8], l[10]]), [
      ['search', '3', '$0.009480', '60.2%', '0.0%', '0.0%'],
      ['summarize', '2', '$0.006000', '38.1%', '0.0%', '50.0%'],
      ['chat', '3', '$0.000255', '1.6%', '33.3%', '33.3%'],
      ['(none)', '1', '$0.000000', '0.0%', '0.0%', '100.0%'],
      ['TOTAL', '9', '$0.015735', '100.0%', '11.1%', '33.3%'],
    ]);
  });

  test('--json: money as exact strings, numbers as by hand', async () => {
    const r = await cli(['report', '--config', config, ...march, '--by', 'model,user', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.by, ['model', 'user']);
    assert.equal(j.filter.since, at(3, 1, 0));
    assert.equal(typeof j.total.costNanos, 'string');
    assert.deepEqual([j.total.requests, j.total.costNanos, j.total.costUsd, j.total.baselineCostUsd, j.total.savedUsd, j.total.costPer1kNanos], [9, '15735000', '0.015735000', '0.018810000', '0.003075000', '1748333333']);
    const row = j.rows.find((x: any) => x.group.model === 'gpt-4o' && x.group.user === 'bob');
    assert.deepEqual([row.requests, row.cachedTokens, row.costNanos, row.costUsd], [1, 960, '5800000', '0.005800000']);
    assert.equal(j.rows.reduce((a: bigint, x: any) => a + BigInt(x.costNanos), 0n), MARCH_COST);
  });

  test('--csv: header, one line per group, sums equal the total', async () => {
    const r = await cli(['report', '--config', config, ...march, '--by', 'team,day', '--csv'], dir);
    assert.equal(r.code, 0, r.stderr);
    const [head, ...rows] = parseCsv(r.stdout);
    assert.deepEqual(head, ['team', 'day', 'requests', 'errors', 'input_tokens', 'cached_tokens', 'output_tokens', 'cost_usd', 'baseline_cost_usd', 'saved_usd', 'cache_hit_rate', 'error_rate', 'avg_output_tokens', 'cost_per_1k_requests_usd', 'cache_hits', 'avoided_cost_usd']);
    const col = (name: string) => head!.indexOf(name);
    assert.equal(rows.reduce((a, x) => a + Number(x[col('requests')]), 0), 9);
    assert.equal(rows.reduce((a, x) => a + usdToNanos(x[col('cost_usd')]!), 0n), MARCH_COST);
    assert.equal(rows.reduce((a, x) => a + usdToNanos(x[col('baseline_cost_usd')]!), 0n), MARCH_BASELINE);
    assert.equal(rows.reduce((a, x) => a + usdToNanos(x[col('saved_usd')]!), 0n), 3_075_000n);
    const growth12 = rows.find((x) => x[0] === 'growth' && x[1] === '2025-03-12')!;
    assert.deepEqual(growth12.slice(2), ['2', '1', '500', '0', '300', '0.000000000', '0.000255000', '0.000255000', '0.5000', '0.5000', '150.00', '0.000000000', '1', '0.000000000']);
    assert.ok(rows.some((x) => x[0] === '' && x[1] === '2025-03-13'), 'no team is an empty cell');
  });

  test('relative windows: the default 30d and --since 7d see only the recent call', async () => {
    for (const extra of [[], ['--since', '7d'], ['--since', '24h']]) {
      const r = await cli(['report', '--config', config, '--json', ...extra], dir);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.deepEqual([j.total.requests, j.total.costNanos], [1, String(recentCost)], extra.join(' '));
    }
  });

  test('pareto: text and --json', async () => {
    const r = await cli(['report', 'pareto', '--config', config, ...march], dir);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'Top 20% of calls (2 of 9) drive 75.0% of cost; 3 calls (33.3%) make up 80%.');
    assert.equal(lines[1], 'Top 20% of feature values drive 60.2% of cost; 2 of 4 feature values make up 80%.');
    assert.equal(lines[2], '');
    assert.deepEqual(lines[3]!.trim().split(/\s{2,}/), ['feature', 'cost', 'share', 'cumulative', 'requests']);
    assert.deepEqual(lines.slice(5, 9).map((l) => l.trim().split(/\s{2,}/)), [
      ['search', '$0.009480', '60.2%', '60.2%', '3'],
      ['summarize', '$0.006000', '38.1%', '98.4%', '2'],
      ['chat', '$0.000255', '1.6%', '100.0%', '3'],
      ['(none)', '$0.000000', '0.0%', '100.0%', '1'],
    ]);
    const j = await cli(['report', 'pareto', '--config', config, ...march, '--by', 'team', '--json'], dir);
    assert.equal(j.code, 0, j.stderr);
    const p = JSON.parse(j.stdout);
    assert.deepEqual([p.groups.by, p.groups.groups, p.groups.groupsFor80], ['team', 3, 1]);
    assert.deepEqual(p.groups.rows.map((x: any) => [x.group.team, x.costNanos]), [['core', '15480000'], ['growth', '255000'], [null, '0']]);
    assert.deepEqual(p.calls, { calls: 9, costShareOfTop20: 11_800_000 / 15_735_000, callsFor80: 3 });
  });

  test('monthly --out writes the review', async () => {
    const out = join(dir, 'review.md');
    const r = await cli(['report', 'monthly', '--config', config, '--month', '2025-03', '--out', out], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `wrote ${out}`);
    assertReview(readFileSync(out, 'utf8'));
    const printed = await cli(['report', 'monthly', '--config', config, '--month', '2025-03'], dir);
    assert.equal(printed.stdout.trimEnd(), readFileSync(out, 'utf8').trimEnd());
  });

  test('bad flags: exit code 1 and a message naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['report', '--since', 'yesterday'], /^costgate: since: expected 7d \/ 24h \/ 30m \/ an ISO date \/ epoch ms, got 'yesterday'$/m],
      [['report', '--since', '7'], /^costgate: since: expected .* got '7'$/m],
      [['report', '--until', '2025-02-30'], /^costgate: until: expected .* got '2025-02-30'$/m],
      [['report', '--by', 'colour'], /^costgate: by: unknown group 'colour'/m],
      [['report', 'pareto', '--by', 'colour'], /^costgate: by: unknown group 'colour'/m],
      [['report', '--status', 'failed'], /^costgate: status: use 'ok' or 'error'$/m],
      [['report', 'monthly', '--month', '2025-13'], /^costgate: month: expected YYYY-MM, got '2025-13'$/m],
      [['report', 'weekly'], /^costgate: unknown report 'weekly' \(summary, pareto, monthly, prompt-cache, waste, finetune\)$/m],
      [['report', '--colour'], /unknown option '--colour'/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli([...args, '--config', config], dir)));
    for (const [i, [args, msg]] of cases.entries()) {
      const r = runs[i]!;
      assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}, stdout ${r.stdout}`);
      assert.match(r.stderr, msg, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
    const missing = await cli(['report', '--config', join(dir, 'nope.json')], dir);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^costgate: .*nope\.json/m);
    assert.ok(!existsSync(join(dir, '.costgate')), 'a failed report creates no ledger');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// HTTP: the same numbers from /v1/costgate/report*.

describe('/v1/costgate/report endpoints', () => {
  let tg: TestGateway;
  before(async () => {
    tg = await startTestGateway();
    await tg.gw.ledger.store.write(seedRows(), []);
  });
  after(() => tg.close());

  const get = async (path: string) => {
    const res = await fetch(`${tg.url}${path}`);
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), text, json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
  };

  test('report: JSON by feature equals the library summary and the hand numbers', async () => {
    const r = await get(`/v1/costgate/report?${MARCH_Q}&by=feature`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, JSON.parse(JSON.stringify(summaryJson(await summarize(tg.gw.ledger.store, MARCH, ['feature'])))));
    assert.deepEqual([r.json.total.requests, r.json.total.errors, r.json.total.costNanos, r.json.total.savedNanos, r.json.total.costPer1kNanos], [9, 3, '15735000', '3075000', '1748333333']);
    const search = r.json.rows.find((x: any) => x.group.feature === 'search');
    assert.deepEqual([search.requests, search.inputTokens, search.cachedTokens, search.outputTokens, search.costUsd, search.savedUsd], [3, 4000, 960, 350, '0.009480000', '0.002820000']);
    const chat = r.json.rows.find((x: any) => x.group.feature === 'chat');
    assert.deepEqual([chat.cacheHitRate, chat.errorRate, chat.avgOutputTokens], [1 / 3, 1 / 3, 200]);
    const users = await get(`/v1/costgate/report?${MARCH_Q}&by=user&team=core`);
    assert.deepEqual(users.json.rows.map((x: any) => [x.group.user, x.costNanos]), [['alice', '9680000'], ['bob', '5800000']]);
    const feb = await get('/v1/costgate/report?until=2025-03-01&by=month');
    assert.deepEqual(feb.json.rows.map((x: any) => [x.group.month, x.requests, x.costNanos]), [['2025-02', 3, '8665000']]);
  });

  test('report/pareto: groups and calls, money as strings', async () => {
    const r = await get(`/v1/costgate/report/pareto?${MARCH_Q}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.json.groups.by, r.json.groups.groups, r.json.groups.groupsFor80, r.json.groups.costShareOfTop20], ['feature', 4, 2, 9_480_000 / 15_735_000]);
    assert.deepEqual(r.json.groups.rows.map((x: any) => [x.group.feature, x.costNanos, x.costUsd]), [['search', '9480000', '0.009480000'], ['summarize', '6000000', '0.006000000'], ['chat', '255000', '0.000255000'], [null, '0', '0.000000000']]);
    assert.deepEqual(r.json.calls, { calls: 9, costShareOfTop20: 11_800_000 / 15_735_000, callsFor80: 3 });
    const byKey = await get(`/v1/costgate/report/pareto?${MARCH_Q}&by=key`);
    assert.deepEqual([byKey.json.groups.by, byKey.json.groups.groups, byKey.json.groups.groupsFor80], ['key', 4, 1]);
  });

  test('report/monthly: the same Markdown', async () => {
    const r = await get('/v1/costgate/report/monthly?month=2025-03');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.type, 'text/markdown; charset=utf-8');
    assertReview(r.text);
  });

  test('bad parameters: 400 naming the parameter', async () => {
    for (const [q, param, msg] of [
      ['/v1/costgate/report?since=yesterday', 'since', /since: expected/],
      ['/v1/costgate/report?since=7', 'since', /got '7'/],
      ['/v1/costgate/report?by=colour', 'by', /unknown group 'colour'/],
      ['/v1/costgate/report/pareto?by=colour', 'by', /unknown group 'colour'/],
      ['/v1/costgate/report?status=failed', 'status', /use 'ok' or 'error'/],
      ['/v1/costgate/report/monthly?month=2025-13', 'month', /expected YYYY-MM/],
    ] as [string, string, RegExp][]) {
      const r = await get(q);
      assert.equal(r.status, 400, `${q}: ${r.text}`);
      assert.equal(r.json.error.param, param, q);
      assert.match(r.json.error.message, msg, q);
    }
  });
});
