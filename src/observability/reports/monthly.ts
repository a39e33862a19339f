/**
 * `costgate report monthly`: a Markdown monthly cost review — cost by feature and by model with growth against the
 * previous month, the response-cache hit rate and the prompt-cache share (cached reads as a share of input tokens),
 * token waste (output-length drift per feature) and the top savings opportunities, each with the arithmetic behind
 * its estimate so a reader can check it. Each column of amounts (and each sentence's or formula's amounts) shares
 * one precision, like the summary table.
 */
import type { LedgerStore } from '../../stores/ledger/types.js';
import type { Pricer } from '../../pricing/pricer.js';
import { ratio, summarize, type SummaryRow } from './summary.js';
import { monthRange } from './time.js';
import { pct, usd, usdColumn } from './format.js';
import { emptyUsage } from '../../providers/usage.js';

/** Smaller sibling of a flagship model, for the routing opportunity. */
const CHEAPER: [RegExp, string][] = [
  [/^gpt-4o(?!-mini)/, 'gpt-4o-mini'],
  [/^gpt-4\.1$/, 'gpt-4.1-mini'],
  [/^gpt-4-/, 'gpt-4o-mini'],
  [/^claude-opus/, 'claude-sonnet-4-5'],
  [/^claude-sonnet/, 'claude-haiku-4-5'],
  [/^o[34]-?(?!mini)/, 'o4-mini'],
];

const growth = (now: bigint, prev: bigint) => (prev === 0n ? (now === 0n ? '—' : 'new') : `${now >= prev ? '+' : ''}${(ratio(now - prev, prev) * 100).toFixed(1)}%`);

function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

interface Opportunity {
  title: string;
  savingNanos: bigint;
  how: string;
}

/** Prompt-cache share: provider-cached reads as a share of input tokens (the summary's `cached` column). */
const cachedShare = (r: SummaryRow) => (r.inputTokens ? r.cachedTokens / r.inputTokens : 0);

/** A Markdown table whose column `money` holds amounts, formatted at one precision. */
function moneyTable<T>(head: string[], items: T[], money: (x: T) => bigint, row: (x: T, amount: string) => string[]): string {
  const amounts = usdColumn(items.map(money));
  return mdTable(head, items.map((x, i) => row(x, amounts[i]!)));
}

function unitCost(pricer: Pricer, model: string, input: number, output: number): number {
  return pricer.cost({ ...emptyUsage(), inputTokens: input, outputTokens: output }, model)?.nanos ?? 0;
}

function opportunities(byFeatureModel: SummaryRow[], pricer: Pricer): Opportunity[] {
  const out: Opportunity[] = [];
  for (const r of byFeatureModel) {
    const model = r.group.model;
    if (!model || r.requests === 0 || r.costNanos === 0n) continue;
    const feature = r.group.feature ?? '(none)';
    const cheap = CHEAPER.find(([re]) => re.test(model))?.[1];
    if (cheap) {
      const now = unitCost(pricer, model, r.inputTokens, r.outputTokens);
      const alt = unitCost(pricer, cheap, r.inputTokens, r.outputTokens);
      if (now > 0 && alt < now) {
        const saving = (r.costNanos * BigInt(now - alt)) / (BigInt(now) * 2n);
        const [cost, altCost, nowCost] = usdColumn([r.costNanos, alt, now]);
        out.push({ title: `Route half of ${feature}'s ${model} calls to ${cheap}`, savingNanos: saving, how: `${cost} × (1 − ${altCost}/${nowCost}) × 50 % routable` });
      }
    }
    const avgIn = r.inputTokens / r.requests;
    const share = cachedShare(r);
    const rates = pricer.rates(model);
    if (avgIn >= 1024 && share < 0.5 && rates?.cacheRead !== undefined) {
      const freshCost = unitCost(pricer, model, r.inputTokens - r.cachedTokens, 0);
      const saving = BigInt(Math.round(freshCost * 0.5 * 0.9));
      out.push({ title: `Prompt caching for ${feature} on ${model} (avg input ${Math.round(avgIn)} tokens, ${pct(share)} cached)`, savingNanos: saving, how: `uncached input ${usd(freshCost)} × 50 % reusable prefix × 90 % read discount` });
    }
  }
  return out.sort((a, b) => (b.savingNanos > a.savingNanos ? 1 : b.savingNanos < a.savingNanos ? -1 : 0)).slice(0, 5);
}

