// Precision guards: a semantic hit is rejected when the two texts differ in anything that changes the answer,
// whatever their embedding similarity says.

const NEGATIONS = new Set(['not', 'no', 'never', 'none', 'nobody', 'nothing', 'neither', 'nor', 'without', 'cannot', "can't", "don't", "doesn't", "didn't", "won't", "isn't", "aren't", "wasn't", "weren't", "shouldn't", "wouldn't", "couldn't", "haven't", "hasn't"]);
const POLARITY: Record<string, string> = { on: 'on', off: 'off', enable: 'on', disable: 'off', start: 'on', stop: 'off', open: 'open', close: 'close', up: 'up', down: 'down', increase: 'up', decrease: 'down', add: 'add', remove: 'remove', before: 'before', after: 'after', min: 'min', max: 'max', minimum: 'min', maximum: 'max', best: 'best', worst: 'worst', most: 'most', least: 'least', true: 'true', false: 'false', yes: 'yes' };
const QTYPES: Array<[RegExp, string]> = [[/\bhow (many|much)\b/, 'quantity'], [/\bhow (long|old|far)\b/, 'measure'], [/\bwho\b/, 'who'], [/\bwhen\b/, 'when'], [/\bwhere\b/, 'where'], [/\bwhy\b/, 'why'], [/\bwhich\b/, 'which'], [/\bhow\b/, 'how'], [/\bwhat\b/, 'what']];
const MONTHS = /\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|yesterday)\b/gi;
const NUMBER_WORDS = /\b(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|first|second|third|half|double|twice)\b/gi;
const STOP = new Set('a an the of to in on for and or is are was were be been do does did i you we it this that these those my your me with at by from as can could would should will please tell give explain about what how who when where why which there their its'.split(' '));

function words(s: string): string[] { return s.toLowerCase().replace(/’/g, "'").match(/[a-z0-9][a-z0-9'.-]*/g)?.map((w) => w.replace(/[.'-]+$/, '')) ?? []; }
const set = (xs: Iterable<string>) => [...new Set(xs)].sort().join('|');

export interface GuardResult { ok: boolean; reason?: 'numbers' | 'negation' | 'polarity' | 'entities' | 'dates' | 'question-type' | 'content-words' }

/** Facts of a text the guards compare. */
export function features(text: string) {
  const w = words(text);
  const lower = text.toLowerCase();
  const numbers = set([...(text.match(/\d+(?:[.,]\d+)*/g) ?? []), ...(lower.match(NUMBER_WORDS) ?? [])]);
  const negation = w.filter((x) => NEGATIONS.has(x) || x.endsWith("n't")).length % 2;
  const polarity = set(w.filter((x) => x in POLARITY).map((x) => POLARITY[x]!));
  // Named entities: capitalised words not at a sentence start, and all-caps tokens.
  const ents: string[] = [];
  for (const m of text.matchAll(/(^|[.!?]\s+|\s)([A-Z][a-zA-Z0-9]+|[A-Z]{2,}\w*)/g)) {
    const sentenceStart = m.index === 0 || /[.!?]\s+$/.test(m[1] ?? '');
    if (!sentenceStart || /^[A-Z]{2,}/.test(m[2]!)) ents.push(m[2]!.toLowerCase());
  }
  const entities = set(ents.filter((e) => !STOP.has(e)));
  const dates = set(lower.match(MONTHS) ?? []);
  const qtype = QTYPES.find(([re]) => re.test(lower))?.[1] ?? '';
  const content = new Set(w.filter((x) => !STOP.has(x) && !NEGATIONS.has(x) && x.length > 2).map((x) => x.replace(/(ies|es|s|ing|ed)$/, '')));
  return { numbers, negation, polarity, entities, dates, qtype, content };
}

/** Whether `a` may be answered by the cached answer for `b`. `maxContentDiff` = share of key content words allowed to differ. */
export function guard(a: string, b: string, maxContentDiff = 0.34): GuardResult {
  const fa = features(a), fb = features(b);
  if (fa.numbers !== fb.numbers) return { ok: false, reason: 'numbers' };
  if (fa.negation !== fb.negation) return { ok: false, reason: 'negation' };
  if (fa.polarity !== fb.polarity) return { ok: false, reason: 'polarity' };
  if (fa.entities !== fb.entities) return { ok: false, reason: 'entities' };
  if (fa.dates !== fb.dates) return { ok: false, reason: 'dates' };
  if (fa.qtype !== fb.qtype) return { ok: false, reason: 'question-type' };
  const union = new Set([...fa.content, ...fb.content]);
  let diff = 0;
  for (const x of union) if (!(fa.content.has(x) && fb.content.has(x))) diff++;
  if (union.size > 0 && diff / union.size > maxContentDiff) return { ok: false, reason: 'content-words' };
  return { ok: true };
}
