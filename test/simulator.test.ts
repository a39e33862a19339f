/**
 * The provider simulator on its own, over HTTP: `costgate simulator` as a separate process (the three endpoints, a
 * clean SIGTERM exit), latency from options and `x-sim-latency` (lower bounds only: the delays are real sleeps on a
 * shared machine), seeded random faults (`faultRate` and `%P`), the prompt-cache thresholds of both providers, and
 * Claude input tokens counted with Anthropic's tokenizer plus the simulator's framing (src/tokens/count.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { encode, decode, countTokens as o200kCount } from 'gpt-tokenizer';
import { getTokenizer } from '@anthropic-ai/tokenizer';
import { postJson } from './helpers/gateway.js';
import { startSimulator, type Simulator, type SimulatorServerOptions } from '../src/providers/simulator/server.js';
import { findSimModel } from '../src/providers/simulator/catalog.js';

const BIN = fileURLToPath(new URL('../../bin/costgate.js', import.meta.url));

async function withSim(opts: SimulatorServerOptions, fn: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator(opts);
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

const chatBody = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'hello there' }], ...extra });

/** A port nobody listens on right now (the OS's pick, released at once). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function runCli(args: string[]) {
  const child = spawn(process.execPath, [BIN, 'simulator', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const within = <T>(p: Promise<T>, ms: number, what: string) =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms\nstdout: ${out}\nstderr: ${err}`)), ms).unref())]);
  /** The URL it prints once listening. */
  const listening = within(
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = /costgate simulator on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      };
      child.stdout.on('data', check);
      void exited.then(({ code }) => reject(new Error(`simulate exited (${code}) before listening\nstdout: ${out}\nstderr: ${err}`)));
    }),
    20_000,
    'simulate did not listen',
  );
  // A test that expects the process to fail never awaits this.
  listening.catch(() => undefined);
  return { child, exited, listening, within, stdout: () => out, stderr: () => err };
}

