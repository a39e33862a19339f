/**
 * RouteLLM's routing metrics over a set of prompts with known weak/strong quality: route the top-k prompts by router
 * score to the strong model, for every k. PGR (performance gap recovered) = (q − q_weak) / (q_strong − q_weak);
 * APGR = its area over the strong-call share 0..1; CPT(p) = the smallest strong-call share reaching PGR ≥ p.
 */
export interface Outcome {
  weak: number;
  strong: number;
}

export interface CurvePoint {
  share: number;
  quality: number;
}

/** Mean quality when the prompts with the highest scores go strong, for k = 0..n. Ties broken by input order. */
export function curve(items: Outcome[], scores: number[]): CurvePoint[] {
  const n = items.length;
  const order = items.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  let q = items.reduce((s, it) => s + it.weak, 0);
  const pts: CurvePoint[] = [{ share: 0, quality: q / n }];
  for (let k = 0; k < n; k++) {
    const it = items[order[k]!]!;
    q += it.strong - it.weak;
    pts.push({ share: (k + 1) / n, quality: q / n });
  }
  return pts;
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

export function summary(items: Outcome[], pts: CurvePoint[]) {
  const qw = mean(items.map((i) => i.weak));
  const qs = mean(items.map((i) => i.strong));
  const pgr = (q: number) => (q - qw) / (qs - qw);
  let area = 0;
  for (let i = 1; i < pts.length; i++) area += ((pgr(pts[i]!.quality) + pgr(pts[i - 1]!.quality)) / 2) * (pts[i]!.share - pts[i - 1]!.share);
  const cpt = (p: number) => pts.find((x) => pgr(x.quality) >= p)?.share ?? 1;
  /** Smallest strong share whose quality reaches `q`. */
  const shareFor = (q: number) => pts.find((x) => x.quality >= q - 1e-12)?.share ?? Number.NaN;
  return { weak: qw, strong: qs, apgr: area, cpt50: cpt(0.5), cpt80: cpt(0.8), shareFor, qualityAt: (s: number) => pts[Math.round(s * (pts.length - 1))]!.quality };
}
