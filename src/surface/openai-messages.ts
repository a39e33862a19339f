/**
 * Validation of `messages` in an OpenAI chat completion request, following the spec's per-role message schemas
 * (ChatCompletionRequest{Developer,System,User,Assistant,Tool,Function}Message). Each role accepts its own set of
 * content-part types; the enums here are checked against spec/openai-subset.json by test/spec-fidelity.test.ts.
 */
import { isObj, fail, wrongType, optString, nonEmptyString, oneOf, quoteList, type Json } from './check.js';

export const ROLES = ['developer', 'system', 'user', 'assistant', 'tool', 'function'] as const;
export type Role = (typeof ROLES)[number];

/** Content-part types each role may send in an array `content` (`function` messages take a string only). */
export const PART_TYPES_BY_ROLE: Readonly<Record<Role, readonly string[]>> = {
  developer: ['text'],
  system: ['text'],
  user: ['text', 'image_url', 'input_audio', 'file'],
  assistant: ['text', 'refusal'],
  tool: ['text'],
  function: [],
};

/** Every content-part type of any role, for a clearer message when the type exists but not for this role. */
export const PART_TYPES: readonly string[] = [...new Set(Object.values(PART_TYPES_BY_ROLE).flat())];

/** Types of an assistant message's `tool_calls[]` (ChatCompletionMessageToolCall / ...CustomToolCall). */
export const TOOL_CALL_TYPES = ['function', 'custom'] as const;

const PART_TYPE_SET = new Set(PART_TYPES);

function checkPart(part: unknown, pp: string, role: Role): void {
  if (!isObj(part)) wrongType(pp, 'an object', part);
  const type = part.type;
  if (type === undefined) fail(`${pp}.type`, `Missing required parameter: '${pp}.type'.`, 'missing_field');
  if (typeof type !== 'string') wrongType(`${pp}.type`, 'a string', type);
  const allowed = PART_TYPES_BY_ROLE[role];
  if (!PART_TYPE_SET.has(type)) fail(`${pp}.type`, `Invalid value: '${type}'. Supported values are: ${quoteList(PART_TYPES)}.`);
  if (!allowed.includes(type)) fail(`${pp}.type`, `Invalid value: '${type}'. Messages with role '${role}' support content parts of type ${quoteList(allowed)}.`);
  switch (type) {
    case 'text':
      if (typeof part.text !== 'string') wrongType(`${pp}.text`, 'a string', part.text);
      return;
    case 'refusal':
      if (typeof part.refusal !== 'string') wrongType(`${pp}.refusal`, 'a string', part.refusal);
      return;
    case 'image_url': {
      const u = part.image_url;
      if (!isObj(u)) wrongType(`${pp}.image_url`, 'an object', u);
      nonEmptyString(u.url, `${pp}.image_url.url`);
      optString(u, 'detail', `${pp}.image_url.detail`);
      return;
    }
    case 'input_audio': {
      const a = part.input_audio;
      if (!isObj(a)) wrongType(`${pp}.input_audio`, 'an object', a);
      if (typeof a.data !== 'string') wrongType(`${pp}.input_audio.data`, 'a string', a.data);
      if (typeof a.format !== 'string') wrongType(`${pp}.input_audio.format`, 'a string', a.format);
      return;
    }
    case 'file': {
      const f = part.file;
      if (!isObj(f)) wrongType(`${pp}.file`, 'an object', f);
      for (const k of ['file_data', 'file_id', 'filename']) optString(f, k, `${pp}.file.${k}`);
    }
  }
}

/** Content may be absent on an assistant turn that carries something else the model said (spec: only `role` is required). */
function assistantMayOmitContent(m: Json): boolean {
  return m.tool_calls != null || m.function_call != null || m.refusal != null || m.audio != null;
}

function checkContent(m: Json, p: string, role: Role): void {
  const c = m.content;
  if (c === undefined || c === null) {
    if (role === 'assistant' && (c === null || assistantMayOmitContent(m))) return;
    if (role === 'function' && c === null) return;
    if (c === undefined) fail(`${p}.content`, `Missing required parameter: '${p}.content'.`, 'missing_field');
    wrongType(`${p}.content`, 'a string or an array of content parts', c);
  }
  if (typeof c === 'string') return;
  if (role === 'function') wrongType(`${p}.content`, 'a string', c);
  if (!Array.isArray(c)) wrongType(`${p}.content`, 'a string or an array of content parts', c);
  if (c.length === 0) fail(`${p}.content`, `Invalid '${p}.content': empty array. Expected an array with minimum length 1, but got an empty array instead.`);
  c.forEach((part: unknown, j: number) => checkPart(part, `${p}.content[${j}]`, role));
}

function checkToolCalls(m: Json, p: string): void {
  if (m.tool_calls === undefined || m.tool_calls === null) return;
  if (m.role !== 'assistant') fail(`${p}.tool_calls`, `'${p}.tool_calls' is only allowed on assistant messages.`);
  if (!Array.isArray(m.tool_calls)) wrongType(`${p}.tool_calls`, 'an array', m.tool_calls);
  m.tool_calls.forEach((tc: unknown, j: number) => {
    const tp = `${p}.tool_calls[${j}]`;
    if (!isObj(tc)) wrongType(tp, 'an object', tc);
    nonEmptyString(tc.id, `${tp}.id`);
    // The spec requires `type`, but OpenAI-compatible servers and older clients omit it on function calls; a
    // missing type is read as 'function' rather than failing a replayed conversation.
    const type = tc.type === undefined ? 'function' : oneOf(tc.type, `${tp}.type`, TOOL_CALL_TYPES);
    const body = tc[type];
    if (!isObj(body)) wrongType(`${tp}.${type}`, 'an object', body);
    nonEmptyString(body.name, `${tp}.${type}.name`);
    const argKey = type === 'function' ? 'arguments' : 'input';
    if (typeof body[argKey] !== 'string') wrongType(`${tp}.${type}.${argKey}`, 'a string (JSON-encoded)', body[argKey]);
  });
}

/** Validate `messages`; throws GatewayError (400) naming the field, e.g. `messages[2].content[0].type`. */
export function checkMessages(v: unknown): void {
  if (!Array.isArray(v)) wrongType('messages', 'an array', v);
  if (v.length === 0) fail('messages', "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.");
  v.forEach((m: unknown, i: number) => {
    const p = `messages[${i}]`;
    if (!isObj(m)) wrongType(p, 'an object', m);
    const role = oneOf(m.role, `${p}.role`, ROLES) as Role;
    checkContent(m, p, role);
    if (role === 'function') nonEmptyString(m.name, `${p}.name`);
    else optString(m, 'name', `${p}.name`);
    if (role === 'tool') nonEmptyString(m.tool_call_id, `${p}.tool_call_id`);
    if (role === 'assistant') {
      optString(m, 'refusal', `${p}.refusal`);
      if (m.audio !== undefined && m.audio !== null && (!isObj(m.audio) || typeof m.audio.id !== 'string')) wrongType(`${p}.audio.id`, 'a string', isObj(m.audio) ? m.audio.id : m.audio);
      if (m.function_call != null) {
        if (!isObj(m.function_call)) wrongType(`${p}.function_call`, 'an object', m.function_call);
        nonEmptyString(m.function_call.name, `${p}.function_call.name`);
        if (typeof m.function_call.arguments !== 'string') wrongType(`${p}.function_call.arguments`, 'a string (JSON-encoded)', m.function_call.arguments);
      }
    }
    checkToolCalls(m, p);
  });
}
