/**
 * Training from labelled outcomes (JSONL, one `{"prompt", "strong", "weak", "task"?}` per line: each model's quality
 * on that prompt, e.g. 1/0 correct or a 1–10 judge score). The hash-fixed split decides which lines train (60 %),
 * which calibrate the dial's thresholds (10 %) and which are held out (30 %, never read here).
 */
import { readFileSync } from 'node:fs';
import { splitOf } from './routellm.js';
import { calibrate, parseModel, score, toFile, train, type RouterModelFile } from './model.js';

export type Label = 'strong-wins' | 'weak-fails';

export interface OutcomeLine {
  prompt: string;
  strong: number;
  weak: number;
  task?: string;
}

export function readOutcomes(file: string): OutcomeLine[] {
  const out: OutcomeLine[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let j: any;
      try {
        j = JSON.parse(line);
      } catch (e) {
        throw new Error(`${file}:${i + 1}: not JSON (${(e as Error).message})`);
      }
      if (typeof j.prompt !== 'string' || typeof j.strong !== 'number' || typeof j.weak !== 'number') {
        throw new Error(`${file}:${i + 1}: expected {"prompt": string, "strong": number, "weak": number, "task"?: string}`);
      }
      out.push({ prompt: j.prompt, strong: j.strong, weak: j.weak, task: typeof j.task === 'string' ? j.task : undefined });
    });
  return out;
}

/**
 * `strong-wins` (RouteLLM's label): 1 when the strong model did strictly better. `weak-fails`: 1 when the weak
 * model's quality is below `weakPass` (a difficulty label; it transfers better to prompts unlike the training set).
 */
export function labelOf(l: OutcomeLine, label: Label, weakPass: number): number {
  return label === 'strong-wins' ? (l.strong > l.weak ? 1 : 0) : l.weak < weakPass ? 1 : 0;
}

export interface TrainRun {
  model: RouterModelFile;
  counts: { train: number; calibration: number; heldout: number };
}

export function trainFromOutcomes(lines: OutcomeLine[], o: { label: Label; buckets: number; epochs: number; weakPass: number; useTask: boolean; source: string }): TrainRun {
  const by = { train: [] as OutcomeLine[], calibration: [] as OutcomeLine[], heldout: 0 };
  for (const l of lines) {
    const s = splitOf(l.prompt);
    if (s === 'heldout') by.heldout++;
    else by[s].push(l);
  }
  if (by.train.length < 10) throw new Error(`only ${by.train.length} training lines after the split (need ≥ 10)`);
  const trained = train(
    by.train.map((l) => ({ prompt: l.prompt, task: o.useTask ? l.task : undefined, y: labelOf(l, o.label, o.weakPass) })),
    { buckets: o.buckets, epochs: o.epochs, label: o.label },
  );
  // Calibrate on the scores the shipped (quantised) weights give, not the float ones.
  const q = parseModel(toFile(trained), 'trained model');
  const cal = by.calibration.length ? by.calibration : by.train;
  const model = calibrate(q, cal.map((l) => score(q, l.prompt, o.useTask ? l.task : undefined)));
  model.meta = { ...model.meta, source: o.source, useTask: o.useTask, weakPass: o.weakPass, split: 'sha256(prompt) % 100: <60 train, <70 calibration, else held out', calibration: cal.length, heldoutNotUsed: by.heldout };
  return { model: toFile(model), counts: { train: by.train.length, calibration: by.calibration.length, heldout: by.heldout } };
}
