/**
 * The record of one client request, as the meter stage hands it to sinks (the ledger, metrics, tests).
 * Emitted on diagnostics_channel `costgate:request` too, so observability subscribes instead of being imported.
 */
import type { AttemptRecord, Ctx, Outcome, Priority } from './ctx.js';
import type { Usage } from '../providers/usage.js';

export interface RequestRecord {
  id: string;
  ts: number;
  endpoint: string;
  surface: string;
  requestedModel: string;
  model?: string;
  upstreamModel?: string;
  provider?: string;
  deployment?: string;
  feature?: string;
  user?: string;
  team?: string;
  priority?: Priority;
  apiKeyId?: string;
  stream: boolean;
  status: number;
  errorCode?: string;
  errorMessage?: string;
  usage?: Usage;
  latencyMs: number;
  ttftMs?: number;
  routeDecision?: string;
  routeReason?: string;
  clientAborted: boolean;
  cacheStatus?: 'miss' | 'exact' | 'semantic' | 'dedup' | 'shadow';
  /** Semantic cache: the score of the entry found (served, or shadow only). */
  cacheScore?: number;
  /** Shadow mode: did the real answer match the entry that would have been served. */
  shadowMatch?: boolean;
  batch?: boolean;
  /** Governance decisions taken on the call (see LedgerRow.governance). */
  governance?: string[];
  /** Time spent waiting in the priority queue, ms. */
  queueMs?: number;
  /** Token-optimization decisions and lint findings (see LedgerRow.optimize). */
  optimize?: string[];
  prefixHash?: string;
  prefixTokens?: number;
  /** Request fingerprint (see LedgerRow.requestHash), when fingerprinting is on. */
  requestHash?: string;
  attempts: AttemptRecord[];
}

export type RecordSink = (rec: RequestRecord, priced: import('../pricing/pricer.js').Priced) => void;

export function buildRecord(ctx: Ctx, o: Outcome): RequestRecord {
  return {
    id: ctx.id,
    ts: ctx.startedAt,
    endpoint: ctx.endpoint,
    surface: ctx.surface,
    requestedModel: ctx.model,
    model: o.model,
    upstreamModel: o.upstreamModel,
    provider: o.provider,
    deployment: o.deployment,
    feature: ctx.meta.feature,
    user: ctx.meta.user,
    team: ctx.meta.team,
    priority: ctx.meta.priority,
    apiKeyId: ctx.meta.apiKeyId,
    stream: ctx.stream,
    status: o.status,
    errorCode: o.errorCode,
    errorMessage: o.errorMessage,
    usage: o.usage,
    latencyMs: o.latencyMs,
    ttftMs: o.ttftMs,
    routeDecision: ctx.route?.decision,
    routeReason: ctx.route?.reason,
    clientAborted: o.clientAborted ?? false,
    cacheStatus: o.cacheStatus,
    cacheScore: o.cacheScore,
    shadowMatch: o.shadowMatch,
    batch: o.batch,
    governance: ctx.governance.length ? ctx.governance : undefined,
    queueMs: ctx.queueMs,
    optimize: ctx.optimize.length ? ctx.optimize : undefined,
    prefixHash: ctx.prefix?.hash,
    prefixTokens: ctx.prefix?.tokens,
    requestHash: ctx.requestHash,
    attempts: ctx.attempts,
  };
}
