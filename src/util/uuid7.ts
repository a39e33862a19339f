/**
 * UUIDv7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then a 12-bit counter that keeps ids made in the same
 * millisecond in order, then 62 random bits. Ledger keys made this way arrive in index order, so every insert lands
 * on the right-most B-tree page instead of scattering writes (and WAL pages) across the whole index the way random
 * v4 UUIDs do.
 */
import { randomFillSync } from 'node:crypto';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const POOL = Buffer.alloc(8 * 256);
let poolAt = POOL.length;
let lastMs = -1;
let seq = 0;

function random8(): Buffer {
  if (poolAt >= POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const b = POOL.subarray(poolAt, poolAt + 8);
  poolAt += 8;
  return b;
}

/** A new UUIDv7; later calls in one process sort after earlier ones (as strings too). */
export function uuid7(now: number = Date.now()): string {
  let ms = Math.floor(now);
  if (ms > lastMs) {
    lastMs = ms;
    seq = 0;
  } else {
    // Same millisecond, or the clock stepped back: keep counting on the last timestamp so order holds.
    ms = lastMs;
    if (++seq > 0xfff) {
      lastMs = ++ms;
      seq = 0;
    }
  }
  const r = random8();
  const hi = Math.floor(ms / 0x1000000); // top 24 of the 48 bits
  const lo = ms % 0x1000000;
  const t =
    HEX[(hi >>> 16) & 0xff]! + HEX[(hi >>> 8) & 0xff]! + HEX[hi & 0xff]! + HEX[(lo >>> 16) & 0xff]! + HEX[(lo >>> 8) & 0xff]! + HEX[lo & 0xff]!;
  const v = 0x7000 | seq;
  return (
    t.slice(0, 8) + '-' + t.slice(8, 12) + '-' + HEX[v >>> 8]! + HEX[v & 0xff]! + '-' +
    HEX[0x80 | (r[0]! & 0x3f)]! + HEX[r[1]!]! + '-' +
    HEX[r[2]!]! + HEX[r[3]!]! + HEX[r[4]!]! + HEX[r[5]!]! + HEX[r[6]!]! + HEX[r[7]!]!
  );
}
