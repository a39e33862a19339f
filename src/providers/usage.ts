/**
 * The gateway's one usage shape. `inputTokens` counts every prompt token, cached or not (OpenAI's `prompt_tokens`
 * semantics); Anthropic reports fresh input, cache reads and cache writes separately, so its adapter adds them up.
 * Keeping one convention here is what stops the classic bugs: cache writes counted twice, cache reads billed as fresh input.
 */
export interface Usage {
  /** All prompt tokens, including cache reads and cache writes. */
  inputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  /** All generated tokens, including reasoning tokens. */
  outputTokens: number;
  reasoningTokens: number;
  /** True when counted by the gateway's tokenizer because the upstream reported no usage. */
  estimated: boolean;
}

export const emptyUsage = (): Usage => ({
  inputTokens: 0,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  estimated: false,
});

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/**
 * Cache writes split by TTL. The total is authoritative when present: a streamed Anthropic usage pairs the TTL
 * breakdown from `message_start` with a cumulative total that `message_delta` may restate, and the total is what is
 * billed. Writes the breakdown does not place at 1h are 5-minute writes (the default TTL).
 */
function splitWrites(total: unknown, breakdown: unknown): { w5: number; w1: number } {
  const b = breakdown && typeof breakdown === 'object' ? (breakdown as Record<string, unknown>) : {};
  if (typeof total !== 'number') return { w5: num(b.ephemeral_5m_input_tokens), w1: num(b.ephemeral_1h_input_tokens) };
  const t = num(total);
  const w1 = Math.min(num(b.ephemeral_1h_input_tokens), t);
  return { w5: t - w1, w1 };
}

/** OpenAI `usage` (chat completions or embeddings) → Usage. Returns undefined when there is none. */
export function fromOpenAIUsage(u: unknown): Usage | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const o = u as Record<string, any>;
  // Extension fields, present only when an Anthropic answer was translated to OpenAI's shape.
  const { w5, w1 } = splitWrites(o.cache_creation_input_tokens, o.cache_creation);
  return {
    // Responses-API names (input_/output_tokens) are read alongside Chat Completions' so either shape counts fully.
    inputTokens: num(o.prompt_tokens ?? o.input_tokens),
    cacheReadTokens: num(o.prompt_tokens_details?.cached_tokens ?? o.input_tokens_details?.cached_tokens),
    cacheWrite5mTokens: w5,
    cacheWrite1hTokens: w1,
    outputTokens: num(o.completion_tokens ?? o.output_tokens),
    reasoningTokens: num(o.completion_tokens_details?.reasoning_tokens ?? o.output_tokens_details?.reasoning_tokens),
    estimated: false,
  };
}

/** Usage → OpenAI `usage`, with Anthropic-only cache-write counts as extension fields only when present. */
export function toOpenAIUsage(u: Usage): Record<string, unknown> {
  const out: Record<string, unknown> = {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cacheReadTokens, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
  const writes = u.cacheWrite5mTokens + u.cacheWrite1hTokens;
  if (writes > 0) {
    out.cache_creation_input_tokens = writes;
    out.cache_creation = { ephemeral_5m_input_tokens: u.cacheWrite5mTokens, ephemeral_1h_input_tokens: u.cacheWrite1hTokens };
  }
  return out;
}

/**
 * Anthropic `usage` → Usage. Anthropic's `input_tokens` excludes cache reads and writes; `cache_creation` splits
 * writes by TTL when present, otherwise all writes are 5-minute writes (the default TTL).
 * Reasoning: Anthropic bills thinking as output, so `output_tokens` already includes it, and
 * `output_tokens_details.thinking_tokens` (when the API reports it) is a breakdown of that count, never an addition;
 * `output_tokens_details.reasoning_tokens` is this gateway's own extension (see `toAnthropicUsage`).
 */
export function fromAnthropicUsage(u: unknown): Usage | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const o = u as Record<string, any>;
  const read = num(o.cache_read_input_tokens);
  const { w5, w1 } = splitWrites(o.cache_creation_input_tokens, o.cache_creation);
  return {
    inputTokens: num(o.input_tokens) + read + w5 + w1,
    cacheReadTokens: read,
    cacheWrite5mTokens: w5,
    cacheWrite1hTokens: w1,
    outputTokens: num(o.output_tokens),
    reasoningTokens: num(o.output_tokens_details?.reasoning_tokens ?? o.output_tokens_details?.thinking_tokens),
    estimated: false,
  };
}

/** Usage → Anthropic `usage`. */
export function toAnthropicUsage(u: Usage): Record<string, unknown> {
  const writes = u.cacheWrite5mTokens + u.cacheWrite1hTokens;
  const out: Record<string, unknown> = {
    input_tokens: Math.max(0, u.inputTokens - u.cacheReadTokens - writes),
    cache_creation_input_tokens: writes,
    cache_read_input_tokens: u.cacheReadTokens,
    cache_creation: { ephemeral_5m_input_tokens: u.cacheWrite5mTokens, ephemeral_1h_input_tokens: u.cacheWrite1hTokens },
    output_tokens: u.outputTokens,
  };
  // Extension: OpenAI reasoning counts survive a round trip through Anthropic's shape.
  if (u.reasoningTokens > 0) out.output_tokens_details = { reasoning_tokens: u.reasoningTokens };
  return out;
}
