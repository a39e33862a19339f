/**
 * Prefix-stability lint: content in the stable prefix (tools + system prompt) that changes from call to call and so
 * silently breaks prompt caching — every call then writes (or misses) the whole prefix. Findings are recorded per call
 * (`lint:<kind>` in the ledger's `optimize` column) and priced by `costgate report prompt-cache`.
 */
import type { StablePrefix } from './prefix.js';

export type LintKind = 'timestamp' | 'date' | 'uuid' | 'request-id' | 'epoch' | 'user-name' | 'tool-order';

export interface LintFinding {
  kind: LintKind;
  /** The offending text (truncated), or the two tool orders. */
  sample: string;
}

const RULES: { kind: LintKind; re: RegExp }[] = [
  { kind: 'timestamp', re: /\b\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?|\b\d{1,2}:\d{2}:\d{2}\b|\b\d{1,2}:\d{2}\s?(?:[AaPp][Mm])\b/ },
  { kind: 'date', re: /\b\d{4}-\d{2}-\d{2}\b|\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}\b|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},\s+\d{4}\b|\b\d{1,2}\/\d{1,2}\/\d{2,4}\b/ },
  { kind: 'uuid', re: /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/i },
  { kind: 'request-id', re: /\b(?:request|req|trace|session|correlation|run)[ _-]?id\b["']?\s*[:=]?\s*["']?[A-Za-z0-9_-]{6,}|\b[0-9a-f]{24,}\b/i },
  { kind: 'epoch', re: /\b1[5-9]\d{8}(?:\d{3})?\b/ },
];

/** A user's name near the start of the system prompt (per-user prefixes never share a cache entry). */
const USER_NAME = /\b(?:user(?:'s)?\s*(?:name)?|customer(?:\s*name)?|you are (?:talking|speaking|chatting) (?:to|with)|the user is|name)\s*(?:is|:|=)?\s*["']?([A-Z][a-z]+(?:\s[A-Z][a-z]+)?)/;
const EARLY_CHARS = 400;

export class PrefixLinter {
  /** feature → sorted tool set → the order last seen. Bounded. */
  private readonly toolOrders = new Map<string, string>();

  check(feature: string, p: StablePrefix): LintFinding[] {
    const out: LintFinding[] = [];
    for (const r of RULES) {
      const m = r.re.exec(p.system);
      if (m) out.push({ kind: r.kind, sample: m[0].slice(0, 80) });
    }
    const early = p.system.slice(0, EARLY_CHARS);
    const n = USER_NAME.exec(early);
    if (n) out.push({ kind: 'user-name', sample: n[0].slice(0, 80) });
    if (p.toolNames.length > 1) {
      const set = `${feature}\u0000${[...p.toolNames].sort().join(',')}`;
      const order = p.toolNames.join(',');
      const prev = this.toolOrders.get(set);
      if (prev !== undefined && prev !== order) out.push({ kind: 'tool-order', sample: `${prev} → ${order}`.slice(0, 160) });
      if (prev === undefined && this.toolOrders.size >= 10_000) this.toolOrders.delete(this.toolOrders.keys().next().value!);
      this.toolOrders.set(set, order);
    }
    return out;
  }
}
