/**
 * Incremental Server-Sent Events framing. Upstream bytes arrive in arbitrary chunks; this splits them into whole
 * events without re-encoding, so a passthrough stream forwards the provider's exact bytes.
 */

export interface SseEvent {
  /** The event's raw text, without the blank-line terminator. */
  raw: string;
  /** `event:` field, if any. */
  event?: string;
  /** `data:` lines joined with newlines, if any. */
  data?: string;
}

export class SseSplitter {
  private buf = '';
  private readonly decoder = new TextDecoder();
  private skipLf = false;
  /**
   * True when the events returned by the last push are, byte for byte, that chunk: it started and ended on an event
   * boundary (nothing carried over either way, no partial character held back), with no CR to normalise and no
   * empty event dropped. A relay may then forward the chunk itself instead of re-encoding the events' text.
   */
  exact = false;

  /** Feed a chunk; returns the events it completes. */
  push(chunk: Uint8Array | string): SseEvent[] {
    let exact = this.buf === '' && !this.skipLf && (typeof chunk === 'string' ? chunk.endsWith('\n') : chunk[chunk.length - 1] === 10);
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    this.exact = false;
    if (text === '') return [];
    // A chunk ending in '\r' may be the first half of a CRLF split across chunks: the '\n' opening the next chunk
    // belongs to it and must not count as a second line break, which would cut one event in two.
    if (this.skipLf && text.charCodeAt(0) === 10) text = text.slice(1);
    this.skipLf = text.endsWith('\r');
    if (text.indexOf('\r') === -1) this.buf += text;
    else {
      this.buf += text.replace(/\r\n?/g, '\n');
      exact = false;
    }
    const out: SseEvent[] = [];
    let idx: number;
    while ((idx = this.buf.indexOf('\n\n')) !== -1) {
      const raw = this.buf.slice(0, idx);
      this.buf = this.buf.slice(idx + 2);
      if (raw.length > 0) out.push(parseEvent(raw));
      else exact = false;
    }
    this.exact = exact && this.buf === '';
    return out;
  }

  /** Whatever is left when the stream ends (an event with no terminator, i.e. a cut stream). */
  rest(): string {
    return this.buf + this.decoder.decode().replace(/\r\n?/g, '\n');
  }
}

export function parseEvent(raw: string): SseEvent {
  // The usual event is one `data: ` line: no need to split it into lines.
  if (raw.startsWith('data: ') && raw.indexOf('\n') === -1) return { raw, data: raw.slice(6) };
  const ev: SseEvent = { raw };
  let data: string[] | undefined;
  for (const line of raw.split('\n')) {
    if (line.startsWith('data:')) (data ??= []).push(line.slice(line.charCodeAt(5) === 32 ? 6 : 5));
    else if (line === 'data') (data ??= []).push(''); // a field name alone is the field with an empty value
    else if (line.startsWith('event:')) ev.event = line.slice(line.charCodeAt(6) === 32 ? 7 : 6);
  }
  if (data) ev.data = data.join('\n');
  return ev;
}

/** Serialize one event. */
export function sseEvent(data: string, event?: string): string {
  return (event ? `event: ${event}\n` : '') + `data: ${data}\n\n`;
}
