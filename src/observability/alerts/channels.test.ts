/**
 * Each channel against a local sink: the JSON webhook and the Slack incoming-webhook format against an HTTP server on
 * 127.0.0.1, email against an SMTP sink (smtp-server) on 127.0.0.1, and the log. Also: retry then success, the SSRF
 * guard refusing a loopback URL unless allowPrivate, and a receiver that never answers 2xx.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { AlertChannelSchema } from '../../config/alerts-schema.js';
import type { AlertEvent } from '../../stores/alerts/types.js';
import { deliver, makeChannel } from './channels.js';

const event: AlertEvent = {
  key: 'errorRate', rule: 'errorRate', level: 'warning', value: 0.05, threshold: 0.02, labels: { feature: 'search' },
  message: 'Error rate 5.0% (5 of 100 requests) over the last 15m', ts: Date.UTC(2025, 2, 15, 12), kind: 'firing',
};

interface Received { headers: IncomingMessage['headers']; body: any }
async function receiver(answer: (n: number) => number = () => 200) {
  const got: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: JSON.parse(data) });
      res.writeHead(answer(got.length)).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  return { got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

const channel = (c: unknown) => makeChannel(AlertChannelSchema.parse(c), 0, { env: { SMTP_PASS: 'pw' } });

test('webhook: the JSON alert document, with configured headers', async () => {
  const r = await receiver();
  const res = await deliver(channel({ type: 'webhook', url: r.url, allowPrivate: true, headers: { 'x-token': 't1', 'x-secret': 'env:SMTP_PASS' } }), event, 3, 0);
  assert.deepEqual(res, { channel: 'webhook0', ok: true, attempts: 1 });
  assert.equal(r.got.length, 1);
  assert.equal(r.got[0]!.headers['x-token'], 't1');
  assert.equal(r.got[0]!.headers['x-secret'], 'pw');
  assert.equal(r.got[0]!.headers['content-type'], 'application/json');
  assert.deepEqual(r.got[0]!.body, {
    type: 'costgate.alert', status: 'firing', kind: 'firing', key: 'errorRate', rule: 'errorRate', level: 'warning',
    message: event.message, value: 0.05, threshold: 0.02, labels: { feature: 'search' }, ts: '2025-03-15T12:00:00.000Z',
  });
  await deliver(channel({ type: 'webhook', url: r.url, allowPrivate: true }), { ...event, kind: 'resolved' }, 1, 0);
  assert.equal(r.got[1]!.body.status, 'resolved');
});

test('webhook: a 500 is retried with backoff and the second attempt lands; a receiver that keeps failing gives up', async () => {
  const r = await receiver((n) => (n === 1 ? 500 : 204));
  const res = await deliver(channel({ type: 'webhook', url: r.url, allowPrivate: true }), event, 3, 1);
  assert.deepEqual([res.ok, res.attempts], [true, 2]);
  const down = await receiver(() => 503);
  const failed = await deliver(channel({ type: 'webhook', url: down.url, allowPrivate: true }), event, 2, 1);
  assert.deepEqual([failed.ok, failed.attempts, failed.error], [false, 2, 'HTTP 503']);
  assert.equal(down.got.length, 2);
});

test('webhook: the SSRF guard refuses loopback (and plain http) unless allowPrivate', async () => {
  const r = await receiver();
  const res = await deliver(channel({ type: 'webhook', url: r.url }), event, 1, 0);
  assert.equal(res.ok, false);
  assert.match(res.error!, /scheme http: refused|refused/);
  const meta = await deliver(channel({ type: 'webhook', url: 'https://169.254.169.254/latest' }), event, 1, 0);
  assert.match(meta.error!, /169\.254\.169\.254 refused/);
  assert.equal(r.got.length, 0);
});

test('slack: an incoming-webhook body with text and blocks', async () => {
  const r = await receiver();
  assert.equal((await deliver(channel({ type: 'slack', url: r.url, allowPrivate: true }), event, 1, 0)).ok, true);
  const b = r.got[0]!.body;
  assert.equal(b.text, `:warning: [FIRING] ${event.message}`);
  assert.equal(b.blocks[0].type, 'section');
  assert.equal(b.blocks[0].text.type, 'mrkdwn');
  assert.equal(b.blocks[0].text.text, b.text);
  assert.match(b.blocks[1].elements[0].text, /rule `errorRate` · level warning · key `errorRate`/);
  await deliver(channel({ type: 'slack', url: r.url, allowPrivate: true }), { ...event, kind: 'resolved' }, 1, 0);
  assert.match(r.got[1]!.body.text, /^:white_check_mark: \[RESOLVED\]/);
});

test('email: sent over SMTP to a local sink, with login, subject and body', async () => {
  const mails: { from: string; to: string[]; data: string; user?: string }[] = [];
  const smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _s, cb) {
      if (auth.username === 'alerts' && auth.password === 'pw') cb(null, { user: 'alerts' });
      else cb(new Error('bad login'));
    },
    onData(stream, session, cb) {
      let data = '';
      stream.on('data', (c) => (data += c));
      stream.on('end', () => {
        mails.push({ from: String(session.envelope.mailFrom && session.envelope.mailFrom.address), to: session.envelope.rcptTo.map((r) => r.address), data, user: session.user as string });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  const port = (smtp.server.address() as AddressInfo).port;
  const ch = channel({ type: 'email', host: '127.0.0.1', port, user: 'alerts', password: 'env:SMTP_PASS', from: 'costgate@example.test', to: ['ops@example.test', 'fin@example.test'] });
  try {
    const res = await deliver(ch, event, 1, 0);
    assert.deepEqual(res, { channel: 'email0', ok: true, attempts: 1 });
    assert.equal(mails.length, 1);
    assert.equal(mails[0]!.user, 'alerts');
    assert.equal(mails[0]!.from, 'costgate@example.test');
    assert.deepEqual(mails[0]!.to, ['ops@example.test', 'fin@example.test']);
    assert.match(mails[0]!.data, /Subject: \[costgate\] FIRING: Error rate 5\.0%/);
    assert.match(mails[0]!.data, /rule: errorRate/);
  } finally {
    await ch.close?.();
    await new Promise<void>((r) => smtp.close(() => r()));
  }
});

test('log: one JSON line with the alert document', async () => {
  const lines: string[] = [];
  const ch = makeChannel({ type: 'log' }, 2, { env: {}, log: (l) => lines.push(l) });
  assert.equal(ch.name, 'log2');
  await ch.send(event);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^costgate alert \{/);
  assert.equal(JSON.parse(lines[0]!.slice('costgate alert '.length)).key, 'errorRate');
});
