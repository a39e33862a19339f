/**
 * Batching: deferred requests through provider Batch APIs (the simulator's OpenAI /v1/files + /v1/batches and
 * Anthropic /v1/messages/batches), results identical in shape to the synchronous call, batch prices (50 %),
 * failed lines retried individually then answered synchronously, the deadline fallback, signed webhooks, and the
 * explicit /v1/files + /v1/batches passthrough metered once per result line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { toFile } from 'openai';
import { withTestGateway, postJson, type TestGateway } from './helpers/gateway.js';
import { verifyWebhook, checkWebhookTarget, isPrivateAddress, signWebhook } from '../src/batch/webhook.js';
import type { Simulator } from '../src/providers/simulator/server.js';
import { startSimulator } from '../src/providers/simulator/server.js';
import { fromOpenAIUsage } from '../src/providers/usage.js';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PG_URL, requirePostgres } from './helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function config(sim: Simulator, batch: Record<string, unknown> = {}) {
  return {
    providers: { sim: { type: 'simulator' as const, baseUrl: sim.baseUrl } },
    ledger: { store: 'memory' as const },
    batch: { maxAgeMs: 100, tickMs: 25, pollIntervalMs: 40, fallbackMarginMs: 0, ...batch },
  };
}

async function withSim(opts: Parameters<typeof startSimulator>[0], fn: (sim: Simulator) => Promise<void>) {
  const sim = await startSimulator(opts);
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

async function waitDeferred(t: TestGateway, id: string, timeoutMs = 10_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${t.url}/v1/costgate/deferred/${id}`);
    assert.equal(r.status, 200);
    const j = await r.json();
    if (j.status === 'completed' || j.status === 'failed') return j;
    if (Date.now() > end) throw new Error(`job ${id} still ${j.status}`);
    await sleep(20);
  }
}

const chat = (text: string) => ({ model: 'gpt-4o-mini', max_tokens: 32, messages: [{ role: 'user', content: text }] });

test('deferred chat: 202 + job id, batched, result identical in shape to the synchronous call, priced at 50 %', async () => {
  await withSim({ batchCompletionMs: 150 }, (sim) =>
    // Flushed on size (3), whatever the machine's speed: the three share one provider batch.
    withTestGateway({ config: config(sim, { maxBatchSize: 3, maxAgeMs: 60_000 }) }, async (t) => {
      const sync = await postJson(`${t.url}/v1/chat/completions`, chat('classify: the invoice is overdue'), { 'x-costgate-request-id': 'sync-1' });
      assert.equal(sync.status, 200);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await postJson(`${t.url}/v1/chat/completions`, chat('classify: the invoice is overdue'), { 'x-costgate-defer': '6h', 'x-costgate-feature': 'nightly', 'x-costgate-request-id': `def-${i}` });
        assert.equal(r.status, 202, r.text);
        assert.equal(r.json.object, 'costgate.deferred');
        assert.equal(r.json.id, `def-${i}`);
        assert.equal(r.json.status, 'queued');
        assert.equal(r.headers.get('location'), `/v1/costgate/deferred/def-${i}`);
        assert.equal(r.headers.get('x-costgate-deferred-id'), `def-${i}`);
        assert.equal(r.headers.get('x-costgate-cost-usd'), '0.000000000');
        const deadline = Date.parse(r.headers.get('x-costgate-deadline')!);
        assert.ok(deadline - Date.now() > 5.9 * 3600_000 && deadline - Date.now() <= 6 * 3600_000);
        ids.push(r.json.id);
      }
      // Nothing is in the ledger for an accepted deferral: its row is written when the result lands.
      assert.equal((await t.gw.requests({ requestId: 'def-0' })).rows.length, 0);
      const done = await Promise.all(ids.map((id) => waitDeferred(t, id)));
      // One provider batch for the three (same provider/model, flushed on size), one line each.
      assert.equal(sim.batch.batches, 1);
      assert.equal(sim.batch.submitted.size, 3);
      for (const d of done) {
        assert.equal(d.status, 'completed');
        assert.equal(d.via, 'batch');
        assert.equal(d.response_status, 200);
        // The same shape (and, from the deterministic simulator, the same answer) as the synchronous call.
        assert.deepEqual(Object.keys(d.response).sort(), Object.keys(sync.json).sort());
        assert.equal(d.response.object, 'chat.completion');
        assert.deepEqual(d.response.choices[0].message, sync.json.choices[0].message);
        assert.deepEqual(d.response.usage, sync.json.usage);
      }
      const [syncRow] = (await t.gw.requests({ requestId: 'sync-1' })).rows;
      const [row] = (await t.gw.requests({ requestId: 'def-0' })).rows;
      assert.ok(syncRow && row);
      assert.equal(row.batch, true);
      assert.equal(syncRow.batch, false);
      assert.equal(row.feature, 'nightly');
      assert.equal(row.governance, 'deferred:batch');
      assert.equal(row.status, 200);
      assert.equal(row.inputTokens, syncRow.inputTokens);
      assert.equal(row.outputTokens, syncRow.outputTokens);
      assert.ok(syncRow.costNanos > 0);
      // Batch rates are half: equal up to a nano-dollar of rounding on each side.
      assert.ok(Math.abs(row.costNanos * 2 - syncRow.costNanos) <= 2, `${row.costNanos} vs ${syncRow.costNanos}`);
      assert.equal(row.baselineCostNanos, syncRow.costNanos);
      assert.equal(done[0].cost_usd, (row.costNanos / 1e9).toFixed(9));
      assert.equal((await t.gw.requests({ feature: 'nightly' })).rows.length, 3);
    }),
  );
});

test('deferred Anthropic messages go through /v1/messages/batches; an OpenAI-surface call to claude is translated back', async () => {
  await withSim({ batchCompletionMs: 100 }, (sim) =>
    withTestGateway({ config: config(sim) }, async (t) => {
      const body = { model: 'claude-haiku-4-5', max_tokens: 40, messages: [{ role: 'user', content: 'summarise the ticket' }] };
      const sync = await postJson(`${t.url}/v1/messages`, body, { 'anthropic-version': '2023-06-01' });
      assert.equal(sync.status, 200);
      const a = await postJson(`${t.url}/v1/messages`, body, { 'anthropic-version': '2023-06-01', 'x-costgate-defer': '1h' });
      assert.equal(a.status, 202, a.text);
      const o = await postJson(`${t.url}/v1/chat/completions`, { ...body }, { 'x-costgate-defer': '1h' });
      assert.equal(o.status, 202, o.text);
      const [da, dOai] = [await waitDeferred(t, a.json.id), await waitDeferred(t, o.json.id)];
      assert.ok((sim.counts['/v1/messages/batches'] ?? 0) >= 1);
      assert.equal(da.via, 'batch');
      assert.equal(da.response.type, 'message');
      assert.deepEqual(Object.keys(da.response).sort(), Object.keys(sync.json).sort());
      assert.deepEqual(da.response.content, sync.json.content);
      assert.equal(dOai.response.object, 'chat.completion');
      assert.equal(typeof dOai.response.choices[0].message.content, 'string');
      const [row] = (await t.gw.requests({ requestId: a.json.id })).rows;
      assert.equal(row!.batch, true);
      assert.equal(row!.surface, 'anthropic');
      assert.ok(row!.costNanos > 0);
    }),
  );
});

test('failed batch lines are retried individually, then answered synchronously; the rest of the batch is not resent', async () => {
  await withSim({ batchCompletionMs: 60 }, (sim) =>
    withTestGateway({ config: config(sim, { maxLineAttempts: 2 }) }, async (t) => {
      const ok = await postJson(`${t.url}/v1/chat/completions`, chat('fine line'), { 'x-costgate-defer': '2h' });
      const bad = await postJson(`${t.url}/v1/chat/completions`, chat('poison line [sim:batch-fail]'), { 'x-costgate-defer': '2h' });
      assert.equal(ok.status, 202);
      assert.equal(bad.status, 202);
      const dOk = await waitDeferred(t, ok.json.id);
      const dBad = await waitDeferred(t, bad.json.id);
      assert.equal(dOk.via, 'batch');
      assert.equal(dOk.attempts, 1);
      // Two batch attempts (the second one alone), then the synchronous call at full price.
      assert.equal(dBad.status, 'completed');
      assert.equal(dBad.via, 'sync');
      assert.equal(dBad.attempts, 2);
      assert.equal(dBad.response.object, 'chat.completion');
      const counts = [...sim.batch.submitted.values()].sort();
      assert.deepEqual(counts, [1, 2]);
      // At least one batch of its own for the retry (the first two may share one, or not on a slow machine).
      assert.ok(sim.batch.batches >= 2);
      const rows = (await t.gw.requests({ requestId: bad.json.id })).rows;
      assert.equal(rows.length, 1, 'one ledger row: the synchronous answer');
      assert.equal(rows[0]!.batch, false);
      assert.ok(rows[0]!.costNanos > 0);
    }),
  );
});

test('deadline fallback: a job that cannot finish in a batch before its deadline is sent synchronously; the late batch line is still ledgered', async () => {
  await withSim({ batchCompletionMs: 2500 }, (sim) =>
    withTestGateway({ config: config(sim, { fallbackMarginMs: 3000, maxAgeMs: 100 }) }, async (t) => {
      // Submitted in a batch after ~0.1 s (2.5 s to complete), deadline 4 s: answered synchronously at deadline - 3 s.
      const r = await postJson(`${t.url}/v1/chat/completions`, chat('urgent enough'), { 'x-costgate-defer': '4s' });
      assert.equal(r.status, 202);
      const d = await waitDeferred(t, r.json.id);
      assert.equal(d.status, 'completed');
      assert.equal(d.via, 'sync');
      assert.ok(Date.parse(d.completed_at) < Date.parse(d.deadline), 'answered before the deadline');
      assert.equal(d.response.object, 'chat.completion');
      const rows = (await t.gw.requests({ requestId: r.json.id })).rows;
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.batch, false);
      assert.equal(sim.batch.submitted.size, 1);
      // The provider bills the batch line that finished after the fallback: it is in the ledger too, at batch price.
      const end = Date.now() + 5000;
      let late: any[] = [];
      while (!late.length && Date.now() < end) {
        await sleep(50);
        late = (await t.gw.requests({ requestId: `${r.json.id}:late` })).rows;
      }
      assert.equal(late.length, 1);
      assert.equal(late[0].batch, true);
      assert.equal(late[0].governance, 'deferred:batch-late');
      assert.ok(Math.abs(late[0].costNanos * 2 - rows[0]!.costNanos) <= 2);
      assert.equal((await t.gw.deferred(r.json.id))!.via, 'sync');
    }),
  );
});

test('refusals: streaming, bad deadline, too long, embeddings, bad webhook URL — 400 naming the header', async () => {
  await withSim({}, (sim) =>
    withTestGateway({ config: config(sim) }, async (t) => {
      const cases: [unknown, Record<string, string>, string, RegExp][] = [
        [{ ...chat('x'), stream: true }, { 'x-costgate-defer': '6h' }, 'x-costgate-defer', /streaming/],
        [chat('x'), { 'x-costgate-defer': 'soon' }, 'x-costgate-defer', /deadline like/],
        [chat('x'), { 'x-costgate-defer': '48h' }, 'x-costgate-defer', /longest deadline is 24h/],
        [chat('x'), { 'x-costgate-defer': '1h', 'x-costgate-defer-webhook': 'ftp://x/y' }, 'x-costgate-defer-webhook', /http and https/],
      ];
      for (const [body, headers, param, msg] of cases) {
        const r = await postJson(`${t.url}/v1/chat/completions`, body, headers);
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.error.param, param);
        assert.match(r.json.error.message, msg);
        assert.ok(r.headers.get('x-costgate-request-id'));
      }
      const e = await postJson(`${t.url}/v1/embeddings`, { model: 'text-embedding-3-small', input: 'x' }, { 'x-costgate-defer': '1h' });
      assert.equal(e.status, 400);
      assert.equal(e.json.error.param, 'x-costgate-defer');
      const unknown = await fetch(`${t.url}/v1/costgate/deferred/nope`);
      assert.equal(unknown.status, 404);
      // x-costgate-defer: none runs synchronously even under a feature policy.
    }),
  );
});

test('feature policy defers without a header; x-costgate-defer: none opts out; the library gw.defer resolves with the result', async () => {
  await withSim({ batchCompletionMs: 50 }, (sim) =>
    withTestGateway({ config: config(sim, { features: { nightly: '12h' } }) }, async (t) => {
      const p = await postJson(`${t.url}/v1/chat/completions`, chat('policy'), { 'x-costgate-feature': 'nightly' });
      assert.equal(p.status, 202);
      const n = await postJson(`${t.url}/v1/chat/completions`, chat('policy'), { 'x-costgate-feature': 'nightly', 'x-costgate-defer': 'none' });
      assert.equal(n.status, 200);
      assert.equal(n.json.object, 'chat.completion');
      const h = await t.gw.defer({ endpoint: 'chat', body: chat('library call') }, { deadline: '1h' });
      assert.equal(h.accepted.status, 202);
      const res = await h.result();
      assert.equal(res.status, 'completed');
      assert.equal(res.via, 'batch');
      assert.equal(res.response.object, 'chat.completion');
      assert.equal((await t.gw.deferred(h.id))!.status, 'completed');
      assert.equal((await waitDeferred(t, p.json.id)).via, 'batch');
      // Idempotent: the same request id again is the same (finished) job, not a new one.
      const again = await postJson(`${t.url}/v1/chat/completions`, chat('policy'), { 'x-costgate-feature': 'nightly', 'x-costgate-request-id': p.json.id });
      assert.equal(again.status, 202);
      assert.equal(again.json.id, p.json.id);
      assert.equal(again.json.status, 'completed');
      const counts = await (await fetch(`${t.url}/v1/costgate/deferred`)).json();
      assert.equal(counts.counts.done, 2);
      assert.equal(counts.counts.queued, 0);
      assert.equal((await t.gw.requests({ requestId: p.json.id })).rows.length, 1);
    }),
  );
});

test('webhook: signed POST when the job ends; verification fails for a changed body or secret; private targets refused', async () => {
  const got: { body: string; sig: string }[] = [];
  const srv = createServer((req, res) => {
    let b = '';
    req.on('data', (c) => (b += c)).on('end', () => {
      got.push({ body: b, sig: String(req.headers['x-costgate-signature'] ?? '') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`;
  try {
    await withSim({ batchCompletionMs: 50 }, (sim) =>
      withTestGateway({ config: config(sim, { webhookAllowPrivate: true }), env: { COSTGATE_WEBHOOK_SECRET: 'whsec-test' } }, async (t) => {
        const r = await postJson(`${t.url}/v1/chat/completions`, chat('hook me'), { 'x-costgate-defer': '1h', 'x-costgate-defer-webhook': hook });
        assert.equal(r.status, 202);
        await waitDeferred(t, r.json.id);
        const end = Date.now() + 5000;
        while (!got.length && Date.now() < end) await sleep(20);
        assert.equal(got.length, 1);
        const payload = JSON.parse(got[0]!.body);
        assert.equal(payload.id, r.json.id);
        assert.equal(payload.status, 'completed');
        assert.equal(payload.response.object, 'chat.completion');
        assert.match(got[0]!.sig, /^t=\d+,v1=[0-9a-f]{64}$/);
        assert.equal(verifyWebhook('whsec-test', got[0]!.body, got[0]!.sig), true);
        assert.equal(verifyWebhook('other-secret', got[0]!.body, got[0]!.sig), false);
        assert.equal(verifyWebhook('whsec-test', got[0]!.body.replace('completed', 'failed'), got[0]!.sig), false);
        await sleep(200);
        assert.equal(got.length, 1, 'delivered once');
      }),
    );
  } finally {
    srv.close();
  }
  // Replay protection: an old timestamp is refused even with a valid MAC.
  const old = signWebhook('s', '{}', Math.floor(Date.now() / 1000) - 3600);
  assert.equal(verifyWebhook('s', '{}', old), false);
  for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fd00::1', '::ffff:127.0.0.1', '100.64.0.1']) assert.equal(isPrivateAddress(ip), true, ip);
  for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700::1111']) assert.equal(isPrivateAddress(ip), false, ip);
  await assert.rejects(checkWebhookTarget('http://127.0.0.1:9/x', false), /private address/);
  await assert.rejects(checkWebhookTarget('http://localhost:9/x', false), /private address/);
  await checkWebhookTarget('http://127.0.0.1:9/x', true);
});

test('explicit passthrough: /v1/files + /v1/batches with the OpenAI SDK, each result line metered once at batch prices', async () => {
  await withSim({ batchCompletionMs: 100 }, (sim) =>
    withTestGateway({ config: config(sim) }, async (t) => {
      const client = new OpenAI({ apiKey: 'unused', baseURL: `${t.url}/v1`, maxRetries: 0 });
      const lines = [0, 1, 2, 3].map((i) => JSON.stringify({ custom_id: `line-${i}`, method: 'POST', url: '/v1/chat/completions', body: chat(`passthrough ${i}`) })).join('\n');
      const file = await client.files.create({ file: await toFile(Buffer.from(lines), 'in.jsonl'), purpose: 'batch' });
      assert.match(file.id, /^file-/);
      assert.equal(file.purpose, 'batch');
      const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }, { headers: { 'x-costgate-feature': 'explicit' } });
      assert.equal(batch.status, 'in_progress');
      assert.equal((await t.gw.requests({ feature: 'explicit' })).rows.length, 0);
      let b = batch;
      const end = Date.now() + 5000;
      while (b.status !== 'completed' && Date.now() < end) {
        await sleep(30);
        b = await client.batches.retrieve(batch.id);
      }
      assert.equal(b.status, 'completed');
      assert.deepEqual(b.request_counts, { total: 4, completed: 4, failed: 0 });
      const content = await (await client.files.content(b.output_file_id!)).text();
      const out = content.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(out.map((l) => l.custom_id).sort(), ['line-0', 'line-1', 'line-2', 'line-3']);
      // Retrieved again, listed, and the results endpoint: still one row per line.
      await client.batches.retrieve(batch.id);
      const list = await client.batches.list();
      assert.ok(list.data.some((x) => x.id === batch.id));
      const res = await fetch(`${t.url}/v1/batches/${batch.id}/results`);
      assert.equal(res.status, 200);
      assert.equal((await res.text()).trim().split('\n').length, 4);
      const rows = (await t.gw.requests({ feature: 'explicit' })).rows;
      assert.equal(rows.length, 4);
      for (const r of rows) {
        assert.equal(r.batch, true);
        assert.equal(r.status, 200);
        assert.ok(r.requestId.startsWith(`${batch.id}:line-`));
        const line = out.find((l) => r.requestId.endsWith(l.custom_id))!;
        assert.equal(r.outputTokens, line.response.body.usage.completion_tokens);
        const full = t.gw.pricer.cost(fromOpenAIUsage(line.response.body.usage)!, r.model, 'sim')!.nanos;
        assert.ok(Math.abs(r.costNanos * 2 - full) <= 2, `${r.costNanos} vs ${full}`);
      }
      // Cancel: an unknown batch is the provider's 404, passed through.
      await assert.rejects(client.batches.cancel('batch_nope'), (e: any) => e.status === 404);
      const b2 = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      const c = await client.batches.cancel(b2.id);
      assert.equal(c.status, 'cancelled');
    }),
  );
});

test('simulator batch expiry: an expired batch fails its lines with batch_expired; the batcher re-queues and falls back', async () => {
  await withSim({ batchCompletionMs: 10_000, batchExpireMs: 80 }, (sim) =>
    withTestGateway({ config: config(sim, { maxLineAttempts: 2 }) }, async (t) => {
      const r = await postJson(`${t.url}/v1/chat/completions`, chat('will expire'), { 'x-costgate-defer': '3h' });
      const d = await waitDeferred(t, r.json.id);
      assert.equal(d.via, 'sync');
      assert.equal(d.attempts, 2);
      assert.match(d.error ?? '', /completion window expired/);
      const client = new OpenAI({ apiKey: 'x', baseURL: sim.baseUrl, maxRetries: 0 });
      const list = await client.batches.list();
      assert.ok(list.data.length >= 2 && list.data.every((b) => b.status === 'expired'));
      const errs = await (await client.files.content(list.data[0]!.error_file_id!)).text();
      assert.equal(JSON.parse(errs.trim()).error.code, 'batch_expired');
    }),
  );
});

test('Postgres ledger: the queue lives in its schema; deferred and explicit batches are metered once', async (t) => {
  if (!(await requirePostgres())) return void t.skip(`postgres unreachable at ${PG_URL}`);
  const schema = `cg_batchq_${randomBytes(4).toString('hex')}`;
  try {
    await withSim({ batchCompletionMs: 80 }, (sim) =>
      withTestGateway({ config: { ...config(sim), ledger: { store: 'postgres', url: 'env:DATABASE_URL', schema } }, env: { DATABASE_URL: PG_URL } }, async (g) => {
        const ids = [];
        for (let i = 0; i < 3; i++) {
          const r = await postJson(`${g.url}/v1/chat/completions`, chat(`pg ${i}`), { 'x-costgate-defer': '1h', 'x-costgate-feature': 'pgq' });
          assert.equal(r.status, 202, r.text);
          ids.push(r.json.id);
        }
        for (const id of ids) assert.equal((await waitDeferred(g, id)).via, 'batch');
        const client = new OpenAI({ apiKey: 'unused', baseURL: `${g.url}/v1`, maxRetries: 0 });
        const file = await client.files.create({ file: await toFile(Buffer.from(JSON.stringify({ custom_id: 'only', method: 'POST', url: '/v1/chat/completions', body: chat('pg explicit') })), 'in.jsonl'), purpose: 'batch' });
        const b = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }, { headers: { 'x-costgate-feature': 'pgq-explicit' } });
        await sleep(150);
        assert.equal((await client.batches.retrieve(b.id)).status, 'completed');
        await client.batches.retrieve(b.id);
        assert.equal((await g.gw.requests({ feature: 'pgq' })).rows.filter((r) => r.batch).length, 3);
        assert.equal((await g.gw.requests({ feature: 'pgq-explicit' })).rows.length, 1);
      }),
    );
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      assert.equal(Number((await c.query(`SELECT COUNT(*) AS n FROM "${schema}".deferred_jobs WHERE status = 'done' AND ledgered`)).rows[0].n), 3);
      assert.equal(Number((await c.query(`SELECT COUNT(*) AS n FROM "${schema}".passthrough_lines`)).rows[0].n), 1);
    } finally {
      await c.end();
    }
  } finally {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }
});

test('priorities.deferOptional: an optional call shed for capacity is deferred (202) instead of 503; off, it is shed', async () => {
  await withSim({ ttftMs: 600, batchCompletionMs: 50 }, async (sim) => {
    for (const deferOptional of [true, false]) {
      await withTestGateway({ config: { ...config(sim), priorities: { maxInFlight: 2, optionalShedAt: 0.5, deferOptional } } }, async (t) => {
        const busy = postJson(`${t.url}/v1/chat/completions`, chat('busy'), { 'x-costgate-priority': 'critical' });
        await sleep(150);
        const r = await postJson(`${t.url}/v1/chat/completions`, chat('optional work'), { 'x-costgate-priority': 'optional' });
        if (deferOptional) {
          assert.equal(r.status, 202, r.text);
          assert.equal(r.json.object, 'costgate.deferred');
          const d = await waitDeferred(t, r.json.id);
          assert.equal(d.via, 'batch');
          assert.equal(d.response.object, 'chat.completion');
          const [row] = (await t.gw.requests({ requestId: r.json.id })).rows;
          assert.equal(row!.batch, true);
        } else {
          assert.equal(r.status, 503, r.text);
          assert.equal(r.json.error.code, 'load_shed');
          assert.equal(r.headers.get('x-costgate-shed'), 'capacity');
        }
        assert.equal((await busy).status, 200);
      });
    }
  });
});
