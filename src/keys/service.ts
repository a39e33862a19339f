/**
 * Virtual keys: create (the secret is returned once), verify on each call (records cached for `cacheTtlMs`, so a
 * revocation reaches every replica within that), revoke, rotate (a new key with the same settings; the old one keeps
 * working for the overlap), list (never secrets). A key carries governance: allowed models, its own budget and
 * per-minute limits, and default attribution (team, feature).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyRecord, KeyStore } from '../stores/keys/types.js';
import type { ResolvedBudget, ResolvedRateLimit } from '../config/load.js';
import { parseDuration, type WindowSpec } from '../budgets/window.js';
import { usdToNanos } from '../budgets/money.js';

const TOKEN = /^cg-(key_[0-9a-f]{16})-([A-Za-z0-9_-]{43})$/;

export interface CreateKeyOptions {
  name: string;
  team?: string;
  feature?: string;
  models?: string[];
  /** `100/month`, `5/day`, `20/week`, `2.5/24h`. */
  budget?: string;
  rpm?: number;
  tpm?: number;
  /** `30d`, `12h`… from now. */
  expires?: string;
  role?: KeyRecord['role'];
}

/** A verified key with its governance resolved for the pipeline. */
export interface VirtualKey {
  record: KeyRecord;
  budgets: ResolvedBudget[];
  rateLimits: ResolvedRateLimit[];
  allowsModel(model: string): boolean;
}

export class KeyError extends Error {
  constructor(
    message: string,
    readonly reason: 'malformed' | 'unknown' | 'revoked' | 'expired' | 'invalid',
  ) {
    super(message);
  }
}

const hashOf = (salt: string, secret: string) => createHash('sha256').update(salt).update(secret).digest('hex');

export function parseBudgetSpec(spec: string): { usd: string; window: string } {
  const m = /^\s*\$?(\d+(?:\.\d+)?)\s*\/\s*(day|week|month|\d+[smhd])\s*$/.exec(spec);
  if (!m) throw new Error(`budget must look like 100/month, 5/day, 20/week or 2.5/24h (got '${spec}')`);
  usdToNanos(m[1]!);
  return { usd: m[1]!, window: m[2]! };
}

function windowOf(w: string): WindowSpec {
  if (w === 'day' || w === 'week' || w === 'month') return { kind: 'calendar', unit: w, tz: 'UTC' };
  return { kind: 'rolling', ms: parseDuration(w)! };
}

