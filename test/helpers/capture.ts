/**
 * A capturing upstream for adapter tests: a node:http server on 127.0.0.1 that records every request (method, path,
 * headers, body) and answers a canned, spec-shaped response in the wire format its path names — OpenAI chat
 * completions (a document, or an SSE stream that carries the usage chunk only when `stream_options.include_usage`
 * asked for it, as OpenAI does), OpenAI embeddings, or Anthropic messages. A test may answer instead (`respond`).
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { anthropicMessage, anthropicStream, openaiStream, openaiTextCompletion } from '../../src/providers/shared/wire-fixtures.js';

export interface Captured {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body text. */
  body: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: any;
}

/** Answer a request yourself; return false to let the canned answer go out. */
export type Responder = (req: Captured, res: ServerResponse) => boolean | void | Promise<boolean | void>;

export interface CaptureServer {
  /** `http://127.0.0.1:PORT` (no path: providers append their own base path). */
  url: string;
  server: Server;
  requests: Captured[];
  respond: Responder | undefined;
  close(): Promise<void>;
}

export const EMBEDDING = { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.0023, -0.0093, 0.0151] }], model: 'text-embedding-3-small', usage: { prompt_tokens: 5, total_tokens: 5 } };

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s), 'x-request-id': 'req_capture_1' });
  res.end(s);
}

function sendSse(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.end(text);
}

/** The canned answer for a request, in the wire format of its path. */
export function cannedAnswer(req: Captured, res: ServerResponse): void {
  const j = req.json ?? {};
  if (req.path.endsWith('/messages')) {
    if (j.stream) sendSse(res, anthropicStream(true));
    else sendJson(res, 200, anthropicMessage);
  } else if (req.path.endsWith('/chat/completions')) {
    if (j.stream) sendSse(res, openaiStream(openaiTextCompletion, j.stream_options?.include_usage === true));
    else sendJson(res, 200, openaiTextCompletion);
  } else if (req.path.endsWith('/embeddings')) sendJson(res, 200, EMBEDDING);
  else sendJson(res, 404, { error: { message: `no route ${req.path}`, type: 'invalid_request_error', param: null, code: null } });
}

export async function startCapture(respond?: Responder): Promise<CaptureServer> {
  const sockets = new Set<Socket>();
  const cap: CaptureServer = { url: '', server: undefined as unknown as Server, requests: [], respond, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: any;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const c: Captured = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json };
      cap.requests.push(c);
      if (cap.respond && (await cap.respond(c, res)) !== false) return;
      cannedAnswer(c, res);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cap.server = server;
  cap.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cap.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return cap;
}
