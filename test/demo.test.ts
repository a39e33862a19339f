/**
 * `costgate demo` on a small workload: every waterfall step is a measured run through the gateway, and each policy
 * visibly does its part (routing sends calls to the small model, prompt caching reads the handbook, the input cap
 * rejects the runaway user, the nightly job is batched, the response cache serves repeats); quality is scored from
 * RouteLLM's outcomes. The full-size numbers are in README ("costgate demo").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runDemo, waterfall, qualityOf, FRONTIER, SMALL } from '../src/demo/run.js';
import { buildWorkload, loadQuestions } from '../src/demo/workload.js';

test('demo workload: deterministic, repeats and rephrasings of earlier questions, a nightly job, a runaway user', () => {
  const a = buildWorkload({ model: FRONTIER, support: 200, nightly: 20, runaway: 2 });
  const b = buildWorkload({ model: FRONTIER, support: 200, nightly: 20, runaway: 2 });
  assert.deepEqual(a, b);
  const kinds = (k: string) => a.filter((r) => r.kind === k).length;
  assert.equal(kinds('nightly'), 20);
  assert.equal(kinds('runaway'), 2);
  assert.ok(kinds('repeat') > 30 && kinds('rephrase') > 10, `${kinds('repeat')} repeats, ${kinds('rephrase')} rephrasings`);
  const firstAsked = new Map<string, number>();
  a.forEach((r, i) => r.kind === 'new' && r.questionId && !firstAsked.has(r.questionId) && firstAsked.set(r.questionId, i));
  for (const [i, r] of a.entries()) if (r.kind === 'repeat' || r.kind === 'rephrase') assert.ok(firstAsked.get(r.questionId!)! < i, 'repeats follow the question they repeat');
  // The runaway user's paste is over the default 32k input cap; support calls share one static system prompt.
  assert.ok(a.find((r) => r.kind === 'runaway')!.body.messages[1]!.content.length > 4 * 32_000);
  assert.equal(new Set(a.filter((r) => r.feature === 'support' && r.kind !== 'runaway').map((r) => r.body.messages[0]!.content)).size, 1);
});

test('demo quality: the frontier model scores GPT-4-1106, the small model Mixtral-8x7B, from the held-out data', () => {
  const qs = loadQuestions();
  assert.ok(qs.filter((q) => q.source === 'mmlu').length >= 300 && qs.filter((q) => q.source === 'mt-bench').length >= 70);
  const mmlu = qs.find((q) => q.source === 'mmlu')!;
  assert.ok([0, 1].includes(qualityOf(mmlu, FRONTIER)!));
  const mt = qs.find((q) => q.source === 'mt-bench')!;
  assert.ok(qualityOf(mt, SMALL)! > 0 && qualityOf(mt, SMALL)! <= 1);
  assert.equal(qualityOf(mmlu, 'some-other-model'), undefined);
});

test('demo: each step measured through the gateway, each policy doing its part', { timeout: 120_000 }, async () => {
  const r = await runDemo({ support: 120, nightly: 10, runaway: 1 });
  assert.equal(r.steps.length, 7);
  const [base, routing, pc, caps, batch, cache, semantic] = r.steps as [any, any, any, any, any, any, any];
  assert.equal(base.weakCalls, 0);
  assert.ok(base.strongCalls >= 120);
  assert.ok(base.costNanos > 0);
  assert.ok(routing.weakCalls > 0 && routing.strongCalls > 0, `${routing.strongCalls}/${routing.weakCalls}`);
  assert.ok(routing.costNanos < base.costNanos);
  assert.equal(base.cacheReadTokens, 0);
  assert.ok(pc.cacheReadTokens > 0);
  assert.ok(pc.costNanos < routing.costNanos);
  assert.equal(pc.rejected, 0);
  assert.equal(caps.rejected, 1);
  assert.equal(batch.deferred, 10);
  assert.equal(cache.cacheHits.exact + cache.cacheHits.dedup > 0, true);
  assert.ok(cache.costNanos < batch.costNanos);
  assert.equal(cache.cacheHits.semantic, 0);
  assert.ok(semantic.cacheHits.semantic > 0, 'rephrased questions are served by the semantic cache');
  assert.ok(semantic.costNanos < cache.costNanos);
  for (const s of r.steps) assert.ok(s.scored > 100 && s.quality > 0.5 && s.quality <= 1, `${s.name}: ${s.quality}`);
  const w = waterfall(r);
  assert.match(w, /^step\s+cost/);
  assert.match(w, /total: \$\d+\.\d{4} → \$\d+\.\d{4}, \d+\.\d% lower cost/);
});

test('costgate demo CLI: prints the waterfall; bad options are refused', { timeout: 120_000 }, () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const ok = spawnSync(process.execPath, ['bin/costgate.js', 'demo', '--support', '40', '--nightly', '4'], { cwd: root, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /costgate demo: \d+ calls per step, 7 steps/);
  assert.match(ok.stdout, /\+ routing \(learned router\)/);
  assert.match(ok.stdout, /total: /);
  const bad = spawnSync(process.execPath, ['bin/costgate.js', 'demo', '--strong-share', '2'], { cwd: root, encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--strong-share: a number from 0 to 1/);
});
