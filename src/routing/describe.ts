/** The routing section as it resolves, one line each (`costgate config-check`). Loads an explicit learned model file, so a bad one fails the check. */
import type { RoutingConfig } from '../config/routing-schema.js';
import { RoutingEngine } from './engine.js';

export function routingLines(c: RoutingConfig): string[] {
  const e = new RoutingEngine(c);
  if (!e.handles('auto')) return [c.enabled ? 'routing: not configured (aliases and fallbacks only)' : 'routing: off'];
  const t = c.tiers;
  const out = [
    `routing: strong ${c.strong ?? '-'}, weak ${c.weak ?? '-'}; auto tiers simple ${t.simple ?? c.weak ?? '-'}, medium ${t.medium ?? c.weak ?? '-'}, complex ${t.complex ?? c.strong ?? '-'}; ${c.all ? 'rules run on every call' : 'routes auto*, router, cascade'}${c.default ? `; default ${c.default}` : ''}`,
  ];
  const rules = [...c.rules].map((r, i) => ({ r, i })).sort((a, b) => b.r.priority - a.r.priority || a.i - b.i);
  for (const { r } of rules) out.push(`routing rule ${r.name} (priority ${r.priority}): ${Object.keys(r.when).join(' + ') || 'always'} → ${r.model}`);
  for (const row of c.tasks) out.push(`routing task ${row.task?.join('|') ?? '*'} / ${row.complexity?.join('|') ?? '*'} → ${row.model}`);
  if (c.strong && c.weak) {
    const m = e.learned();
    out.push(`routing learned: ${String(m.meta.source ?? 'model')} (label ${m.label}, ${m.buckets} buckets), default strong share ${c.learned.strongShare}${c.learned.cascade ? ', weak decisions cascade' : ''}`);
    out.push(`routing cascade: verifiers ${c.cascade.verifiers.join(', ')}`);
  }
  if (c.budget.preferWeakAt !== undefined) out.push(`routing budget: weak once a hard budget is ${Math.round(c.budget.preferWeakAt * 100)}% spent`);
  return out;
}
