/**
 * README demo: 10,000 "nightly classification" requests, deferred (x-costgate-defer: 24h, via the library's
 * gw.defer) and, for comparison, the same 10,000 sent synchronously. Both through one gateway on the in-process
 * simulator (OpenAI Batch API: /v1/files + /v1/batches), SQLite ledger in a temp dir. Prints what the ledger says.
 *
 *   npm run build && node dist/bench/batch-demo.js [count]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway } from '../src/gateway.js';
import { nanosToUsd } from '../src/pricing/decimal.js';

const N = Number(process.argv[2] ?? 10_000);
const LABELS = ['billing', 'bug report', 'feature request', 'account access', 'spam'];

function ticket(i: number) {
  return {
    model: 'gpt-4o-mini',
    max_tokens: 8,
    messages: [
      { role: 'system', content: `Classify the support ticket into one of: ${LABELS.join(', ')}. Answer with the label only.` },
      { role: 'user', content: `Ticket #${i}: customer ${i % 97} writes about order ${i * 7919 % 100_000}; ${LABELS[i % LABELS.length]} related issue, please help.` },
    ],
  };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'cg-batch-demo-'));
  const gw = await createGateway({
    env: {},
    config: {
      providers: { sim: { type: 'simulator', simulator: { batchCompletionMs: 2_000, defaultOutputTokens: 4 } } },
      ledger: { store: 'sqlite', path: join(dir, 'ledger.db') },
      batch: { maxBatchSize: 5_000, maxAgeMs: 2_000, pollIntervalMs: 500, tickMs: 200 },
    },
  });
  try {
    let t0 = performance.now();
    const handles: Awaited<ReturnType<typeof gw.defer>>[] = [];
    let k = 0;
    // 32 clients at a time, as for the synchronous run below.
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (k < N) {
          const i = k++;
          const h = await gw.defer({ endpoint: 'chat', body: ticket(i), headers: { 'x-costgate-feature': 'nightly-classify-deferred' } }, { deadline: '24h' });
          if (h.accepted.status !== 202) throw new Error(`not accepted: ${h.accepted.status} ${String(h.accepted.body)}`);
          handles.push(h);
        }
      }),
    );
    const acceptMs = performance.now() - t0;
    const results = await Promise.all(handles.map((h) => h.result()));
    const deferredMs = performance.now() - t0;
    const viaBatch = results.filter((r) => r.via === 'batch' && r.status === 'completed').length;

    t0 = performance.now();
    const CONC = 32;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        while (next < N) {
          const i = next++;
          const r = await gw.handle({ endpoint: 'chat', body: ticket(i), headers: { 'x-costgate-feature': 'nightly-classify-sync' } });
          if (r.status !== 200) throw new Error(`sync ${r.status}`);
        }
      }),
    );
    const syncMs = performance.now() - t0;
    const rep = await gw.report({}, ['feature']);
    const by = (f: string) => rep.rows.find((g) => g.group.feature === f)!;
    const d = by('nightly-classify-deferred');
    const s = by('nightly-classify-sync');
    const pct = Number((d.costNanos * 100_000n) / s.costNanos) / 1000;
    console.log(JSON.stringify({
      requests: N,
      deferred: { accepted_in_ms: Math.round(acceptMs), all_done_in_ms: Math.round(deferredMs), via_batch: viaBatch, ledger_rows: d.requests, cost_usd: nanosToUsd(d.costNanos), input_tokens: d.inputTokens, output_tokens: d.outputTokens },
      sync: { done_in_ms: Math.round(syncMs), ledger_rows: s.requests, cost_usd: nanosToUsd(s.costNanos), input_tokens: s.inputTokens, output_tokens: s.outputTokens },
      deferred_cost_percent_of_sync: pct,
    }, null, 2));
  } finally {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
