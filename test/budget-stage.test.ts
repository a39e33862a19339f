import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway } from './helpers/gateway.js';
import { windowAt } from '../src/budgets/window.js';
import { usdToNanos } from '../src/budgets/money.js';
import { parseConfig } from '../src/config/load.js';
import type { SoftBudgetEvent } from '../src/pipeline/stages/budget.js';

const chat = (max = 50) => ({ model: 'gpt-4o', max_tokens: max, messages: [{ role: 'user', content: 'hello budget' }] });

test('hard budget: 402 in OpenAI format naming the budget, with Retry-After; recorded in the ledger', async () => {
  const tg = await startTestGateway({ config: { ledger: { store: 'memory' }, budgets: [{ name: 'tiny', scope: 'feature', value: 'search', window: 'day', amount: '0.0001' }] } });
  try {
    const res = await fetch(`${tg.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-costgate-feature': 'search' }, body: JSON.stringify(chat()) });
    assert.equal(res.status, 402);
    const retry = Number(res.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 86_400);
    assert.equal(res.headers.get('x-costgate-budget'), 'tiny');
    assert.equal(res.headers.get('x-costgate-budget-remaining-usd'), '0.000100000');
    const body = (await res.json()) as any;
    assert.equal(body.error.code, 'budget_exceeded');
    assert.equal(body.error.type, 'insufficient_quota');
    assert.match(body.error.message, /Budget 'tiny'/);
    assert.equal(body.error.budget.remaining_usd, '0.000100000');
    assert.equal(body.error.budget.reset_in_seconds, retry);
    // another feature is not under this budget
    const other = await fetch(`${tg.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-costgate-feature': 'chat' }, body: JSON.stringify(chat()) });
    assert.equal(other.status, 200);
    await other.text();
    const { rows } = await tg.gw.requests({ status: 'error' });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 402);
    // Anthropic surface, configured 429
  } finally {
    await tg.close();
  }
});

test('status 429 and the Anthropic error format', async () => {
  const tg = await startTestGateway({ config: { ledger: { store: 'memory' }, budgets: [{ scope: 'global', window: { rolling: '1h' }, amount: 0.00001, status: 429 }] } });
  try {
    const res = await fetch(`${tg.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    const body = (await res.json()) as any;
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'billing_error');
    assert.equal(body.error.budget.name, 'global:rolling-1h');
  } finally {
    await tg.close();
  }
});

test('settlement: spend = the priced cost, nothing left reserved; soft budget crossing emits an event', async () => {
  const events: SoftBudgetEvent[] = [];
  const tg = await startTestGateway({
    onBudgetEvent: (e) => events.push(e),
    config: { ledger: { store: 'memory' }, budgets: [{ name: 'team-a', scope: 'team', window: 'month', timezone: 'Europe/Paris', amount: '5' }, { name: 'soft', scope: 'global', window: 'day', amount: '0.000000001', mode: 'soft' }] },
  });
  try {
    const res = await fetch(`${tg.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-costgate-team': 'a' }, body: JSON.stringify(chat(20)) });
    assert.equal(res.status, 200);
    await res.text();
    const cost = usdToNanos(res.headers.get('x-costgate-cost-usd')!);
    assert.ok(cost > 0n);
    await tg.waitRecords(1);
    const w = windowAt({ kind: 'calendar', unit: 'month', tz: 'Europe/Paris' }, Date.now());
    for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const [u] = await tg.gw.budgetStore.usage([{ key: 'team-a|a', minBucket: w.minBucket }], Date.now());
    assert.deepEqual(u, { spent: cost, reserved: 0n });
    assert.equal(events.length, 1);
    assert.equal(events[0]!.budget, 'soft');
    assert.equal(events[0]!.spentNanos, cost);
  } finally {
    await tg.close();
  }
});

test('budget config errors name the field', () => {
  assert.throws(() => parseConfig({ budgets: [{ scope: 'global', window: 'day', amount: '1.0000000001' }] }), /budgets\.0\.amount: .*nano-dollar/);
  assert.throws(() => parseConfig({ budgets: [{ scope: 'team', window: { rolling: '1y' }, amount: 1 }] }), /budgets\.0\.window/);
  assert.throws(() => parseConfig({ budgets: [{ scope: 'team', window: 'day', amount: 1, timezone: 'Mars/Olympus' }] }), /budgets\.0\.timezone: not an IANA/);
  assert.throws(() => parseConfig({ budgets: [{ scope: 'global', value: 'x', window: 'day', amount: 1 }] }), /budgets\.0\.value/);
  assert.throws(() => parseConfig({ budgets: [{ scope: 'user', window: 'day', amount: 1, status: 403 }] }), /budgets\.0\.status/);
  assert.throws(() => parseConfig({ budgetStore: { kind: 'memcached' } }), /budgetStore\.kind/);
});
