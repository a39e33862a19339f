/** Validation of Anthropic-surface requests (POST /v1/messages), following Anthropic's Messages API shapes. */
import { isObj, fail, wrongType, required, optString, optBool, optNumber, optInt, nonEmptyString, type Json } from './check.js';

const BLOCK_TYPES = new Set(['text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking', 'search_result', 'server_tool_use', 'web_search_tool_result']);

function checkBlocks(c: unknown[], p: string): void {
  c.forEach((b, j) => {
    const bp = `${p}.${j}`;
    if (!isObj(b)) wrongType(bp, 'an object', b);
    if (typeof b.type !== 'string') wrongType(`${bp}.type`, 'a string', b.type);
    if (!BLOCK_TYPES.has(b.type)) fail(`${bp}.type`, `${bp}.type: Input tag '${b.type}' found using 'type' does not match any of the expected tags.`);
    if (b.type === 'text' && typeof b.text !== 'string') wrongType(`${bp}.text`, 'a string', b.text);
    if (b.type === 'tool_use') {
      nonEmptyString(b.id, `${bp}.id`);
      nonEmptyString(b.name, `${bp}.name`);
      if (!isObj(b.input)) wrongType(`${bp}.input`, 'an object', b.input);
    }
    if (b.type === 'tool_result') nonEmptyString(b.tool_use_id, `${bp}.tool_use_id`);
    if (b.type === 'image' && !isObj(b.source)) wrongType(`${bp}.source`, 'an object', b.source);
  });
}

/** Validate a Messages request; throws GatewayError (400) naming the field. */
export function validateMessages(body: unknown): asserts body is Json {
  if (!isObj(body)) wrongType('body', 'a JSON object', body);
  nonEmptyString(required(body, 'model'), 'model');
  optInt(body, 'max_tokens', 1, 10_000_000);
  required(body, 'max_tokens');
  const msgs = required(body, 'messages');
  if (!Array.isArray(msgs)) wrongType('messages', 'an array', msgs);
  if (msgs.length === 0) fail('messages', 'messages: at least one message is required');
  msgs.forEach((m: unknown, i: number) => {
    const p = `messages.${i}`;
    if (!isObj(m)) wrongType(p, 'an object', m);
    if (m.role !== 'user' && m.role !== 'assistant') fail(`${p}.role`, `${p}.role: Input should be 'user' or 'assistant'`);
    const c = m.content;
    if (typeof c === 'string') return;
    if (!Array.isArray(c)) wrongType(`${p}.content`, 'a string or an array of content blocks', c);
    checkBlocks(c, `${p}.content`);
  });
  const sys = body.system;
  if (sys !== undefined && typeof sys !== 'string') {
    if (!Array.isArray(sys)) wrongType('system', 'a string or an array of text blocks', sys);
    sys.forEach((b, j) => {
      if (!isObj(b) || b.type !== 'text' || typeof b.text !== 'string') wrongType(`system.${j}`, 'a text block', b);
    });
  }
  optBool(body, 'stream');
  optNumber(body, 'temperature', 0, 1);
  optNumber(body, 'top_p', 0, 1);
  optInt(body, 'top_k', 0, 1_000_000);
  const ss = body.stop_sequences;
  if (ss !== undefined && (!Array.isArray(ss) || !ss.every((s) => typeof s === 'string'))) wrongType('stop_sequences', 'an array of strings', ss);
  const tools = body.tools;
  if (tools !== undefined) {
    if (!Array.isArray(tools)) wrongType('tools', 'an array', tools);
    tools.forEach((t, i) => {
      if (!isObj(t)) wrongType(`tools.${i}`, 'an object', t);
      nonEmptyString(t.name, `tools.${i}.name`);
      if (t.type === undefined || t.type === 'custom') {
        if (!isObj(t.input_schema)) wrongType(`tools.${i}.input_schema`, 'an object', t.input_schema);
      }
    });
  }
  const tc = body.tool_choice;
  if (tc !== undefined) {
    if (!isObj(tc)) wrongType('tool_choice', 'an object', tc);
    if (!['auto', 'any', 'tool', 'none'].includes(tc.type)) fail('tool_choice.type', `tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'`);
    if (tc.type === 'tool') nonEmptyString(tc.name, 'tool_choice.name');
    optBool(tc, 'disable_parallel_tool_use', 'tool_choice.disable_parallel_tool_use');
  }
  const th = body.thinking;
  if (th !== undefined) {
    // Only the shape: Anthropic adds thinking modes with new models, and the upstream judges the values.
    if (!isObj(th)) wrongType('thinking', 'an object', th);
    nonEmptyString(th.type, 'thinking.type');
    optInt(th, 'budget_tokens', 1, 10_000_000, 'thinking.budget_tokens');
  }
  if (body.metadata !== undefined) {
    if (!isObj(body.metadata)) wrongType('metadata', 'an object', body.metadata);
    optString(body.metadata, 'user_id', 'metadata.user_id');
  }
}
