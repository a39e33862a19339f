/**
 * Request-shape limits (`server.maxJsonDepth`, `maxMessages`, `maxStringLength`): hostile bodies are refused before
 * any stage, validator or translator walks them. Over HTTP the nesting depth is checked on the raw bytes before
 * parsing (routes.ts), and a body no longer than `maxStringLength` bytes cannot hold a longer string, so the walk
 * below runs only for in-process bodies and for large HTTP bodies; the message count is one property read.
 */
import { GatewayError } from './errors.js';
import type { Endpoint } from './ctx.js';

export interface ShapeLimits {
  maxJsonDepth: number;
  maxMessages: number;
  maxStringLength: number;
}

export function nestingTooDeep(limit: number): GatewayError {
  return new GatewayError('nesting_too_deep', `The request body nests objects and arrays deeper than ${limit} levels (server.maxJsonDepth).`, {
    details: { max_depth: limit },
  });
}

function stringTooLong(len: number, limit: number, where: string): GatewayError {
  return new GatewayError('string_too_long', `A ${where} in the request body is ${len} characters long; the limit is ${limit} (server.maxStringLength).`, {
    details: { max_string_length: limit },
  });
}

/** Throws the GatewayError for the first limit `body` breaks. `rawLength`: the body's size in bytes when it came as JSON text. */
export function checkShape(body: unknown, endpoint: Endpoint, limits: ShapeLimits, rawLength?: number): void {
  if (body === null || typeof body !== 'object') return;
  const field = endpoint === 'embeddings' ? 'input' : 'messages';
  const list = (body as Record<string, unknown>)[field];
  if (Array.isArray(list) && list.length > limits.maxMessages) {
    throw new GatewayError('too_many_messages', `'${field}' has ${list.length} entries; the limit is ${limits.maxMessages} (server.maxMessages).`, {
      param: field,
      details: { max_messages: limits.maxMessages },
    });
  }
  const walkDepth = rawLength === undefined;
  const walkStrings = rawLength === undefined || rawLength > limits.maxStringLength;
  if (!walkDepth && !walkStrings) return;
  // Iterative (no recursion to overflow), each object visited once (shared references cost nothing more); an
  // in-process body may hold a cycle, which no serializer could send: found on the DFS path and refused.
  const seen = new WeakSet<object>();
  const onPath = new Set<object>();
  const EXIT = Symbol('exit');
  const stack: [unknown, number, typeof EXIT?][] = [[body, 1]];
  const push = (x: unknown, depth: number) => {
    if (x !== null && (typeof x === 'object' || typeof x === 'string')) stack.push([x, depth]);
  };
  while (stack.length > 0) {
    const [v, depth, exit] = stack.pop()!;
    if (exit) {
      onPath.delete(v as object);
      continue;
    }
    if (typeof v === 'string') {
      if (v.length > limits.maxStringLength) throw stringTooLong(v.length, limits.maxStringLength, 'string');
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (onPath.has(v)) throw new GatewayError('invalid_request', 'The request body contains a circular reference; it cannot be serialized as JSON.');
    if (seen.has(v)) continue;
    seen.add(v);
    if (walkDepth && depth > limits.maxJsonDepth) throw nestingTooDeep(limits.maxJsonDepth);
    if (walkDepth) {
      onPath.add(v);
      stack.push([v, depth, EXIT]);
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        // Only an in-process body can hold one: validators iterating with forEach would skip it, and JSON makes it null.
        if (x === undefined && walkDepth) throw new GatewayError('invalid_type', 'The request body has an undefined array element (a hole), which is not JSON.');
        push(x, depth + 1);
      }
    }
    else {
      for (const k of Object.keys(v)) {
        if (k.length > limits.maxStringLength) throw stringTooLong(k.length, limits.maxStringLength, 'key');
        push((v as Record<string, unknown>)[k], depth + 1);
      }
    }
  }
}
