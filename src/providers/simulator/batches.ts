/**
 * The simulator's Batch APIs: OpenAI `/v1/files` + `/v1/batches` and Anthropic `/v1/messages/batches`, with the
 * providers' object shapes and lifecycles. A batch is `in_progress` until `batchCompletionMs` after its creation
 * (evaluated lazily on each read, no timers), then `completed` (OpenAI) / `ended` (Anthropic) with one result line
 * per request; `batchFailRate` (seeded) and a `[sim:batch-fail]` marker in a prompt fail lines; `batchExpireMs`
 * shorter than the completion time expires the batch (every line fails with `batch_expired` / `expired`).
 * Every line is answered by the same generator as a synchronous call, so usage and bodies match it exactly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

type Json = Record<string, any>;

export interface BatchSimOptions {
  batchCompletionMs: number;
  batchFailRate: number;
  batchExpireMs?: number;
}

/** Answers one request body as the synchronous endpoint would: status and JSON body. */
export type Complete = (body: Json, anthropic: boolean) => { status: number; body: Json };

interface SimFile {
  id: string;
  purpose: string;
  filename: string;
  bytes: number;
  created_at: number;
  content: string;
}

interface SimBatch {
  id: string;
  wire: 'openai' | 'anthropic';
  endpoint: string;
  createdAt: number;
  inputFileId?: string;
  metadata?: Json;
  requests: { custom_id: string; body: Json }[];
  cancelledAt?: number;
  /** Results, computed once when the batch finishes. */
  done?: { status: string; output?: string; errors?: string; counts: { total: number; completed: number; failed: number } ; endedAt: number };
}

export interface BatchSim {
  /** Handles the request if it is a batch/file path; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, readBody: () => Promise<Buffer>): Promise<boolean>;
  /** Every request line ever submitted, by custom_id (tests: no duplicate submissions). */
  readonly submitted: Map<string, number>;
  readonly batches: number;
}

const sec = (ms: number) => Math.floor(ms / 1000);

