/**
 * Seeded traffic for the dashboard tests: a gateway (in-process simulator) that several models, features, users and
 * teams call for real — with exact-cache hits, a flaky deployment that is retried and falls back, and a deployment
 * that answers 400 — plus 47 hours of history written straight into its ledger (the pipeline stamps calls with the
 * real clock, and an hourly chart of one instant is a single point). The expected totals are computed here, from
 * the cost headers each client was sent and from the history rows, never from the API under test.
 */
import { startTestGateway, postJson, type TestGateway } from './gateway.js';
import { makeRow, HOUR } from '../fixtures/ledger-rows.js';
import type { LedgerRow, AttemptRow } from '../../src/stores/ledger/types.js';

export const ADMIN_KEY = 'dashboard-admin-secret-0123456789';
export const VIEWER_KEY = 'dashboard-viewer-secret-0123456789';

export const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-haiku-4-5', 'gpt-4.1-mini'];
export const FEATURES = ['search', 'chat', 'summarize'];
const USERS = ['alice', 'bob', 'carol'];
const TEAMS = ['core', 'growth'];

/** Each feature's system prompt, sized like its history (so the drift chart's last point continues the trend). */
const CONTEXT: Record<string, string> = {
  search: 'Search the catalogue. '.repeat(150),
  chat: 'You are a helpful assistant for the support desk. '.repeat(180),
  summarize: 'Summarise the document in plain words. '.repeat(160),
};

export interface Seeded {
  t: TestGateway;
  /** Sum of every seeded call's `x-costgate-cost-usd` plus the history rows, in nano-dollars. */
  totalNanos: bigint;
  requests: number;
  cacheHits: number;
  errors: number;
  /** Cost of the seeded errors, and of failed attempts that were retried (history rows only: the live ones cost 0). */
  errorNanos: bigint;
  retryNanos: bigint;
  /** A request that was retried (failed attempts, then an answer). */
  retriedRequestId: string;
  now: number;
}

export function usdToNanosExact(s: string): bigint {
  const m = /^(-?)(\d+)\.(\d{9})$/.exec(s);
  if (!m) throw new Error(`not a 9-decimal USD amount: ${s}`);
  const n = BigInt(m[2]! + m[3]!);
  return m[1] ? -n : n;
}

export async function startDashboardGateway(opts: { auth?: boolean } = {}): Promise<TestGateway> {
  return startTestGateway({
    env: opts.auth ? { COSTGATE_ADMIN_KEY: ADMIN_KEY, COSTGATE_VIEWER_KEY: VIEWER_KEY } : {},
    config: {
      providers: { sim: { type: 'simulator', timeouts: { firstByteMs: 5000 } } },
      deployments: [
        { name: 'mini', provider: 'sim', model: 'gpt-4o-mini' },
        { name: 'big', provider: 'sim', model: 'gpt-4o' },
        { name: 'claude', provider: 'sim', model: 'claude-haiku-4-5' },
        // Fails its first 4 calls with 503: retried, then the backup answers.
        { name: 'flaky', provider: 'sim', model: 'gpt-4.1-mini', headers: { 'x-sim-fault': '503@4' } },
        { name: 'backup', provider: 'sim', model: 'gpt-4.1-mini' },
        { name: 'broken', provider: 'sim', model: 'gpt-4o-mini', headers: { 'x-sim-fault': 'status:400' } },
      ],
      models: {
        'gpt-4o-mini': { deployments: ['mini'] },
        'gpt-4o': { deployments: ['big'] },
        'claude-haiku-4-5': { deployments: ['claude'] },
        'gpt-4.1-mini': { deployments: ['flaky', 'backup'] },
        broken: { deployments: ['broken'] },
      },
      retries: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
      cache: { enabled: true },
      budgets: [
        { name: 'monthly-total', scope: 'global', window: 'month', amount: '5' },
        { name: 'feature-daily', scope: 'feature', window: 'day', amount: '0.2', mode: 'soft' },
      ],
      ledger: { store: 'memory' },
    } as never,
  });
}

/**
 * History: 47 hourly slots before the current hour, six rows each, across models, features and users. Every 10th
 * row was retried after a failed attempt that was billed (a stream cut mid-answer), every 16th ended in a 502 after
 * such an attempt: error and retry cost that the simulator's free 503s cannot show.
 */
