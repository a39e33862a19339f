/**
 * OpenAI's chat fine-tuning input line (`FineTuneChatRequestInput` in earlier versions of openai-openapi; at the
 * vendored commit only its parts remain as components), rebuilt from spec/openai-subset.json as OpenAI's
 * fine-tuning docs define it: `messages` (system, user, fine-tuning assistant, tool, function messages), optional
 * `tools` and `parallel_tool_calls`. Stricter than the docs on one point: `messages` is required and nothing else
 * may appear on a line.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export function fineTuneLineValidator(): (line: unknown) => string | undefined {
  const spec = JSON.parse(readFileSync(new URL('../../../spec/openai-subset.json', import.meta.url), 'utf8'));
  // strictRequired off: FineTuneChatCompletionRequestAssistantMessage requires `role` beside an allOf that defines it (legal JSON Schema).
  const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat('unixtime', { type: 'number', validate: (x: number) => Number.isInteger(x) && x >= 0 });
  ajv.addFormat('float', { type: 'number', validate: Number.isFinite });
  ajv.addSchema(spec);
  const ref = (n: string) => ({ $ref: `${spec.$id}#/$defs/${n}` });
  const validate = ajv.compile({
    type: 'object',
    additionalProperties: false,
    required: ['messages'],
    properties: {
      messages: {
        type: 'array',
        minItems: 1,
        items: {
          oneOf: [
            ref('ChatCompletionRequestSystemMessage'),
            ref('ChatCompletionRequestUserMessage'),
            ref('FineTuneChatCompletionRequestAssistantMessage'),
            ref('ChatCompletionRequestToolMessage'),
            ref('ChatCompletionRequestFunctionMessage'),
          ],
        },
      },
      tools: { type: 'array', items: ref('ChatCompletionTool') },
      parallel_tool_calls: ref('ParallelToolCalls'),
    },
  });
  return (line) => (validate(line) ? undefined : ajv.errorsText(validate.errors));
}
