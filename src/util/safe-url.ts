/**
 * SSRF safety for URLs that come from a request or a key (webhooks and callbacks), never for provider base URLs,
 * which come only from config. A URL is accepted when:
 *
 * - its scheme is `https:` — or `http:` to a loopback address when `allowLoopback` is set (tests, local tools);
 * - its host, and every address its DNS name resolves to, is a public unicast address: loopback, private, CGNAT,
 *   link-local (incl. the cloud metadata endpoints 169.254.169.254, fd00:ec2::254, 100.100.100.200), multicast,
 *   reserved and documentation ranges are refused, in IPv4 and IPv6, including IPv4 written inside IPv6
 *   (`::ffff:10.0.0.1`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, IPv4-compatible `::a.b.c.d`) and the decimal, octal
 *   and hex host forms (`2130706433`, `0177.0.0.1`, `0x7f.1`), which the WHATWG URL parser normalises first;
 * - the connection then goes to the address that was checked (pinned: a DNS answer that changes between the check
 *   and the connect — DNS rebinding — cannot redirect it), and redirects are not followed.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';

export interface SafeUrlOptions {
  /** Permit loopback targets (and plain http to them). Tests only. Default false. */
  allowLoopback?: boolean;
  /** Permit RFC 1918 / ULA private ranges (a webhook receiver inside your own network). Default false. */
  allowPrivate?: boolean;
  /** DNS resolution (default: the system resolver, all addresses). */
  lookup?: (host: string) => Promise<{ address: string; family: number }[]>;
}

export class UnsafeUrlError extends Error {
  constructor(
    message: string,
    readonly reason: 'invalid' | 'scheme' | 'credentials' | 'blocked_address' | 'dns',
  ) {
    super(message);
    this.name = 'UnsafeUrlError';
  }
}

type Kind = 'public' | 'loopback' | 'private' | 'blocked';

/** IPv4 dotted quad → 4 bytes (only the canonical form; the URL parser has normalised the others). */
function v4Bytes(ip: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? b : undefined;
}

/** IPv6 text (with `::` and an optional trailing dotted quad) → 16 bytes. */
function v6Bytes(ip: string): number[] | undefined {
  let s = ip.toLowerCase();
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = v4Bytes(s.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string) => (h === '' ? [] : h.split(':'));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 1 ? fill !== 0 : fill < 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...rest];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const bytes = groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

function inV4(b: number[], net: [number, number, number, number], bits: number): boolean {
  for (let i = 0; i < 4; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    if (take === 0) return true;
    const mask = (0xff << (8 - take)) & 0xff;
    if ((b[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
}

function classifyV4(b: number[]): Kind {
  if (inV4(b, [127, 0, 0, 0], 8)) return 'loopback';
  if (inV4(b, [10, 0, 0, 0], 8) || inV4(b, [172, 16, 0, 0], 12) || inV4(b, [192, 168, 0, 0], 16)) return 'private';
  const blocked: [[number, number, number, number], number][] = [
    [[0, 0, 0, 0], 8], // "this network"
    [[100, 64, 0, 0], 10], // CGNAT (incl. 100.100.100.200, Alibaba metadata)
    [[169, 254, 0, 0], 16], // link-local (169.254.169.254: AWS/GCP/Azure metadata)
    [[192, 0, 0, 0], 24], // IETF protocol assignments (192.0.0.192 Oracle metadata)
    [[192, 0, 2, 0], 24], // TEST-NET-1
    [[192, 88, 99, 0], 24], // 6to4 relay anycast
    [[198, 18, 0, 0], 15], // benchmarking
    [[198, 51, 100, 0], 24], // TEST-NET-2
    [[203, 0, 113, 0], 24], // TEST-NET-3
    [[224, 0, 0, 0], 4], // multicast
    [[240, 0, 0, 0], 4], // reserved, broadcast
  ];
  return blocked.some(([n, bits]) => inV4(b, n, bits)) ? 'blocked' : 'public';
}

function classifyV6(b: number[]): Kind {
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 15) && b[15] === 1) return 'loopback'; // ::1
  if (zero(0, 16)) return 'blocked'; // ::
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return classifyV4(b.slice(12)); // ::ffff:a.b.c.d
  if (zero(0, 12)) return 'blocked'; // ::a.b.c.d (IPv4-compatible, deprecated)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return worst('blocked', classifyV4(b.slice(12))); // NAT64
  if (b[0] === 0x20 && b[1] === 0x02) return worst('public', classifyV4(b.slice(2, 6))); // 6to4
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x00 && b[3] === 0x00) return 'blocked'; // Teredo 2001::/32
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return 'blocked'; // documentation
  if (b[0] === 0x01 && b[1] === 0x00 && zero(2, 8)) return 'blocked'; // discard 100::/64
  if ((b[0]! & 0xfe) === 0xfc) return b[0] === 0xfd && b[1] === 0x00 && b[2] === 0x0e && b[3] === 0xc2 ? 'blocked' : 'private'; // ULA fc00::/7 (fd00:ec2::/32: AWS metadata)
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'blocked'; // link-local fe80::/10
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 'blocked'; // site-local fec0::/10
  if (b[0] === 0xff) return 'blocked'; // multicast
  return 'public';
}

/** NAT64 / 6to4 embed an IPv4 address: the embedded address decides unless the wrapper is worse. */
function worst(wrapper: Kind, inner: Kind): Kind {
  const rank: Record<Kind, number> = { public: 0, private: 1, loopback: 2, blocked: 3 };
  const k = rank[inner] > rank[wrapper] ? inner : wrapper;
  return k === 'loopback' || k === 'private' ? 'blocked' : k;
}

/** What an IP literal is: public, loopback, private or blocked (undefined: not an IP address). */
export function classifyAddress(ip: string): Kind | undefined {
  const h = ip.replace(/^\[|\]$/g, '');
  const v = isIP(h.split('%')[0]!);
  if (v === 4) return classifyV4(v4Bytes(h)!);
  if (v === 6) {
    const b = v6Bytes(h);
    return b ? classifyV6(b) : undefined;
  }
  return undefined;
}

function allowed(kind: Kind, o: SafeUrlOptions): boolean {
  return kind === 'public' || (kind === 'loopback' && o.allowLoopback === true) || (kind === 'private' && o.allowPrivate === true);
}

/** Why an address may not be contacted, or undefined when it may. */
export function blockedReason(ip: string, o: SafeUrlOptions = {}): string | undefined {
  const kind = classifyAddress(ip);
  if (kind === undefined) return `${ip} is not an IP address`;
  return allowed(kind, o) ? undefined : `${ip} is a ${kind === 'blocked' ? 'reserved, link-local or metadata' : kind} address`;
}

/** The URL parsed and checked without DNS: scheme, credentials, and the host when it is an IP literal. */
export function parseSafeUrl(input: string, o: SafeUrlOptions = {}): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new UnsafeUrlError('not a valid absolute URL', 'invalid');
  }
  if (url.username || url.password) throw new UnsafeUrlError('URLs with credentials are refused', 'credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopbackName = /^(localhost|.*\.localhost)\.?$/i.test(host);
  const kind = loopbackName ? 'loopback' : classifyAddress(host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && o.allowLoopback && kind === 'loopback')) {
    throw new UnsafeUrlError(`scheme ${url.protocol} refused: use https${o.allowLoopback ? ' (http only to loopback)' : ''}`, 'scheme');
  }
  if (kind !== undefined && !allowed(kind, o)) throw new UnsafeUrlError(`host ${host} refused: ${blockedReason(loopbackName ? '127.0.0.1' : host, o) ?? 'loopback'}`, 'blocked_address');
  return url;
}

