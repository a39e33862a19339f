/**
 * Alert rules: each reads the ledger's aggregate queries and returns the findings that hold now (an empty list means
 * every alert of that rule is resolved). Money is compared as bigint nano-dollars; a share is compared as a ratio of
 * integers. Rules never look at wall time themselves: `now` is passed in, so tests drive them with synthetic rows.
 */
import type { LedgerFilter, LedgerStore, GroupKey } from '../../stores/ledger/types.js';
import type { ResolvedBudget } from '../../config/load.js';
import type { AlertRulesConfig } from '../../config/alerts-schema.js';
import type { AlertFinding } from '../../stores/alerts/types.js';
import { calendarRange, parseDuration } from '../../budgets/window.js';
import { usdToNanos } from '../../budgets/money.js';
import { nanosToUsd } from '../../pricing/decimal.js';

export interface RuleContext {
  ledger: LedgerStore;
  rules: AlertRulesConfig;
  budgets: ResolvedBudget[];
  /** The response cache is on somewhere in config (the hit-rate rule is meaningless otherwise). */
  cacheOn: boolean;
  now: number;
  /**
   * Results that cannot change any more, kept between evaluations by the manager: sums over whole past UTC days
   * (keyed by the day they were computed on) and hour-aligned baselines. Absent: everything is read afresh.
   */
  memo?: Map<string, unknown>;
}

export type Rule = (c: RuleContext) => Promise<AlertFinding[]>;

