/**
 * `GET /dashboard`: the dashboard page (HTML + JS + CSS + uPlot, built into dist/dashboard by
 * scripts/build-dashboard.mjs, never from a CDN), its login, and the JSON it reads under `/v1/costgate/dashboard/*`.
 *
 * Auth: a browser cannot send a bearer header when it navigates, so the page has a login form. POST
 * /dashboard/login checks the key like the admin API does (admin or viewer) and sets an HttpOnly, SameSite=Strict
 * session cookie holding a random token; the key itself stays in the gateway's memory, and is checked again on every
 * request (a revoked key ends its sessions). A session reads only — it acts as a viewer whatever key opened it — so a
 * request forged from another site could change nothing even if a browser sent the cookie. With `auth.mode: none`
 * and no admin key (loopback only) the page is open, as the admin API is.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Gateway } from '../gateway.js';
import type { GatewayResponse } from '../pipeline/ctx.js';
import { GatewayError } from '../pipeline/errors.js';
import { adminRole, type AdminRole } from './admin-auth.js';
import { filterFrom, paramsOf } from '../observability/reports/params.js';
import { timeseries, overview, parseBucket, parseSeriesBy } from '../observability/dashboard/data.js';

export const SESSION_COOKIE = 'costgate_dashboard';
/** Sessions last 12 hours; at most this many are kept per gateway (the oldest goes first). */
export const SESSION_TTL_MS = 12 * 3_600_000;
const MAX_SESSIONS = 1000;

const sessions = new WeakMap<Gateway, Map<string, { credential: string; expires: number }>>();
const sessionsOf = (gw: Gateway) => {
  let m = sessions.get(gw);
  if (!m) sessions.set(gw, (m = new Map()));
  return m;
};

function cookie(headers: Record<string, string | undefined>, name: string): string | undefined {
  for (const part of (headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * The role of a request that carries a dashboard session cookie and no credential of its own: 'viewer' when the
 * session is live and its key still has role admin or viewer; undefined otherwise (the caller falls back to adminRole).
 */
export async function sessionRole(gw: Gateway, headers: Record<string, string | undefined>): Promise<AdminRole | undefined> {
  if (headers.authorization !== undefined || headers['x-api-key'] !== undefined) return undefined;
  // An open gateway (auth.mode none, no admin secret) needs no session: a stale cookie must not narrow it.
  if (gw.config.auth.mode === 'none' && gw.config.auth.admin === undefined) return undefined;
  const token = cookie(headers, SESSION_COOKIE);
  if (!token) return undefined;
  const m = sessionsOf(gw);
  const s = m.get(token);
  if (!s) return undefined;
  if (s.expires <= Date.now()) {
    m.delete(token);
    return undefined;
  }
  try {
    await adminRole(gw, { authorization: `Bearer ${s.credential}` });
  } catch {
    m.delete(token);
    return undefined;
  }
  return 'viewer';
}

const SECURITY = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const html = (status: number, body: string, extra: Record<string, string> = {}): GatewayResponse => ({
  status,
  headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...SECURITY, ...extra },
  body,
});

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(message?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>costgate dashboard: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/dashboard/assets/app.css"></head>
<body class="login"><form method="post" action="/dashboard/login" class="card">
<h1>costgate dashboard</h1><p>Sign in with an admin or viewer key.</p>
${message ? `<p class="error" role="alert">${esc(message)}</p>` : ''}
<label>Key <input type="password" name="key" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button></form></body></html>`;
}

/** The built assets: the page's own files and uPlot's, nothing else (no path from the URL reaches the file system). */
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'lib.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'uPlot.iife.min.js': 'text/javascript; charset=utf-8',
  'uPlot.min.css': 'text/css; charset=utf-8',
};
const ASSET_DIR = new URL('../../dashboard/', import.meta.url);
const assetCache = new Map<string, Buffer>();

async function asset(name: string): Promise<Buffer> {
  let b = assetCache.get(name);
  if (!b) {
    try {
      b = await readFile(new URL(name, ASSET_DIR));
    } catch {
      throw new GatewayError('internal_error', `dashboard asset ${name} is missing from ${ASSET_DIR.pathname} (run \`npm run build\`)`);
    }
    assetCache.set(name, b);
  }
  return b;
}

