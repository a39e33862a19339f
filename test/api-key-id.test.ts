/**
 * The ledger's `api_key_id`: a one-way fingerprint of the client's credential (`fp_` + 16 hex of its SHA-256, from
 * `Authorization: Bearer …` or `x-api-key`), null when none was sent. The `?key=` filter, `/v1/costgate/report?by=key`
 * and `costgate report --by key` / `--key` (CLI, child process on the SQLite file the gateway wrote) group and select
 * by it, and the raw key appears in no row, no attempt row and nowhere in the ledger's files.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { keyFingerprint } from '../src/pipeline/stages/auth.js';
import type { LedgerRow } from '../src/stores/ledger/types.js';

const BIN = fileURLToPath(new URL('../../bin/costgate.js', import.meta.url));
const KEY_A = `sk-proj-${randomUUID()}`;
const KEY_B = `sk-ant-api03-${randomUUID()}`;
const fp = (k: string) => `fp_${createHash('sha256').update(k).digest('hex').slice(0, 16)}`;

let dir: string;
let config: string;
let t: TestGateway;
const ids = { a1: `k-${randomUUID()}`, a2: `k-${randomUUID()}`, b1: `k-${randomUUID()}`, none: `k-${randomUUID()}`, rejected: `k-${randomUUID()}` };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'costgate-keys-'));
  config = join(dir, 'costgate.json');
  writeFileSync(config, JSON.stringify({ ledger: { store: 'sqlite', path: join(dir, 'ledger.db') } }));
  t = await startTestGateway({ config: { ledger: { store: 'sqlite', path: join(dir, 'ledger.db'), flushIntervalMs: 5 } } as never });
  const openai = new OpenAI({ apiKey: KEY_A, baseURL: `${t.url}/v1`, maxRetries: 0 });
  const chat = { model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user' as const, content: 'whose key is this?' }] };
  await openai.chat.completions.create(chat, { headers: { 'x-costgate-request-id': ids.a1 } });
  await openai.chat.completions.create({ ...chat, stream: true }, { headers: { 'x-costgate-request-id': ids.a2 } }).then(async (s) => {
    for await (const _ of s);
  });
  const anthropic = new Anthropic({ apiKey: KEY_B, baseURL: t.url, maxRetries: 0 });
  await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'and this one?' }] }, { headers: { 'x-costgate-request-id': ids.b1 } });
  // No credential at all, and a call refused before the pipeline (still attributed to its key).
  const none = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-costgate-request-id': ids.none }, body: JSON.stringify(chat) });
  assert.equal(none.status, 200);
  const bad = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY_A}`, 'x-costgate-request-id': ids.rejected }, body: '{"model":' });
  assert.equal(bad.status, 400);
  await t.gw.ledger.writer.flushNow();
});
after(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function row(id: string): Promise<LedgerRow> {
  const { rows } = await t.gw.requests({ requestId: id });
  assert.equal(rows.length, 1, id);
  return rows[0]!;
}

test('keyFingerprint: Bearer token or x-api-key, fp_ + 16 hex of SHA-256; none without a credential', () => {
  assert.equal(keyFingerprint({ authorization: 'Bearer sk-abc' }), fp('sk-abc'));
  assert.equal(keyFingerprint({ authorization: 'bearer   sk-abc ' }), fp('sk-abc'));
  assert.equal(keyFingerprint({ 'x-api-key': 'sk-abc' }), fp('sk-abc'));
  assert.equal(keyFingerprint({ authorization: 'Bearer sk-abc', 'x-api-key': 'other' }), fp('sk-abc'), 'Authorization first');
  assert.equal(keyFingerprint({ authorization: 'Basic dXNlcjpwdw==', 'x-api-key': 'sk-abc' }), fp('sk-abc'), 'not a bearer token');
  assert.match(keyFingerprint({ 'x-api-key': 'k' })!, /^fp_[0-9a-f]{16}$/);
  for (const h of [{}, { authorization: '' }, { authorization: 'Bearer ' }, { 'x-api-key': '  ' }, { authorization: 'Basic xyz' }]) assert.equal(keyFingerprint(h), undefined, JSON.stringify(h));
});

test('rows carry the fingerprint of the key that made the call (OpenAI SDK Bearer, Anthropic SDK x-api-key, rejected calls); null without one', async () => {
  assert.equal((await row(ids.a1)).apiKeyId, fp(KEY_A));
  assert.equal((await row(ids.a2)).apiKeyId, fp(KEY_A));
  assert.equal((await row(ids.b1)).apiKeyId, fp(KEY_B));
  assert.equal((await row(ids.rejected)).apiKeyId, fp(KEY_A));
  assert.equal((await row(ids.none)).apiKeyId, null);
});

test('the raw key appears in no row or attempt row (API, records) and nowhere in the SQLite files', async () => {
  const { rows } = await t.gw.requests({ limit: 1000 });
  assert.equal(rows.length, Object.keys(ids).length);
  for (const r of rows) {
    const text = JSON.stringify({ r, attempts: await t.gw.ledger.store.attempts(r.uid) });
    for (const k of [KEY_A, KEY_B]) assert.equal(text.includes(k), false);
  }
  const viaHttp = await (await fetch(`${t.url}/v1/costgate/requests?limit=1000`)).text();
  const recent = JSON.stringify(t.gw.recent());
  for (const k of [KEY_A, KEY_B]) {
    assert.equal(viaHttp.includes(k), false);
    assert.equal(recent.includes(k), false);
    // Nor any recognisable part of it.
    assert.equal(viaHttp.includes(k.slice(-12)), false);
  }
  for (const f of readdirSync(dir).filter((n) => n.startsWith('ledger.db'))) {
    const bytes = readFileSync(join(dir, f));
    for (const k of [KEY_A, KEY_B]) assert.equal(bytes.includes(k), false, f);
  }
});

test('GET /v1/costgate/requests?key= and /v1/costgate/report?by=key select and group by the fingerprint', async () => {
  const list = async (q: string) => ((await (await fetch(`${t.url}/v1/costgate/requests?limit=1000&${q}`)).json()) as { data: LedgerRow[] }).data.map((r) => r.requestId).sort();
  assert.deepEqual(await list(`key=${fp(KEY_A)}`), [ids.a1, ids.a2, ids.rejected].sort());
  assert.deepEqual(await list(`key=${fp(KEY_B)}`), [ids.b1]);
  assert.deepEqual(await list(`key=${KEY_A}`), [], 'the raw key is not an id');
  const rep = (await (await fetch(`${t.url}/v1/costgate/report?by=key`)).json()) as { rows: { group: { key: string | null }; requests: number }[] };
  const byKey = Object.fromEntries(rep.rows.map((r) => [String(r.group.key), r.requests]));
  assert.deepEqual(byKey, { [fp(KEY_A)]: 3, [fp(KEY_B)]: 1, null: 1 });
  const lib = await t.gw.report({ apiKeyId: fp(KEY_B) }, ['key']);
  assert.deepEqual(lib.rows.map((r) => [r.group.key, r.requests]), [[fp(KEY_B), 1]]);
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, NODE_NO_WARNINGS: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? 1 : 0, stdout, stderr });
    });
  });
}

test('costgate report --by key and --key (CLI on the ledger file the gateway wrote)', async () => {
  const by = await cli(['report', '--config', config, '--by', 'key', '--json']);
  assert.equal(by.code, 0, by.stderr);
  const j = JSON.parse(by.stdout) as { rows: { group: { key: string | null }; requests: number }[] };
  assert.deepEqual(Object.fromEntries(j.rows.map((r) => [String(r.group.key), r.requests])), { [fp(KEY_A)]: 3, [fp(KEY_B)]: 1, null: 1 });
  const one = await cli(['report', '--config', config, '--key', fp(KEY_A), '--json']);
  assert.equal(one.code, 0, one.stderr);
  assert.equal((JSON.parse(one.stdout) as { total: { requests: number } }).total.requests, 3);
  const table = await cli(['report', '--config', config, '--by', 'key']);
  assert.equal(table.code, 0, table.stderr);
  assert.ok(table.stdout.includes(fp(KEY_A)) && table.stdout.includes(fp(KEY_B)));
  assert.equal(table.stdout.includes(KEY_A), false);
});
