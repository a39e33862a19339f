/**
 * The deferred queue in Postgres, for a Postgres ledger: tables `deferred_jobs`, `deferred_batches`,
 * `passthrough_batches`, `passthrough_lines` in the ledger's schema (created under the same advisory lock idea as
 * the ledger's migrations). Same semantics as the SQLite queue; assignment uses `FOR UPDATE SKIP LOCKED`, so several
 * replicas can flush one queue without assigning a job twice.
 */
import pg from 'pg';
import type { Job, JobMeta, JobStatus, LocalBatch, QueueStore } from './store.js';
import { toBatch, toJob } from './store.js';
import { inTransaction } from '../stores/pg-transaction.js';

const ident = (s: string) => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(s)) throw new Error(`invalid Postgres schema name: ${s}`);
  return `"${s}"`;
};

export class PostgresQueue implements QueueStore {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly s: string;

  constructor(url: string, schema = 'costgate') {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    this.pool.on('error', () => undefined);
    this.s = ident(schema);
  }

  private t(n: string): string {
    return `${this.s}.${n}`;
  }

  async init(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock(hashtext($1))', [`costgate-batch-${this.s}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await c.query(`
        CREATE TABLE IF NOT EXISTS ${this.t('deferred_jobs')} (
          id TEXT PRIMARY KEY, custom_id TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, deadline_at BIGINT NOT NULL,
          endpoint TEXT NOT NULL, surface TEXT NOT NULL, provider TEXT NOT NULL, deployment TEXT NOT NULL, model TEXT NOT NULL,
          wire TEXT NOT NULL, upstream_body TEXT NOT NULL, client_body TEXT NOT NULL, meta JSONB NOT NULL, status TEXT NOT NULL,
          batch_id TEXT, attempts INTEGER NOT NULL DEFAULT 0, result_status INTEGER, result_body TEXT, via TEXT, cost_nanos BIGINT,
          error TEXT, ledgered BOOLEAN NOT NULL DEFAULT false, webhook_done BOOLEAN NOT NULL DEFAULT false, completed_at BIGINT);
        CREATE INDEX IF NOT EXISTS deferred_jobs_status ON ${this.t('deferred_jobs')} (status, provider, model, created_at);
        CREATE INDEX IF NOT EXISTS deferred_jobs_batch ON ${this.t('deferred_jobs')} (batch_id);
        CREATE TABLE IF NOT EXISTS ${this.t('deferred_batches')} (
          id TEXT PRIMARY KEY, provider TEXT NOT NULL, model TEXT NOT NULL, wire TEXT NOT NULL, status TEXT NOT NULL,
          upstream_id TEXT, input_file_id TEXT, created_at BIGINT NOT NULL, submitted_at BIGINT, job_count INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS ${this.t('passthrough_batches')} (upstream_id TEXT PRIMARY KEY, provider TEXT NOT NULL, meta JSONB NOT NULL, created_at BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS ${this.t('passthrough_lines')} (batch_id TEXT NOT NULL, custom_id TEXT NOT NULL, request_id TEXT NOT NULL, PRIMARY KEY (batch_id, custom_id));
      `);
    } finally {
      await c.query('SELECT pg_advisory_unlock(hashtext($1))', [`costgate-batch-${this.s}`]).catch(() => undefined);
      c.release();
    }
  }

  private async q(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    return this.pool.query(sql, params);
  }

  private tx<T>(f: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, f);
  }

  async insert(j: Parameters<QueueStore['insert']>[0]): Promise<{ inserted: boolean }> {
    const r = await this.q(
      `INSERT INTO ${this.t('deferred_jobs')} (id, custom_id, created_at, deadline_at, endpoint, surface, provider, deployment, model, wire, upstream_body, client_body, meta, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'queued') ON CONFLICT DO NOTHING`,
      [j.id, j.customId, j.createdAt, j.deadlineAt, j.endpoint, j.surface, j.provider, j.deployment, j.model, j.wire, j.upstreamBody, j.clientBody, JSON.stringify(j.meta)],
    );
    return { inserted: r.rowCount === 1 };
  }

  private async jobs(where: string, params: unknown[] = []): Promise<Job[]> {
    return (await this.q(`SELECT * FROM ${this.t('deferred_jobs')} WHERE ${where}`, params)).rows.map(toJob);
  }

  async get(id: string): Promise<Job | undefined> {
    return (await this.jobs('id = $1', [id]))[0];
  }

  async byCustomId(customId: string): Promise<Job | undefined> {
    return (await this.jobs('custom_id = $1', [customId]))[0];
  }

  async queues(): Promise<{ provider: string; model: string; wire: 'openai' | 'anthropic'; n: number; oldest: number; earliestDeadline: number }[]> {
    const r = await this.q(`SELECT provider, model, wire, COUNT(*) AS n, MIN(created_at) AS oldest, MIN(deadline_at) AS earliest FROM ${this.t('deferred_jobs')} WHERE status = 'queued' GROUP BY provider, model, wire`);
    return r.rows.map((x) => ({ provider: x.provider, model: x.model, wire: x.wire, n: Number(x.n), oldest: Number(x.oldest), earliestDeadline: Number(x.earliest) }));
  }

  async assign(batch: Parameters<QueueStore['assign']>[0], limit: number): Promise<LocalBatch | undefined> {
    return this.tx(async (c) => {
      const ids = (await c.query(`SELECT id FROM ${this.t('deferred_jobs')} WHERE status = 'queued' AND provider = $1 AND model = $2 AND wire = $3 ORDER BY created_at LIMIT $4 FOR UPDATE SKIP LOCKED`, [batch.provider, batch.model, batch.wire, limit])).rows.map((r) => r.id as string);
      if (!ids.length) return undefined;
      await c.query(`INSERT INTO ${this.t('deferred_batches')} (id, provider, model, wire, status, created_at, job_count) VALUES ($1, $2, $3, $4, 'preparing', $5, $6)`, [batch.id, batch.provider, batch.model, batch.wire, batch.createdAt, ids.length]);
      await c.query(`UPDATE ${this.t('deferred_jobs')} SET status = 'submitted', batch_id = $1, attempts = attempts + 1 WHERE id = ANY($2)`, [batch.id, ids]);
      return toBatch((await c.query(`SELECT * FROM ${this.t('deferred_batches')} WHERE id = $1`, [batch.id])).rows[0]);
    });
  }

  async batch(id: string): Promise<LocalBatch | undefined> {
    const r = (await this.q(`SELECT * FROM ${this.t('deferred_batches')} WHERE id = $1`, [id])).rows[0];
    return r ? toBatch(r) : undefined;
  }

  async batches(status: LocalBatch['status']): Promise<LocalBatch[]> {
    return (await this.q(`SELECT * FROM ${this.t('deferred_batches')} WHERE status = $1 ORDER BY created_at`, [status])).rows.map(toBatch);
  }

  async jobsOf(batchId: string): Promise<Job[]> {
    return this.jobs('batch_id = $1 ORDER BY created_at', [batchId]);
  }

  async setInputFile(batchId: string, fileId: string): Promise<void> {
    await this.q(`UPDATE ${this.t('deferred_batches')} SET input_file_id = $1 WHERE id = $2`, [fileId, batchId]);
  }

  async markSubmitted(batchId: string, upstreamId: string, now: number): Promise<void> {
    await this.q(`UPDATE ${this.t('deferred_batches')} SET status = 'submitted', upstream_id = $1, submitted_at = $2 WHERE id = $3`, [upstreamId, now, batchId]);
  }

  async abandon(batchId: string): Promise<void> {
    await this.tx(async (c) => {
      await c.query(`UPDATE ${this.t('deferred_jobs')} SET status = 'queued', batch_id = NULL, attempts = GREATEST(attempts - 1, 0) WHERE batch_id = $1 AND status = 'submitted'`, [batchId]);
      await c.query(`UPDATE ${this.t('deferred_batches')} SET status = 'ended' WHERE id = $1`, [batchId]);
    });
  }

  async applyResults(batchId: string, lines: Parameters<QueueStore['applyResults']>[1], now: number): Promise<void> {
    const J = this.t('deferred_jobs');
    await this.tx(async (c) => {
      for (const l of lines) {
        if (l.kind === 'ok') await c.query(`UPDATE ${J} SET status = 'done', result_status = $1, result_body = $2, via = 'batch', cost_nanos = $3, error = NULL, completed_at = $4 WHERE custom_id = $5 AND batch_id = $6 AND status = 'submitted'`, [l.status, l.body, l.costNanos ?? 0, now, l.customId, batchId]);
        else if (l.kind === 'retry') await c.query(`UPDATE ${J} SET status = 'queued', batch_id = NULL, error = $1 WHERE custom_id = $2 AND batch_id = $3 AND status = 'submitted'`, [l.error ?? null, l.customId, batchId]);
        else await c.query(`UPDATE ${J} SET status = 'failed', result_status = $1, result_body = $2, via = 'batch', cost_nanos = 0, error = $3, completed_at = $4, ledgered = true WHERE custom_id = $5 AND batch_id = $6 AND status = 'submitted'`, [l.status, l.body, l.error ?? null, now, l.customId, batchId]);
      }
      await c.query(`UPDATE ${J} SET status = 'queued', batch_id = NULL, error = 'missing from batch results' WHERE batch_id = $1 AND status = 'submitted'`, [batchId]);
      await c.query(`UPDATE ${this.t('deferred_batches')} SET status = 'ended' WHERE id = $1`, [batchId]);
    });
  }

  async claimSync(id: string): Promise<boolean> {
    return (await this.q(`UPDATE ${this.t('deferred_jobs')} SET status = 'syncing' WHERE id = $1 AND status IN ('queued', 'submitted')`, [id])).rowCount === 1;
  }

  async finishSync(id: string, status: number, body: string, costNanos: number, now: number): Promise<void> {
    await this.q(`UPDATE ${this.t('deferred_jobs')} SET status = $1, result_status = $2, result_body = $3, via = 'sync', cost_nanos = $4, completed_at = $5, ledgered = true WHERE id = $6`, [status < 400 ? 'done' : 'failed', status, body, costNanos, now, id]);
  }

  async failJob(id: string, status: number, body: string, error: string, now: number): Promise<void> {
    await this.q(`UPDATE ${this.t('deferred_jobs')} SET status = 'failed', result_status = $1, result_body = $2, error = $3, completed_at = $4, ledgered = true WHERE id = $5`, [status, body, error, now, id]);
  }

  async due(now: number, marginMs: number): Promise<Job[]> {
    return this.jobs(`status IN ('queued', 'submitted') AND deadline_at - $1 <= $2 ORDER BY deadline_at LIMIT 500`, [now, marginMs]);
  }

  async exhausted(n: number): Promise<Job[]> {
    return this.jobs(`status = 'queued' AND attempts >= $1 LIMIT 500`, [n]);
  }

  async unledgered(): Promise<Job[]> {
    return this.jobs(`status = 'done' AND NOT ledgered LIMIT 5000`);
  }

  async markLedgered(ids: string[]): Promise<void> {
    if (ids.length) await this.q(`UPDATE ${this.t('deferred_jobs')} SET ledgered = true WHERE id = ANY($1)`, [ids]);
  }

  async syncing(): Promise<Job[]> {
    return this.jobs(`status = 'syncing'`);
  }

  async requeue(id: string): Promise<void> {
    await this.q(`UPDATE ${this.t('deferred_jobs')} SET status = 'queued', batch_id = NULL WHERE id = $1`, [id]);
  }

  async webhooksDue(): Promise<Job[]> {
    return this.jobs(`status IN ('done', 'failed') AND NOT webhook_done AND meta->>'webhook' IS NOT NULL LIMIT 100`);
  }

  async markWebhook(id: string): Promise<void> {
    await this.q(`UPDATE ${this.t('deferred_jobs')} SET webhook_done = true WHERE id = $1`, [id]);
  }

  async counts(): Promise<Record<JobStatus, number>> {
    const out: Record<string, number> = { queued: 0, submitted: 0, syncing: 0, done: 0, failed: 0 };
    for (const r of (await this.q(`SELECT status, COUNT(*) AS n FROM ${this.t('deferred_jobs')} GROUP BY status`)).rows) out[r.status] = Number(r.n);
    return out as Record<JobStatus, number>;
  }

  async savePassthrough(upstreamId: string, provider: string, meta: JobMeta | Record<string, unknown>, now: number): Promise<void> {
    await this.q(`INSERT INTO ${this.t('passthrough_batches')} (upstream_id, provider, meta, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [upstreamId, provider, JSON.stringify(meta), now]);
  }

  async passthrough(upstreamId: string): Promise<{ provider: string; meta: Record<string, any> } | undefined> {
    const r = (await this.q(`SELECT provider, meta FROM ${this.t('passthrough_batches')} WHERE upstream_id = $1`, [upstreamId])).rows[0];
    return r ? { provider: r.provider, meta: r.meta } : undefined;
  }

  async claimed(batchId: string, customId: string): Promise<boolean> {
    return ((await this.q(`SELECT 1 FROM ${this.t('passthrough_lines')} WHERE batch_id = $1 AND custom_id = $2`, [batchId, customId])).rowCount ?? 0) > 0;
  }

  async claimLines(lines: [string, string][]): Promise<void> {
    if (!lines.length) return;
    await this.q(
      `INSERT INTO ${this.t('passthrough_lines')} (batch_id, custom_id, request_id) SELECT b, c, b || ':' || c FROM unnest($1::text[], $2::text[]) AS x(b, c) ON CONFLICT DO NOTHING`,
      [lines.map((l) => l[0]), lines.map((l) => l[1])],
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
