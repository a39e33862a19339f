// The costgate dashboard: plain browser JavaScript (an ES module) over the admin API (/v1/costgate/*), charts drawn
// with uPlot. Money arrives as exact decimal USD strings; it is parsed to a number only to plot, and printed from the
// string. Ledger values are inserted as text, never as HTML (see lib.js).
import { h, api, usd, nanosUsd, pct, int, num, bar, empty, table, td, plot, usdAxis, usdValue, charts } from './lib.js';

{
  const $ = (id) => document.getElementById(id);
  function params() {
    const q = new URLSearchParams({ since: $('range').value, bucket: $('bucket').value });
    // Narrow every chart and panel (not the explorer, which has its own filters) to one feature and/or team.
    for (const [k, id] of [['feature', 'only-feature'], ['team', 'only-team']]) if ($(id).value.trim()) q.set(k, $(id).value.trim());
    return q;
  }


  function kpis(o) {
    const t = o.totals;
    const cards = [
      ['Total spend', usd(t.cost_usd), 'spend', t.cost_usd],
      ['Baseline (without costgate)', usd(t.baseline_cost_usd), 'baseline', t.baseline_cost_usd],
      ['Saved', usd(t.saved_usd), 'saved', t.saved_usd],
      ['Requests', int(t.requests), 'requests'],
      ['Cache hit rate', pct(o.cache.hit_rate), 'cache-hit-rate'],
      ['Error cost', usd(o.errors.cost_usd), 'error-cost', o.errors.cost_usd],
      ['Retry cost', usd(o.retries.cost_usd), 'retry-cost', o.retries.cost_usd],
    ];
    $('kpis').replaceChildren(
      ...cards.map(([label, value, id, exact]) => h('div', { class: 'kpi', id: `kpi-${id}`, 'data-usd': exact }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value))),
    );
  }

  function paretoTable(el, p, what) {
    if (!p.rows.length) return void el.replaceChildren(empty(`no ${what}s in this range`));
    el.replaceChildren(
      h('p', {}, `${p.groups_for_80} of ${p.groups} ${what}s make 80% of spend; the top 20% make ${pct(p.cost_share_of_top_20)}.`),
      table(
        [what, { label: 'requests', num: 1 }, { label: 'spend', num: 1 }, 'share', { label: 'cumulative', num: 1 }],
        p.rows.map((r) => h('tr', {}, td(r.name), td(int(r.requests), 1), td(usd(r.cost_usd), 1), h('td', {}, bar(r.share)), td(pct(r.cumulative_share), 1))),
      ),
    );
  }

  function cacheTable(o) {
    const c = o.cache;
    $('cache').replaceChildren(
      h('p', {}, `${pct(c.hit_rate)} of requests were answered from a cache layer.`),
      table(
        ['layer', { label: 'hits', num: 1 }, 'hit rate', { label: '', num: 1 }, { label: 'avoided', num: 1 }],
        c.layers.map((l) => h('tr', { 'data-layer': l.layer }, td(l.layer), td(int(l.hits), 1), h('td', {}, bar(l.hit_rate)), td(pct(l.hit_rate), 1), td(usd(l.avoided_cost_usd), 1))),
      ),
    );
  }

  function errorsTable(o) {
    const e = o.errors;
    const r = o.retries;
    $('errors').replaceChildren(
      table(
        ['', { label: 'requests', num: 1 }, { label: 'cost', num: 1 }, { label: 'share of spend', num: 1 }],
        [
          h('tr', {}, td(`errors (${pct(e.rate)} of requests)`), td(int(e.requests), 1), td(usd(e.cost_usd), 1), td(pct(e.share_of_cost), 1)),
          h('tr', {}, td(`retried (${int(r.attempts)} failed attempts)`), td(int(r.requests), 1), td(usd(r.cost_usd), 1), td(pct(r.share_of_cost), 1)),
        ],
      ),
    );
  }

  function budgetsTable(b) {
    const el = $('budgets');
    if (b && b.error) return void el.replaceChildren(h('p', { class: 'error' }, b.error));
    if (!b.length) return void el.replaceChildren(empty('no budgets configured'));
    el.replaceChildren(
      table(
        ['budget', 'scope', 'window', { label: 'spent', num: 1 }, { label: 'limit', num: 1 }, 'used', { label: '', num: 1 }, { label: 'projected', num: 1 }, 'projected use', 'resets (UTC)'],
        b.map((x) =>
          h(
            'tr',
            { 'data-budget': x.name },
            td(`${x.name}${x.mode === 'soft' ? ' (soft)' : ''}`),
            td(x.scope === 'global' ? 'global' : `${x.scope} = ${x.value}`),
            td(x.window),
            td(usd(x.spent_usd), 1),
            td(usd(x.limit_usd), 1),
            h('td', {}, bar(x.used, x.used >= 1 ? 'over' : '')),
            td(pct(x.used), 1),
            td(x.projection === 'rolling' ? `${usd(x.projected_usd)} (rolling)` : usd(x.projected_usd), 1),
            h('td', {}, bar(x.projected_used, x.projected_used >= 1 ? 'over' : 'proj')),
            td(x.resets_at.replace('T', ' ').slice(0, 16)),
          ),
        ),
      ),
    );
  }

  // `GET /v1/costgate/alerts`: `{ enabled, firing: [state], history: [event] }` (src/observability/alerts); a plain
  // list is shown too. Each item: level, a time (`since` of a state, `ts` of an event), the message.
  const alertItem = (a, when, prefix) => {
    const level = String(a.level || a.severity || 'info');
    const cls = /critical|error/.test(level) ? 'critical' : /warn|%/.test(level) ? 'warning' : 'info';
    const at = when === undefined || when === null ? null : new Date(when);
    return h(
      'div',
      { class: `alert ${cls}`, 'data-alert': a.key || null },
      h('strong', {}, `${prefix ? `${prefix} ` : ''}${level} `),
      at && !isNaN(at) ? h('span', { class: 'empty' }, `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC `) : null,
      String(a.message || a.title || a.rule || JSON.stringify(a)),
    );
  };

  async function alerts() {
    const el = $('alerts');
    let body;
    try {
      body = await api('/v1/costgate/alerts?limit=20');
    } catch (e) {
      // The alerts API is optional (not every gateway has it): absent means there is nothing to show.
      if (e.status === 404) return void el.replaceChildren(empty('no alerts'));
      return void el.replaceChildren(h('p', { class: 'error' }, `alerts: ${e.message}`));
    }
    if (body && body.enabled === false) return void el.replaceChildren(empty('no alerts (alerting is not enabled)'));
    const firing = (body && body.firing) || [];
    const history = Array.isArray(body) ? body : (body && (body.history || body.data)) || [];
    if (!firing.length && !history.length) return void el.replaceChildren(empty('no alerts'));
    el.replaceChildren(
      firing.length ? h('h3', {}, `Firing (${firing.length})`) : null,
      ...firing.map((a) => alertItem(a, a.since)),
      history.length ? h('h3', {}, 'Recent') : null,
      ...history.slice(0, 20).map((a) => alertItem(a, a.ts ?? a.at, a.kind)),
    );
  }

  let cursor = null;
  async function requests(more) {
    const el = $('requests');
    const q = new URLSearchParams({ limit: '25' });
    for (const [k, v] of new FormData($('explorer-filters'))) if (v) q.set(k, String(v));
    if (more && cursor) q.set('cursor', cursor);
    const page = await api(`/v1/costgate/requests?${q}`);
    cursor = page.next_cursor;
    const rows = page.data.map((r) =>
      h(
        'tr',
        { class: 'request', 'data-request-id': r.requestId, tabindex: 0, onclick: () => detail(r.requestId), onkeydown: (e) => e.key === 'Enter' && detail(r.requestId) },
        td(new Date(r.ts).toISOString().slice(5, 19).replace('T', ' ')),
        td(r.requestId),
        td(r.model || r.requestedModel),
        td(r.feature || '–'),
        td(r.user || '–'),
        td(r.status, 1),
        td(r.cacheStatus),
        td(usd(r.costUsd), 1),
        td(`${Math.round(r.latencyMs)} ms`, 1),
      ),
    );
    const t = more && el.querySelector('tbody');
    if (t) t.append(...rows);
    else if (!rows.length) el.replaceChildren(empty('no requests match'));
    else el.replaceChildren(table(['time (UTC)', 'request id', 'model', 'feature', 'user', { label: 'status', num: 1 }, 'cache', { label: 'cost', num: 1 }, { label: 'latency', num: 1 }], rows));
    el.querySelector('button.more')?.remove();
    if (cursor) el.append(h('button', { type: 'button', class: 'more', onclick: () => requests(true).catch(fail) }, 'More'));
  }

  async function detail(id) {
    const body = await api(`/v1/costgate/requests/${encodeURIComponent(id)}`);
    for (const tr of document.querySelectorAll('tr.request')) tr.classList.toggle('selected', tr.dataset.requestId === id);
    $('detail-id').textContent = id;
    const parts = body.data.map((r) => {
      const { attempts, ...fields } = r;
      return [
        h('dl', { class: 'detail' }, Object.entries(fields).flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k }, v === null ? 'null' : k === 'ts' ? `${v} (${new Date(v).toISOString()})` : String(v))])),
        h('h3', {}, `Upstream attempts (${attempts.length})`),
        attempts.length
          ? table(
              ['#', 'deployment', 'model', { label: 'status', num: 1 }, 'outcome', 'error', { label: 'in', num: 1 }, { label: 'out', num: 1 }, { label: 'cost', num: 1 }, { label: 'latency', num: 1 }],
              attempts.map((a) =>
                h('tr', { class: 'attempt' }, td(a.n), td(a.deployment), td(a.model), td(a.status, 1), td(a.outcome), td(a.errorType || '–'), td(int(a.inputTokens), 1), td(int(a.outputTokens), 1), td(usd(nanosUsd(a.costNanos)), 1), td(`${Math.round(a.latencyMs)} ms`, 1)),
              ),
            )
          : empty('none (answered without calling upstream)'),
      ];
    });
    $('detail-body').replaceChildren(...parts.flat());
    $('request-detail').hidden = false;
    $('request-detail').scrollIntoView({ block: 'start' });
  }

  function fail(e) {
    $('status').textContent = `error: ${e.message}`;
    $('status').className = 'error';
  }

  async function load() {
    document.body.dataset.ready = '0';
    for (const c of charts.splice(0)) c.destroy();
    $('status').textContent = 'loading…';
    $('status').className = '';
    const by = $('by').value;
    $('by-label').textContent = by;
    const q = params();
    try {
      const [ts, o] = await Promise.all([api(`/v1/costgate/dashboard/timeseries?${q}&by=${by}`), api(`/v1/costgate/dashboard/overview?${q}`)]);
      kpis(o);
      plot($('chart-spend'), ts.t, ts.series.map((s) => ({ label: s.name, values: s.cost_usd.map(num) })), { fmt: usdValue, axis: usdAxis });
      plot(
        $('chart-baseline'),
        ts.t,
        [
          { label: 'actual spend', values: ts.total.cost_usd.map(num), color: '#2563eb', fill: 'rgba(37,99,235,0.12)' },
          { label: 'baseline (without costgate)', values: ts.total.baseline_usd.map(num), color: '#64748b', dash: [6, 4] },
          { label: 'saved', values: ts.total.saved_usd.map(num), color: '#16a34a' },
        ],
        { fmt: usdValue, axis: usdAxis },
      );
      const d = o.drift;
      plot($('chart-drift-in'), d.t, d.features.map((f) => ({ label: f.name, values: f.avg_input_tokens })), { height: 200, fmt: (v) => (v === null ? '–' : int(v)) });
      plot($('chart-drift-out'), d.t, d.features.map((f) => ({ label: f.name, values: f.avg_output_tokens })), { height: 200, fmt: (v) => (v === null ? '–' : int(v)) });
      paretoTable($('pareto-features'), o.pareto.features, 'feature');
      paretoTable($('pareto-users'), o.pareto.users, 'user');
      cacheTable(o);
      errorsTable(o);
      budgetsTable(o.budgets);
      await Promise.all([alerts(), requests(false)]);
      $('status').textContent = `${ts.since.slice(0, 16)} – ${ts.until.slice(0, 16)} UTC, ${ts.bucket}ly buckets; updated ${new Date().toISOString().slice(11, 19)} UTC`;
      document.body.dataset.ready = '1';
    } catch (e) {
      fail(e);
      document.body.dataset.ready = 'error';
    }
  }

  // What each chart plots (id → series labels and values), for tests and the curious: read-only copies.
  window.costgateDashboard = {
    charts: () => Object.fromEntries(charts.map((u) => [u.root.dataset.chart, u.series.slice(1).map((s, i) => ({ label: s.label, values: Array.from(u.data[i + 1]) }))])),
  };
  $('controls').addEventListener('change', (e) => {
    // Hourly buckets over 90 days would be 2,160 points (the API stops at 1,000): switch to daily.
    if (e.target.id === 'range' && $('range').value === '90d') $('bucket').value = 'day';
    load();
  });
  // Enter in a text field: redraw here rather than submit the form (a navigation).
  $('controls').addEventListener('submit', (e) => e.preventDefault());
  let resizing;
  window.addEventListener('resize', () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      for (const u of charts) u.setSize({ width: Math.max(320, u.root.parentElement.clientWidth), height: u.height });
    }, 150);
  });
  $('refresh').addEventListener('click', () => load());
  $('explorer-filters').addEventListener('submit', (e) => {
    e.preventDefault();
    requests(false).catch(fail);
  });
  load();
}
