/**
 * Stored bodies end to end: a real gateway (HTTP, in-process simulator, SQLite ledger file) with
 * `ledger.storeBodies` on for one feature; the official `openai` SDK sends few-shot calls (non-streaming and
 * streaming) carrying an email, a card number, a key and a configured pattern, plus calls of another feature and a
 * failing call. Then the CLI, as a user runs it: `costgate report finetune --json` must list the feature as a
 * candidate, and `costgate export finetune` must write one OpenAI fine-tuning line per successful stored call,
 * each valid against the spec, redacted, none from the other feature.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startTestGateway } from './helpers/gateway.js';
import { fineTuneLineValidator } from './helpers/finetune-schema.js';

const BIN = join(process.cwd(), 'bin', 'costgate.js');
const EMAIL = 'jane.roe@example.org';
const CARD = '4111 1111 1111 1111';
const KEY = 'sk-live-0123456789abcdefABCDEF';
const ACCT = 'ACCT-424242';

const SYSTEM = `You label support tickets with one of: billing, bug, account, other. ${'Follow the house style guide closely. '.repeat(80)}`;
const EXAMPLES = [
  ['My invoice was charged twice this month, please refund one.', 'billing'],
  ['The export button crashes the app on Safari.', 'bug'],
  ['I cannot reset my password, the email never arrives.', 'account'],
].flatMap(([u, a]) => [{ role: 'user' as const, content: u! }, { role: 'assistant' as const, content: a! }]);

test('storeBodies on for one feature: SDK calls → stored, redacted bodies → report finetune and export finetune', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-ft-'));
  try {
    const cfgPath = join(dir, 'costgate.json');
    writeFileSync(
      cfgPath,
      JSON.stringify({
        providers: { sim: { type: 'simulator' } },
        ledger: { store: 'sqlite', path: join(dir, 'ledger.db'), storeBodies: { enabled: true, features: ['classify'], redact: [{ pattern: 'ACCT-\\d{6}', kind: 'account' }] } },
      }),
    );
    const t = await startTestGateway({ config: cfgPath });
    const client = new OpenAI({ apiKey: 'sk-test-not-a-real-key', baseURL: `${t.url}/v1`, maxRetries: 0 });
    let stored = 0;
    try {
      for (let i = 0; i < 12; i++) {
        const messages = [{ role: 'system' as const, content: SYSTEM }, ...EXAMPLES, { role: 'user' as const, content: `Ticket ${i}: contact ${EMAIL}, card ${CARD}, account ${ACCT}, my key ${KEY} stopped working.` }];
        const headers = { 'x-costgate-feature': 'classify' };
        if (i % 4 === 3) {
          const s = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, max_tokens: 16 }, { headers });
          let text = '';
          for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
          assert.ok(text.length > 0);
        } else {
          const r = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 16 }, { headers });
          assert.ok(r.choices[0]!.message.content);
        }
        stored++;
      }
      for (let i = 0; i < 4; i++) await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `other ${EMAIL}` }] }, { headers: { 'x-costgate-feature': 'chat' } });
      // A failing call of the stored feature: refused (unknown parameter type), so nothing is stored for it.
      await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_tokens: -1 }, { headers: { 'x-costgate-feature': 'classify' } }));
      await t.waitRecords(17);
      await t.gw.ledger.writer.flushNow();
      const { rows } = await t.gw.ledger.store.bodies({ limit: 1000 });
      assert.equal(rows.length, stored, 'one body per successful classify call, none for chat or the refused call');
      assert.ok(rows.every((b) => b.feature === 'classify' && b.status === 200));
      assert.equal(rows.filter((b) => b.stream).length, 3);
      assert.ok(rows.filter((b) => b.stream).every((b) => b.response && JSON.parse(b.response).assembled === true), 'streams keep their assembled answer');
      for (const b of rows) {
        assert.match(b.redactions ?? '', /email=1/);
        assert.match(b.redactions ?? '', /card=1/);
        assert.match(b.redactions ?? '', /key=1/);
        assert.match(b.redactions ?? '', /account=1/);
        assert.ok(b.request.includes('[REDACTED:email]') && b.request.includes('[REDACTED:card]') && b.request.includes('[REDACTED:account]') && b.request.includes('[REDACTED:key]'));
      }
    } finally {
      await t.close();
    }
    // No raw value reached the ledger's bytes (main file and WAL).
    const bytes = readdirSync(dir).filter((f) => f.startsWith('ledger.db')).map((f) => readFileSync(join(dir, f)).toString('latin1')).join('');
    assert.ok(bytes.includes('[REDACTED:email]'), 'the bodies are in the file');
    for (const raw of [EMAIL, CARD, KEY, ACCT]) assert.ok(!bytes.includes(raw), `${raw} is not in the ledger file`);

    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, [BIN, ...args, '-c', cfgPath], { cwd: dir, encoding: 'utf8', env: { ...process.env, COSTGATE_CONFIG: '' } });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const report = JSON.parse(cli('report', 'finetune', '--since', '1h', '--target-model', 'gpt-4o-mini', '--target-input-price', '0.30', '--target-output-price', '1.20', '--training-cost-per-mtok', '3', '--json'));
    const c = report.find((r: { feature: string }) => r.feature === 'classify');
    assert.ok(c, JSON.stringify(report));
    assert.equal(c.candidate, true, c.reasons.join('; '));
    assert.equal(c.fewShot.storedCalls, stored);
    assert.equal(c.fewShot.avgExamplePairs, 3);
    assert.ok(c.fewShot.avgPrefixTokens >= 500, `prefix ${c.fewShot.avgPrefixTokens} tokens`);
    assert.ok(BigInt(c.monthlySavingNanos) > 0n && BigInt(c.trainingCostNanos) > 0n && c.breakEvenMonths !== null);
    assert.equal(BigInt(c.firstYearNetNanos), 12n * BigInt(c.monthlySavingNanos) - BigInt(c.trainingCostNanos));
    const chat = report.find((r: { feature: string }) => r.feature === 'chat');
    assert.equal(chat.candidate, false);
    const table = cli('report', 'finetune', '--since', '1h', '--target-model', 'gpt-4o-mini', '--training-cost', '20');
    assert.match(table, /classify\s+gpt-4o/);

    const out = join(dir, 'classify.jsonl');
    const msg = cli('export', 'finetune', '--feature', 'classify', '--out', out);
    assert.match(msg, new RegExp(`wrote ${stored} examples`));
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, stored);
    const valid = fineTuneLineValidator();
    for (const l of lines) {
      const j = JSON.parse(l);
      assert.equal(valid(j), undefined, l.slice(0, 300));
      assert.equal(j.messages.length, 1 + EXAMPLES.length + 2);
      assert.equal(j.messages.at(-1).role, 'assistant');
      assert.ok(j.messages.at(-1).content.length > 0);
    }
    const text = readFileSync(out, 'utf8');
    for (const raw of [EMAIL, CARD, KEY, ACCT]) assert.ok(!text.includes(raw), `${raw} is not exported`);
    assert.ok(!text.includes('other '), 'no line from the chat feature');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
