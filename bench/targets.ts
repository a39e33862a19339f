/**
 * What the load goes to: the mock upstream directly, costgate in front of it, or (with --vs-portkey) Portkey's
 * open-source gateway in front of it. Each gateway runs alone, pinned to one core, with a config that points its
 * only provider at the mock.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startPinned, type Proc } from './procs.js';

export const PORTKEY_VERSION = '1.15.2';

export interface Target {
  name: 'direct' | 'costgate' | 'portkey';
  url: string;
  /** The gateway process (none for direct). */
  proc?: Proc;
  close(): Promise<void>;
}

export async function startMock(root: string, cpus: string): Promise<Proc> {
  const port = await freePort();
  return startPinned({ name: 'mock upstream', cpus, command: process.execPath, args: [join(root, 'dist/bench/mock-upstream.js'), String(port)], port });
}

export function direct(mock: Proc): Target {
  return { name: 'direct', url: `http://127.0.0.1:${mock.port}/v1/chat/completions`, close: async () => {} };
}

/**
 * costgate as a user runs it: `bin/costgate.js start --config <file>`, one openai-compatible provider, every other
 * setting at its default. It runs in the bench's temp folder, so default relative paths (the SQLite ledger) land
 * there and are removed with it.
 */
function startFlags(root: string): string[] {
  const start = String(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts?.start ?? '');
  const m = /^node((?:\s+--[\w-]+(?:=\S+)?)*)\s+bin\/costgate\.js start$/.exec(start.trim());
  if (!m) throw new Error(`bench: cannot read node flags from package.json scripts.start: ${start}`);
  return m[1]!.trim().split(/\s+/).filter(Boolean);
}

export async function startCostgate(root: string, mock: Proc, cpus: string, work: string, profileDir?: string): Promise<Target> {
  const port = await freePort();
  const config = join(work, 'costgate.json');
  writeFileSync(
    config,
    JSON.stringify({ server: { host: '127.0.0.1', port }, providers: { mock: { type: 'openai-compatible', baseUrl: `http://127.0.0.1:${mock.port}/v1`, models: ['*'] } } }, null, 2),
  );
  // The node flags `npm start` runs costgate with (package.json scripts.start), so the bench measures what users run.
  const node = startFlags(root);
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    node.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  const proc = await startPinned({ name: 'costgate', cpus, command: process.execPath, args: [...node, join(root, 'bin/costgate.js'), 'start', '--config', config], port, cwd: work });
  return { name: 'costgate', url: `http://127.0.0.1:${port}/v1/chat/completions`, proc, close: () => proc.stop() };
}

/**
 * Portkey's server is Hono on @hono/node-server, which its package allows at any ^1.3.3. From 1.14.2 on, that
 * package hands Portkey fetch's immutable response headers, and Portkey's `updateHeaders` then fails every streamed
 * (and, past 1.14.2, every) chat completion with `TypeError: immutable` (Portkey-AI/gateway#1389). 1.14.1 is the
 * newest release that works, so the temp install pins it.
 */
const PORTKEY_HONO_NODE_SERVER = '1.14.1';

/** `npm install @portkey-ai/gateway@VERSION` into a fresh temp folder (never a project dependency). */
export function installPortkey(log: (s: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-bench-portkey-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench-portkey', private: true, overrides: { '@hono/node-server': PORTKEY_HONO_NODE_SERVER } }));
  log(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into ${dir} ...`);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', `@portkey-ai/gateway@${PORTKEY_VERSION}`], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  const server = join(dir, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  if (r.status !== 0 || !existsSync(server)) throw new Error(`npm install @portkey-ai/gateway@${PORTKEY_VERSION} failed:\n${r.stderr || r.stdout}`);
  return dir;
}

/**
 * Portkey's Node build (`build/start-server.js`, its package `bin`), headless (no log UI). It has no provider
 * config file: every request names the provider and the base URL in headers (see portkeyHeaders).
 */
export async function startPortkey(dir: string, cpus: string): Promise<Target> {
  const port = await freePort();
  const server = join(dir, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  const proc = await startPinned({ name: 'portkey', cpus, command: process.execPath, args: [server, `--port=${port}`, '--headless'], port, cwd: dir });
  return { name: 'portkey', url: `http://127.0.0.1:${port}/v1/chat/completions`, proc, close: () => proc.stop() };
}

/** Sent to every target so request sizes match; only Portkey reads the x-portkey-* ones. */
export function requestHeaders(mock: Proc): Record<string, string> {
  return {
    Authorization: 'Bearer sk-bench-not-a-real-key',
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': `http://127.0.0.1:${mock.port}/v1`,
  };
}

const SYSTEM =
  'You are a concise technical assistant for an infrastructure team. Answer in plain English, use short paragraphs, ' +
  'and prefer concrete numbers over adjectives. If a question is ambiguous, state the assumption you make.';
const USER =
  'We run an internal LLM gateway in front of two providers. Explain, in about a hundred words, how load balancing ' +
  'across API keys and deployments works, what a retry with fallback to a second deployment costs in latency, and ' +
  'which metrics we should watch (p99 latency, error rate, tokens per minute, cost per team) to know it is healthy. ' +
  'Our traffic is about a thousand requests per second at peak, mostly short chat turns with streaming enabled.';

/** A ~1 KB chat request like an SDK sends; `bench-0` is the marker paced.lua replaces with the send time. */
export function chatBody(stream: boolean): string {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'What does an LLM gateway do, in one sentence?' },
      { role: 'assistant', content: 'It sits between your code and the model providers, routing, retrying and metering every call.' },
      { role: 'user', content: `${USER} (ticket bench-0)` },
    ],
    temperature: 0.2,
    max_tokens: 256,
    top_p: 1,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}
