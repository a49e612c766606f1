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

/** Enough generated text to estimate from; a longer answer is counted by its first million characters. */
const MAX_COLLECTED = 1_000_000;

/**
 * Collects the generated text out of streamed events (the string fields that carry text, reasoning or
 * tool arguments), for counting output tokens when usage never arrives.
 */
export function createTextCollector() {
  const parts: string[] = [];
  let size = 0;
  return {
    add(data: string): void {
      for (const m of data.matchAll(TEXT_FIELD)) {
        if (size >= MAX_COLLECTED) return;
        const piece = unescapeJson(m[1] ?? '');
        parts.push(piece);
        size += piece.length;
      }
    },
    text: (): string => parts.join(''),
  };
}

function unescapeJson(escaped: string): string {
  if (!escaped.includes('\\')) return escaped;
  try {
    return JSON.parse(`"${escaped}"`) as string;
  } catch {
    return escaped;
  }
}
