/**
 * What the routers look at, extracted once per request from an OpenAI or Anthropic body: the user text, an estimate
 * of the prompt's tokens, tools, images, conversation depth. Cheap: one pass over the messages, no tokenizer.
 */
type Json = Record<string, any>;

export interface RouteInput {
  /** All user turns' text, oldest first, joined by blank lines. */
  userText: string;
  /** The last user turn. */
  lastUser: string;
  /** ≈ characters / 4 over every message and the system prompt. */
  tokens: number;
  tools: boolean;
  images: boolean;
  /** User turns. */
  depth: number;
  /** Response format the client asked for: `json_object`, `json_schema` (with its schema) or none. */
  responseFormat?: { type: 'json_object' } | { type: 'json_schema'; schema?: Json };
}

function partsText(content: unknown, images: { found: boolean }): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let s = '';
  for (const p of content as Json[]) {
    if (p?.type === 'text' && typeof p.text === 'string') s += (s ? '\n' : '') + p.text;
    else if (p?.type === 'image_url' || p?.type === 'image' || p?.type === 'input_image') images.found = true;
  }
  return s;
}

export function routeInput(body: Json): RouteInput {
  const images = { found: false };
  const users: string[] = [];
  let chars = 0;
  if (typeof body.system === 'string') chars += body.system.length;
  else if (Array.isArray(body.system)) chars += partsText(body.system, images).length;
  for (const m of Array.isArray(body.messages) ? (body.messages as Json[]) : []) {
    const t = partsText(m?.content, images);
    chars += t.length;
    if (m?.role === 'user') users.push(t);
  }
  const tools = Array.isArray(body.tools) && body.tools.length > 0;
  if (tools) chars += JSON.stringify(body.tools).length;
  const rf = body.response_format;
  const responseFormat =
    rf?.type === 'json_object' ? ({ type: 'json_object' } as const) : rf?.type === 'json_schema' ? ({ type: 'json_schema', schema: rf.json_schema?.schema } as const) : undefined;
  return { userText: users.join('\n\n'), lastUser: users[users.length - 1] ?? '', tokens: Math.ceil(chars / 4), tools, images: images.found, depth: users.length, responseFormat };
}
