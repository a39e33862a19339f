/**
 * The `auto` tier classifier: simple / medium / complex from cheap lexical signals (length, code, maths, reasoning
 * and constraint vocabulary, conversation depth, tools), plus a task guess for the task table. No model, no upstream
 * call: a handful of regular expressions over the user text (p50 is a few microseconds; see README for the measure).
 */
import type { RouteInput } from './signals.js';

export type Tier = 'simple' | 'medium' | 'complex';
export const TIERS: Tier[] = ['simple', 'medium', 'complex'];

const CODE = /```|\b(?:code|function|implement|program|python|javascript|typescript|java|c\+\+|rust|sql|regex|algorithm|debug|bug|compile|api|class|recursion|big-o|complexity)\b/gi;
const MATH = /\b(?:solve|equation|integral|derivative|probability|prove|proof|calculate|compute|theorem|matrix|prime|polynomial|sqrt|log|factorial|geometry|triangle|area|volume)\b|\d+\s*[-+*/^=<>]\s*\d+|[∫√π∑]/gi;
const REASON = /\b(?:step[- ]by[- ]step|why|reason(?:ing)?|analy[sz]e|compare|contrast|trade-?offs?|evaluate|critique|puzzle|riddle|logic(?:al)?|deduce|infer|implications?|hypothes[ie]s|strategy|design|optimi[sz]e|justify)\b/gi;
const CONSTRAINT = /\b(?:must|exactly|at least|at most|no more than|without using|only use|each|every|ensure|constraint|format)\b/gi;
const SIMPLE = /^(?:hi|hello|hey|thanks|thank you|ok|yes|no)\b|\b(?:translate|define|definition of|synonym|what time|capital of|spell)\b/i;
const EXTRACT = /\b(?:extract|parse|list all|identify the|from the (?:text|following|passage))\b/i;
const WRITE = /\b(?:write|compose|draft|story|poem|essay|blog|email|letter|rewrite|slogan)\b/i;
const ROLE = /\b(?:pretend|act as|role-?play|imagine you are|you are a)\b/i;

function count(re: RegExp, s: string): number {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(s) !== null) n++;
  return n;
}

export interface TierResult {
  tier: Tier;
  /** The continuous score the tier is cut from (higher = harder). */
  score: number;
  task: 'code' | 'math' | 'reasoning' | 'extraction' | 'writing' | 'roleplay' | 'chat';
}

export function classify(x: RouteInput): TierResult {
  // Long histories: the classifier reads the last 4,000 characters (the question at hand) plus the depth signal.
  const t = x.userText.length > 4000 ? x.userText.slice(-4000) : x.userText;
  const code = count(CODE, t);
  const math = count(MATH, t);
  const reason = count(REASON, t);
  const cons = count(CONSTRAINT, t);
  let score = Math.log2(1 + x.tokens) / 4 + Math.min(code, 4) * 0.6 + Math.min(math, 4) * 0.6 + Math.min(reason, 4) * 0.45 + Math.min(cons, 4) * 0.2;
  score += Math.min(x.depth - 1, 4) * 0.2 + (x.tools ? 0.5 : 0);
  if (SIMPLE.test(t) && x.tokens < 60) score -= 1;
  const task = code >= 2 ? 'code' : math >= 2 ? 'math' : reason >= 2 ? 'reasoning' : EXTRACT.test(t) ? 'extraction' : ROLE.test(t) ? 'roleplay' : WRITE.test(t) ? 'writing' : code ? 'code' : math ? 'math' : 'chat';
  const tier: Tier = score < 1.6 ? 'simple' : score < 2.8 ? 'medium' : 'complex';
  return { tier, score, task };
}

/** `auto:cheap` shifts a tier down, `auto:quality` up; `auto` and `auto:balanced` keep it. */
export function shiftTier(t: Tier, mode: 'cheap' | 'balanced' | 'quality'): Tier {
  const i = TIERS.indexOf(t) + (mode === 'cheap' ? -1 : mode === 'quality' ? 1 : 0);
  return TIERS[Math.max(0, Math.min(2, i))]!;
}
