/**
 * `npm run eval:summarize`: token and cost savings of conversation summarisation (src/optimize/summarize.ts, the same
 * planSummary / applySummary / SummaryCache the context stage uses), replayed offline:
 * - long synthetic chats: 20 conversations × 40 turns (a user message and an assistant answer per turn, ~80 / ~160
 *   tokens), every turn a request carrying the whole conversation so far;
 * - MT-Bench second turns (q1, the first answer, q2): ../shared/data/routellm-evals (80 questions, answers from the
 *   Martian router's file), else the vendored 12 in data/mt-bench-sample.
 * Main model gpt-4o, summaries by gpt-4o-mini (transcript in, a 200-token summary out, as the summary call would be
 * billed), catalog prices, exact nano-dollars. The summary text is a fixed 150-token stand-in: what is measured is
 * the tokens and the dollars, not summary quality.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PriceCatalog } from '../src/pricing/catalog.js';
import { costOf } from '../src/pricing/cost.js';
import { nanosToUsd } from '../src/pricing/decimal.js';
import { countPrompt, countText } from '../src/tokens/count.js';
import { SummaryCache, applySummary, planSummary, summaryPrompt, transcriptOf, type SummarizeSettings } from '../src/optimize/summarize.js';
import type { Json } from '../src/providers/adapter.js';

const MAIN = 'gpt-4o';
const CHEAP = 'gpt-4o-mini';
const catalog = new PriceCatalog();
const usd = (model: string, input: number, output: number) =>
  BigInt(costOf({ inputTokens: input, outputTokens: output, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, estimated: false }, catalog.rates(model, 'openai')!).nanos);

const WORDS = 'order delivery window refund invoice address courier parcel warehouse status tracking number customer account payment'.split(' ');
const text = (seed: number, words: number) => Array.from({ length: words }, (_, i) => WORDS[(seed * 7 + i * 13) % WORDS.length]).join(' ');

export interface Row {
  set: string;
  settings: string;
  requests: number;
  inputBefore: number;
  inputAfter: number;
  summaryCalls: number;
  summaryIn: number;
  summaryOut: number;
  costBefore: bigint;
  costAfter: bigint;
}

export async function replay(set: string, convs: Json[][][], s: SummarizeSettings): Promise<Row> {
  const stub = text(1, 150); // 150 tokens
  const row: Row = { set, settings: `maxTurns ${s.maxTurns}, maxTokens ${s.maxTokens}, keepLast ${s.keepLast}`, requests: 0, inputBefore: 0, inputAfter: 0, summaryCalls: 0, summaryIn: 0, summaryOut: 0, costBefore: 0n, costAfter: 0n };
  const cache = new SummaryCache();
  for (const turns of convs) {
    for (const messages of turns) {
      const body = { model: MAIN, messages };
      const before = countPrompt(body, MAIN);
      row.requests++;
      row.inputBefore += before;
      row.costBefore += usd(MAIN, before, 0);
      const p = planSummary(body, MAIN, s, CHEAP);
      let after = before;
      if (p) {
        const got = await cache.get(p.key, async () => stub);
        if (got.made) {
          const inTok = countPrompt({ model: CHEAP, ...summaryPrompt(transcriptOf(p.older), s.summaryTokens) }, CHEAP);
          const outTok = Math.min(s.summaryTokens, countText(stub, CHEAP));
          row.summaryCalls++;
          row.summaryIn += inTok;
          row.summaryOut += outTok;
          row.costAfter += usd(CHEAP, inTok, outTok);
        }
        after = countPrompt(applySummary(body, p, got.text), MAIN);
      }
      row.inputAfter += after;
      row.costAfter += usd(MAIN, after, 0);
    }
  }
  return row;
}

export function syntheticChats(n = 20, turns = 40): Json[][][] {
  const out: Json[][][] = [];
  for (let c = 0; c < n; c++) {
    const msgs: Json[] = [{ role: 'system', content: `You are the support agent of shop ${c}. ${text(c, 60)}` }];
    const reqs: Json[][] = [];
    for (let t = 0; t < turns; t++) {
      msgs.push({ role: 'user', content: `Question ${t}: ${text(c + t, 60)}?` });
      reqs.push([...msgs]);
      msgs.push({ role: 'assistant', content: `Answer ${t}: ${text(c * 3 + t, 120)}.` });
    }
    out.push(reqs);
  }
  return out;
}

export function mtBenchSecondTurns(): { source: string; convs: Json[][][] } {
  const shared = '../shared/data/routellm-evals';
  if (existsSync(`${shared}/mt_bench/question.jsonl`) && existsSync(`${shared}/mt_bench_router_benchmarks/martian.jsonl`)) {
    const ans = new Map<number, string>();
    for (const l of readFileSync(`${shared}/mt_bench_router_benchmarks/martian.jsonl`, 'utf8').split('\n').filter(Boolean)) {
      const a = JSON.parse(l);
      ans.set(a.question_id, a.choices[0].turns[0]);
    }
    const qs = readFileSync(`${shared}/mt_bench/question.jsonl`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    return { source: `${shared} (${qs.length} questions)`, convs: qs.filter((q) => ans.has(q.question_id)).map((q) => [[{ role: 'user', content: q.turns[0] }, { role: 'assistant', content: ans.get(q.question_id) }, { role: 'user', content: q.turns[1] }]]) };
  }
  const lines = readFileSync(new URL('../../data/mt-bench-sample/second-turns.jsonl', import.meta.url), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { source: `data/mt-bench-sample (${lines.length} questions; ../shared absent)`, convs: lines.map((q) => [[{ role: 'user', content: q.turns[0] }, { role: 'assistant', content: q.answer1 }, { role: 'user', content: q.turns[1] }]]) };
}

export function formatRows(rows: Row[]): string {
  const pct = (a: bigint, b: bigint) => (b === 0n ? '' : `${(Number(((b - a) * 10_000n) / b) / 100).toFixed(2)} %`);
  const lines = ['| set | settings | requests | input tok before | input tok after | summary calls | summary tok in/out | cost before (USD) | cost after incl. summaries (USD) | saved |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) lines.push(`| ${r.set} | ${r.settings} | ${r.requests} | ${r.inputBefore.toLocaleString('en-US')} | ${r.inputAfter.toLocaleString('en-US')} | ${r.summaryCalls} | ${r.summaryIn.toLocaleString('en-US')} / ${r.summaryOut.toLocaleString('en-US')} | ${nanosToUsd(r.costBefore)} | ${nanosToUsd(r.costAfter)} | ${pct(r.costAfter, r.costBefore)} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const def: SummarizeSettings = { maxTurns: 20, maxTokens: 8000, keepLast: 6, summaryTokens: 200 };
  const mt = mtBenchSecondTurns();
  console.log(`MT-Bench: ${mt.source}\n`);
  const rows = [
    await replay('synthetic 20×40 turns', syntheticChats(), def),
    await replay('synthetic 20×40 turns', syntheticChats(), { ...def, maxTurns: 10, keepLast: 4 }),
    await replay('MT-Bench 2nd turns', mt.convs, def),
    await replay('MT-Bench 2nd turns', mt.convs, { ...def, maxTurns: 2, keepLast: 1 }),
  ];
  console.log(formatRows(rows));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