async function authorised(gw: Gateway, headers: Record<string, string | undefined>): Promise<boolean> {
  if (await sessionRole(gw, headers)) return true;
  try {
    await adminRole(gw, headers);
    return true;
  } catch (e) {
    if (e instanceof GatewayError && (e.code === 'unauthorized' || e.code === 'forbidden')) return false;
    throw e;
  }
}

export async function dashboardRoute(gw: Gateway, method: string, path: string, headers: Record<string, string | undefined>, raw: Buffer): Promise<GatewayResponse | undefined> {
  if (path === '/dashboard/login' && method === 'POST') {
    const key = new URLSearchParams(raw.toString('utf8')).get('key')?.trim() ?? '';
    try {
      if (!key) throw new GatewayError('unauthorized', 'Enter a key.');
      await adminRole(gw, { authorization: `Bearer ${key}` });
    } catch (e) {
      if (e instanceof GatewayError && (e.code === 'unauthorized' || e.code === 'forbidden')) return html(401, loginPage(e.message));
      throw e;
    }
    const m = sessionsOf(gw);
    while (m.size >= MAX_SESSIONS) m.delete(m.keys().next().value!);
    const token = randomBytes(32).toString('base64url');
    m.set(token, { credential: key, expires: Date.now() + SESSION_TTL_MS });
    return {
      status: 303,
      headers: { location: '/dashboard', 'cache-control': 'no-store', 'set-cookie': `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_TTL_MS / 1000}` },
      body: '',
    };
  }
  if (path === '/dashboard/logout' && method === 'POST') {
    const token = cookie(headers, SESSION_COOKIE);
    if (token) sessionsOf(gw).delete(token);
    return { status: 303, headers: { location: '/dashboard', 'cache-control': 'no-store', 'set-cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` }, body: '' };
  }
  if (method !== 'GET' && method !== 'HEAD') throw new GatewayError('method_not_allowed', `Method ${method} is not allowed on ${path}; use GET.`);
  if (path === '/dashboard') {
    if (!(await authorised(gw, headers))) return html(401, loginPage());
    return html(200, (await asset('index.html')).toString('utf8'));
  }
  const a = /^\/dashboard\/assets\/([^/]+)$/.exec(path);
  if (a && Object.hasOwn(ASSETS, a[1]!) && a[1] !== 'index.html') {
    // Public code and styles, the same for everyone (the login page needs the CSS before anyone signed in).
    return { status: 200, headers: { 'content-type': ASSETS[a[1]!]!, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }, body: await asset(a[1]!) };
  }
  return undefined;
}

/** `/v1/costgate/dashboard/{timeseries,overview}` (behind the admin API's auth, like every `/v1/costgate/*` route). */
export async function dashboardApi(gw: Gateway, path: string, q: URLSearchParams): Promise<GatewayResponse | undefined> {
  const p = paramsOf(q);
  const json = (body: unknown): GatewayResponse => ({ status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify(body) });
  if (path === '/v1/costgate/dashboard/timeseries') {
    const [bucket, by] = [parseBucket(q.get('bucket') ?? undefined), parseSeriesBy(q.get('by') ?? undefined)];
    await gw.ledger.writer.flushNow();
    return json(await timeseries(gw.ledger.store, filterFrom(p), bucket, by));
  }
  if (path === '/v1/costgate/dashboard/overview') {
    const bucket = parseBucket(q.get('bucket') ?? undefined);
    await gw.ledger.writer.flushNow();
    // Configured budgets, then each live virtual key's own (`key:<name>`).
    const budgets = [...gw.config.budgets, ...(await gw.keys.budgets())];
    return json(await overview({ ledger: gw.ledger.store, budgets, budgetStore: gw.budgetStore }, filterFrom(p), bucket));
  }
  return undefined;
}
