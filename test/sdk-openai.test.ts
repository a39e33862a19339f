/** The official `openai` SDK, unmodified but for baseURL, against costgate over HTTP → simulator. */
import { before, after } from 'node:test';
import OpenAI from 'openai';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { openaiChecks } from './helpers/openai-checks.js';
import type { Target } from './helpers/anthropic-checks.js';

let t: TestGateway;
let target: Target<OpenAI>;

before(async () => {
  t = await startTestGateway();
  target = { client: new OpenAI({ apiKey: 'sk-test-not-a-real-key', baseURL: `${t.url}/v1`, maxRetries: 0 }), records: t.records };
});
after(() => t.close());

openaiChecks('HTTP', () => target);
