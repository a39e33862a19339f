/**
 * `npm run eval:routing [DIR]`: routers on RouteLLM's released outcomes (default ../shared/data/routellm-evals):
 * MMLU (contaminated prompts left out) on the hash-fixed held-out split — the 30 % no training, calibration or
 * setting ever saw — and MT-Bench (all 80 questions × 2 turns, a different source: nothing here trains on it).
 * For every router: quality vs share of strong calls, cost (GPT-4-1106-preview vs Mixtral-8x7B priced from the
 * catalog), RouteLLM's APGR and CPT(50 %) / CPT(80 %). Writes the curves to docs/routing-eval.svg.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadMmlu, loadMtBench, splitOf } from '../src/routing/learned/routellm.js';
import { parseModel, score, thresholdForShare, type RouterModel } from '../src/routing/learned/model.js';
import { trainFromOutcomes } from '../src/routing/learned/train-outcomes.js';
import { curve, summary } from '../src/routing/learned/metrics.js';
import { RoutingEngine, DEFAULT_MODEL_PATH } from '../src/routing/engine.js';
import { RoutingSchema } from '../src/config/routing-schema.js';
import { classify } from '../src/routing/tier.js';
import { routeInput } from '../src/routing/signals.js';
import { PriceCatalog } from '../src/pricing/catalog.js';
import { costOf } from '../src/pricing/cost.js';
import { countText } from '../src/tokens/count.js';
import { readFileSync } from 'node:fs';
import { renderSvg, type Series } from './routing-svg.js';

const DIR = process.argv[2] ?? '../shared/data/routellm-evals';
const STRONG = 'gpt-4-1106-preview';
const WEAK = 'mixtral-8x7b-instruct-v0.1';
/** Output tokens assumed per call (the data has no answers' lengths): an MMLU letter, an MT-Bench answer. */
const OUT = { mmlu: 5, mt: 400 };

interface Item {
  prompt: string;
  weak: number;
  strong: number;
  task?: string;
  costW: number;
  costS: number;
}

const catalog = new PriceCatalog();
function nanos(model: string, input: number, output: number): number {
  const r = catalog.rates(model);
  if (!r) throw new Error(`no catalog price for ${model}`);
  return costOf({ inputTokens: input, outputTokens: output, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, estimated: false }, r).nanos;
}
const withCost = (x: Omit<Item, 'costW' | 'costS'>, out: number): Item => {
  const t = countText(x.prompt, STRONG);
  return { ...x, costW: nanos(WEAK, t, out), costS: nanos(STRONG, t, out) };
};

const load = (f: string) => parseModel(JSON.parse(readFileSync(f, 'utf8')), f);
const models: [string, RouterModel][] = [
  ['learned weak-fails (shipped default)', load(DEFAULT_MODEL_PATH)],
  ['learned strong-wins', load(DEFAULT_MODEL_PATH.replace('mmlu-weak-fails', 'mmlu-strong-wins'))],
];

const cfg = (extra: object) => RoutingSchema.parse({ strong: 'S', weak: 'W', ...extra });
const rulesEngine = new RoutingEngine(
  cfg({
    all: true,
    rules: [
      { name: 'code-math-reasoning', priority: 10, when: { task: ['code', 'math', 'reasoning'] }, model: '@strong' },
      { name: 'long-prompt', priority: 5, when: { minTokens: 350 }, model: '@strong' },
    ],
    default: '@weak',
  }),
);
const autoEngine = new RoutingEngine(cfg({ tiers: { simple: 'W', medium: 'W', complex: 'S' } }));
const asBody = (p: string) => ({ messages: [{ role: 'user', content: p }] });

interface Row {
  router: string;
  share: number;
  quality: number;
  costPer1k: number;
  apgr?: number;
  cpt50?: number;
  cpt80?: number;
  need?: number;
}

