/**
 * defer: after budget, before admission. A chat/messages call with `x-costgate-defer: <deadline>` (e.g. `6h`), or from
 * a feature listed in `batch.features`, is stored in the durable queue and answered at once with 202 and a job id;
 * the batcher sends it in a provider batch at batch prices and `GET /v1/costgate/deferred/{id}` returns the response.
 * The budget stage's reservation is kept and settled when the result lands (at the batch price).
 * `x-costgate-defer: none` (or `0`) runs the call synchronously even when its feature's policy would defer it.
 * With `priorities.deferOptional`, an optional call that admission sheds (503 load_shed) is deferred instead.
 */
import type { Stage } from '../compose.js';
import { elapsed } from '../ctx.js';
import { GatewayError } from '../errors.js';
import { parseDuration } from '../../budgets/window.js';
import { uuid7 } from '../../util/uuid7.js';
import { buildUpstreamCall } from './dispatch-request.js';
import { BATCH_PROVIDER_TYPES, type Batcher } from '../../batch/batcher.js';
import { webhookUrlProblem } from '../../batch/webhook.js';
import { own } from '../../util/own.js';

/** Headers replayed on a synchronous fallback: attribution only (never credentials or hop headers). */
const REPLAY = ['x-costgate-feature', 'x-costgate-user', 'x-costgate-team', 'x-costgate-priority', 'x-costgate-tier', 'anthropic-version', 'anthropic-beta'];

export const defer = (batcher: Batcher, deferOptional = false): Stage =>
  async function defer(ctx, next) {
    if (ctx.req.noDefer) return next();
    const cfg = batcher.cfg;
    const header = ctx.req.headers['x-costgate-defer']?.trim();
    if (header === 'none' || header === '0') return next();
    let spec = header || own(cfg.features, ctx.meta.feature);
    if (!spec) {
      if (!deferOptional || ctx.meta.priority !== 'optional' || ctx.stream || ctx.endpoint === 'embeddings' || !cfg.enabled) return next();
      try {
        return await next();
      } catch (e) {
        // priorities.deferOptional: an optional call shed for capacity (admission) waits in a batch instead.
        if (!(e instanceof GatewayError) || e.code !== 'load_shed' || ctx.isSettled || ctx.attempts.length > 0) throw e;
        const i = ctx.governance.findIndex((g) => g.startsWith('shed:'));
        if (i >= 0) ctx.governance[i] = ctx.governance[i]!.replace(/^shed:/, 'deferred-instead-of-shed:');
        spec = cfg.maxDeadline;
      }
    }
    const bad = (m: string) => new GatewayError('invalid_value', m, { param: 'x-costgate-defer' });
    if (!cfg.enabled) throw bad('Deferred requests are disabled on this gateway (batch.enabled: false).');
    const windowMs = parseDuration(spec);
    if (windowMs === undefined) throw bad(`x-costgate-defer must be a deadline like 30m, 6h or 24h (got '${spec}').`);
    const maxMs = parseDuration(cfg.maxDeadline)!;
    if (windowMs > maxMs) throw bad(`x-costgate-defer: the longest deadline is ${cfg.maxDeadline}.`);
    if (ctx.stream) throw bad('A streaming request cannot be deferred: send stream: false (the result is fetched later).');
    if (ctx.endpoint === 'embeddings') throw bad('Only chat completions and messages can be deferred.');
    const webhook = ctx.req.headers['x-costgate-defer-webhook']?.trim() || undefined;
    if (webhook) {
      const p = webhookUrlProblem(webhook);
      if (p) throw new GatewayError('invalid_value', `x-costgate-defer-webhook: ${p}.`, { param: 'x-costgate-defer-webhook' });
    }
    const dep = ctx.route!.deployments[0]!;
    if (!BATCH_PROVIDER_TYPES.has(dep.provider.type)) throw bad(`Provider '${dep.provider.name}' (${dep.provider.type}) has no batch API; send the call without x-costgate-defer.`);
    // The batch result is translated back without a provider's structured-output hook: no native schema mode here.
    ctx.structuredNative = false;
    const call = buildUpstreamCall(ctx, dep);
    if (!call) throw bad(`Deployment '${dep.name}' cannot serve this call in a batch.`);
    const store = await batcher.store();
    const now = ctx.startedAt;
    const headers: Record<string, string> = {};
    for (const h of REPLAY) {
      const v = ctx.req.headers[h];
      if (v !== undefined) headers[h] = v;
    }
    const clientBody = { ...(ctx.body as Record<string, unknown>) };
    const { inserted } = await store.insert({
      id: ctx.id,
      customId: `cg_${uuid7().replace(/-/g, '')}`,
      createdAt: now,
      deadlineAt: now + windowMs,
      endpoint: ctx.endpoint as 'chat' | 'messages',
      surface: ctx.surface,
      provider: dep.provider.name,
      deployment: dep.name,
      model: dep.model,
      wire: call.wire,
      upstreamBody: typeof call.body === 'string' ? call.body : call.body.toString('utf8'),
      clientBody: JSON.stringify(clientBody),
      meta: { feature: ctx.meta.feature, user: ctx.meta.user, team: ctx.meta.team, priority: ctx.meta.priority, apiKeyId: ctx.meta.apiKeyId, requestedModel: ctx.model, headers, webhook },
    });
    const job = (await store.get(ctx.id))!;
    // The budget reservation is settled when the result lands (same process); a retried id keeps its first job.
    if (inserted && ctx.afterPriced?.length) batcher.settlers.set(ctx.id, ctx.afterPriced.splice(0));
    ctx.governance.push(`deferred:${spec}`);
    ctx.settle({ status: 202, deferred: true, latencyMs: elapsed(ctx), streamed: false, provider: dep.provider.name, deployment: dep.name, model: dep.model });
    const body = {
      id: job.id,
      object: 'costgate.deferred',
      status: job.status === 'done' ? 'completed' : job.status === 'queued' ? 'queued' : job.status === 'failed' ? 'failed' : 'in_progress',
      created_at: new Date(job.createdAt).toISOString(),
      deadline: new Date(job.deadlineAt).toISOString(),
      model: ctx.model,
      provider: dep.provider.name,
      url: `/v1/costgate/deferred/${encodeURIComponent(job.id)}`,
    };
    return {
      status: 202,
      headers: { 'content-type': 'application/json', location: body.url, 'x-costgate-deferred-id': job.id, 'x-costgate-deadline': body.deadline },
      body: JSON.stringify(body),
    };
  };
