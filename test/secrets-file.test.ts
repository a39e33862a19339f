/** Provider keys from a secrets file: used upstream, never echoed; a loosely permissioned or malformed file is refused without printing its contents. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { createGateway } from '../src/gateway.js';
import { startCapture } from './helpers/capture.js';

const SECRET = 'sk-secretsfile-PLANTED-0123456789';

test('secretsFile: names resolve like env vars (the environment wins), the key goes upstream, and nothing echoes it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-secrets-'));
  const cap = await startCapture();
  try {
    writeFileSync(join(dir, 'secrets.env'), `# provider keys\nexport UP_KEY="${SECRET}"\nOTHER='x y'\n\n`);
    chmodSync(join(dir, 'secrets.env'), 0o600);
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ secretsFile: 'secrets.env', ledger: { store: 'memory' }, providers: { up: { type: 'openai', baseUrl: `${cap.url}/v1`, apiKeyEnv: 'UP_KEY' } }, deployments: [{ name: 'd', provider: 'up', model: 'gpt-4o-mini' }] }));
    const c = loadConfig(join(dir, 'c.json'), {});
    assert.equal(c.providers.get('up')!.apiKey, SECRET);
    assert.equal(loadConfig(join(dir, 'c.json'), { UP_KEY: 'sk-from-env' }).providers.get('up')!.apiKey, 'sk-from-env', 'the real environment wins');
    const gw = await createGateway({ config: c });
    try {
      const res = await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }, headers: {} });
      assert.equal(res.status, 200);
      assert.equal(cap.requests[0]!.headers.authorization, `Bearer ${SECRET}`);
      const rows = await gw.requests();
      assert.ok(!JSON.stringify(rows).includes(SECRET) && !JSON.stringify(res.headers).includes(SECRET) && !String(res.body).includes(SECRET));
    } finally {
      await gw.close();
    }
    chmodSync(join(dir, 'secrets.env'), 0o644);
    assert.throws(() => loadConfig(join(dir, 'c.json'), {}), /secretsFile: .*secrets\.env is readable by group or others \(mode 644\); chmod 600 it/);
    writeFileSync(join(dir, 'secrets.env'), `${SECRET}\n`);
    chmodSync(join(dir, 'secrets.env'), 0o600);
    assert.throws(
      () => loadConfig(join(dir, 'c.json'), {}),
      (e: Error) => /secretsFile: line 1 of .* is not NAME=value/.test(e.message) && !e.message.includes(SECRET),
    );
    rmSync(join(dir, 'secrets.env'));
    assert.throws(() => loadConfig(join(dir, 'c.json'), {}), /secretsFile: cannot read .*: ENOENT/);
  } finally {
    await cap.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
