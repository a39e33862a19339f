// Drives a small mixed workload through an in-process gateway (simulator provider, SQLite ledger in a temp dir),
// then prints the reports. Used to produce the README's report examples from a real run:
//   npm run build && node scripts/demo-traffic.mjs [requests=600]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { createGateway, wrapOpenAI } from '../dist/src/index.js';
import { runReport } from '../dist/src/cli/report.js';

const N = Number(process.argv[2] ?? 600);
const dir = mkdtempSync(join(tmpdir(), 'costgate-demo-'));
const config = {
  providers: { sim: { type: 'simulator', simulator: { defaultOutputTokens: 120 } } },
  models: { 'support-default': { deployments: ['sim/gpt-4o-mini'], baseline: 'gpt-4o' } },
  ledger: { store: 'sqlite', path: join(dir, 'ledger.db') },
};
const gw = await createGateway({ config, env: {} });
const openai = wrapOpenAI(new OpenAI({ apiKey: 'x', maxRetries: 0 }), gw);
const anthropic = new Anthropic({ apiKey: 'x', baseURL: 'http://costgate.local', fetch: gw.fetch, maxRetries: 0 });
const policy = 'You are the support assistant for Acme. Follow the refund policy. '.repeat(120);
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const user = () => `u${1 + Math.floor(20 * rand() ** 2.5)}`;

const jobs = {
  'support-bot': (h) => openai.chat.completions.create({ model: 'support-default', max_tokens: 150, messages: [{ role: 'system', content: policy }, { role: 'user', content: `Where is my order #${Math.floor(rand() * 1e6)}?` }] }, { headers: h }),
  search: async (h) => {
    await openai.embeddings.create({ model: 'text-embedding-3-small', input: `query ${rand()}` }, { headers: h });
    return openai.chat.completions.create({ model: 'gpt-4o', max_tokens: 200, stream: true, messages: [{ role: 'user', content: `Answer with sources: ${rand()}` }] }, { headers: h }).then(async (s) => { for await (const _ of s); });
  },
  summarizer: (h) => anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 300, system: [{ type: 'text', text: policy, cache_control: { type: 'ephemeral' } }], messages: [{ role: 'user', content: `Summarize ticket ${Math.floor(rand() * 1e5)}` }] }, { headers: h }),
  'code-review': (h) => anthropic.messages.create({ model: 'claude-opus-4-1', max_tokens: 400, messages: [{ role: 'user', content: `Review this diff: ${'+ line\n'.repeat(200)}` }] }, { headers: h }),
  classifier: (h) => openai.chat.completions.create({ model: 'gpt-4.1-nano', max_tokens: 5, messages: [{ role: 'user', content: `Classify: ${rand()}` }] }, { headers: h }),
};
const weights = [['support-bot', 0.45], ['search', 0.2], ['summarizer', 0.15], ['code-review', 0.05], ['classifier', 0.15]];
const pick = () => { let r = rand(); for (const [k, w] of weights) { if ((r -= w) < 0) return k; } return 'support-bot'; };
let done = 0;
const worker = async () => {
  while (done < N) {
    done++;
    const feature = pick();
    const team = feature === 'code-review' ? 'platform' : feature === 'search' ? 'search' : 'support';
    await jobs[feature]({ 'x-costgate-feature': feature, 'x-costgate-user': user(), 'x-costgate-team': team }).catch((e) => console.error(feature, e.message));
  }
};
await Promise.all(Array.from({ length: 8 }, worker));
await gw.close();
const cfgFile = join(dir, 'costgate.json');
(await import('node:fs')).writeFileSync(cfgFile, JSON.stringify({ ledger: config.ledger }));
console.log(`$ costgate report --since 1d --by feature,model`);
await runReport('summary', { config: cfgFile, since: '1d', by: 'feature,model' });
console.log(`\n$ costgate report pareto --since 1d --by user`);
await runReport('pareto', { config: cfgFile, since: '1d', by: 'user' });
console.log(`\n$ costgate report monthly`);
await runReport('monthly', { config: cfgFile });
for (const [flags, o] of [['', {}], [' --csv', { csv: true }], [' --json', { json: true }]]) {
  console.log(`\n$ costgate report --since 7d --by feature,model,day${flags}`);
  await runReport('summary', { config: cfgFile, since: '7d', by: 'feature,model,day', ...o });
}
