/**
 * Fine-tune / distillation candidates (`costgate report finetune`): per feature and flagship model, a volume of at
 * least `minMonthlyRequests` a month with long, stable few-shot prompts, and what moving it to a fine-tuned smaller
 * model would save. Exact money: rates are $/M tokens scaled by 10^12 (src/pricing/decimal.ts), costs integer n$.
 *
 * - Volume: the window's calls extrapolated to 30 days: requests × 30 d ÷ (until − the window's first call).
 * - Flagship: a model named by `flagship` if given; else `routing.strong`, `routing.tiers.complex` (and the models of
 *   those aliases' deployments), or any model whose catalog input price is at least `flagshipMinInput` $/M.
 * - Few-shot, from stored bodies (`ledger.storeBodies`; without them a feature is listed as "unknown"): the messages
 *   before the last user turn, after the leading system messages, that alternate user → assistant are example pairs;
 *   a system prompt's examples are counted by markers at line starts (the most of `Example…:`, `Input:` or `Q:`)
 *   and run from the first marker to its end. A call is few-shot with ≥ `minExamples` of either; a feature is a candidate when most
 *   of its stored calls are, the most common (system + examples) prefix is shared by at least half of them (stable),
 *   and the prefix averages ≥ `minPrefixTokens` tokens.
 * - Target: each call's input minus the average example tokens (pairs + system examples; the rest of the system
 *   prompt stays), its output unchanged, at the target's input/output rates.
 * - Training: examples (`examples`, else the feature's exportable stored calls) × epochs × tokens per example (the
 *   average call's input without the examples plus its output) × `trainingPerMTok`, or `trainingFlat` n$.
 * - Break-even months = training ÷ monthly saving; net first-year saving = 12 × monthly saving − training.
 */
import { createHash } from 'node:crypto';
import type { LedgerRow, LedgerStore, BodyRow } from '../stores/ledger/types.js';
import type { PriceCatalog } from '../pricing/catalog.js';
import { rateAt } from '../pricing/rates.js';
import { roundScaled } from '../pricing/decimal.js';
import { countText } from '../tokens/count.js';
import { toFineTuneLine } from './finetune-export.js';
import { pages } from '../stores/ledger/cursor.js';

export const MONTH_MS = 30 * 86_400_000;
/** Framing tokens per chat message (OpenAI's published accounting, as src/tokens/count.ts). */
export const MESSAGE_TOKENS = 3;

export interface FinetuneOptions {
  since?: number;
  until?: number;
  feature?: string;
  now?: number;
  minMonthlyRequests: number;
  minExamples: number;
  minPrefixTokens: number;
  /** Explicit flagship models; else `flagshipTiers` plus the price threshold. */
  flagship?: string[];
  flagshipTiers: string[];
  /** Scaled $/M (10^12). */
  flagshipMinInput: bigint;
  target: { model: string; input: bigint; output: bigint };
  epochs: number;
  examples?: number;
  /** Scaled $/M training tokens; or a flat training cost in n$. */
  trainingPerMTok?: bigint;
  trainingFlatNanos?: bigint;
  /** Token counter (tests give a simple one for an exact worked example). */
  tokens?: (text: string, model: string) => number;
}

export interface FewShot {
  storedCalls: number;
  fewShotCalls: number;
  /** Share of the stored calls that carry the most common system + examples prefix. */
  stablePrefixShare: number;
  avgExamplePairs: number;
  avgPrefixTokens: number;
  /** Tokens a fine-tuned model no longer needs per call (example pairs + a system prompt's examples). */
  avgRemovedTokens: number;
  exportable: number;
}

export interface Candidate {
  feature: string | null;
  model: string;
  requests: number;
  monthlyRequests: number;
  candidate: boolean;
  /** Why it is not a candidate (empty when it is). */
  reasons: string[];
  fewShot: FewShot | null;
  currentMonthlyNanos: bigint;
  targetMonthlyNanos: bigint;
  monthlySavingNanos: bigint;
  trainingExamples: number;
  trainingTokens: number;
  trainingCostNanos: bigint;
  /** Decimal string (2 places), null when moving saves nothing. */
  breakEvenMonths: string | null;
  firstYearNetNanos: bigint;
}

const own = (r: LedgerRow) => (r.optimize ?? '').split(';').some((x) => x === 'summarize:call' || x.startsWith('structured:repair-call'));
const textOf = (c: unknown): string =>
  typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('') : '';

