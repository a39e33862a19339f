/** One undici Agent per provider: keep-alive pools per origin, connect timeout, sized by config. */
import { Agent } from 'undici';
import type { ResolvedProvider } from '../config/load.js';

export class Agents {
  private readonly agents = new Map<string, Agent>();

  get(p: ResolvedProvider): Agent {
    let a = this.agents.get(p.name);
    if (!a) {
      a = new Agent({
        connections: p.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        connect: { timeout: p.timeouts.connectMs },
        headersTimeout: p.timeouts.firstByteMs,
        bodyTimeout: p.timeouts.idleMs,
      });
      this.agents.set(p.name, a);
    }
    return a;
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close().catch(() => a.destroy())));
    this.agents.clear();
  }
}
