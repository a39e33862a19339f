import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bm25, pruneTools, trimDocs } from './relevance.js';
import { createGateway } from '../gateway.js';
import type { Json } from '../providers/adapter.js';

const DOCS = [
  'The warranty covers the battery for two years from the date of purchase.',
  'Our office in Lyon is open Monday to Friday.',
  'Battery replacement under warranty is free; bring the receipt.',
  'The cafeteria serves lunch from noon.',
];
const docBody = (q: string): Json => ({
  model: 'gpt-4o',
  messages: [
    { role: 'system', content: 'Answer from the documents.' },
    { role: 'user', content: [{ type: 'text', text: DOCS.map((d) => `<costgate:doc>${d}</costgate:doc>`).join('\n') }, { type: 'text', text: q }] },
  ],
});

test('bm25: the document sharing the rare query words ranks first; no shared word scores 0', () => {
  const s = bm25('battery warranty', DOCS);
  assert.ok(s[0]! > 0 && s[2]! > 0);
  assert.equal(s[1], 0);
  assert.equal(s[3], 0);
});

test('trimDocs: keeps the top-k relevant documents in their order, removes the markers, respects the token budget', () => {
  const body = docBody('Is the battery replacement covered by the warranty?');
  const before = structuredClone(body);
  const r = trimDocs(body, 'gpt-4o', { topK: 2, maxTokens: 1000 })!;
  assert.deepEqual(body, before, 'not mutated');
  assert.equal(r.docs, 4);
  assert.equal(r.kept, 2);
  const text = r.body.messages[1].content[0].text as string;
  assert.ok(text.includes(DOCS[0]!) && text.includes(DOCS[2]!), text);
  assert.ok(!text.includes('Lyon') && !text.includes('cafeteria'));
  assert.ok(!text.includes('costgate:doc'));
  assert.ok(text.indexOf(DOCS[0]!) < text.indexOf(DOCS[2]!), 'original order');
  assert.equal(r.body.messages[1].content[1].text, 'Is the battery replacement covered by the warranty?');
  assert.ok(r.tokensAfter < r.tokensBefore);
  // A budget too small for the second-best document keeps only what fits.
  const tight = trimDocs(body, 'gpt-4o', { topK: 4, maxTokens: r.tokensAfter - 1 })!;
  assert.ok(tight.kept < 4 && tight.tokensAfter <= r.tokensAfter - 1);
  assert.equal(trimDocs({ model: 'x', messages: [{ role: 'user', content: 'no docs' }] }, 'x', { topK: 1, maxTokens: 10 }), undefined);
});

const tool = (name: string, description: string) => ({ type: 'function', function: { name, description, parameters: { type: 'object' } } });
const TOOLS = [tool('get_weather', 'Current weather for a city'), tool('send_email', 'Send an email to a contact'), tool('lookup_order', 'Find an order by its number'), tool('create_invoice', 'Create an invoice for a customer'), tool('translate_text', 'Translate text between languages')];

test('pruneTools: keeps the most relevant; never drops the tool_choice tool or one called earlier', () => {
  const body: Json = { model: 'gpt-4o', tools: TOOLS, messages: [{ role: 'user', content: 'What is the weather in Paris?' }] };
  const r = pruneTools(body, { keep: 1 })!;
  assert.deepEqual(r.body.tools.map((t: Json) => t.function.name), ['get_weather']);
  assert.equal(body.tools.length, 5, 'not mutated');
  const used: Json = {
    model: 'gpt-4o',
    tools: TOOLS,
    tool_choice: { type: 'function', function: { name: 'translate_text' } },
    messages: [
      { role: 'user', content: 'Find order 12' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup_order', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{}' },
      { role: 'user', content: 'And the weather in Paris?' },
    ],
  };
  const names = pruneTools(used, { keep: 3 })!.body.tools.map((t: Json) => t.function.name).sort();
  assert.deepEqual(names, ['get_weather', 'lookup_order', 'translate_text']);
  assert.equal(pruneTools(body, { keep: 5 }), undefined, 'nothing to drop');
});

test('context stage: trim and tool pruning are opt-in per feature and recorded in the ledger', async () => {
  const upstream: Json[] = [];
  const gw = await createGateway({
    env: {},
    config: { providers: { sim: { type: 'simulator' } }, ledger: { store: 'memory' }, optimize: { features: { rag: { trim: { enabled: true, topK: 1 }, tools: { enabled: true, keep: 1 } } } } },
    simulator: { answer: (_m: string, b: Json) => (upstream.push(structuredClone(b)), 'ok') },
  });
  try {
    const body = { ...docBody('Is the battery covered by the warranty?'), tools: TOOLS };
    assert.equal((await gw.handle({ endpoint: 'chat', body, headers: { 'x-costgate-feature': 'rag' } })).status, 200);
    assert.equal((await gw.handle({ endpoint: 'chat', body, headers: { 'x-costgate-feature': 'other' } })).status, 200);
    assert.equal(upstream[0]!.tools.length, 1);
    assert.ok(!String(upstream[0]!.messages[1].content[0].text).includes('Lyon'));
    assert.equal(upstream[1]!.tools.length, 5, 'another feature is untouched');
    assert.ok(String(upstream[1]!.messages[1].content[0].text).includes('<costgate:doc>'));
    const rows = (await gw.requests({ feature: 'rag' })).rows;
    assert.match(rows[0]!.optimize!, /trim:docs=4>1,tokens=\d+>\d+/);
    assert.match(rows[0]!.optimize!, /tools:5>1/);
  } finally {
    await gw.close();
  }
});
