/**
 * auth: who is calling and on whose behalf. Reads attribution from `x-costgate-*` headers or, for SDK users who
 * cannot set headers, from the body's `metadata` (keys `feature`, `user`, `team`, `priority`, `request_id`, or the
 * header names themselves). Those keys are removed from the body before it goes upstream, so a provider never sees
 * the gateway's bookkeeping. The client's credential is never kept: the ledger's `api_key_id` is its fingerprint.
 */
import { hash } from 'node:crypto';
import type { Stage } from '../compose.js';
import type { Priority } from '../ctx.js';
import { GatewayError } from '../errors.js';

const KEYS = ['feature', 'user', 'team', 'priority', 'request_id'] as const;
type Key = (typeof KEYS)[number];
const PRIORITIES = new Set<Priority>(['critical', 'important', 'optional']);
const MAX_LEN = 256;

function clean(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new GatewayError('invalid_type', `${name} must be a string`, { param: name });
  if (v.length > MAX_LEN) throw new GatewayError('invalid_value', `${name} is longer than ${MAX_LEN} characters`, { param: name });
  return v;
}

const BEARER = /^bearer[ \t]+/i;

/**
 * The `api_key_id` of a call until virtual keys exist: `fp_` + the first 16 hex digits of the SHA-256 of the client's
 * credential (`Authorization: Bearer …`, else `x-api-key`), undefined when it sent none. One-way and stable, so a
 * key's calls group together (and anyone holding the key can compute its id) while the ledger holds no secret.
 * About a microsecond (one native one-shot hash of a short string).
 */
export function keyFingerprint(h: Record<string, string | undefined>): string | undefined {
  const a = h.authorization;
  const m = a === undefined ? null : BEARER.exec(a);
  let key = m ? a!.slice(m[0].length).trim() : undefined;
  if (!key) key = h['x-api-key']?.trim();
  return key ? `fp_${hash('sha256', key, 'hex').slice(0, 16)}` : undefined;
}

export const auth = (): Stage =>
  async function auth(ctx, next) {
    const h = ctx.req.headers;
    const md = ctx.body.metadata;
    const fromBody: Partial<Record<Key, unknown>> = {};
    if (md && typeof md === 'object' && !Array.isArray(md)) {
      let strip = false;
      for (const k of KEYS) {
        const v = md[k] ?? md[`x-costgate-${k.replace('_', '-')}`] ?? md[`costgate_${k}`];
        if (v !== undefined) {
          fromBody[k] = v;
          strip = true;
        }
      }
      if (strip) {
        const rest: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(md)) {
          const base = k.replace(/^x-costgate-|^costgate_/, '').replace('-', '_');
          if (!(KEYS as readonly string[]).includes(base)) rest[k] = v;
        }
        const { metadata: _m, ...body } = ctx.body;
        ctx.body = Object.keys(rest).length ? { ...body, metadata: rest } : body;
        ctx.bodyChanged = true;
      }
    }
    const pick = (k: Key, header: string) => clean(h[header] ?? fromBody[k], header);
    const priority = pick('priority', 'x-costgate-priority');
    if (priority !== undefined && !PRIORITIES.has(priority as Priority)) {
      throw new GatewayError('invalid_value', `x-costgate-priority must be one of critical, important, optional (got '${priority}')`, { param: 'x-costgate-priority' });
    }
    ctx.meta.feature = pick('feature', 'x-costgate-feature');
    ctx.meta.user = pick('user', 'x-costgate-user') ?? (ctx.surface === 'anthropic' ? clean(md?.user_id, 'metadata.user_id') : clean(ctx.body.user, 'user'));
    ctx.meta.team = pick('team', 'x-costgate-team');
    ctx.meta.priority = priority as Priority | undefined;
    ctx.meta.apiKeyId = keyFingerprint(h);
    return next();
  };
