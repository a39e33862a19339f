/**
 * A planted secret: the provider key is a unique string in an environment variable, and the upstream (a capturing
 * server on loopback) answers errors that echo it back, as OpenAI's "Incorrect API key provided: …" does. Whatever
 * happens — successes, 400/401/403/500 from upstream, an error document with a 200, in-stream error events, a
 * config-check, reports, a real `costgate start` process — the key must appear in nothing the gateway produces:
 * client bodies and headers, warnings and console output, request records, ledger rows and attempts (API and the
 * SQLite file itself), stored request/response bodies (`ledger.storeBodies` on, with the key pasted into the prompts),
 * reports and CLI output. The upstream must have received it, or the test proves nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { startTestGateway } from './helpers/gateway.js';
import { startCapture, type Captured } from './helpers/capture.js';
import { anthropicStream, openaiStream, openaiTextCompletion } from '../src/providers/shared/wire-fixtures.js';

const SECRET = `sk-planted-${randomUUID()}-${randomUUID()}`;
const KEY_ENV = 'CG_PLANTED_PROVIDER_KEY';
const BIN = join(process.cwd(), 'bin', 'costgate.js');

const keyOf = (c: Captured) => String(c.headers['x-api-key'] ?? String(c.headers.authorization ?? '').replace(/^Bearer /, ''));

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Errors that quote the key they were called with, in the provider's own shape; `x-cap` (a deployment header) picks one. */
function respond(c: Captured, res: ServerResponse): boolean {
  const scenario = String(c.headers['x-cap'] ?? 'ok');
  const key = keyOf(c);
  const anthropic = c.path.endsWith('/messages');
  const err = (status: number, type: string, message: string) =>
    sendJson(res, status, anthropic ? { type: 'error', error: { type, message } } : { error: { message, type, param: null, code: type === 'invalid_request_error' ? 'invalid_api_key' : null } });
  switch (scenario) {
    case '401':
      err(401, anthropic ? 'authentication_error' : 'invalid_request_error', `Incorrect API key provided: ${key}. You can find your API key at https://platform.example/account/api-keys.`);
      return true;
    case '403':
      err(403, 'permission_error', `Key ${key} is not allowed to use this model`);
      return true;
    case '400':
      err(400, 'invalid_request_error', `Bad request from key ${key}`);
      return true;
    case '500':
      err(500, 'server_error', `Internal error while serving key ${key}`);
      return true;
    case 'error-200':
      // An error document with a 200 (some providers do this): the gateway calls it malformed and says why.
      sendJson(res, 200, { error: { message: `quota exhausted for ${key}`, type: 'insufficient_quota' } });
      return true;
    case 'stream-error': {
      if (!c.json?.stream) return false;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // Some content (Anthropic: message_start, content_block_start, ping, a text delta), then the provider's error event.
      const head = anthropic ? anthropicStream(true).split('\n\n').slice(0, 4) : openaiStream(openaiTextCompletion, false).split('\n\n').slice(0, 2);
      res.write(head.join('\n\n') + '\n\n');
      const tail = anthropic
        ? `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: `stream failed for ${key}` } })}\n\n`
        : `data: ${JSON.stringify({ error: { message: `stream failed for ${key}`, type: 'server_error', code: null } })}\n\n`;
      // After content, so it is relayed in-stream; flushed apart so the client has the content first.
      setTimeout(() => res.end(tail), 30);
      return true;
    }
    default:
      return false;
  }
}

const SCENARIOS = ['ok', '401', '403', '400', '500', 'error-200', 'stream-error'] as const;

