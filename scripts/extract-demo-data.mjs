// Vendors the demo data (data/demo): MT-Bench first turns with GPT-4-1106 and Mixtral judge scores for `costgate demo` (see data/demo/SOURCE.md).
//   npm run build && node scripts/extract-demo-data.mjs ../shared/data/routellm-evals/mt_bench
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const dir = process.argv[2] ?? '../shared/data/routellm-evals/mt_bench';
const lines = (f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const contaminated = new Set(lines('contaminated_prompts.jsonl').map((c) => c.eval_prompt.trim()));
const scores = new Map();
for (const j of lines('judgements.jsonl')) {
  if (j.turn !== 1 || j.score < 0) continue;
  const m = j.model.startsWith('gpt-4') ? 'strong' : j.model.toLowerCase().includes('mixtral') ? 'weak' : undefined;
  if (!m) continue;
  scores.set(`${j.question_id}:${m}`, j.score);
}
const out = [];
for (const q of lines('question.jsonl')) {
  const prompt = q.turns[0];
  if (contaminated.has(prompt.trim())) continue;
  const strong = scores.get(`${q.question_id}:strong`);
  const weak = scores.get(`${q.question_id}:weak`);
  if (strong === undefined || weak === undefined) continue;
  out.push({ id: `mt-bench/${q.question_id}`, category: q.category, prompt, score: { 'gpt-4-1106-preview': strong, 'mixtral-8x7b-instruct-v0.1': weak } });
}
writeFileSync('data/demo/mt-bench-turn1.json', JSON.stringify({ source: 'RouteLLM MT-Bench first turns with GPT-4-as-judge scores (Apache-2.0); see SOURCE.md', questions: out }, null, 1) + '\n');
console.log(`${out.length} questions`);

// MMLU questions from the learned router's held-out split only (the shipped router never trained or calibrated on
// them): the first 6 of each subject that are at most 1,200 characters, in file order.
const { loadMmlu, splitOf } = await import('../dist/src/routing/learned/routellm.js');
const { items, excluded } = loadMmlu(join(dir, '..'));
const perSubject = new Map();
const mmlu = [];
for (const it of items) {
  if (it.prompt.length > 1200 || splitOf(it.prompt) !== 'heldout') continue;
  const n = perSubject.get(it.subject) ?? 0;
  if (n >= 6) continue;
  perSubject.set(it.subject, n + 1);
  mmlu.push({ id: `mmlu/${it.subject}/${n}`, prompt: it.prompt, correct: { 'gpt-4-1106-preview': it.strong === 1, 'mixtral-8x7b-instruct-v0.1': it.weak === 1 } });
}
writeFileSync('data/demo/mmlu-heldout.json', JSON.stringify({ source: `RouteLLM MMLU outcomes (Apache-2.0; prompts MMLU, MIT): ${mmlu.length} prompts of the learned router's held-out split (${excluded} contaminated excluded); see SOURCE.md`, prompts: mmlu }, null, 1) + '\n');
console.log(`${mmlu.length} MMLU held-out prompts; GPT-4 right on ${mmlu.filter((m) => m.correct['gpt-4-1106-preview']).length}, Mixtral on ${mmlu.filter((m) => m.correct['mixtral-8x7b-instruct-v0.1']).length}`);
