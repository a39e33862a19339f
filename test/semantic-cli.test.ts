/** `costgate start` with `cache.semantic: on` in its config installs the USE-Lite layer: start does not wait for the model, then paraphrases hit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCliGateway } from './helpers/cli.js';
import { postJson } from './helpers/gateway.js';

test('costgate start: semantic on from config → USE-Lite loads in the background, a paraphrase is served from the cache', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-semcli-'));
  const cfg = join(dir, 'costgate.json');
  writeFileSync(cfg, JSON.stringify({ server: { port: 0 }, providers: { sim: { type: 'simulator', simulator: { jitterMs: 0 } } }, ledger: { store: 'memory' }, cache: { enabled: true, semantic: 'on' } }));
  const g = await startCliGateway(cfg, dir);
  try {
    // The lines after "listening" may arrive in a later chunk.
    for (let i = 0; i < 100 && !/semantic cache:/.test(g.stdout()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(g.stdout(), /semantic cache: use-lite-512 .*\(loading; lookups miss until ready\)/);
    const chat = (content: string) => ({ model: 'gpt-4o-mini', temperature: 0, max_tokens: 16, messages: [{ role: 'user', content }] });
    for (let i = 0; i < 600 && !/embedder ready/.test(g.stdout()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(g.stdout(), /semantic cache embedder ready/);
    const a = await postJson(g.url + '/v1/chat/completions', chat('What is the capital of France?'));
    assert.equal(a.headers.get('x-costgate-cache'), 'miss');
    // The question is embedded after the answer is sent: try a few different rewrites (each is a new exact key).
    const rewrites = ['Can you tell me: what is the capital of France?', 'Please answer this: What is the capital of France?', 'hi, what is the capital of France?', 'what is the capital of France', 'What is the capital of France? Thanks!'];
    let served: string | null = null;
    // A rewrite that missed (asked before the first question was indexed) is stored too, and may be the one found.
    const answers = new Set<string>([a.json.choices[0].message.content]);
    for (const q of rewrites) {
      await new Promise((r) => setTimeout(r, 300));
      const b = await postJson(g.url + '/v1/chat/completions', chat(q));
      served = b.headers.get('x-costgate-cache');
      if (served === 'semantic') {
        assert.ok(answers.has(b.json.choices[0].message.content), 'served an earlier answer to the same question');
        break;
      }
      answers.add(b.json.choices[0].message.content);
    }
    assert.equal(served, 'semantic');
  } finally {
    g.child.kill('SIGTERM');
    await g.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
