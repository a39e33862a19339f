/**
 * Conversation summarisation end to end through the simulator: older turns replaced by a summary made by the
 * cheapest configured model through the gateway's own pipeline (its own ledger row, same feature), reused on later
 * turns, tokens before/after in the ledger.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGateway } from '../src/gateway.js';
import type { Json } from '../src/providers/adapter.js';
import { SUMMARY_PREFIX, SummaryCache, planSummary } from '../src/optimize/summarize.js';

const chat = (n: number): Json[] => {
  const out: Json[] = [];
  for (let i = 0; i < n; i++) out.push({ role: i % 2 ? 'assistant' : 'user', content: `Turn ${i}: ${'details about the order and its delivery window, '.repeat(20)}` });
  return out;
};

async function gatewayCapturing(summarize: Json) {
  const upstream: { model: string; body: Json }[] = [];
  const gw = await createGateway({
    env: {},
    config: {
      providers: { sim: { type: 'simulator', models: ['gpt-4o', 'gpt-4o-mini'] } },
      ledger: { store: 'memory' },
      optimize: { features: { support: { summarize: { enabled: true, ...summarize } } } },
    },
    simulator: {
      answer: (m: string, body: Json) => {
        upstream.push({ model: m, body: structuredClone(body) });
        return String(body.messages?.[0]?.content ?? '').startsWith('Summarise') ? 'SUMMARY: the user asked about an order.' : 'ok';
      },
    },
  });
  return { gw, upstream };
}

test('summarisation: older turns replaced by one summary from the cheapest model; reused by later turns; ledger rows', async () => {
  const { gw, upstream } = await gatewayCapturing({ maxTurns: 8, keepLast: 4 });
  try {
    const sys = { role: 'system', content: 'You are a support agent.' };
    const body1 = { model: 'gpt-4o', messages: [sys, ...chat(9)] };
    const before = structuredClone(body1);
    const r1 = await gw.handle({ endpoint: 'chat', body: body1, headers: { 'x-costgate-feature': 'support' } });
    assert.equal(r1.status, 200, String(r1.body));
    assert.deepEqual(body1, before, 'the client body is not mutated');
    // Two upstream calls: the summary (cheapest model: gpt-4o-mini) and the request itself.
    assert.equal(upstream.length, 2);
    assert.equal(upstream[0]!.model, 'gpt-4o-mini');
    assert.equal(upstream[0]!.body.max_tokens, 200);
    const sent = upstream[1]!.body.messages as Json[];
    // 9 messages, keepLast 4: cut at floor((9 - 4) / 4)·4 = 4 (a user message), turns 4..8 kept; system, summary, kept.
    assert.deepEqual(sent[0], sys);
    assert.equal(sent[1].role, 'system');
    assert.equal(sent[1].content, SUMMARY_PREFIX + 'SUMMARY: the user asked about an order.');
    assert.deepEqual(sent.slice(2), body1.messages.slice(5));
    // A later turn (two more messages) replaces the same older turns: the summary is reused, no new summary call.
    const body2 = { model: 'gpt-4o', messages: [sys, ...chat(11)] };
    const r2 = await gw.handle({ endpoint: 'chat', body: body2, headers: { 'x-costgate-feature': 'support' } });
    assert.equal(r2.status, 200);
    assert.equal(upstream.length, 3);
    assert.equal((upstream[2]!.body.messages as Json[])[1].content, sent[1].content);
    const all = (await gw.requests({ feature: 'support' })).rows.reverse();
    assert.equal(all.length, 3, 'summary call, turn 1, turn 2: each its own row, all attributed to the feature');
    const call = all.filter((r) => /summarize:call/.test(r.optimize ?? ''));
    assert.equal(call.length, 1);
    assert.equal(call[0]!.model, 'gpt-4o-mini');
    assert.ok(BigInt(call[0]!.costNanos) > 0n, 'the summary call is priced');
    const rows = [call[0]!, ...all.filter((r) => r !== call[0])];
    const m1 = /summarize:made,turns=9>6,tokens=(\d+)>(\d+)/.exec(rows[1]!.optimize!);
    assert.ok(m1, rows[1]!.optimize ?? "");
    assert.ok(Number(m1[2]) < Number(m1[1]));
    // The ledger's prompt tokens are those actually sent (after).
    assert.ok(Math.abs(rows[1]!.inputTokens - Number(m1[2])) <= 20, `${rows[1]!.inputTokens} vs ${m1[2]}`);
    assert.match(rows[2]!.optimize!, /summarize:reused,turns=11>8/);
    // Under the thresholds nothing changes; another feature is untouched.
    await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o', messages: chat(5) }, headers: { 'x-costgate-feature': 'support' } });
    await gw.handle({ endpoint: 'chat', body: body1, headers: { 'x-costgate-feature': 'other' } });
    assert.equal(upstream.length, 5);
    assert.deepEqual(upstream[3]!.body.messages, chat(5));
    assert.deepEqual(upstream[4]!.body.messages, body1.messages);
  } finally {
    await gw.close();
  }
});

test('summarisation: a failed summary call leaves the request as sent; bad config names the field', async () => {
  const { gw, upstream } = await gatewayCapturing({ maxTurns: 4, keepLast: 2, model: 'no-such-model' });
  try {
    const body = { model: 'gpt-4o', messages: chat(9) };
    const r = await gw.handle({ endpoint: 'chat', body, headers: { 'x-costgate-feature': 'support' } });
    assert.equal(r.status, 200);
    assert.deepEqual(upstream.at(-1)!.body.messages, body.messages);
    const rows = (await gw.requests({ feature: 'support' })).rows;
    assert.ok(rows.some((x) => /summarize:failed/.test(x.optimize ?? '')));
  } finally {
    await gw.close();
  }
  await assert.rejects(createGateway({ env: {}, config: { ledger: { store: 'memory' }, optimize: { summarize: { keepLast: 0 } } } as Json }), /optimize\.summarize\.keepLast/);
});

test('planSummary / SummaryCache: cut at a user message, stepwise; one call per key even when concurrent', async () => {
  const s = { maxTurns: 4, maxTokens: 1e9, keepLast: 3, summaryTokens: 200 };
  assert.equal(planSummary({ messages: chat(4) }, 'gpt-4o', s, 'm'), undefined);
  const p = planSummary({ messages: chat(10) }, 'gpt-4o', s, 'm')!;
  assert.equal(p.older.length, 6); // floor((10-3)/3)*3 = 6, a user turn
  assert.equal(p.recent[0]!.role, 'user');
  assert.equal(planSummary({ messages: chat(11) }, 'gpt-4o', s, 'm')!.key, p.key, 'the next turn replaces the same prefix');
  const c = new SummaryCache();
  let calls = 0;
  const make = async () => (calls++, 'x');
  const got = await Promise.all([c.get('k', make), c.get('k', make), c.get('k', make)]);
  assert.equal(calls, 1);
  assert.deepEqual(got.map((g) => g.made), [true, false, false]);
});
