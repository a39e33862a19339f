/**
 * Key management over the admin API (admin role): `GET /v1/costgate/keys`, `POST /v1/costgate/keys` (body: the
 * `keys create` options; answers the secret once), `POST /v1/costgate/keys/{id}/revoke`,
 * `POST /v1/costgate/keys/{id}/rotate` (body `{ "overlap": "1h" }`).
 */
import type { Gateway } from '../gateway.js';
import type { GatewayResponse } from '../pipeline/ctx.js';
import { GatewayError } from '../pipeline/errors.js';
import { publicKey, type CreateKeyOptions } from '../keys/service.js';
import { parseDuration } from '../budgets/window.js';

const json = (status: number, body: unknown): GatewayResponse => ({ status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify(body) });

function bodyOf(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  try {
    const v = JSON.parse(raw.toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch {
    /* below */
  }
  throw new GatewayError('invalid_json', 'The body must be a JSON object.');
}

const str = (v: unknown, name: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new GatewayError('invalid_type', `${name} must be a string`, { param: name });
  return v;
};
const int = (v: unknown, name: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new GatewayError('invalid_type', `${name} must be a positive integer`, { param: name });
  return v;
};

export async function keysRoute(gw: Gateway, method: string, path: string, raw: Buffer): Promise<GatewayResponse | undefined> {
  if (path === '/v1/costgate/keys') {
    if (method === 'GET') return json(200, { object: 'list', data: await gw.keys.list() });
    if (method !== 'POST') throw new GatewayError('method_not_allowed', `Method ${method} is not allowed on ${path}; use GET or POST.`);
    const b = bodyOf(raw);
    const models = b.models === undefined ? undefined : Array.isArray(b.models) && b.models.every((m) => typeof m === 'string') ? (b.models as string[]) : (() => { throw new GatewayError('invalid_type', 'models must be an array of strings', { param: 'models' }); })();
    const role = str(b.role, 'role');
    if (role !== undefined && role !== 'client' && role !== 'admin' && role !== 'viewer') throw new GatewayError('invalid_value', 'role: client, admin or viewer', { param: 'role' });
    const o: CreateKeyOptions = { name: str(b.name, 'name') ?? '', team: str(b.team, 'team'), feature: str(b.feature, 'feature'), models, budget: str(b.budget, 'budget'), rpm: int(b.rpm, 'rpm'), tpm: int(b.tpm, 'tpm'), expires: str(b.expires, 'expires'), role };
    try {
      const { key, record } = await gw.keys.create(o);
      return json(201, { ...publicKey(record), key });
    } catch (e) {
      throw new GatewayError('invalid_value', (e as Error).message);
    }
  }
  const m = /^\/v1\/costgate\/keys\/(key_[0-9a-f]{16})\/(revoke|rotate)$/.exec(path);
  if (!m) return undefined;
  if (method !== 'POST') throw new GatewayError('method_not_allowed', `Method ${method} is not allowed on ${path}; use POST.`);
  const id = m[1]!;
  if (m[2] === 'revoke') {
    if (!(await gw.keys.revoke(id))) throw new GatewayError('not_found', `No key ${id}`);
    const r = await gw.keys.store.get(id);
    return json(200, publicKey(r!));
  }
  const overlap = str(bodyOf(raw).overlap, 'overlap');
  const ms = overlap === undefined ? undefined : parseDuration(overlap);
  if (overlap !== undefined && ms === undefined) throw new GatewayError('invalid_value', 'overlap: a duration like 1h, 30m', { param: 'overlap' });
  try {
    const { key, record } = await gw.keys.rotate(id, ms);
    return json(201, { ...publicKey(record), key });
  } catch (e) {
    throw new GatewayError((e as Error).message.startsWith('no key') ? 'not_found' : 'invalid_value', (e as Error).message);
  }
}