export function createBatchSim(opts: BatchSimOptions, complete: Complete, random: () => number): BatchSim {
  const files = new Map<string, SimFile>();
  const batches = new Map<string, SimBatch>();
  const submitted = new Map<string, number>();
  let seq = 0;
  const nextId = (p: string) => `${p}${(++seq).toString(36).padStart(6, '0')}${Date.now().toString(36)}`;

  function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
    const s = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(s), 'x-request-id': `req_sim_b${++seq}` });
    res.end(s);
  }
  const oaiError = (res: ServerResponse, status: number, message: string) => send(res, status, { error: { message, type: 'invalid_request_error', param: null, code: null } });
  const antError = (res: ServerResponse, status: number, message: string) => send(res, status, { type: 'error', error: { type: status === 404 ? 'not_found_error' : 'invalid_request_error', message } });

  function fails(body: Json): boolean {
    const text = JSON.stringify(body.messages ?? '');
    if (text.includes('[sim:batch-fail]')) return true;
    return opts.batchFailRate > 0 && random() < opts.batchFailRate;
  }

  /** Finishes a batch whose time has come (or that was cancelled), computing every line once. */
  function settle(b: SimBatch, now = Date.now()): void {
    if (b.done) return;
    const expired = opts.batchExpireMs !== undefined && opts.batchExpireMs < opts.batchCompletionMs && now >= b.createdAt + opts.batchExpireMs;
    const finished = now >= b.createdAt + opts.batchCompletionMs;
    if (!expired && !finished && b.cancelledAt === undefined) return;
    const out: string[] = [];
    const errs: string[] = [];
    let completed = 0;
    let failed = 0;
    for (const r of b.requests) {
      if (b.wire === 'openai') {
        if (expired || b.cancelledAt !== undefined) {
          failed++;
          const code = expired ? 'batch_expired' : 'batch_cancelled';
          errs.push(JSON.stringify({ id: nextId('batch_req_'), custom_id: r.custom_id, response: null, error: { code, message: expired ? 'This request could not be executed before the completion window expired.' : 'The batch was cancelled.' } }));
        } else if (fails(r.body)) {
          failed++;
          out.push(JSON.stringify({ id: nextId('batch_req_'), custom_id: r.custom_id, response: { status_code: 500, request_id: nextId('req_'), body: { error: { message: 'The server had an error processing this request (simulated batch failure)', type: 'server_error', param: null, code: null } } }, error: null }));
        } else {
          const a = complete(r.body, false);
          if (a.status === 200) completed++;
          else failed++;
          out.push(JSON.stringify({ id: nextId('batch_req_'), custom_id: r.custom_id, response: { status_code: a.status, request_id: nextId('req_'), body: a.body }, error: null }));
        }
      } else {
        let result: Json;
        if (expired) result = { type: 'expired' };
        else if (b.cancelledAt !== undefined) result = { type: 'canceled' };
        else if (fails(r.body)) result = { type: 'errored', error: { type: 'error', error: { type: 'api_error', message: 'Internal server error (simulated batch failure)' } } };
        else {
          const a = complete(r.body, true);
          result = a.status === 200 ? { type: 'succeeded', message: a.body } : { type: 'errored', error: a.body };
        }
        if (result.type === 'succeeded') completed++;
        else failed++;
        out.push(JSON.stringify({ custom_id: r.custom_id, result }));
      }
    }
    const endedAt = expired ? b.createdAt + opts.batchExpireMs! : b.cancelledAt ?? b.createdAt + opts.batchCompletionMs;
    const status = expired ? 'expired' : b.cancelledAt !== undefined ? 'cancelled' : 'completed';
    const done: SimBatch['done'] = { status, counts: { total: b.requests.length, completed, failed }, endedAt };
    if (b.wire === 'openai') {
      for (const [k, text] of [['output', out], ['errors', errs]] as const) {
        if (!text.length) continue;
        const f: SimFile = { id: nextId('file-'), purpose: 'batch_output', filename: `${b.id}_${k}.jsonl`, bytes: 0, created_at: sec(endedAt), content: text.join('\n') + '\n' };
        f.bytes = Buffer.byteLength(f.content);
        files.set(f.id, f);
        done[k] = f.id;
      }
    } else done.output = out.join('\n') + '\n';
    b.done = done;
  }

  function openaiBatch(b: SimBatch): Json {
    settle(b);
    const d = b.done;
    const status = d ? d.status : b.cancelledAt !== undefined ? 'cancelling' : 'in_progress';
    return {
      id: b.id,
      object: 'batch',
      endpoint: b.endpoint,
      errors: null,
      input_file_id: b.inputFileId,
      completion_window: '24h',
      status,
      output_file_id: d?.output ?? null,
      error_file_id: d?.errors ?? null,
      created_at: sec(b.createdAt),
      in_progress_at: sec(b.createdAt),
      expires_at: sec(b.createdAt + 86_400_000),
      completed_at: d?.status === 'completed' ? sec(d.endedAt) : null,
      expired_at: d?.status === 'expired' ? sec(d.endedAt) : null,
      cancelled_at: d?.status === 'cancelled' ? sec(d.endedAt) : null,
      failed_at: null,
      request_counts: d?.counts ?? { total: b.requests.length, completed: 0, failed: 0 },
      metadata: b.metadata ?? null,
    };
  }

  function anthropicBatch(b: SimBatch, base: string): Json {
    settle(b);
    const d = b.done;
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    if (!d) counts.processing = b.requests.length;
    else for (const line of d.output!.trim().split('\n')) if (line) counts[JSON.parse(line).result.type as keyof typeof counts]++;
    return {
      id: b.id,
      type: 'message_batch',
      processing_status: d ? 'ended' : b.cancelledAt !== undefined ? 'canceling' : 'in_progress',
      request_counts: counts,
      ended_at: d ? new Date(d.endedAt).toISOString() : null,
      created_at: new Date(b.createdAt).toISOString(),
      expires_at: new Date(b.createdAt + 86_400_000).toISOString(),
      archived_at: null,
      cancel_initiated_at: b.cancelledAt !== undefined ? new Date(b.cancelledAt).toISOString() : null,
      results_url: d ? `${base}/v1/messages/batches/${b.id}/results` : null,
    };
  }

  function record(requests: { custom_id: string }[]): void {
    for (const r of requests) submitted.set(r.custom_id, (submitted.get(r.custom_id) ?? 0) + 1);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string, readBody: () => Promise<Buffer>): Promise<boolean> {
    const method = req.method ?? 'GET';
    const base = `http://${req.headers.host}`;
    // ---- OpenAI files
    if (path === '/v1/files' && method === 'POST') {
      const raw = await readBody();
      const form = await new Request('http://sim/v1/files', { method: 'POST', headers: { 'content-type': String(req.headers['content-type'] ?? '') }, body: new Uint8Array(raw) }).formData().catch(() => undefined);
      const file = form?.get('file');
      const purpose = form?.get('purpose');
      if (!form || !file || typeof file === 'string' || typeof purpose !== 'string') {
        oaiError(res, 400, "Expected multipart/form-data with 'file' and 'purpose'.");
        return true;
      }
      const content = await file.text();
      const f: SimFile = { id: nextId('file-'), purpose, filename: (file as File).name || 'upload.jsonl', bytes: Buffer.byteLength(content), created_at: sec(Date.now()), content };
      files.set(f.id, f);
      send(res, 200, fileObject(f));
      return true;
    }
    if (path === '/v1/files' && method === 'GET') {
      send(res, 200, { object: 'list', data: [...files.values()].map(fileObject), has_more: false });
      return true;
    }
    let m = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path);
    if (m && method === 'GET') {
      const f = files.get(m[1]!);
      if (!f) oaiError(res, 404, `No such File object: ${m[1]}`);
      else if (m[2]) send(res, 200, f.content, 'application/octet-stream');
      else send(res, 200, fileObject(f));
      return true;
    }
    // ---- OpenAI batches
    if (path === '/v1/batches' && method === 'POST') {
      const body = JSON.parse((await readBody()).toString('utf8') || '{}');
      const f = files.get(String(body.input_file_id));
      if (!f) {
        oaiError(res, 400, `No such File object: ${body.input_file_id}`);
        return true;
      }
      const requests: SimBatch['requests'] = [];
      for (const line of f.content.split('\n')) {
        if (!line.trim()) continue;
        const l = JSON.parse(line);
        if (l.url !== body.endpoint) {
          oaiError(res, 400, `line ${l.custom_id}: url ${l.url} does not match the batch endpoint ${body.endpoint}`);
          return true;
        }
        requests.push({ custom_id: String(l.custom_id), body: l.body });
      }
      const b: SimBatch = { id: nextId('batch_'), wire: 'openai', endpoint: String(body.endpoint), createdAt: Date.now(), inputFileId: f.id, metadata: body.metadata, requests };
      batches.set(b.id, b);
      record(requests);
      send(res, 200, openaiBatch(b));
      return true;
    }
    if (path === '/v1/batches' && method === 'GET') {
      const data = [...batches.values()].filter((b) => b.wire === 'openai').reverse().map(openaiBatch);
      send(res, 200, { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false });
      return true;
    }
    m = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
    if (m) {
      const b = batches.get(m[1]!);
      if (!b || b.wire !== 'openai') oaiError(res, 404, `No batch found with id '${m[1]}'.`);
      else {
        if (m[2] && method === 'POST' && !b.done) b.cancelledAt = Date.now();
        send(res, 200, openaiBatch(b));
      }
      return true;
    }
    // ---- Anthropic message batches
    if (path === '/v1/messages/batches' && method === 'POST') {
      const body = JSON.parse((await readBody()).toString('utf8') || '{}');
      if (!Array.isArray(body.requests) || body.requests.length === 0) {
        antError(res, 400, 'requests: Field required');
        return true;
      }
      const requests = body.requests.map((r: Json) => ({ custom_id: String(r.custom_id), body: r.params }));
      const b: SimBatch = { id: nextId('msgbatch_'), wire: 'anthropic', endpoint: '/v1/messages', createdAt: Date.now(), requests };
      batches.set(b.id, b);
      record(requests);
      send(res, 200, anthropicBatch(b, base));
      return true;
    }
    if (path === '/v1/messages/batches' && method === 'GET') {
      const data = [...batches.values()].filter((b) => b.wire === 'anthropic').reverse().map((b) => anthropicBatch(b, base));
      send(res, 200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
      return true;
    }
    m = /^\/v1\/messages\/batches\/([^/]+)(\/cancel|\/results)?$/.exec(path);
    if (m) {
      const b = batches.get(m[1]!);
      if (!b || b.wire !== 'anthropic') antError(res, 404, `Message batch ${m[1]} not found`);
      else if (m[2] === '/results') {
        settle(b);
        if (!b.done) antError(res, 400, `Message batch ${b.id} has not ended yet`);
        else send(res, 200, b.done.output!, 'application/x-jsonl');
      } else {
        if (m[2] === '/cancel' && method === 'POST' && !b.done) b.cancelledAt = Date.now();
        send(res, 200, anthropicBatch(b, base));
      }
      return true;
    }
    return false;
  }

  function fileObject(f: SimFile): Json {
    return { id: f.id, object: 'file', bytes: f.bytes, created_at: f.created_at, filename: f.filename, purpose: f.purpose, status: 'processed' };
  }

  return {
    handle,
    submitted,
    get batches() {
      return batches.size;
    },
  };
}
