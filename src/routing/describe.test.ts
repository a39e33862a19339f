import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routingLines } from './describe.js';
import { RoutingSchema } from '../config/routing-schema.js';

test('config-check lines: rules in evaluation order, the learned model, budget pressure; unconfigured says so', () => {
  const lines = routingLines(
    RoutingSchema.parse({
      strong: 'big',
      weak: 'small',
      rules: [
        { name: 'late', priority: 1, when: { tools: true }, model: 'a' },
        { name: 'first', priority: 5, when: { images: true, minTokens: 10 }, model: '@strong' },
      ],
      budget: { preferWeakAt: 0.8 },
    }),
  );
  const rules = lines.filter((l) => l.startsWith('routing rule'));
  assert.deepEqual(rules, ['routing rule first (priority 5): minTokens + images → @strong', 'routing rule late (priority 1): tools → a']);
  assert.ok(lines.some((l) => /^routing learned: .*label weak-fails, 65536 buckets/.test(l)), lines.join('\n'));
  assert.ok(lines.includes('routing budget: weak once a hard budget is 80% spent'));
  assert.deepEqual(routingLines(RoutingSchema.parse({})), ['routing: not configured (aliases and fallbacks only)']);
});
