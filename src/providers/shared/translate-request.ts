/**
 * Request translation between OpenAI Chat Completions and Anthropic Messages. Used only when the client's wire
 * format differs from the serving provider's; same-format traffic is forwarded untouched.
 */
import { GatewayError } from '../../pipeline/errors.js';

type Json = Record<string, any>;

const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join('');
  return '';
}

/**
 * Text blocks or parts as the other side's text parts (one block collapses to a string). Keeping them separate, not
 * joined, is what makes a multi-block system prompt or tool result survive a round trip unchanged.
 */
function textParts(content: unknown): string | Json[] {
  if (!Array.isArray(content)) return typeof content === 'string' ? content : '';
  const parts = content.filter((p: any) => typeof p?.text === 'string').map((p: any) => ({ type: 'text', text: p.text }));
  return parts.length === 0 ? '' : parts.length === 1 ? parts[0]!.text : parts;
}

function imageToAnthropic(url: string): Json {
  const m = /^data:([^;]+);base64,(.*)$/s.exec(url);
  if (m) return { type: 'image', source: { type: 'base64', media_type: m[1], data: m[2] } };
  return { type: 'image', source: { type: 'url', url } };
}

function userPartsToAnthropic(content: unknown): Json[] | string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p: any) => {
    if (p?.type === 'image_url') return imageToAnthropic(typeof p.image_url === 'string' ? p.image_url : p.image_url?.url ?? '');
    const block: Json = { type: 'text', text: typeof p?.text === 'string' ? p.text : '' };
    if (p?.cache_control) block.cache_control = p.cache_control;
    return block;
  });
}

function parseArgs(args: unknown): unknown {
  if (typeof args !== 'string' || args === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    throw new GatewayError('invalid_value', 'tool_calls[].function.arguments must be a JSON string to be sent to an Anthropic model', {
      param: 'messages',
    });
  }
}

function jsonInstruction(rf: Json | undefined): string | undefined {
  if (!rf || rf.type === 'text') return undefined;
  if (rf.type === 'json_object') return 'Respond with a single valid JSON object and nothing else.';
  if (rf.type === 'json_schema') {
    return `Respond with a single JSON value that validates against this JSON Schema, and nothing else:\n${JSON.stringify(rf.json_schema?.schema ?? {})}`;
  }
  return undefined;
}

