// Extracts the OpenAI schemas costgate's tests validate against from OpenAI's published OpenAPI document into
// spec/openai-subset.json (plain JSON Schema 2020-12), and writes spec/SOURCE.md and spec/LICENSE beside it.
//
// Why a subset: the full document is ~3 MB of YAML and a clone of this repo must run the spec tests without it.
// Why normalise: the document is OpenAPI 3.1 but still uses OpenAPI 3.0's `nullable`, plus `discriminator` and
// `x-*` vendor keys that a strict JSON-Schema validator rejects; rewriting them here keeps the tests' validator
// strict (a typo in a schema keyword fails loudly) instead of switching strictness off.
//
// Usage: node scripts/extract-openai-spec.mjs [path/to/openapi.yaml]
// Default input: ../shared/specs/openai/openapi.yaml (beside the repo), with its SOURCE.md and LICENSE.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const input = resolve(process.argv[2] ?? join(ROOT, '..', 'shared', 'specs', 'openai', 'openapi.yaml'));
const OUT_DIR = join(ROOT, 'spec');

/** The schemas the tests name; everything they reference is pulled in transitively. */
const ROOTS = [
  'CreateChatCompletionRequest',
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'CreateEmbeddingRequest',
  'CreateEmbeddingResponse',
  'ListModelsResponse',
  'ErrorResponse',
  // The assistant message of the fine-tuning chat input (`costgate export finetune`; FineTuneChatRequestInput itself
  // is no longer a component of this document, the test rebuilds it from its parts).
  'FineTuneChatCompletionRequestAssistantMessage',
];
const ID = 'urn:costgate:openai-subset';
const PREFIX = '#/components/schemas/';

if (!existsSync(input)) {
  console.error(`extract-openai-spec: ${input} not found.\n` + 'Pass the path of openapi.yaml from https://github.com/openai/openai-openapi (see spec/SOURCE.md for the commit).');
  process.exit(1);
}

const rawYaml = readFileSync(input);
const doc = YAML.parse(rawYaml.toString('utf8'), { maxAliasCount: -1 });
const all = doc.components.schemas;

/** Names of every schema reachable from ROOTS. */
function collect() {
  const seen = new Set();
  const visit = (node) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref') {
        if (!v.startsWith(PREFIX)) throw new Error(`unsupported $ref ${v}`);
        const name = v.slice(PREFIX.length);
        if (!all[name]) throw new Error(`dangling $ref ${v}`);
        if (!seen.has(name)) {
          seen.add(name);
          visit(all[name]);
        }
      } else visit(v);
    }
  };
  for (const r of ROOTS) {
    seen.add(r);
    visit(all[r]);
  }
  return [...seen].sort();
}

/** Keywords that carry no validation meaning in JSON Schema 2020-12 and that a strict validator rejects. */
const DROP = new Set(['discriminator', 'example', 'nullable']);

/**
 * One schema node → JSON Schema 2020-12. `nullable: true` becomes `type: [t, "null"]` (plus `null` in an enum) when
 * the node has a single type, else an `anyOf` with `{type: "null"}` around the node's other keywords.
 */
function normalise(node, inProperties = false) {
  if (Array.isArray(node)) return node.map((n) => normalise(n));
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    // Property names are data, not keywords: a property called `example` must survive.
    if (!inProperties && (DROP.has(k) || k.startsWith('x-'))) continue;
    if (!inProperties && k === '$ref') out.$ref = `#/$defs/${v.slice(PREFIX.length)}`;
    else out[k] = normalise(v, !inProperties && (k === 'properties' || k === '$defs' || k === 'patternProperties'));
  }
  if (inProperties || node.nullable !== true) return out;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  const annotations = {};
  for (const k of ['description', 'title', 'default', 'deprecated']) {
    if (k in out) {
      annotations[k] = out[k];
      delete out[k];
    }
  }
  return { ...annotations, anyOf: [out, { type: 'null' }] };
}

const names = collect();
const defs = Object.fromEntries(names.map((n) => [n, normalise(all[n])]));

const upstreamSource = join(dirname(input), 'SOURCE.md');
const meta = existsSync(upstreamSource) ? readFileSync(upstreamSource, 'utf8') : '';
const commit = /Commit:\s*([0-9a-f]{40})(?:\s*\(([^)]+)\))?/.exec(meta);
const sha256 = createHash('sha256').update(rawYaml).digest('hex');

