/**
 * Test fixtures: real-shaped provider payloads (field order, ids and usage blocks as the APIs send them), each stream
 * paired with the non-streaming body of the same call, so tests can check that both paths agree exactly.
 */
type Json = Record<string, any>;

const anthropicEvent = (data: Json): string => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
const openaiEvent = (data: Json | string): string => `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

const ANTHROPIC_USAGE = {
  input_tokens: 12,
  cache_creation_input_tokens: 2048,
  cache_read_input_tokens: 1536,
  cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 2048 },
  output_tokens: 89,
  service_tier: 'standard',
};

/** A Claude answer with text then a tool call, reading one cache breakpoint and writing a 1-hour one. */
export const anthropicMessage: Json = {
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'text', text: 'Let me check the weather.' },
    { type: 'tool_use', id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', input: { city: 'Paris' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: ANTHROPIC_USAGE,
};

/**
 * The same answer streamed. `restateInput` selects the newer API behaviour where message_delta repeats the input and
 * cache counts (cumulative, without the TTL breakdown); older versions send only output_tokens there.
 */
export function anthropicStream(restateInput: boolean, withThinking = false): string {
  const { output_tokens: _o, ...inputSide } = ANTHROPIC_USAGE;
  const deltaUsage = restateInput
    ? { input_tokens: 12, cache_creation_input_tokens: 2048, cache_read_input_tokens: 1536, output_tokens: 89 }
    : { output_tokens: 89 };
  const m = anthropicMessage;
  const events: Json[] = [{ type: 'message_start', message: { ...m, content: [], stop_reason: null, usage: { ...inputSide, output_tokens: 1 } } }];
  let i = 0;
  if (withThinking) {
    events.push(
      { type: 'content_block_start', index: i, content_block: { type: 'thinking', thinking: '', signature: '' } },
      { type: 'content_block_delta', index: i, delta: { type: 'thinking_delta', thinking: 'The user wants weather.' } },
      { type: 'content_block_delta', index: i, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' } },
      { type: 'content_block_stop', index: i++ },
    );
  }
  events.push(
    { type: 'content_block_start', index: i, content_block: { type: 'text', text: '' } },
    { type: 'ping' },
    { type: 'content_block_delta', index: i, delta: { type: 'text_delta', text: 'Let me check' } },
    { type: 'content_block_delta', index: i, delta: { type: 'text_delta', text: ' the weather.' } },
    { type: 'content_block_stop', index: i++ },
    { type: 'content_block_start', index: i, content_block: { type: 'tool_use', id: m.content[1].id, name: 'get_weather', input: {} } },
    { type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: '' } },
    { type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: '{"city": "Par' } },
    { type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: 'is"}' } },
    { type: 'content_block_stop', index: i },
    { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: deltaUsage },
    { type: 'message_stop' },
  );
  return events.map(anthropicEvent).join('');
}

const OPENAI_USAGE = {
  prompt_tokens: 2006,
  completion_tokens: 300,
  total_tokens: 2306,
  prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 256, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};

const base = { id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG', created: 1741570283, model: 'o4-mini-2025-04-16', service_tier: 'default', system_fingerprint: null };

/** An OpenAI reasoning-model answer in text, with a cached prompt prefix. */
export const openaiTextCompletion: Json = {
  ...base,
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there, friend.', refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
  usage: OPENAI_USAGE,
};

/** An OpenAI answer with two parallel tool calls. */
export const openaiToolCompletion: Json = {
  ...base,
  object: 'chat.completion',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        annotations: [],
        tool_calls: [
          { id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_ABCO9pD3xa9XTPNJ32zg2hcB', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage: OPENAI_USAGE,
};

/**
 * The stream of a completion. With `includeUsage` every chunk carries `usage: null` and a final usage-only chunk
 * (empty `choices`) precedes `[DONE]`, as OpenAI sends for `stream_options.include_usage`.
 */
export function openaiStream(completion: Json, includeUsage: boolean): string {
  const choice = completion.choices[0];
  const chunk = (delta: Json, finish: string | null = null) => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const out: Json[] = [chunk({ role: 'assistant', content: choice.message.content === null ? null : '', refusal: null })];
  const text: string = choice.message.content ?? '';
  for (const piece of text.match(/\s*\S+/g) ?? []) out.push(chunk({ content: piece }));
  (choice.message.tool_calls ?? []).forEach((tc: Json, index: number) => {
    out.push(chunk({ tool_calls: [{ index, id: tc.id, type: 'function', function: { name: tc.function.name, arguments: '' } }] }));
    const args: string = tc.function.arguments;
    for (let i = 0; i < args.length; i += 5) out.push(chunk({ tool_calls: [{ index, function: { arguments: args.slice(i, i + 5) } }] }));
  });
  out.push(chunk({}, choice.finish_reason));
  if (includeUsage) out.push({ ...base, object: 'chat.completion.chunk', choices: [], usage: completion.usage });
  return out.map(openaiEvent).join('') + openaiEvent('[DONE]');
}

/** Feed text in small, awkward pieces (splitting events, lines and multi-byte characters), as a network would. */
export function* pieces(s: string, size = 7): Generator<Uint8Array> {
  const bytes = new TextEncoder().encode(s);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
