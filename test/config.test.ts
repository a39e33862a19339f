/** Config: one zod schema; a bad config fails at start with a message naming the field; keys come from env only. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseConfig, resolveConfig, loadConfig, ConfigError } from '../src/config/load.js';
import { createResolver } from '../src/routing/resolve.js';

const bad = (raw: unknown, field: RegExp) => {
  assert.throws(() => resolveConfig(parseConfig(raw, 'test.yaml'), {}, 'test.yaml'), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match((e as Error).message, field);
    return true;
  });
};

test('unknown keys are errors naming the path', () => {
  bad({ servr: {} }, /\(root\): unknown key\(s\) "servr"/);
  bad({ server: { prot: 1 } }, /server: unknown key\(s\) "prot"/);
  bad({ providers: { p: { type: 'openai', apikey: 'x' } } }, /providers\.p: unknown key\(s\) "apikey"/);
});

test('wrong types and values name the field', () => {
  bad({ server: { port: 'eighty' } }, /server\.port:/);
  bad({ server: { port: 70000 } }, /server\.port:/);
  bad({ providers: { p: { type: 'openia' } } }, /providers\.p\.type:/);
  bad({ providers: { p: { type: 'openai', baseUrl: 'ftp://x' } } }, /providers\.p\.baseUrl:/);
  bad({ providers: { p: { type: 'openai', apiKeyEnv: 'not a var' } } }, /providers\.p\.apiKeyEnv: must be an environment variable name/);
  bad({ retries: { attempts: 0 } }, /retries\.attempts:/);
  bad({ ledger: { store: 'mysql' } }, /ledger\.store:/);
  bad({ pricing: { models: { m: { input: 1 } } } }, /pricing\.models\.m: give input and output/);
  bad({ pricing: { models: { m: { input: -1, output: 1 } } } }, /pricing\.models\.m\.input:/);
});

test('cross-references are checked at resolve time', () => {
  bad({ providers: { p: { type: 'openai-compatible' } } }, /providers\.p\.baseUrl: required for type openai-compatible/);
  bad({ providers: { p: { type: 'openai', apiKeyEnv: 'COSTGATE_TEST_UNSET_KEY' } } }, /providers\.p\.apiKeyEnv: environment variable COSTGATE_TEST_UNSET_KEY is not set/);
  bad({ providers: { sim: { type: 'simulator' } }, deployments: [{ provider: 'nope', model: 'm' }] }, /deployments\.0\.provider: no provider named "nope"/);
  bad({ providers: { sim: { type: 'simulator' } }, models: { fast: { deployments: ['ghost'] } } }, /models\.fast\.deployments\.0: no deployment or provider\/model named "ghost"/);
  bad({ ledger: { store: 'postgres', url: 'env:COSTGATE_TEST_NO_DB' } }, /ledger\.url:/);
});

test('no config and no keys: the simulator serves everything', () => {
  const c = loadConfig(undefined, {});
  assert.deepEqual([...c.providers.values()].map((p) => p.type), ['simulator']);
  const r = createResolver(c)('gpt-4o-mini');
  assert.equal(r.deployments[0]!.provider.type, 'simulator');
});

test('provider keys in the environment select real providers, and keys are read from env only', () => {
  const c = loadConfig(undefined, { OPENAI_API_KEY: 'sk-env-1', ANTHROPIC_API_KEY: 'ak-env-2' });
  assert.deepEqual([...c.providers.keys()], ['openai', 'anthropic']);
  assert.equal(c.providers.get('openai')!.apiKey, 'sk-env-1');
  const resolve = createResolver(c);
  assert.equal(resolve('gpt-4o').deployments[0]!.provider.name, 'openai');
  assert.equal(resolve('claude-sonnet-4-5').deployments[0]!.provider.name, 'anthropic');
  assert.equal(resolve('mystery-model').deployments.length, 0);
});

test('aliases resolve to ordered deployments (primary then fallbacks); provider/model names work', () => {
  const c = resolveConfig(
    parseConfig({
      providers: { a: { type: 'simulator' }, b: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1' } },
      deployments: [{ name: 'a-mini', provider: 'a', model: 'gpt-4o-mini' }],
      models: { fast: { deployments: ['a-mini', 'b/llama-3'], baseline: 'gpt-4o' } },
    }),
    {},
  );
  const resolve = createResolver(c);
  assert.deepEqual(resolve('fast').deployments.map((d) => `${d.provider.name}:${d.model}`), ['a:gpt-4o-mini', 'b:llama-3']);
  assert.equal(resolve('b/anything').deployments[0]!.model, 'anything');
  assert.equal(c.baselines.get('fast'), 'gpt-4o');
});

test('YAML and JSON files; a file error names the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-config-'));
  const y = join(dir, 'c.yaml');
  writeFileSync(y, 'server:\n  port: 9999\nproviders:\n  sim:\n    type: simulator\n');
  assert.equal(loadConfig(y, {}).server.port, 9999);
  const j = join(dir, 'c.json');
  writeFileSync(j, JSON.stringify({ server: { port: 'x' } }));
  assert.throws(() => loadConfig(j, {}), /c\.json[\s\S]*server\.port/);
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'server: [unclosed');
  assert.throws(() => loadConfig(broken, {}), /not valid YAML/);
  assert.throws(() => loadConfig(join(dir, 'missing.yaml'), {}), /cannot read config file/);
});

test('`costgate start` with a bad config exits 1 and names the field, without starting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-config-'));
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'providers:\n  p:\n    type: openai\n    baseUrl: not-a-url\n');
  const r = spawnSync(process.execPath, ['bin/costgate.js', 'start', '--config', f], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /providers\.p\.baseUrl/);
  assert.doesNotMatch(r.stdout, /listening/);
});
