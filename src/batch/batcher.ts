/**
 * The batcher: collects deferred jobs per provider/model into provider batch jobs (OpenAI JSONL file + /v1/batches,
 * Anthropic /v1/messages/batches), flushing on size or age; polls; splits results back to each job; re-queues failed
 * lines individually; and answers a job synchronously (full price, through the normal pipeline) when its deadline
 * would otherwise be missed or its lines keep failing.
 *
 * Every step is a state change in the QueueStore first, so a crash at any point is resumed on the next start:
 *  - queued jobs are simply batched later;
 *  - a local batch still `preparing` (the process died around the upload or the create call) is looked up at the
 *    provider by its `metadata.costgate_batch` (OpenAI) before anything is re-submitted, so a batch is never paid twice;
 *  - results are applied to jobs in one transaction, then ledger rows are written for done jobs not yet `ledgered`,
 *    after checking the ledger for the job's request id — no row is lost and none is written twice.
 * Crash points for tests: COSTGATE_BATCH_CRASH_AT=uploaded|submitted|results|ledgered kills the process (SIGKILL).
 */
import { uuid7 } from '../util/uuid7.js';
import type { ResolvedConfig, ResolvedProvider } from '../config/load.js';
import type { Pricer, Priced } from '../pricing/pricer.js';
import type { LedgerStore } from '../stores/ledger/types.js';
import type { LedgerWriter } from '../stores/ledger/writer.js';
import { toRows } from '../stores/ledger/rows.js';
import type { RequestRecord } from '../pipeline/record.js';
import type { GatewayRequest, GatewayResponse } from '../pipeline/ctx.js';
import { fromAnthropicUsage, fromOpenAIUsage } from '../providers/usage.js';
import { anthropicToOpenAIResponse, openaiToAnthropicResponse } from '../providers/shared/translate-response.js';
import { SqliteQueue, type QueueStore, type Job, type LocalBatch } from './store.js';
import { sendWebhook } from './webhook.js';
import { nanosToUsd } from '../pricing/decimal.js';

type Json = Record<string, any>;

export interface BatcherDeps {
  config: ResolvedConfig;
  pricer: Pricer;
  ledger: { store: LedgerStore; writer: LedgerWriter };
  /** The gateway's pipeline, for synchronous fallbacks. */
  handle: (req: GatewayRequest) => Promise<GatewayResponse>;
  /** SQLite queue file (`:memory:` for a memory ledger). */
  storePath: string;
  /** The queue in Postgres (when the ledger is Postgres): tables in this schema. */
  postgres?: { url: string; schema: string };
}

export const BATCH_PROVIDER_TYPES = new Set(['openai', 'anthropic', 'simulator']);