function glob(p: string): RegExp {
  return new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

export function resolveKey(r: KeyRecord): VirtualKey {
  const budgets: ResolvedBudget[] = [];
  if (r.budgetUsd && r.budgetWindow) {
    // Keyed by the key's name (unique among live keys), so a rotated key keeps its spend and its limits.
    budgets.push({ name: `key:${r.name}`, scope: 'key', value: r.name, window: windowOf(r.budgetWindow), limitNanos: usdToNanos(r.budgetUsd), mode: 'hard', status: 402, exemptPriorities: [] });
  }
  const rateLimits: ResolvedRateLimit[] = [];
  if (r.rpm !== null || r.tpm !== null) {
    rateLimits.push({ name: `key:${r.name}`, scope: 'key', value: r.name, rate: { requestsPerMinute: r.rpm ?? undefined, tokensPerMinute: r.tpm ?? undefined } });
  }
  const pats = r.models.map(glob);
  return { record: r, budgets, rateLimits, allowsModel: (m) => pats.length === 0 || pats.some((p) => p.test(m)) };
}

/** What `keys list` / the admin API show: never the salt or hash. */
export function publicKey(r: KeyRecord, now = Date.now()) {
  const status = r.revokedAt !== null ? 'revoked' : r.expiresAt !== null && r.expiresAt <= now ? 'expired' : 'active';
  return {
    id: r.id, name: r.name, role: r.role, status, team: r.team, feature: r.feature, models: r.models,
    budget: r.budgetUsd ? `${r.budgetUsd}/${r.budgetWindow}` : null, rpm: r.rpm, tpm: r.tpm,
    created_at: new Date(r.createdAt).toISOString(), expires_at: r.expiresAt === null ? null : new Date(r.expiresAt).toISOString(),
    revoked_at: r.revokedAt === null ? null : new Date(r.revokedAt).toISOString(), rotated_from: r.rotatedFrom,
  };
}

export class KeyService {
  private readonly cache = new Map<string, { at: number; record: KeyRecord | undefined }>();

  constructor(
    readonly store: KeyStore,
    private readonly cacheTtlMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  static isKeyToken(t: string): boolean {
    return t.startsWith('cg-key_');
  }

  async create(o: CreateKeyOptions, rotatedFrom: string | null = null): Promise<{ key: string; record: KeyRecord }> {
    if (!/^[A-Za-z0-9._:@/-]{1,128}$/.test(o.name)) throw new Error('name: 1-128 of A-Z a-z 0-9 . _ : @ / -');
    const b = o.budget ? parseBudgetSpec(o.budget) : undefined;
    if (rotatedFrom === null) {
      const now = this.now();
      const clash = (await this.store.list()).find((k) => k.name === o.name && k.revokedAt === null && (k.expiresAt === null || k.expiresAt > now));
      if (clash) throw new Error(`name: a live key is already named '${o.name}' (${clash.id}); rotate it, revoke it, or pick another name`);
    }
    for (const [k, v] of [['rpm', o.rpm], ['tpm', o.tpm]] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v <= 0)) throw new Error(`${k}: a positive integer`);
    }
    let expiresAt: number | null = null;
    if (o.expires) {
      const ms = parseDuration(o.expires);
      if (ms === undefined) throw new Error(`expires: a duration like 30d, 12h, 90m (got '${o.expires}')`);
      expiresAt = this.now() + ms;
    }
    const id = `key_${randomBytes(8).toString('hex')}`;
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16).toString('hex');
    const record: KeyRecord = {
      id, name: o.name, salt, hash: hashOf(salt, secret), team: o.team ?? null, feature: o.feature ?? null, models: o.models ?? [],
      budgetUsd: b?.usd ?? null, budgetWindow: b?.window ?? null, rpm: o.rpm ?? null, tpm: o.tpm ?? null, role: o.role ?? 'client',
      createdAt: this.now(), expiresAt, revokedAt: null, rotatedFrom,
    };
    await this.store.insert(record);
    return { key: `cg-${id}-${secret}`, record };
  }

  private async lookup(id: string): Promise<KeyRecord | undefined> {
    const now = this.now();
    const c = this.cache.get(id);
    if (c && now - c.at < this.cacheTtlMs) return c.record;
    const record = await this.store.get(id);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { at: now, record });
    return record;
  }

  /** The key a token names, verified; throws KeyError saying why not. */
  async verify(token: string): Promise<VirtualKey> {
    const m = TOKEN.exec(token);
    if (!m) throw new KeyError('Malformed costgate key (expected cg-key_…).', 'malformed');
    const r = await this.lookup(m[1]!);
    if (!r) throw new KeyError('Invalid API key.', 'unknown');
    const a = Buffer.from(hashOf(r.salt, m[2]!), 'hex');
    if (!timingSafeEqual(a, Buffer.from(r.hash, 'hex'))) throw new KeyError('Invalid API key.', 'invalid');
    if (r.revokedAt !== null && r.revokedAt <= this.now()) throw new KeyError(`This API key (${r.id}) was revoked.`, 'revoked');
    if (r.expiresAt !== null && r.expiresAt <= this.now()) throw new KeyError(`This API key (${r.id}) expired at ${new Date(r.expiresAt).toISOString()}.`, 'expired');
    return resolveKey(r);
  }

  async revoke(id: string): Promise<boolean> {
    const ok = await this.store.update(id, { revokedAt: this.now() });
    this.cache.delete(id);
    return ok;
  }

  /** A new key with the old one's settings; the old key stays valid for `overlapMs` (default 1 h), then expires. */
  async rotate(id: string, overlapMs = 3_600_000): Promise<{ key: string; record: KeyRecord }> {
    const old = await this.store.get(id);
    if (!old) throw new Error(`no key ${id}`);
    if (old.revokedAt !== null) throw new Error(`key ${id} is revoked`);
    const out = await this.create(
      {
        name: old.name, team: old.team ?? undefined, feature: old.feature ?? undefined, models: old.models,
        budget: old.budgetUsd ? `${old.budgetUsd}/${old.budgetWindow}` : undefined, rpm: old.rpm ?? undefined, tpm: old.tpm ?? undefined, role: old.role,
      },
      id,
    );
    if (old.expiresAt !== null) out.record.expiresAt = old.expiresAt;
    if (old.expiresAt !== null) await this.store.update(out.record.id, { expiresAt: old.expiresAt });
    const end = this.now() + overlapMs;
    await this.store.update(id, { expiresAt: old.expiresAt === null ? end : Math.min(old.expiresAt, end) });
    this.cache.delete(id);
    return out;
  }

  async list() {
    return (await this.store.list()).map((r) => publicKey(r, this.now()));
  }

  /** The budgets of live keys, once per name (a rotated key and its successor share one), for the dashboard. */
  async budgets(): Promise<ResolvedBudget[]> {
    const now = this.now();
    const live = (await this.store.list()).filter((r) => r.revokedAt === null && (r.expiresAt === null || r.expiresAt > now));
    return [...new Map(live.flatMap((r) => resolveKey(r).budgets).map((b) => [b.name, b])).values()];
  }
}
