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

const SCHEMA = `
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

function toJob(r: any): Job {
  return {
    id: r.id,
    customId: r.custom_id,
    createdAt: r.created_at,
    deadlineAt: r.deadline_at,
    endpoint: r.endpoint,
    surface: r.surface,
    provider: r.provider,
    deployment: r.deployment,
    model: r.model,
    wire: r.wire,
    upstreamBody: r.upstream_body,
    clientBody: r.client_body,
    meta: JSON.parse(r.meta),
    status: r.status,
    batchId: r.batch_id,
    attempts: r.attempts,
    resultStatus: r.result_status,
    resultBody: r.result_body,
    via: r.via,
    costNanos: r.cost_nanos,
    error: r.error,
    ledgered: r.ledgered === 1,
    webhookDone: r.webhook_done === 1,
    completedAt: r.completed_at,
  };
}

function toBatch(r: any): LocalBatch {
  return { id: r.id, provider: r.provider, model: r.model, wire: r.wire, status: r.status, upstreamId: r.upstream_id, inputFileId: r.input_file_id, createdAt: r.created_at, submittedAt: r.submitted_at, jobCount: r.job_count };
}

export class DeferredStore {
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

  insert(j: Omit<Job, 'status' | 'batchId' | 'attempts' | 'resultStatus' | 'resultBody' | 'via' | 'costNanos' | 'error' | 'ledgered' | 'webhookDone' | 'completedAt'>): { inserted: boolean } {
    const r = this.db
      .prepare(
        `INSERT OR IGNORE INTO deferred_jobs (id, custom_id, created_at, deadline_at, endpoint, surface, provider, deployment, model, wire, upstream_body, client_body, meta, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued')`,
      )
      .run(j.id, j.customId, j.createdAt, j.deadlineAt, j.endpoint, j.surface, j.provider, j.deployment, j.model, j.wire, j.upstreamBody, j.clientBody, JSON.stringify(j.meta));
    return { inserted: r.changes === 1 };
  }

  get(id: string): Job | undefined {
    const r = this.db.prepare('SELECT * FROM deferred_jobs WHERE id = ?').get(id);
    return r ? toJob(r) : undefined;
  }

  byCustomId(customId: string): Job | undefined {
    const r = this.db.prepare('SELECT * FROM deferred_jobs WHERE custom_id = ?').get(customId);
    return r ? toJob(r) : undefined;
  }

  /** Queued jobs grouped by provider/model: count and oldest. */
  queues(): { provider: string; model: string; wire: 'openai' | 'anthropic'; n: number; oldest: number; earliestDeadline: number }[] {
    return this.db
      .prepare(`SELECT provider, model, wire, COUNT(*) AS n, MIN(created_at) AS oldest, MIN(deadline_at) AS earliestDeadline FROM deferred_jobs WHERE status = 'queued' GROUP BY provider, model, wire`)
      .all() as any[];
  }

  /** Atomically assigns up to `limit` queued jobs of a provider/model to a new local batch. */
  assign(batch: Omit<LocalBatch, 'status' | 'upstreamId' | 'inputFileId' | 'submittedAt' | 'jobCount'>, limit: number): LocalBatch | undefined {
    return this.db.transaction(() => {
      const ids = this.db.prepare(`SELECT id FROM deferred_jobs WHERE status = 'queued' AND provider = ? AND model = ? AND wire = ? ORDER BY created_at LIMIT ?`).all(batch.provider, batch.model, batch.wire, limit) as { id: string }[];
      if (!ids.length) return undefined;
      this.db.prepare(`INSERT INTO deferred_batches (id, provider, model, wire, status, created_at, job_count) VALUES (?, ?, ?, ?, 'preparing', ?, ?)`).run(batch.id, batch.provider, batch.model, batch.wire, batch.createdAt, ids.length);
      const up = this.db.prepare(`UPDATE deferred_jobs SET status = 'submitted', batch_id = ?, attempts = attempts + 1 WHERE id = ?`);
      for (const { id } of ids) up.run(batch.id, id);
      return this.batch(batch.id);
    })();
  }

  batch(id: string): LocalBatch | undefined {
    const r = this.db.prepare('SELECT * FROM deferred_batches WHERE id = ?').get(id);
    return r ? toBatch(r) : undefined;
  }

  batches(status: LocalBatch['status']): LocalBatch[] {
    return (this.db.prepare('SELECT * FROM deferred_batches WHERE status = ? ORDER BY created_at').all(status) as any[]).map(toBatch);
  }

  jobsOf(batchId: string): Job[] {
    return (this.db.prepare('SELECT * FROM deferred_jobs WHERE batch_id = ? ORDER BY created_at').all(batchId) as any[]).map(toJob);
  }

  setInputFile(batchId: string, fileId: string): void {
    this.db.prepare('UPDATE deferred_batches SET input_file_id = ? WHERE id = ?').run(fileId, batchId);
  }

  markSubmitted(batchId: string, upstreamId: string, now: number): void {
    this.db.prepare(`UPDATE deferred_batches SET status = 'submitted', upstream_id = ?, submitted_at = ? WHERE id = ?`).run(upstreamId, now, batchId);
  }

  /** A batch whose jobs all went back to the queue (its submission failed before the provider accepted it). */
  abandon(batchId: string): void {
    this.db.transaction(() => {
      this.db.prepare(`UPDATE deferred_jobs SET status = 'queued', batch_id = NULL, attempts = MAX(attempts - 1, 0) WHERE batch_id = ? AND status = 'submitted'`).run(batchId);
      this.db.prepare(`UPDATE deferred_batches SET status = 'ended' WHERE id = ?`).run(batchId);
    })();
  }

  /**
   * Applies a finished batch's lines in one transaction: results, re-queues and failures, and ends the batch. Lines
   * for jobs no longer in this batch (already answered by a fallback) are ignored.
   */
  applyResults(batchId: string, lines: { customId: string; kind: 'ok' | 'retry' | 'fail'; status: number; body: string; costNanos?: number; error?: string }[], now: number): void {
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
  claimSync(id: string): boolean {
    return this.db.prepare(`UPDATE deferred_jobs SET status = 'syncing' WHERE id = ? AND status IN ('queued', 'submitted')`).run(id).changes === 1;
  }

  /** The synchronous fallback's result; its ledger row was written by the pipeline itself. */
  finishSync(id: string, status: number, body: string, costNanos: number, now: number): void {
    this.db.prepare(`UPDATE deferred_jobs SET status = ?, result_status = ?, result_body = ?, via = 'sync', cost_nanos = ?, completed_at = ?, ledgered = 1 WHERE id = ?`).run(status < 400 ? 'done' : 'failed', status, body, costNanos, now, id);
  }

  failJob(id: string, status: number, body: string, error: string, now: number): void {
    this.db.prepare(`UPDATE deferred_jobs SET status = 'failed', result_status = ?, result_body = ?, error = ?, completed_at = ?, ledgered = 1 WHERE id = ?`).run(status, body, error, now, id);
  }

  /** Jobs to fall back for: unanswered, deadline within `marginMs`. */
  due(now: number, marginMs: number): Job[] {
    return (this.db.prepare(`SELECT * FROM deferred_jobs WHERE status IN ('queued', 'submitted') AND deadline_at - ? <= ? ORDER BY deadline_at LIMIT 500`).all(now, marginMs) as any[]).map(toJob);
  }

  /** Retried past the limit: queued jobs with attempts >= n. */
  exhausted(n: number): Job[] {
    return (this.db.prepare(`SELECT * FROM deferred_jobs WHERE status = 'queued' AND attempts >= ? LIMIT 500`).all(n) as any[]).map(toJob);
  }

  unledgered(): Job[] {
    return (this.db.prepare(`SELECT * FROM deferred_jobs WHERE status = 'done' AND ledgered = 0 LIMIT 5000`).all() as any[]).map(toJob);
  }

  markLedgered(ids: string[]): void {
    const s = this.db.prepare('UPDATE deferred_jobs SET ledgered = 1 WHERE id = ?');
    this.db.transaction(() => ids.forEach((id) => s.run(id)))();
  }

  /** Jobs interrupted while a synchronous fallback ran (a crash). */
  syncing(): Job[] {
    return (this.db.prepare(`SELECT * FROM deferred_jobs WHERE status = 'syncing'`).all() as any[]).map(toJob);
  }

  requeue(id: string): void {
    this.db.prepare(`UPDATE deferred_jobs SET status = 'queued', batch_id = NULL WHERE id = ?`).run(id);
  }

  webhooksDue(): Job[] {
    return (this.db.prepare(`SELECT * FROM deferred_jobs WHERE status IN ('done', 'failed') AND webhook_done = 0 AND json_extract(meta, '$.webhook') IS NOT NULL LIMIT 100`).all() as any[]).map(toJob);
  }

  markWebhook(id: string): void {
    this.db.prepare('UPDATE deferred_jobs SET webhook_done = 1 WHERE id = ?').run(id);
  }

  counts(): Record<JobStatus, number> {
    const out: Record<string, number> = { queued: 0, submitted: 0, syncing: 0, done: 0, failed: 0 };
    for (const r of this.db.prepare('SELECT status, COUNT(*) AS n FROM deferred_jobs GROUP BY status').all() as { status: string; n: number }[]) out[r.status] = r.n;
    return out as Record<JobStatus, number>;
  }

  // ---- explicit passthrough batches
  savePassthrough(upstreamId: string, provider: string, meta: JobMeta | Record<string, unknown>, now: number): void {
    this.db.prepare('INSERT OR IGNORE INTO passthrough_batches (upstream_id, provider, meta, created_at) VALUES (?, ?, ?, ?)').run(upstreamId, provider, JSON.stringify(meta), now);
  }

  passthrough(upstreamId: string): { provider: string; meta: Record<string, any> } | undefined {
    const r = this.db.prepare('SELECT provider, meta FROM passthrough_batches WHERE upstream_id = ?').get(upstreamId) as any;
    return r ? { provider: r.provider, meta: JSON.parse(r.meta) } : undefined;
  }

  claimed(batchId: string, customId: string): boolean {
    return this.db.prepare('SELECT 1 FROM passthrough_lines WHERE batch_id = ? AND custom_id = ?').get(batchId, customId) !== undefined;
  }

  /** Marks passthrough result lines metered (after their ledger rows were flushed). */
  claimLines(lines: [string, string][]): void {
    const s = this.db.prepare('INSERT OR IGNORE INTO passthrough_lines (batch_id, custom_id, request_id) VALUES (?, ?, ?)');
    this.db.transaction(() => lines.forEach(([b, c]) => s.run(b, c, `${b}:${c}`)))();
  }

  close(): void {
    this.db.close();
  }
}
