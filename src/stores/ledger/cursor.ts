/** Keyset pagination over (ts, uid), newest first: stable under concurrent inserts, unlike OFFSET. */
import { GatewayError } from '../../pipeline/errors.js';

export function encodeCursor(ts: number, uid: string): string {
  return Buffer.from(`${ts}:${uid}`).toString('base64url');
}

export function decodeCursor(c: string): { ts: number; uid: string } {
  const s = Buffer.from(c, 'base64url').toString('utf8');
  const i = s.indexOf(':');
  const ts = Number(s.slice(0, i));
  if (i <= 0 || !Number.isFinite(ts)) throw new GatewayError('invalid_value', 'invalid cursor', { param: 'cursor' });
  return { ts, uid: s.slice(i + 1) };
}

export const clampLimit = (n: number | undefined): number => Math.max(1, Math.min(1000, Math.floor(n ?? 100)));

/** Every page of a keyset-paginated listing (ledger rows, stored bodies): `fetch` gets each page's cursor in turn. */
export async function* pages<T>(fetch: (cursor: string | undefined) => Promise<{ rows: T[]; nextCursor?: string }>): AsyncGenerator<T[]> {
  let cursor: string | undefined;
  do {
    const page = await fetch(cursor);
    yield page.rows;
    cursor = page.nextCursor;
  } while (cursor);
}
