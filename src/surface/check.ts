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
  if (typeof v !== 'number' || !Number.isFinite(v)) wrongType(param, 'a number', v);
  if (v < min || v > max) fail(param, `Invalid value for '${param}': ${v} is outside [${min}, ${max}].`);
}

export function optInt(body: Json, key: string, min: number, max: number, param = key): void {
  const v = body[key];
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) wrongType(param, 'an integer', v);
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
