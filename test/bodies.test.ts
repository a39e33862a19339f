/**
 * Stored bodies through the gateway (memory ledger, in-process simulator): off by default; the feature list, the
 * sample draw and maxBytes decide what is kept; headers never are; Anthropic-surface calls are kept and export as
 * valid fine-tuning lines; a bad storeBodies config is refused naming the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, postJson } from './helpers/gateway.js';
import { parseConfig, resolveConfig, ConfigError } from '../src/config/load.js';
import { sampleDraw } from '../src/stores/ledger/bodies.js';
import { toFineTuneLine } from '../src/simulate/finetune-export.js';
import { fineTuneLineValidator } from './helpers/finetune-schema.js';

const chat = (content: string) => ({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content }] });

async function bodiesOf(config: Record<string, unknown>, send: (url: string) => Promise<void>) {
  const t = await startTestGateway({ config: { ledger: { store: 'memory', ...config } } });
  try {
    await send(t.url);
    await new Promise((r) => setImmediate(r));
    await t.gw.ledger.writer.flushNow();
    return (await t.gw.ledger.store.bodies({ limit: 1000 })).rows;
  } finally {
    await t.close();
  }
}

test('off by default: no body is stored', async () => {
  const rows = await bodiesOf({}, async (url) => {
    for (let i = 0; i < 3; i++) assert.equal((await postJson(`${url}/v1/chat/completions`, chat(`q${i}`), { 'x-costgate-feature': 'f' })).status, 200);
  });
  assert.equal(rows.length, 0);
});

test('sampleRate keeps the calls whose request-id draw is under it; maxBytes drops large calls; headers are never stored', async () => {
  const ids = Array.from({ length: 40 }, (_, i) => `sample-${i}`);
  const secretHeader = `Bearer hdr-${Date.now()}-unique-token`;
  const rows = await bodiesOf({ storeBodies: { enabled: true, sampleRate: 0.5, maxBytes: 4096 } }, async (url) => {
    for (const id of ids) {
      const r = await postJson(`${url}/v1/chat/completions`, chat(`question ${id}`), { 'x-costgate-request-id': id, 'x-costgate-user': 'user-header-value', authorization: secretHeader });
      assert.equal(r.status, 200, r.text);
    }
    // Larger than maxBytes: not stored, whatever its draw.
    for (let i = 0; i < 4; i++) await postJson(`${url}/v1/chat/completions`, chat('x'.repeat(5000)), { 'x-costgate-request-id': `big-${i}` });
    // Over 4 × maxBytes: dropped before redaction even runs.
    await postJson(`${url}/v1/chat/completions`, chat('y'.repeat(20_000)), { 'x-costgate-request-id': 'huge-0' });
  });
  const want = ids.filter((id) => sampleDraw(id) < 0.5).sort();
  assert.ok(want.length > 5 && want.length < 35, `a real sample: ${want.length} of 40`);
  assert.deepEqual(rows.map((r) => r.requestId).sort(), want);
  const text = JSON.stringify(rows);
  assert.ok(!text.includes('hdr-') && !text.includes('user-header-value'), 'no header value is stored');
});

test('Anthropic-surface calls are stored and export as valid fine-tuning lines; streams keep the assembled text', async () => {
  const rows = await bodiesOf({ storeBodies: { enabled: true, features: ['an'] } }, async (url) => {
    for (const stream of [false, true]) {
      const r = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-costgate-feature': 'an' }, body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 16, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }], ...(stream ? { stream: true } : {}) }) });
      assert.equal(r.status, 200);
      await r.text();
    }
    await postJson(`${url}/v1/chat/completions`, chat('not this feature'), { 'x-costgate-feature': 'other' });
  });
  assert.equal(rows.length, 2);
  const valid = fineTuneLineValidator();
  for (const b of rows) {
    assert.equal(b.surface, 'anthropic');
    const c = toFineTuneLine(b);
    assert.ok('line' in c, JSON.stringify(c));
    assert.equal(valid(c.line), undefined);
    assert.deepEqual(c.line.messages.slice(0, 2), [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello there' }]);
  }
});

test('config: storeBodies fields are validated, naming the field', () => {
  const bad = (storeBodies: unknown, field: RegExp) =>
    assert.throws(() => resolveConfig(parseConfig({ ledger: { storeBodies } }, 'test.yaml'), {}, 'test.yaml'), (e: unknown) => e instanceof ConfigError && field.test((e as Error).message));
  bad({ enabled: true, sampleRate: 2 }, /ledger\.storeBodies\.sampleRate/);
  bad({ enabled: true, redact: [{ pattern: '(' }] }, /ledger\.storeBodies\.redact\.0\.pattern: not a valid regular expression/);
  bad({ enabled: true, retentionDays: 0 }, /ledger\.storeBodies\.retentionDays/);
  bad({ enabel: true }, /ledger\.storeBodies.*enabel/);
  const ok = resolveConfig(parseConfig({ ledger: { storeBodies: { enabled: true, features: ['a'] } } }, 'test.yaml'), {}, 'test.yaml');
  assert.deepEqual(ok.ledger.storeBodies, { enabled: true, features: ['a'], sampleRate: 1, maxBytes: 262144, retentionDays: 30, redact: [] });
});
