/** Ledger filters from query parameters (API) or CLI options: one parser for both. */
import type { LedgerFilter } from '../../stores/ledger/types.js';
import { GatewayError } from '../../pipeline/errors.js';
import { parseTime } from './time.js';

export interface FilterParams {
  since?: string;
  until?: string;
  feature?: string;
  user?: string;
  team?: string;
  key?: string;
  model?: string;
  provider?: string;
  status?: string;
  request_id?: string;
}

export function filterFrom(p: FilterParams, now = Date.now()): LedgerFilter {
  const f: LedgerFilter = {};
  if (p.since) f.since = parseTime(p.since, now, 'since');
  if (p.until) f.until = parseTime(p.until, now, 'until');
  if (p.feature) f.feature = p.feature;
  if (p.user) f.user = p.user;
  if (p.team) f.team = p.team;
  if (p.key) f.apiKeyId = p.key;
  if (p.model) f.model = p.model;
  if (p.provider) f.provider = p.provider;
  if (p.request_id) f.requestId = p.request_id;
  if (p.status) {
    if (p.status !== 'ok' && p.status !== 'error') throw new GatewayError('invalid_value', "status: use 'ok' or 'error'", { param: 'status' });
    f.status = p.status;
  }
  return f;
}

export function paramsOf(q: URLSearchParams): FilterParams & { by?: string; limit?: string; cursor?: string; month?: string } {
  const o: Record<string, string> = {};
  for (const [k, v] of q) o[k] = v;
  return o;
}
