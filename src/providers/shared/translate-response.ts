/** Response translation between OpenAI Chat Completions and Anthropic Messages (non-streaming). */
import { fromAnthropicUsage, fromOpenAIUsage, toAnthropicUsage, toOpenAIUsage, emptyUsage } from '../usage.js';

type Json = Record<string, any>;

export const STOP_TO_FINISH: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  pause_turn: 'stop',
  refusal: 'content_filter',
};

export const FINISH_TO_STOP: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

// Own-property lookups: a reason the tables do not list (or one named like an Object.prototype member) gets the default.
export const finishOf = (stopReason: unknown): string => (typeof stopReason === 'string' && Object.hasOwn(STOP_TO_FINISH, stopReason) ? STOP_TO_FINISH[stopReason]! : 'stop');
export const stopOf = (finishReason: unknown): string => (typeof finishReason === 'string' && Object.hasOwn(FINISH_TO_STOP, finishReason) ? FINISH_TO_STOP[finishReason]! : 'end_turn');

/** Anthropic message → OpenAI chat.completion. */
export function anthropicToOpenAIResponse(msg: Json): Json {
  const blocks: Json[] = Array.isArray(msg.content) ? msg.content : [];
  const text = blocks.filter((b) => b.type === 'text').map((b) => b.text).join('');
  const toolCalls = blocks
    .filter((b) => b.type === 'tool_use')
    .map((b) => ({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } }));
  const message: Json = { role: 'assistant', content: toolCalls.length && !text ? null : text, refusal: null };
  if (toolCalls.length) message.tool_calls = toolCalls;
  return {
    id: `chatcmpl-${String(msg.id ?? '').replace(/^msg_/, '')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: msg.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishOf(msg.stop_reason) }],
    usage: toOpenAIUsage(fromAnthropicUsage(msg.usage) ?? emptyUsage()),
  };
}

/** OpenAI chat.completion → Anthropic message (first choice). */
export function openaiToAnthropicResponse(res: Json): Json {
  const choice = res.choices?.[0] ?? {};
  const m = choice.message ?? {};
  const content: Json[] = [];
  if (typeof m.content === 'string' && m.content) content.push({ type: 'text', text: m.content });
  // A refusal arrives in its own field with no content; Anthropic gives refusals as text with stop_reason 'refusal'.
  const refused = typeof m.refusal === 'string' && m.refusal !== '';
  if (refused && !content.length) content.push({ type: 'text', text: m.refusal });
  for (const tc of m.tool_calls ?? []) {
    let input: unknown = {};
    try {
      input = JSON.parse(tc.function?.arguments || '{}');
    } catch {
      input = { _raw: tc.function?.arguments };
    }
    content.push({ type: 'tool_use', id: tc.id, name: tc.function?.name, input });
  }
  return {
    id: `msg_${String(res.id ?? '').replace(/^chatcmpl-/, '')}`,
    type: 'message',
    role: 'assistant',
    model: res.model,
    content,
    stop_reason: refused ? 'refusal' : stopOf(choice.finish_reason),
    stop_sequence: null,
    usage: toAnthropicUsage(fromOpenAIUsage(res.usage) ?? emptyUsage()),
  };
}
