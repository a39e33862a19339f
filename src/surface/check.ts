/** Small, fast shape checks for request validation (hot path: no schema compilation, no allocation on success). */
import { GatewayError } from '../pipeline/errors.js';

export type Json = Record<string, any>;

export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export function fail(param: string, message: string, code: 'invalid_type' | 'invalid_value' | 'missing_field' = 'invalid_value'): never {
  throw new GatewayError(code, message, { param });
}

export function wrongType(param: string, expected: string, v: unknown): never {
  fail(param, `Invalid type for '${param}': expected ${expected}, but got ${typeName(v)}.`, 'invalid_type');
}

export function required(body: Json, key: string): unknown {
  const v = body[key];
  if (v === undefined) fail(key, `Missing required parameter: '${key}'.`, 'missing_field');
  return v;
}

export function optString(body: Json, key: string, param = key): void {
  const v = body[key];
  if (v !== undefined && v !== null && typeof v !== 'string') wrongType(param, 'a string', v);
}

export function optBool(body: Json, key: string, param = key): void {
  const v = body[key];
  if (v !== undefined && v !== null && typeof v !== 'boolean') wrongType(param, 'a boolean', v);
}

export function optNumber(body: Json, key: string, min: number, max: number, param = key): void {
  const v = body[key];
  if (v === undefined || v === null) return;
  if (typeof v !== 'number') wrongType(param, 'a number', v);
  // JSON.parse turns 1e999 into Infinity: a number, but not one any provider accepts.
  if (!Number.isFinite(v)) fail(param, `Invalid value for '${param}': expected a finite number.`);
  if (v < min || v > max) fail(param, `Invalid value for '${param}': ${v} is outside [${min}, ${max}].`);
}

export function optInt(body: Json, key: string, min: number, max: number, param = key): void {
  const v = body[key];
  if (v === undefined || v === null) return;
  if (typeof v !== 'number') wrongType(param, 'an integer', v);
  if (!Number.isFinite(v)) fail(param, `Invalid value for '${param}': expected a finite number.`);
  if (!Number.isInteger(v)) fail(param, `Invalid type for '${param}': expected an integer, but got a decimal number.`, 'invalid_type');
  if (v < min || v > max) fail(param, `Invalid value for '${param}': ${v} is outside [${min}, ${max}].`);
}

export function nonEmptyString(v: unknown, param: string): string {
  if (typeof v !== 'string') wrongType(param, 'a string', v);
  if (v.length === 0) fail(param, `Invalid value for '${param}': must not be empty.`);
  return v;
}

export function optStringMap(body: Json, key: string): void {
  const v = body[key];
  if (v === undefined || v === null) return;
  if (!isObj(v)) wrongType(key, 'an object', v);
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') wrongType(`${key}.${k}`, 'a string', val);
  }
}

/** 'a', 'b' and 'c': the list style of OpenAI's own error messages. */
export function quoteList(values: readonly string[]): string {
  const q = values.map((v) => `'${v}'`);
  return q.length < 2 ? q.join('') : `${q.slice(0, -1).join(', ')} and ${q[q.length - 1]}`;
}

/** A required string that must be one of `allowed` (an enum from OpenAI's spec). */
export function oneOf(v: unknown, param: string, allowed: readonly string[]): string {
  if (v === undefined) fail(param, `Missing required parameter: '${param}'.`, 'missing_field');
  if (typeof v !== 'string') wrongType(param, 'a string', v);
  if (!allowed.includes(v)) fail(param, `Invalid value: '${v}'. Supported values are: ${quoteList(allowed)}.`);
  return v;
}

/** An optional (or null) object field; returns it when present. */
export function optObject(body: Json, key: string, param = key): Json | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) wrongType(param, 'an object', v);
  return v;
}
