/**
 * The alert manager: evaluates the enabled rules over the ledger, compares each finding with the stored state of its
 * key and notifies only on a transition (firing, level changed, resolved), plus an optional re-notification while
 * still firing. State is saved before channels are called, so a restart never re-announces what was announced (at
 * most once: a crash between the two loses that one notification rather than repeating it).
 *
 * Scheduling: every `alerts.interval` on an unref'd timer, and after ledger write batches and soft-budget crossings
 * (diagnostics_channel `costgate:budget`), debounced. Evaluations never overlap: a trigger during one runs one more.
 *
 * @example
 * const m = new AlertManager({ config: cfg.alerts, ledger, store: new MemoryAlertStore(), budgets: cfg.budgets, cacheOn: false });
 * const { events } = await m.evaluate();   // what changed, already delivered to the channels
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { AlertsConfig } from '../../config/alerts-schema.js';
import type { ResolvedBudget } from '../../config/load.js';
import type { LedgerStore } from '../../stores/ledger/types.js';
import type { AlertEvent, AlertEventKind, AlertFinding, AlertState, AlertStore } from '../../stores/alerts/types.js';
import { parseDuration } from '../../budgets/window.js';
import { RULES, type RuleName } from './rules.js';
import { deliver, makeChannel, type Channel, type DeliveryResult } from './channels.js';

export interface AlertManagerOptions {
  config: AlertsConfig;
  ledger: LedgerStore;
  store: AlertStore;
  budgets: ResolvedBudget[];
  cacheOn: boolean;
  /** Channels to use instead of those config names (tests). */
  channels?: Channel[];
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  now?: () => number;
  /** Called before each evaluation (the gateway flushes its ledger writer here). */
  beforeEvaluate?: () => Promise<void>;
}

export interface Evaluation {
  at: number;
  findings: AlertFinding[];
  events: AlertEvent[];
  deliveries: DeliveryResult[];
  /** Rules that failed this time (their alerts keep their state). */
  errors: { rule: string; error: string }[];
  /** Another replica held the evaluation lock: nothing was evaluated. */
  skipped?: boolean;
}

export class AlertManager {
  readonly channels: Channel[];
  private readonly now: () => number;
  private readonly renotifyMs: number | undefined;
  private running: Promise<Evaluation> | undefined;
  private again = false;
  private interval: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onBudget = () => this.trigger();
  /** Sums over past days and hour-aligned baselines (see RuleContext.memo), dropped when the UTC day changes. */
  private readonly memo = new Map<string, unknown>();
  private memoDay = 0;
  /** The last evaluation (for the admin API). */
  last: Evaluation | undefined;

  constructor(private readonly o: AlertManagerOptions) {
    this.now = o.now ?? Date.now;
    this.channels = o.channels ?? o.config.channels.map((c, i) => makeChannel(c, i, { env: o.env ?? process.env, log: o.log }));
    this.renotifyMs = o.config.renotify ? parseDuration(o.config.renotify) : undefined;
  }

  /** Start the schedule; `subscribeWrites` registers the debounced trigger (the ledger writer's onWritten). */
  start(subscribeWrites?: (f: () => void) => void): void {
    this.interval = setInterval(() => void this.evaluate().catch(() => undefined), parseDuration(this.o.config.interval)!);
    this.interval.unref();
    subscribeWrites?.(() => this.trigger());
    subscribe('costgate:budget', this.onBudget);
  }

