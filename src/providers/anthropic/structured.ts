/**
 * Anthropic's native structured output for OpenAI-surface `response_format: {type: "json_schema"}` requests: the
 * Messages API has no response_format, but a tool whose `input_schema` is the schema, forced with
 * `tool_choice: {type: "tool", name}`, makes the model answer with exactly one `tool_use` whose `input` is the JSON.
 * On the way back that `tool_use` becomes the answer's text (`JSON.stringify(input)`) and `stop_reason: tool_use`
 * becomes `end_turn`, so the OpenAI client sees `message.content` = the JSON and `finish_reason: "stop"`.
 *
 * Not applied (dispatch then translates as before: the schema as a system instruction) when the request has tools of
 * its own (forcing ours would stop the model from calling them) or extended thinking (Anthropic does not allow a
 * forced tool_choice with thinking). `input_schema` must be an object schema: any other schema is wrapped as the
 * `value` property of one (its `$defs` / `definitions` moved to the wrapper's root, so `#/$defs/…` refs still
 * resolve) and unwrapped again on the way back.
 */
import type { Json, StructuredHook } from '../adapter.js';

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
export const DEFAULT_TOOL = 'json_answer';

export interface ForcedToolState extends Json {
  tool: string;
  wrapped: boolean;
}

/** The Anthropic body with the schema as a forced tool; undefined when the request cannot use one. */
export function forceSchemaTool(body: Json, rf: Json): { body: Json; state: ForcedToolState } | undefined {
  const js = rf?.type === 'json_schema' ? rf.json_schema : undefined;
  const schema = js?.schema;
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  if ((Array.isArray(body.tools) && body.tools.length) || body.thinking !== undefined) return undefined;
  const tool = typeof js.name === 'string' && TOOL_NAME.test(js.name) ? js.name : DEFAULT_TOOL;
  const wrapped = schema.type !== 'object';
  let input_schema: Json = schema;
  if (wrapped) {
    const { $defs, definitions, ...inner } = schema as Json;
    input_schema = { type: 'object', properties: { value: inner }, required: ['value'], additionalProperties: false };
    if ($defs !== undefined) input_schema.$defs = $defs;
    if (definitions !== undefined) input_schema.definitions = definitions;
  }
  const description = typeof js.description === 'string' && js.description ? js.description : 'Give your answer as the input of this tool.';
  return {
    body: { ...body, tools: [{ name: tool, description, input_schema }], tool_choice: { type: 'tool', name: tool } },
    state: { tool, wrapped },
  };
}

const valueOf = (input: unknown, wrapped: boolean): unknown => (wrapped && input && typeof input === 'object' && 'value' in input ? (input as Json).value : input);

/** A Messages response to a forced-tool request → the same message with the tool's input as its only text block. */
export function forcedToolAnswer(msg: Json, state: ForcedToolState): Json {
  const blocks: Json[] = Array.isArray(msg.content) ? msg.content : [];
  const use = blocks.find((b) => b?.type === 'tool_use' && b.name === state.tool);
  if (!use) return msg;
  return { ...msg, content: [{ type: 'text', text: JSON.stringify(valueOf(use.input ?? {}, state.wrapped)) }], stop_reason: msg.stop_reason === 'tool_use' ? 'end_turn' : msg.stop_reason };
}

/**
 * The same for a stream: the tool_use block is relayed as a text block whose deltas are the `input_json_delta`
 * fragments (a wrapped schema's JSON is held until the block ends, then sent unwrapped in one delta); other text
 * blocks are dropped (the answer is the JSON only), and `stop_reason: tool_use` becomes `end_turn`.
 */
export function forcedToolStream(state: ForcedToolState): (type: string, data: Json) => { type: string; data: Json }[] {
  let index: number | undefined;
  let held = '';
  const dropped = new Set<number>();
  return (type, data) => {
    if (type === 'content_block_start') {
      const b = data.content_block ?? {};
      if (index === undefined && b.type === 'tool_use' && b.name === state.tool) {
        index = data.index;
        return [{ type, data: { ...data, content_block: { type: 'text', text: '' } } }];
      }
      if (b.type === 'text') {
        dropped.add(data.index);
        return [];
      }
    } else if (type === 'content_block_delta' || type === 'content_block_stop') {
      if (dropped.has(data.index)) return [];
      if (data.index === index) {
        if (type === 'content_block_stop') {
          if (!state.wrapped) return [{ type, data }];
          let text = held;
          try {
            text = JSON.stringify(valueOf(JSON.parse(held || '{}'), true));
          } catch {
            /* not JSON: relayed as it came, the structured check judges it */
          }
          return [{ type: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text } } }, { type, data }];
        }
        const d = data.delta ?? {};
        if (d.type !== 'input_json_delta') return [{ type, data }];
        const part = typeof d.partial_json === 'string' ? d.partial_json : '';
        if (state.wrapped) {
          held += part;
          return [];
        }
        return part ? [{ type, data: { ...data, delta: { type: 'text_delta', text: part } } }] : [];
      }
    } else if (type === 'message_delta' && index !== undefined && data.delta?.stop_reason === 'tool_use') {
      return [{ type, data: { ...data, delta: { ...data.delta, stop_reason: 'end_turn' } } }];
    }
    return [{ type, data }];
  };
}

export const anthropicStructured: StructuredHook = {
  request(body, rf, wire) {
    if (wire !== 'anthropic') return undefined;
    const r = forceSchemaTool(body, rf);
    return r && { body: r.body, mode: 'tool', state: r.state };
  },
  response: (json, state) => forcedToolAnswer(json, state as ForcedToolState),
  stream: (state) => forcedToolStream(state as ForcedToolState),
};
