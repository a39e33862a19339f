/** callUpstream: bodies read whole or chunk by chunk, deadlines, the client leaving, abandoning a body. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { callUpstream, type CallOptions } from './call.js';

async function withServer(fn: (origin: string, closed: Promise<void>) => Promise<void>, handler: Parameters<typeof createServer>[1]): Promise<void> {
  let onClose!: () => void;
  const closed = new Promise<void>((r) => (onClose = r));
  const server: Server = createServer((req, res) => {
    res.on('close', onClose);
    handler!(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, closed);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const opts = (origin: string, extra: Partial<CallOptions> = {}): CallOptions => ({ origin, path: '/x', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', firstByteMs: 0, totalMs: 0, ...extra });

test('a whole body, with status and lower-cased headers', async () => {
  const agent = new Agent();
  await withServer(
    async (origin) => {
      const r = await callUpstream(agent, opts(origin));
      assert.equal(r.statusCode, 201);
      assert.equal(r.headers['x-request-id'], 'abc');
      assert.equal(await r.body.text(), '{"ok":true}');
    },
    (_req, res) => {
      res.writeHead(201, { 'X-Request-Id': 'abc', 'content-type': 'application/json' });
      res.end('{"ok":true}');
    },
  );
  await agent.close();
});

test('chunk by chunk: every byte arrives once and in order, drain() takes what is queued', async () => {
  const agent = new Agent();
  const parts = Array.from({ length: 50 }, (_, i) => `data: ${'x'.repeat(i * 100)}\n\n`);
  await withServer(
    async (origin) => {
      const r = await callUpstream(agent, opts(origin));
      let got = '';
      for (;;) {
        const n = await r.body.next();
        if (n.done) break;
        got += n.value.toString();
        for (const c of r.body.drain()) got += c.toString();
      }
      assert.equal(got, parts.join(''));
    },
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const p of parts) res.write(p);
      res.end();
    },
  );
  await agent.close();
});

test('a large body is read completely despite backpressure pauses', async () => {
  const agent = new Agent();
  const big = Buffer.alloc(2 * 1024 * 1024, 'a');
  await withServer(
    async (origin) => {
      const r = await callUpstream(agent, opts(origin));
      await new Promise((res) => setTimeout(res, 50)); // let more than the high-water mark queue up
      let n = 0;
      for await (const c of r.body) n += c.length;
      assert.equal(n, big.length);
    },
    (_req, res) => {
      res.writeHead(200);
      res.end(big);
    },
  );
  await agent.close();
});

test('the first-byte budget fails the call with a TimeoutError', async () => {
  const agent = new Agent();
  await withServer(
    async (origin) => {
      await assert.rejects(callUpstream(agent, opts(origin, { firstByteMs: 30 })), (e: Error) => e.name === 'TimeoutError');
    },
    () => {
      /* never answers */
    },
  );
  await agent.close();
});

test('the total budget cuts a body mid-way with a TimeoutError, and the connection is closed', async () => {
  const agent = new Agent();
  await withServer(
    async (origin, closed) => {
      const r = await callUpstream(agent, opts(origin, { firstByteMs: 1000, totalMs: 60 }));
      await r.body.next();
      await assert.rejects(r.body.next(), (e: Error) => e.name === 'TimeoutError');
      await closed;
    },
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    },
  );
  await agent.close();
});

test('the client leaving aborts the call with the signal reason; already gone means no call at all', async () => {
  const agent = new Agent();
  let calls = 0;
  await withServer(
    async (origin, closed) => {
      const gone = AbortSignal.abort(new Error('left early'));
      await assert.rejects(callUpstream(agent, opts(origin, { signal: gone })), /left early/);
      const ac = new AbortController();
      const r = await callUpstream(agent, opts(origin, { signal: ac.signal }));
      const pending = r.body.next().then(() => r.body.next());
      ac.abort(new Error('client closed'));
      await assert.rejects(pending, /client closed/);
      await closed;
      assert.equal(calls, 1);
    },
    (_req, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    },
  );
  await agent.close();
});

test('destroy() abandons an unfinished body: the upstream sees its connection close', async () => {
  const agent = new Agent();
  await withServer(
    async (origin, closed) => {
      const r = await callUpstream(agent, opts(origin));
      await r.body.next();
      r.body.destroy();
      await closed;
      assert.deepEqual(await r.body.next(), { value: undefined, done: true });
    },
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    },
  );
  await agent.close();
});

test('a connection error rejects the call', async () => {
  const agent = new Agent();
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  await assert.rejects(callUpstream(agent, opts(`http://127.0.0.1:${port}`)), (e: Error & { code?: string }) => e.code === 'ECONNREFUSED');
  await agent.close();
});
