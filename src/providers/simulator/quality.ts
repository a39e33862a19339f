/**
 * Answer quality from data: whether the simulated model answers a prompt correctly. A prompt the quality table lists
 * (by the request's prompt id, or by the prompt's hash) is right or wrong exactly as the data says for that model;
 * any other prompt is right with the model's default probability, drawn from a hash of seed, model and prompt so the
 * same request always gets the same verdict. Multiple-choice prompts are answered with an option letter.
 *
 * @example
 * const table = loadQualityTable({ file: 'data/sim-quality/mmlu-gpt4-mixtral.json' });
 * judge(table, findSimModel('gpt-4-1106-preview')!, prompt, undefined, 1); // { correct: true, source: 'table', ... }
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { findSimModel, type SimModel } from './catalog.js';
import { hashSeed } from './content.js';
import { QualityTableSchema, type QualityTable as TableData, type SimulatorQuality } from '../../config/schema.js';

interface Outcome {
  answer?: string;
  /** Canonical model id → correct. */
  correct: Map<string, boolean>;
}

export interface QualityTable {
  /** Canonical model id → probability of a correct answer off the table. */
  defaults: Map<string, number>;
  byId: Map<string, Outcome>;
  byHash: Map<string, Outcome>;
}

export interface Verdict {
  correct: boolean;
  /** `table`: the data decided; `default`: the model's default probability did. */
  source: 'table' | 'default';
  /** Multiple-choice prompts: the option letter to answer with. */
  letter?: string;
}

/** The key a table's `hash` field matches: 16 hex digits of sha256 of the prompt, CRLF → LF and trimmed. */
export function promptHash(prompt: string): string {
  return createHash('sha256').update(prompt.replace(/\r\n/g, '\n').trim()).digest('hex').slice(0, 16);
}

/** Table model names may be aliases or dated names; verdicts are looked up by the catalog id. */
const canonical = (model: string) => findSimModel(model)?.id ?? model;

function addTable(t: QualityTable, data: TableData, where: string): void {
  for (const [m, p] of Object.entries(data.models)) t.defaults.set(canonical(m), p);
  data.prompts.forEach((r, i) => {
    const o: Outcome = { correct: new Map(Object.entries(r.correct).map(([m, c]) => [canonical(m), c])) };
    if (r.answer !== undefined) o.answer = r.answer;
    const h = r.prompt !== undefined ? promptHash(r.prompt) : r.hash;
    if (r.prompt !== undefined && r.hash !== undefined && r.hash !== h) throw new Error(`${where}: prompts.${i}.hash does not match its prompt (expected ${h})`);
    if (h !== undefined) t.byHash.set(h, o);
    if (r.id !== undefined) t.byId.set(r.id, o);
  });
}

/** Read `quality.file` (relative to the working directory) and merge the inline entries over it. */
export function loadQualityTable(q: SimulatorQuality): QualityTable {
  const t: QualityTable = { defaults: new Map(), byId: new Map(), byHash: new Map() };
  if (q.file !== undefined) {
    const path = resolve(q.file);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`simulator quality table ${path}: ${(e as Error).message}`);
    }
    const parsed = QualityTableSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`simulator quality table ${path}: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    addTable(t, parsed.data, path);
  }
  addTable(t, { models: q.models, prompts: q.prompts }, 'simulator.quality');
  return t;
}

/** The option letters of a multiple-choice prompt (`A. …` lines, ending in `Answer:`), else undefined. */
export function choiceLetters(prompt: string): string[] | undefined {
  if (!/Answer:\s*$/.test(prompt)) return undefined;
  const letters = [...prompt.matchAll(/^([A-Z])[.)] /gm)].map((m) => m[1]!);
  // Options run A, B, C…; earlier lines of a 5-shot prompt repeat them, so keep the last run.
  const start = letters.lastIndexOf('A');
  const run = start < 0 ? [] : letters.slice(start);
  return run.length >= 2 && run.every((l, i) => l.charCodeAt(0) === 65 + i) ? run : undefined;
}

/** Right or wrong for this model on this prompt, and the letter to answer when it is multiple choice. */
export function judge(t: QualityTable, model: SimModel, prompt: string, promptId: string | undefined, seed: number): Verdict {
  const hash = promptHash(prompt);
  const row = (promptId !== undefined ? t.byId.get(promptId) : undefined) ?? t.byHash.get(hash);
  const known = row?.correct.get(model.id);
  const p = t.defaults.get(model.id) ?? model.quality;
  const correct = known ?? hashSeed('quality', String(seed), model.id, hash) / 2 ** 32 < p;
  const verdict: Verdict = { correct, source: known === undefined ? 'default' : 'table' };
  const letters = choiceLetters(prompt);
  if (letters) {
    const pick = hashSeed('letter', String(seed), model.id, hash);
    const answer = row?.answer !== undefined && letters.includes(row.answer) ? row.answer : undefined;
    if (answer === undefined) verdict.letter = letters[pick % letters.length];
    else if (correct) verdict.letter = answer;
    else {
      const wrong = letters.filter((l) => l !== answer);
      verdict.letter = wrong[pick % wrong.length];
    }
  }
  return verdict;
}

/** Response headers that make the verdict observable to a scorer. */
export function verdictHeaders(v: Verdict | undefined): Record<string, string> {
  return v ? { 'x-sim-correct': String(v.correct), 'x-sim-quality-source': v.source } : {};
}
