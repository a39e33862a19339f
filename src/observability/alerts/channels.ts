/**
 * Alert channels: the log, a JSON webhook, a Slack-compatible incoming webhook (`{text, blocks}`) and SMTP email
 * (nodemailer, loaded only when an email channel is configured). Webhook URLs pass the SSRF guard (src/util/safe-url.ts)
 * and are contacted at the address that was checked. Delivery retries with doubling backoff, a bounded number of
 * times; a channel that keeps failing is reported as a warning and never breaks the gateway.
 */
import type { AlertChannelConfig } from '../../config/alerts-schema.js';
import type { AlertEvent } from '../../stores/alerts/types.js';
import { safeFetch } from '../../util/safe-url.js';

export interface Channel {
  readonly name: string;
  readonly type: AlertChannelConfig['type'];
  send(e: AlertEvent): Promise<void>;
  close?(): Promise<void>;
}

const STATUS: Record<AlertEvent['kind'], string> = { firing: 'FIRING', changed: 'FIRING', renotify: 'STILL FIRING', resolved: 'RESOLVED' };

/** The JSON document a webhook receives (also what the log channel writes). */
export function alertPayload(e: AlertEvent) {
  return {
    type: 'costgate.alert',
    status: e.kind === 'resolved' ? 'resolved' : 'firing',
    kind: e.kind,
    key: e.key,
    rule: e.rule,
    level: e.level,
    message: e.message,
    value: e.value,
    threshold: e.threshold,
    labels: e.labels,
    ts: new Date(e.ts).toISOString(),
  };
}

export function slackPayload(e: AlertEvent) {
  const icon = e.kind === 'resolved' ? ':white_check_mark:' : e.level === 'critical' ? ':rotating_light:' : ':warning:';
  const text = `${icon} [${STATUS[e.kind]}] ${e.message}`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `costgate · rule \`${e.rule}\` · level ${e.level} · key \`${e.key}\` · ${new Date(e.ts).toISOString()}` }] },
    ],
  };
}

async function post(url: string, body: unknown, headers: Record<string, string>, c: { allowPrivate: boolean; timeoutMs: number }): Promise<void> {
  // allowPrivate covers loopback too: a receiver on the same host is as internal as one in the same network.
  const res = await safeFetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }, { allowPrivate: c.allowPrivate, allowLoopback: c.allowPrivate, timeoutMs: c.timeoutMs });
  if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}${res.redirectLocation ? ` (redirect to ${res.redirectLocation} not followed)` : ''}`);
}

export interface ChannelDeps {
  env: NodeJS.ProcessEnv;
  /** The log channel's writer (default: one JSON line on stderr). */
  log?: (line: string) => void;
}

export function makeChannel(c: AlertChannelConfig, i: number, deps: ChannelDeps): Channel {
  const name = c.name ?? `${c.type}${i}`;
  switch (c.type) {
    case 'log': {
      const write = deps.log ?? ((l: string) => process.stderr.write(`${l}\n`));
      return { name, type: c.type, send: async (e) => write(`costgate alert ${JSON.stringify(alertPayload(e))}`) };
    }
    case 'webhook': {
      // `env:NAME` header values (a receiver's token) are read from the environment, like every secret in config.
      const headers = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k, /^env:[A-Za-z_][A-Za-z0-9_]*$/.test(v) ? deps.env[v.slice(4)] ?? '' : v]));
      return { name, type: c.type, send: (e) => post(c.url, alertPayload(e), headers, c) };
    }
    case 'slack':
      return { name, type: c.type, send: (e) => post(c.url, slackPayload(e), {}, c) };
    case 'email': {
      let transport: Promise<import('nodemailer').Transporter> | undefined;
      const open = async () => {
        const nodemailer = (await import('nodemailer')).default;
        const pass = c.password ? deps.env[c.password.slice(4)] : undefined;
        return nodemailer.createTransport({
          host: c.host, port: c.port, secure: c.secure, requireTLS: c.requireTLS,
          auth: c.user ? { user: c.user, pass } : undefined,
          connectionTimeout: c.timeoutMs, greetingTimeout: c.timeoutMs, socketTimeout: c.timeoutMs,
        });
      };
      return {
        name,
        type: c.type,
        async send(e) {
          const t = await (transport ??= open());
          const p = alertPayload(e);
          await t.sendMail({
            from: c.from,
            to: c.to,
            subject: `[costgate] ${STATUS[e.kind]}: ${e.message}`.slice(0, 200),
            text: `${e.message}\n\nrule: ${e.rule}\nlevel: ${e.level}\nkey: ${e.key}\nvalue: ${e.value}\nthreshold: ${e.threshold}\nat: ${p.ts}\n\n${JSON.stringify(p, null, 2)}\n`,
          });
        },
        async close() {
          if (transport) (await transport).close();
        },
      };
    }
  }
}

export interface DeliveryResult {
  channel: string;
  ok: boolean;
  attempts: number;
  error?: string;
}

/** Send with up to `attempts` tries, waiting backoffMs, 2×, 4×… between them. Never throws. */
export async function deliver(ch: Channel, e: AlertEvent, attempts: number, backoffMs: number, sleep = (t: number) => new Promise((r) => setTimeout(r, t))): Promise<DeliveryResult> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(backoffMs * 2 ** (i - 1));
    try {
      await ch.send(e);
      return { channel: ch.name, ok: true, attempts: i + 1 };
    } catch (err) {
      last = err;
    }
  }
  return { channel: ch.name, ok: false, attempts, error: (last as Error)?.message ?? String(last) };
}
