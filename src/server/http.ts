/**
 * The HTTP server: node:http, body size limit enforced while reading (a 10 GB upload is cut at the limit, not
 * buffered), slowloris timeouts, backpressure-aware streaming, and graceful shutdown that drains in-flight streams.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Gateway } from '../gateway.js';
import { ConfigError } from '../config/load.js';
import { GatewayError, NO_COST_HEADERS } from '../pipeline/errors.js';
import { requestIdFor } from '../pipeline/ctx.js';
import { routeRequest, errorResponse, meteredEndpoint } from './routes.js';
import type { GatewayResponse } from '../pipeline/ctx.js';

export interface HttpServer {
  server: Server;
  url: string;
  /** Stop accepting, let in-flight requests finish (up to the grace period), then close. */
  close(graceMs?: number): Promise<void>;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      return reject(new GatewayError('body_too_large', `Request body of ${declared} bytes exceeds the limit of ${limit} bytes.`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new GatewayError('body_too_large', `Request body exceeds the limit of ${limit} bytes.`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    // The connection broke or timed out mid-body (server.requestTimeoutMs): nobody is left to answer.
    req.on('error', () => reject(CLIENT_GONE));
  });
}

const CLIENT_GONE = Symbol('client gone');

async function writeResponse(res: ServerResponse, out: GatewayResponse): Promise<void> {
  if (!out.stream) {
    const body = out.body ?? '';
    out.headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
    res.writeHead(out.status, out.headers);
    res.end(body);
    return;
  }
  // Writes are corked until the end of the current tick, so what is ready together leaves in one syscall: the
  // headers with the first events (a relay commits with its first event in hand), and the last events with the
  // terminator and trailers when the upstream finished in the same read. Nothing waits longer than that tick.
  let corked = false;
  const uncork = () => {
    if (corked) {
      corked = false;
      res.uncork();
    }
  };
  const cork = () => {
    if (!corked && !res.destroyed) {
      corked = true;
      res.cork();
      process.nextTick(uncork);
    }
  };
  res.writeHead(out.status, out.headers);
  cork();
  res.flushHeaders();
  const it = out.stream[Symbol.asyncIterator]();
  let closed: Promise<void> | undefined;
  try {
    for (;;) {
      const { value, done } = await it.next();
      if (done) break;
      if (res.destroyed) break;
      cork();
      if (!res.write(value)) {
        uncork();
        closed ??= new Promise<void>((r) => (res.destroyed ? r() : res.once('close', r)));
        await Promise.race([new Promise<void>((r) => res.once('drain', r)), closed]);
        if (res.destroyed) break;
      }
    }
  } finally {
    // A client that went away ends the upstream read too (the generator's finally releases it).
    await it.return?.();
    if (!res.destroyed) {
      cork();
      if (out.trailers) res.addTrailers(out.trailers());
      res.end();
    }
    uncork();
  }
}

/** How often node checks header/request timeouts: a quarter of the shorter one, within 50 ms .. 30 s. */
export function checkInterval(headersTimeoutMs: number, requestTimeoutMs: number): number {
  const shortest = Math.min(...[headersTimeoutMs, requestTimeoutMs].filter((t) => t > 0), 120_000);
  return Math.max(50, Math.min(30_000, Math.floor(shortest / 4)));
}

/** The answer to a request node could not parse, or that timed out before it was whole (slowloris). */
function clientErrorOf(err: Error & { code?: string }, maxHeaderBytes: number, headersTimeoutMs: number): { status: number; reason: string; message: string; code: string } {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, reason: 'Request Header Fields Too Large', message: `Request headers exceed the limit of ${maxHeaderBytes} bytes (server.maxHeaderBytes).`, code: 'headers_too_large' };
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      reason: 'Request Timeout',
      message: `The request did not arrive in time: headers within ${headersTimeoutMs} ms (server.headersTimeoutMs), the whole request within server.requestTimeoutMs.`,
      code: 'request_timeout',
    };
  }
  return { status: 400, reason: 'Bad Request', message: 'Malformed HTTP request', code: 'invalid_request' };
}

