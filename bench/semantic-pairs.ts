/**
 * Labelled question pairs for the semantic-cache evaluation, built deterministically from public data:
 *
 * - gptcache: GPTCache's mock pairs (origin / LLM paraphrase = positives) and mismatched rows (origin i with
 *   similar j ≠ i, negatives). Its SOURCE.md warns the sentences are declarative and some rows near-duplicates.
 * - hard: MMLU question stems and MT-Bench first turns (routellm-evals), each with surface rewrites a user would
 *   type (positives) and answer-changing edits (negatives): a number, negation, polarity word, named entity,
 *   question word or one key content word swapped, plus another question of the same subject.
 *
 * Every pair has a `split`: `tune` (70 %, used to choose the defaults) or `heldout` (30 %, never tuned on), by a hash
 * of the source question, so a question's rewrites and edits all land on the same side.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Pair { a: string; b: string; label: 0 | 1; kind: string; split: 'tune' | 'heldout'; set: 'gptcache' | 'hard' | 'hand' }

const h32 = (s: string) => createHash('sha1').update(s).digest().readUInt32LE(0);
const splitOf = (s: string): Pair['split'] => (h32('split:' + s) % 10 < 7 ? 'tune' : 'heldout');

/** Mulberry32: a small seeded PRNG, so every run builds the same pairs. */
function rng(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

export function gptcachePairs(dir: string): Pair[] {
  const rows = JSON.parse(readFileSync(join(dir, 'mock_data.json'), 'utf8')) as Array<{ origin: string; similar: string }>;
  const out: Pair[] = [];
  const r = rng(7);
  rows.forEach((x, i) => {
    const split = splitOf(x.origin);
    out.push({ a: x.similar, b: x.origin, label: 1, kind: 'paraphrase', split, set: 'gptcache' });
    let j = Math.floor(r() * rows.length);
    if (j === i) j = (j + 1) % rows.length;
    // A mismatched row whose origin is the same text (duplicate rows) is not a negative.
    if (rows[j]!.origin !== x.origin) out.push({ a: rows[j]!.similar, b: x.origin, label: 0, kind: 'mismatch', split, set: 'gptcache' });
  });
  return out;
}

/** MMLU question stems (text before the options) of at most `maxLen` characters, by subject. */
export function mmluQuestions(dir: string, maxLen = 220): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of readdirSync(join(dir, 'mmlu')).filter((f) => f.endsWith('.csv')).sort()) {
    const text = readFileSync(join(dir, 'mmlu', f), 'utf8');
    const qs: string[] = [];
    // Prompts are quoted CSV fields: "question\nA. …\nAnswer:",True,False
    for (const m of text.matchAll(/"((?:[^"]|"")*)",(True|False),(True|False)/g)) {
      const stem = m[1]!.replace(/""/g, '"').split(/\nA\. /)[0]!.trim();
      if (stem.length >= 25 && stem.length <= maxLen && !stem.includes('\n') && /[?]$/.test(stem)) qs.push(stem);
    }
    out.set(f.replace(/^mmlu_|\.csv$/g, ''), [...new Set(qs)]);
  }
  return out;
}

export function mtBenchQuestions(dir: string): string[] {
  const p = join(dir, 'mt_bench', 'question.jsonl');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8').trim().split('\n').map((l) => (JSON.parse(l).turns[0] as string).trim()).filter((q) => q.length <= 400);
}

const SYN: Record<string, string> = { explain: 'describe', big: 'large', large: 'big', choose: 'select', correct: 'right', statement: 'claim', following: 'below', find: 'determine', main: 'primary', likely: 'probable', method: 'approach', important: 'significant', show: 'demonstrate', help: 'assist', buy: 'purchase', start: 'begin', error: 'mistake', answer: 'reply', typical: 'usual', used: 'utilized' };
const POL: Array<[RegExp, string]> = [[/\bincrease\b/, 'decrease'], [/\bdecrease\b/, 'increase'], [/\bmore\b/, 'less'], [/\bless\b/, 'more'], [/\bbefore\b/, 'after'], [/\bafter\b/, 'before'], [/\blargest\b/, 'smallest'], [/\bsmallest\b/, 'largest'], [/\bhighest\b/, 'lowest'], [/\blowest\b/, 'highest'], [/\btrue\b/, 'false'], [/\bfalse\b/, 'true'], [/\badvantage\b/, 'disadvantage'], [/\bbest\b/, 'worst'], [/\bmost\b/, 'least'], [/\bmaximum\b/, 'minimum'], [/\bminimum\b/, 'maximum'], [/\bhigher\b/, 'lower'], [/\blower\b/, 'higher']];
const AUX = /\b(is|are|was|were|does|do|did|can|will|would|should|could|has|have)\b/;
const WH: Array<[RegExp, string]> = [[/^What\b/, 'Why'], [/^Why\b/, 'How'], [/^How\b(?! (many|much)\b)/, 'Why'], [/^Which\b/, 'Why'], [/^Who\b/, 'When'], [/^When\b/, 'Where'], [/^Where\b/, 'When']];
const FILLERS: Array<(q: string) => string> = [
  (q) => `Can you tell me: ${q}`,
  (q) => `${q} Thanks!`,
  (q) => `Quick question - ${q.charAt(0).toLowerCase()}${q.slice(1)}`,
  (q) => q.toLowerCase().replace(/[?.!]+$/, ''),
  (q) => `Please answer this: ${q}`,
  (q) => q.replace(/\bWhat is\b/, "What's").replace(/\bdo not\b/, "don't").replace(/\bis not\b/, "isn't"),
  (q) => `hi, ${q.charAt(0).toLowerCase()}${q.slice(1)}`,
];

