/**
 * Validation of the tool fields of an OpenAI chat completion request: `tools`, `tool_choice` and the deprecated
 * `functions` / `function_call`, following ChatCompletionTool, CustomToolChatCompletions and
 * ChatCompletionToolChoiceOption in OpenAI's spec. The enums are checked against spec/openai-subset.json by
 * test/spec-fidelity.test.ts.
 */
import { isObj, fail, wrongType, optString, optBool, nonEmptyString, oneOf, quoteList, type Json } from './check.js';

export const TOOL_TYPES = ['function', 'custom'] as const;
/** `tool_choice` as a string. */
export const TOOL_CHOICE_MODES = ['none', 'auto', 'required'] as const;
/** `tool_choice.type` as an object. */
export const TOOL_CHOICE_TYPES = ['allowed_tools', 'function', 'custom'] as const;
export const ALLOWED_TOOLS_MODES = ['auto', 'required'] as const;
/** The deprecated `function_call` as a string. */
export const FUNCTION_CALL_MODES = ['none', 'auto'] as const;

/** OpenAI's documented rule for function names (the spec states it in prose, not as a pattern). */
const FN_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_TOOLS = 128;

export function checkFunctionName(v: unknown, param: string): void {
  const name = nonEmptyString(v, param);
  if (!FN_NAME.test(name)) fail(param, `Invalid '${param}': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$' (max 64 characters).`);
}

function checkFunctionObject(f: unknown, p: string): void {
  if (!isObj(f)) wrongType(p, 'an object', f);
  checkFunctionName(f.name, `${p}.name`);
  optString(f, 'description', `${p}.description`);
  if (f.parameters !== undefined && !isObj(f.parameters)) wrongType(`${p}.parameters`, 'an object (a JSON Schema)', f.parameters);
  optBool(f, 'strict', `${p}.strict`);
}

function checkTool(t: unknown, p: string): void {
  if (!isObj(t)) wrongType(p, 'an object', t);
  const type = oneOf(t.type, `${p}.type`, TOOL_TYPES);
  if (type === 'function') return checkFunctionObject(t.function, `${p}.function`);
  const c = t.custom;
  if (!isObj(c)) wrongType(`${p}.custom`, 'an object', c);
  nonEmptyString(c.name, `${p}.custom.name`);
  optString(c, 'description', `${p}.custom.description`);
  if (c.format !== undefined && !isObj(c.format)) wrongType(`${p}.custom.format`, 'an object', c.format);
}

function checkToolChoice(tc: unknown): void {
  if (tc === undefined || tc === null) return;
  if (typeof tc === 'string') {
    if (!(TOOL_CHOICE_MODES as readonly string[]).includes(tc)) fail('tool_choice', `Invalid value: '${tc}'. Supported values are: ${quoteList(TOOL_CHOICE_MODES)}.`);
    return;
  }
  if (!isObj(tc)) wrongType('tool_choice', 'a string or an object', tc);
  const type = oneOf(tc.type, 'tool_choice.type', TOOL_CHOICE_TYPES);
  if (type === 'allowed_tools') {
    const a = tc.allowed_tools;
    if (!isObj(a)) wrongType('tool_choice.allowed_tools', 'an object', a);
    oneOf(a.mode, 'tool_choice.allowed_tools.mode', ALLOWED_TOOLS_MODES);
    if (!Array.isArray(a.tools)) wrongType('tool_choice.allowed_tools.tools', 'an array', a.tools);
    a.tools.forEach((t: unknown, i: number) => {
      if (!isObj(t)) wrongType(`tool_choice.allowed_tools.tools[${i}]`, 'an object', t);
    });
    return;
  }
  const named = tc[type];
  if (!isObj(named)) wrongType(`tool_choice.${type}`, 'an object', named);
  if (typeof named.name !== 'string') wrongType(`tool_choice.${type}.name`, 'a string', named.name);
}

/** The deprecated pre-tools fields, still accepted by OpenAI and still sent by older clients. */
function checkFunctions(body: Json): void {
  const fns = body.functions;
  if (fns !== undefined && fns !== null) {
    if (!Array.isArray(fns)) wrongType('functions', 'an array', fns);
    if (fns.length === 0 || fns.length > MAX_TOOLS) fail('functions', `Invalid 'functions': expected an array with 1 to ${MAX_TOOLS} items, but got ${fns.length}.`);
    fns.forEach((f: unknown, i: number) => checkFunctionObject(f, `functions[${i}]`));
  }
  const fc = body.function_call;
  if (fc === undefined || fc === null) return;
  if (typeof fc === 'string') {
    if (!(FUNCTION_CALL_MODES as readonly string[]).includes(fc)) fail('function_call', `Invalid value: '${fc}'. Supported values are: ${quoteList(FUNCTION_CALL_MODES)}.`);
    return;
  }
  if (!isObj(fc)) wrongType('function_call', 'a string or an object', fc);
  if (typeof fc.name !== 'string') wrongType('function_call.name', 'a string', fc.name);
}

/** Validate `tools`, `tool_choice`, `parallel_tool_calls`, `functions` and `function_call`. */
export function checkTools(body: Json): void {
  const tools = body.tools;
  if (tools !== undefined && tools !== null) {
    if (!Array.isArray(tools)) wrongType('tools', 'an array', tools);
    // Not in the spec's schema, but OpenAI rejects more than 128 tools; failing here saves a paid round trip.
    if (tools.length > MAX_TOOLS) fail('tools', `Invalid 'tools': array too long. Expected an array with maximum length ${MAX_TOOLS}, but got ${tools.length}.`);
    tools.forEach((t: unknown, i: number) => checkTool(t, `tools[${i}]`));
  }
  checkToolChoice(body.tool_choice);
  optBool(body, 'parallel_tool_calls');
  checkFunctions(body);
}