/** 127.0.0.0/8, ::1 and localhost: the only addresses `auth.mode: none` may listen on. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

export async function startHttpServer(gw: Gateway, opts: { host?: string; port?: number } = {}): Promise<HttpServer> {
  const cfg = gw.config.server;
  const bind = opts.host ?? cfg.host;
  if (gw.config.auth.mode === 'none' && !isLoopbackHost(bind)) {
    throw new ConfigError(
      `refusing to listen on ${bind} without keys: auth.mode is none, which is allowed only on a loopback address (127.0.0.1, ::1). ` +
        'Set auth.mode: keys and create keys with `costgate keys create`, or bind to 127.0.0.1.',
    );
  }
  const sockets = new Set<import('node:net').Socket>();
  let closing = false;
  const server = createServer(
    {
      headersTimeout: cfg.headersTimeoutMs,
      requestTimeout: cfg.requestTimeoutMs,
      keepAliveTimeout: cfg.keepAliveTimeoutMs,
      maxHeaderSize: cfg.maxHeaderBytes,
      // node checks both timeouts only this often (default 30 s, which would let a slowloris connection live up to
      // twice headersTimeoutMs); a quarter of the shorter one keeps the overshoot under 25 %.
      connectionsCheckingInterval: checkInterval(cfg.headersTimeoutMs, cfg.requestTimeoutMs),
    },
    async (req, res) => {
      const ac = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) ac.abort(new Error('client closed the connection'));
      });
      const qi = (req.url ?? '/').indexOf('?');
      const path = qi === -1 ? req.url ?? '/' : req.url!.slice(0, qi);
      const query = qi === -1 ? undefined : new URLSearchParams(req.url!.slice(qi + 1));
      const format = path === '/v1/messages' ? 'anthropic' : 'openai';
      try {
        if (closing) res.setHeader('connection', 'close');
        const raw = req.method === 'GET' || req.method === 'HEAD' ? Buffer.alloc(0) : await readBody(req, cfg.maxBodyBytes);
        const out = await routeRequest(gw, { method: req.method ?? 'GET', path, query, headers: req.headers as Record<string, string>, raw, signal: ac.signal });
        await writeResponse(res, out);
      } catch (e) {
        if (res.headersSent || e === CLIENT_GONE) return void res.destroy();
        const err = e instanceof GatewayError ? e : new GatewayError('internal_error', 'internal gateway error', { cause: e });
        if (err.code === 'internal_error') process.emitWarning(`costgate: internal error: ${(e as Error)?.stack ?? e}`);
        let out = errorResponse(err, format, req.headers as Record<string, string>);
        // A body refused for its size on a metered endpoint is still a call: recorded like any other rejection.
        const endpoint = err.code === 'body_too_large' && req.method === 'POST' ? meteredEndpoint(path) : undefined;
        if (endpoint) out = await gw.handle({ endpoint, body: undefined, raw: Buffer.alloc(0), headers: req.headers as Record<string, string>, signal: ac.signal, rejected: err });
        if (err.code === 'body_too_large') out.headers.connection = 'close';
        await writeResponse(res, out).catch(() => res.destroy());
      }
    },
  );
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('clientError', (err, socket) => {
    if (!socket.writable) return socket.destroy();
    const { status, reason, message, code } = clientErrorOf(err as Error & { code?: string }, cfg.maxHeaderBytes, cfg.headersTimeoutMs);
    // The request line may have arrived: an Anthropic client gets Anthropic's error shape.
    const raw = (err as { rawPacket?: Buffer }).rawPacket;
    const anthropic = raw !== undefined && /^POST \/v1\/messages[/? ]/.test(raw.subarray(0, 32).toString('latin1'));
    const body = JSON.stringify(
      anthropic
        ? { type: 'error', error: { type: status === 431 ? 'request_too_large' : 'invalid_request_error', message } }
        : { error: { message, type: 'invalid_request_error', param: null, code } },
    );
    // Unparseable at the HTTP level, so never metered; it still carries the headers every response has.
    const meta = `x-costgate-cost-usd: ${NO_COST_HEADERS['x-costgate-cost-usd']}\r\nx-costgate-saved-usd: ${NO_COST_HEADERS['x-costgate-saved-usd']}\r\nx-costgate-request-id: ${requestIdFor()}`;
    socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${meta}\r\nconnection: close\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: opts.port ?? cfg.port, host: opts.host ?? cfg.host, backlog: cfg.backlog }, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    async close(graceMs = cfg.shutdownGraceMs) {
      closing = true;
      const done = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (gw.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.closeIdleConnections();
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}
