/** A priced request record → the ledger's request row and attempt rows. */
import { uuid7 } from '../../util/uuid7.js';
import type { RequestRecord } from '../../pipeline/record.js';
import type { Priced } from '../../pricing/pricer.js';
import type { LedgerRow, AttemptRow } from './types.js';

const MAX_ERROR_MESSAGE = 500;

export function toRows(rec: RequestRecord, p: Priced): { row: LedgerRow; attempts: AttemptRow[] } {
  const uid = uuid7();
  const u = rec.usage;
  const row: LedgerRow = {
    uid,
    requestId: rec.id,
    ts: rec.ts,
    endpoint: rec.endpoint,
    surface: rec.surface,
    requestedModel: rec.requestedModel,
    model: rec.model ?? null,
    provider: rec.provider ?? null,
    deployment: rec.deployment ?? null,
    feature: rec.feature ?? null,
    user: rec.user ?? null,
    team: rec.team ?? null,
    apiKeyId: rec.apiKeyId ?? null,
    priority: rec.priority ?? null,
    stream: rec.stream,
    status: rec.status,
    errorType: rec.errorCode ?? null,
    errorMessage: rec.errorMessage ? rec.errorMessage.slice(0, MAX_ERROR_MESSAGE) : null,
    inputTokens: u?.inputTokens ?? 0,
    cacheReadTokens: u?.cacheReadTokens ?? 0,
    cacheWrite5mTokens: u?.cacheWrite5mTokens ?? 0,
    cacheWrite1hTokens: u?.cacheWrite1hTokens ?? 0,
    outputTokens: u?.outputTokens ?? 0,
    reasoningTokens: u?.reasoningTokens ?? 0,
    usageEstimated: u?.estimated ?? false,
    costNanos: p.costNanos,
    baselineModel: p.baselineModel,
    baselineCostNanos: p.baselineCostNanos,
    priceSource: p.priceSource,
    batch: rec.batch ?? false,
    latencyMs: rec.latencyMs,
    ttftMs: rec.ttftMs ?? null,
    cacheStatus: rec.cacheStatus ?? 'miss',
    routeDecision: rec.routeDecision ?? null,
    routeReason: rec.routeReason ?? null,
    attemptCount: rec.attempts.filter((a) => a.outcome !== 'skipped').length,
    avoidedCostNanos: p.avoidedCostNanos ?? 0,
    governance: rec.governance?.length ? rec.governance.join(';').slice(0, MAX_ERROR_MESSAGE) : null,
    queueMs: rec.queueMs ?? null,
    cacheScore: rec.cacheScore ?? null,
    shadowMatch: rec.shadowMatch ?? null,
    optimize: rec.optimize?.length ? rec.optimize.join(';').slice(0, MAX_ERROR_MESSAGE) : null,
    prefixHash: rec.prefixHash ?? null,
    prefixTokens: rec.prefixTokens ?? null,
    requestHash: rec.requestHash ?? null,
  };
  const attempts: AttemptRow[] = rec.attempts.map((a, i) => ({
    uid,
    n: a.n,
    ts: Math.round(a.startedAt),
    deployment: a.deployment,
    provider: a.provider,
    model: a.model,
    status: a.status,
    outcome: a.outcome,
    errorType: a.errorCode ?? null,
    latencyMs: a.latencyMs,
    inputTokens: a.usage?.inputTokens ?? 0,
    outputTokens: a.usage?.outputTokens ?? 0,
    costNanos: p.attemptCosts[i] ?? 0,
  }));
  return { row, attempts };
}
