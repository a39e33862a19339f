/**
 * Two independent price catalogs must agree on every model the simulator serves: genai-prices (as PriceCatalog
 * resolves it, bundled in @pydantic/genai-prices) and LiteLLM's (data/litellm-prices/prices-subset.json, $ per token).
 * Every rate that differs, or that only one side has, must be listed in KNOWN_DIFFERENCES with the reason; an
 * unexplained difference fails, and so does a listed difference that no longer exists (the table stays true).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { PriceCatalog, litellmPrices } from '../src/pricing/catalog.js';
import { scaledToString, toScaled } from '../src/pricing/decimal.js';
import { rateAt, type ModelRates } from '../src/pricing/rates.js';
import { SIM_MODELS } from '../src/providers/simulator/catalog.js';

type Field = 'input' | 'output' | 'cacheRead' | 'cacheWrite5m' | 'cacheWrite1h';
const FIELDS: Field[] = ['input', 'output', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h'];
/** LiteLLM key for each rate ($ per token); long-context variants append `_above_200k_tokens`. */
const LITELLM_KEY: Record<Field, string> = {
  input: 'input_cost_per_token',
  output: 'output_cost_per_token',
  cacheRead: 'cache_read_input_token_cost',
  cacheWrite5m: 'cache_creation_input_token_cost',
  cacheWrite1h: 'cache_creation_input_token_cost_above_1hr',
};
/** Prices as of this moment (the subset's snapshot is 2026-07-24; genai-prices' 2026-08). */
const AT = new Date('2026-08-01T12:00:00Z');

/**
 * `model` → field → why the catalogs differ, with both sides' $/Mtok ('-' = absent) so a silent price change on
 * either side still fails. `'*'`: LiteLLM's subset lacks the model; `elsewhere` names the full LiteLLM file's entry
 * (`key`), which must still match genai-prices rate for rate. Its rates are read from the full file when
 * ../shared/data/litellm-prices has it (and must equal `perToken`); a clone without it uses `perToken`, recorded
 * from that file ($ per token).
 */
interface Known {
  genai?: string;
  litellm?: string;
  elsewhere?: { key: string; note?: string; perToken: Partial<Record<Field, number>> };
  why: string;
}

const FULL_LITELLM = new URL('../../../shared/data/litellm-prices/model_prices_and_context_window.json', import.meta.url);
let fullLitellm: Record<string, Record<string, unknown>> | null | undefined;

/** The full LiteLLM file (development checkouts have it in ../shared), or null in a clone without it. */
function fullLitellmPrices(): Record<string, Record<string, unknown>> | null {
  if (fullLitellm === undefined) fullLitellm = existsSync(FULL_LITELLM) ? JSON.parse(readFileSync(FULL_LITELLM, 'utf8')) : null;
  return fullLitellm!;
}

/** An `elsewhere` entry's rates: from the full file when present (every rate LiteLLM has for it), else as recorded. */
function elsewhereRates(e: NonNullable<Known['elsewhere']>): Partial<Record<Field, number>> {
  const full = fullLitellmPrices();
  if (!full) return e.perToken;
  const entry = full[e.key];
  assert.ok(entry, `full LiteLLM file has no key ${e.key}`);
  const out: Partial<Record<Field, number>> = {};
  for (const f of FIELDS) if (typeof entry[LITELLM_KEY[f]] === 'number') out[f] = entry[LITELLM_KEY[f]] as number;
  assert.deepEqual(out, e.perToken, `${e.key}: the recorded fallback rates are the full file's`);
  return out;
}
const KNOWN_DIFFERENCES: Record<string, Partial<Record<Field | '*', Known>>> = {
  'mixtral-8x7b-instruct-v0.1': {
    '*': {
      elsewhere: { key: 'mistral/open-mixtral-8x7b', perToken: { input: 7e-7, output: 7e-7 } },
      why: 'LiteLLM lists Mixtral 8x7B (first-party) only under the prefixed key `mistral/open-mixtral-8x7b`, which the subset extractor drops (it keeps no "provider/" keys); the simulator uses the Hugging Face id. genai-prices maps it to mistral/mixtral-8x7b.',
    },
  },
  'gemini-2.0-flash': {
    '*': {
      elsewhere: { key: 'gemini-2.0-flash', note: 'litellm_provider vertex_ai-language-models', perToken: { input: 1e-7, output: 4e-7, cacheRead: 2.5e-8 } },
      why: 'LiteLLM files `gemini-2.0-flash` under litellm_provider "vertex_ai-language-models" (and the Gemini API one as prefixed `gemini/gemini-2.0-flash`), so the subset extractor (providers openai/anthropic/gemini/mistral, unprefixed keys) keeps neither.',
    },
  },
  'claude-3-5-haiku-20241022': {
    '*': {
      elsewhere: { key: 'anthropic.claude-3-5-haiku-20241022-v1:0', note: 'bedrock', perToken: { input: 8e-7, output: 4e-6, cacheRead: 8e-8, cacheWrite5m: 1e-6 } },
      why: 'Retired model: LiteLLM keeps only Bedrock/Vertex entries for it (no first-party `anthropic` key, and no 1h write price). genai-prices maps the dated id to claude-3-5-haiku-latest (1h write $1.60/Mtok = 2 x input, Anthropic\'s documented ratio).',
    },
  },
};

type Cmp = { model: string; field: Field | '*'; genai: string; litellm: string };

const perM = (perToken: number) => toScaled(perToken, 6);
const show = (v: bigint | undefined) => (v === undefined ? '-' : scaledToString(v));