function evalSet(name: string, items: Item[], target: { share: number; quality: number; label: string }, extra: { name: string; scores: number[] }[]) {
  const s0 = summary(items, curve(items, items.map(() => 0)));
  const rows: Row[] = [];
  const series: Series[] = [];
  const cost = (strong: boolean[]) => (items.reduce((a, it, i) => a + (strong[i] ? it.costS : it.costW), 0) / items.length) * 1000 / 1e9;
  const point = (router: string, strong: boolean[]) => {
    const q = items.reduce((a, it, i) => a + (strong[i] ? it.strong : it.weak), 0) / items.length;
    rows.push({ router, share: strong.filter(Boolean).length / items.length, quality: q, costPer1k: cost(strong) });
  };
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];
  const curveRow = (router: string, scores: number[], color: string, dashed = false) => {
    const pts = curve(items, scores);
    const s = summary(items, pts);
    const k = Math.round(target.share * items.length);
    const order = items.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
    const strong = new Array<boolean>(items.length).fill(false);
    for (const i of order.slice(0, k)) strong[i] = true;
    rows.push({ router: `${router} @${Math.round(target.share * 100)}%`, share: k / items.length, quality: s.qualityAt(target.share), costPer1k: cost(strong), apgr: s.apgr, cpt50: s.cpt50, cpt80: s.cpt80, need: s.shareFor(target.quality) });
    series.push({ name: router, color, points: pts, dashed });
  };
  point('all-weak (Mixtral)', items.map(() => false));
  point('all-strong (GPT-4)', items.map(() => true));
  const n = items.length;
  // Random: the expected curve (a straight line), so APGR 0.5 and CPT(p) = p exactly.
  rows.push({ router: `random (expected) @${Math.round(target.share * 100)}%`, share: target.share, quality: s0.weak + target.share * (s0.strong - s0.weak), costPer1k: (items.reduce((a, it) => a + it.costW + target.share * (it.costS - it.costW), 0) / n) * 1000 / 1e9, apgr: 0.5, cpt50: 0.5, cpt80: 0.8, need: (target.quality - s0.weak) / (s0.strong - s0.weak) });
  series.push({ name: 'random', color: '#999', points: [{ share: 0, quality: s0.weak }, { share: 1, quality: s0.strong }], dashed: true });
  curveRow('oracle', items.map((i) => i.strong - i.weak), '#000', true);
  extra.forEach((e, i) => curveRow(e.name, e.scores, colors[(i + 4) % colors.length]!));
  models.forEach(([mn, m], i) => {
    curveRow(mn, items.map((it) => score(m, it.prompt)), colors[i]!);
    for (const sh of [0.1, 0.2, 0.25, 0.3, 0.35, 0.5]) {
      const t = thresholdForShare(m, sh);
      point(`  ${mn.split(' (')[0]} dial strongShare=${sh}`, items.map((it) => score(m, it.prompt) >= t));
    }
  });
  curveRow('auto tier-classifier score', items.map((it) => classify(routeInput(asBody(it.prompt))).score), colors[2]!);
  for (const req of ['auto:cheap', 'auto', 'auto:quality']) point(`  ${req} (complex → strong)`, items.map((it) => autoEngine.decide(req, routeInput(asBody(it.prompt)))!.target === 'S'));
  point('rules (code/math/reasoning or ≥350 tokens → strong)', items.map((it) => rulesEngine.decide('x', routeInput(asBody(it.prompt)))!.target === 'S'));
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(`\n## ${name}: ${items.length} prompts; weak ${s0.weak.toFixed(3)}, strong ${s0.strong.toFixed(3)}; target: ${target.label}`);
  console.log('| router | strong share | quality | of GPT-4 | $ / 1k calls | APGR | CPT(50%) | CPT(80%) | share for target |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const f = (v?: number) => (v === undefined ? '' : Number.isNaN(v) ? 'never' : pct(v));
    console.log(`| ${r.router} | ${pct(r.share)} | ${r.quality.toFixed(3)} | ${pct(r.quality / s0.strong)} | ${r.costPer1k.toFixed(3)} | ${r.apgr?.toFixed(3) ?? ''} | ${f(r.cpt50)} | ${f(r.cpt80)} | ${f(r.need)} |`);
  }
  return series;
}

