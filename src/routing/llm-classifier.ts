/**
 * The optional LLM tier classifier (`routing.classifier.mode: llm`): one short call to a cheap model through the
 * gateway itself, so it is metered and attributed (feature `costgate-router`) like any other call, with routing
 * bypassed for it (`x-costgate-route: off`). Any failure, timeout or unparsable answer falls back to the local one.
 */
import type { GatewayRequest, GatewayResponse } from '../pipeline/ctx.js';
import type { Tier } from './tier.js';

export const CLASSIFIER_PROMPT = 'Rate how hard this request is for an AI assistant. Answer with one word: simple, medium or complex.';

export function llmClassifier(handle: (r: GatewayRequest) => Promise<GatewayResponse>, model: string, timeoutMs: number): (text: string) => Promise<Tier | undefined> {
  return async (text) => {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const res = await handle({
        endpoint: 'chat',
        body: { model, max_tokens: 4, temperature: 0, messages: [{ role: 'system', content: CLASSIFIER_PROMPT }, { role: 'user', content: text.slice(0, 4000) }] },
        headers: { 'x-costgate-feature': 'costgate-router', 'x-costgate-route': 'off' },
        signal,
      });
      if (res.status !== 200 || res.body === undefined) return undefined;
      const j = JSON.parse(typeof res.body === 'string' ? res.body : Buffer.from(res.body).toString('utf8'));
      const m = /\b(simple|medium|complex)\b/i.exec(String(j.choices?.[0]?.message?.content ?? ''));
      return m ? (m[1]!.toLowerCase() as Tier) : undefined;
    } catch {
      return undefined;
    }
  };
}
