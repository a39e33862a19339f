/**
 * Data-driven answer quality, scored the way a routing evaluation scores it: the shipped sample table
 * (data/sim-quality, RouteLLM MMLU outcomes) sent prompt by prompt to the strong and the weak model, counting
 * `x-sim-correct`. Direct to the simulator, through the gateway's HTTP surface (a config file naming the table), and
 * against the real `costgate simulator --quality` CLI in a child process.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator, type Simulator } from '../src/providers/simulator/server.js';
import { startTestGateway, postJson } from './helpers/gateway.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/costgate.js');
const TABLE = join(ROOT, 'data/sim-quality/mmlu-gpt4-mixtral.json');
const STRONG = 'gpt-4-1106-preview';
const WEAK = 'mixtral-8x7b-instruct-v0.1';

interface Row {
  id: string;
  prompt: string;
  correct: Record<string, boolean>;
}
const rows: Row[] = JSON.parse(readFileSync(TABLE, 'utf8')).prompts;

/** Correct answers per model, straight from the data (the numbers SOURCE.md states). */
const fromData = (model: string, set: Row[] = rows) => set.filter((r) => r.correct[model]).length;

const chatBody = (model: string, prompt: string, extra: object = {}) => ({ model, messages: [{ role: 'user', content: prompt }], max_tokens: 4, ...extra });

/** POST every prompt (eight at a time) and return each answer's `x-sim-correct`. */
async function score(url: string, model: string, set: Row[], extra: object = {}): Promise<boolean[]> {
  const out: boolean[] = new Array(set.length);
  for (let i = 0; i < set.length; i += 8) {
    await Promise.all(
      set.slice(i, i + 8).map(async (r, j) => {
        const res = await postJson(`${url}/v1/chat/completions`, chatBody(model, r.prompt, extra));
        assert.equal(res.status, 200, res.text);
        assert.equal(res.headers.get('x-sim-quality-source'), 'table', r.id);
        out[i + j] = res.headers.get('x-sim-correct') === 'true';
      }),
    );
  }
  return out;
}

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ quality: { file: TABLE, models: {}, prompts: [] } });
});
after(() => sim.close());

test('the sample table: 285 prompts, gpt-4 right on 235, mixtral on 203', () => {
  assert.equal(rows.length, 285);
  assert.equal(fromData(STRONG), 235);
  assert.equal(fromData(WEAK), 203);
});

test('strong and weak model score exactly as the table says on the same prompts (simulator direct)', async () => {
  const strong = await score(sim.url, STRONG, rows);
  const weak = await score(sim.url, WEAK, rows);
  assert.equal(strong.filter(Boolean).length, 235);
  assert.equal(weak.filter(Boolean).length, 203);
  // Not just the totals: every prompt's verdict is the data's.
  assert.deepEqual(strong, rows.map((r) => r.correct[STRONG]));
  assert.deepEqual(weak, rows.map((r) => r.correct[WEAK]));
  // Where only gpt-4 is right is where a router should pay for it.
  assert.equal(rows.filter((r, i) => strong[i] && !weak[i]).length, rows.filter((r) => r.correct[STRONG] && !r.correct[WEAK]).length);
});

test('unknown prompts follow the default probability, deterministically (same verdict twice, and after a restart)', async () => {
  const prompts = Array.from({ length: 40 }, (_, i) => `Unlisted question number ${i}?\nA. yes\nB. no\nAnswer:`);
  const ask = async (url: string) =>
    Promise.all(
      prompts.map(async (p) => {
        const r = await postJson(`${url}/v1/chat/completions`, chatBody(STRONG, p));
        assert.equal(r.headers.get('x-sim-quality-source'), 'default');
        return `${r.headers.get('x-sim-correct')}:${r.json.choices[0].message.content}`;
      }),
    );
  const first = await ask(sim.url);
  assert.deepEqual(await ask(sim.url), first);
  const again = await startSimulator({ quality: { file: TABLE, models: {}, prompts: [] } });
  try {
    assert.deepEqual(await ask(again.url), first);
  } finally {
    await again.close();
  }
  // Multiple choice is answered with one of its letters.
  assert.ok(first.every((x) => /^(true|false):[AB]$/.test(x)), first.join(' '));
});

