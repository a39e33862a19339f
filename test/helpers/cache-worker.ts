/** Child process for the shared-cache test: a second gateway on the same Redis cache; answers `{ body }` messages. */
import { createGateway } from '../../src/gateway.js';

const gw = await createGateway({
  env: {},
  config: {
    providers: { sim: { type: 'simulator' } },
    ledger: { store: 'memory' },
    cache: { enabled: true, store: { kind: 'redis', url: process.env.REDIS_URL || 'redis://127.0.0.1:6379', prefix: process.env.CG_PREFIX! } },
  } as never,
});
process.send!({ ready: true });
process.on('message', async (m: { body?: unknown; quit?: boolean }) => {
  if (m.quit) {
    await gw.close();
    process.exit(0);
  }
  const res = await gw.handle({ endpoint: 'chat', body: m.body, headers: {} });
  const [row] = (await gw.requests({ limit: 1 })).rows;
  process.send!({ status: res.status, cache: res.headers['x-costgate-cache'], body: String(res.body), row: { cacheStatus: row?.cacheStatus, costNanos: row?.costNanos, avoidedCostNanos: row?.avoidedCostNanos } });
});