  /** Evaluate soon (debounced): many triggers within debounceMs make one evaluation. */
  trigger(): void {
    if (this.closed || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.evaluate().catch(() => undefined);
    }, this.o.config.debounceMs);
    this.debounce.unref();
  }

  /** Evaluate now (or, when one is running, once more after it). */
  async evaluate(): Promise<Evaluation> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.run().finally(() => (this.running = undefined));
    const r = await this.running;
    if (this.again && !this.closed) {
      this.again = false;
      return this.evaluate();
    }
    return r;
  }

  private async run(): Promise<Evaluation> {
    await this.o.beforeEvaluate?.();
    const now = this.now();
    if (!this.o.store.exclusive) return this.evaluateAt(now);
    const r = await this.o.store.exclusive(() => this.evaluateAt(now));
    // Another replica is evaluating the shared state right now: its result stands for this round.
    return r.skipped ? { at: now, findings: [], events: [], deliveries: [], errors: [], skipped: true } : r.value;
  }

  private async evaluateAt(now: number): Promise<Evaluation> {
    const day = Math.floor(now / 86_400_000);
    if (day !== this.memoDay || this.memo.size > 1000) {
      this.memo.clear();
      this.memoDay = day;
    }
    const ctx = { ledger: this.o.ledger, rules: this.o.config.rules, budgets: this.o.budgets, cacheOn: this.o.cacheOn, now, memo: this.memo };
    const names = (Object.keys(RULES) as RuleName[]).filter((n) => this.o.config.rules[n].enabled);
    const results = await Promise.all(names.map((n) => RULES[n](ctx).then((f) => ({ n, f }), (e: Error) => ({ n, e }))));
    const errors: Evaluation['errors'] = [];
    const findings: AlertFinding[] = [];
    const evaluated = new Set<string>();
    for (const r of results) {
      if ('e' in r) errors.push({ rule: r.n, error: r.e.message });
      else {
        evaluated.add(r.n);
        findings.push(...r.f);
      }
    }
    const states = new Map((await this.o.store.states()).map((s) => [s.key, s]));
    const changes: { state: AlertState; event: AlertEvent }[] = [];
    const event = (f: AlertFinding, kind: AlertEventKind): AlertEvent => ({ key: f.key, rule: f.rule, level: f.level, value: f.value, threshold: f.threshold, message: f.message, labels: f.labels, ts: now, kind });
    const seen = new Set<string>();
    const quiet: AlertState[] = [];
    for (const f of findings) {
      if (seen.has(f.key)) continue;
      seen.add(f.key);
      const s = states.get(f.key);
      let kind: AlertEventKind | undefined;
      if (!s || s.status === 'resolved') kind = 'firing';
      else if (s.level !== f.level) kind = 'changed';
      else if (this.renotifyMs !== undefined && now - s.lastNotifiedAt >= this.renotifyMs) kind = 'renotify';
      if (!kind) {
        // Still firing at the same level: keep the current value and message (the admin API shows them), silently.
        if (s && (s.value !== f.value || s.message !== f.message)) quiet.push({ ...s, ...f, status: 'firing', updatedAt: now });
        continue;
      }
      const since = kind === 'firing' || !s ? now : s.since;
      changes.push({ state: { ...f, status: 'firing', since, updatedAt: now, lastNotifiedAt: now }, event: event(f, kind) });
    }
    for (const s of states.values()) {
      // A rule that failed this time resolves nothing: an unreadable ledger is not a recovery.
      if (s.status !== 'firing' || seen.has(s.key) || !evaluated.has(s.rule)) continue;
      const f: AlertFinding = { ...s, message: `Resolved: ${s.message}` };
      changes.push({ state: { ...s, status: 'resolved', since: now, updatedAt: now, lastNotifiedAt: now }, event: event(f, 'resolved') });
    }
    for (const q of quiet) await this.o.store.save(q);
    const deliveries: DeliveryResult[] = [];
    for (const c of changes) {
      await this.o.store.save(c.state, c.event);
      const sent = await Promise.all(this.channels.map((ch) => deliver(ch, c.event, this.o.config.attempts, this.o.config.backoffMs)));
      for (const d of sent) if (!d.ok) process.emitWarning(`costgate: alert channel '${d.channel}' failed after ${d.attempts} attempts: ${d.error}`);
      deliveries.push(...sent);
    }
    if (changes.length) await this.o.store.prune(this.o.config.historyLimit);
    for (const e of errors) process.emitWarning(`costgate: alert rule '${e.rule}' could not be evaluated: ${e.error}`);
    const result: Evaluation = { at: now, findings, events: changes.map((c) => c.event), deliveries, errors };
    this.last = result;
    return result;
  }

  async firing(): Promise<AlertState[]> {
    return (await this.o.store.states()).filter((s) => s.status === 'firing').sort((a, b) => b.since - a.since);
  }

  history(limit = 100): Promise<AlertEvent[]> {
    return this.o.store.history(limit);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.interval) clearInterval(this.interval);
    if (this.debounce) clearTimeout(this.debounce);
    unsubscribe('costgate:budget', this.onBudget);
    await this.running?.catch(() => undefined);
    for (const ch of this.channels) await ch.close?.().catch(() => undefined);
    await this.o.store.close();
  }
}
