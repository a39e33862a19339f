/**
 * `costgate simulate`'s summarization lever against a live replay: long conversations go through the gateway with
 * bodies stored (`ledger.storeBodies`) and no policy; the lever predicts, from those stored bodies, their cost with
 * conversation summarisation (older turns → a summary made once per conversation prefix by a cheaper model); the same
 * calls then go through a gateway with `optimize.summarize` on. The prediction must be within 2 % of the live ledger.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTestGateway, postJson, type TestGateway } from './helpers/gateway.js';
import { startSimulator, type Simulator } from '../src/providers/simulator/server.js';
import { fromLedger } from '../src/simulate/workload.js';
import { parsePolicy } from '../src/simulate/policy.js';
import { whatIf } from '../src/simulate/run.js';

const turn = (c: number, i: number) => ({
  role: i % 2 ? 'assistant' : 'user',
  content: `Conversation ${c}, turn ${i}: ${'the shipment left the warehouse on time but the invoice still shows the old address, '.repeat(3 + (i % 4))}`,
});

/** 4 conversations, each sent at 24, 26 and 28 turns (so later calls repeat older turns), and 6 short chats. */
function workload(): { body: Record<string, unknown>; id: string }[] {
  const out: { body: Record<string, unknown>; id: string }[] = [];
  for (let c = 0; c < 4; c++) {
    for (const n of [24, 26, 28]) {
      const messages = [{ role: 'system', content: 'You are the support agent of a logistics company.' }, ...Array.from({ length: n - 1 }, (_, i) => turn(c, i)), { role: 'user', content: `Conversation ${c}: so what happens next?` }];
      out.push({ body: { model: 'gpt-4o', messages }, id: `conv-${c}-${n}` });
    }
  }
  for (let i = 0; i < 6; i++) out.push({ body: { model: 'gpt-4o', messages: [{ role: 'user', content: `short question ${i}: where is my parcel?` }] }, id: `short-${i}` });
  return out;
}

async function send(t: TestGateway): Promise<void> {
  for (const w of workload()) {
    const r = await postJson(`${t.url}/v1/chat/completions`, w.body, { 'x-costgate-feature': 'support', 'x-costgate-request-id': w.id });
    assert.equal(r.status, 200, r.text);
  }
  await t.gw.ledger.writer.flushNow();
}

const settings = { maxTurns: 20, maxTokens: 8000, keepLast: 6, summaryTokens: 48, model: 'gpt-4o-mini' };

test('simulate: the summarization lever, from stored bodies, matches a live replay with optimize.summarize within 2 %', { timeout: 60_000 }, async () => {
  const sim: Simulator = await startSimulator({ defaultOutputTokens: 64 });
  try {
    const base = { providers: { sim: { type: 'simulator' as const, baseUrl: sim.baseUrl } } };
    let predicted = 0;
    let before = 0;
    let summaryCalls = 0;
    await withTestGateway({ config: { ...base, ledger: { store: 'memory' as const, storeBodies: { enabled: true } } } }, async (t) => {
      await send(t);
      const w = await fromLedger(t.gw.ledger.store);
      assert.equal(w.calls.length, 18);
      assert.equal(w.calls.filter((c) => c.body).length, 18, 'every call kept its body');
      const policy = parsePolicy(`summarization: ${JSON.stringify(settings)}\n`, 'policy.yaml');
      const r = whatIf(w, policy, t.gw.pricer);
      before = r.baselineNanos;
      predicted = r.combinedNanos;
      const lever = r.levers.find((l) => l.lever === 'summarization')!;
      assert.equal(lever.touched, 12, 'the 12 long calls are cut, the short ones are not');
      summaryCalls = Number(/(\d+) summary calls/.exec(lever.risk)?.[1]);
    });
    let actual = 0;
    await withTestGateway({ config: { ...base, ledger: { store: 'memory' as const }, optimize: { features: { support: { summarize: { enabled: true, ...settings } } } } } }, async (t) => {
      await send(t);
      const rows = (await t.gw.requests({ limit: 1000 })).rows;
      const calls = rows.filter((x) => (x.optimize ?? '').includes('summarize:call'));
      assert.equal(calls.length, summaryCalls, 'as many summary calls live as predicted');
      assert.equal(rows.filter((x) => /summarize:(made|reused)/.test(x.optimize ?? '')).length, 12);
      actual = rows.reduce((a, x) => a + x.costNanos, 0);
    });
    assert.ok(predicted < before * 0.7, `the policy saves: ${predicted} vs ${before}`);
    const err = Math.abs(predicted - actual) / actual;
    console.log(`simulate vs live (summarization): before ${before} n$, predicted ${predicted} n$, live ${actual} n$ (${summaryCalls} summary calls), error ${(err * 100).toFixed(3)} %`);
    assert.ok(err <= 0.02, `prediction ${predicted} vs live ${actual}: ${(err * 100).toFixed(2)} % off`);
  } finally {
    await sim.close();
  }
});
