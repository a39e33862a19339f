/**
 * Structured output: an answer that does not validate against the request's json_schema gets at most one cheap
 * repair call (bad output + schema only, cheapest model), whose ledger row carries the wasted output tokens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGateway } from '../src/gateway.js';
import type { Json } from '../src/providers/adapter.js';
import { invalidReason } from '../src/optimize/structured.js';

const SCHEMA = { type: 'object', properties: { city: { type: 'string' }, temp: { type: 'number' } }, required: ['city', 'temp'], additionalProperties: false };
const body = (): Json => ({
  model: 'gpt-4o',
  messages: [{ role: 'system', content: 'Long system prompt. '.repeat(200) }, { role: 'user', content: 'Weather in Paris as JSON' }],
  response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: SCHEMA } },
});

async function gw(answers: (calls: { model: string; body: Json }[]) => string) {
  const calls: { model: string; body: Json }[] = [];
  const g = await createGateway({
    env: {},
    config: { providers: { sim: { type: 'simulator', models: ['gpt-4o', 'gpt-4o-mini'] } }, ledger: { store: 'memory' }, optimize: { features: { wx: { structured: { enabled: true } } } } },
    simulator: { answer: (m: string, b: Json) => (calls.push({ model: m, body: structuredClone(b) }), answers(calls)) },
  });
  return { g, calls };
}

test('invalidReason: parse failures and schema violations are reported; valid JSON passes', () => {
  assert.equal(invalidReason('{"city":"Paris","temp":12}', SCHEMA), undefined);
  assert.equal(invalidReason('{"city":"Paris"', SCHEMA), 'not JSON');
  assert.match(invalidReason('{"city":"Paris","temp":"12"}', SCHEMA)!, /temp.*number/);
});

test('structured: one repair call with only the bad output and the schema; the repaired answer is returned; wasted tokens in the ledger', async () => {
  const { g, calls } = await gw((c) => (c.length === 1 ? '{"city": "Paris", "temp": "twelve degrees"}' : '{"city":"Paris","temp":12}'));
  try {
    const r = await g.handle({ endpoint: 'chat', body: body(), headers: { 'x-costgate-feature': 'wx' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-costgate-structured'], 'repaired');
    assert.deepEqual(JSON.parse(JSON.parse(String(r.body)).choices[0].message.content), { city: 'Paris', temp: 12 });
    assert.equal(calls.length, 2, 'exactly one repair call');
    assert.equal(calls[1]!.model, 'gpt-4o-mini');
    const repairText = (calls[1]!.body.messages as Json[]).map((x) => String(x.content)).join('\n');
    assert.ok(repairText.includes('twelve degrees') && repairText.includes('"additionalProperties":false'));
    assert.ok(!repairText.includes('Long system prompt'), 'the original prompt is not re-sent');
    const rows = (await g.requests({ feature: 'wx' })).rows;
    assert.equal(rows.length, 2);
    const rep = rows.find((x) => /structured:repair-call/.test(x.optimize ?? ''))!;
    const orig = rows.find((x) => x !== rep)!;
    const m = /wasted_output=(\d+)/.exec(rep.optimize!)!;
    assert.equal(Number(m[1]), orig.outputTokens, 'the first answer\'s output tokens are recorded as wasted');
    assert.match(rep.optimize!, new RegExp(`for=${orig.requestId}`));
  } finally {
    await g.close();
  }
});

test('structured: a valid answer makes no repair call; a failed repair returns the original answer; other features untouched', async () => {
  const { g, calls } = await gw((c) => (c.length === 1 ? '{"city":"Paris","temp":12}' : 'still not json'));
  try {
    const ok = await g.handle({ endpoint: 'chat', body: body(), headers: { 'x-costgate-feature': 'wx' } });
    assert.equal(ok.headers['x-costgate-structured'], undefined);
    assert.equal(calls.length, 1);
    const bad = await g.handle({ endpoint: 'chat', body: body(), headers: { 'x-costgate-feature': 'wx' } });
    assert.equal(calls.length, 3, 'one repair attempt, never a second');
    assert.equal(bad.headers['x-costgate-structured'], 'invalid');
    assert.equal(JSON.parse(String(bad.body)).choices[0].message.content, 'still not json');
    await g.handle({ endpoint: 'chat', body: body(), headers: { 'x-costgate-feature': 'other' } });
    assert.equal(calls.length, 4, 'no repair for a feature without structured');
  } finally {
    await g.close();
  }
});
