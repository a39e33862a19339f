/**
 * Loaders for RouteLLM's released evaluation outcomes (../shared/data/routellm-evals, see its SOURCE.md) and the
 * hash-fixed split: a prompt's split depends only on the SHA-256 of its text, so it never changes between runs and
 * the held-out part is never used for training, calibration or choosing settings.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface MmluItem {
  prompt: string;
  subject: string;
  weak: number;
  strong: number;
}

export interface MtBenchItem {
  questionId: number;
  turn: number;
  category: string;
  /** The conversation's user text up to this turn (turn 2 includes turn 1: the router sees the whole conversation). */
  prompt: string;
  weak: number;
  strong: number;
}

export type Split = 'train' | 'calibration' | 'heldout';

/** 60 % train, 10 % calibration, 30 % held out, by prompt hash. */
export function splitOf(prompt: string): Split {
  const b = createHash('sha256').update(prompt).digest().readUInt16BE(0) % 100;
  return b < 60 ? 'train' : b < 70 ? 'calibration' : 'heldout';
}

/** RFC 4180 CSV (quoted fields with "" escapes and newlines). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let f = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (q) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          f += '"';
          i++;
        } else q = false;
      } else f += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      row.push(f);
      f = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(f);
      rows.push(row);
      row = [];
      f = '';
    } else f += c;
  }
  if (f !== '' || row.length) {
    row.push(f);
    rows.push(row);
  }
  return rows;
}

function contaminated(file: string, key: 'eval_prompt' | 'train_prompt' = 'eval_prompt'): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const j = JSON.parse(line);
    out.add(String(j[key]).trim());
  }
  return out;
}

/** MMLU outcomes, without the prompts listed in contaminated_prompts.jsonl. */
export function loadMmlu(dir: string): { items: MmluItem[]; excluded: number } {
  const bad = contaminated(join(dir, 'mmlu', 'contaminated_prompts.jsonl'));
  const items: MmluItem[] = [];
  let excluded = 0;
  for (const f of readdirSync(join(dir, 'mmlu')).sort()) {
    const m = /^mmlu_(.+)\.csv$/.exec(f);
    if (!m) continue;
    const rows = parseCsv(readFileSync(join(dir, 'mmlu', f), 'utf8'));
    const head = rows[0]!;
    const wi = head.indexOf('mistralai/Mixtral-8x7B-Instruct-v0.1');
    const si = head.indexOf('gpt-4-1106-preview');
    for (const r of rows.slice(1)) {
      if (r.length < head.length) continue;
      const prompt = r[0]!;
      if (bad.has(prompt.trim())) {
        excluded++;
        continue;
      }
      items.push({ prompt, subject: m[1]!, weak: r[wi] === 'True' ? 1 : 0, strong: r[si] === 'True' ? 1 : 0 });
    }
  }
  return { items, excluded };
}

/**
 * MT-Bench: one item per (question, turn) with the GPT-4 judge's 1–10 score for each model; judge parse failures
 * (-1) and contaminated questions are left out.
 */
export function loadMtBench(dir: string): { items: MtBenchItem[]; excluded: number } {
  const bad = contaminated(join(dir, 'mt_bench', 'contaminated_prompts.jsonl'));
  const qs = new Map<number, { category: string; turns: string[] }>();
  for (const line of readFileSync(join(dir, 'mt_bench', 'question.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const j = JSON.parse(line);
    qs.set(j.question_id, { category: j.category, turns: j.turns });
  }
  const scores = new Map<string, { weak?: number; strong?: number }>();
  for (const line of readFileSync(join(dir, 'mt_bench', 'judgements.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const j = JSON.parse(line);
    const k = `${j.question_id}:${j.turn}`;
    const s = scores.get(k) ?? {};
    if (j.model === 'gpt-4-1106-preview') s.strong = j.score;
    else if (String(j.model).toLowerCase().includes('mixtral')) s.weak = j.score;
    scores.set(k, s);
  }
  const items: MtBenchItem[] = [];
  let excluded = 0;
  for (const [k, s] of scores) {
    const [qid, turn] = k.split(':').map(Number) as [number, number];
    const q = qs.get(qid);
    if (!q || s.weak === undefined || s.strong === undefined || s.weak < 0 || s.strong < 0 || bad.has(q.turns[0]!.trim())) {
      excluded++;
      continue;
    }
    items.push({ questionId: qid, turn, category: q.category, prompt: q.turns.slice(0, turn).join('\n\n'), weak: s.weak, strong: s.strong });
  }
  items.sort((a, b) => a.questionId - b.questionId || a.turn - b.turn);
  return { items, excluded };
}
