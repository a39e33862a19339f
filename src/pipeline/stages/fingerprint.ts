/**
 * fingerprint: right after the meter, so every parsed call gets one. The fingerprint is the exact-cache key's recipe
 * without the routing (client surface + requested model + the answer-relevant body, canonical JSON, sha256): two calls
 * with the same fingerprint asked the same question, whether or not the cache is on. It is recorded in the ledger
 * (`request_hash`) for the duplicate-call share alert. On only when that alert is, since it hashes every body.
 */
import { createHash } from 'node:crypto';
import type { Stage } from '../compose.js';
import { answerFields, canonicalJson } from '../../cache/key.js';

export function requestFingerprint(surface: string, model: string, body: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson({ s: surface, m: model, b: answerFields(body) })).digest('hex').slice(0, 32);
}

export const fingerprint = (): Stage =>
  async function fingerprint(ctx, next) {
    ctx.requestHash = requestFingerprint(ctx.surface, ctx.model, ctx.body);
    return next();
  };
