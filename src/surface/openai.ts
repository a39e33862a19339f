/**
 * Validation of OpenAI-surface requests, following the shapes in OpenAI's OpenAPI spec
 * (CreateChatCompletionRequest, CreateEmbeddingRequest). Unknown fields pass through: OpenAI adds fields often,
 * and a gateway that rejects them breaks clients on the day a new SDK ships. For the same reason, open-ended enums
 * that OpenAI extends with new models (`reasoning_effort`, `service_tier`, `verbosity`, `modalities`) are checked
 * for type only; closed enums that decide how a request is read (roles, part types, `response_format.type`,
 * `tool_choice`, `encoding_format`) are checked for value, and test/spec-fidelity.test.ts keeps them equal to the spec's.
 */
import { isObj, fail, wrongType, required, optString, optBool, optNumber, optInt, nonEmptyString, optStringMap, optObject, oneOf, type Json } from './check.js';
import { checkMessages } from './openai-messages.js';
import { checkTools, checkFunctionName } from './openai-tools.js';

export { ROLES, PART_TYPES, PART_TYPES_BY_ROLE, TOOL_CALL_TYPES } from './openai-messages.js';
export { TOOL_TYPES, TOOL_CHOICE_MODES, TOOL_CHOICE_TYPES, ALLOWED_TOOLS_MODES, FUNCTION_CALL_MODES } from './openai-tools.js';

export const RESPONSE_FORMAT_TYPES = ['text', 'json_object', 'json_schema'] as const;
export const PREDICTION_TYPES = ['content'] as const;
export const ENCODING_FORMATS = ['float', 'base64'] as const;

/** The spec's int64 bounds for `seed`, as the doubles JSON.parse produces for them. */
const INT64 = 2 ** 63;
const MAX_STOP = 4;
const MAX_EMBEDDING_INPUTS = 2048;
/** Optional strings; the enum-valued ones are open enums OpenAI extends with new models, so type-checked only. */
const OPEN_STRING_FIELDS = ['reasoning_effort', 'verbosity', 'service_tier', 'prompt_cache_key', 'prompt_cache_retention', 'safety_identifier'];
const OBJECT_FIELDS = ['web_search_options', 'moderation', 'prompt_cache_options'];

function checkResponseFormat(body: Json): void {
  const rf = optObject(body, 'response_format');
  if (!rf) return;
  const type = oneOf(rf.type, 'response_format.type', RESPONSE_FORMAT_TYPES);
  if (type !== 'json_schema') return;
  const js = rf.json_schema;
  if (js === undefined) fail('response_format.json_schema', "Missing required parameter: 'response_format.json_schema'.", 'missing_field');
  if (!isObj(js)) wrongType('response_format.json_schema', 'an object', js);
  if (js.name === undefined) fail('response_format.json_schema.name', "Missing required parameter: 'response_format.json_schema.name'.", 'missing_field');
  checkFunctionName(js.name, 'response_format.json_schema.name');
  optString(js, 'description', 'response_format.json_schema.description');
  if (js.schema !== undefined && !isObj(js.schema)) wrongType('response_format.json_schema.schema', 'an object (a JSON Schema)', js.schema);
  optBool(js, 'strict', 'response_format.json_schema.strict');
}

function checkStop(v: unknown): void {
  if (v === undefined || v === null || typeof v === 'string') return;
  if (!Array.isArray(v)) wrongType('stop', 'a string or an array of strings', v);
  // The spec says minItems 1, but `stop: []` means "no stop sequences" to every client that sends it; accepted.
  if (v.length > MAX_STOP) fail('stop', `Invalid 'stop': array too long. Expected an array with maximum length ${MAX_STOP}, but got ${v.length}.`);
  v.forEach((s, i) => {
    if (typeof s !== 'string') wrongType(`stop[${i}]`, 'a string', s);
  });
}

function checkStreamOptions(body: Json): void {
  const so = optObject(body, 'stream_options');
  if (!so) return;
  optBool(so, 'include_usage', 'stream_options.include_usage');
  optBool(so, 'include_obfuscation', 'stream_options.include_obfuscation');
  if (body.stream !== true) fail('stream_options', 'The stream_options parameter is only allowed when stream is enabled.');
}

function checkLogitBias(body: Json): void {
  const lb = optObject(body, 'logit_bias');
  if (!lb) return;
  for (const [k, v] of Object.entries(lb)) {
    if (typeof v !== 'number' || !Number.isInteger(v)) wrongType(`logit_bias.${k}`, 'an integer', v);
    // The spec's description bounds the bias to [-100, 100]; beyond that OpenAI answers 400.
    if (v < -100 || v > 100) fail(`logit_bias.${k}`, `Invalid value for 'logit_bias.${k}': ${v} is outside [-100, 100].`);
  }
}