function crashAt(point: string): void {
  if (process.env.COSTGATE_BATCH_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}

/** An exact decimal USD string (`0.000123000`) to integer nano-dollars. */
export function nanosFromUsd(v: string | undefined): number {
  const m = v ? /^(-?)(\d+)(?:\.(\d+))?$/.exec(v) : null;
  if (!m) return 0;
  const n = BigInt(m[2]!) * 1_000_000_000n + BigInt((m[3] ?? '').padEnd(9, '0').slice(0, 9));
  return Number(m[1] ? -n : n);
}

export class Batcher {
  private storeRef?: Promise<QueueStore>;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private closed = false;
  private readonly lastPoll = new Map<string, number>();
  private readonly webhookTries = new Map<string, { n: number; next: number }>();
  /** Budget settlements waiting for a job's result (in-process only: a restart lets the reservation expire). */
  readonly settlers = new Map<string, ((p: Priced) => void)[]>();
  private readonly waiters = new Map<string, ((j: Job) => void)[]>();

  constructor(private readonly d: BatcherDeps) {}

  get cfg() {
    return this.d.config.batch;
  }

  /** The queue, opened on first use. */
  store(): Promise<QueueStore> {
    if (!this.storeRef) {
      this.storeRef = this.open();
      this.storeRef.then(() => this.schedule(), () => undefined);
    }
    return this.storeRef;
  }

  private async open(): Promise<QueueStore> {
    if (this.d.postgres) {
      const { PostgresQueue } = await import('./postgres.js');
      const q = new PostgresQueue(this.d.postgres.url, this.d.postgres.schema);
      await q.init();
      return q;
    }
    return new SqliteQueue(this.d.storePath);
  }

  /** Opens the queue now when it exists (restart recovery), else waits for the first deferral. */
  resumeIfPresent(exists: boolean): void {
    if (exists) void this.store().catch((e) => process.emitWarning(`costgate: deferred queue unavailable: ${(e as Error).message}`));
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.tick()
        .catch((e) => process.emitWarning(`costgate: batcher tick failed (will retry): ${(e as Error).message}`))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.cfg.tickMs);
    this.timer.unref();
  }

  /** Resolves when the job ends (done or failed). */
  async wait(id: string): Promise<Job> {
    const j = await (await this.store()).get(id);
    if (j && (j.status === 'done' || j.status === 'failed')) return Promise.resolve(j);
    return new Promise((r) => {
      const l = this.waiters.get(id) ?? [];
      l.push(r);
      this.waiters.set(id, l);
    });
  }

  private async notify(ids: Iterable<string>): Promise<void> {
    const s = await this.store();
    for (const id of ids) {
      const l = this.waiters.get(id);
      if (!l) continue;
      const j = await s.get(id);
      if (!j || (j.status !== 'done' && j.status !== 'failed')) continue;
      this.waiters.delete(id);
      for (const f of l) f(j);
    }
  }

  /** One pass: recover, fall back, flush, poll, ledger, webhooks. Also callable directly (tests, demo). */
  async tick(now = Date.now()): Promise<void> {
    const s = await this.store();
    await this.recoverPreparing(s);
    await this.recoverSyncing(s);
    await this.fallbacks(s, now);
    await this.flush(s, now);
    await this.poll(s, Date.now());
    await this.writeLedger(s);
    await this.webhooks(s);
  }

  private provider(name: string): ResolvedProvider {
    const p = this.d.config.providers.get(name);
    if (!p || !p.baseUrl) throw new Error(`provider ${name} is not configured (or has no base URL)`);
    return p;
  }

  private async call(p: ResolvedProvider, wire: 'openai' | 'anthropic', method: string, path: string, body?: BodyInit, contentType = 'application/json'): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { ...p.headers, ...p.adapter.authHeaders(p.apiKey, wire) };
    if (body !== undefined && contentType) headers['content-type'] = contentType;
    const url = path.startsWith('http') ? path : `${p.baseUrl!.replace(/\/+$/, '')}${path}`;
    const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(p.timeouts?.totalMs ?? 600_000) });
    return { status: res.status, text: await res.text() };
  }

  private async json(p: ResolvedProvider, wire: 'openai' | 'anthropic', method: string, path: string, body?: unknown): Promise<Json> {
    const r = await this.call(p, wire, method, path, body === undefined ? undefined : JSON.stringify(body));
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
    return JSON.parse(r.text);
  }

  // ---------------------------------------------------------------- flush / submit
  private async flush(s: QueueStore, now: number): Promise<void> {
    for (const q of await s.queues()) {
      const full = q.n >= this.cfg.maxBatchSize;
      const old = now - q.oldest >= this.cfg.maxAgeMs;
      if (!full && !old) continue;
      let left = q.n;
      while (left > 0 && !this.closed) {
        const b = await s.assign({ id: `lb_${uuid7().replace(/-/g, '')}`, provider: q.provider, model: q.model, wire: q.wire, createdAt: Date.now() }, this.cfg.maxBatchSize);
        if (!b) break;
        left -= b.jobCount;
        await this.submit(s, b);
      }
    }
  }

  private async submit(s: QueueStore, b: LocalBatch): Promise<void> {
    const p = this.provider(b.provider);
    const jobs = await s.jobsOf(b.id);
    try {
      if (b.wire === 'openai') {
        let fileId = b.inputFileId;
        if (!fileId) {
          const lines = jobs.map((j) => JSON.stringify({ custom_id: j.customId, method: 'POST', url: '/v1/chat/completions', body: JSON.parse(j.upstreamBody) })).join('\n') + '\n';
          const form = new FormData();
          form.append('purpose', 'batch');
          form.append('file', new Blob([lines], { type: 'application/jsonl' }), `${b.id}.jsonl`);
          const r = await this.call(p, 'openai', 'POST', '/files', form, '');
          if (r.status >= 300) throw new Error(`file upload: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
          fileId = String(JSON.parse(r.text).id);
          await s.setInputFile(b.id, fileId);
          crashAt('uploaded');
        }
        const created = await this.json(p, 'openai', 'POST', '/batches', { input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { costgate_batch: b.id } });
        crashAt('submitted');
        await s.markSubmitted(b.id, String(created.id), Date.now());
      } else {
        const requests = jobs.map((j) => ({ custom_id: j.customId, params: JSON.parse(j.upstreamBody) }));
        const created = await this.json(p, 'anthropic', 'POST', '/messages/batches', { requests });
        crashAt('submitted');
        await s.markSubmitted(b.id, String(created.id), Date.now());
      }
    } catch (e) {
      // Not accepted by the provider: the jobs go back to the queue (a later flush, or the deadline fallback).
      process.emitWarning(`costgate: batch submission to ${b.provider} failed (jobs re-queued): ${(e as Error).message}`);
      await s.abandon(b.id);
    }
  }

  /** Batches left `preparing` by a crash: adopt the provider's batch when it exists, else submit again. */
  private async recoverPreparing(s: QueueStore): Promise<void> {
    for (const b of await s.batches('preparing')) {
      if (b.wire === 'openai') {
        try {
          const p = this.provider(b.provider);
          const list = await this.json(p, 'openai', 'GET', '/batches?limit=100');
          const found = (list.data as Json[] | undefined)?.find((x) => x.metadata?.costgate_batch === b.id);
          if (found) {
            await s.markSubmitted(b.id, String(found.id), Date.now());
            continue;
          }
        } catch (e) {
          process.emitWarning(`costgate: batch recovery lookup failed (will retry): ${(e as Error).message}`);
          continue;
        }
      }
      await this.submit(s, b);
    }
  }

  /** Jobs whose synchronous fallback was interrupted: re-run unless the ledger shows it was answered (billed). */
  private async recoverSyncing(s: QueueStore): Promise<void> {
    const jobs = await s.syncing();
    if (!jobs.length) return;
    await this.d.ledger.writer.flushNow();
    for (const j of jobs) {
      const { rows } = await this.d.ledger.store.query({ requestId: j.id, limit: 1 });
      if (rows.length) await s.failJob(j.id, 500, JSON.stringify({ error: { message: 'The gateway restarted while this deferred request was being answered synchronously; it was billed (see the ledger) but its response was lost.', type: 'server_error', param: null, code: 'deferred_result_lost' } }), 'result lost in a restart', Date.now());
      else await s.requeue(j.id);
    }
  }

  // ---------------------------------------------------------------- poll / results
  private async poll(s: QueueStore, now: number): Promise<void> {
    for (const b of await s.batches('submitted')) {
      if (this.closed) return;
      const last = this.lastPoll.get(b.id) ?? b.submittedAt ?? 0;
      if (now - last < this.cfg.pollIntervalMs) continue;
      this.lastPoll.set(b.id, now);
      try {
        const p = this.provider(b.provider);
        if (b.wire === 'openai') await this.pollOpenAI(s, p, b);
        else await this.pollAnthropic(s, p, b);
      } catch (e) {
        process.emitWarning(`costgate: polling batch ${b.upstreamId} failed (will retry): ${(e as Error).message}`);
      }
    }
  }

  private async pollOpenAI(s: QueueStore, p: ResolvedProvider, b: LocalBatch): Promise<void> {
    const st = await this.json(p, 'openai', 'GET', `/batches/${b.upstreamId}`);
    if (!['completed', 'failed', 'expired', 'cancelled'].includes(st.status)) return;
    const lines: string[] = [];
    for (const f of [st.output_file_id, st.error_file_id]) {
      if (!f) continue;
      const r = await this.call(p, 'openai', 'GET', `/files/${f}/content`);
      if (r.status >= 300) throw new Error(`batch output ${f}: HTTP ${r.status}`);
      lines.push(...r.text.split('\n').filter((l) => l.trim()));
    }
    await this.apply(s, b, lines.map((l) => {
      const x = JSON.parse(l);
      const ok = x.response?.status_code === 200 && x.response.body;
      return { customId: String(x.custom_id), ok: Boolean(ok), body: ok ? x.response.body : undefined, error: x.error?.message ?? x.error?.code ?? `HTTP ${x.response?.status_code}` };
    }));
  }

  private async pollAnthropic(s: QueueStore, p: ResolvedProvider, b: LocalBatch): Promise<void> {
    const st = await this.json(p, 'anthropic', 'GET', `/messages/batches/${b.upstreamId}`);
    if (st.processing_status !== 'ended') return;
    const r = await this.call(p, 'anthropic', 'GET', st.results_url ?? `/messages/batches/${b.upstreamId}/results`);
    if (r.status >= 300) throw new Error(`batch results: HTTP ${r.status}`);
    await this.apply(s, b, r.text.split('\n').filter((l) => l.trim()).map((l) => {
      const x = JSON.parse(l);
      const ok = x.result?.type === 'succeeded';
      return { customId: String(x.custom_id), ok, body: ok ? x.result.message : undefined, error: ok ? undefined : x.result?.error?.error?.message ?? x.result?.type };
    }));
  }

  /** The body the synchronous call would have returned, in the client's wire format. */
  private clientBody(j: Job, upstream: Json): Json {
    if (j.wire === j.surface) return upstream;
    return j.wire === 'anthropic' ? anthropicToOpenAIResponse(upstream) : openaiToAnthropicResponse(upstream);
  }

  private async apply(s: QueueStore, b: LocalBatch, lines: { customId: string; ok: boolean; body?: Json; error?: string }[]): Promise<void> {
    const now = Date.now();
    const jobs = new Map((await s.jobsOf(b.id)).map((j) => [j.customId, j]));
    const out: Parameters<QueueStore['applyResults']>[1] = [];
    const late: Job[] = [];
    for (const l of lines) {
      const j = jobs.get(l.customId);
      if (!j) continue;
      if (j.status !== 'submitted') {
        // Answered synchronously (deadline fallback) while this batch ran: the provider still bills the line.
        if (l.ok && l.body) late.push({ ...j, id: `${j.id}:late`.slice(0, 128), completedAt: now, resultBody: JSON.stringify(l.body) });
        continue;
      }
      if (l.ok && l.body) {
        const body = JSON.stringify(this.clientBody(j, l.body));
        const { priced } = this.record({ ...j, resultBody: body, resultStatus: 200, completedAt: now }, l.body);
        out.push({ customId: l.customId, kind: 'ok', status: 200, body, costNanos: priced.costNanos });
      } else out.push({ customId: l.customId, kind: 'retry', status: 0, body: '', error: l.error });
    }
    if (late.length) await this.writeLate(late);
    await s.applyResults(b.id, out, now);
    crashAt('results');
  }

  /** Ledger rows for billed batch lines whose job was answered otherwise (idempotent by request id). */
  private async writeLate(jobs: Job[]): Promise<void> {
    const { writer, store } = this.d.ledger;
    await writer.flushNow();
    for (const j of jobs) {
      if ((await store.query({ requestId: j.id, limit: 1 })).rows.length) continue;
      const { rec, priced } = this.record(j, JSON.parse(j.resultBody!));
      rec.governance = ['deferred:batch-late'];
      const { row, attempts } = toRows(rec, priced);
      writer.push(row, attempts);
    }
    await writer.flushNow();
  }

  /** The ledger record of a job answered by a batch line (priced at batch rates). */
  private record(j: Job, upstream: Json): { rec: RequestRecord; priced: Priced } {
    const usage = j.wire === 'anthropic' ? fromAnthropicUsage(upstream.usage) : fromOpenAIUsage(upstream.usage);
    const ts = j.completedAt ?? Date.now();
    const latencyMs = Math.max(0, ts - j.createdAt);
    const rec: RequestRecord = {
      id: j.id,
      ts,
      endpoint: j.endpoint,
      surface: j.surface,
      requestedModel: j.meta.requestedModel,
      model: j.model,
      upstreamModel: typeof upstream.model === 'string' ? upstream.model : undefined,
      provider: j.provider,
      deployment: j.deployment,
      feature: j.meta.feature,
      user: j.meta.user,
      team: j.meta.team,
      priority: j.meta.priority as RequestRecord['priority'],
      apiKeyId: j.meta.apiKeyId,
      stream: false,
      status: 200,
      usage,
      latencyMs,
      clientAborted: false,
      batch: true,
      governance: [`deferred:batch`],
      attempts: [{ n: 1, deployment: j.deployment, provider: j.provider, model: j.model, startedAt: j.createdAt, latencyMs, status: 200, outcome: 'ok', usage }],
    };
    return { rec, priced: this.d.pricer.price(rec) };
  }

  /** Ledger rows for done jobs not yet ledgered; a row already in the ledger (a crash after writing) is not written again. */
  private async writeLedger(s: QueueStore): Promise<void> {
    const jobs = await s.unledgered();
    if (!jobs.length) return;
    const { writer, store } = this.d.ledger;
    await writer.flushNow();
    const written: string[] = [];
    for (const j of jobs) {
      if (j.via !== 'batch' || !j.resultBody) {
        written.push(j.id);
        continue;
      }
      const { rows } = await store.query({ requestId: j.id, limit: 1 });
      if (rows.length === 0) {
        // Rebuilt from the upstream usage in the stored body (client wire); usage fields are translated both ways.
        const body = JSON.parse(j.resultBody);
        const upstream = j.wire === j.surface ? body : j.surface === 'openai' ? openaiToAnthropicResponse(body) : anthropicToOpenAIResponse(body);
        const { rec, priced } = this.record(j, upstream);
        const { row, attempts } = toRows(rec, priced);
        writer.push(row, attempts);
        for (const f of this.settlers.get(j.id) ?? []) {
          try {
            f(priced);
          } catch {
            /* settlement never breaks the batcher */
          }
        }
      }
      this.settlers.delete(j.id);
      written.push(j.id);
    }
    await writer.flushNow();
    crashAt('ledgered');
    await s.markLedgered(written);
    await this.notify(written);
  }

  // ---------------------------------------------------------------- fallbacks
  private async fallbacks(s: QueueStore, now: number): Promise<void> {
    const jobs = [...(await s.due(now, this.cfg.fallbackMarginMs)), ...(await s.exhausted(this.cfg.maxLineAttempts))];
    const seen = new Set<string>();
    for (const j of jobs) {
      if (seen.has(j.id) || this.closed) continue;
      seen.add(j.id);
      await this.runSync(s, j);
    }
  }

  /** Answers a job through the normal pipeline (full price; the meter writes its ledger row). */
  async runSync(s: QueueStore, j: Job): Promise<void> {
    if (!(await s.claimSync(j.id))) return;
    const res = await this.d.handle({
      endpoint: j.endpoint,
      body: JSON.parse(j.clientBody),
      headers: { ...j.meta.headers, 'x-costgate-request-id': j.id, 'content-type': 'application/json' },
      noDefer: true,
    });
    let text = '';
    if (res.body !== undefined) text = typeof res.body === 'string' ? res.body : Buffer.from(res.body).toString('utf8');
    await s.finishSync(j.id, res.status, text, nanosFromUsd(res.headers['x-costgate-cost-usd']), Date.now());
    // The meter settled this call's own budget reservation; the deferral's reservation is released at $0.
    for (const f of this.settlers.get(j.id) ?? []) {
      try {
        f({ costNanos: 0, baselineModel: null, baselineCostNanos: 0, priceSource: 'deferred-sync', attemptCosts: [] });
      } catch {
        /* ignore */
      }
    }
    this.settlers.delete(j.id);
    await this.notify([j.id]);
  }

  // ---------------------------------------------------------------- webhooks
  private async webhooks(s: QueueStore): Promise<void> {
    const now = Date.now();
    for (const j of await s.webhooksDue()) {
      const t = this.webhookTries.get(j.id) ?? { n: 0, next: 0 };
      if (t.next > now) continue;
      try {
        const status = await sendWebhook(j.meta.webhook!, deferredView(j), this.d.config.batch.webhookSecretValue, this.cfg.webhookAllowPrivate);
        if (status >= 200 && status < 300) {
          await s.markWebhook(j.id);
          this.webhookTries.delete(j.id);
          continue;
        }
        throw new Error(`HTTP ${status}`);
      } catch (e) {
        t.n++;
        t.next = now + Math.min(3_600_000, 1000 * 2 ** t.n);
        this.webhookTries.set(j.id, t);
        if (t.n >= 8 || /refused/.test((e as Error).message)) {
          process.emitWarning(`costgate: webhook for ${j.id} given up: ${(e as Error).message}`);
          await s.markWebhook(j.id);
          this.webhookTries.delete(j.id);
        }
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    const s = this.storeRef ? await this.storeRef.catch(() => undefined) : undefined;
    if (!s) return;
    // Results already stored get their ledger rows before the ledger closes (a crash instead is recovered at start).
    await this.writeLedger(s).catch((e) => process.emitWarning(`costgate: batch ledger rows deferred to the next start: ${(e as Error).message}`));
    await s.close();
  }
}

/** The deferred job as `GET /v1/costgate/deferred/{id}` shows it. */
export function deferredView(j: Job): Json {
  let response: unknown = null;
  if (j.resultBody) {
    try {
      response = JSON.parse(j.resultBody);
    } catch {
      response = j.resultBody;
    }
  }
  const usd = (n: number | null) => (n === null ? null : nanosToUsd(n));
  return {
    id: j.id,
    object: 'costgate.deferred',
    status: j.status === 'syncing' ? 'in_progress' : j.status === 'submitted' ? 'in_progress' : j.status === 'done' ? 'completed' : j.status,
    endpoint: j.endpoint,
    model: j.meta.requestedModel,
    provider: j.provider,
    created_at: new Date(j.createdAt).toISOString(),
    deadline: new Date(j.deadlineAt).toISOString(),
    completed_at: j.completedAt ? new Date(j.completedAt).toISOString() : null,
    via: j.via,
    attempts: j.attempts,
    cost_usd: usd(j.costNanos),
    response_status: j.resultStatus,
    response,
    error: j.error,
  };
}