test('a prompt id the request carries selects the row (x-sim-prompt-id or metadata.prompt_id)', async () => {
  const row = rows.find((r) => r.correct[STRONG] !== r.correct[WEAK])!;
  for (const model of [STRONG, WEAK]) {
    const byHeader = await postJson(`${sim.url}/v1/chat/completions`, chatBody(model, 'paraphrased, so its hash is unknown'), { 'x-sim-prompt-id': row.id });
    assert.equal(byHeader.headers.get('x-sim-correct'), String(row.correct[model]));
    assert.equal(byHeader.headers.get('x-sim-quality-source'), 'table');
    const byMetadata = await postJson(`${sim.url}/v1/chat/completions`, chatBody(model, 'paraphrased again', { metadata: { prompt_id: row.id } }));
    assert.equal(byMetadata.headers.get('x-sim-correct'), String(row.correct[model]));
  }
});

test('with the right letter in the table, the answer text is that letter or a wrong one (both wires, streaming too)', async () => {
  const q = 'Which planet is largest?\nA. Mars\nB. Jupiter\nC. Venus\nD. Mercury\nAnswer:';
  const s = await startSimulator({ quality: { models: {}, prompts: [{ prompt: q, answer: 'B', correct: { [STRONG]: true, [WEAK]: false, 'claude-haiku-4-5': true } }] } });
  try {
    const strong = await postJson(`${s.url}/v1/chat/completions`, chatBody(STRONG, q));
    assert.equal(strong.json.choices[0].message.content, 'B');
    const weak = await postJson(`${s.url}/v1/chat/completions`, chatBody(WEAK, q));
    assert.match(weak.json.choices[0].message.content, /^[ACD]$/);
    assert.equal(weak.headers.get('x-sim-correct'), 'false');
    const claude = await postJson(`${s.url}/v1/messages`, chatBody('claude-haiku-4-5', q), { 'anthropic-version': '2023-06-01' });
    assert.equal(claude.json.content[0].text, 'B');
    assert.equal(claude.headers.get('x-sim-correct'), 'true');
    const streamed = await postJson(`${s.url}/v1/chat/completions`, chatBody(STRONG, q, { stream: true }));
    assert.equal(streamed.headers.get('x-sim-correct'), 'true');
    assert.match(streamed.text, /"content":"B"/);
    // Without a table the simulator answers prose and reports no verdict, as before.
    const plain = await startSimulator();
    try {
      const r = await postJson(`${plain.url}/v1/chat/completions`, chatBody(STRONG, q));
      assert.equal(r.headers.get('x-sim-correct'), null);
      assert.notEqual(r.json.choices[0].message.content, 'B');
    } finally {
      await plain.close();
    }
  } finally {
    await s.close();
  }
});

test('through the gateway: a config file names the table (relative to the file), the verdict header passes through', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-quality-'));
  const config = join(dir, 'costgate.json');
  writeFileSync(config, JSON.stringify({ providers: { sim: { type: 'simulator', simulator: { quality: { file: relative(dir, TABLE) } } } }, ledger: { store: 'memory' } }));
  const t = await startTestGateway({ config });
  try {
    const set = rows.slice(0, 60);
    const strong = await score(t.url, STRONG, set);
    const weak = await score(t.url, WEAK, set);
    assert.equal(strong.filter(Boolean).length, fromData(STRONG, set));
    assert.equal(weak.filter(Boolean).length, fromData(WEAK, set));
    assert.deepEqual(weak, set.map((r) => r.correct[WEAK]));
    // The Anthropic surface (translated to OpenAI for these models) and streaming carry it too.
    const row = set.find((r) => !r.correct[WEAK])!;
    const viaMessages = await postJson(`${t.url}/v1/messages`, chatBody(WEAK, row.prompt), { 'anthropic-version': '2023-06-01' });
    assert.equal(viaMessages.status, 200, viaMessages.text);
    assert.equal(viaMessages.headers.get('x-sim-correct'), 'false');
    const streamed = await postJson(`${t.url}/v1/chat/completions`, chatBody(WEAK, row.prompt, { stream: true }));
    assert.equal(streamed.headers.get('x-sim-correct'), 'false');
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('costgate simulator --quality FILE --port 0 serves the table', { timeout: 30_000 }, async () => {
  const child = spawn(process.execPath, [BIN, 'simulator', '--port', '0', '--quality', TABLE], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`simulator did not start:\n${out}\n${err}`)), 20_000);
      child.stdout.on('data', () => {
        const m = /costgate simulator on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`simulator exited (${code}):\n${out}\n${err}`));
      });
    });
    const set = rows.slice(0, 40);
    assert.deepEqual(await score(url, STRONG, set), set.map((r) => r.correct[STRONG]));
    assert.deepEqual(await score(url, WEAK, set), set.map((r) => r.correct[WEAK]));
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
});
