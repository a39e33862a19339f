/**
 * Redis budget store: each operation is one Lua script over every key it touches, so gateways sharing Redis reserve
 * atomically. Keys (under `prefix`): `s:<budget key>` a hash bucket → spent nanos; `r:<budget key>` reserved nanos;
 * `res` a hash reservation id → a JSON array [reservedKey, amount, ...] (budget keys may hold any character); `exp` a sorted set id → deadline. Each reserve first
 * releases reservations past their deadline (a crashed gateway's), so the reserved totals are reconciled.
 * Amounts are Lua numbers (doubles): exact below 2^53 nano-dollars, which the config schema enforces.
 * (Reconciliation touches reserved keys named in `res`: single-node or hash-tagged prefixes, not spread over a cluster.)
 */
import { Redis } from 'ioredis';
import type { BudgetItem, BudgetStore, ReserveResult } from './types.js';

const LIB = `
local function sumwin(k, minb)
  local all = redis.call('HGETALL', k)
  local s = 0
  for i = 1, #all, 2 do
    if tonumber(all[i]) < minb then redis.call('HDEL', k, all[i]) else s = s + tonumber(all[i + 1]) end
  end
  return s
end
local function unreserve(d)
  local t = cjson.decode(d)
  for i = 1, #t, 2 do redis.call('DECRBY', t[i], t[i + 1]) end
end
`;

// KEYS: exp, res, then per item: spent hash, reserved key. ARGV: id, now, deadline, then per item: minBucket, limit, amount, hard.
const RESERVE = `${LIB}
local exp, res = KEYS[1], KEYS[2]
local now = tonumber(ARGV[2])
local old = redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, 1000)
for _, oid in ipairs(old) do
  local d = redis.call('HGET', res, oid)
  if d then unreserve(d) end
  redis.call('HDEL', res, oid)
  redis.call('ZREM', exp, oid)
end
local n = (#KEYS - 2) / 2
local out = {1}
for i = 1, n do
  local b = 4 + (i - 1) * 4
  local used = sumwin(KEYS[1 + 2 * i], tonumber(ARGV[b])) + tonumber(redis.call('GET', KEYS[2 + 2 * i]) or '0')
  if ARGV[b + 3] == '1' and used + tonumber(ARGV[b + 2]) > tonumber(ARGV[b + 1]) then return {0, i - 1, string.format('%.0f', used)} end
  out[#out + 1] = string.format('%.0f', used)
end
local d = {}
for i = 1, n do
  local b = 4 + (i - 1) * 4
  redis.call('INCRBY', KEYS[2 + 2 * i], ARGV[b + 2])
  d[#d + 1] = KEYS[2 + 2 * i]
  d[#d + 1] = ARGV[b + 2]
end
redis.call('HSET', res, ARGV[1], cjson.encode(d))
redis.call('ZADD', exp, tonumber(ARGV[3]), ARGV[1])
return out
`;

// KEYS: exp, res, then per item: spent hash. ARGV: id, then per item: bucket, minBucket, actual, keepMs.
const SETTLE = `${LIB}
local exp, res = KEYS[1], KEYS[2]
local d = redis.call('HGET', res, ARGV[1])
if d then unreserve(d) end
redis.call('HDEL', res, ARGV[1])
redis.call('ZREM', exp, ARGV[1])
local out = {}
for i = 1, #KEYS - 2 do
  local b = 2 + (i - 1) * 4
  local k = KEYS[2 + i]
  redis.call('HINCRBY', k, ARGV[b], ARGV[b + 2])
  redis.call('PEXPIRE', k, ARGV[b + 3])
  out[i] = string.format('%.0f', sumwin(k, tonumber(ARGV[b + 1])))
end
return out
`;

// KEYS: per item spent hash, reserved key. ARGV: per item minBucket.
const USAGE = `${LIB}
local out = {}
for i = 1, #ARGV do
  out[#out + 1] = string.format('%.0f', sumwin(KEYS[2 * i - 1], tonumber(ARGV[i])))
  out[#out + 1] = redis.call('GET', KEYS[2 * i]) or '0'
end
return out
`;

type Cmd = (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;

export class RedisBudgetStore implements BudgetStore {
  readonly redis: Redis;
  private readonly cmd: { reserve: Cmd; settle: Cmd; usage: Cmd };

  constructor(url: string | Redis, readonly prefix: string) {
    this.redis = typeof url === 'string' ? new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true }) : url;
    this.redis.defineCommand('cgBudgetReserve', { lua: RESERVE });
    this.redis.defineCommand('cgBudgetSettle', { lua: SETTLE });
    this.redis.defineCommand('cgBudgetUsage', { lua: USAGE });
    const r = this.redis as unknown as Record<string, Cmd>;
    this.cmd = { reserve: r.cgBudgetReserve!.bind(r), settle: r.cgBudgetSettle!.bind(r), usage: r.cgBudgetUsage!.bind(r) };
  }

  private k(kind: string, key: string): string {
    return `${this.prefix}${kind}:${key}`;
  }

  async reserve(id: string, items: BudgetItem[], ttlMs: number, now: number): Promise<ReserveResult> {
    const keys = [this.k('x', 'exp'), this.k('x', 'res')];
    const args: (string | number)[] = [id, now, now + ttlMs];
    for (const it of items) {
      keys.push(this.k('s', it.key), this.k('r', it.key));
      args.push(it.minBucket, it.limit.toString(), it.amount.toString(), it.hard ? '1' : '0');
    }
    const r = (await this.cmd.reserve(keys.length, ...keys, ...args)) as [number, ...(number | string)[]];
    return r[0] === 1 ? { ok: true, used: r.slice(1).map((v) => BigInt(v)) } : { ok: false, index: Number(r[1]), used: BigInt(r[2]!) };
  }

  async settle(id: string, items: BudgetItem[], actual: bigint[]): Promise<bigint[]> {
    const keys = [this.k('x', 'exp'), this.k('x', 'res')];
    const args: (string | number)[] = [id];
    items.forEach((it, i) => {
      keys.push(this.k('s', it.key));
      args.push(it.bucket, it.minBucket, (actual[i] ?? 0n).toString(), it.keepMs);
    });
    const r = (await this.cmd.settle(keys.length, ...keys, ...args)) as string[];
    return r.map((v) => BigInt(v));
  }

  async usage(items: Pick<BudgetItem, 'key' | 'minBucket'>[]): Promise<{ spent: bigint; reserved: bigint }[]> {
    const keys: string[] = [];
    for (const it of items) keys.push(this.k('s', it.key), this.k('r', it.key));
    const r = (await this.cmd.usage(keys.length, ...keys, ...items.map((i) => i.minBucket))) as string[];
    return items.map((_, i) => ({ spent: BigInt(r[2 * i]!), reserved: BigInt(r[2 * i + 1]!) }));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
