/**
 * Online estimate of the probability that a prefix segment is seen again within 5 minutes and within 1 hour, per
 * feature bucket, from past sightings only (no future information).
 *
 * It is a Kaplan–Meier estimate over the gap to the next sighting, in bins (1, 2, 3, 4, 5, 10, 20, 30, 45, 60 min):
 * for each bin, the hazard is (sightings whose next sighting fell in the bin) / (sightings that entered the bin), and
 * p(T) = 1 − Π over the bins up to T of (1 − hazard). A reuse is counted the moment it happens (its gap is known
 * then); a sighting that survives a bin is counted when the bin's end passes; and a sighting still inside a bin, not
 * yet reused, counts as half a sighting at risk there (the actuarial correction for censoring). Counting reuses at
 * once but misses only when the window closes, without that correction, sees nearly only reuses at a cold start and
 * over-writes (measured 1.12× the no-cache bill on the first 600 requests of Mooncake's synthetic trace); counting
 * reuses only when the bin closes is unbiased but learns nothing for a minute, so a prefix sent ten times a second by
 * a new deployment would not be cached in its first minute (measured: no write at all in the 10-second steps of
 * `costgate demo`). Each bin's hazard starts from a prior (worth `priorWeight` sightings).
 */

const MIN = 60_000;
export const BIN_EDGES_MS = [1, 2, 3, 4, 5, 10, 20, 30, 45, 60].map((m) => m * MIN);

interface Sighting {
  t: number;
  bucket: string;
  /** Bin of the gap to the next sighting of the same segment, or -1 (not seen again yet, or after 60 min). */
  next: number;
  /** Bin it is at risk in now, not yet reused (counted as pending there), or -1. */
  at: number;
}

interface BinCounts {
  events: number[];
  survived: number[];
  /** Sightings inside the bin now, not yet reused. */
  pending: number[];
  /** Sightings at least an hour old. */
  hours: number;
}

export interface ReuseEstimatorOptions {
  /** Prior probabilities of a reuse within 5 min and within 1 h. */
  prior5m: number;
  prior1h: number;
  priorWeight: number;
  maxKeys: number;
}

export class ReuseEstimator {
  private readonly last = new Map<string, Sighting>();
  /** One queue per bin edge: sightings in time order, counted for bin k when t + edge_k has passed. */
  private readonly queues: Sighting[][] = BIN_EDGES_MS.map(() => []);
  private readonly heads: number[] = BIN_EDGES_MS.map(() => 0);
  private readonly counts = new Map<string, BinCounts>();
  private readonly priorHazard: number[];

  constructor(private readonly o: ReuseEstimatorOptions) {
    // Spread the prior evenly over the bins: five bins make up p5, the other five the rest of p60.
    const h5 = 1 - Math.pow(1 - o.prior5m, 1 / 5);
    const h60 = 1 - Math.pow((1 - o.prior1h) / (1 - o.prior5m), 1 / 5);
    this.priorHazard = BIN_EDGES_MS.map((e) => (e <= 5 * MIN ? h5 : h60));
  }

  private binOf(gap: number): number {
    for (let k = 0; k < BIN_EDGES_MS.length; k++) if (gap <= BIN_EDGES_MS[k]!) return k;
    return -1;
  }

  /** Counts every sighting whose bin has closed by `now`. */
  tick(now: number): void {
    for (let k = 0; k < BIN_EDGES_MS.length; k++) {
      const q = this.queues[k]!;
      let h = this.heads[k]!;
      while (h < q.length && q[h]!.t + BIN_EDGES_MS[k]! < now) {
        const s = q[h++]!;
        const c = this.countsOf(s.bucket);
        if (k === BIN_EDGES_MS.length - 1) c.hours++;
        // Reused in this bin or an earlier one: counted when it happened; no longer at risk.
        if (s.next >= 0 && s.next <= k) continue;
        c.survived[k]!++;
        if (s.at === k) {
          c.pending[k]!--;
          s.at = k + 1 < BIN_EDGES_MS.length ? k + 1 : -1;
          if (s.at >= 0) c.pending[s.at]!++;
        }
      }
      if (h > 4096 && h * 2 > q.length) {
        this.queues[k] = q.slice(h);
        h = 0;
      }
      this.heads[k] = h;
    }
  }

  private countsOf(bucket: string): BinCounts {
    let c = this.counts.get(bucket);
    if (!c) this.counts.set(bucket, (c = { events: BIN_EDGES_MS.map(() => 0), survived: BIN_EDGES_MS.map(() => 0), pending: BIN_EDGES_MS.map(() => 0), hours: 0 }));
    return c;
  }

  /** A sighting leaves the risk set (reused, or dropped from memory). */
  private unpend(s: Sighting): void {
    if (s.at < 0) return;
    this.countsOf(s.bucket).pending[s.at]!--;
    s.at = -1;
  }

  /** Segment `key` (features `bucket`) seen at `now`. */
  sight(key: string, bucket: string, now: number): void {
    const prev = this.last.get(key);
    if (prev && prev.next < 0) {
      prev.next = this.binOf(now - prev.t);
      if (prev.next >= 0) {
        this.countsOf(prev.bucket).events[prev.next]!++;
        this.unpend(prev);
      }
    }
    const s: Sighting = { t: now, bucket, next: -1, at: 0 };
    this.countsOf(bucket).pending[0]!++;
    if (!prev && this.last.size >= this.o.maxKeys) this.last.delete(this.last.keys().next().value!);
    this.last.set(key, s);
    for (let k = 0; k < this.queues.length; k++) {
      const q = this.queues[k]!;
      q.push(s);
      // Bounded memory: past 2·maxKeys queued sightings the oldest maxKeys are dropped (those not yet counted: censored).
      if (q.length > 2 * this.o.maxKeys) {
        for (const d of q.slice(this.heads[k]!, this.o.maxKeys)) if (d.at === k) this.unpend(d);
        q.splice(0, this.o.maxKeys);
        this.heads[k] = Math.max(0, this.heads[k]! - this.o.maxKeys);
      }
    }
  }

  /** p(reuse within 5 min) and p(reuse within 1 h) of a bucket. */
  probabilities(bucket: string): { p5: number; p60: number } {
    const c = this.counts.get(bucket);
    const w = this.o.priorWeight;
    let survive = 1;
    let p5 = 0;
    for (let k = 0; k < BIN_EDGES_MS.length; k++) {
      const e = c?.events[k] ?? 0;
      const n = e + (c?.survived[k] ?? 0) + 0.5 * (c?.pending[k] ?? 0);
      survive *= 1 - (e + w * this.priorHazard[k]!) / (n + w);
      if (BIN_EDGES_MS[k] === 5 * MIN) p5 = 1 - survive;
    }
    return { p5, p60: 1 - survive };
  }

  /** Sightings counted in the first bin. */
  resolved(bucket: string): number {
    const c = this.counts.get(bucket);
    return c ? c.events[0]! + c.survived[0]! : 0;
  }

  /** Sightings at least an hour old (their 1 h outcome is known). */
  hourKnown(bucket: string): number {
    return this.counts.get(bucket)?.hours ?? 0;
  }
}