export interface ResolvedSafeUrl {
  url: URL;
  /** The address checked, to which the connection must go. */
  address: string;
  family: 4 | 6;
}

/** Parse, resolve every address of the host, refuse if any is not allowed, and pick the first to pin. */
export async function resolveSafeUrl(input: string, o: SafeUrlOptions = {}): Promise<ResolvedSafeUrl> {
  const url = parseSafeUrl(input, o);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  if (literal) return { url, address: host, family: literal as 4 | 6 };
  let addrs: { address: string; family: number }[];
  try {
    addrs = o.lookup ? await o.lookup(host) : await dnsLookup(host, { all: true, verbatim: true });
  } catch (e) {
    throw new UnsafeUrlError(`could not resolve ${host}: ${(e as Error).message}`, 'dns');
  }
  if (addrs.length === 0) throw new UnsafeUrlError(`${host} has no addresses`, 'dns');
  for (const a of addrs) {
    const why = blockedReason(a.address, o);
    if (why) throw new UnsafeUrlError(`host ${host} resolves to ${why}`, 'blocked_address');
  }
  return { url, address: addrs[0]!.address, family: addrs[0]!.family === 6 ? 6 : 4 };
}

export interface SafeFetchOptions extends SafeUrlOptions {
  timeoutMs?: number;
}

export interface SafeFetchResult {
  status: number;
  headers: Headers;
  /** The whole response body (read before the connection is closed). */
  body: Buffer;
  /** A 3xx's Location, which was not followed. */
  redirectLocation?: string;
}

/**
 * Send a request to a checked URL: connects only to the resolved, checked address (TLS still verifies the host
 * name), never follows a redirect (a 3xx comes back with `redirectLocation`), and gives up after `timeoutMs`
 * (default 10 s).
 */
export async function safeFetch(input: string, init: UndiciRequestInit = {}, o: SafeFetchOptions = {}): Promise<SafeFetchResult> {
  const target = await resolveSafeUrl(input, o);
  const agent = new Agent({
    connect: {
      lookup: (_host: string, opts: { all?: boolean }, cb: (...args: any[]) => void) => {
        if (opts?.all) cb(null, [{ address: target.address, family: target.family }]);
        else cb(null, target.address, target.family);
      },
    },
  });
  try {
    const res = await undiciFetch(target.url, { ...init, redirect: 'manual', dispatcher: agent, signal: init.signal ?? AbortSignal.timeout(o.timeoutMs ?? 10_000) });
    const body = Buffer.from(await res.arrayBuffer());
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') ?? undefined : undefined;
    return { status: res.status, headers: res.headers as unknown as Headers, body, redirectLocation: location };
  } finally {
    await agent.close().catch(() => {});
  }
}
