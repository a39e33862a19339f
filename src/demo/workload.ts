/**
 * The demo's workload: a support bot and a nightly tagging job, built from RouteLLM's outcomes so quality can be scored
 * (MMLU questions: was the answer right; MT-Bench first turns: GPT-4's judge score). Deterministic (seeded):
 * - support: a long static system prompt (the product handbook) + a question; users ask MMLU and MT-Bench questions,
 *   a quarter of calls repeat an earlier question word for word, a tenth rephrase one (a greeting before it);
 * - nightly: tagging MMLU questions, deferrable to a batch;
 * - one runaway user pasting a huge log into the support bot.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../util/seeded-random.js';

export interface DemoRequest {
  id: string;
  feature: 'support' | 'nightly';
  user: string;
  body: { model: string; temperature: number; messages: { role: 'system' | 'user'; content: string }[] };
  /** The question scored (MMLU / MT-Bench id) — a repeat or a rephrasing scores as the question it repeats. */
  questionId?: string;
  kind: 'new' | 'repeat' | 'rephrase' | 'nightly' | 'runaway';
}

export interface Question {
  id: string;
  prompt: string;
  /** Quality per model on this question, 0..1 (MMLU: right = 1; MT-Bench: judge score / 10). */
  quality: Record<string, number>;
  source: 'mmlu' | 'mt-bench';
}

const DATA = (f: string) => fileURLToPath(new URL(`../../../data/${f}`, import.meta.url));

/** The data's two models; the demo's frontier and small models stand in for them. */
export const STRONG_DATA = 'gpt-4-1106-preview';
export const WEAK_DATA = 'mixtral-8x7b-instruct-v0.1';

export function loadQuestions(): Question[] {
  const mmlu = JSON.parse(readFileSync(DATA('demo/mmlu-heldout.json'), 'utf8')) as { prompts: { id: string; prompt: string; correct: Record<string, boolean> }[] };
  const mt = JSON.parse(readFileSync(DATA('demo/mt-bench-turn1.json'), 'utf8')) as { questions: { id: string; prompt: string; score: Record<string, number> }[] };
  return [
    ...mmlu.prompts.map((p): Question => ({ id: p.id, prompt: p.prompt, source: 'mmlu', quality: { [STRONG_DATA]: p.correct[STRONG_DATA] ? 1 : 0, [WEAK_DATA]: p.correct[WEAK_DATA] ? 1 : 0 } })),
    ...mt.questions.map((q): Question => ({ id: q.id, prompt: q.prompt, source: 'mt-bench', quality: { [STRONG_DATA]: q.score[STRONG_DATA]! / 10, [WEAK_DATA]: q.score[WEAK_DATA]! / 10 } })),
  ];
}


/** About 2,000 tokens of handbook: static, so a provider prompt cache can hold it. */
export function handbook(): string {
  const sections = ['Accounts and sign-in', 'Billing and invoices', 'Plans and limits', 'Data retention', 'Security practices', 'Integrations', 'Exports', 'Support hours', 'Escalations', 'Refunds'];
  const lines = ['You are the support assistant for Acme Analytics. Answer the customer accurately and concisely. When the question is general knowledge, answer it directly; when it is a multiple-choice question, answer with the letter only.', ''];
  for (const [i, s] of sections.entries()) {
    lines.push(`## ${i + 1}. ${s}`);
    for (let j = 0; j < 6; j++) lines.push(`- ${s} policy ${j + 1}: customers on every plan may contact support about ${s.toLowerCase()}; an agent confirms the account owner before changing settings, records the request in the ticket, and replies within one business day. Item ${i + 1}.${j + 1} applies to workspaces created after the 2024 migration.`);
    lines.push('');
  }
  return lines.join('\n');
}

const GREETINGS = ['Hi there! ', 'Hello, quick question: ', 'Hey — ', 'Good morning. ', 'Could you help me with this? '];

export interface WorkloadOptions {
  model: string;
  /** Support calls (new + repeats + rephrasings). */
  support: number;
  nightly: number;
  runaway: number;
  seed?: number;
}

export function buildWorkload(o: WorkloadOptions, questions = loadQuestions()): DemoRequest[] {
  const random = seededRandom(o.seed ?? 42);
  const system = handbook();
  const shuffled = [...questions].sort((a, b) => a.id.localeCompare(b.id)).map((q) => ({ q, k: random() })).sort((a, b) => a.k - b.k).map((x) => x.q);
  const nightlyPool = shuffled.filter((q) => q.source === 'mmlu').slice(0, o.nightly);
  const supportPool = shuffled.filter((q) => !nightlyPool.includes(q));
  const asked: Question[] = [];
  const out: DemoRequest[] = [];
  const support = (q: Question, text: string, kind: DemoRequest['kind'], i: number): DemoRequest => ({
    id: `support-${i}`,
    feature: 'support',
    user: `user-${Math.floor(random() * 40)}`,
    body: { model: o.model, temperature: 0, messages: [{ role: 'system', content: system }, { role: 'user', content: text }] },
    questionId: q.id,
    kind,
  });
  let next = 0;
  for (let i = 0; i < o.support; i++) {
    const r = random();
    if (asked.length > 10 && r < 0.25) {
      const q = asked[Math.floor(random() * asked.length)]!;
      out.push(support(q, q.prompt, 'repeat', i));
    } else if (asked.length > 10 && r < 0.35) {
      const q = asked[Math.floor(random() * asked.length)]!;
      out.push(support(q, GREETINGS[Math.floor(random() * GREETINGS.length)]! + q.prompt, 'rephrase', i));
    } else {
      const q = supportPool[next++ % supportPool.length]!;
      asked.push(q);
      out.push(support(q, q.prompt, 'new', i));
    }
  }
  const tagger = 'Tag the following exam question with its academic subject and its difficulty (easy, medium, hard). Reply with JSON {"subject": ..., "difficulty": ...}.\n\n';
  nightlyPool.forEach((q, i) => out.push({ id: `nightly-${i}`, feature: 'nightly', user: 'batch-job', body: { model: o.model, temperature: 0, messages: [{ role: 'user', content: tagger + q.prompt }] }, kind: 'nightly' }));
  const log = Array.from({ length: 1800 }, (_, j) => `2026-12-01T03:${String(j % 60).padStart(2, '0')}:00Z worker-${j % 7} ERROR upstream timeout after 30000 ms (request ${j})`).join('\n');
  for (let i = 0; i < o.runaway; i++) out.push({ id: `runaway-${i}`, feature: 'support', user: 'runaway', body: { model: o.model, temperature: 0, messages: [{ role: 'system', content: system }, { role: 'user', content: `Why does this keep failing?\n${log}` }] }, kind: 'runaway' });
  return out;
}
