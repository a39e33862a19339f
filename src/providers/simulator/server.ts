/**
 * The provider simulator: an HTTP server that behaves like OpenAI (/v1/chat/completions, /v1/embeddings, /v1/models)
 * and Anthropic (/v1/messages) — realistic bodies, SSE chunking, tokenizer-counted usage, prompt-cache hits,
 * configurable latency and injected faults. A test and demo tool: it never calls a real provider.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIM_MODELS, findSimModel, type SimModel } from './catalog.js';
import { FaultPicker, seededRandom, type Fault } from './faults.js';
import { PrefixStore } from './prompt-cache.js';
import { respond, lastUserText, type AnswerHook } from './respond.js';
import { loadQualityTable, judge, verdictHeaders } from './quality.js';
import { openaiBody, openaiEvents, anthropicBody, anthropicEvents, embedding } from './wire.js';
import { hashSeed } from './content.js';
import { sseEvent } from '../shared/sse.js';
import { countEmbeddingInput, o200k } from '../../tokens/count.js';
import { SimulatorOptionsSchema, type SimulatorOptions } from '../../config/schema.js';
import { createBatchSim, type BatchSim } from './batches.js';

type Json = Record<string, any>;

export interface SimulatorServerOptions extends Partial<SimulatorOptions> {
  host?: string;
  port?: number;
  /** Per-prompt answers (e.g. from evaluation data), in-process only. */
  answer?: AnswerHook;
}

export interface Simulator {
  url: string;
  /** Base URL for providers (`${url}/v1`). */
  baseUrl: string;
  server: Server;
  /** Requests received, by path. */
  readonly counts: Record<string, number>;
  /** The Batch APIs' state (submitted lines by custom_id). */
  readonly batch: BatchSim;
  close(): Promise<void>;
}

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s), ...headers });
  res.end(s);
}

function sendError(res: ServerResponse, anthropic: boolean, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  const body = anthropic ? { type: 'error', error: { type, message } } : { error: { message, type, param: null, code: type === 'rate_limit_error' ? 'rate_limit_exceeded' : null } };
  sendJson(res, status, body, { 'x-request-id': `req_sim_${Date.now().toString(36)}`, ...headers });
}

