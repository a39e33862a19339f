/**
 * The relevance and summarisation transforms over Anthropic Messages bodies (top-level system, content blocks,
 * tool_use / tool_result pairs, tools with input_schema): what they change, and that everything else survives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pruneTools, questionOf, trimDocs } from './relevance.js';
import { applySummary, planSummary, transcriptOf, SUMMARY_PREFIX } from './summarize.js';
import type { Json } from '../providers/adapter.js';

const DOCS = [
  'The warranty covers the battery for two years from the date of purchase.',
  'Our office in Lyon is open Monday to Friday.',
  'Battery replacement under warranty is free; bring the receipt.',
  'The cafeteria serves lunch from noon.',
];
const doc = (d: string) => `<costgate:doc>${d}</costgate:doc>`;
const IMAGE = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } };

test('trimDocs (Anthropic): documents in system blocks and tool_result content are ranked; cache_control, images and ids survive', () => {
  const body: Json = {
    model: 'claude-sonnet-4-5',
    max_tokens: 100,
    system: [
      { type: 'text', text: 'Answer from the documents.', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: doc(DOCS[1]!) + doc(DOCS[0]!), cache_control: { type: 'ephemeral', ttl: '1h' } },
    ],
    metadata: { user_id: 'u1' },
    messages: [
      { role: 'user', content: [IMAGE, { type: 'text', text: 'Search the knowledge base.' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'search', input: { q: 'battery' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: doc(DOCS[2]!) + doc(DOCS[3]!) }] }] },
      { role: 'assistant', content: 'Found two documents.' },
      { role: 'user', content: [{ type: 'text', text: 'Is the battery replacement covered by the warranty?', cache_control: { type: 'ephemeral' } }] },
    ],
  };
  const before = structuredClone(body);
  assert.equal(questionOf(body), 'Is the battery replacement covered by the warranty?');
  const r = trimDocs(body, body.model, { topK: 2, maxTokens: 1000 })!;
  assert.deepEqual(body, before, 'not mutated');
  assert.equal(r.docs, 4);
  assert.equal(r.kept, 2);
  const out = r.body;
  assert.equal(out.system[1].text, DOCS[0], 'Lyon dropped, the battery document kept, markers removed');
  assert.deepEqual(out.system[1].cache_control, { type: 'ephemeral', ttl: '1h' });
  assert.deepEqual(out.system[0], body.system[0]);
  assert.deepEqual(out.messages[2].content[0], { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: DOCS[2] }] });
  assert.deepEqual(out.messages[0], body.messages[0], 'image block untouched');
  assert.deepEqual(out.messages[1], body.messages[1], 'tool_use untouched');
  assert.deepEqual(out.messages[4], body.messages[4], 'client cache_control on the last message kept');
  assert.deepEqual(out.metadata, body.metadata);
  // A string tool_result content and a string system are rewritten too.
  const s = trimDocs({ model: 'claude-x', system: doc(DOCS[1]!), messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: doc(DOCS[0]!) }, { type: 'text', text: 'battery warranty?' }] }] }, 'claude-x', { topK: 1, maxTokens: 1000 })!;
  assert.equal(s.body.system, '');
  assert.equal(s.body.messages[0].content[0].content, DOCS[0]);
});

const atool = (name: string, description: string, extra: Json = {}) => ({ name, description, input_schema: { type: 'object', properties: {} }, ...extra });

test('pruneTools (Anthropic): ranks input_schema tools; keeps the tool_choice tool, tools already used and server tools; moves a dropped cache_control', () => {
  const tools = [
    atool('get_weather', 'Current weather for a city'),
    atool('send_email', 'Send an email to a contact'),
    atool('lookup_order', 'Find an order by its number'),
    { type: 'web_search_20250305', name: 'web_search', max_uses: 2 },
    atool('create_invoice', 'Create an invoice for a customer'),
    atool('translate_text', 'Translate text between languages', { cache_control: { type: 'ephemeral' } }),
  ];
  const body: Json = {
    model: 'claude-x',
    max_tokens: 10,
    tools,
    tool_choice: { type: 'tool', name: 'send_email' },
    messages: [
      { role: 'user', content: 'Find order 12' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_9', name: 'lookup_order', input: { n: 12 } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: '{}' }, { type: 'text', text: 'And the weather in Paris?' }] },
    ],
  };
  const before = structuredClone(body);
  const r = pruneTools(body, { keep: 4 }, 'anthropic')!;
  assert.deepEqual(body, before, 'not mutated');
  assert.equal(r.before, 6);
  const names = r.body.tools.map((t: Json) => t.name);
  assert.deepEqual(names, ['get_weather', 'send_email', 'lookup_order', 'web_search']);
  // translate_text carried the client's breakpoint (the end of the tools): it moves to the last kept tool.
  assert.deepEqual(r.body.tools[3], { ...tools[3], cache_control: { type: 'ephemeral' } });
  assert.equal(r.body.tools.filter((t: Json) => t.cache_control).length, 1);
  assert.deepEqual(r.body.messages, body.messages);
  assert.deepEqual(r.body.tool_choice, body.tool_choice);
  // On the OpenAI surface the same helper keeps its old behaviour (no tool type is special).
  assert.equal(pruneTools({ tools: tools.map((t) => ({ type: 'function', function: { name: t.name, description: (t as Json).description } })), messages: [{ role: 'user', content: 'weather' }] }, { keep: 1 })!.after, 1);
});

const turn = (i: number, extra?: Json[]): Json => ({ role: i % 2 ? 'assistant' : 'user', content: [{ type: 'text', text: `Turn ${i}: ${'details about the order and its delivery window, '.repeat(10)}` }, ...(extra ?? [])] });

test('planSummary (Anthropic): the system stays top-level, the summary is appended to it; never cut between tool_use and tool_result', () => {
  const msgs: Json[] = [];
  for (let i = 0; i < 9; i++) msgs.push(turn(i));
  // Turn 4 (where a plain cut would land, keepLast 4) is the tool_result answering turn 3's tool_use.
  msgs[3] = { role: 'assistant', content: [{ type: 'text', text: 'Looking it up.' }, { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { n: 1 } }] };
  msgs[4] = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'shipped' }] };
  msgs[8] = { role: 'user', content: [IMAGE, { type: 'text', text: 'What about this parcel?', cache_control: { type: 'ephemeral' } }] };
  const system = [{ type: 'text', text: 'You are a support agent.', cache_control: { type: 'ephemeral', ttl: '1h' } }];
  const body: Json = { model: 'claude-x', max_tokens: 50, system, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: msgs };
  const p = planSummary(body, 'claude-x', { maxTurns: 6, maxTokens: 100_000, keepLast: 4, summaryTokens: 100 }, 'm', 'anthropic')!;
  assert.ok(p);
  assert.equal(p.head.length, 0);
  // The cut steps back from 4 (a tool_result turn) to 2: the pair toolu_1 stays together in the kept part.
  assert.equal(p.older.length, 2);
  assert.equal(p.recent[0], msgs[2]);
  assert.match(transcriptOf(p.recent), /\[tool call lookup: \{"n":1\}\].*\n.*\[tool result: shipped\]/);
  assert.match(transcriptOf([msgs[8]!]), /^user:  \[image\]What about this parcel\?$/);
  const out = applySummary(body, p, 'S.');
  assert.deepEqual(out.system, [...system, { type: 'text', text: SUMMARY_PREFIX + 'S.' }], 'client system blocks (and breakpoint) first, the summary after');
  assert.deepEqual(out.messages, msgs.slice(2));
  assert.deepEqual(out.thinking, body.thinking);
  assert.equal(out.messages[0].role, 'user');
  // A string system becomes two blocks (the client's text unchanged); no system at all becomes the summary.
  assert.deepEqual(applySummary({ ...body, system: 'Plain.' }, p, 'S.').system, [{ type: 'text', text: 'Plain.' }, { type: 'text', text: SUMMARY_PREFIX + 'S.' }]);
  assert.equal(applySummary({ ...body, system: undefined }, p, 'S.').system, SUMMARY_PREFIX + 'S.');
});
