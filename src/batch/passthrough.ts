/**
 * Explicit Batch API passthrough: OpenAI-compatible `/v1/files` and `/v1/batches` (create, retrieve, list, cancel)
 * forwarded to one provider (`batch.passthroughProvider`, default the first openai/simulator provider) with
 * costgate's own upstream credentials, plus `GET /v1/batches/{id}/results` (the output file's JSONL).
 *
 * Metering: when a retrieve (or list, or results) shows a batch that has ended with an output file, every result
 * line is written to the ledger once, at batch prices, as request id `<batch id>:<custom_id>` and attributed with the
 * `x-costgate-feature` / `-user` / `-team` headers of the create call. Idempotent: a line already metered (in the
 * queue's line table, or found in the ledger after a crash) is never written again.
 */
import type { Gateway } from '../gateway.js';
import type { GatewayResponse } from '../pipeline/ctx.js';
import { GatewayError } from '../pipeline/errors.js';
import type { ResolvedProvider } from '../config/load.js';
import type { RequestRecord } from '../pipeline/record.js';
import { toRows } from '../stores/ledger/rows.js';
import { fromOpenAIUsage } from '../providers/usage.js';
import type { Batcher } from './batcher.js';

type Json = Record<string, any>;

export function passthroughProvider(gw: Gateway): ResolvedProvider {
  const want = gw.config.batch.passthroughProvider;
  if (want) {
    const p = gw.config.providers.get(want);
    if (!p) throw new GatewayError('invalid_request', `batch.passthroughProvider '${want}' is not a configured provider`);
    return p;
  }
  for (const p of gw.config.providers.values()) if (p.type === 'openai' || p.type === 'simulator') return p;
  throw new GatewayError('not_found', 'No OpenAI-compatible provider with a Batch API is configured.');
}

const ATTR = ['x-costgate-feature', 'x-costgate-user', 'x-costgate-team'] as const;

export async function passthroughRoute(gw: Gateway, batcher: Batcher, method: string, path: string, headers: Record<string, string | undefined>, raw: Buffer, query?: URLSearchParams): Promise<GatewayResponse | undefined> {
  if (!/^\/v1\/(files|batches)(\/|$)/.test(path)) return undefined;
  const p = passthroughProvider(gw);
  if (!p.baseUrl) throw new GatewayError('upstream_unavailable', `provider ${p.name} has no base URL`);
  const resultsM = /^\/v1\/batches\/([^/]+)\/results$/.exec(path);
  const upstreamPath = resultsM ? `/batches/${resultsM[1]}` : path.replace(/^\/v1/, '');
  const qs = query && [...query].length ? `?${query}` : '';
  const h: Record<string, string> = { ...p.headers, ...p.adapter.authHeaders(p.apiKey, 'openai') };
  if (method === 'POST' && headers['content-type']) h['content-type'] = headers['content-type'];
  const res = await fetch(`${p.baseUrl.replace(/\/+$/, '')}${upstreamPath}${resultsM ? '' : qs}`, {
    method: resultsM ? 'GET' : method,
    headers: h,
    body: method === 'POST' && !resultsM && raw.length ? new Uint8Array(raw) : undefined,
    signal: AbortSignal.timeout(p.timeouts.totalMs),
  });
  const text = await res.text();
  const ct = res.headers.get('content-type') ?? 'application/json';
  const out = (body: string, type = ct): GatewayResponse => ({ status: res.status, headers: { 'content-type': type, 'x-costgate-provider': p.name }, body });
  if (res.status >= 300) return out(text);
  const store = await batcher.store();
  if (path === '/v1/batches' && method === 'POST') {
    const b = JSON.parse(text);
    const meta: Json = {};
    for (const k of ATTR) if (headers[k]) meta[k.slice('x-costgate-'.length)] = headers[k];
    await store.savePassthrough(String(b.id), p.name, meta, Date.now());
    return out(text);
  }
  if (path.startsWith('/v1/batches') && method === 'GET') {
    const j = JSON.parse(text);
    const list: Json[] = Array.isArray(j.data) ? j.data : [j];
    for (const b of list) await meterBatch(gw, batcher, p, b);
    if (resultsM) {
      const b = list[0]!;
      if (!b.output_file_id) throw new GatewayError('invalid_request', `Batch ${b.id} has no results yet (status ${b.status}).`);
      const r = await fetch(`${p.baseUrl.replace(/\/+$/, '')}/files/${b.output_file_id}/content`, { headers: h, signal: AbortSignal.timeout(p.timeouts.totalMs) });
      return { status: r.status, headers: { 'content-type': 'application/jsonl', 'x-costgate-provider': p.name }, body: await r.text() };
    }
  }
  return out(text);
}

const TERMINAL = new Set(['completed', 'expired', 'cancelled', 'failed']);

async function meterBatch(gw: Gateway, batcher: Batcher, p: ResolvedProvider, b: Json): Promise<void> {
  if (!TERMINAL.has(b.status) || !b.output_file_id) return;
  const store = await batcher.store();
  const known = await store.passthrough(String(b.id));
  const h = { ...p.headers, ...p.adapter.authHeaders(p.apiKey, 'openai') };
  const r = await fetch(`${p.baseUrl!.replace(/\/+$/, '')}/files/${b.output_file_id}/content`, { headers: h, signal: AbortSignal.timeout(p.timeouts.totalMs) });
  if (r.status >= 300) return;
  const { writer, store: ledger } = gw.ledger;
  const claimed: [string, string][] = [];
  let flushed = false;
  for (const line of (await r.text()).split('\n')) {
    if (!line.trim()) continue;
    const x = JSON.parse(line);
    const customId = String(x.custom_id);
    const requestId = `${b.id}:${customId}`.slice(0, 128);
    if (await store.claimed(String(b.id), customId)) continue;
    if (!flushed) {
      await writer.flushNow();
      flushed = true;
    }
    // A crash after the row was written but before the line was claimed: the ledger already has it.
    const { rows } = await ledger.query({ requestId, limit: 1 });
    if (rows.length === 0) {
      const body: Json = x.response?.body ?? {};
      const status = Number(x.response?.status_code ?? 500);
      const usage = fromOpenAIUsage(body.usage);
      const model = typeof body.model === 'string' ? body.model : undefined;
      const now = Date.now();
      const rec: RequestRecord = {
        id: requestId,
        ts: now,
        endpoint: body.object === 'list' ? 'embeddings' : 'chat',
        surface: 'openai',
        requestedModel: model ?? '',
        model,
        upstreamModel: model,
        provider: p.name,
        deployment: p.name,
        feature: known?.meta.feature,
        user: known?.meta.user,
        team: known?.meta.team,
        stream: false,
        status,
        errorCode: status >= 400 ? 'upstream_error' : undefined,
        errorMessage: status >= 400 ? String(body.error?.message ?? x.error?.message ?? '') : undefined,
        usage,
        latencyMs: 0,
        clientAborted: false,
        batch: true,
        governance: ['batch:passthrough'],
        attempts: [],
      };
      const { row, attempts } = toRows(rec, gw.pricer.price(rec));
      writer.push(row, attempts);
    }
    claimed.push([String(b.id), customId]);
  }
  if (!claimed.length) return;
  await writer.flushNow();
  await store.claimLines(claimed);
}