/** Surface rewrites of `q` (same question): a filler, a case/punctuation change, a synonym of a non-key word. */
function positives(q: string, r: () => number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const f = FILLERS[Math.floor(r() * FILLERS.length)]!(q);
  if (f !== q) out.push([f, 'rewrite']);
  const words = q.split(/(\W+)/);
  const si = words.findIndex((w) => SYN[w.toLowerCase()]);
  if (si >= 0) {
    const w = [...words];
    w[si] = SYN[w[si]!.toLowerCase()]!;
    out.push([w.join(''), 'synonym']);
  }
  return out;
}

/** Answer-changing edits of `q`; `pool` supplies entities and content words from the same subject. */
function negatives(q: string, pool: { entities: string[]; words: string[]; others: string[] }, r: () => number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const num = q.match(/\d+(\.\d+)?/);
  if (num) out.push([q.replace(num[0], String(Number(num[0]) + (Number(num[0]) > 10 ? 10 : 1))), 'number']);
  if (AUX.test(q) && !/\bnot\b/.test(q)) out.push([q.replace(AUX, (m) => `${m} not`), 'negation']);
  else if (/\bnot\b/.test(q)) out.push([q.replace(/\s*\bnot\b/, ''), 'negation']);
  const p = POL.find(([re]) => re.test(q));
  if (p) out.push([q.replace(p[0], p[1]), 'polarity']);
  const w = WH.find(([re]) => re.test(q));
  if (w) out.push([q.replace(w[0], w[1]), 'question-type']);
  const ents = [...q.matchAll(/(?<=[a-z,] )[A-Z][a-z]{2,}\b/g)].map((m) => m[0]);
  if (ents.length && pool.entities.length > 1) {
    const e = pick(ents);
    const other = pool.entities.filter((x) => x !== e && !q.includes(x));
    if (other.length) out.push([q.replace(e, pick(other)), 'entity']);
  }
  const content = [...q.matchAll(/\b[a-z]{6,}\b/g)].map((m) => m[0]).filter((x) => !SYN[x]);
  if (content.length && pool.words.length > 1) {
    const c = content.sort((a, b) => b.length - a.length)[0]!;
    const other = pool.words.filter((x) => x !== c && !q.includes(x));
    if (other.length) out.push([q.replace(new RegExp(`\\b${c}\\b`), pick(other)), 'content-word']);
  }
  const o = pool.others.filter((x) => x !== q);
  if (o.length) out.push([pick(o), 'same-subject']);
  return out;
}

/** The hard set: rewrites (positives) and edits (negatives) of up to `perSubject` MMLU questions per subject + MT-Bench. */
export function hardPairs(routellmDir: string, perSubject = 12): Pair[] {
  const r = rng(42);
  const out: Pair[] = [];
  const groups: Array<[string, string[]]> = [...mmluQuestions(routellmDir).entries()].map(([s, qs]) => [s, qs.slice(0, perSubject)]);
  const mt = mtBenchQuestions(routellmDir);
  if (mt.length) groups.push(['mt-bench', mt.filter((q) => q.length <= 250).slice(0, 40)]);
  for (const [, qs] of groups) {
    const entities = [...new Set(qs.flatMap((q) => [...q.matchAll(/(?<=[a-z,] )[A-Z][a-z]{2,}\b/g)].map((m) => m[0])))];
    const words = [...new Set(qs.flatMap((q) => [...q.matchAll(/\b[a-z]{6,}\b/g)].map((m) => m[0])))];
    for (const q of qs) {
      const split = splitOf(q);
      for (const [b, kind] of positives(q, r)) out.push({ a: b, b: q, label: 1, kind, split, set: 'hard' });
      for (const [b, kind] of negatives(q, { entities, words, others: qs }, r)) if (b !== q) out.push({ a: b, b: q, label: 0, kind, split, set: 'hard' });
    }
  }
  return out;
}
