/**
 * The 0 ms upstream for `npm run bench`: a minimal node:http server answering `POST …/chat/completions` the way
 * OpenAI does, as fast as it can. Non-streaming: a ~1 KB `chat.completion` with usage. Streaming (`"stream":true`
 * in the body): 20 content chunks, a finish chunk, the usage-only chunk, then `data: [DONE]`, each its own write.
 *
 * The paced load generator puts `bench-<µs>` (the request's send time) in the prompt; the mock echoes it in the
 * completion id so the client can match each response to its request through any gateway that passes bodies on.
 *
 * Run as its own process (the bench pins it to a core): `node dist/bench/mock-upstream.js [port]`; it prints
 * `MOCK_READY <port>` once listening on 127.0.0.1.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const MODEL = 'gpt-4o-mini-2024-07-18';
const FINGERPRINT = 'fp_0ba0d124f1';
const WORDS = ['Load', ' balancing', ' spreads', ' requests', ' across', ' several', ' servers', ' so', ' that', ' no', ' single', ' machine', ' becomes', ' a', ' bottleneck', ',', ' which', ' improves', ' latency', '.'];
const ANSWER =
  'Load balancing spreads incoming requests across several servers so that no single machine becomes a bottleneck. ' +
  'A gateway in front of an LLM provider can do the same for API keys and deployments: it keeps a pool of upstream ' +
  'connections, retries a failed call on the next deployment, and records what each request cost. The main ' +
  'trade-offs are the extra network hop, the memory held per open stream, and the CPU spent parsing and ' +
  're-serialising JSON, which is why a good gateway forwards bytes untouched whenever the wire format allows it.';
const USAGE = { prompt_tokens: 231, completion_tokens: 96, total_tokens: 327, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } };
const MARKER = /bench-(\d+)/;
const STREAM = /"stream"\s*:\s*true/;

let seq = 0;

function completionId(body: string): string {
  const m = MARKER.exec(body);
  return m ? `chatcmpl-bench-${m[1]}` : `chatcmpl-mock${(++seq).toString(36).padStart(8, '0')}`;
}

/** The non-streaming body, split around the id so each response costs one concatenation. */
function jsonParts(): [string, string] {
  const full = JSON.stringify({
    id: '\u0000',
    object: 'chat.completion',
    created: 1_732_000_000,
    model: MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content: ANSWER, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: USAGE,
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
  });
  const at = full.indexOf('\\u0000');
  return [full.slice(0, at), full.slice(at + 6)];
}

/** SSE events (without the id), each as [before-id, after-id]. */
function streamParts(): [string, string][] {
  const chunk = (delta: object, finish: string | null, extra: object = {}) =>
    JSON.stringify({ id: '\u0000', object: 'chat.completion.chunk', created: 1_732_000_000, model: MODEL, service_tier: 'default', system_fingerprint: FINGERPRINT, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra });
  const events = [chunk({ role: 'assistant', content: '', refusal: null }, null), ...WORDS.map((w) => chunk({ content: w }, null)), chunk({}, 'stop')];
  events.push(JSON.stringify({ id: '\u0000', object: 'chat.completion.chunk', created: 1_732_000_000, model: MODEL, service_tier: 'default', system_fingerprint: FINGERPRINT, choices: [], usage: USAGE }));
  return events.map((e) => {
    const at = e.indexOf('\\u0000');
    return [`data: ${e.slice(0, at)}`, `${e.slice(at + 6)}\n\n`];
  });
}

const JSON_PARTS = jsonParts();
const STREAM_PARTS = streamParts();

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
    return;
  }
  const id = completionId(body);
  const requestId = `req_${id.slice(9)}`;
  if (!STREAM.test(body)) {
    const out = JSON_PARTS[0] + id + JSON_PARTS[1];
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), 'x-request-id': requestId, 'openai-processing-ms': '0' });
    res.end(out);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': requestId, 'openai-processing-ms': '0' });
  for (const [a, b] of STREAM_PARTS) res.write(a + id + b);
  res.end('data: [DONE]\n\n');
}

const server = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => answer(req, res, body));
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`MOCK_READY ${(server.address() as AddressInfo).port}`);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
