/**
 * The durable queue behind deferred requests: one row per job, one per provider batch, in SQLite (a file beside the
 * ledger, `<ledger>.batch.db`, WAL, synchronous=FULL so an accepted 202 survives a crash) or in memory.
 *
 * Job states: queued → (assigned to a local batch) submitted → done | failed; `syncing` while a synchronous fallback
 * runs. `ledgered` says the job's ledger row has been written; recovery writes the rows of done jobs that are not
 * ledgered yet, after checking the ledger, so a crash between the two never loses or doubles a charge.
 * Local batch states: preparing (jobs assigned, provider batch perhaps created) → submitted → ended.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type JobStatus = 'queued' | 'submitted' | 'syncing' | 'done' | 'failed';

export interface JobMeta {
  feature?: string;
  user?: string;
  team?: string;
  priority?: string;
  apiKeyId?: string;
  /** The model the client asked for (alias or name). */
  requestedModel: string;
  /** Client request headers replayed on a synchronous fallback (attribution only, never credentials). */
  headers: Record<string, string>;
  webhook?: string;
}

export interface Job {
  id: string;
  customId: string;
  createdAt: number;
  deadlineAt: number;
  endpoint: 'chat' | 'messages';
  surface: 'openai' | 'anthropic';
  provider: string;
  deployment: string;
  model: string;
  wire: 'openai' | 'anthropic';
  /** The upstream body in the provider's wire (what the batch line carries). */
  upstreamBody: string;
  /** The client's own body (for a synchronous fallback through the pipeline). */
  clientBody: string;
  meta: JobMeta;
  status: JobStatus;
  batchId: string | null;
  attempts: number;
  resultStatus: number | null;
  resultBody: string | null;
  via: 'batch' | 'sync' | null;
  costNanos: number | null;
  error: string | null;
  ledgered: boolean;
  webhookDone: boolean;
  completedAt: number | null;
}

export interface LocalBatch {
  id: string;
  provider: string;
  model: string;
  wire: 'openai' | 'anthropic';
  status: 'preparing' | 'submitted' | 'ended';
  upstreamId: string | null;
  inputFileId: string | null;
  createdAt: number;
  submittedAt: number | null;
  jobCount: number;
}