const DAY = 86_400_000;
const HOUR = 3_600_000;
const usd = (n: bigint) => Number(nanosToUsd(n));
/** `$0.0013`, `$12.50`: exact, trailing zeros trimmed to cents. */
const $ = (n: bigint) => `$${nanosToUsd(n).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (d: string) => parseDuration(d)!;
/** ratio × n in nano-dollars, exactly enough (ratio to 1e-6). */
const times = (n: bigint, ratio: number) => (n * BigInt(Math.round(ratio * 1e6))) / 1_000_000n;

async function memo<T>(c: RuleContext, key: string, f: () => Promise<T>): Promise<T> {
  if (!c.memo) return f();
  if (c.memo.has(key)) return c.memo.get(key) as T;
  const v = await f();
  c.memo.set(key, v);
  return v;
}

/**
 * Spend since `since` per value of `group` (or in all, under key null). The part before today's UTC midnight is summed
 * once a day and kept (it is history); only today's rows are read on every evaluation, so a month-to-date sum costs a
 * day's scan. A row written today with an older timestamp is counted from the next day on.
 */
async function spendSince(c: RuleContext, since: number, filter: LedgerFilter, group: GroupKey | undefined): Promise<Map<string | null, bigint>> {
  const today = calendarRange('day', 'UTC', c.now).start;
  const by = group ? [group] : [];
  const read = async (f: LedgerFilter) => new Map((await c.ledger.aggregate(f, by)).map((a) => [group ? a.group[group] ?? null : null, a.costNanos]));
  const live = await read({ ...filter, since: Math.max(since, today) });
  if (since >= today) return live;
  const past = await memo(c, `spend:${today}:${since}:${JSON.stringify(filter)}:${group}`, () => read({ ...filter, since, until: today }));
  const out = new Map(past);
  for (const [k, v] of live) out.set(k, (out.get(k) ?? 0n) + v);
  return out;
}

function grouped(by: string | undefined): GroupKey[] {
  return by ? [by as GroupKey] : [];
}

/** `errorRate` or `errorRate:feature=search`, with the group as labels. */
function keyed(rule: string, by: string | undefined, group: Record<string, string | null>): { key: string; labels: Record<string, string> } {
  if (!by) return { key: rule, labels: {} };
  const v = group[by] ?? '(none)';
  return { key: `${rule}:${by}=${v}`, labels: { [by]: v } };
}

export const spendAnomaly: Rule = async (c) => {
  const { ledger, rules, now } = c;
  const r = rules.spendAnomaly;
  const dayStart = calendarRange('day', 'UTC', now).start;
  const [today] = await ledger.aggregate({ since: dayStart }, []);
  const days = await memo(c, `days:${dayStart}:${r.baselineDays}`, async () => (await ledger.aggregate({ since: dayStart - r.baselineDays * DAY, until: dayStart }, ['day'])).filter((d) => d.requests > 0));
  // Days without traffic do not count: a gateway started two days ago has no 7-day baseline, not a tiny one.
  if (days.length < r.minBaselineDays) return [];
  const avg = days.reduce((s, d) => s + d.costNanos, 0n) / BigInt(days.length);
  const spent = today?.costNanos ?? 0n;
  const limit = times(avg, r.ratio);
  if (avg === 0n || spent <= limit) return [];
  return [{
    key: 'spendAnomaly', rule: 'spendAnomaly', level: 'warning', value: usd(spent), threshold: usd(limit), labels: {},
    message: `Spend today ${$(spent)} is ${pct(Number((spent * 1000n) / avg) / 1000)} of the ${days.length}-day average ${$(avg)} (alert above ${pct(r.ratio)})`,
  }];
};

export const allocation: Rule = async (c) => {
  const { rules, now } = c;
  const r = rules.allocation;
  const { start, end } = calendarRange('month', 'UTC', now);
  const elapsed = Math.max(1, now - start);
  const out: AlertFinding[] = [];
  for (const [scope, allocs] of [['feature', r.features], ['team', r.teams]] as const) {
    const names = Object.keys(allocs);
    if (!names.length) continue;
    const spentBy = await spendSince(c, start, {}, scope);
    for (const name of names) {
      const limit = usdToNanos(allocs[name]!);
      const spent = spentBy.get(name) ?? 0n;
      const base = { key: `allocation:${scope}:${name}`, rule: 'allocation', threshold: usd(limit), labels: { [scope]: name } };
      if (spent >= limit) {
        out.push({ ...base, level: 'critical', value: usd(spent), message: `${scope} '${name}' has spent ${$(spent)} this month, over its allocation of ${$(limit)}` });
        continue;
      }
      if (!r.projected || elapsed < ms(r.minElapsed)) continue;
      const projected = (spent * BigInt(end - start)) / BigInt(elapsed);
      if (projected >= limit) {
        out.push({ ...base, level: 'warning', value: usd(projected), message: `${scope} '${name}' is projected to spend ${$(projected)} this month (run rate of ${$(spent)} so far), over its allocation of ${$(limit)}` });
      }
    }
  }
  return out;
};

const BUDGET_GROUP: Record<string, GroupKey | undefined> = { global: undefined, feature: 'feature', team: 'team', user: 'user', key: 'key', model: 'model', provider: 'provider' };
const BUDGET_FILTER: Record<string, keyof LedgerFilter> = { feature: 'feature', team: 'team', user: 'user', key: 'apiKeyId', model: 'model', provider: 'provider' };

export const budgets: Rule = async (c) => {
  const { rules, budgets: list, now } = c;
  const steps = [...rules.budgets.thresholds].sort((a, b) => a - b);
  const out: AlertFinding[] = [];
  for (const b of list) {
    const since = b.window.kind === 'calendar' ? calendarRange(b.window.unit, b.window.tz, now).start : now - b.window.ms;
    const filter: LedgerFilter = { since };
    if (b.value !== undefined && b.scope !== 'global') (filter as Record<string, unknown>)[BUDGET_FILTER[b.scope]!] = b.value;
    // A budget without a value is one budget per distinct value: one alert each.
    const g = b.value === undefined ? BUDGET_GROUP[b.scope] : undefined;
    for (const [value, cost] of await spendSince(c, since, filter, g)) {
      const a = { costNanos: cost, group: g ? { [g]: value } : {} };
      if (b.limitNanos <= 0n) continue;
      const share = Number((a.costNanos * 1_000_000n) / b.limitNanos) / 1e6;
      const reached = steps.filter((s) => a.costNanos >= times(b.limitNanos, s));
      if (!reached.length) continue;
      const step = reached[reached.length - 1]!;
      const who = g ? String(a.group[g] ?? '(none)') : b.value;
      out.push({
        key: `budgets:${b.name}${who !== undefined ? `:${who}` : ''}`, rule: 'budgets', level: `${Math.round(step * 100)}%`,
        value: usd(a.costNanos), threshold: usd(times(b.limitNanos, step)), labels: { budget: b.name, ...(who !== undefined ? { [b.scope]: who } : {}) },
        message: `Budget '${b.name}'${g ? ` for ${b.scope} '${who}'` : ''} (${b.mode}) is at ${pct(share)}: ${$(a.costNanos)} of ${$(b.limitNanos)}`,
      });
    }
  }
  return out;
};

export const errorRate: Rule = async ({ ledger, rules, now }) => {
  const r = rules.errorRate;
  const out: AlertFinding[] = [];
  for (const a of await ledger.aggregate({ since: now - ms(r.window) }, grouped(r.by))) {
    if (a.requests < r.minRequests) continue;
    const rate = a.errors / a.requests;
    if (rate <= r.threshold) continue;
    const k = keyed('errorRate', r.by, a.group);
    out.push({ ...k, rule: 'errorRate', level: rate >= r.threshold * 5 ? 'critical' : 'warning', value: rate, threshold: r.threshold, message: `Error rate ${pct(rate)} (${a.errors} of ${a.requests} requests) over the last ${r.window}${r.by ? ` for ${r.by} '${k.labels[r.by]}'` : ''} (alert above ${pct(r.threshold)})` });
  }
  return out;
};

export const outputTokens: Rule = async (c) => {
  const { ledger, rules, now } = c;
  const r = rules.outputTokens;
  const w = ms(r.window);
  const by = grouped(r.by);
  const recent = await ledger.aggregate({ since: now - w, status: 'ok' }, by);
  // The baseline ends at the hour before the recent window starts: it is read once an hour, not on every evaluation.
  const until = Math.floor((now - w) / HOUR) * HOUR;
  const since = until - ms(r.baselineWindow);
  const base = await memo(c, `otok:${since}:${until}:${r.by}`, async () => new Map((await ledger.aggregate({ since, until, status: 'ok' }, by)).map((a) => [JSON.stringify(a.group), a])));
  const out: AlertFinding[] = [];
  for (const a of recent) {
    const b = base.get(JSON.stringify(a.group));
    if (!b || a.requests < r.minRequests || b.requests < r.minRequests || b.outputTokens === 0) continue;
    const avg = a.outputTokens / a.requests;
    const baseAvg = b.outputTokens / b.requests;
    if (avg <= baseAvg * (1 + r.rise)) continue;
    const k = keyed('outputTokens', r.by, a.group);
    out.push({ ...k, rule: 'outputTokens', level: 'warning', value: avg, threshold: baseAvg * (1 + r.rise), message: `Average output tokens per request rose to ${avg.toFixed(1)} over the last ${r.window} from ${baseAvg.toFixed(1)} in the ${r.baselineWindow} before (+${pct(avg / baseAvg - 1)}, alert above +${pct(r.rise)})${r.by ? ` for ${r.by} '${k.labels[r.by]}'` : ''}` });
  }
  return out;
};

export const cacheHitRate: Rule = async ({ ledger, rules, cacheOn, now }) => {
  const r = rules.cacheHitRate;
  if (!cacheOn) return [];
  const out: AlertFinding[] = [];
  for (const a of await ledger.aggregate({ since: now - ms(r.window), status: 'ok' }, grouped(r.by))) {
    if (a.requests < r.minRequests) continue;
    const rate = a.cacheHits / a.requests;
    if (rate >= r.threshold) continue;
    const k = keyed('cacheHitRate', r.by, a.group);
    out.push({ ...k, rule: 'cacheHitRate', level: 'warning', value: rate, threshold: r.threshold, message: `Cache hit rate ${pct(rate)} (${a.cacheHits} of ${a.requests}) over the last ${r.window}${r.by ? ` for ${r.by} '${k.labels[r.by]}'` : ''} (alert below ${pct(r.threshold)})` });
  }
  return out;
};

export const duplicateShare: Rule = async ({ ledger, rules, now }) => {
  const r = rules.duplicateShare;
  const d = await ledger.duplicates({ since: now - ms(r.window) });
  if (d.requests < r.minRequests) return [];
  const share = (d.requests - d.distinct) / d.requests;
  if (share <= r.threshold) return [];
  return [{ key: 'duplicateShare', rule: 'duplicateShare', level: 'warning', value: share, threshold: r.threshold, labels: {}, message: `${pct(share)} of requests over the last ${r.window} repeated an earlier identical request (${d.requests - d.distinct} of ${d.requests}; alert above ${pct(r.threshold)})` }];
};

export const RULES = { spendAnomaly, allocation, budgets, errorRate, outputTokens, cacheHitRate, duplicateShare } satisfies Record<keyof AlertRulesConfig, Rule>;
export type RuleName = keyof typeof RULES;
