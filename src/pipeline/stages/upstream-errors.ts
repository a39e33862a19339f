/**
 * Upstream failures → the GatewayError the client sees, and what another attempt may do about it. Two separate
 * questions: may the same deployment be tried again (`retryable`), and may the next deployment be tried (`fallback`).
 * They differ for a provider rejecting the gateway's own credentials: retrying the same key is pointless, but another
 * deployment has other credentials.
 */
import { GatewayError } from '../errors.js';
import { classifyUpstreamError } from '../../providers/adapter.js';
import { errors as undiciErrors } from 'undici';

export interface AttemptFailure {
  error: GatewayError;
  /** Another attempt on the same deployment may help. */
  retryable: boolean;
  /** The next deployment may succeed where this one failed. */
  fallback: boolean;
  retryAfterMs?: number;
  /** HTTP status of the failed attempt, 0 when no response arrived. */
  status: number;
  /** The client went away: nothing more is attempted and the circuit breaker learns nothing. */
  clientAborted?: boolean;
  /** What the attempt record calls it when it differs from `error.code` (a stream cut after its headers). */
  recordCode?: 'stream_cut';
}

/**
 * The provider key, should an upstream message quote it back (OpenAI's "Incorrect API key provided: …" does, and so
 * may a proxy's error page), is cut out of anything taken from an upstream answer before it reaches a client, a
 * record or a log: keys are never echoed or stored.
 */
export function redactKey(text: string, key: string | undefined): string {
  return key && text.includes(key) ? text.split(key).join('[redacted]') : text;
}

/** The same for a failure's message (upstream status text, a malformed answer's reason, a stream's error event). */
export function redactFailure(f: AttemptFailure, key: string | undefined): AttemptFailure {
  f.error.message = redactKey(f.error.message, key);
  return f;
}

/** A failure that another attempt may fix (5xx, 429, timeouts, malformed answers). */
export const transient = (error: GatewayError, status: number, retryAfterMs?: number): AttemptFailure => ({ error, retryable: true, fallback: true, status, retryAfterMs });

/** An upstream HTTP error response. */
export function fromUpstreamStatus(status: number, bodyText: string, deployment: string, retryAfterMs?: number): AttemptFailure {
  const { retryable, message } = classifyUpstreamError(status, bodyText);
  const retryAfterSec = retryAfterMs !== undefined ? retryAfterMs / 1000 : undefined;
  let error: GatewayError;
  if (status === 429) {
    error = new GatewayError('upstream_rate_limited', `upstream rate limit (${deployment}): ${message}`, { retryAfterSec });
  } else if (status === 401 || status === 403) {
    // The provider rejected the gateway's own credentials: a gateway configuration fault, not the client's.
    error = new GatewayError('upstream_error', `provider rejected the gateway's credentials for ${deployment} (HTTP ${status})`);
    return { error, retryable: false, fallback: true, status };
  } else if (status === 404) {
    // Providers answer 404 for a model they do not serve; OpenAI names the field at fault.
    error = new GatewayError('model_not_found', message, { param: 'model' });
  } else if (status === 503 || status === 529) {
    error = new GatewayError('upstream_unavailable', `upstream unavailable (${deployment}): ${message}`, { retryAfterSec });
  } else if (status >= 500) {
    error = new GatewayError('upstream_error', `upstream error (${deployment}, HTTP ${status}): ${message}`);
  } else if (status === 408) {
    error = new GatewayError('upstream_timeout', `upstream timeout (${deployment}): ${message}`);
  } else if (status === 409) {
    error = new GatewayError('upstream_error', `upstream conflict (${deployment}, HTTP 409): ${message}`);
  } else {
    error = new GatewayError('upstream_client_error', message, { status: status === 413 || status === 422 ? status : 400 });
  }
  return { error, retryable, fallback: retryable, retryAfterMs, status };
}

/** The client closed its connection; rendered as 499 if anything is still listening. */
export function clientClosed(): AttemptFailure {
  return { error: new GatewayError('invalid_request', 'client closed the request', { status: 499 }), retryable: false, fallback: false, status: 0, clientAborted: true };
}

function isTimeout(e: unknown): boolean {
  const err = e as Error & { code?: string };
  return (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError ||
    // AbortSignal.timeout (the provider's total budget) rejects with a DOMException named TimeoutError.
    err?.name === 'TimeoutError' ||
    err?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    err?.code === 'UND_ERR_BODY_TIMEOUT' ||
    err?.code === 'UND_ERR_CONNECT_TIMEOUT'
  );
}

/** A thrown error while calling upstream, before any response (connect failure, timeout, reset, abort). */
export function fromThrown(e: unknown, deployment: string, clientAborted: boolean): AttemptFailure {
  if (clientAborted) return clientClosed();
  if (isTimeout(e)) return transient(new GatewayError('upstream_timeout', `upstream timed out (${deployment})`), 0);
  const err = e as Error & { code?: string };
  return transient(new GatewayError('upstream_error', `cannot reach upstream (${deployment}): ${err?.code ?? err?.message ?? 'connection error'}`), 0);
}

/**
 * A thrown error while reading a response body whose headers already arrived: a timeout, or a response cut short
 * (the connection was reachable, so "cannot reach upstream" would mislead whoever reads the record).
 */
export function fromBodyError(e: unknown, deployment: string, status: number, clientAborted: boolean): AttemptFailure {
  if (clientAborted) return { ...clientClosed(), status };
  if (isTimeout(e)) return transient(new GatewayError('upstream_timeout', `upstream timed out mid-response (${deployment})`), status);
  const why = (e as { code?: string })?.code ?? (e as Error)?.message ?? 'connection closed';
  return transient(new GatewayError('upstream_bad_response', `upstream response cut short (${deployment}): ${why}`), status);
}

/** A 2xx answer the gateway cannot use (not JSON, not the expected shape). */
export function malformed(deployment: string, status: number, why: string): AttemptFailure {
  return transient(new GatewayError('upstream_bad_response', `upstream returned a malformed response (${deployment}): ${why}`), status);
}