const MARKER = /^[ \t]*(?:#+[ \t]*)?(?:example\b[^\n:]{0,20}:|input[ \t]*:|q[ \t]*:)/gim;

/** One stored request's few-shot structure. */
export function fewShotOf(requestJson: string, surface: string, model: string, tokens: (t: string, m: string) => number): { pairs: number; systemExamples: number; prefixTokens: number; removedTokens: number; prefixKey: string } | undefined {
  let req: any;
  try {
    req = JSON.parse(requestJson);
  } catch {
    return undefined;
  }
  if (!req || !Array.isArray(req.messages)) return undefined;
  const msgs: { role: string; content: unknown }[] = req.messages.filter((m: any) => m && typeof m === 'object');
  const system: string[] = [];
  if (surface === 'anthropic' && req.system !== undefined) system.push(textOf(req.system));
  let i = 0;
  while (i < msgs.length && (msgs[i]!.role === 'system' || msgs[i]!.role === 'developer')) system.push(textOf(msgs[i++]!.content));
  let lastUser = msgs.length - 1;
  while (lastUser >= i && msgs[lastUser]!.role !== 'user') lastUser--;
  let pairs = 0;
  let exampleTokens = 0;
  const examples: unknown[] = [];
  for (let j = i; j + 1 < lastUser; j += 2) {
    const u = msgs[j]!;
    const a = msgs[j + 1]!;
    if (u.role !== 'user' || a.role !== 'assistant') break;
    pairs++;
    examples.push([textOf(u.content), textOf(a.content)]);
    exampleTokens += 2 * MESSAGE_TOKENS + tokens(textOf(u.content), model) + tokens(textOf(a.content), model);
  }
  const sys = system.join('\n');
  MARKER.lastIndex = 0;
  const marks = [...sys.matchAll(MARKER)];
  // Examples, not markers: `Example 1:` followed by `Input:` is one example.
  const kinds = [0, 0, 0];
  for (const m of marks) kinds[/example/i.test(m[0]) ? 0 : /input/i.test(m[0]) ? 1 : 2]!++;
  const systemExamples = Math.max(...kinds);
  const sysTokens = sys ? tokens(sys, model) + MESSAGE_TOKENS * system.length : 0;
  const sysExampleTokens = systemExamples ? tokens(sys.slice(marks[0]!.index), model) : 0;
  return {
    pairs,
    systemExamples,
    prefixTokens: sysTokens + exampleTokens,
    removedTokens: exampleTokens + sysExampleTokens,
    prefixKey: createHash('sha256').update(JSON.stringify([sys, examples])).digest('hex').slice(0, 16),
  };
}

async function allRows(store: LedgerStore, o: FinetuneOptions): Promise<LedgerRow[]> {
  const out: LedgerRow[] = [];
  for await (const rows of pages((cursor) => store.query({ since: o.since, until: o.until, feature: o.feature, limit: 1000, cursor }))) out.push(...rows);
  return out;
}

async function allBodies(store: LedgerStore, o: FinetuneOptions, feature: string): Promise<BodyRow[]> {
  const out: BodyRow[] = [];
  for await (const rows of pages((cursor) => store.bodies({ since: o.since, until: o.until, feature, limit: 1000, cursor }))) out.push(...rows);
  return out;
}

/** a × MONTH ÷ span, rounded half up (non-negative a). */
const perMonth = (a: bigint, spanMs: number) => (a * BigInt(MONTH_MS) * 2n + BigInt(spanMs)) / (2n * BigInt(spanMs));

export async function finetuneCandidates(store: LedgerStore, catalog: PriceCatalog, o: FinetuneOptions): Promise<Candidate[]> {
  const tokens = o.tokens ?? countText;
  const rows = (await allRows(store, o)).filter((r) => !own(r));
  if (!rows.length) return [];
  const first = rows.reduce((m, r) => Math.min(m, r.ts), Number.POSITIVE_INFINITY);
  const end = o.until ?? o.now ?? Date.now();
  const span = Math.max(1, end - Math.max(first, o.since ?? first));
  const flagship = (m: string) => {
    if (o.flagship) return o.flagship.includes(m);
    if (o.flagshipTiers.includes(m)) return true;
    const r = catalog.rates(m);
    return r !== undefined && rateAt(r.input, 0) >= o.flagshipMinInput;
  };
  const groups = new Map<string, LedgerRow[]>();
  for (const r of rows) {
    const m = r.model ?? r.requestedModel;
    if (!flagship(m)) continue;
    const k = JSON.stringify([r.feature, m]);
    (groups.get(k) ?? groups.set(k, []).get(k)!).push(r);
  }
  const out: Candidate[] = [];
  const fewShotCache = new Map<string, FewShot | null>();
  for (const [k, g] of groups) {
    const [feature, model] = JSON.parse(k) as [string | null, string];
    const reasons: string[] = [];
    const monthlyRequests = Number(perMonth(BigInt(g.length), span));
    if (monthlyRequests < o.minMonthlyRequests) reasons.push(`${monthlyRequests} requests/month < ${o.minMonthlyRequests}`);
    let fs: FewShot | null = null;
    if (feature !== null) {
      if (!fewShotCache.has(feature)) {
        const bodies = await allBodies(store, o, feature);
        const shapes = bodies.map((b) => fewShotOf(b.request, b.surface, b.requestedModel, tokens)).filter((x): x is NonNullable<typeof x> => !!x);
        if (!shapes.length) fewShotCache.set(feature, null);
        else {
          const keys = new Map<string, number>();
          for (const s of shapes) keys.set(s.prefixKey, (keys.get(s.prefixKey) ?? 0) + 1);
          const avg = (f: (s: (typeof shapes)[number]) => number) => Math.round(shapes.reduce((a, s) => a + f(s), 0) / shapes.length);
          fewShotCache.set(feature, {
            storedCalls: shapes.length,
            fewShotCalls: shapes.filter((s) => s.pairs >= o.minExamples || s.systemExamples >= o.minExamples).length,
            stablePrefixShare: [...keys.values()].reduce((a, b) => Math.max(a, b), 0) / shapes.length,
            avgExamplePairs: shapes.reduce((a, s) => a + s.pairs, 0) / shapes.length,
            avgPrefixTokens: avg((s) => s.prefixTokens),
            avgRemovedTokens: avg((s) => s.removedTokens),
            exportable: bodies.filter((b) => 'line' in toFineTuneLine(b)).length,
          });
        }
      }
      fs = fewShotCache.get(feature)!;
    }
    if (!fs) reasons.push('few-shot unknown: no stored bodies (ledger.storeBodies)');
    else {
      if (fs.fewShotCalls * 2 <= fs.storedCalls) reasons.push(`few-shot in ${fs.fewShotCalls} of ${fs.storedCalls} stored calls`);
      if (fs.stablePrefixShare < 0.5) reasons.push(`prefix stable in ${(fs.stablePrefixShare * 100).toFixed(0)}% of calls`);
      if (fs.avgPrefixTokens < o.minPrefixTokens) reasons.push(`prefix ${fs.avgPrefixTokens} tokens < ${o.minPrefixTokens}`);
    }
    const removed = fs?.avgRemovedTokens ?? 0;
    let current = 0n;
    let target = 0n;
    let exampleTokens = 0;
    for (const r of g) {
      current += BigInt(r.costNanos);
      const input = Math.max(0, r.inputTokens + r.cacheReadTokens + r.cacheWrite5mTokens + r.cacheWrite1hTokens - removed);
      target += BigInt(input) * o.target.input + BigInt(r.outputTokens) * o.target.output;
      exampleTokens += input + r.outputTokens;
    }
    const currentMonthly = perMonth(current, span);
    const targetMonthly = perMonth(roundScaled(target, 3), span);
    const saving = currentMonthly - targetMonthly;
    const trainingExamples = o.examples ?? fs?.exportable ?? 0;
    const trainingTokens = trainingExamples * o.epochs * Math.round(exampleTokens / g.length);
    const trainingCost = o.trainingFlatNanos ?? (o.trainingPerMTok !== undefined ? roundScaled(BigInt(trainingTokens) * o.trainingPerMTok, 3) : 0n);
    if (saving <= 0n) reasons.push('the target model saves nothing');
    out.push({
      feature,
      model,
      requests: g.length,
      monthlyRequests,
      candidate: reasons.length === 0,
      reasons,
      fewShot: fs,
      currentMonthlyNanos: currentMonthly,
      targetMonthlyNanos: targetMonthly,
      monthlySavingNanos: saving,
      trainingExamples,
      trainingTokens,
      trainingCostNanos: trainingCost,
      breakEvenMonths: saving > 0n ? ratio2(trainingCost, saving) : null,
      firstYearNetNanos: 12n * saving - trainingCost,
    });
  }
  return out.sort((a, b) => Number(b.candidate) - Number(a.candidate) || (b.monthlySavingNanos > a.monthlySavingNanos ? 1 : b.monthlySavingNanos < a.monthlySavingNanos ? -1 : 0));
}

/** a ÷ b with 2 decimals, rounded half up (a ≥ 0, b > 0). */
export function ratio2(a: bigint, b: bigint): string {
  const c = (a * 200n + b) / (2n * b);
  return `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;
}

export const candidateJson = (c: Candidate) => ({
  ...c,
  currentMonthlyNanos: String(c.currentMonthlyNanos),
  targetMonthlyNanos: String(c.targetMonthlyNanos),
  monthlySavingNanos: String(c.monthlySavingNanos),
  trainingCostNanos: String(c.trainingCostNanos),
  firstYearNetNanos: String(c.firstYearNetNanos),
});
