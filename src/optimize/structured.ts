/**
 * Structured output without retry loops: when a request asked for `response_format: json_schema` (OpenAI surface), or
 * forces a tool with `tool_choice` (Anthropic surface), and the answer does not validate (non-strict OpenAI schemas and
 * forced Anthropic tools are not enforced; with `native: false` an Anthropic deployment gets the schema as an
 * instruction only), costgate makes at most ONE cheap repair call: only the bad output
 * and the schema, to the cheapest configured model, never the whole prompt again. A valid repair replaces the answer's
 * content; otherwise the original answer goes back unchanged.
 */
import { createRequire } from 'node:module';
import type { Json } from '../providers/adapter.js';

const require = createRequire(import.meta.url);
type Validate = ((x: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };
let ajv: { compile(s: unknown): Validate } | undefined;
const compiled = new Map<string, Validate>();

/** A validator for a JSON Schema (compiled once per schema text); undefined when the schema itself is invalid. */
export function validatorFor(schema: Json): Validate | undefined {
  const k = JSON.stringify(schema);
  if (compiled.has(k)) return compiled.get(k);
  if (!ajv) {
    const Ajv = require('ajv').default ?? require('ajv');
    ajv = new Ajv({ strict: false, allErrors: false }) as { compile(s: unknown): Validate };
  }
  let v: Validate | undefined;
  try {
    v = ajv.compile(schema);
  } catch {
    v = undefined;
  }
  if (compiled.size > 1000) compiled.clear();
  compiled.set(k, v!);
  return v;
}

/** Parses and validates an answer: undefined when valid, else the reason. */
export function invalidReason(content: string, schema: Json): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return 'not JSON';
  }
  const v = validatorFor(schema);
  if (!v) return undefined; // an uncompilable schema cannot be checked: never "repair" against it
  if (v(value)) return undefined;
  const e = v.errors?.[0];
  return `${e?.instancePath || '/'} ${e?.message ?? 'invalid'}`;
}

export function schemaOf(body: Json): Json | undefined {
  const rf = body.response_format;
  return rf?.type === 'json_schema' && rf.json_schema?.schema && typeof rf.json_schema.schema === 'object' ? rf.json_schema.schema : undefined;
}

/**
 * Anthropic Messages: the schema of the tool `tool_choice` forces (`{type: "tool", name}`), a client-defined tool with
 * an `input_schema`. Anthropic calls a forced tool, but checks its input against the schema only for `strict` tools.
 */
export function forcedToolOf(body: Json): { name: string; schema: Json } | undefined {
  const tc = body.tool_choice;
  if (tc?.type !== 'tool' || typeof tc.name !== 'string' || !Array.isArray(body.tools)) return undefined;
  const t = body.tools.find((x: Json) => x?.name === tc.name && (x.type === undefined || x.type === 'custom'));
  return t && t.input_schema && typeof t.input_schema === 'object' ? { name: tc.name, schema: t.input_schema } : undefined;
}

export function repairPrompt(bad: string, schema: Json, reason: string, maxTokens: number): Json {
  return {
    messages: [
      { role: 'system', content: 'Fix the JSON below so that it validates against the JSON Schema. Keep its data; change only what the schema requires. Reply with the JSON only.' },
      { role: 'user', content: `Schema:\n${JSON.stringify(schema)}\n\nProblem: ${reason}\n\nJSON:\n${bad}` },
    ],
    max_tokens: maxTokens,
  };
}

/** Strips a Markdown code fence around an answer (a frequent, harmless deviation). */
export const unfence = (s: string): string => s.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/i, '$1');
