/**
 * Redaction of stored request/response bodies (`ledger.storeBodies`): before a body is queued for the ledger, every
 * string in it is scanned and each match becomes `[REDACTED:<kind>]`. Built in, in this order:
 * - `secret`: the exact values of secrets costgate holds (provider keys, admin/viewer secrets), wherever they appear;
 * - `bearer`: `Bearer <token>` (8+ token characters);
 * - `cg-key`: costgate virtual keys (`cg-key_<16 hex>-<secret>`);
 * - `key`: provider-style keys: `sk-…`/`pk-…`/`rk-…` (16+ characters after the dash, a digit among them, so
 *   `sk-ant-…` and `sk-proj-…` too), Google `AIza…` (35 after), AWS `AKIA…` (16 after);
 * - `email`: `local@domain.tld`;
 * - `card`: 13–19 digits (single spaces or dashes between groups allowed) that pass the Luhn check;
 * - `phone`: `+CC …` international numbers, and 3-group numbers with separators (`555-123-4567`, `(555) 123 4567`);
 * then the configured patterns (`ledger.storeBodies.redact`). Object keys and non-string values are kept.
 */

export interface RedactPattern {
  pattern: string;
  kind: string;
  flags?: string;
}

interface Rule {
  kind: string;
  re: RegExp;
  /** Extra check on a match (the Luhn test for cards); a match it rejects is kept. */
  accept?: (m: string) => boolean;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function luhn(m: string): boolean {
  const d = m.replace(/\D/g, '');
  if (d.length < 13 || d.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let x = d.charCodeAt(d.length - 1 - i) - 48;
    if (i % 2 === 1) {
      x *= 2;
      if (x > 9) x -= 9;
    }
    sum += x;
  }
  return sum % 10 === 0;
}

const BUILT_IN: Rule[] = [
  { kind: 'bearer', re: /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi },
  { kind: 'cg-key', re: /\bcg-key_[0-9a-f]{16}-[A-Za-z0-9_-]{16,}/g },
  { kind: 'key', re: /\b(?:sk|pk|rk)-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{16,}|\bAIza[0-9A-Za-z_-]{35}|\bAKIA[0-9A-Z]{16}\b/g },
  { kind: 'email', re: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  { kind: 'card', re: /(?<![\d+-])\d(?:[ -]?\d){12,18}(?![\d-])/g, accept: luhn },
  {
    kind: 'phone',
    re: /(?<![\w+.-])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}[ .-]?\d{3,4}(?:[ .-]?\d{2,4})?|(?:\(\d{3}\)[ .-]?|\d{3}[.-])\d{3}[ .-]\d{4})(?![\w-])/g,
  },
];

export class Redactor {
  private readonly rules: Rule[];

  /** `secrets`: exact values to remove (shorter than 8 characters are ignored: they would match ordinary text). */
  constructor(custom: RedactPattern[] = [], secrets: (string | undefined)[] = []) {
    const lit = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 8))].sort((a, b) => b.length - a.length);
    this.rules = [
      ...(lit.length ? [{ kind: 'secret', re: new RegExp(lit.map(escape).join('|'), 'g') }] : []),
      ...BUILT_IN,
      ...custom.map((c) => ({ kind: c.kind, re: new RegExp(c.pattern, `g${(c.flags ?? '').replace(/g/g, '')}`) })),
    ];
  }

  /** One string; `counts` (kind → matches) is added to. */
  text(s: string, counts?: Map<string, number>): string {
    let out = s;
    for (const r of this.rules) {
      r.re.lastIndex = 0;
      if (!r.re.test(out)) continue;
      r.re.lastIndex = 0;
      out = out.replace(r.re, (m) => {
        if (m === '' || (r.accept && !r.accept(m))) return m;
        counts?.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
        return `[REDACTED:${r.kind}]`;
      });
    }
    return out;
  }

  /** A parsed JSON value, every string in it (object keys kept); returns a copy. */
  json(v: unknown, counts?: Map<string, number>): unknown {
    if (typeof v === 'string') return this.text(v, counts);
    if (Array.isArray(v)) return v.map((x) => this.json(x, counts));
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      // defineProperty, not `o[k] =`: a client's "__proto__" key (JSON.parse makes it an own property) must stay a
      // key of the stored copy, not become its prototype.
      for (const [k, x] of Object.entries(v)) Object.defineProperty(o, k, { value: this.json(x, counts), enumerable: true, writable: true, configurable: true });
      return o;
    }
    return v;
  }
}
