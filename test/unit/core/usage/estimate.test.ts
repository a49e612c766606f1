import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { countTokens, pieces, promptText } from '../../../../functions/core/usage/estimate.ts';

describe('promptText', () => {
  it('collects the strings a model reads and leaves out the model name, type tags and JSON structure', () => {
    // Prepare
    const body = {
      model: 'claude-sonnet-4-5',
      system: [{ type: 'text', text: 'You are terse.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Fix the bug.' }] }],
      max_tokens: 100,
    };

    // Act
    const text = promptText(body);

    // Assess
    expect(text).toBe('You are terse.\nuser\nFix the bug.');
  });

  it('does not count inline images as text', () => {
    // Prepare
    const image = 'iVBORw0KGgo'.repeat(100);
    const body = {
      messages: [
        {
          role: 'user',
          content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: image } }],
        },
        {
          role: 'user',
          content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${image}` } }],
        },
      ],
    };

    // Act
    const text = promptText(body);

    // Assess
    expect(text).not.toContain('iVBOR');
  });
});

describe('countTokens', () => {
  it('counts with the o200k_base encoding', async () => {
    // Prepare: o200k_base splits this into 'Hello', ',', ' world', '!'
    const text = 'Hello, world!';

    // Act
    const n = await countTokens(text);

    // Assess
    expect(n).toBe(4);
  });

  it('counts nothing in an empty string', async () => {
    expect(await countTokens('')).toBe(0);
  });

  it.each([
    ['prose', 'Read the failing test, then fix the parser so it keeps the last line.\n\n'.repeat(2_000)],
    [
      'code',
      'export const twice = (xs: number[]) => xs.map((x) => x * 2);\n  // keep   spacing\n'.repeat(2_000),
    ],
  ])('counts %s in pieces exactly as whole', async (_, text) => {
    expect(await countTokens(text)).toBe(encode(text).length);
  });

  it('counts a run of 200,000 letters without a break, within 1 % of counting it whole', async () => {
    // Prepare: BPE on such a run grows with its square: whole, it held the event loop for 15 s
    const text = `${'a'.repeat(200_000)}!`;

    // Act
    const n = await countTokens(text);

    // Assess: counted whole, o200k makes 25,001 tokens of it
    expect(Math.abs(n - 25_001) / 25_001).toBeLessThan(0.01);
  });

  it('lets other work run while it counts a large prompt', async () => {
    // Prepare: the tokenizer loaded; a timer that counts the event loop's turns meanwhile
    await countTokens('warm up');
    let turns = 0;
    const timer = setInterval(() => turns++, 0);

    // Act
    await countTokens('Fix the flaky test in the parser. '.repeat(60_000));
    clearInterval(timer);

    // Assess: whole and synchronous, no timer could fire before it was done
    expect(turns).toBeGreaterThan(0);
  });
});

describe('pieces', () => {
  it('cuts where a word starts, never inside a surrogate pair, and loses nothing', () => {
    // Prepare: words, then 1,000 characters of emoji (surrogate pairs) with no space at all
    const text = `${'word '.repeat(300)}${'😀'.repeat(500)}`;

    // Act
    const cut = [...pieces(text, 400)];

    // Assess
    expect(cut.join('')).toBe(text);
    expect(cut.every((p) => p.length <= 400)).toBe(true);
    expect(cut[1]?.startsWith(' word')).toBe(true);
    expect(cut.some((p) => /^[\udc00-\udfff]/.test(p))).toBe(false);
  });
});
