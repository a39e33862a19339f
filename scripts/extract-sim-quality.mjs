// Extracts the sample quality table costgate ships in data/sim-quality/ from RouteLLM's per-prompt MMLU outcomes
// (GPT-4-1106-preview vs Mixtral-8x7B-Instruct, did each answer correctly): the first PER_SUBJECT prompts of every
// subject that are not listed in contaminated_prompts.jsonl and are at most MAX_CHARS long (keeps the file small).
// Per-model defaults are the accuracies over ALL uncontaminated prompts, so unknown prompts follow the real rates.
// Usage: node scripts/extract-sim-quality.mjs [../shared/data/routellm-evals/mmlu]
import { readFileSync, writeFileSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '../shared/data/routellm-evals/mmlu';
const PER_SUBJECT = 5;
const MAX_CHARS = 1200;
const COLUMNS = { 'gpt-4-1106-preview': 'gpt-4-1106-preview', 'mistralai/Mixtral-8x7B-Instruct-v0.1': 'mixtral-8x7b-instruct-v0.1' };

/** RFC 4180 CSV: quoted fields may hold commas, newlines and doubled quotes. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field), rows.push(row), (row = []), (field = '');
    } else field += c;
  }
  if (field || row.length) row.push(field), rows.push(row);
  return rows;
}

const norm = (s) => s.replace(/\r\n/g, '\n').trim();
const contaminated = new Set(readFileSync(join(dir, 'contaminated_prompts.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => norm(JSON.parse(l).eval_prompt)));
const prompts = [];
const totals = Object.fromEntries(Object.values(COLUMNS).map((m) => [m, 0]));
let all = 0;
let excluded = 0;
for (const file of readdirSync(dir).filter((f) => /^mmlu_.*\.csv$/.test(f)).sort()) {
  const [header, ...rows] = parseCsv(readFileSync(join(dir, file), 'utf8'));
  const cols = header.map((h) => COLUMNS[h]);
  const subject = file.slice(5, -4);
  let taken = 0;
  rows.forEach((r, i) => {
    if (r.length !== header.length) return;
    const prompt = norm(r[0]);
    if (contaminated.has(prompt)) return void excluded++;
    all++;
    const correct = {};
    cols.forEach((m, j) => {
      if (!m) return;
      correct[m] = r[j] === 'True';
      if (correct[m]) totals[m]++;
    });
    if (taken < PER_SUBJECT && prompt.length <= MAX_CHARS) {
      taken++;
      prompts.push({ id: `mmlu/${subject}/${i}`, prompt, correct });
    }
  });
}
const models = Object.fromEntries(Object.entries(totals).map(([m, n]) => [m, Math.round((n / all) * 10_000) / 10_000]));
mkdirSync('data/sim-quality', { recursive: true });
const source = `RouteLLM MMLU per-prompt outcomes (Apache-2.0; prompts from MMLU, MIT): ${prompts.length} of ${all} uncontaminated prompts (${excluded} contaminated excluded); see SOURCE.md`;
writeFileSync('data/sim-quality/mmlu-gpt4-mixtral.json', JSON.stringify({ source, models, prompts }, null, 1) + '\n');
console.log(`wrote ${prompts.length} prompts; defaults ${JSON.stringify(models)}; excluded ${excluded} contaminated`);