test('the provider key appears in no output, record, ledger row, report or log', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-secret-'));
  const cap = await startCapture(respond);
  const seen: { where: string; text: string }[] = [];
  try {
    const keep = (where: string, v: unknown) => seen.push({ where, text: typeof v === 'string' ? v : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x)) });
    // Everything written to this process's console and every warning while the gateway runs.
    const writes = { out: process.stdout.write, err: process.stderr.write };
    const tap = (name: 'stdout' | 'stderr', orig: typeof process.stdout.write) =>
      function (this: unknown, chunk: unknown, ...rest: unknown[]) {
        keep(`process.${name}`, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
        return (orig as (...a: unknown[]) => boolean).call(process[name], chunk, ...rest);
      } as typeof process.stdout.write;
    const onWarning = (w: Error) => keep('warning', `${w.name}: ${w.message}\n${w.stack}`);
    const env = { [KEY_ENV]: SECRET };
    const cfgPath = join(dir, 'costgate.json');
    const timeouts = { firstByteMs: 5000, connectMs: 1000 };
    const config = {
      server: { port: 0 },
      providers: {
        oa: { type: 'openai', baseUrl: `${cap.url}/v1`, apiKeyEnv: KEY_ENV, timeouts },
        an: { type: 'anthropic', baseUrl: `${cap.url}/v1`, apiKeyEnv: KEY_ENV, timeouts },
      },
      deployments: SCENARIOS.flatMap((s) => [
        { name: `oa-${s}`, provider: 'oa', model: 'gpt-4o-mini', headers: { 'x-cap': s } },
        { name: `an-${s}`, provider: 'an', model: 'claude-haiku-4-5', headers: { 'x-cap': s } },
      ]),
      models: Object.fromEntries(SCENARIOS.flatMap((s) => [[`oa-${s}`, { deployments: [`oa-${s}`] }], [`an-${s}`, { deployments: [`an-${s}`] }]])),
      retries: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
      // Stored bodies on: the client pastes the key into its prompts, and none of it may reach the ledger (issue 12).
      ledger: { store: 'sqlite', path: join(dir, 'ledger.db'), storeBodies: { enabled: true } },
    };
    writeFileSync(cfgPath, JSON.stringify(config));
    process.stdout.write = tap('stdout', writes.out);
    process.stderr.write = tap('stderr', writes.err);
    process.on('warning', onWarning);
    try {
      const t = await startTestGateway({ config: cfgPath, env });
      try {
        let n = 0;
        for (const surface of ['openai', 'anthropic'] as const) {
          for (const prefix of ['oa', 'an']) {
            for (const s of SCENARIOS) {
              for (const stream of [false, true]) {
                const path = surface === 'openai' ? '/v1/chat/completions' : '/v1/messages';
                const content = n % 2 ? `hi, my key is ${SECRET}` : `hi, header was Authorization: Bearer ${SECRET}`;
                const body = { model: `${prefix}-${s}`, max_tokens: 8, messages: [{ role: 'user', content }], ...(stream ? { stream: true } : {}) };
                const res = await fetch(t.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
                keep(`${surface} ${prefix}-${s}${stream ? ' stream' : ''} headers`, [...res.headers]);
                keep(`${surface} ${prefix}-${s}${stream ? ' stream' : ''} body (HTTP ${res.status})`, await res.text());
                n++;
              }
            }
          }
        }
        const recs = await t.waitRecords(n);
        keep('records', recs);
        keep('gw.recent()', t.gw.recent());
        const { rows } = await t.gw.requests({ limit: 1000 });
        assert.equal(rows.length, n, 'every call has its ledger row');
        keep('gw.requests()', rows);
        assert.ok(rows.some((r) => r.status === 200) && rows.some((r) => r.status >= 400), 'successes and failures were both recorded');
        for (const r of rows) keep(`GET /v1/costgate/requests/${r.requestId}`, await (await fetch(`${t.url}/v1/costgate/requests/${r.requestId}`)).text());
        for (const p of ['/v1/costgate/requests?limit=1000', '/v1/costgate/report?by=model,provider', '/v1/costgate/report/pareto', '/v1/costgate/report/monthly']) {
          keep(`GET ${p}`, await (await fetch(t.url + p)).text());
        }
        keep('gw.report()', await t.gw.report({}, ['model']));
        await t.gw.ledger.writer.flushNow();
        const bodies = (await t.gw.ledger.store.bodies({ limit: 1000 })).rows;
        keep('stored bodies', bodies);
        assert.ok(bodies.length >= SCENARIOS.length && bodies.every((b) => /\[REDACTED:(secret|bearer)\]/.test(b.request)), 'bodies were stored, with the pasted key redacted');
      } finally {
        await t.close();
      }
    } finally {
      process.stdout.write = writes.out;
      process.stderr.write = writes.err;
      process.off('warning', onWarning);
    }
    // The CLI, as a user runs it, with the key in its environment.
    const childEnv = { ...process.env, [KEY_ENV]: SECRET };
    for (const args of [['config-check', cfgPath], ['report', 'summary', '-c', cfgPath], ['report', 'summary', '-c', cfgPath, '--json'], ['report', 'pareto', '-c', cfgPath], ['report', 'monthly', '-c', cfgPath]]) {
      const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: childEnv, encoding: 'utf8' });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      keep(`costgate ${args[0]} ${args[1]} stdout`, r.stdout);
      keep(`costgate ${args[0]} ${args[1]} stderr`, r.stderr);
      if (args[0] === 'config-check') assert.match(r.stdout, /provider oa: openai .* key: set/, 'config-check saw the key');
    }
    // A real server process: its start-up banner, request handling and shutdown output.
    const child = spawn(process.execPath, [BIN, 'start', '--config', cfgPath], { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner: ${out} ${err}`)), 10_000);
        child.stdout.on('data', () => {
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      for (const model of ['oa-ok', 'oa-401', 'an-500', 'oa-400']) {
        const res = await fetch(url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, max_tokens: 8, messages: [{ role: 'user', content: `hi ${SECRET}` }] }) });
        keep(`costgate start ${model}`, await res.text());
      }
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, err);
    }
    keep('costgate start stdout', out);
    keep('costgate start stderr', err);
    // The ledger's own bytes (main file and WAL).
    for (const f of readdirSync(dir).filter((f) => f.startsWith('ledger.db'))) keep(`file ${f}`, readFileSync(join(dir, f)).toString('latin1'));
  } finally {
    await cap.close();
    rmSync(dir, { recursive: true, force: true });
  }

  assert.ok(cap.requests.length > 0 && cap.requests.every((c) => keyOf(c) === SECRET), 'the upstream received the planted key on every call');
  assert.ok(seen.some((s) => s.where.includes('401') && /credentials/.test(s.text)), 'a 401 reached the client');
  const leaks = seen.filter((s) => s.text.includes(SECRET));
  assert.deepEqual(
    leaks.map((l) => `${l.where}: ${l.text.slice(Math.max(0, l.text.indexOf(SECRET) - 120), l.text.indexOf(SECRET) + SECRET.length + 20)}`),
    [],
    'the provider key leaked',
  );
});