test('`costgate simulator` as its own process: OpenAI chat, Anthropic messages, /v1/models, then a clean SIGTERM exit', async () => {
  const port = await freePort();
  const cli = runCli(['--port', String(port), '--ttft', '40', '--output-tokens', '12']);
  try {
    const url = await cli.listening;
    assert.equal(url, `http://127.0.0.1:${port}`);
    assert.match(cli.stdout(), new RegExp(`OpenAI base URL http://127\\.0\\.0\\.1:${port}/v1`));

    const t0 = performance.now();
    const chat = await postJson(`${url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }] });
    assert.ok(performance.now() - t0 >= 39, '--ttft delays the answer');
    assert.equal(chat.status, 200, chat.text);
    assert.equal(chat.json.object, 'chat.completion');
    assert.match(chat.json.id, /^chatcmpl-/);
    assert.equal(chat.json.model, 'gpt-4o-mini');
    assert.equal(chat.json.choices.length, 1);
    assert.equal(chat.json.choices[0].message.role, 'assistant');
    assert.ok(chat.json.choices[0].message.content.length > 0);
    assert.equal(chat.json.choices[0].finish_reason, 'stop');
    const u = chat.json.usage;
    assert.equal(u.prompt_tokens, 3 + 3 + o200kCount('Say hello'));
    assert.equal(u.completion_tokens, o200kCount(chat.json.choices[0].message.content));
    assert.ok(u.completion_tokens >= 8 && u.completion_tokens <= 16, `--output-tokens 12 sets the length: ${u.completion_tokens}`);
    assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);

    const msg = await postJson(`${url}/v1/messages`, { model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Say hello' }] }, { 'anthropic-version': '2023-06-01' });
    assert.equal(msg.status, 200, msg.text);
    assert.equal(msg.json.type, 'message');
    assert.match(msg.json.id, /^msg_/);
    assert.equal(msg.json.role, 'assistant');
    assert.equal(msg.json.model, 'claude-haiku-4-5');
    assert.equal(msg.json.content[0].type, 'text');
    assert.ok(msg.json.content[0].text.length > 0);
    assert.equal(msg.json.stop_reason, 'end_turn');
    assert.equal(msg.json.stop_sequence, null);
    assert.ok(msg.json.usage.input_tokens > 0 && msg.json.usage.output_tokens > 0);
    assert.equal(msg.json.usage.cache_read_input_tokens, 0);
    assert.equal(msg.json.usage.cache_creation_input_tokens, 0);

    const models = await fetch(`${url}/v1/models`);
    assert.equal(models.status, 200);
    const list: any = await models.json();
    assert.equal(list.object, 'list');
    const ids = list.data.map((m: any) => m.id);
    for (const id of ['gpt-4o-mini', 'claude-haiku-4-5', 'text-embedding-3-small']) assert.ok(ids.includes(id), id);
    for (const m of list.data) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.created, 'number');
      assert.equal(typeof m.owned_by, 'string');
    }
    assert.equal(list.data.find((m: any) => m.id === 'claude-haiku-4-5').owned_by, 'anthropic');

    // The fetches above leave idle keep-alive sockets open: they must not hold up the exit.
    cli.child.kill('SIGTERM');
    assert.deepEqual(await cli.within(cli.exited, 10_000, 'simulate did not exit after SIGTERM'), { code: 0, signal: null });
    assert.equal(cli.stderr(), '');
  } finally {
    cli.child.kill('SIGKILL');
  }
});

test('`costgate simulator` on a port already in use exits 1 with the reason', async () => {
  await withSim({}, async (sim) => {
    const port = new URL(sim.url).port;
    const cli = runCli(['--port', port]);
    try {
      const { code } = await cli.within(cli.exited, 20_000, 'simulate did not exit');
      assert.equal(code, 1);
      assert.match(cli.stderr(), /^costgate: .*EADDRINUSE/);
      assert.doesNotMatch(cli.stdout(), /costgate simulator on/);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });
});

/** A streaming request: ms until the first body chunk, until the end, and the SSE events received. */
async function timedStream(url: string, body: unknown, headers: Record<string, string> = {}) {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let first = -1;
  let text = '';
  const dec = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (first < 0) first = performance.now() - t0;
    text += dec.decode(value, { stream: true });
  }
  return { first, total: performance.now() - t0, events: text.split('\n\n').filter((e) => e.trim()) };
}

// Timers may fire up to ~1 ms early against performance.now(): lower bounds allow that much.
const SLACK = 2;

test('latency options: ttftMs delays the first streamed event, perTokenMs paces every later one; non-streaming waits both', async () => {
  await withSim({ ttftMs: 120, perTokenMs: 15 }, async (sim) => {
    const s = await timedStream(`${sim.url}/v1/chat/completions`, chatBody({ stream: true, max_tokens: 10 }));
    assert.ok(s.events.length >= 5, `${s.events.length} events`);
    assert.ok(s.first >= 120 - SLACK, `first event after ${s.first} ms`);
    assert.ok(s.total >= 120 + (s.events.length - 1) * 15 - SLACK, `total ${s.total} ms for ${s.events.length} events`);

    const t0 = performance.now();
    const r = await postJson(`${sim.url}/v1/chat/completions`, chatBody({ max_tokens: 10 }));
    const took = performance.now() - t0;
    assert.equal(r.status, 200);
    const n = r.json.usage.completion_tokens;
    assert.ok(n >= 5);
    assert.ok(took >= 120 + n * 15 - SLACK, `non-streaming took ${took} ms for ${n} tokens`);
  });
});

test('x-sim-latency overrides the options per request, on both wires', async () => {
  await withSim({}, async (sim) => {
    const s = await timedStream(`${sim.url}/v1/chat/completions`, chatBody({ stream: true, max_tokens: 10 }), { 'x-sim-latency': 'ttft=150,token=12' });
    assert.ok(s.first >= 150 - SLACK, `first event after ${s.first} ms`);
    assert.ok(s.total >= 150 + (s.events.length - 1) * 12 - SLACK, `total ${s.total} ms for ${s.events.length} events`);

    const a = await timedStream(`${sim.url}/v1/messages`, { ...chatBody({ stream: true, max_tokens: 10 }), model: 'claude-sonnet-4-5' }, { 'x-sim-latency': 'token=20' });
    assert.ok(a.events[0]!.startsWith('event: message_start'));
    assert.ok(a.events.length >= 8, `${a.events.length} events`);
    assert.ok(a.total >= (a.events.length - 1) * 20 - SLACK, `total ${a.total} ms for ${a.events.length} events`);

    // Only ttft given: the first byte waits, and the (zero) per-token option still applies.
    const t0 = performance.now();
    const r = await postJson(`${sim.url}/v1/chat/completions`, chatBody(), { 'x-sim-latency': 'ttft=100' });
    assert.equal(r.status, 200);
    assert.ok(performance.now() - t0 >= 100 - SLACK);
  });
  await withSim({ ttftMs: 0, perTokenMs: 1 }, async (sim) => {
    // A fractional per-token value in the header is honoured as is (the option is the integer fallback).
    const t0 = performance.now();
    const r = await postJson(`${sim.url}/v1/chat/completions`, chatBody({ max_tokens: 20 }), { 'x-sim-latency': 'token=10.5' });
    assert.ok(performance.now() - t0 >= r.json.usage.completion_tokens * 10.5 - SLACK);
  });
});

/** The statuses of `n` sequential chat requests. */
async function statuses(sim: Simulator, n: number, headers: Record<string, string> = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await postJson(`${sim.url}/v1/chat/completions`, chatBody(), headers)).status);
  return out;
}

const count = (xs: number[], v: number) => xs.filter((x) => x === v).length;

test('x-sim-fault %P: %0 never fails, %1 always does, %0.5 is a seeded sequence reproduced by a fresh simulator', async () => {
  await withSim({}, async (sim) => {
    assert.deepEqual(await statuses(sim, 20, { 'x-sim-fault': '500%0' }), Array(20).fill(200));
    assert.deepEqual(await statuses(sim, 20, { 'x-sim-fault': '500%1' }), Array(20).fill(500));
    // First match wins: a never-firing fault falls through to the next one.
    assert.deepEqual(await statuses(sim, 5, { 'x-sim-fault': '500%0,503%1' }), Array(5).fill(503));
  });
  const run = (seed: number) => {
    let seq: number[] = [];
    return withSim({ seed }, async (sim) => void (seq = await statuses(sim, 40, { 'x-sim-fault': '500%0.5' }))).then(() => seq);
  };
  const a = await run(42);
  const b = await run(42);
  assert.deepEqual(a, b, 'same seed, same sequence');
  assert.deepEqual([...new Set(a)].sort(), [200, 500]);
  const fails = count(a, 500);
  assert.ok(fails >= 8 && fails <= 32, `${fails}/40 failed at P=0.5`);
  assert.notDeepEqual(await run(7), a, 'another seed, another sequence');
});

test('faultRate: a seeded share of requests gets a fault from the pool; none at 0, all at 1; a request with x-sim-fault is exempt', async () => {
  const run = async (opts: SimulatorServerOptions, n = 40, headers: Record<string, string> = {}) => {
    let seq: number[] = [];
    await withSim(opts, async (sim) => void (seq = await statuses(sim, n, headers)));
    return seq;
  };
  const a = await run({ faultRate: 0.3, faults: ['503', '429:0'], seed: 5 });
  assert.deepEqual(await run({ faultRate: 0.3, faults: ['503', '429:0'], seed: 5 }), a, 'same seed, same sequence');
  const faulted = a.length - count(a, 200);
  assert.ok(faulted >= 4 && faulted <= 24, `${faulted}/40 faulted at rate 0.3`);
  assert.ok(count(a, 503) > 0 && count(a, 429) > 0, `both pool entries drawn: ${a.join(',')}`);
  assert.deepEqual([...new Set(a)].sort(), [200, 429, 503]);

  assert.deepEqual(await run({ faultRate: 0, faults: ['500'] }, 15), Array(15).fill(200));
  assert.deepEqual(await run({ faultRate: 1, faults: ['500'] }, 15), Array(15).fill(500));
  assert.deepEqual(await run({ faultRate: 1, faults: ['500'] }, 5, { 'x-sim-fault': '503%0' }), Array(5).fill(200));
});

/** `text` cut to exactly `n` tokens of `count`, by decoding a growing o200k prefix (decode/encode may not round-trip). */
function textOfTokens(n: number, countFn: (s: string) => number, tag: string): string {
  const filler = encode(`[${tag}] ` + 'The gateway meters every request and attributes its cost to a team. '.repeat(n / 8));
  for (let k = Math.max(1, n - 40); k < filler.length; k++) {
    const s = decode(filler.slice(0, k));
    const c = countFn(s);
    if (c === n) return s;
    if (c > n) break;
  }
  throw new Error(`no text of exactly ${n} tokens`);
}

/** An OpenAI chat prompt of exactly `promptTokens` (3 priming + 3 framing + content), as the simulator counts it. */
const openaiPrompt = (promptTokens: number, tag: string) => ({ model: 'gpt-4o', max_tokens: 3, messages: [{ role: 'user', content: textOfTokens(promptTokens - 6, o200kCount, tag) }] });

async function twice(sim: Simulator, path: string, body: unknown) {
  const first = await postJson(`${sim.url}${path}`, body);
  const second = await postJson(`${sim.url}${path}`, body);
  assert.equal(first.status, 200, first.text);
  assert.equal(second.status, 200, second.text);
  return [first.json.usage, second.json.usage];
}

test('OpenAI automatic prompt caching: nothing below 1024 prompt tokens; from 1024, the repeated prefix in 128-token steps', async () => {
  await withSim({}, async (sim) => {
    for (const p of [1000, 1023]) {
      const [a, b] = await twice(sim, '/v1/chat/completions', openaiPrompt(p, `below-${p}`));
      assert.equal(b.prompt_tokens, p);
      assert.equal(a.prompt_tokens_details.cached_tokens, 0);
      assert.equal(b.prompt_tokens_details.cached_tokens, 0, `a repeated ${p}-token prompt caches nothing`);
    }
    for (const p of [1024, 1027, 1151, 1152, 1500]) {
      const [a, b] = await twice(sim, '/v1/chat/completions', openaiPrompt(p, `at-${p}`));
      assert.equal(b.prompt_tokens, p);
      assert.equal(a.prompt_tokens_details.cached_tokens, 0, 'the first sight is a miss');
      assert.equal(b.prompt_tokens_details.cached_tokens, 1024 + 128 * Math.floor((p - 1024) / 128), `a repeated ${p}-token prompt`);
    }
    // Content as parts counts the same text, and caches on the same 128-token grid.
    const body = openaiPrompt(1150, 'parts');
    const parts = { ...body, messages: [{ role: 'user', content: [{ type: 'text', text: body.messages[0]!.content }] }] };
    const [, b] = await twice(sim, '/v1/chat/completions', parts);
    assert.equal(b.prompt_tokens, 1150);
    assert.equal(b.prompt_tokens_details.cached_tokens, 1024);
    // A claude model gets no automatic caching, however long the repeated prompt.
    const [, c] = await twice(sim, '/v1/messages', { ...openaiPrompt(1500, 'claude-auto'), model: 'claude-sonnet-4-5' });
    assert.equal(c.cache_read_input_tokens, 0);
    assert.equal(c.cache_creation_input_tokens, 0);
  });
});

const claudeTok = getTokenizer();
const claudeCount = (s: string) => claudeTok.encode(s.normalize('NFKC'), 'all').length;

/** A cache_control system block whose breakpoint prefix is exactly `bp` tokens (its text + 3 of framing). */
function cachedSystem(model: string, bp: number, tag: string, ttl?: '1h') {
  const text = textOfTokens(bp - 3, claudeCount, tag);
  return { model, max_tokens: 5, system: [{ type: 'text', text, cache_control: { type: 'ephemeral', ...(ttl ? { ttl } : {}) } }], messages: [{ role: 'user', content: 'Summarize.' }] };
}

test('Anthropic cache_control: below the model minimum nothing is written; at or above it, written once then read', async () => {
  assert.equal(findSimModel('claude-sonnet-4-5')!.minCacheTokens, 1024);
  assert.equal(findSimModel('claude-haiku-4-5')!.minCacheTokens, 2048);
  await withSim({}, async (sim) => {
    for (const [model, bp] of [['claude-sonnet-4-5', 1023], ['claude-haiku-4-5', 1500], ['claude-haiku-4-5', 2047]] as const) {
      const [a, b] = await twice(sim, '/v1/messages', cachedSystem(model, bp, `below-${model}-${bp}`));
      for (const u of [a, b]) {
        assert.equal(u.cache_creation_input_tokens, 0, `${model} ${bp}`);
        assert.equal(u.cache_read_input_tokens, 0, `${model} ${bp}`);
      }
      assert.equal(b.input_tokens, a.input_tokens);
    }
    for (const [model, bp, ttl] of [['claude-sonnet-4-5', 1024], ['claude-sonnet-4-5', 1300, '1h'], ['claude-haiku-4-5', 2048]] as const) {
      const body = cachedSystem(model, bp, `above-${model}-${bp}`, ttl);
      const [a, b] = await twice(sim, '/v1/messages', body);
      const total = 3 + bp + 3 + claudeCount('Summarize.');
      assert.equal(a.cache_creation_input_tokens, bp, `${model} ${bp}: the first call writes the prefix`);
      assert.deepEqual(a.cache_creation, ttl ? { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: bp } : { ephemeral_5m_input_tokens: bp, ephemeral_1h_input_tokens: 0 });
      assert.equal(a.cache_read_input_tokens, 0);
      assert.equal(a.input_tokens, total - bp);
      assert.equal(b.cache_read_input_tokens, bp, `${model} ${bp}: the second call reads it`);
      assert.equal(b.cache_creation_input_tokens, 0);
      assert.equal(b.input_tokens, total - bp);
    }
  });
});

test('Claude input tokens: Anthropic tokenizer counts (NFKC) plus 3 per message, 3 for the system prompt, 3 to prime', async () => {
  const system = 'You are terse. Ｆｕｌｌ-width and the ﬁ ligature normalize under NFKC.';
  const turns = ['What does the gateway record per request?', 'Tokens, cost, latency — and the route it took. 価格は？', ['First part; ', 'second part, joined without a separator.']] as const;
  const body = {
    model: 'claude-sonnet-4-5',
    max_tokens: 5,
    system,
    messages: [
      { role: 'user', content: turns[0] },
      { role: 'assistant', content: turns[1] },
      { role: 'user', content: turns[2].map((text) => ({ type: 'text', text })) },
    ],
  };
  const expected = (c: (s: string) => number) => 3 + (c(system) + 3) + (3 + c(turns[0])) + (3 + c(turns[1])) + (3 + c(turns[2].join('')));
  const want = expected(claudeCount);
  assert.notEqual(want, expected(o200kCount), 'the prompt tells the two tokenizers apart');
  assert.notEqual(want, expected((s) => getTokenizer().encode(s, 'all').length), 'the prompt tells NFKC from raw text apart');
  await withSim({}, async (sim) => {
    const r = await postJson(`${sim.url}/v1/messages`, body);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.usage.input_tokens, want);
    assert.equal(r.json.usage.output_tokens, claudeCount(r.json.content[0].text));
    const s = await timedStream(`${sim.url}/v1/messages`, { ...body, stream: true });
    const start = JSON.parse(s.events[0]!.split('\ndata: ')[1]!);
    assert.equal(start.message.usage.input_tokens, want, 'message_start reports the same count');
  });
});
