/** Upstream failures → the GatewayError the client sees, and whether another attempt may help. */
import { GatewayError } from '../errors.js';
import { classifyUpstreamError } from '../../providers/adapter.js';
import { errors as undiciErrors } from 'undici';

export interface AttemptFailure {
  error: GatewayError;
  retryable: boolean;
  retryAfterMs?: number;
  status: number;
}

/** An upstream HTTP error response. */
export function fromUpstreamStatus(status: number, bodyText: string, deployment: string, retryAfterMs?: number): AttemptFailure {
  const { retryable, message } = classifyUpstreamError(status, bodyText);
  let error: GatewayError;
  if (status === 429) {
    error = new GatewayError('upstream_rate_limited', `upstream rate limit (${deployment}): ${message}`, {
      retryAfterSec: retryAfterMs !== undefined ? retryAfterMs / 1000 : undefined,
    });
  } else if (status === 401 || status === 403) {
    // The provider rejected the gateway's own credentials: a gateway configuration fault, not the client's.
    error = new GatewayError('upstream_error', `provider rejected the gateway's credentials for ${deployment} (HTTP ${status})`);
  } else if (status === 404) {
    error = new GatewayError('model_not_found', message);
  } else if (status === 503 || status === 529) {
    error = new GatewayError('upstream_unavailable', `upstream unavailable (${deployment}): ${message}`);
  } else if (status >= 500) {
    error = new GatewayError('upstream_error', `upstream error (${deployment}, HTTP ${status}): ${message}`);
  } else if (status === 408) {
    error = new GatewayError('upstream_timeout', `upstream timeout (${deployment}): ${message}`);
  } else {
    error = new GatewayError('upstream_client_error', message, { status: status === 413 || status === 422 ? status : 400 });
  }
  return { error, retryable, retryAfterMs, status };
}

/** A thrown error while calling upstream (connect failure, timeout, reset, abort). */
export function fromThrown(e: unknown, deployment: string, clientAborted: boolean): AttemptFailure {
  if (clientAborted) return { error: new GatewayError('invalid_request', 'client closed the request', { status: 499 }), retryable: false, status: 0 };
  const err = e as Error & { code?: string };
  const timeout =
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError ||
    err?.name === 'TimeoutError' ||
    err?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    err?.code === 'UND_ERR_BODY_TIMEOUT' ||
    err?.code === 'UND_ERR_CONNECT_TIMEOUT';
  if (timeout) return { error: new GatewayError('upstream_timeout', `upstream timed out (${deployment})`), retryable: true, status: 0 };
  return { error: new GatewayError('upstream_error', `cannot reach upstream (${deployment}): ${err?.code ?? err?.message ?? 'connection error'}`), retryable: true, status: 0 };
}