/** Output-shaping fields added with newer models: prediction, audio output, modalities. */
function checkOutputOptions(body: Json): void {
  const pred = optObject(body, 'prediction');
  if (pred) {
    oneOf(pred.type, 'prediction.type', PREDICTION_TYPES);
    const c = pred.content;
    if (typeof c !== 'string' && !(Array.isArray(c) && c.length > 0 && c.every((p) => isObj(p) && p.type === 'text' && typeof p.text === 'string'))) {
      wrongType('prediction.content', 'a string or a non-empty array of text parts', c);
    }
  }
  const audio = optObject(body, 'audio');
  if (audio) {
    if (typeof audio.format !== 'string') wrongType('audio.format', 'a string', audio.format);
    if (typeof audio.voice !== 'string' && !(isObj(audio.voice) && typeof audio.voice.id === 'string')) wrongType('audio.voice', "a string or an object with an 'id'", audio.voice);
  }
  const mod = body.modalities;
  if (mod !== undefined && mod !== null && (!Array.isArray(mod) || !mod.every((x) => typeof x === 'string'))) wrongType('modalities', 'an array of strings', mod);
  for (const k of OPEN_STRING_FIELDS) optString(body, k);
  for (const k of OBJECT_FIELDS) optObject(body, k);
}

/** Validate a chat completion request; throws GatewayError (400) naming the field. */
export function validateChat(body: unknown): asserts body is Json {
  if (!isObj(body)) wrongType('body', 'a JSON object', body);
  nonEmptyString(required(body, 'model'), 'model');
  checkMessages(required(body, 'messages'));
  optBool(body, 'stream');
  checkStreamOptions(body);
  optInt(body, 'n', 1, 128);
  optInt(body, 'max_tokens', 1, 10_000_000);
  optInt(body, 'max_completion_tokens', 1, 10_000_000);
  optNumber(body, 'temperature', 0, 2);
  optNumber(body, 'top_p', 0, 1);
  optNumber(body, 'presence_penalty', -2, 2);
  optNumber(body, 'frequency_penalty', -2, 2);
  optInt(body, 'seed', -INT64, INT64);
  optBool(body, 'logprobs');
  optInt(body, 'top_logprobs', 0, 20);
  optBool(body, 'store');
  optString(body, 'user');
  optStringMap(body, 'metadata');
  checkLogitBias(body);
  checkStop(body.stop);
  checkTools(body);
  checkResponseFormat(body);
  checkOutputOptions(body);
}

function checkEmbeddingInput(input: unknown): void {
  if (typeof input === 'string') {
    if (input.length === 0) fail('input', "Invalid 'input': empty string. Expected a non-empty string.");
    return;
  }
  if (!Array.isArray(input)) wrongType('input', 'a string or an array', input);
  if (input.length === 0) fail('input', "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.");
  if (input.length > MAX_EMBEDDING_INPUTS) fail('input', `Invalid 'input': array too long. Expected an array with maximum length ${MAX_EMBEDDING_INPUTS}, but got ${input.length}.`);
  // One of the spec's three array shapes, decided by the first item: strings, a token array, or token arrays.
  const first = input[0];
  input.forEach((x, i) => {
    if (typeof first === 'string') {
      if (typeof x !== 'string') wrongType(`input[${i}]`, 'a string (like input[0])', x);
    } else if (typeof first === 'number') {
      if (!Number.isSafeInteger(x)) wrongType(`input[${i}]`, 'an integer token (like input[0])', x);
    } else if (Array.isArray(first)) {
      if (!Array.isArray(x) || !x.every(Number.isSafeInteger)) wrongType(`input[${i}]`, 'an array of integer tokens (like input[0])', x);
      if (x.length === 0) fail(`input[${i}]`, `Invalid 'input[${i}]': empty array. Expected an array with minimum length 1, but got an empty array instead.`);
    } else wrongType(`input[${i}]`, 'a string, an integer token or an array of integer tokens', x);
  });
}

/** Validate an embeddings request. */
export function validateEmbeddings(body: unknown): asserts body is Json {
  if (!isObj(body)) wrongType('body', 'a JSON object', body);
  nonEmptyString(required(body, 'model'), 'model');
  checkEmbeddingInput(required(body, 'input'));
  if (body.encoding_format !== undefined) oneOf(body.encoding_format, 'encoding_format', ENCODING_FORMATS);
  optInt(body, 'dimensions', 1, 65536);
  optString(body, 'user');
}
