/**
 * Deferred-job webhooks: an HMAC-SHA256-signed POST when a job ends. Minimal and self-contained on purpose (a shared
 * `src/util/safe-url.ts` is being written elsewhere): the URL must be http(s), and every address its host resolves to
 * must be public unless private/loopback targets are allowed (tests, same-host consumers) — checked at send time, on
 * the resolved address, so a DNS name cannot smuggle in 127.0.0.1 or 169.254.169.254.
 *
 * Signature header: `x-costgate-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export function signWebhook(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** Verifies a signature header (what a receiver does); `toleranceSec` bounds replay. */
export function verifyWebhook(secret: string, body: string, header: string, toleranceSec = 300, now = Date.now()): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(now / 1000 - t) > toleranceSec) return false;
  const want = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const got = Buffer.from(m[2]!);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Syntax check at accept time: an absolute http(s) URL without credentials. */
export function webhookUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'only http and https URLs';
  if (u.username || u.password) return 'no credentials in the URL';
  return undefined;
}

function v4Private(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 198 && (b === 18 || b === 19)) || a >= 224;
}

/** Loopback, private, link-local, CGNAT, multicast, unspecified (v4, v6 and v4-mapped v6). */
export function isPrivateAddress(ip: string): boolean {
  if (isIP(ip) === 4) return v4Private(ip);
  const s = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (mapped) return v4Private(mapped[1]!);
  return s === '::' || s === '::1' || s.startsWith('fc') || s.startsWith('fd') || /^fe[89ab]/.test(s) || s.startsWith('ff');
}

/** Throws when the URL may not be called. */
export async function checkWebhookTarget(url: string, allowPrivate: boolean): Promise<void> {
  const p = webhookUrlProblem(url);
  if (p) throw new Error(`webhook URL refused: ${p}`);
  if (allowPrivate) return;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const addrs = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  for (const a of addrs) if (isPrivateAddress(a)) throw new Error(`webhook URL refused: ${host} resolves to a private address (${a})`);
}

export async function sendWebhook(url: string, payload: unknown, secret: string | undefined, allowPrivate: boolean, timeoutMs = 10_000): Promise<number> {
  await checkWebhookTarget(url, allowPrivate);
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'costgate-webhook/1' };
  if (secret) headers['x-costgate-signature'] = signWebhook(secret, body);
  // redirect: 'manual' — a redirect could point at an address the check above refused.
  const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}
