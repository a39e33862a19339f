/**
 * The `/v1/costgate/*` API: the ledger (requests, one request with its attempts) and cost reports.
 * Money is returned both as integer nano-dollars and as exact decimal USD strings.
 */
import type { Gateway } from '../gateway.js';
import type { GatewayResponse } from '../pipeline/ctx.js';
import { GatewayError } from '../pipeline/errors.js';
import { filterFrom, paramsOf } from '../observability/reports/params.js';
import { summarize, pareto, callPareto, parseGroupBy } from '../observability/reports/summary.js';
import { summaryJson } from '../observability/reports/format.js';
import { monthlyReport } from '../observability/reports/monthly.js';
import { paretoJson } from '../observability/reports/pareto-json.js';
import { nanosToUsd } from '../pricing/decimal.js';
import type { LedgerRow } from '../stores/ledger/types.js';

const json = (status: number, body: unknown): GatewayResponse => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const withUsd = (r: LedgerRow) => ({ ...r, costUsd: nanosToUsd(r.costNanos), baselineCostUsd: nanosToUsd(r.baselineCostNanos), savedUsd: nanosToUsd(r.baselineCostNanos - r.costNanos) });

export async function adminRoute(gw: Gateway, method: string, path: string, q: URLSearchParams): Promise<GatewayResponse | undefined> {
  if (method !== 'GET') throw new GatewayError('method_not_allowed', `Method ${method} is not allowed on ${path}; use GET.`);
  const p = paramsOf(q);
  const store = gw.ledger.store;
  if (path === '/v1/costgate/requests') {
    const limit = p.limit === undefined ? 100 : Number(p.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new GatewayError('invalid_value', 'limit: an integer from 1 to 1000', { param: 'limit' });
    await gw.ledger.writer.flushNow();
    const page = await store.query({ ...filterFrom(p), limit, cursor: p.cursor });
    return json(200, { object: 'list', data: page.rows.map(withUsd), next_cursor: page.nextCursor ?? null, has_more: page.nextCursor !== undefined });
  }
  const one = /^\/v1\/costgate\/requests\/([^/]+)$/.exec(path);
  if (one) {
    await gw.ledger.writer.flushNow();
    const id = decodeURIComponent(one[1]!);
    const { rows } = await store.query({ requestId: id, limit: 100 });
    if (!rows.length) throw new GatewayError('not_found', `No ledger record for request '${id}'`);
    const data = await Promise.all(rows.map(async (r) => ({ ...withUsd(r), attempts: await store.attempts(r.uid) })));
    return json(200, { object: 'list', data });
  }
  if (path === '/v1/costgate/report') {
    await gw.ledger.writer.flushNow();
    return json(200, summaryJson(await summarize(store, filterFrom(p), parseGroupBy(p.by))));
  }
  if (path === '/v1/costgate/report/pareto') {
    await gw.ledger.writer.flushNow();
    const f = filterFrom(p);
    const by = parseGroupBy(p.by ?? 'feature');
    return json(200, paretoJson(await pareto(store, f, by[0] ?? 'feature'), await callPareto(store, f)));
  }
  if (path === '/v1/costgate/report/monthly') {
    await gw.ledger.writer.flushNow();
    const md = await monthlyReport(store, gw.pricer, p.month);
    return { status: 200, headers: { 'content-type': 'text/markdown; charset=utf-8' }, body: md };
  }
  if (path === '/v1/costgate/alerts') {
    const limit = p.limit === undefined ? 100 : Number(p.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new GatewayError('invalid_value', 'limit: an integer from 1 to 1000', { param: 'limit' });
    const a = gw.alerts;
    if (!a) return json(200, { object: 'costgate.alerts', enabled: false, firing: [], history: [] });
    return json(200, { object: 'costgate.alerts', enabled: true, evaluated_at: a.last ? new Date(a.last.at).toISOString() : null, errors: a.last?.errors ?? [], firing: await a.firing(), history: await a.history(limit) });
  }
  return undefined;
}
