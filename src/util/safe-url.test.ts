/** SSRF guard (src/util/safe-url.ts): address classes, host spellings, DNS pinning and redirects. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blockedReason, classifyAddress, parseSafeUrl, resolveSafeUrl, safeFetch, UnsafeUrlError } from './safe-url.js';

const refused = (url: string, reason: UnsafeUrlError['reason'], o = {}) =>
  assert.throws(() => parseSafeUrl(url, o), (e: unknown) => e instanceof UnsafeUrlError && e.reason === reason, url);

test('address classes: IPv4', () => {
  const cases: [string, string][] = [
    ['8.8.8.8', 'public'], ['1.1.1.1', 'public'], ['172.32.0.1', 'public'], ['100.128.0.1', 'public'], ['192.169.0.1', 'public'],
    ['127.0.0.1', 'loopback'], ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['169.254.169.254', 'blocked'], ['169.254.0.1', 'blocked'], ['100.100.100.200', 'blocked'], ['100.64.0.1', 'blocked'],
    ['0.0.0.0', 'blocked'], ['0.1.2.3', 'blocked'], ['192.0.0.192', 'blocked'], ['192.0.2.1', 'blocked'], ['198.18.0.1', 'blocked'],
    ['198.51.100.7', 'blocked'], ['203.0.113.9', 'blocked'], ['224.0.0.1', 'blocked'], ['239.255.255.250', 'blocked'], ['255.255.255.255', 'blocked'], ['240.0.0.1', 'blocked'],
  ];
  for (const [ip, kind] of cases) assert.equal(classifyAddress(ip), kind, ip);
});

test('address classes: IPv6, including IPv4 inside IPv6', () => {
  const cases: [string, string][] = [
    ['2606:4700:4700::1111', 'public'], ['2a00:1450:4001:80b::200e', 'public'],
    ['::1', 'loopback'], ['0:0:0:0:0:0:0:1', 'loopback'], ['::', 'blocked'],
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['::ffff:10.0.0.1', 'private'], ['::ffff:169.254.169.254', 'blocked'], ['::ffff:a9fe:a9fe', 'blocked'], ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'blocked'], ['::a9fe:a9fe', 'blocked'],
    ['64:ff9b::a9fe:a9fe', 'blocked'], ['64:ff9b::8.8.8.8', 'blocked'],
    ['2002:a9fe:a9fe::', 'blocked'], ['2002:7f00:1::1', 'blocked'], ['2002:0808:0808::1', 'public'],
    ['fc00::1', 'private'], ['fd12:3456::1', 'private'], ['fd00:ec2::254', 'blocked'],
    ['fe80::1', 'blocked'], ['fe80::1%eth0', 'blocked'], ['febf::1', 'blocked'], ['fec0::1', 'blocked'], ['ff02::1', 'blocked'],
    ['2001:db8::1', 'blocked'], ['2001:0:4136:e378::1', 'blocked'], ['100::1', 'blocked'],
  ];
  for (const [ip, kind] of cases) assert.equal(classifyAddress(ip), kind, ip);
  assert.equal(classifyAddress('example.com'), undefined);
  assert.equal(classifyAddress('1.2.3'), undefined);
});

test('host spellings: decimal, octal, hex, short forms and brackets all normalise and are refused', () => {
  for (const u of [
    'https://2130706433/', 'https://0x7f000001/', 'https://0177.0.0.1/', 'https://0x7f.1/', 'https://127.1/', 'https://017700000001/',
    'https://2852039166/', 'https://0xa9.0xfe.0xa9.0xfe/', 'https://0251.0376.0251.0376/', 'https://169.254.43518/',
    'https://[::ffff:127.0.0.1]/', 'https://[::ffff:169.254.169.254]/', 'https://[0:0:0:0:0:ffff:a9fe:a9fe]/', 'https://[fd00:ec2::254]/latest/meta-data',
    'https://10.1/', 'https://0/', 'https://0.0.0.0/', 'https://[::]/', 'https://[fe80::1]/', 'https://localhost/', 'https://api.localhost./', 'https://LOCALHOST:8443/x',
    'https://%31%32%37.0.0.1/',
  ]) refused(u, 'blocked_address');
});

test('schemes and credentials: https only; http only to loopback with allowLoopback; no userinfo', () => {
  refused('http://example.com/hook', 'scheme');
  refused('http://127.0.0.1:9/hook', 'scheme');
  refused('ftp://example.com/', 'scheme');
  refused('file:///etc/passwd', 'scheme');
  refused('gopher://127.0.0.1:6379/_INFO', 'scheme', { allowLoopback: true });
  refused('http://example.com/', 'scheme', { allowLoopback: true });
  refused('http://10.0.0.1/', 'scheme', { allowLoopback: true, allowPrivate: true });
  refused('https://user:pw@example.com/', 'credentials');
  refused('https://evil.com@169.254.169.254/', 'credentials');
  refused('not a url', 'invalid');
  refused('/relative/path', 'invalid');
  assert.equal(parseSafeUrl('https://hooks.example.com/a?b=1').hostname, 'hooks.example.com');
  assert.equal(parseSafeUrl('http://127.0.0.1:9/x', { allowLoopback: true }).port, '9');
  assert.equal(parseSafeUrl('http://[::1]:9/x', { allowLoopback: true }).hostname, '[::1]');
  assert.equal(parseSafeUrl('https://10.0.0.5/x', { allowPrivate: true }).hostname, '10.0.0.5');
  // allowPrivate never opens metadata or link-local.
  refused('https://169.254.169.254/', 'blocked_address', { allowPrivate: true, allowLoopback: true });
  assert.match(blockedReason('169.254.169.254') ?? '', /metadata/);
  assert.equal(blockedReason('8.8.8.8'), undefined);
});

test('DNS: a name resolving to any private address is refused; a public one is pinned', async () => {
  const zone: Record<string, { address: string; family: number }[]> = {
    'rebind.example': [{ address: '93.184.216.34', family: 4 }, { address: '169.254.169.254', family: 4 }],
    'v6meta.example': [{ address: 'fd00:ec2::254', family: 6 }],
    'mapped.example': [{ address: '::ffff:10.0.0.1', family: 6 }],
    'public.example': [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }],
    'empty.example': [],
  };
  const lookup = async (h: string) => {
    if (!(h in zone)) throw new Error('ENOTFOUND');
    return zone[h]!;
  };
  for (const h of ['rebind.example', 'v6meta.example', 'mapped.example']) {
    await assert.rejects(resolveSafeUrl(`https://${h}/hook`, { lookup }), (e: unknown) => e instanceof UnsafeUrlError && e.reason === 'blocked_address', h);
  }
  await assert.rejects(resolveSafeUrl('https://empty.example/', { lookup }), (e: unknown) => e instanceof UnsafeUrlError && e.reason === 'dns');
  await assert.rejects(resolveSafeUrl('https://nx.example/', { lookup }), (e: unknown) => e instanceof UnsafeUrlError && e.reason === 'dns');
  const ok = await resolveSafeUrl('https://public.example/hook', { lookup });
  assert.deepEqual([ok.address, ok.family, ok.url.hostname], ['93.184.216.34', 4, 'public.example']);
  // The real resolver: localhost names resolve to loopback, refused without allowLoopback.
  await assert.rejects(resolveSafeUrl('https://localhost/'), UnsafeUrlError);
});

test('safeFetch: connects to the pinned address, not what DNS says at connect time; never follows redirects', async () => {
  const hits: string[] = [];
  const srv = createServer((req, res) => {
    hits.push(`${req.headers.host} ${req.url}`);
    if (req.url === '/redirect') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('pong');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  try {
    // A name whose first answer is loopback (allowed here) and every later one the metadata address: only the
    // checked answer is ever connected to.
    let calls = 0;
    const lookup = async () => (calls++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '169.254.169.254', family: 4 }]);
    const r = await safeFetch(`http://hook.localhost:${port}/ping`, { method: 'POST', body: '{}' }, { allowLoopback: true, lookup });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'pong');
    assert.equal(calls, 1);
    const red = await safeFetch(`http://127.0.0.1:${port}/redirect`, {}, { allowLoopback: true });
    assert.equal(red.status, 302);
    assert.equal(red.redirectLocation, 'http://169.254.169.254/latest/meta-data/');
    assert.deepEqual(hits, [`hook.localhost:${port} /ping`, `127.0.0.1:${port} /redirect`]);
    await assert.rejects(safeFetch(`http://127.0.0.1:${port}/ping`), (e: unknown) => e instanceof UnsafeUrlError && e.reason === 'scheme');
    assert.equal(hits.length, 2, 'a refused URL sends nothing');
  } finally {
    srv.close();
  }
});
