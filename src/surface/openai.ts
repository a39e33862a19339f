/**
 * Validation of OpenAI-surface requests, following the shapes in OpenAI's OpenAPI spec
 * (CreateChatCompletionRequest, CreateEmbeddingRequest). Unknown fields pass through: OpenAI adds fields often,
 * and a gateway that rejects them breaks clients on the day a new SDK ships.
 */
import { isObj, fail, wrongType, required, optString, optBool, optNumber, optInt, nonEmptyString, optStringMap, type Json } from './check.js';

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);
const PART_TYPES = new Set(['text', 'image_url', 'input_audio', 'file', 'refusal']);
const FN_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function checkContent(m: Json, p: string): void {
  const c = m.content;
  if (c === undefined || c === null) {
    if (m.role === 'assistant' && (m.tool_calls !== undefined || m.function_call !== undefined || c === null)) return;
    if (c === undefined) fail(`${p}.content`, `Missing required parameter: '${p}.content'.`, 'missing_field');
    wrongType(`${p}.content`, 'a string or an array of content parts', c);
  }
  if (typeof c === 'string') return;
  if (!Array.isArray(c)) wrongType(`${p}.content`, 'a string or an array of content parts', c);
  c.forEach((part: unknown, j: number) => {
    const pp = `${p}.content[${j}]`;
    if (!isObj(part)) wrongType(pp, 'an object', part);
    if (typeof part.type !== 'string') wrongType(`${pp}.type`, 'a string', part.type);
    if (!PART_TYPES.has(part.type)) fail(`${pp}.type`, `Invalid value: '${part.type}'. Supported values are: ${[...PART_TYPES].map((t) => `'${t}'`).join(', ')}.`);
    if (part.type === 'text' && typeof part.text !== 'string') wrongType(`${pp}.text`, 'a string', part.text);
    if (part.type === 'image_url') {
      const u = part.image_url;
      if (!isObj(u) || typeof u.url !== 'string') wrongType(`${pp}.image_url.url`, 'a string', isObj(u) ? u.url : u);
    }
  });
}

function checkMessages(v: unknown): void {
  if (!Array.isArray(v)) wrongType('messages', 'an array', v);
  if (v.length === 0) fail('messages', "Invalid 'messages': empty array. Expected an array with minimum length 1.");
  v.forEach((m: unknown, i: number) => {
    const p = `messages[${i}]`;
    if (!isObj(m)) wrongType(p, 'an object', m);
    if (m.role === undefined) fail(`${p}.role`, `Missing required parameter: '${p}.role'.`, 'missing_field');
    if (typeof m.role !== 'string') wrongType(`${p}.role`, 'a string', m.role);
    if (!ROLES.has(m.role)) fail(`${p}.role`, `Invalid value: '${m.role}'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool' and 'function'.`);
    checkContent(m, p);
    optString(m, 'name', `${p}.name`);
    if (m.role === 'tool') nonEmptyString(m.tool_call_id, `${p}.tool_call_id`);
    if (m.tool_calls !== undefined && m.tool_calls !== null) {
      if (m.role !== 'assistant') fail(`${p}.tool_calls`, `'${p}.tool_calls' is only allowed on assistant messages.`);
      if (!Array.isArray(m.tool_calls)) wrongType(`${p}.tool_calls`, 'an array', m.tool_calls);
      m.tool_calls.forEach((tc: unknown, j: number) => {
        const tp = `${p}.tool_calls[${j}]`;
        if (!isObj(tc)) wrongType(tp, 'an object', tc);
        nonEmptyString(tc.id, `${tp}.id`);
        if (!isObj(tc.function)) wrongType(`${tp}.function`, 'an object', tc.function);
        nonEmptyString(tc.function.name, `${tp}.function.name`);
        if (typeof tc.function.arguments !== 'string') wrongType(`${tp}.function.arguments`, 'a string', tc.function.arguments);
      });
    }
  });
}

function checkTools(body: Json): void {
  const tools = body.tools;
  if (tools !== undefined && tools !== null) {
    if (!Array.isArray(tools)) wrongType('tools', 'an array', tools);
    if (tools.length > 128) fail('tools', `Invalid 'tools': array too long. Expected an array with maximum length 128, but got ${tools.length}.`);
    tools.forEach((t: unknown, i: number) => {
      const p = `tools[${i}]`;
      if (!isObj(t)) wrongType(p, 'an object', t);
      if (t.type !== 'function' && t.type !== 'custom') fail(`${p}.type`, `Invalid value: '${String(t.type)}'. Supported values are: 'function' and 'custom'.`);
      if (t.type === 'function') {
        if (!isObj(t.function)) wrongType(`${p}.function`, 'an object', t.function);
        const name = nonEmptyString(t.function.name, `${p}.function.name`);
        if (!FN_NAME.test(name)) fail(`${p}.function.name`, `Invalid '${p}.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$' (max 64).`);
        if (t.function.parameters !== undefined && !isObj(t.function.parameters)) wrongType(`${p}.function.parameters`, 'an object', t.function.parameters);
      }
    });
  }
  const tc = body.tool_choice;
  if (tc === undefined || tc === null) return;
  if (typeof tc === 'string') {
    if (!['none', 'auto', 'required'].includes(tc)) fail('tool_choice', `Invalid value: '${tc}'. Supported values are: 'none', 'auto' and 'required'.`);
    return;
  }
  if (!isObj(tc)) wrongType('tool_choice', 'a string or an object', tc);
  if (tc.type === 'function' && (!isObj(tc.function) || typeof tc.function.name !== 'string')) wrongType('tool_choice.function.name', 'a string', tc.function?.name);
}