export async function monthlyReport(store: LedgerStore, pricer: Pricer, month?: string, now = new Date()): Promise<string> {
  const cur = monthRange(month, now);
  const prevStart = new Date(cur.start);
  prevStart.setUTCMonth(prevStart.getUTCMonth() - 1);
  const prev = monthRange(`${prevStart.getUTCFullYear()}-${String(prevStart.getUTCMonth() + 1).padStart(2, '0')}`);
  const f = { since: cur.start, until: cur.end };
  const pf = { since: prev.start, until: prev.end };
  const [byFeature, byModel, prevFeature, prevModel, byFM] = await Promise.all([
    summarize(store, f, ['feature']),
    summarize(store, f, ['model']),
    summarize(store, pf, ['feature']),
    summarize(store, pf, ['model']),
    summarize(store, f, ['feature', 'model']),
  ]);
  const prevOf = (rows: SummaryRow[], key: string, v: string | null) => rows.find((r) => r.group[key] === v);
  const t = byFeature.total;
  const lines: string[] = [];
  lines.push(`# costgate monthly cost review — ${cur.label}`, '');
  const [spend, prevSpend] = usdColumn([t.costNanos, prevFeature.total.costNanos]);
  const [saved, baseline] = usdColumn([t.savedNanos, t.baselineCostNanos]);
  lines.push(`Total spend **${spend}** over ${t.requests.toLocaleString('en-US')} requests (${growth(t.costNanos, prevFeature.total.costNanos)} vs ${prev.label}: ${prevSpend}).`);
  // Two different caches: costgate's response cache (a hit costs nothing) and the provider's prompt cache (reads billed at the cached rate).
  lines.push(`Saved vs baseline: **${saved}** (baseline ${baseline}). Response-cache hit rate ${pct(t.cacheHitRate)}; prompt-cache share ${pct(cachedShare(t))} of input tokens; error rate ${pct(t.errorRate)}.`, '');
  lines.push('## Cost by feature', '');
  lines.push(moneyTable(['feature', 'requests', 'cost', 'share', `vs ${prev.label}`, 'response cache hit', 'prompt cached', 'avg output tok'], byFeature.rows, (r) => r.costNanos, (r, cost) => {
    const p = prevOf(prevFeature.rows, 'feature', r.group.feature ?? null);
    return [r.group.feature ?? '(none)', String(r.requests), cost, pct(r.costShare), growth(r.costNanos, p?.costNanos ?? 0n), pct(r.cacheHitRate), pct(cachedShare(r)), r.avgOutputTokens.toFixed(1)];
  }), '');
  lines.push('## Cost by model', '');
  lines.push(moneyTable(['model', 'requests', 'cost', 'share', `vs ${prev.label}`, 'prompt cached'], byModel.rows, (r) => r.costNanos, (r, cost) => {
    const p = prevOf(prevModel.rows, 'model', r.group.model ?? null);
    return [r.group.model ?? '(none)', String(r.requests), cost, pct(r.costShare), growth(r.costNanos, p?.costNanos ?? 0n), pct(cachedShare(r))];
  }), '');
  lines.push('## Token waste: output-length drift', '');
  const drift = byFeature.rows
    .map((r) => ({ r, p: prevOf(prevFeature.rows, 'feature', r.group.feature ?? null) }))
    .filter((x) => x.p && x.p.avgOutputTokens > 0)
    .map((x) => ({ feature: x.r.group.feature ?? '(none)', now: x.r.avgOutputTokens, before: x.p!.avgOutputTokens, change: x.r.avgOutputTokens / x.p!.avgOutputTokens - 1 }));
  lines.push(drift.length
    ? mdTable(['feature', `avg output ${prev.label}`, `avg output ${cur.label}`, 'change'], drift.map((d) => [d.feature, d.before.toFixed(1), d.now.toFixed(1), `${d.change >= 0 ? '+' : ''}${(d.change * 100).toFixed(1)}%`]))
    : `No feature has traffic in both ${prev.label} and ${cur.label}.`, '');
  lines.push('## Top savings opportunities', '');
  const ops = opportunities(byFM.rows, pricer);
  lines.push(ops.length ? moneyTable(['opportunity', 'est. monthly saving', 'how estimated'], ops, (o) => o.savingNanos, (o, saving) => [o.title, saving, o.how]) : 'None found this month.', '');
  return lines.join('\n');
}
