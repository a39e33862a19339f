/**
 * Workloads for the what-if simulator (`costgate simulate`): the calls to replay, from the ledger or from a public
 * trace. A call carries what pricing needs (model, tokens, time) and what the levers look at (feature, prefix hash,
 * a full-prompt fingerprint when the source has one, semantic-cache shadow results).
 */
import { readFileSync } from 'node:fs';
import type { LedgerStore, LedgerFilter, LedgerRow } from '../stores/ledger/types.js';
import { servedFromCache } from '../cache/served.js';
import { parseTrace } from '../optimize/prompt-cache-sim.js';
import { requestFingerprint } from '../pipeline/stages/fingerprint.js';
import { pages } from '../stores/ledger/cursor.js';

export interface Call {
  ts: number;
  model: string;
  provider?: string;
  feature: string | null;
  inputTokens: number;
  outputTokens: number;
  /** Cache tokens as recorded (ledger); the prompt-cache lever recomputes them. */
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  batch: boolean;
  /** Stable-prefix hash and its tokens (ledger: tools + system prompt; Mooncake: the block chain). */
  prefixHash?: string;
  prefixTokens?: number;
  /** Prefix blocks (Mooncake's 512-token block hashes), for block-level prompt caching. */
  blocks?: number[];
  /** Identifies the whole prompt: equal fingerprints are exact-cache repeats (Mooncake: the full block chain). */
  fingerprint?: string;
  /** A semantic-cache shadow result recorded by the gateway: the score of the would-be hit and whether it matched. */
  shadow?: { score: number; match: boolean | null };
  /** Already served from the gateway's response cache (costs nothing before and after). */
  cacheHit: boolean;
  /** The stored (redacted) OpenAI-surface chat request, when the ledger kept it (`ledger.storeBodies`). */
  body?: Record<string, unknown>;
}

export interface Workload {
  source: string;
  calls: Call[];
  /** What the source cannot tell (shown in the table next to the levers that need it). */
  lacks: string[];
}

export function callFromRow(r: LedgerRow): Call | undefined {
  if (r.status < 200 || r.status >= 300 || !r.model) return undefined;
  return {
    ts: r.ts,
    model: r.model,
    provider: r.provider ?? undefined,
    feature: r.feature,
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    cacheReadTokens: r.cacheReadTokens,
    cacheWrite5mTokens: r.cacheWrite5mTokens,
    cacheWrite1hTokens: r.cacheWrite1hTokens,
    batch: r.batch,
    ...(r.prefixHash && r.prefixTokens ? { prefixHash: r.prefixHash, prefixTokens: r.prefixTokens } : {}),
    // Recorded when the duplicate-share alert is on: equal fingerprints are exact-cache repeats.
    ...(r.requestHash ? { fingerprint: r.requestHash } : {}),
    ...(r.cacheScore !== null && r.cacheStatus !== 'semantic' ? { shadow: { score: r.cacheScore, match: r.shadowMatch } } : {}),
    cacheHit: servedFromCache(r.cacheStatus),
  };
}

/** Every successful ledger row in the filter, oldest first (paged; `onProgress` gets the count read so far). */
export async function fromLedger(store: LedgerStore, filter: LedgerFilter = {}, onProgress?: (n: number) => void): Promise<Workload> {
  const calls: Call[] = [];
  // Stored bodies in the window (opt-in): the summarization lever replays them. OpenAI-surface chat only.
  const bodies = new Map<string, Record<string, unknown>>();
  for await (const rows of pages((cursor) => store.bodies({ since: filter.since, until: filter.until, feature: filter.feature, limit: 1000, cursor }))) {
    for (const b of rows) {
      if (b.surface !== 'openai' || b.endpoint !== 'chat') continue;
      try {
        const j = JSON.parse(b.request);
        if (j && typeof j === 'object' && Array.isArray(j.messages)) bodies.set(b.requestId, j);
      } catch {
        /* unreadable: the call replays without its body */
      }
    }
  }
  let n = 0;
  for await (const rows of pages((cursor) => store.query({ ...filter, limit: 1000, cursor }))) {
    for (const r of rows) {
      const c = callFromRow(r);
      const b = bodies.get(r.requestId);
      if (c && b && r.surface === 'openai') {
        c.body = b;
        // No fingerprint recorded (the duplicate-share alert was off): the stored body gives the same one the gateway
        // would have computed. (Redaction could make two prompts that differ only in, say, an email look equal.)
        if (!c.fingerprint) c.fingerprint = requestFingerprint('openai', typeof b.model === 'string' ? b.model : c.model, b);
      }
      if (c) calls.push(c);
    }
    n += rows.length;
    onProgress?.(n);
  }
  calls.sort((a, b) => a.ts - b.ts);
  return { source: 'ledger', calls, lacks: calls.some((c) => c.fingerprint) ? [] : ['fingerprint'] };
}

/** Azure LLM inference trace CSV (`TIMESTAMP,ContextTokens,GeneratedTokens`): token counts and arrival times only. */
export function fromAzureCsv(text: string, model: string, feature = 'trace'): Workload {
  const lines = text.split('\n').filter((l) => l.trim());
  if (!/^TIMESTAMP,ContextTokens,GeneratedTokens/.test(lines[0] ?? '')) throw new Error('not an Azure LLM trace CSV (header TIMESTAMP,ContextTokens,GeneratedTokens)');
  const calls = lines.slice(1).map((l, i): Call => {
    const [t, ctx, gen] = l.split(',');
    const ts = Date.parse(`${t!.trim().replace(' ', 'T').slice(0, 23)}Z`);
    const inputTokens = Number(ctx);
    const outputTokens = Number(gen);
    if (!Number.isFinite(ts) || !Number.isInteger(inputTokens) || !Number.isInteger(outputTokens)) throw new Error(`line ${i + 2}: bad row: ${l.slice(0, 80)}`);
    return { ts, model, feature, inputTokens, outputTokens, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, batch: false, cacheHit: false };
  });
  return { source: 'azure-trace', calls, lacks: ['prefix', 'fingerprint'] };
}

/** Mooncake trace JSONL (`timestamp` ms, `input_length`, `output_length`, `hash_ids`): block hashes give prefixes and repeats. */
export function fromMooncakeJsonl(text: string, model: string, feature = 'trace'): Workload {
  const t0 = Date.UTC(2026, 0, 1);
  const calls = parseTrace(text).map(
    (r): Call => ({
      ts: t0 + r.timestamp,
      model,
      feature,
      inputTokens: r.input_length,
      outputTokens: r.output_length,
      cacheReadTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      batch: false,
      blocks: r.hash_ids,
      fingerprint: `${r.input_length}:${r.hash_ids.join('.')}`,
      cacheHit: false,
    }),
  );
  calls.sort((a, b) => a.ts - b.ts);
  return { source: 'mooncake-trace', calls, lacks: [] };
}

export function fromTraceFile(path: string, format: 'azure' | 'mooncake' | 'auto', model: string): Workload {
  const text = readFileSync(path, 'utf8');
  const f = format === 'auto' ? (text.startsWith('TIMESTAMP,') ? 'azure' : 'mooncake') : format;
  return f === 'azure' ? fromAzureCsv(text, model) : fromMooncakeJsonl(text, model);
}
