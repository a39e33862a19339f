// Helpers of the dashboard page: DOM building (text only, never HTML), the API call, money formatting and uPlot
// charts. Every value from the ledger (feature, user and model names come from clients) is inserted as text.
export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#64748b'];
/** The charts on the page (destroyed and redrawn by each load). */
export const charts = [];

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'style') el.style.cssText = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
  return el;
}

export async function api(path) {
  const r = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (r.status === 401) {
    location.reload();
    throw new Error('signed out');
  }
  const body = await r.json().catch(() => undefined);
  if (!r.ok) {
    const e = new Error((body && body.error && body.error.message) || `HTTP ${r.status}`);
    e.status = r.status;
    throw e;
  }
  return body;
}

// "$1.23" from cents up, else 6 decimals, or 9 when the nano-dollar digits are not zero (as the CLI reports print).
export function usd(s) {
  const m = /^(-?)(\d+)\.(\d{9})$/.exec(String(s));
  if (!m) return String(s);
  const nanos = BigInt(m[2] + m[3]);
  let d = nanos >= 100000000000n ? 2 : nanos % 1000n === 0n ? 6 : 9;
  const unit = 10n ** BigInt(9 - d);
  let q = nanos / unit;
  const r2 = (nanos % unit) * 2n;
  if (r2 > unit || (r2 === unit && q % 2n === 1n)) q += 1n;
  const scale = 10n ** BigInt(d);
  return `${m[1]}$${(q / scale).toLocaleString('en-US')}.${String(q % scale).padStart(d, '0')}`;
}
// Integer nano-dollars (attempt rows) → the API's decimal USD string, exactly.
export const nanosUsd = (n) => {
  const a = BigInt(Math.abs(n));
  return `${n < 0 ? '-' : ''}${a / 1000000000n}.${String(a % 1000000000n).padStart(9, '0')}`;
};
export const pct = (x) => `${(x * 100).toFixed(1)}%`;
export const int = (x) => Math.round(x).toLocaleString('en-US');
export const num = (s) => Number(s);
export const bar = (fraction, cls) => h('div', { class: `bar ${cls || ''}`, title: pct(fraction) }, h('span', { style: `width:${Math.max(0, Math.min(1, fraction)) * 100}%` }));
export const empty = (text) => h('p', { class: 'empty' }, text);

export function table(headers, rows) {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { class: x.num ? 'num' : undefined }, typeof x === 'string' ? x : x.label)))),
    h('tbody', {}, rows),
  );
}
export const td = (v, n) => h('td', { class: n ? 'num' : undefined }, v);

export function plot(el, t, series, o = {}) {
  el.replaceChildren();
  if (!t.length) return void el.append(empty('no data in this range'));
  const width = Math.max(320, el.clientWidth || el.parentElement.clientWidth - 32);
  const fmt = o.fmt || ((v) => (v === null || v === undefined ? '–' : String(v)));
  const u = new uPlot(
    {
      width,
      height: o.height || 240,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
      scales: { x: { time: true } },
      series: [
        { label: 'UTC' },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.color || PALETTE[i % PALETTE.length],
          width: 2,
          dash: s.dash,
          fill: s.fill,
          spanGaps: true,
          points: { show: t.length <= 72 },
          value: (_, v) => fmt(v),
        })),
      ],
      axes: [{}, { size: 70, values: (_, ticks) => ticks.map((v) => (o.axis ? o.axis(v) : String(v))) }],
    },
    [t, ...series.map((s) => s.values)],
    el,
  );
  u.root.dataset.chart = el.id;
  charts.push(u);
}
export const usdAxis = (v) => (v >= 1 ? `$${v.toFixed(2)}` : `$${Number(v.toPrecision(3))}`);
export const usdValue = (v) => (v === null || v === undefined ? '–' : `$${Number(v.toPrecision(6))}`);
