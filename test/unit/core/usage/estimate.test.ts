import { describe, expect, it } from 'vitest';
import { countTokens, promptText } from '../../../../functions/core/usage/estimate.ts';

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
});
