/** Redaction of stored bodies: each built-in kind on realistic positives, and the look-alikes it must leave alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redactor } from './redact.js';
import { assembleSse, sampleDraw } from './bodies.js';

const r = new Redactor();

test('positives: keys, bearer tokens, costgate keys, emails, cards (Luhn), phones', () => {
  const cases: [string, string][] = [
    ['my key is sk-proj-AbC123dEf456GhI789jKl0', 'my key is [REDACTED:key]'],
    ['anthropic sk-ant-api03-xY9_zZ-1234567890abcdef done', 'anthropic [REDACTED:key] done'],
    ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc', 'Authorization: [REDACTED:bearer]'],
    ['use cg-key_0123456789abcdef-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde now', 'use [REDACTED:cg-key] now'],
    ['google AIzaSyA1234567890abcdefghijklmnopqrstuv and aws AKIAIOSFODNN7EXAMPLE', 'google [REDACTED:key] and aws [REDACTED:key]'],
    ['write to jane.doe+billing@example.co.uk please', 'write to [REDACTED:email] please'],
    ['card 4111 1111 1111 1111 exp 12/29', 'card [REDACTED:card] exp 12/29'],
    ['card 5500-0000-0000-0004.', 'card [REDACTED:card].'],
    ['call +1 415 555 2671 or (415) 555-2671 or 415-555-2671', 'call [REDACTED:phone] or [REDACTED:phone] or [REDACTED:phone]'],
    ['uk +44 20 7946 0958, de +4915112345678', 'uk [REDACTED:phone], de [REDACTED:phone]'],
  ];
  for (const [input, want] of cases) assert.equal(r.text(input), want, input);
});

test('negatives: dates, versions, IPs, ids, ordinary numbers and words are kept', () => {
  const keep = [
    'on 2026-12-03 at 10:53:14 UTC',
    'version 1.2.3 and v20.20.0',
    'host 192.168.100.200 port 8080',
    'order 12345678, invoice 4111111111111112 (fails Luhn)',
    'request cg-019ae1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b',
    'a risk-management-framework and task-scheduler-for-nightly-jobs',
    'sk-short and Bearer abc',
    'the user @example said 3 + 4 = 7; 100 200 300',
    'uuid 123e4567-e89b-12d3-a456-426614174000',
  ];
  for (const s of keep) assert.equal(r.text(s), s, s);
});

test('configured patterns and exact secrets; JSON walking keeps keys and non-strings, counts by kind', () => {
  const secret = 'planted-provider-secret-value-xyz';
  const x = new Redactor([{ pattern: 'ACCT-\\d{6}', kind: 'account' }, { pattern: 'project\\s+zephyr', kind: 'codename', flags: 'i' }], [secret, 'short', undefined]);
  const counts = new Map<string, number>();
  const out = x.json({ messages: [{ role: 'user', content: `ACCT-123456 on Project Zephyr with ${secret} and short` }], n: 3, ok: true, email_field: null }, counts);
  assert.deepEqual(out, { messages: [{ role: 'user', content: '[REDACTED:account] on [REDACTED:codename] with [REDACTED:secret] and short' }], n: 3, ok: true, email_field: null });
  assert.deepEqual(Object.fromEntries(counts), { secret: 1, account: 1, codename: 1 });
});

test('stream assembly: OpenAI deltas and Anthropic text deltas; tool calls are not assembled', () => {
  const oa = ['{"choices":[{"delta":{"role":"assistant","content":""}}]}', '{"choices":[{"delta":{"content":"Hel"}}]}', '{"choices":[{"delta":{"content":"lo"}}]}', '[DONE]'].map((d) => `data: ${d}\n\n`).join('');
  assert.equal(assembleSse(oa), 'Hello');
  const an = [
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi "}}',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"there"}}',
  ].join('\n\n');
  assert.equal(assembleSse(an), 'Hi there');
  assert.equal(assembleSse('data: {"choices":[{"delta":{"tool_calls":[{"index":0}]}}]}\n\n'), undefined);
  assert.equal(assembleSse('data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t"}}\n\n'), undefined);
});

test('sample draw is deterministic per request id and spread over [0, 1)', () => {
  assert.equal(sampleDraw('abc'), sampleDraw('abc'));
  const draws = Array.from({ length: 2000 }, (_, i) => sampleDraw(`req-${i}`));
  const under = draws.filter((d) => d < 0.25).length;
  assert.ok(under > 400 && under < 600, `about a quarter under 0.25: ${under}`);
  assert.ok(draws.every((d) => d >= 0 && d < 1));
});

test('redaction keeps a client\'s "__proto__" and "constructor" keys as keys (no prototype change), redacting inside them', () => {
  const r = new Redactor();
  const v = JSON.parse('{"__proto__":{"email":"a.person@example.com"},"constructor":"x","messages":[{"role":"user","content":"hi"}]}');
  const out = r.json(v) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.equal(JSON.stringify(out), '{"__proto__":{"email":"[REDACTED:email]"},"constructor":"x","messages":[{"role":"user","content":"hi"}]}');
  assert.equal(({} as Record<string, unknown>).email, undefined);
});
