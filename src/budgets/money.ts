/** USD amounts in config → integer nano-dollars, exactly (a decimal string or a number's shortest round-trip form). */
export function usdToNanos(v: number | string): bigint {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'x') : v.trim();
  const m = /^(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(s);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) throw new Error(`not a non-negative decimal amount: ${s}`);
  const digits = (m[1] ?? '') + (m[2] ?? '');
  const exp = Number(m[3] ?? 0) - (m[2]?.length ?? 0) + 9;
  let n = BigInt(digits || '0');
  if (exp >= 0) return n * 10n ** BigInt(exp);
  const d = 10n ** BigInt(-exp);
  if (n % d !== 0n) throw new Error(`amount ${s} is finer than a nano-dollar`);
  return n / d;
}
