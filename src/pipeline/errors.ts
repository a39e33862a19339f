/**
 * One error type for the whole gateway. Every failure a client can see is a GatewayError with a code;
 * the table below gives each code its HTTP status, OpenAI error `type` and whether an upstream retry may help.
 * The compiler checks the table is complete, and errors are rendered to wire shape in exactly one place
 * (`renderError`), for OpenAI's `{"error":{message,type,param,code}}` or Anthropic's `{"type":"error","error":{type,message}}`.
 */
import { nanosToUsd } from '../pricing/decimal.js';

export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'missing_field'
  | 'invalid_type'
  | 'invalid_value'
  | 'unsupported_media_type'
  | 'not_found'
  | 'method_not_allowed'
  | 'model_not_found'
  | 'unsupported_endpoint'
  | 'body_too_large'
  | 'input_too_large'
  | 'nesting_too_deep'
  | 'too_many_messages'
  | 'string_too_long'
  | 'too_many_streams'
  | 'unauthorized'
  | 'invalid_api_key'
  | 'model_not_allowed'
  | 'forbidden'
  | 'budget_exceeded'
  | 'rate_limited'
  | 'overloaded'
  | 'load_shed'
  | 'upstream_rate_limited'
  | 'upstream_error'
  | 'upstream_bad_response'
  | 'upstream_timeout'
  | 'upstream_unavailable'
  | 'upstream_client_error'
  | 'internal_error';

interface CodeInfo {
  status: number;
  type: string;
  anthropicType: string;
}

const CODES: Record<ErrorCode, CodeInfo> = {
  invalid_json: { status: 400, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  missing_field: { status: 400, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  invalid_type: { status: 400, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  invalid_value: { status: 400, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  not_found: { status: 404, type: 'invalid_request_error', anthropicType: 'not_found_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  model_not_found: { status: 404, type: 'invalid_request_error', anthropicType: 'not_found_error' },
  unsupported_endpoint: { status: 400, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  body_too_large: { status: 413, type: 'invalid_request_error', anthropicType: 'request_too_large' },
  input_too_large: { status: 413, type: 'invalid_request_error', anthropicType: 'request_too_large' },
  nesting_too_deep: { status: 400, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  too_many_messages: { status: 400, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  string_too_long: { status: 413, type: 'invalid_request_error', anthropicType: 'request_too_large' },
  too_many_streams: { status: 429, type: 'rate_limit_error', anthropicType: 'rate_limit_error' },
  unauthorized: { status: 401, type: 'authentication_error', anthropicType: 'authentication_error' },
  invalid_api_key: { status: 401, type: 'authentication_error', anthropicType: 'authentication_error' },
  model_not_allowed: { status: 403, type: 'permission_error', anthropicType: 'permission_error' },
  forbidden: { status: 403, type: 'permission_error', anthropicType: 'permission_error' },
  budget_exceeded: { status: 402, type: 'insufficient_quota', anthropicType: 'billing_error' },
  rate_limited: { status: 429, type: 'rate_limit_error', anthropicType: 'rate_limit_error' },
  overloaded: { status: 503, type: 'server_error', anthropicType: 'overloaded_error' },
  load_shed: { status: 503, type: 'server_error', anthropicType: 'overloaded_error' },
  upstream_rate_limited: { status: 429, type: 'rate_limit_error', anthropicType: 'rate_limit_error' },
  upstream_error: { status: 502, type: 'upstream_error', anthropicType: 'api_error' },
  upstream_bad_response: { status: 502, type: 'upstream_error', anthropicType: 'api_error' },
  upstream_timeout: { status: 504, type: 'timeout_error', anthropicType: 'timeout_error' },
  upstream_unavailable: { status: 503, type: 'server_error', anthropicType: 'overloaded_error' },
  upstream_client_error: { status: 400, type: 'invalid_request_error', anthropicType: 'invalid_request_error' },
  internal_error: { status: 500, type: 'server_error', anthropicType: 'api_error' },
};

export interface GatewayErrorOptions {
  /** The request field at fault, OpenAI's `param`. */
  param?: string | null;
  /** Override the table's status (an upstream 4xx passed through keeps its own status). */
  status?: number;
  /** Seconds a client should wait; rendered as a Retry-After header. */
  retryAfterSec?: number;
  /** Extra response headers (x-ratelimit-*, ...). */
  headers?: Record<string, string>;
  /** Extra fields merged into the error object (e.g. budget details). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly retryAfterSec?: number;
  readonly headers: Record<string, string>;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: GatewayErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = opts.status ?? CODES[code].status;
    this.type = CODES[code].type;
    this.param = opts.param ?? null;
    this.retryAfterSec = opts.retryAfterSec;
    // Its own copy: the meter adds the request's cost headers to it.
    this.headers = opts.headers ? { ...opts.headers } : {};
    this.details = opts.details;
  }

  get anthropicType(): string {
    return CODES[this.code].anthropicType;
  }
}

export function isGatewayError(e: unknown): e is GatewayError {
  return e instanceof GatewayError;
}

/** Any thrown value as a GatewayError; unknown errors become a 500 whose message leaks no internals. */
export function toGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  return new GatewayError('internal_error', 'internal gateway error', { cause: e });
}

export type WireFormat = 'openai' | 'anthropic';

/** The error body for the client's wire format. */
export function errorBody(err: GatewayError, format: WireFormat): Record<string, unknown> {
  if (format === 'anthropic') {
    return { type: 'error', error: { type: err.anthropicType, message: err.message, ...(err.details ?? {}) } };
  }
  return { error: { message: err.message, type: err.type, param: err.param, code: err.code, ...(err.details ?? {}) } };
}

/** What an error response costs unless the meter says otherwise: nothing reached a provider. */
export const NO_COST_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'x-costgate-cost-usd': nanosToUsd(0), 'x-costgate-saved-usd': nanosToUsd(0) });

/**
 * Status, headers and bytes for an error response. Every error carries the cost headers: 0 by default, or what the
 * request really cost (earlier attempts that reported usage) when the meter priced it and set them on `err.headers`.
 */
export function renderError(err: GatewayError, format: WireFormat): { status: number; headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...NO_COST_HEADERS, ...err.headers };
  if (err.retryAfterSec !== undefined) headers['retry-after'] = String(Math.max(0, Math.ceil(err.retryAfterSec)));
  return { status: err.status, headers, body: JSON.stringify(errorBody(err, format)) };
}
