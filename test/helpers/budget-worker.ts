/** Child process for the two-process budget test: one gateway on a shared Redis budget store, N calls on "go". */
import { createGateway } from '../../src/gateway.js';
import { budgetLoadConfig, budgetLoadCall } from './budget-load.js';

const [prefix, n, url] = [process.env.CG_PREFIX!, Number(process.env.CG_N), process.env.REDIS_URL || 'redis://127.0.0.1:6379'];
const gw = await createGateway({ env: {}, config: budgetLoadConfig({ kind: 'redis', url, prefix }) as never });
process.send!({ ready: true });
process.once('message', async () => {
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => gw.handle(budgetLoadCall(i))),
  );
  const summary = await gw.report({}, []);
  const admitted = results.filter((r) => r.status === 200).length;
  const rejected = results.filter((r) => r.status === 402).length;
  process.send!({ admitted, rejected, settled: summary.total.costNanos.toString() }, () => gw.close().then(() => process.exit(0)));
});
