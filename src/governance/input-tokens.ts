/**
 * A call's input tokens, counted at most once per model per request (the limits stage and the budget stage both
 * need them), and a cheap upper bound that lets small calls skip tokenizing: a BPE token is at least one byte, and
 * every message's JSON wrapper is longer than the few tokens of per-message overhead counted, so a request body of
 * B bytes has at most B input tokens. In-process calls have no raw bytes: 3 × the JSON length bounds its UTF-8 size.
 */
import type { Ctx } from '../pipeline/ctx.js';
import { countEmbeddingInput, countPrompt } from '../tokens/count.js';

const memo = new WeakMap<Ctx, Map<string, number>>();

export const inputTokens = {
  upperBound(ctx: Ctx): number {
    if (ctx.req.raw && !ctx.bodyChanged) return ctx.req.raw.length;
    return JSON.stringify(ctx.body).length * 3;
  },
  count(ctx: Ctx, model: string): number {
    let m = memo.get(ctx);
    if (!m) memo.set(ctx, (m = new Map()));
    let n = m.get(model);
    if (n === undefined) {
      n = ctx.endpoint === 'embeddings' ? countEmbeddingInput(ctx.body.input, model) : countPrompt(ctx.body, model);
      m.set(model, n);
    }
    return n;
  },
};