/** OpenAI chat request → Anthropic messages request. */
export function openaiToAnthropicRequest(req: Json): Json {
  if (typeof req.n === 'number' && req.n > 1) {
    throw new GatewayError('invalid_value', 'n > 1 is not supported by Anthropic models', { param: 'n' });
  }
  const system: Json[] = [];
  const messages: Json[] = [];
  const asBlocks = (c: string | Json[]): Json[] => (typeof c === 'string' ? [{ type: 'text', text: c }] : c);
  // Every tool_result answering one assistant turn must sit in the single user message that follows it, so
  // consecutive user-side messages (tool results, then the user's next words) merge into one turn.
  const pushUser = (content: string | Json[]) => {
    const last = messages[messages.length - 1];
    if (last?.role === 'user') last.content = [...asBlocks(last.content), ...asBlocks(content)];
    else messages.push({ role: 'user', content });
  };
  for (const m of req.messages as Json[]) {
    if (m.role === 'system' || m.role === 'developer') {
      if (typeof m.content === 'string') system.push({ type: 'text', text: m.content });
      else for (const p of m.content ?? []) system.push({ type: 'text', text: p.text ?? '', ...(p.cache_control ? { cache_control: p.cache_control } : {}) });
    } else if (m.role === 'user') {
      pushUser(userPartsToAnthropic(m.content));
    } else if (m.role === 'assistant') {
      const blocks: Json[] = [];
      const t = textOf(m.content);
      if (t) blocks.push({ type: 'text', text: t });
      for (const tc of m.tool_calls ?? []) {
        blocks.push({ type: 'tool_use', id: tc.id, name: tc.function?.name, input: parseArgs(tc.function?.arguments) });
      }
      // Anthropic rejects empty text blocks; an assistant turn with nothing in it is dropped (the user turns around it merge).
      if (blocks.length === 0) continue;
      messages.push({ role: 'assistant', content: typeof m.content === 'string' && blocks.length === 1 ? t : blocks });
    } else if (m.role === 'tool' || m.role === 'function') {
      pushUser([{ type: 'tool_result', tool_use_id: m.tool_call_id ?? m.name, content: textParts(m.content) }]);
    }
  }
  const instruction = jsonInstruction(req.response_format);
  if (instruction) system.push({ type: 'text', text: instruction });

  const out: Json = {
    model: req.model,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS,
    messages,
  };
  // A lone plain system prompt stays a string (as an Anthropic client would send it); blocks keep cache breakpoints.
  if (system.length === 1 && !system[0]!.cache_control) out.system = system[0]!.text;
  else if (system.length) out.system = system;
  if (req.stream) out.stream = true;
  if (typeof req.temperature === 'number') out.temperature = Math.min(1, req.temperature);
  if (typeof req.top_p === 'number') out.top_p = req.top_p;
  if (req.stop != null) out.stop_sequences = Array.isArray(req.stop) ? req.stop : [req.stop];
  if (typeof req.user === 'string') out.metadata = { user_id: req.user };
  if (Array.isArray(req.tools) && req.tools.length) {
    out.tools = req.tools.map((t: Json) => ({
      name: t.function?.name,
      ...(t.function?.description ? { description: t.function.description } : {}),
      input_schema: t.function?.parameters ?? { type: 'object', properties: {} },
    }));
    const tc = req.tool_choice;
    if (tc === 'auto') out.tool_choice = { type: 'auto' };
    else if (tc === 'required') out.tool_choice = { type: 'any' };
    else if (tc === 'none') out.tool_choice = { type: 'none' };
    else if (tc && typeof tc === 'object' && tc.function?.name) out.tool_choice = { type: 'tool', name: tc.function.name };
    if (req.parallel_tool_calls === false) out.tool_choice = { ...(out.tool_choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  }
  return out;
}

function anthropicContentToOpenAI(blocks: Json[]): { parts: Json[]; toolResults: Json[] } {
  const parts: Json[] = [];
  const toolResults: Json[] = [];
  for (const b of blocks) {
    if (b.type === 'text') parts.push({ type: 'text', text: b.text });
    else if (b.type === 'image') {
      const src = b.source ?? {};
      const url = src.type === 'base64' ? `data:${src.media_type};base64,${src.data}` : src.url;
      parts.push({ type: 'image_url', image_url: { url } });
    } else if (b.type === 'tool_result') {
      const content = textParts(b.content);
      toolResults.push({ role: 'tool', tool_call_id: b.tool_use_id, content });
    }
  }
  return { parts, toolResults };
}

/** Anthropic messages request → OpenAI chat request. */
export function anthropicToOpenAIRequest(req: Json): Json {
  const messages: Json[] = [];
  if (typeof req.system === 'string' && req.system) messages.push({ role: 'system', content: req.system });
  else if (Array.isArray(req.system) && req.system.length) messages.push({ role: 'system', content: textParts(req.system) });
  for (const m of req.messages as Json[]) {
    if (typeof m.content === 'string') {
      messages.push({ role: m.role, content: m.content });
      continue;
    }
    if (m.role === 'assistant') {
      const text = m.content.filter((b: Json) => b.type === 'text').map((b: Json) => b.text).join('');
      const toolCalls = m.content
        .filter((b: Json) => b.type === 'tool_use')
        .map((b: Json) => ({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } }));
      messages.push({ role: 'assistant', content: text || null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) });
      continue;
    }
    const { parts, toolResults } = anthropicContentToOpenAI(m.content);
    messages.push(...toolResults);
    if (parts.length) {
      messages.push({ role: 'user', content: parts.length === 1 && parts[0]!.type === 'text' ? parts[0]!.text : parts });
    }
  }
  const out: Json = { model: req.model, messages, max_tokens: req.max_tokens };
  if (req.stream) out.stream = true;
  if (typeof req.temperature === 'number') out.temperature = req.temperature;
  if (typeof req.top_p === 'number') out.top_p = req.top_p;
  // OpenAI rejects more than four stop sequences; the first four are the best that can be done.
  if (Array.isArray(req.stop_sequences) && req.stop_sequences.length) out.stop = req.stop_sequences.slice(0, 4);
  if (typeof req.metadata?.user_id === 'string') out.user = req.metadata.user_id;
  if (Array.isArray(req.tools) && req.tools.length) {
    out.tools = req.tools.map((t: Json) => ({
      type: 'function',
      function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.input_schema ?? { type: 'object' } },
    }));
    const tc = req.tool_choice;
    if (tc?.type === 'auto') out.tool_choice = 'auto';
    else if (tc?.type === 'any') out.tool_choice = 'required';
    else if (tc?.type === 'none') out.tool_choice = 'none';
    else if (tc?.type === 'tool') out.tool_choice = { type: 'function', function: { name: tc.name } };
    if (tc?.disable_parallel_tool_use) out.parallel_tool_calls = false;
  }
  return out;
}