/** OpenAI's own answer to a model it does not serve (chat completions and embeddings alike). */
export function openaiModelNotFoundBody(model: unknown): Json {
  return { error: { message: `The model \`${String(model)}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', param: null, code: 'model_not_found' } };
}

/** The provider's error `type` for an HTTP status, as each wire names it. */
function errorType(status: number, anthropic: boolean): string {
  const t: Record<number, [string, string]> = {
    400: ['invalid_request_error', 'invalid_request_error'],
    401: ['authentication_error', 'invalid_request_error'],
    403: ['permission_error', 'invalid_request_error'],
    404: ['not_found_error', 'invalid_request_error'],
    413: ['request_too_large', 'invalid_request_error'],
    422: ['invalid_request_error', 'invalid_request_error'],
    429: ['rate_limit_error', 'rate_limit_error'],
    529: ['overloaded_error', 'server_error'],
  };
  const pair = t[status] ?? (status >= 500 ? ['api_error', 'server_error'] : ['invalid_request_error', 'invalid_request_error']);
  return anthropic ? pair[0] : pair[1];
}

/**
 * Cut the connection after what was written so far has left. `socket.destroy()` alone discards writes still corked
 * for this tick, which would turn "cut after N events" into "cut before any".
 */
async function dropConnection(res: ServerResponse): Promise<void> {
  const s = res.socket;
  if (!s) return;
  await new Promise<void>((r) => setImmediate(r));
  if (s.writableLength > 0 && !s.destroyed) {
    await new Promise<void>((r) => {
      s.once('drain', r);
      s.once('close', r);
    });
  }
  s.destroy();
}

/** The prompt id a request carries for quality tables: `x-sim-prompt-id`, else OpenAI's `metadata.prompt_id`. */
function promptId(req: IncomingMessage, body: Json): string | undefined {
  const h = req.headers['x-sim-prompt-id'];
  if (typeof h === 'string' && h) return h;
  const m = body.metadata?.prompt_id;
  return typeof m === 'string' && m ? m : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startSimulator(options: SimulatorServerOptions = {}): Promise<Simulator> {
  const opts = SimulatorOptionsSchema.parse(Object.fromEntries(Object.entries(options).filter(([k]) => k in SimulatorOptionsSchema.shape)));
  // Every answer the simulator gives is counted with o200k: load its tables now, not inside the first request, where
  // the load (hundreds of ms on a busy machine) would count against the caller's first-byte timeout.
  o200k();
  const random = seededRandom(opts.seed);
  const faults = new FaultPicker(random);
  const store = new PrefixStore();
  const quality = opts.quality ? loadQualityTable(opts.quality) : undefined;
  const counts: Record<string, number> = {};
  let seq = 0;

  /** Injected faults that end the exchange here; returns true when the request was consumed. */
  async function applyFault(f: Fault | undefined, res: ServerResponse, anthropic: boolean): Promise<boolean> {
    if (!f) return false;
    switch (f.kind) {
      case '429':
        sendError(res, anthropic, 429, 'rate_limit_error', 'Rate limit reached for requests (simulated)', { 'retry-after': String(f.arg ?? 1) });
        return true;
      case '500':
        sendError(res, anthropic, 500, anthropic ? 'api_error' : 'server_error', 'The server had an error while processing your request (simulated)');
        return true;
      case '503':
        sendError(res, anthropic, 503, anthropic ? 'overloaded_error' : 'server_error', 'The engine is currently overloaded (simulated)');
        return true;
      case 'status': {
        const status = f.arg ?? 500;
        sendError(res, anthropic, status, errorType(status, anthropic), `Simulated HTTP ${status}`);
        return true;
      }
      case 'timeout':
        // Never answer; the client's timeout decides. The socket is released when the client gives up.
        await new Promise<void>((r) => res.on('close', r));
        return true;
      case 'malformed-json':
        // Sent as a JSON document even to a streaming request: a broken proxy or error page looks like this.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(anthropic ? '{"id":"msg_broken","type":"message","role":"assistant","content":[{"type":"te' : '{"id":"chatcmpl-broken","object":"chat.completion","choices":[{"index":0,"message":{"role":"assis');
        return true;
      default:
        return false;
    }
  }

  async function writeEvents(res: ServerResponse, events: string[], fault: Fault | undefined, ttft: number, perToken: number, anthropic: boolean, headers: Record<string, string>): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': `req_sim_${++seq}`, ...headers });
    // Headers go out before the first token, as real providers do, so a cut before any event happens after them.
    res.flushHeaders();
    await sleep(ttft);
    const stopAt = (n: number | undefined) => Math.min(events.length - 1, n ?? Math.floor(events.length / 2));
    const cutAt = fault?.kind === 'cut-stream' ? stopAt(fault.arg) : -1;
    const errorAt = fault?.kind === 'stream-error' ? stopAt(fault.arg) : -1;
    for (let i = 0; i < events.length; i++) {
      if (res.destroyed) return;
      if (i === cutAt) return dropConnection(res);
      if (i === errorAt) {
        res.end(anthropic ? sseEvent(JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded (simulated)' } }), 'error') : sseEvent(JSON.stringify({ error: { message: 'The server had an error while processing your request (simulated)', type: 'server_error', param: null, code: null } })));
        return;
      }
      res.write(events[i]);
      if (perToken > 0 && i < events.length - 1) await sleep(perToken);
    }
    res.end();
  }

  function latency(req: IncomingMessage): { ttft: number; perToken: number } {
    const h = String(req.headers['x-sim-latency'] ?? '');
    const ttftH = /ttft=(\d+)/.exec(h);
    const tokH = /token=(\d+(?:\.\d+)?)/.exec(h);
    const jitter = opts.jitterMs ? random() * opts.jitterMs : 0;
    return { ttft: (ttftH ? Number(ttftH[1]) : opts.ttftMs) + jitter, perToken: tokH ? Number(tokH[1]) : opts.perTokenMs };
  }

  async function chat(req: IncomingMessage, res: ServerResponse, body: Json, anthropic: boolean): Promise<void> {
    const model = findSimModel(String(body.model ?? ''));
    if (!model && !anthropic) return sendJson(res, 404, openaiModelNotFoundBody(body.model), { 'x-request-id': `req_sim_${++seq}` });
    if (!model || model.kind !== 'chat') {
      return sendError(res, anthropic, 404, anthropic ? 'not_found_error' : 'invalid_request_error', `The model '${body.model}' does not exist (simulator)`);
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) return sendError(res, anthropic, 400, 'invalid_request_error', 'messages: required');
    if (anthropic && typeof body.max_tokens !== 'number') return sendError(res, true, 400, 'invalid_request_error', 'max_tokens: Field required');
    const fault = faults.pick(req.headers['x-sim-fault'] as string | undefined, opts.faultRate, opts.faults);
    if (await applyFault(fault, res, anthropic)) return;
    const { ttft, perToken } = latency(req);
    const extra = fault?.kind === 'slow' ? fault.arg ?? 1000 : 0;
    const outTokens = Number(req.headers['x-sim-output-tokens'] ?? opts.defaultOutputTokens);
    // OpenAI allows n up to 128; each choice is a short deterministic generation, so the full range stays cheap.
    const n = anthropic ? 1 : Math.max(1, Math.min(128, Math.floor(Number(body.n ?? 1)) || 1));
    // One verdict per request: the data says whether this model gets this prompt right, so every choice agrees.
    const verdict = quality ? judge(quality, model, lastUserText(body), promptId(req, body), opts.seed) : undefined;
    const answers = Array.from({ length: n }, (_, i) => respond(model, anthropic ? 'anthropic' : 'openai', body, store, { outputTokens: outTokens, answer: options.answer, verdict }, i));
    const id = anthropic ? `msg_sim${(++seq).toString(36)}${Date.now().toString(36)}` : `chatcmpl-sim${(++seq).toString(36)}${Date.now().toString(36)}`;
    if (body.stream === true) {
      const events = anthropic ? anthropicEvents(id, model.id, answers[0]!) : openaiEvents(id, model.id, answers, body.stream_options?.include_usage === true);
      return writeEvents(res, events, fault, ttft + extra, perToken, anthropic, verdictHeaders(verdict));
    }
    await sleep(ttft + extra + perToken * answers[0]!.usage.outputTokens);
    const out = anthropic ? anthropicBody(id, model.id, answers[0]!) : openaiBody(id, model.id, answers);
    if (fault?.kind === 'cut-stream') {
      const s = JSON.stringify(out);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
      res.write(s.slice(0, Math.floor(s.length / 2)));
      return dropConnection(res);
    }
    sendJson(res, 200, out, { 'x-request-id': `req_sim_${seq}`, ...verdictHeaders(verdict) });
  }

  async function embeddings(req: IncomingMessage, res: ServerResponse, body: Json): Promise<void> {
    const model = findSimModel(String(body.model ?? ''));
    if (!model) return sendJson(res, 404, openaiModelNotFoundBody(body.model), { 'x-request-id': `req_sim_${++seq}` });
    if (model.kind !== 'embedding') return sendError(res, false, 404, 'invalid_request_error', `The model '${body.model}' does not exist or is not an embedding model (simulator)`);
    const fault = faults.pick(req.headers['x-sim-fault'] as string | undefined, opts.faultRate, opts.faults);
    if (await applyFault(fault, res, false)) return;
    const inputs: unknown[] = typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) && typeof body.input[0] === 'number' ? [body.input] : body.input ?? [];
    const dims = Number(body.dimensions ?? model.dims ?? 1536);
    const data = inputs.map((x, index) => {
      const v = embedding(hashSeed(model.id, typeof x === 'string' ? x : JSON.stringify(x)), dims);
      const e = body.encoding_format === 'base64' ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v);
      return { object: 'embedding', index, embedding: e };
    });
    const tokens = countEmbeddingInput(body.input, model.id);
    await sleep(latency(req).ttft);
    sendJson(res, 200, { object: 'list', data, model: model.id, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }

  /** One batch line, answered like a synchronous non-streaming call (no latency, no injected faults). */
  function complete(body: Json, anthropic: boolean): { status: number; body: Json } {
    const model = findSimModel(String(body.model ?? ''));
    if (!model) return { status: 404, body: anthropic ? { type: 'error', error: { type: 'not_found_error', message: `model: ${body.model}` } } : openaiModelNotFoundBody(body.model) };
    if (model.kind !== 'chat' || !Array.isArray(body.messages) || body.messages.length === 0 || (anthropic && typeof body.max_tokens !== 'number')) {
      return { status: 400, body: anthropic ? { type: 'error', error: { type: 'invalid_request_error', message: 'invalid request (simulator)' } } : { error: { message: 'invalid request (simulator)', type: 'invalid_request_error', param: null, code: null } } };
    }
    const n = anthropic ? 1 : Math.max(1, Math.min(128, Math.floor(Number(body.n ?? 1)) || 1));
    const verdict = quality ? judge(quality, model, lastUserText(body), promptId({ headers: {} } as IncomingMessage, body), opts.seed) : undefined;
    const answers = Array.from({ length: n }, (_, i) => respond(model, anthropic ? 'anthropic' : 'openai', body, store, { outputTokens: opts.defaultOutputTokens, answer: options.answer, verdict }, i));
    const id = anthropic ? `msg_sim${(++seq).toString(36)}${Date.now().toString(36)}` : `chatcmpl-sim${(++seq).toString(36)}${Date.now().toString(36)}`;
    return { status: 200, body: anthropic ? anthropicBody(id, model.id, answers[0]!) : openaiBody(id, model.id, answers) };
  }
  const batch = createBatchSim(opts, complete, random);

  function models(res: ServerResponse): void {
    sendJson(res, 200, { object: 'list', data: SIM_MODELS.map((m: SimModel) => ({ id: m.id, object: 'model', created: 1_700_000_000, owned_by: m.owned_by })) });
  }

  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    counts[path] = (counts[path] ?? 0) + 1;
    try {
      if (req.method === 'GET' && path === '/v1/models') return models(res);
      if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { ok: true });
      if (path.startsWith('/v1/files') || path.startsWith('/v1/batches') || path.startsWith('/v1/messages/batches')) {
        if (await batch.handle(req, res, path, async () => Buffer.from(await readBody(req), 'utf8'))) return;
      }
      if (req.method !== 'POST') return sendError(res, false, 404, 'invalid_request_error', `Unknown path ${path}`);
      const text = await readBody(req);
      let body: Json;
      try {
        body = JSON.parse(text);
      } catch {
        return sendError(res, path === '/v1/messages', 400, 'invalid_request_error', 'We could not parse the JSON body of your request.');
      }
      if (path === '/v1/chat/completions') return await chat(req, res, body, false);
      if (path === '/v1/messages') return await chat(req, res, body, true);
      if (path === '/v1/embeddings') return await embeddings(req, res, body);
      return sendError(res, false, 404, 'invalid_request_error', `Unknown path ${path}`);
    } catch (e) {
      if (!res.headersSent) sendError(res, false, 500, 'server_error', `simulator failure: ${(e as Error).message}`);
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue, as the gateway's (server.backlog): a burst of pool connections must not be dropped.
    server.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1', backlog: 4096 }, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return {
    url,
    baseUrl: `${url}/v1`,
    server,
    counts,
    batch,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