/** The queue's operations; SQLite (this file) and Postgres (postgres.ts) implement them. */
export interface QueueStore {
  readonly kind: 'sqlite' | 'postgres';
  insert(j: Omit<Job, 'status' | 'batchId' | 'attempts' | 'resultStatus' | 'resultBody' | 'via' | 'costNanos' | 'error' | 'ledgered' | 'webhookDone' | 'completedAt'>): Promise<{ inserted: boolean }>;
  get(id: string): Promise<Job | undefined>;
  byCustomId(customId: string): Promise<Job | undefined>;
  queues(): Promise<{ provider: string; model: string; wire: 'openai' | 'anthropic'; n: number; oldest: number; earliestDeadline: number }[]>;
  assign(batch: Omit<LocalBatch, 'status' | 'upstreamId' | 'inputFileId' | 'submittedAt' | 'jobCount'>, limit: number): Promise<LocalBatch | undefined>;
  batch(id: string): Promise<LocalBatch | undefined>;
  batches(status: LocalBatch['status']): Promise<LocalBatch[]>;
  jobsOf(batchId: string): Promise<Job[]>;
  setInputFile(batchId: string, fileId: string): Promise<void>;
  markSubmitted(batchId: string, upstreamId: string, now: number): Promise<void>;
  abandon(batchId: string): Promise<void>;
  applyResults(batchId: string, lines: { customId: string; kind: 'ok' | 'retry' | 'fail'; status: number; body: string; costNanos?: number; error?: string }[], now: number): Promise<void>;
  claimSync(id: string): Promise<boolean>;
  finishSync(id: string, status: number, body: string, costNanos: number, now: number): Promise<void>;
  failJob(id: string, status: number, body: string, error: string, now: number): Promise<void>;
  due(now: number, marginMs: number): Promise<Job[]>;
  exhausted(n: number): Promise<Job[]>;
  unledgered(): Promise<Job[]>;
  markLedgered(ids: string[]): Promise<void>;
  syncing(): Promise<Job[]>;
  requeue(id: string): Promise<void>;
  webhooksDue(): Promise<Job[]>;
  markWebhook(id: string): Promise<void>;
  counts(): Promise<Record<JobStatus, number>>;
  savePassthrough(upstreamId: string, provider: string, meta: JobMeta | Record<string, unknown>, now: number): Promise<void>;
  passthrough(upstreamId: string): Promise<{ provider: string; meta: Record<string, any> } | undefined>;
  claimed(batchId: string, customId: string): Promise<boolean>;
  claimLines(lines: [string, string][]): Promise<void>;
  close(): Promise<void>;
}

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS deferred_jobs (
  id TEXT PRIMARY KEY,
  custom_id TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  deadline_at INTEGER NOT NULL,
  endpoint TEXT NOT NULL,
  surface TEXT NOT NULL,
  provider TEXT NOT NULL,
  deployment TEXT NOT NULL,
  model TEXT NOT NULL,
  wire TEXT NOT NULL,
  upstream_body TEXT NOT NULL,
  client_body TEXT NOT NULL,
  meta TEXT NOT NULL,
  status TEXT NOT NULL,
  batch_id TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  result_status INTEGER,
  result_body TEXT,
  via TEXT,
  cost_nanos INTEGER,
  error TEXT,
  ledgered INTEGER NOT NULL DEFAULT 0,
  webhook_done INTEGER NOT NULL DEFAULT 0,
  completed_at INTEGER
);
CREATE INDEX IF NOT EXISTS deferred_jobs_status ON deferred_jobs (status, provider, model, created_at);
CREATE INDEX IF NOT EXISTS deferred_jobs_batch ON deferred_jobs (batch_id);
CREATE TABLE IF NOT EXISTS deferred_batches (
  id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  wire TEXT NOT NULL,
  status TEXT NOT NULL,
  upstream_id TEXT,
  input_file_id TEXT,
  created_at INTEGER NOT NULL,
  submitted_at INTEGER,
  job_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS passthrough_batches (
  upstream_id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  meta TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS passthrough_lines (
  batch_id TEXT NOT NULL,
  custom_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  PRIMARY KEY (batch_id, custom_id)
);
`;

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const flag = (v: unknown) => v === true || Number(v) === 1;

export function toJob(r: any): Job {
  return {
    id: r.id,
    customId: r.custom_id,
    createdAt: Number(r.created_at),
    deadlineAt: Number(r.deadline_at),
    endpoint: r.endpoint,
    surface: r.surface,
    provider: r.provider,
    deployment: r.deployment,
    model: r.model,
    wire: r.wire,
    upstreamBody: r.upstream_body,
    clientBody: r.client_body,
    meta: typeof r.meta === 'string' ? JSON.parse(r.meta) : r.meta,
    status: r.status,
    batchId: r.batch_id,
    attempts: Number(r.attempts),
    resultStatus: num(r.result_status),
    resultBody: r.result_body,
    via: r.via,
    costNanos: num(r.cost_nanos),
    error: r.error,
    ledgered: flag(r.ledgered),
    webhookDone: flag(r.webhook_done),
    completedAt: num(r.completed_at),
  };
}

export function toBatch(r: any): LocalBatch {
  return { id: r.id, provider: r.provider, model: r.model, wire: r.wire, status: r.status, upstreamId: r.upstream_id, inputFileId: r.input_file_id, createdAt: Number(r.created_at), submittedAt: num(r.submitted_at), jobCount: Number(r.job_count) };
}

export class SqliteQueue implements QueueStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    if (path !== ':memory:') {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
    }
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  async insert(j: Omit<Job, 'status' | 'batchId' | 'attempts' | 'resultStatus' | 'resultBody' | 'via' | 'costNanos' | 'error' | 'ledgered' | 'webhookDone' | 'completedAt'>): Promise<{ inserted: boolean }> {
    const r = this.db
      .prepare(
        `INSERT OR IGNORE INTO deferred_jobs (id, custom_id, created_at, deadline_at, endpoint, surface, provider, deployment, model, wire, upstream_body, client_body, meta, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued')`,
      )
      .run(j.id, j.customId, j.createdAt, j.deadlineAt, j.endpoint, j.surface, j.provider, j.deployment, j.model, j.wire, j.upstreamBody, j.clientBody, JSON.stringify(j.meta));
    return { inserted: r.changes === 1 };
  }

  async get(id: string): Promise<Job | undefined> {
    const r = this.db.prepare('SELECT * FROM deferred_jobs WHERE id = ?').get(id);
    return r ? toJob(r) : undefined;
  }

  async byCustomId(customId: string): Promise<Job | undefined> {
    const r = this.db.prepare('SELECT * FROM deferred_jobs WHERE custom_id = ?').get(customId);
    return r ? toJob(r) : undefined;
  }

  /** Queued jobs grouped by provider/model: count and oldest. */
  async queues(): Promise<{ provider: string; model: string; wire: 'openai' | 'anthropic'; n: number; oldest: number; earliestDeadline: number }[]> {
    return this.db
      .prepare(`SELECT provider, model, wire, COUNT(*) AS n, MIN(created_at) AS oldest, MIN(deadline_at) AS earliestDeadline FROM deferred_jobs WHERE status = 'queued' GROUP BY provider, model, wire`)
      .all() as any[];
  }

  /** Atomically assigns up to `limit` queued jobs of a provider/model to a new local batch. */
  async assign(batch: Omit<LocalBatch, 'status' | 'upstreamId' | 'inputFileId' | 'submittedAt' | 'jobCount'>, limit: number): Promise<LocalBatch | undefined> {
    return this.db.transaction(() => {
      const ids = this.db.prepare(`SELECT id FROM deferred_jobs WHERE status = 'queued' AND provider = ? AND model = ? AND wire = ? ORDER BY created_at LIMIT ?`).all(batch.provider, batch.model, batch.wire, limit) as { id: string }[];
      if (!ids.length) return undefined;
      this.db.prepare(`INSERT INTO deferred_batches (id, provider, model, wire, status, created_at, job_count) VALUES (?, ?, ?, ?, 'preparing', ?, ?)`).run(batch.id, batch.provider, batch.model, batch.wire, batch.createdAt, ids.length);
      const up = this.db.prepare(`UPDATE deferred_jobs SET status = 'submitted', batch_id = ?, attempts = attempts + 1 WHERE id = ?`);
      for (const { id } of ids) up.run(batch.id, id);
      return toBatch(this.db.prepare('SELECT * FROM deferred_batches WHERE id = ?').get(batch.id));
    })();
  }

  async batch(id: string): Promise<LocalBatch | undefined> {
    const r = this.db.prepare('SELECT * FROM deferred_batches WHERE id = ?').get(id);
    return r ? toBatch(r) : undefined;
  }

  async batches(status: LocalBatch['status']): Promise<LocalBatch[]> {
    return (this.db.prepare('SELECT * FROM deferred_batches WHERE status = ? ORDER BY created_at').all(status) as any[]).map(toBatch);
  }

  async jobsOf(batchId: string): Promise<Job[]> {
    return (this.db.prepare('SELECT * FROM deferred_jobs WHERE batch_id = ? ORDER BY created_at').all(batchId) as any[]).map(toJob);
  }

  async setInputFile(batchId: string, fileId: string): Promise<void> {
    this.db.prepare('UPDATE deferred_batches SET input_file_id = ? WHERE id = ?').run(fileId, batchId);
  }

  async markSubmitted(batchId: string, upstreamId: string, now: number): Promise<void> {
    this.db.prepare(`UPDATE deferred_batches SET status = 'submitted', upstream_id = ?, submitted_at = ? WHERE id = ?`).run(upstreamId, now, batchId);
  }

  /** A batch whose jobs all went back to the queue (its submission failed before the provider accepted it). */
  async abandon(batchId: string): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare(`UPDATE deferred_jobs SET status = 'queued', batch_id = NULL, attempts = MAX(attempts - 1, 0) WHERE batch_id = ? AND status = 'submitted'`).run(batchId);
      this.db.prepare(`UPDATE deferred_batches SET status = 'ended' WHERE id = ?`).run(batchId);
    })();
  }

  /**
   * Applies a finished batch's lines in one transaction: results, re-queues and failures, and ends the batch. Lines
   * for jobs no longer in this batch (already answered by a fallback) are ignored.
   */
  async applyResults(batchId: string, lines: { customId: string; kind: 'ok' | 'retry' | 'fail'; status: number; body: string; costNanos?: number; error?: string }[], now: number): Promise<void> {
    this.db.transaction(() => {
      const done = this.db.prepare(`UPDATE deferred_jobs SET status = 'done', result_status = ?, result_body = ?, via = 'batch', cost_nanos = ?, error = NULL, completed_at = ? WHERE custom_id = ? AND batch_id = ? AND status = 'submitted'`);
      const retry = this.db.prepare(`UPDATE deferred_jobs SET status = 'queued', batch_id = NULL, error = ? WHERE custom_id = ? AND batch_id = ? AND status = 'submitted'`);
      const fail = this.db.prepare(`UPDATE deferred_jobs SET status = 'failed', result_status = ?, result_body = ?, via = 'batch', cost_nanos = 0, error = ?, completed_at = ?, ledgered = 1 WHERE custom_id = ? AND batch_id = ? AND status = 'submitted'`);
      for (const l of lines) {
        if (l.kind === 'ok') done.run(l.status, l.body, l.costNanos ?? 0, now, l.customId, batchId);
        else if (l.kind === 'retry') retry.run(l.error ?? null, l.customId, batchId);
        else fail.run(l.status, l.body, l.error ?? null, now, l.customId, batchId);
      }
      // A line the provider never returned goes back to the queue.
      this.db.prepare(`UPDATE deferred_jobs SET status = 'queued', batch_id = NULL, error = 'missing from batch results' WHERE batch_id = ? AND status = 'submitted'`).run(batchId);
      this.db.prepare(`UPDATE deferred_batches SET status = 'ended' WHERE id = ?`).run(batchId);
    })();
  }

  /** Claims a job for a synchronous fallback (from queued or submitted); false when someone else got it first. */
  async claimSync(id: string): Promise<boolean> {
    return this.db.prepare(`UPDATE deferred_jobs SET status = 'syncing' WHERE id = ? AND status IN ('queued', 'submitted')`).run(id).changes === 1;
  }

  /** The synchronous fallback's result; its ledger row was written by the pipeline itself. */
  async finishSync(id: string, status: number, body: string, costNanos: number, now: number): Promise<void> {
    this.db.prepare(`UPDATE deferred_jobs SET status = ?, result_status = ?, result_body = ?, via = 'sync', cost_nanos = ?, completed_at = ?, ledgered = 1 WHERE id = ?`).run(status < 400 ? 'done' : 'failed', status, body, costNanos, now, id);
  }

  async failJob(id: string, status: number, body: string, error: string, now: number): Promise<void> {
    this.db.prepare(`UPDATE deferred_jobs SET status = 'failed', result_status = ?, result_body = ?, error = ?, completed_at = ?, ledgered = 1 WHERE id = ?`).run(status, body, error, now, id);
  }

  /** Jobs to fall back for: unanswered, deadline within `marginMs`. */
  async due(now: number, marginMs: number): Promise<Job[]> {
    return (this.db.prepare(`SELECT * FROM deferred_jobs WHERE status IN ('queued', 'submitted') AND deadline_at - ? <= ? ORDER BY deadline_at LIMIT 500`).all(now, marginMs) as any[]).map(toJob);
  }

  /** Retried past the limit: queued jobs with attempts >= n. */
  async exhausted(n: number): Promise<Job[]> {
    return (this.db.prepare(`SELECT * FROM deferred_jobs WHERE status = 'queued' AND attempts >= ? LIMIT 500`).all(n) as any[]).map(toJob);
  }

  async unledgered(): Promise<Job[]> {
    return (this.db.prepare(`SELECT * FROM deferred_jobs WHERE status = 'done' AND ledgered = 0 LIMIT 5000`).all() as any[]).map(toJob);
  }

  async markLedgered(ids: string[]): Promise<void> {
    const s = this.db.prepare('UPDATE deferred_jobs SET ledgered = 1 WHERE id = ?');
    this.db.transaction(() => ids.forEach((id) => s.run(id)))();
  }

  /** Jobs interrupted while a synchronous fallback ran (a crash). */
  async syncing(): Promise<Job[]> {
    return (this.db.prepare(`SELECT * FROM deferred_jobs WHERE status = 'syncing'`).all() as any[]).map(toJob);
  }

  async requeue(id: string): Promise<void> {
    this.db.prepare(`UPDATE deferred_jobs SET status = 'queued', batch_id = NULL WHERE id = ?`).run(id);
  }

  async webhooksDue(): Promise<Job[]> {
    return (this.db.prepare(`SELECT * FROM deferred_jobs WHERE status IN ('done', 'failed') AND webhook_done = 0 AND json_extract(meta, '$.webhook') IS NOT NULL LIMIT 100`).all() as any[]).map(toJob);
  }

  async markWebhook(id: string): Promise<void> {
    this.db.prepare('UPDATE deferred_jobs SET webhook_done = 1 WHERE id = ?').run(id);
  }

  async counts(): Promise<Record<JobStatus, number>> {
    const out: Record<string, number> = { queued: 0, submitted: 0, syncing: 0, done: 0, failed: 0 };
    for (const r of this.db.prepare('SELECT status, COUNT(*) AS n FROM deferred_jobs GROUP BY status').all() as { status: string; n: number }[]) out[r.status] = r.n;
    return out as Record<JobStatus, number>;
  }

  // ---- explicit passthrough batches
  async savePassthrough(upstreamId: string, provider: string, meta: JobMeta | Record<string, unknown>, now: number): Promise<void> {
    this.db.prepare('INSERT OR IGNORE INTO passthrough_batches (upstream_id, provider, meta, created_at) VALUES (?, ?, ?, ?)').run(upstreamId, provider, JSON.stringify(meta), now);
  }

  async passthrough(upstreamId: string): Promise<{ provider: string; meta: Record<string, any> } | undefined> {
    const r = this.db.prepare('SELECT provider, meta FROM passthrough_batches WHERE upstream_id = ?').get(upstreamId) as any;
    return r ? { provider: r.provider, meta: JSON.parse(r.meta) } : undefined;
  }

  async claimed(batchId: string, customId: string): Promise<boolean> {
    return this.db.prepare('SELECT 1 FROM passthrough_lines WHERE batch_id = ? AND custom_id = ?').get(batchId, customId) !== undefined;
  }

  /** Marks passthrough result lines metered (after their ledger rows were flushed). */
  async claimLines(lines: [string, string][]): Promise<void> {
    const s = this.db.prepare('INSERT OR IGNORE INTO passthrough_lines (batch_id, custom_id, request_id) VALUES (?, ?, ?)');
    this.db.transaction(() => lines.forEach(([b, c]) => s.run(b, c, `${b}:${c}`)))();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
