/** What a config's budgets, limits, feature caps and priorities resolve to, one line each (`costgate config-check`). */
import type { ResolvedConfig } from '../config/load.js';
import { describeWindow } from '../budgets/window.js';
import { nanosToUsd } from '../pricing/decimal.js';
import type { RateConfig } from '../config/schema.js';

function rate(r: RateConfig): string {
  const p: string[] = [];
  if (r.requestsPerMinute !== undefined) p.push(`${r.requestsPerMinute} req/min`);
  if (r.requestsPerDay !== undefined) p.push(`${r.requestsPerDay} req/day`);
  if (r.tokensPerMinute !== undefined) p.push(`${r.tokensPerMinute} tok/min`);
  if (r.tokensPerDay !== undefined) p.push(`${r.tokensPerDay} tok/day`);
  return p.join(', ');
}

export function governanceLines(c: Pick<ResolvedConfig, 'budgets' | 'limits' | 'features' | 'priorities' | 'budgetStore'>): string[] {
  const out: string[] = [];
  for (const b of c.budgets) {
    const target = b.scope === 'global' ? 'global' : `${b.scope} ${b.value ?? '(each)'}`;
    const exempt = b.exemptPriorities.length ? `, exempt: ${b.exemptPriorities.join(', ')}` : '';
    out.push(`budget ${b.name}: $${nanosToUsd(b.limitNanos)} per ${describeWindow(b.window)} on ${target}, ${b.mode}${b.mode === 'hard' ? ` (${b.status})` : ''}${exempt}`);
  }
  if (c.budgets.length || c.limits.rules.length) out.push(`budget/limit store: ${c.budgetStore.kind}${c.budgetStore.kind === 'redis' ? ` (prefix ${c.budgetStore.prefix})` : ''}`);
  const l = c.limits;
  for (const r of l.rules) {
    const target = r.tier !== undefined ? `each user of tier ${r.tier}` : r.scope === 'global' ? 'global' : `${r.scope} ${r.value ?? '(each)'}`;
    out.push(`rate limit ${r.name}: ${rate(r.rate)} on ${target}`);
  }
  const tiers = Object.keys(l.tiers);
  if (tiers.length) {
    out.push(`tiers: ${tiers.join(', ')}; default tier ${l.defaultTier ?? 'none'}; ${Object.keys(l.users).length} user(s) and ${Object.keys(l.keys).length} key(s) assigned; x-costgate-tier ${l.trustTierHeader ? 'trusted' : 'ignored'}`);
  }
  const caps = (x: { maxInputTokens?: number; defaultMaxTokens?: number; maxTokensCeiling?: number }) =>
    [x.maxInputTokens !== undefined ? `input ≤ ${x.maxInputTokens || 'unlimited'} tokens` : '', x.defaultMaxTokens !== undefined ? `default max_tokens ${x.defaultMaxTokens}` : '', x.maxTokensCeiling !== undefined ? `max_tokens ≤ ${x.maxTokensCeiling}` : '']
      .filter(Boolean)
      .join(', ');
  out.push(`token caps: ${caps(l)}`);
  for (const [name, f] of Object.entries(c.features)) {
    const parts = [f.priority ? `priority ${f.priority}` : '', caps(f)].filter(Boolean).join(', ');
    out.push(`feature ${name}: ${parts || '(defaults)'}`);
  }
  const p = c.priorities;
  out.push(
    `priorities: default ${p.default}; optional may use ${Math.round(p.budgetFraction.optional * 100)} % of a hard budget, important ${Math.round(p.budgetFraction.important * 100)} %; ` +
      (p.maxInFlight ? `capacity ${p.maxInFlight} in flight (optional shed from ${Math.max(1, Math.floor(p.maxInFlight * p.optionalShedAt))}, important queue ${p.queue.maxSize} for ${p.queue.timeoutMs} ms)` : 'capacity unlimited'),
  );
  return out;
}
