/**
 * What every upstream attempt leaves behind, shared by the dispatch loop and the stream relay: its record on the
 * context (retries and fallbacks cost money and latency, so each one is kept), the gateway's own usage estimate for
 * answers that report none, and the response headers naming who served the request.
 */
import type { UpstreamHeaders } from './call.js';
import type { AttemptRecord, Ctx } from '../pipeline/ctx.js';
import type { Deployment } from '../config/load.js';
import type { Usage } from '../providers/usage.js';
import { countPrompt, countText, countEmbeddingInput } from '../tokens/count.js';

/** Append one attempt to `ctx.attempts`; `start` is the attempt's `performance.now()`. */
export function recordAttempt(ctx: Ctx, dep: Deployment, start: number, status: number, outcome: AttemptRecord['outcome'], extra: Partial<AttemptRecord> = {}): AttemptRecord {
  const a: AttemptRecord = {
    n: ctx.attempts.length + 1,
    deployment: dep.name,
    provider: dep.provider.name,
    model: dep.model,
    // Wall clock derived from the monotonic clock, so attempt timestamps are ordered even if the system clock steps.
    startedAt: ctx.startedAt + (start - ctx.t0),
    latencyMs: Math.round((performance.now() - start) * 1000) / 1000,
    status,
    outcome,
    ...extra,
  };
  ctx.attempts.push(a);
  return a;
}

/** Tokens the gateway counts itself when the upstream reports no usage. */
export function estimateUsage(ctx: Ctx, model: string, outputText: string): Usage {
  const input = ctx.op === 'embeddings' ? countEmbeddingInput(ctx.body.input, model) : countPrompt(ctx.body, model);
  return { inputTokens: input, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, outputTokens: countText(outputText, model), reasoningTokens: 0, estimated: true };
}

/**
 * Usage of a stream that did not complete (cut, timed out, or abandoned by the client). The provider bills what it
 * generated, but its final usage never arrived: Anthropic reports input at `message_start` with a placeholder
 * `output_tokens: 1`, OpenAI reports nothing until the last chunk. So input comes from the report when there is one,
 * output from the text actually received, and the result is always marked estimated.
 */
export function incompleteStreamUsage(ctx: Ctx, model: string, reported: Usage | undefined, text: string): Usage {
  const est = estimateUsage(ctx, model, text);
  if (!reported) return est;
  return { ...reported, outputTokens: Math.max(reported.outputTokens, est.outputTokens), estimated: true };
}

const SIM_VERDICT_HEADERS = ['x-sim-correct', 'x-sim-quality-source'];

/** Headers every successful answer carries: content type and who actually served it (and a simulator's verdict). */
export function responseHeaders(dep: Deployment, res: { headers: UpstreamHeaders }, contentType: string): Record<string, string> {
  const h: Record<string, string> = { 'content-type': contentType, 'x-costgate-provider': dep.provider.name, 'x-costgate-model': dep.model };
  const upstreamId = res.headers['x-request-id'] ?? res.headers['request-id'];
  if (typeof upstreamId === 'string') h['x-costgate-upstream-request-id'] = upstreamId;
  // The simulator's answer-quality verdict, so a routing evaluation scores through the gateway as it does direct.
  if (dep.provider.type === 'simulator') {
    for (const k of SIM_VERDICT_HEADERS) {
      const v = res.headers[k];
      if (typeof v === 'string') h[k] = v;
    }
  }
  return h;
}
