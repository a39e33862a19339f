/** Child process for the two-process budget test: one gateway on a shared Redis budget store, N calls on "go". */
import { createGateway } from '../../src/gateway.js';

const [prefix, n, url] = [process.env.CG_PREFIX!, Number(process.env.CG_N), process.env.REDIS_URL || 'redis://127.0.0.1:6379'];
const gw = await createGateway({
  env: {},
  config: {
    ledger: { store: 'memory' },
    providers: { sim: { type: 'simulator', simulator: { jitterMs: 30, defaultOutputTokens: 60 } } },
    budgets: [{ name: 'one-dollar', scope: 'global', window: 'day', amount: '1.00' }],
    budgetStore: { kind: 'redis', url, prefix },
  },
});
process.send!({ ready: true });
process.once('message', async () => {
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => gw.handle({ endpoint: 'chat', headers: {}, body: { model: 'gpt-4o', max_tokens: 60, messages: [{ role: 'user', content: `question ${i} ${'x '.repeat(i % 50)}` }] } })),
  );
  const summary = await gw.report({}, []);
  const admitted = results.filter((r) => r.status === 200).length;
  const rejected = results.filter((r) => r.status === 402).length;
  process.send!({ admitted, rejected, settled: summary.total.costNanos.toString() }, () => gw.close().then(() => process.exit(0)));
});
