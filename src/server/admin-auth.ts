/**
 * Who may use `/v1/costgate/*` (and the dashboard). Roles: `admin` (everything, including key management) and
 * `viewer` (GET of reports and the ledger). A caller is admin with `auth.adminKey`'s secret or a virtual key of role
 * admin; viewer with `auth.viewerKey`'s or a viewer key. When no admin secret is configured and the gateway runs with
 * `auth.mode: none` (so it is bound to loopback), the admin API is open to local callers, as before keys existed.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Gateway } from '../gateway.js';
import { GatewayError } from '../pipeline/errors.js';
import { credentialOf } from '../pipeline/stages/auth.js';
import { KeyError, KeyService } from '../keys/service.js';

export type AdminRole = 'admin' | 'viewer';

const same = (a: string, b: string) => timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

export async function adminRole(gw: Gateway, headers: Record<string, string | undefined>): Promise<AdminRole> {
  const a = gw.config.auth;
  const cred = credentialOf(headers);
  const open = a.mode === 'none' && a.admin === undefined;
  if (cred === undefined) {
    if (open) return 'admin';
    throw new GatewayError('unauthorized', 'The admin API needs an admin or viewer key: send it as `Authorization: Bearer …`.');
  }
  if (a.admin !== undefined && same(cred, a.admin)) return 'admin';
  if (a.viewer !== undefined && same(cred, a.viewer)) return 'viewer';
  if (KeyService.isKeyToken(cred)) {
    try {
      const k = await gw.keys.verify(cred);
      if (k.record.role === 'admin' || k.record.role === 'viewer') return k.record.role;
    } catch (e) {
      if (!(e instanceof KeyError)) throw e;
      throw new GatewayError('unauthorized', e.message);
    }
    if (open) return 'admin';
    throw new GatewayError('forbidden', 'This key may call models, not the admin API (it needs role admin or viewer).');
  }
  if (open) return 'admin';
  throw new GatewayError('unauthorized', 'Invalid admin key.');
}

/** Viewer: read-only reports and ledger. */
export function requireRole(role: AdminRole, method: string, path: string): void {
  if (role === 'admin') return;
  if (method === 'GET' && !path.startsWith('/v1/costgate/keys')) return;
  throw new GatewayError('forbidden', `A viewer key may only read reports and the ledger (not ${method} ${path}).`);
}