function latency(prompts: string[]): void {
  const eng = new RoutingEngine(cfg({ tiers: { simple: 'W', medium: 'W', complex: 'S' } }));
  const m = models[0]![1];
  const time = (f: (p: string) => unknown) => {
    for (const p of prompts.slice(0, 200)) f(p);
    const ts: number[] = [];
    for (const p of prompts) {
      const t0 = process.hrtime.bigint();
      f(p);
      ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ts.sort((a, b) => a - b);
    return `p50 ${ts[Math.floor(ts.length / 2)]!.toFixed(4)} ms, p99 ${ts[Math.floor(ts.length * 0.99)]!.toFixed(4)} ms`;
  };
  console.log(`\n## Hot-path latency (${prompts.length} prompts, this machine, includes extracting the prompt from the body)`);
  console.log(`- tier classifier (auto): ${time((p) => classify(routeInput(asBody(p))))}`);
  console.log(`- learned router score: ${time((p) => score(m, routeInput(asBody(p)).userText))}`);
  console.log(`- engine.decide('auto'): ${time((p) => eng.decide('auto', routeInput(asBody(p))))}`);
}

if (!existsSync(DIR)) {
  console.log(`routing eval: ${DIR} is absent (RouteLLM outcomes, see data/routing-models/SOURCE.md); nothing measured.`);
  process.exit(0);
}
const mm = loadMmlu(DIR);
const held = mm.items.filter((i) => splitOf(i.prompt) === 'heldout').map((i) => withCost({ prompt: i.prompt, weak: i.weak, strong: i.strong, task: i.subject }, OUT.mmlu));
const train = mm.items.filter((i) => splitOf(i.prompt) === 'train');
const adv = new Map<string, { d: number; n: number }>();
for (const i of train) {
  const a = adv.get(i.subject) ?? { d: 0, n: 0 };
  a.d += i.strong - i.weak;
  a.n++;
  adv.set(i.subject, a);
}
// The learned router with the subject as x-costgate-task, trained here the same way as the shipped models.
const outcomes = mm.items.map((i) => ({ prompt: i.prompt, strong: i.strong, weak: i.weak, task: i.subject }));
const withTask = parseModel(trainFromOutcomes(outcomes, { label: 'strong-wins', buckets: 1 << 16, epochs: 4, weakPass: 1, useTask: true, source: 'eval' }).model, 'eval');
const zscore = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length) || 1;
  return xs.map((x) => (x - m) / sd);
};
console.log(`# Routing eval (${DIR}); MMLU: ${mm.excluded} contaminated prompts left out; costs assume ${OUT.mmlu} (MMLU) / ${OUT.mt} (MT-Bench) output tokens per call`);
console.log(`prices: ${STRONG} ${catalog.rates(STRONG)?.source}, ${WEAK} ${catalog.rates(WEAK)?.source}`);
const prior = held.map((i) => {
  const a = adv.get(i.task!)!;
  return a.d / a.n;
});
const qS = held.reduce((a, i) => a + i.strong, 0) / held.length;
const mmluSeries = evalSet('MMLU held-out split', held, { share: 0.35, quality: 0.95 * qS, label: '≥ 95% of GPT-4 accuracy with ≤ 35% strong calls' }, [
  { name: 'subject-prior (train split)', scores: prior },
  { name: 'learned strong-wins + subject as task', scores: held.map((i) => score(withTask, i.prompt, i.task)) },
  // Equal weights on z-scores: the blend chosen on the calibration split (0.696 APGR there vs 0.662 for the prior).
  { name: 'subject-prior + learned strong-wins (eval-only blend)', scores: ((a, b) => a.map((x, k) => x + b[k]!))(zscore(prior), zscore(held.map((i) => score(models[1]![1], i.prompt)))) },
]);
const mt = loadMtBench(DIR);
const mtItems = mt.items.map((i) => withCost({ prompt: i.prompt, weak: i.weak, strong: i.strong }, OUT.mt));
// MT-Bench's analogue of the subject prior: its category's mean GPT-4 advantage over the *other* questions (leave one
// question out, so no item sees its own outcome).
const catPrior = mt.items.map((it) => {
  const others = mt.items.filter((o) => o.category === it.category && o.questionId !== it.questionId);
  return others.reduce((a, o) => a + o.strong - o.weak, 0) / Math.max(1, others.length);
});
const mtSeries = evalSet(`MT-Bench (${mt.excluded} question-turns left out: contaminated or judge parse failure)`, mtItems, { share: 0.25, quality: 8.76, label: 'judge score 8.76 with ≤ 25% strong calls' }, [
  { name: 'category-prior (leave-one-question-out)', scores: catPrior },
]);
// The commercial routers' judged answers (mt_bench_router_benchmarks): same judge, same question-turns as above.
const refs = new Map<string, number[]>();
const keep = new Set(mt.items.map((i) => `${i.questionId}:${i.turn}`));
for (const line of readFileSync(`${DIR}/mt_bench_router_benchmarks/gpt-4_single.jsonl`, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const j = JSON.parse(line);
  if (j.score < 0 || !keep.has(`${j.question_id}:${j.turn}`)) continue;
  refs.set(j.model, [...(refs.get(j.model) ?? []), j.score]);
}
for (const [m, v] of refs) console.log(`reference: commercial router ${m}: judge score ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(3)} over ${v.length} of these question-turns (its strong-call share is not in the data)`);
latency([...held.map((i) => i.prompt), ...mtItems.map((i) => i.prompt)]);
mkdirSync('docs', { recursive: true });
writeFileSync('docs/routing-eval.svg', renderSvg([
  { title: 'MMLU held-out (GPT-4 vs Mixtral)', yLabel: 'accuracy', series: mmluSeries },
  { title: 'MT-Bench (not trained on)', yLabel: 'mean judge score', series: mtSeries },
]));
console.log('\nwrote docs/routing-eval.svg');