/** Every disagreement between the two catalogs for one model (base rates and the >200k long-context tier). */
function differences(model: string, r: ModelRates, lite: Record<string, number | string> | undefined): Cmp[] {
  if (!lite) return [{ model, field: '*', genai: r.source, litellm: '-' }];
  const out: Cmp[] = [];
  for (const f of FIELDS) {
    const ours = r[f];
    for (const [suffix, inputTokens] of [['', 0], ['_above_200k_tokens', 200_001]] as const) {
      const key = LITELLM_KEY[f] + suffix;
      const theirs = typeof lite[key] === 'number' ? perM(lite[key] as number) : undefined;
      const mine = ours === undefined ? undefined : rateAt(ours, inputTokens);
      // A flat genai rate has no long-context tier; LiteLLM then has no _above_200k key either (checked below).
      if (suffix && theirs === undefined && (ours === undefined || typeof ours === 'bigint')) continue;
      if (suffix && theirs === undefined && mine !== undefined && typeof ours !== 'bigint') {
        out.push({ model, field: f, genai: `>200k ${show(mine)}`, litellm: '-' });
        continue;
      }
      if (mine !== theirs) out.push({ model, field: f, genai: `${suffix ? '>200k ' : ''}${show(mine)}`, litellm: show(theirs) });
    }
  }
  return out;
}

function allDifferences(): Cmp[] {
  const catalog = new PriceCatalog();
  const lite = litellmPrices();
  const out: Cmp[] = [];
  for (const m of SIM_MODELS) {
    const r = catalog.rates(m.id, 'simulator', AT); // the provider type the simulator's traffic is priced with
    assert.ok(r, `genai-prices has no price for simulator model ${m.id}`);
    out.push(...differences(m.id, r, lite[m.id]));
  }
  return out;
}

test('LiteLLM subset is loaded (the cross-check is not vacuous)', () => {
  const lite = litellmPrices();
  assert.ok(Object.keys(lite).length > 100);
  const known = SIM_MODELS.filter((m) => lite[m.id]);
  assert.ok(known.length >= 12, `only ${known.length} simulator models in the LiteLLM subset`);
});

test('genai-prices and LiteLLM agree on every simulator model, or the difference is explained', (t) => {
  const catalog = new PriceCatalog();
  t.diagnostic(fullLitellmPrices()
    ? 'models missing from the subset: rates read from the full LiteLLM file (../shared/data/litellm-prices)'
    : '../shared/data/litellm-prices not present: models missing from the subset use the rates recorded in KNOWN_DIFFERENCES');
  const unexplained: string[] = [];
  for (const d of allDifferences()) {
    const known = KNOWN_DIFFERENCES[d.model]?.[d.field];
    if (!known) unexplained.push(`${d.model} ${d.field}: genai-prices ${d.genai} vs LiteLLM ${d.litellm} ($/Mtok)`);
    else if (d.field === '*') {
      const r = catalog.rates(d.model, 'simulator', AT)!;
      const e = known.elsewhere!;
      for (const [f, perToken] of Object.entries(elsewhereRates(e))) {
        assert.equal(show(rateAt(r[f as Field]!, 0)), show(perM(perToken)), `${d.model} ${f}: genai-prices vs LiteLLM ${e.key}${e.note ? ` (${e.note})` : ''}`);
      }
    } else {
      assert.equal(d.genai, known.genai, `${d.model} ${d.field}: genai-prices changed since the difference was explained`);
      assert.equal(d.litellm, known.litellm, `${d.model} ${d.field}: LiteLLM changed since the difference was explained`);
    }
  }
  assert.deepEqual(unexplained, [], 'unexplained catalog differences');
});

test('KNOWN_DIFFERENCES has no stale entries', () => {
  const seen = new Set(allDifferences().map((d) => `${d.model}:${d.field}`));
  for (const [model, fields] of Object.entries(KNOWN_DIFFERENCES)) {
    assert.ok(SIM_MODELS.some((m) => m.id === model), `${model} is not a simulator model`);
    for (const [field, d] of Object.entries(fields)) {
      assert.ok(d!.why.length > 40, `${model} ${field}: say why`);
      assert.ok(seen.has(`${model}:${field}`), `${model} ${field} no longer differs: remove it from KNOWN_DIFFERENCES`);
    }
  }
});

test('catalog mappings the cross-check relies on', () => {
  const catalog = new PriceCatalog();
  // gpt-4-1106-preview is priced as genai-prices' gpt-4-turbo; LiteLLM lists the preview id itself at the same $10/$30.
  assert.equal(catalog.rates('gpt-4-1106-preview', 'openai', AT)?.source, 'genai-prices:openai/gpt-4-turbo');
  assert.equal(litellmPrices()['gpt-4-1106-preview']?.input_cost_per_token, 0.00001);
  // Batch rates come from LiteLLM where it has them (gpt-4o-mini: $0.075/$0.30 per Mtok), else 50 % of list.
  const mini = catalog.rates('gpt-4o-mini', 'openai', AT)!;
  assert.equal(show(mini.batchInput as bigint), '0.075');
  assert.equal(show(mini.batchOutput as bigint), '0.3');
  const haiku = catalog.rates('claude-haiku-4-5', 'anthropic', AT)!;
  assert.equal(litellmPrices()['claude-haiku-4-5']?.input_cost_per_token_batches, undefined);
  assert.equal(show(haiku.batchInput as bigint), '0.5');
  assert.equal(show(haiku.batchOutput as bigint), '2.5');
  // Non-OpenAI/Anthropic models with no LiteLLM batch rate get no batch discount (unknown, so list price).
  assert.equal(catalog.rates('gemini-2.0-flash', 'openai', AT)?.batchInput, undefined);
});
