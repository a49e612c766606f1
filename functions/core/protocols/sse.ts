/**
 * A tap on a server-sent-events byte stream (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * It sees every complete event, so protocol readers can pick usage out of it, and either forwards the
 * upstream's bytes untouched as they arrive or, when a reader must drop an event, forwards whole events.
 */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** What a reader says about an event: forward it, or drop it (only honoured when rewriting). */
export type EventVerdict = 'keep' | 'drop';

export interface SseTap {
  /** Feeds upstream bytes; returns the bytes to send to the client now (possibly none). */
  push(chunk: Uint8Array): Uint8Array | undefined;
  /** Ends the stream; returns any bytes still held back. */
  end(): Uint8Array | undefined;
}

const EVENT_END = /\r\n\r\n|\n\n|\r\r/;

export function createSseTap(onEvent: (e: SseEvent) => EventVerdict, options: { rewrite: boolean }): SseTap {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = '';

  /** Splits complete events off `pending`; returns the raw text of the kept ones. */
  const drain = (): string => {
    let kept = '';
    for (let m = EVENT_END.exec(pending); m; m = EVENT_END.exec(pending)) {
      const raw = pending.slice(0, m.index + m[0].length);
      pending = pending.slice(raw.length);
      const event = parseEvent(raw);
      const verdict = event ? onEvent(event) : 'keep';
      if (verdict === 'keep') kept += raw;
    }
    return kept;
  };

  return {
    push(chunk) {
      pending += decoder.decode(chunk, { stream: true });
      const kept = drain();
      if (!options.rewrite) return chunk;
      return kept ? encoder.encode(kept) : undefined;
    },
    end() {
      pending += decoder.decode();
      // A final event without its blank line still counts (some upstreams end that way).
      if (pending.trim()) pending += '\n\n';
      const kept = drain();
      return options.rewrite && kept ? encoder.encode(kept) : undefined;
    },
  };
}

function parseEvent(raw: string): SseEvent | undefined {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of raw.split(/\r\n|\n|\r/)) {
    if (line.startsWith('data:')) data.push(line.slice(line.charAt(5) === ' ' ? 6 : 5));
    else if (line.startsWith('event:')) event = line.slice(6).trim();
  }
  return data.length > 0 || event ? { event, data: data.join('\n') } : undefined;
}

const TEXT_FIELD = /"(?:text|content|partial_json|thinking|delta|arguments)":"((?:[^"\\]|\\.)*)"/g;

/** Characters of generated text in an event's data, for estimating output when usage never arrives. */
export function generatedChars(data: string): number {
  let n = 0;
  for (const m of data.matchAll(TEXT_FIELD)) n += m[1]?.length ?? 0;
  return n;
}
