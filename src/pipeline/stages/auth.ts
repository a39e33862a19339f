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
import { KeyError, KeyService } from '../../keys/service.js';

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
  const key = credentialOf(h);
  if (key && KeyService.isKeyToken(key)) return /^cg-(key_[0-9a-f]{16})-/.exec(key)?.[1] ?? `fp_${hash('sha256', key, 'hex').slice(0, 16)}`;
  return key ? `fp_${hash('sha256', key, 'hex').slice(0, 16)}` : undefined;
}

/** The credential a client sent: `Authorization: Bearer …`, else `x-api-key`. */
export function credentialOf(h: Record<string, string | undefined>): string | undefined {
  const a = h.authorization;
  const m = a === undefined ? null : BEARER.exec(a);
  let key = m ? a!.slice(m[0].length).trim() : undefined;
  if (!key) key = h['x-api-key']?.trim();
  return key || undefined;
}

export interface AuthOptions {
  /** `keys`: every call needs a valid virtual key; `none`: a virtual key is applied when one is sent. */
  mode: 'none' | 'keys';
  keys?: KeyService;
}

const HOW = 'send your costgate key as `Authorization: Bearer cg-key_…` (OpenAI SDKs: apiKey) or `x-api-key` (Anthropic SDKs)';

export const auth = (o: AuthOptions = { mode: 'none' }): Stage =>
  async function auth(ctx, next) {
    const h = ctx.req.headers;
    const cred = credentialOf(h);
    if (cred !== undefined && o.keys && KeyService.isKeyToken(cred)) {
      try {
        ctx.meta.key = await o.keys.verify(cred);
      } catch (e) {
        if (e instanceof KeyError) throw new GatewayError('invalid_api_key', `${e.message} ${e.reason === 'unknown' || e.reason === 'invalid' || e.reason === 'malformed' ? `Check the key; ${HOW}.` : 'Ask an admin for a new key.'}`);
        throw new GatewayError('overloaded', 'key store unavailable; keys cannot be verified', { retryAfterSec: 1, cause: e });
      }
    } else if (o.mode === 'keys') {
      throw new GatewayError('invalid_api_key', cred === undefined ? `Missing API key: ${HOW}.` : `Invalid API key: this gateway accepts only costgate keys; ${HOW}.`);
    }
    const vk = ctx.meta.key;
    if (vk) {
      if (vk.record.role === 'viewer') throw new GatewayError('forbidden', `Key ${vk.record.id} is a viewer key: it may read reports, not call models.`);
      if (!vk.allowsModel(ctx.model)) {
        throw new GatewayError('model_not_allowed', `Key ${vk.record.id} may not use the model '${ctx.model}'; it may use: ${vk.record.models.join(', ')}.`, { param: 'model' });
      }
    }
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
    ctx.meta.feature = pick('feature', 'x-costgate-feature') ?? vk?.record.feature ?? undefined;
    ctx.meta.user = pick('user', 'x-costgate-user') ?? (ctx.surface === 'anthropic' ? clean(md?.user_id, 'metadata.user_id') : clean(ctx.body.user, 'user'));
    ctx.meta.team = pick('team', 'x-costgate-team') ?? vk?.record.team ?? undefined;
    ctx.meta.priority = priority as Priority | undefined;
    ctx.meta.apiKeyId = vk ? vk.record.id : keyFingerprint(h);
    return next();
  };
