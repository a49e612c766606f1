import { describe, expect, it } from 'vitest';
import { openaiChat } from '../../../../functions/core/protocols/openai-chat.ts';
import { meteredBody, sseMeter } from '../../../../functions/core/proxy/metered-body.ts';

const encoder = new TextEncoder();

/** An upstream body that yields each piece as its own chunk, as a real provider's stream does. */
function chunked(pieces: string[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < pieces.length) controller.enqueue(encoder.encode(pieces[i++]));
      else controller.close();
    },
  });
}

describe('meteredBody', () => {
  it('ends a rewritten stream whose events arrive split across chunks (a pull that yields nothing reads on)', async () => {
    // Prepare: an OpenAI chat stream, the client did not ask for usage, so the usage-only chunk is
    // stripped; every event arrives in two halves, so some chunks complete no event at all.
    const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };
    const events = [
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'Hi' } }], usage: null })}\n\n`,
      `data: ${JSON.stringify({ choices: [], usage })}\n\n`,
      'data: [DONE]\n\n',
    ];
    const pieces = events.flatMap((e) => [e.slice(0, 10), e.slice(10)]);
    let ended = '';
    const body = meteredBody(chunked(pieces), sseMeter(openaiChat, true), {
      onFirstChunk() {},
      onEnd: (how) => {
        ended = how.kind;
      },
      errorTail: () => undefined,
    });

    // Act
    const text = await new Response(body).text();

    // Assess
    expect(text).toContain('"content":"Hi"');
    expect(text).not.toContain('completion_tokens');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(ended).toBe('complete');
  });
});