const subset = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: ID,
  $comment:
    `Subset of OpenAI's OpenAPI document (openai/openai-openapi${commit ? ` @ ${commit[1]}` : ''}, MIT, see LICENSE), ` +
    'extracted and normalised to JSON Schema 2020-12 by scripts/extract-openai-spec.mjs. Do not edit by hand.',
  $defs: defs,
};

mkdirSync(OUT_DIR, { recursive: true });
writeFileSync(join(OUT_DIR, 'openai-subset.json'), JSON.stringify(subset, null, 2) + '\n');
const license = join(dirname(input), 'LICENSE');
// Written, not copied: the source may be read-only and the copy must stay editable by the next refresh.
if (existsSync(license)) writeFileSync(join(OUT_DIR, 'LICENSE'), readFileSync(license));

const source = `# spec/: OpenAI API schemas used by costgate's tests

- Origin: OpenAI's published OpenAPI description, https://github.com/openai/openai-openapi, file \`openapi.yaml\`
- Commit: ${commit ? `${commit[1]}${commit[2] ? ` (${commit[2]})` : ''}` : 'unknown (no SOURCE.md beside the input)'}
- Input sha256: \`${sha256}\` (${rawYaml.length} bytes)
- Licence: MIT, Copyright (c) OpenAI; the licence text is in [LICENSE](LICENSE) beside this file. costgate's own
  licence does not apply to \`openai-subset.json\`.

## What is here

\`openai-subset.json\` is a JSON Schema 2020-12 document whose \`$defs\` hold ${names.length} schemas: the roots

${ROOTS.map((r) => `- \`${r}\``).join('\n')}

and every schema they reference, with \`$ref\`s rewritten from \`#/components/schemas/X\` to \`#/$defs/X\`. Tests
address a schema as \`${ID}#/$defs/<Name>\`.

Used by \`test/spec-fidelity.test.ts\` (responses, streaming chunks, errors, validator enums),
\`src/surface/openai.test.ts\` (what the request validators accept and reject) and
\`src/simulate/finetune.test.ts\` (the fine-tuning JSONL export, against the chat fine-tuning input built from
\`ChatCompletionRequest{System,User,Tool,Function}Message\`, \`FineTuneChatCompletionRequestAssistantMessage\`,
\`ChatCompletionTool\` and \`ParallelToolCalls\`, as OpenAI's fine-tuning docs define it).

## How it was extracted

\`node scripts/extract-openai-spec.mjs [openapi.yaml]\` (default input \`../shared/specs/openai/openapi.yaml\`). It
copies the schemas unchanged except for three normalisations, so a strict validator (Ajv 2020, strict mode) accepts
them:

1. \`nullable: true\` (OpenAPI 3.0, still used in this 3.1 document) becomes \`type: [T, "null"]\` (with \`null\`
   added to an \`enum\`), or \`anyOf: [<node>, {type: "null"}]\` when the node has no single type.
2. \`discriminator\` is dropped: it is a hint for code generators; the \`oneOf\` it annotates still decides validity.
3. \`example\` and vendor \`x-*\` keys (\`x-oaiMeta\`, \`x-stainless-const\`, ...) are dropped.

Formats the document uses that are not JSON Schema formats (\`unixtime\`, \`float\`) are registered by the test.

## Where the spec and the wire differ (handled in the tests, not patched here)

- \`CreateEmbeddingResponse\` types \`embedding\` as numbers only; with \`encoding_format: "base64"\` it is a base64
  string of little-endian float32s. The test validates that case against a copy with \`embedding\` as a string.
- \`CreateChatCompletionRequest\` reaches \`top_logprobs\` through an \`allOf\` that intersects a nullable and a
  non-nullable definition, so \`top_logprobs: null\` fails the schema though the API accepts it.

To refresh: run the script against a newer \`openapi.yaml\`, then \`npm test\` (the spec-fidelity test fails on any
drift between the spec's enums and costgate's validators).
`;
writeFileSync(join(OUT_DIR, 'SOURCE.md'), source);
console.log(`extract-openai-spec: ${names.length} schemas → spec/openai-subset.json (input sha256 ${sha256.slice(0, 12)}…)`);
