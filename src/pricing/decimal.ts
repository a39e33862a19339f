/**
 * Exact decimal rates. Catalog prices arrive as JS numbers (0.15, 3.75, 1.25e-7); their shortest round-trip
 * string is the decimal the catalog author wrote, so rates are parsed from that string into integers scaled by
 * 10^RATE_DECIMALS and all cost arithmetic is BigInt: no float ever touches money.
 */

/** Rates are µ$ per token (= $ per million tokens) scaled by 10^12. */
export const RATE_DECIMALS = 12;
const SCALE = 10n ** BigInt(RATE_DECIMALS);

/** A decimal string or number → integer scaled by 10^RATE_DECIMALS (exact; throws if finer than 10^-12). */
export function toScaled(v: number | string, shift = 0): bigint {
  const s = typeof v === 'number' ? numberToDecimal(v) : v.trim();
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`not a decimal number: ${s}`);
  const digits = (m[2] ?? '') + (m[3] ?? '');
  const exp = Number(m[4] ?? 0) - (m[3]?.length ?? 0) + RATE_DECIMALS + shift;
  let n = BigInt(digits || '0');
  if (exp >= 0) n *= 10n ** BigInt(exp);
  else {
    const d = 10n ** BigInt(-exp);
    if (n % d !== 0n) throw new Error(`rate ${s} has more than ${RATE_DECIMALS} decimals`);
    n /= d;
  }
  return m[1] === '-' ? -n : n;
}

function numberToDecimal(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`not a finite rate: ${v}`);
  return String(v);
}

/**
 * Round a value scaled by 10^RATE_DECIMALS to an integer, half to even (banker's rounding: no drift in sums).
 * `keep` decimals of the unit are kept: `roundScaled(x, 3)` of a µ$ amount gives integer nano-dollars.
 */
const POW10: bigint[] = Array.from({ length: RATE_DECIMALS + 1 }, (_, i) => 10n ** BigInt(i));

export function roundScaled(n: bigint, keep = 0): bigint {
  const div = POW10[RATE_DECIMALS - keep] ?? 10n ** BigInt(RATE_DECIMALS - keep);
  const neg = n < 0n;
  const a = neg ? -n : n;
  let q = a / div;
  const r = a % div;
  const twice = r * 2n;
  if (twice > div || (twice === div && q % 2n === 1n)) q += 1n;
  return neg ? -q : q;
}

/** Scaled rate → a plain decimal string (for display and reports). */
export function scaledToString(n: bigint, decimals = RATE_DECIMALS): string {
  const neg = n < 0n;
  const a = neg ? -n : n;
  const int = a / SCALE;
  let frac = (a % SCALE).toString().padStart(RATE_DECIMALS, '0').slice(0, decimals).replace(/0+$/, '');
  return `${neg ? '-' : ''}${int}${frac ? '.' + frac : ''}`;
}

/** Integer nano-dollars → "$"-less decimal dollars string, exact (e.g. 1234567891 → "1.234567891"). */
export function nanosToUsd(nanos: number | bigint): string {
  if (typeof nanos === 'number' && Number.isSafeInteger(nanos)) {
    // Every request's cost headers: plain integer arithmetic, exact below 2^53 (% and the division of a multiple are exact).
    const a = Math.abs(nanos);
    const frac = a % 1_000_000_000;
    return `${nanos < 0 ? '-' : ''}${(a - frac) / 1_000_000_000}.${String(frac).padStart(9, '0')}`;
  }
  const n = BigInt(nanos);
  const neg = n < 0n;
  const a = neg ? -n : n;
  const frac = (a % 1_000_000_000n).toString().padStart(9, '0');
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${frac}`;
}
