import { describe, expect, it } from 'vitest';
import {
  createSseTap,
  createTextCollector,
  type EventVerdict,
  type SseEvent,
} from '../../../../functions/core/protocols/sse.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (s: string) => encoder.encode(s);

/** A tap that records every event it sees and drops those `drop` says to. */
function recordingTap(rewrite: boolean, drop: (e: SseEvent) => boolean = () => false) {
  const seen: SseEvent[] = [];
  const tap = createSseTap(
    (e): EventVerdict => {
      seen.push(e);
      return drop(e) ? 'drop' : 'keep';
    },
    { rewrite },
  );
  return { tap, seen };
}

/** Feeds the chunks and the end, and returns everything the tap forwarded, as text. */
function run(tap: ReturnType<typeof createSseTap>, chunks: Uint8Array[]): string {
  const out: Uint8Array[] = [];
  for (const c of chunks) {
    const forwarded = tap.push(c);
    if (forwarded) out.push(forwarded);
  }
  const rest = tap.end();
  if (rest) out.push(rest);
  return decoder.decode(Buffer.concat(out));
}

describe('createSseTap in pass-through mode', () => {
  it('forwards each upstream chunk itself, untouched, even mid-event', () => {
    // Prepare
    const { tap } = recordingTap(false);
    const chunks = [bytes('event: message_start\ndata: {"a"'), bytes(':1}\n\nevent: ping\n')];

    // Act
    const forwarded = chunks.map((c) => tap.push(c));
    const rest = tap.end();

    // Assess
    expect(forwarded[0]).toBe(chunks[0]);
    expect(forwarded[1]).toBe(chunks[1]);
    expect(rest).toBeUndefined();
  });

  it('sees an event split across chunks once it is complete', () => {
    // Prepare
    const { tap, seen } = recordingTap(false);

    // Act
    tap.push(bytes('event: message_start\ndata: {"type":'));
    const afterFirst = seen.length;
    tap.push(bytes('"message_start"}\n'));
    const afterSecond = seen.length;
    tap.push(bytes('\nevent: ping\ndata: {"type":"ping"}\n\n'));

    // Assess
    expect([afterFirst, afterSecond]).toEqual([0, 0]);
    expect(seen).toEqual([
      { event: 'message_start', data: '{"type":"message_start"}' },
      { event: 'ping', data: '{"type":"ping"}' },
    ]);
  });

  it('reads events with \\r\\n line endings, even when the blank line is split across chunks', () => {
    // Prepare
    const { tap, seen } = recordingTap(false);

    // Act
    tap.push(bytes('event: a\r\ndata: one\r\n\r'));
    tap.push(bytes('\nevent: b\r\ndata: two\r\n\r\n'));

    // Assess
    expect(seen).toEqual([
      { event: 'a', data: 'one' },
      { event: 'b', data: 'two' },
    ]);
  });

  it('decodes a multi-byte character split across chunks', () => {
    // Prepare
    const { tap, seen } = recordingTap(false);
    const all = bytes('data: {"text":"prix 5 €, très bien 👍"}\n\n');
    const euro = all.indexOf(0xe2); // first byte of the three-byte €
    const emoji = all.indexOf(0xf0); // first byte of the four-byte 👍
    const chunks = [all.slice(0, euro + 1), all.slice(euro + 1, emoji + 2), all.slice(emoji + 2)];

    // Act
    for (const c of chunks) tap.push(c);

    // Assess
    expect(seen).toEqual([{ event: undefined, data: '{"text":"prix 5 €, très bien 👍"}' }]);
  });

  it('counts a final event that ends without a blank line', () => {
    // Prepare
    const { tap, seen } = recordingTap(false);

    // Act
    run(tap, [bytes('data: first\n\ndata: last')]);

    // Assess
    expect(seen.map((e) => e.data)).toEqual(['first', 'last']);
  });

  it('joins multi-line data, accepts `data:` without a space and skips comments', () => {
    // Prepare
    const { tap, seen } = recordingTap(false);

    // Act
    run(tap, [bytes(': keep-alive\n\ndata: line one\ndata:line two\n\nid: 7\nevent: done\n\n')]);

    // Assess
    expect(seen).toEqual([
      { event: undefined, data: 'line one\nline two' },
      { event: 'done', data: '' },
    ]);
  });
});

describe('createSseTap in rewrite mode', () => {
  it('forwards kept events whole and leaves out dropped ones', () => {
    // Prepare
    const { tap } = recordingTap(true, (e) => e.data.includes('"usage"'));
    const stream = 'data: {"n":1}\n\ndata: {"choices":[],"usage":{}}\n\ndata: [DONE]\n\n';
    const chunks = [bytes(stream.slice(0, 9)), bytes(stream.slice(9, 30)), bytes(stream.slice(30))];

    // Act
    const out = run(tap, chunks);

    // Assess
    expect(out).toBe('data: {"n":1}\n\ndata: [DONE]\n\n');
  });

  it('holds back an incomplete event instead of forwarding part of it', () => {
    // Prepare
    const { tap } = recordingTap(true);

    // Act
    const partial = tap.push(bytes('data: {"n":'));
    const complete = tap.push(bytes('1}\n\n'));

    // Assess
    expect(partial).toBeUndefined();
    expect(decoder.decode(complete)).toBe('data: {"n":1}\n\n');
  });

  it('keeps \\r\\n line endings and multi-byte text byte for byte', () => {
    // Prepare
    const { tap } = recordingTap(true);
    const stream = 'event: a\r\ndata: {"text":"€"}\r\n\r\n';
    const all = bytes(stream);
    const split = all.indexOf(0xe2) + 1;

    // Act
    const out = run(tap, [all.slice(0, split), all.slice(split)]);

    // Assess
    expect(out).toBe(stream);
  });

  it('forwards a final event without a blank line at the end, terminated', () => {
    // Prepare
    const { tap } = recordingTap(true);

    // Act
    const out = run(tap, [bytes('data: first\n\ndata: last')]);

    // Assess
    expect(out).toBe('data: first\n\ndata: last\n\n');
  });
});

describe('createTextCollector', () => {
  it.each([
    [
      'an Anthropic text delta',
      '{"type":"content_block_delta","delta":{"type":"text_delta","text":"Hello"}}',
      'Hello',
    ],
    ['an OpenAI chat delta', '{"choices":[{"delta":{"content":"abc"}}]}', 'abc'],
    ['a Responses text delta', '{"type":"response.output_text.delta","delta":"abcd"}', 'abcd'],
    [
      'a tool-call argument delta',
      '{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\\"a\\":1}"}}]}}]}',
      '{"a":1}',
    ],
    ['escaped text', '{"delta":{"text":"line\\nnext \\u00e9"}}', 'line\nnext é'],
    ['an event with no generated text', '{"type":"ping"}', ''],
  ])('collects the text of %s, unescaped', (_, data, expected) => {
    // Prepare
    const collector = createTextCollector();

    // Act
    collector.add(data);

    // Assess
    expect(collector.text()).toBe(expected);
  });

  it('joins the text of successive events', () => {
    // Prepare
    const collector = createTextCollector();

    // Act
    collector.add('{"delta":{"text":"Hel"}}');
    collector.add('{"delta":{"text":"lo"}}');

    // Assess
    expect(collector.text()).toBe('Hello');
  });
});