function checkResponseFormat(rf: unknown): void {
  if (rf === undefined || rf === null) return;
  if (!isObj(rf)) wrongType('response_format', 'an object', rf);
  if (!['text', 'json_object', 'json_schema'].includes(rf.type)) {
    fail('response_format.type', `Invalid value: '${String(rf.type)}'. Supported values are: 'text', 'json_object' and 'json_schema'.`);
  }
  if (rf.type === 'json_schema') {
    if (!isObj(rf.json_schema)) fail('response_format.json_schema', "Missing required parameter: 'response_format.json_schema'.", 'missing_field');
    nonEmptyString(rf.json_schema.name, 'response_format.json_schema.name');
    if (rf.json_schema.schema !== undefined && !isObj(rf.json_schema.schema)) wrongType('response_format.json_schema.schema', 'an object', rf.json_schema.schema);
  }
}

function checkStop(v: unknown): void {
  if (v === undefined || v === null || typeof v === 'string') return;
  if (!Array.isArray(v)) wrongType('stop', 'a string or an array of strings', v);
  if (v.length > 4) fail('stop', `Invalid 'stop': array too long. Expected an array with maximum length 4, but got ${v.length}.`);
  v.forEach((s, i) => {
    if (typeof s !== 'string') wrongType(`stop[${i}]`, 'a string', s);
  });
}

/** Validate a chat completion request; throws GatewayError (400) naming the field. */
export function validateChat(body: unknown): asserts body is Json {
  if (!isObj(body)) wrongType('body', 'a JSON object', body);
  nonEmptyString(required(body, 'model'), 'model');
  checkMessages(required(body, 'messages'));
  optBool(body, 'stream');
  const so = body.stream_options;
  if (so !== undefined && so !== null) {
    if (!isObj(so)) wrongType('stream_options', 'an object', so);
    optBool(so, 'include_usage', 'stream_options.include_usage');
    if (body.stream !== true) fail('stream_options', 'The stream_options parameter is only allowed when stream is enabled.');
  }
  optInt(body, 'n', 1, 128);
  optInt(body, 'max_tokens', 1, 10_000_000);
  optInt(body, 'max_completion_tokens', 1, 10_000_000);
  optNumber(body, 'temperature', 0, 2);
  optNumber(body, 'top_p', 0, 1);
  optNumber(body, 'presence_penalty', -2, 2);
  optNumber(body, 'frequency_penalty', -2, 2);
  optInt(body, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  optBool(body, 'logprobs');
  optInt(body, 'top_logprobs', 0, 20);
  optBool(body, 'parallel_tool_calls');
  optString(body, 'user');
  optStringMap(body, 'metadata');
  if (body.logit_bias !== undefined && body.logit_bias !== null && !isObj(body.logit_bias)) wrongType('logit_bias', 'an object', body.logit_bias);
  checkStop(body.stop);
  checkTools(body);
  checkResponseFormat(body.response_format);
}

/** Validate an embeddings request. */
export function validateEmbeddings(body: unknown): asserts body is Json {
  if (!isObj(body)) wrongType('body', 'a JSON object', body);
  nonEmptyString(required(body, 'model'), 'model');
  const input = required(body, 'input');
  if (typeof input === 'string') {
    if (input.length === 0) fail('input', "Invalid 'input': empty string.");
  } else if (Array.isArray(input)) {
    if (input.length === 0) fail('input', "Invalid 'input': empty array. Expected an array with minimum length 1.");
    if (input.length > 2048) fail('input', `Invalid 'input': array too long. Expected an array with maximum length 2048, but got ${input.length}.`);
    const kind = typeof input[0];
    input.forEach((x, i) => {
      if (kind === 'string' && typeof x !== 'string') wrongType(`input[${i}]`, 'a string', x);
      else if (kind === 'number' && !Number.isInteger(x)) wrongType(`input[${i}]`, 'an integer token', x);
      else if (kind === 'object' && (!Array.isArray(x) || !x.every(Number.isInteger))) wrongType(`input[${i}]`, 'an array of integer tokens', x);
      else if (kind !== 'string' && kind !== 'number' && kind !== 'object') wrongType(`input[${i}]`, 'a string', x);
    });
  } else wrongType('input', 'a string or an array', input);
  const ef = body.encoding_format;
  if (ef !== undefined && ef !== 'float' && ef !== 'base64') fail('encoding_format', `Invalid value: '${String(ef)}'. Supported values are: 'float' and 'base64'.`);
  optInt(body, 'dimensions', 1, 65536);
  optString(body, 'user');
}
