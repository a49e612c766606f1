import type { TokenUsage } from '../pricing/cost.ts';
import { createSseTap, createTextCollector } from '../protocols/sse.ts';
import type { Protocol } from '../protocols/types.ts';

/** What the proxy learned from a response body by the time it ended. */
export interface BodyReading {
  usage: TokenUsage | undefined;
  /** The provider's error type, if the body carried one. */
  error: string | undefined;
  generatedText: string;
}

/** Watches response bytes on their way to the client and reads usage out of them. */
export interface BodyMeter {
  push(chunk: Uint8Array): Uint8Array | undefined;
  end(): Uint8Array | undefined;
  reading(): BodyReading;
}

export function sseMeter(protocol: Protocol, stripUsageChunk: boolean): BodyMeter {
  const meter = protocol.createMeter({ stripUsageChunk });
  const tap = createSseTap((e) => meter.onEvent(e), { rewrite: stripUsageChunk });
  return {
    push: (chunk) => tap.push(chunk),
    end: () => tap.end(),
    reading: () => ({ usage: meter.usage(), error: meter.error(), generatedText: meter.generatedText() }),
  };
}

/** A JSON body passes through chunk by chunk; a copy is kept to read usage once it is complete. */
export function jsonMeter(protocol: Protocol): BodyMeter {
  const chunks: Uint8Array[] = [];
  return {
    push(chunk) {
      chunks.push(chunk);
      return chunk;
    },
    end: () => undefined,
    reading() {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return { usage: undefined, error: 'invalid_json', generatedText: text };
      }
      const usage = protocol.usageFromJson(json);
      const generated = createTextCollector();
      if (!usage) generated.add(text);
      return { usage, error: undefined, generatedText: generated.text() };
    },
  };
}

export type BodyEnd =
  | { kind: 'complete' }
  | { kind: 'upstream_failed'; cause: unknown }
  | { kind: 'client_gone' };

/**
 * Streams the upstream body to the client through the meter. Chunks are forwarded as they arrive; the
 * body closes as soon as the upstream ends, and `onEnd` runs after (the client never waits for
 * bookkeeping). An upstream failure mid-body ends the stream with `errorTail` (a protocol error event).
 */
export function meteredBody(
  upstream: ReadableStream<Uint8Array>,
  meter: BodyMeter,
  hooks: {
    onFirstChunk(): void;
    onEnd(end: BodyEnd): void;
    errorTail(cause: unknown): Uint8Array | undefined;
  },
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  let seenFirst = false;
  let ended = false;
  const end = (how: BodyEnd) => {
    if (ended) return;
    ended = true;
    hooks.onEnd(how);
  };
  return new ReadableStream<Uint8Array>({
    // A pull must enqueue or close: a stream that is pulled and gets nothing is not pulled again while
    // its reader waits. The meter may hold a chunk back (part of an event it rewrites), so read on.
    async pull(controller) {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            const rest = meter.end();
            if (rest) controller.enqueue(rest);
            controller.close();
            end({ kind: 'complete' });
            return;
          }
          if (!seenFirst) {
            seenFirst = true;
            hooks.onFirstChunk();
          }
          const out = meter.push(value);
          if (out && out.byteLength > 0) {
            controller.enqueue(out);
            return;
          }
        }
      } catch (cause) {
        const tail = hooks.errorTail(cause);
        if (tail) controller.enqueue(tail);
        controller.close();
        end({ kind: 'upstream_failed', cause });
      }
    },
    cancel(reason) {
      end({ kind: 'client_gone' });
      return reader.cancel(reason).catch(() => undefined);
    },
  });
}