export const RETRY_ATTEMPT_NANOS = 45_000;
function history(now: number): { rows: LedgerRow[]; attempts: AttemptRow[] } {
  const hour0 = Math.floor(now / HOUR) * HOUR;
  const rows: LedgerRow[] = [];
  const attempts: AttemptRow[] = [];
  for (let h = 47; h >= 1; h--) {
    for (let k = 0; k < 6; k++) {
      const i = h * 6 + k;
      const cost = 600_000 + (i % 11) * 160_000 + (MODELS[i % 3] === 'gpt-4o' ? 2_400_000 : 0);
      const model = MODELS[i % 3]!;
      const feature = FEATURES[(i + (h > 24 ? 1 : 0)) % 3]!;
      // Prompts of each feature grow at their own pace (what the drift chart is for).
      const input = { search: 300 + (47 - h) * 6, chat: 700 + (47 - h) * 25, summarize: 1500 - (47 - h) * 8 }[feature]! + k * 10;
      rows.push(
        makeRow({
          uid: `hist-${String(i).padStart(4, '0')}`, requestId: `hist-${i}`, ts: hour0 - h * HOUR + k * 600_000, model, requestedModel: model, provider: 'sim', deployment: model,
          feature, user: USERS[i % 3]!, team: TEAMS[i % 2]!, apiKeyId: null, status: 200, cacheStatus: i % 7 === 0 ? 'exact' : 'miss',
          inputTokens: input, outputTokens: 80 + (i % 5) * 15, cacheReadTokens: 0, costNanos: i % 7 === 0 ? 0 : cost,
          baselineCostNanos: cost + 1_500_000, avoidedCostNanos: i % 7 === 0 ? cost : 0, usageEstimated: false, stream: false, batch: false,
          attemptCount: 1,
        }),
      );
      const r = rows[rows.length - 1]!;
      const a = (n: number, outcome: string, status: number, costNanos: number): AttemptRow => ({
        uid: r.uid, n, ts: r.ts + n, deployment: r.model!, provider: 'sim', model: r.model!, status, outcome, errorType: outcome === 'ok' ? null : 'stream_cut', latencyMs: 50 * n, inputTokens: 300, outputTokens: 20, costNanos,
      });
      if (r.cacheStatus === 'exact') continue;
      if (i % 16 === 0) {
        Object.assign(r, { status: 502, errorType: 'upstream_error', errorMessage: 'the upstream stream was cut', costNanos: 2 * RETRY_ATTEMPT_NANOS, attemptCount: 2, outputTokens: 40 });
        attempts.push(a(1, 'error', 502, RETRY_ATTEMPT_NANOS), a(2, 'error', 502, RETRY_ATTEMPT_NANOS));
      } else if (i % 10 === 0) {
        r.costNanos += RETRY_ATTEMPT_NANOS;
        r.attemptCount = 2;
        attempts.push(a(1, 'error', 502, RETRY_ATTEMPT_NANOS), a(2, 'ok', 200, r.costNanos - RETRY_ATTEMPT_NANOS));
      } else attempts.push(a(1, 'ok', 200, r.costNanos));
    }
  }
  return { rows, attempts };
}

export async function seedDashboard(t: TestGateway, headers: Record<string, string> = {}): Promise<Seeded> {
  const now = Date.now();
  let totalNanos = 0n;
  let requests = 0;
  let cacheHits = 0;
  let errors = 0;
  let retriedRequestId = '';
  const call = async (model: string, i: number, content: string, extra: Record<string, string> = {}) => {
    const r = await postJson(
      `${t.url}/v1/chat/completions`,
      { model, temperature: 0, max_tokens: 40 + (i % 4) * 20, messages: [{ role: 'system', content: CONTEXT[FEATURES[i % 3]!]! }, { role: 'user', content }] },
      { 'x-costgate-feature': FEATURES[i % 3]!, 'x-costgate-user': USERS[i % 3]!, 'x-costgate-team': TEAMS[i % 2]!, ...headers, ...extra },
    );
    requests++;
    totalNanos += usdToNanosExact(r.headers.get('x-costgate-cost-usd')!);
    if (r.headers.get('x-costgate-cache') === 'hit') cacheHits++;
    if (r.status >= 400) errors++;
    return r;
  };
  for (let i = 0; i < 18; i++) await call(MODELS[i % 3]!, i, `question ${i}: summarise the quarterly report in ${10 + i} words`);
  // The same questions again: answered from the exact cache.
  for (let i = 0; i < 4; i++) await call(MODELS[i % 3]!, i, `question ${i}: summarise the quarterly report in ${10 + i} words`);
  // The flaky alias: 4 failed attempts spread over two calls (each retried, then the backup answers).
  for (let i = 0; i < 3; i++) {
    const r = await call('gpt-4.1-mini', i, `flaky question ${i}`, { 'x-costgate-request-id': `flaky-${i}` });
    if (i === 0) retriedRequestId = r.headers.get('x-costgate-request-id')!;
  }
  for (let i = 0; i < 2; i++) await call('broken', i, `bad request ${i}`);
  await t.gw.ledger.writer.flushNow();
  const { rows: hist, attempts } = history(now);
  await t.gw.ledger.store.write(hist, attempts);
  totalNanos += hist.reduce((s, r) => s + BigInt(r.costNanos), 0n);
  const failed = hist.filter((r) => r.status >= 400);
  return {
    t, totalNanos, requests: requests + hist.length, cacheHits: cacheHits + hist.filter((r) => r.cacheStatus === 'exact').length, errors: errors + failed.length,
    errorNanos: failed.reduce((s, r) => s + BigInt(r.costNanos), 0n),
    retryNanos: BigInt(attempts.filter((x) => x.outcome === 'error' && attempts.some((y) => y.uid === x.uid && y.n > x.n)).length * RETRY_ATTEMPT_NANOS),
    retriedRequestId, now,
  };
}
