/**
 * `costgate simulate` against a live replay: a workload goes through the gateway with no policy; the what-if simulator
 * predicts, from that ledger, the cost under a policy (output caps + batching of a deferrable feature); the same
 * workload then goes through a gateway configured with that policy. The prediction must be within 2 % of the
 * ledger's actual cost (the bar), and the policy must have changed something.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTestGateway, postJson, type TestGateway } from './helpers/gateway.js';
import { startSimulator, type Simulator } from '../src/providers/simulator/server.js';
import { fromLedger } from '../src/simulate/workload.js';
import { parsePolicy } from '../src/simulate/policy.js';
import { whatIf } from '../src/simulate/run.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 48 calls: a chat feature (some asking fewer tokens than the cap, most none) and a nightly feature. */
function workload(): { body: Record<string, unknown>; feature: string; id: string }[] {
  const out = [];
  for (let i = 0; i < 48; i++) {
    const feature = i % 3 === 0 ? 'nightly' : 'chat';
    const body: Record<string, unknown> = { model: i % 4 === 1 ? 'gpt-4o-mini' : 'gpt-4o', messages: [{ role: 'user', content: `${feature} request ${i}: ${'summarise the quarterly numbers '.repeat(1 + (i % 5))}` }] };
    if (i % 5 === 0) body.max_tokens = 12;
    out.push({ body, feature, id: `${feature}-${i}` });
  }
  return out;
}

async function send(t: TestGateway, deferNightly: boolean): Promise<void> {
  const deferred: string[] = [];
  for (const w of workload()) {
    const r = await postJson(`${t.url}/v1/chat/completions`, w.body, { 'x-costgate-feature': w.feature, 'x-costgate-request-id': w.id });
    if (deferNightly && w.feature === 'nightly') {
      assert.equal(r.status, 202, r.text);
      deferred.push(w.id);
    } else assert.equal(r.status, 200, r.text);
  }
  for (const id of deferred) {
    for (let i = 0; ; i++) {
      const j = (await (await fetch(`${t.url}/v1/costgate/deferred/${id}`)).json()) as { status: string };
      if (j.status === 'completed') break;
      assert.notEqual(j.status, 'failed');
      assert.ok(i < 500, `job ${id} still ${j.status}`);
      await sleep(20);
    }
  }
  await t.gw.ledger.writer.flushNow();
}

const policy = parsePolicy('name: caps-and-batch\noutputCap: { maxTokens: 24 }\nbatch: { features: [nightly] }\n', 'policy.yaml');

test('simulate: the prediction for output caps + batching matches a live replay within 2 %', { timeout: 60_000 }, async () => {
  const sim: Simulator = await startSimulator({ defaultOutputTokens: 64, batchCompletionMs: 50 });
  try {
    const base = { providers: { sim: { type: 'simulator' as const, baseUrl: sim.baseUrl } }, ledger: { store: 'memory' as const } };
    let predicted = 0;
    let before = 0;
    await withTestGateway({ config: base }, async (t) => {
      await send(t, false);
      const w = await fromLedger(t.gw.ledger.store);
      assert.equal(w.calls.length, 48);
      const r = whatIf(w, policy, t.gw.pricer);
      before = r.baselineNanos;
      predicted = r.combinedNanos;
      const byLever = Object.fromEntries(r.levers.map((l) => [l.lever, l]));
      // Both levers changed calls: answers longer than 24 tokens, and the nightly calls.
      assert.ok(byLever.outputCap!.touched >= 30, `outputCap touched ${byLever.outputCap!.touched}`);
      assert.equal(byLever.batch!.touched, 16);
      // The recorded cost is what the simulator's baseline prices (same pricer, same tokens).
      const recorded = (await t.gw.requests({ limit: 1000 })).rows.reduce((a, x) => a + x.costNanos, 0);
      assert.equal(before, recorded);
    });
    let actual = 0;
    await withTestGateway(
      { config: { ...base, limits: { defaultMaxTokens: 24, maxTokensCeiling: 24 }, batch: { features: { nightly: '1h' }, maxAgeMs: 100, tickMs: 25, pollIntervalMs: 40, fallbackMarginMs: 0 } } },
      async (t) => {
        await send(t, true);
        const rows = (await t.gw.requests({ limit: 1000 })).rows;
        assert.equal(rows.length, 48);
        assert.equal(rows.filter((x) => x.batch).length, 16);
        actual = rows.reduce((a, x) => a + x.costNanos, 0);
      },
    );
    assert.ok(predicted < before * 0.8, `the policy saves: ${predicted} vs ${before}`);
    const err = Math.abs(predicted - actual) / actual;
    console.log(`simulate vs live: before ${before} n$, predicted ${predicted} n$, live ${actual} n$, error ${(err * 100).toFixed(3)} %`);
    assert.ok(err <= 0.02, `prediction ${predicted} vs live ${actual}: ${(err * 100).toFixed(2)} % off`);
  } finally {
    await sim.close();
  }
});

test('costgate simulate CLI: a trace against a policy file prints the table; --json is machine-readable; a bad policy names the field', async () => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/costgate.js', 'simulate', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, COSTGATE_CONFIG: '' } });
  const t = run('--policy', 'examples/whatif.yaml', '--trace', 'data/azure-llm-trace-2023/conv-first-2000.csv');
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /recommended: 2000 calls from azure-trace/);
  assert.match(t.stdout, /routing\s+\$\d+\.\d{4}\s+\d+\.\d%/);
  assert.match(t.stdout, /prompt caching\s+n\/a/);
  const j = run('--policy', 'examples/whatif.yaml', '--trace', 'data/mooncake-sample/conversation_trace.jsonl', '--model', 'claude-sonnet-4-5', '--json');
  assert.equal(j.status, 0, j.stderr);
  const [r] = JSON.parse(j.stdout);
  assert.equal(r.calls, 1000);
  assert.ok(r.combinedNanos < r.baselineNanos);
  assert.ok(r.levers.find((l: { lever: string; touched: number }) => l.lever === 'promptCache').touched > 0);
  const bad = spawnSync(process.execPath, ['-e', "require('fs').writeFileSync(process.argv[1], 'outputCap: { maxTokens: -1 }')", '/tmp/costgate-bad-policy.yaml']);
  assert.equal(bad.status, 0);
  const b = run('--policy', '/tmp/costgate-bad-policy.yaml', '--trace', 'data/azure-llm-trace-2023/conv-first-2000.csv');
  assert.equal(b.status, 1);
  assert.match(b.stderr, /invalid policy:\n {2}outputCap\.maxTokens/);
});
