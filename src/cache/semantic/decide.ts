/**
 * The semantic hit decision: similarity AND nothing answer-changing differs. Cosine alone is not enough (USE-Lite
 * puts "turn on the lights" / "turn off the lights" at 0.92, and on real user-question pairs no cosine threshold
 * alone reaches 0.9 precision), so a candidate must also pass the guards (numbers, negation, polarity words,
 * entities, dates, question type) and may leave only a few content words unmatched, each of which raises the
 * similarity it needs. Defaults were chosen on the tuning split of `npm run eval:semantic-cache` (README).
 */
import { features, guard, type Features, type GuardReason } from './guards.js';

export interface DecisionOptions {
  /** Cosine a hit needs when every content word matches. */
  threshold: number;
  /** Content words (stemmed, stop words aside) that may appear in only one of the two texts. */
  maxUnmatched: number;
  /** Extra cosine needed per unmatched content word. */
  perUnmatched: number;
  /** Unmatched content words that are rare words (key terms: "liver" vs "kidney") allowed. */
  maxRare: number;
  /** Allow a content word of one text to stand where the other has a different one (off: only additions/removals). */
  allowSwaps: boolean;
  /** Share of content words that may differ at all (the guards' own bound). */
  maxContentDiff: number;
  /** Off: cosine only (evaluation baselines; never a default). */
  guards: boolean;
}

export const DEFAULT_DECISION: DecisionOptions = { threshold: 0.8, maxUnmatched: 4, perUnmatched: 0.03, maxRare: 0, allowSwaps: false, maxContentDiff: 0.5, guards: true };

export type DecisionReason = GuardReason | 'similarity' | 'unmatched-words' | 'key-words' | 'word-swap';

export function decide(query: string | Features, candidate: string | Features, score: number, o: DecisionOptions = DEFAULT_DECISION): { hit: boolean; reason?: DecisionReason } {
  if (score < o.threshold) return { hit: false, reason: 'similarity' };
  if (!o.guards) return { hit: true };
  const g = guard(typeof query === 'string' ? features(query) : query, typeof candidate === 'string' ? features(candidate) : candidate, o.maxContentDiff);
  if (!g.ok) return { hit: false, reason: g.reason };
  const u = g.unmatched ?? 0;
  if ((g.rare ?? 0) > o.maxRare) return { hit: false, reason: 'key-words' };
  if (g.swapped && !o.allowSwaps) return { hit: false, reason: 'word-swap' };
  if (u > o.maxUnmatched) return { hit: false, reason: 'unmatched-words' };
  if (score < o.threshold + u * o.perUnmatched) return { hit: false, reason: 'similarity' };
  return { hit: true };
}
