import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../functions/core/errors.ts';
import { parseJsonObject } from '../../../functions/core/json-body.ts';

/** The depth of `{`/`[` outside strings, walked one character at a time: what the check must agree with. */
function walkedDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') deepest = Math.max(deepest, ++depth);
    else if (c === '}' || c === ']') depth--;
  }
  return deepest;
}

const refusedAsTooDeep = (text: string, maxDepth: number) => {
  try {
    parseJsonObject(text, maxDepth);
    return false;
  } catch (err) {
    return err instanceof GatewayError && /nests deeper/.test(err.message);
  }
};

describe('parseJsonObject', () => {
  it('sees brackets inside strings as text, whatever escapes come before the closing quote', () => {
    // Prepare: strings that end in escaped backslashes, hold escaped quotes, and hide brackets
    const tricky = [
      '{"a":"\\\\"}',
      '{"a":"\\"[[[[["}',
      '{"a":"\\\\\\"[[[[["}',
      '{"a":"x\\\\\\\\","b":"[[[[[["}',
    ];

    // Act + Assess: none is deeper than 1 level
    for (const text of tricky) {
      expect(JSON.parse(text)).toBeTypeOf('object');
      expect(refusedAsTooDeep(text, 1)).toBe(false);
    }
    expect(refusedAsTooDeep('{"a":"\\\\",  "b":[[]]}', 2)).toBe(true);
  });

  it('refuses exactly what a character-by-character walk finds too deep, on any text', () => {
    // Prepare: texts of structural characters, quotes, backslashes and letters
    const text = fc
      .array(fc.constantFrom('{', '}', '[', ']', '"', '\\', 'a', ':', ','), { maxLength: 60 })
      .map((cs) => cs.join(''));

    // Act + Assess: the depth limit is hit on exactly the same texts (a parse error is something else)
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 6 }), (t, max) => {
        expect(refusedAsTooDeep(t, max)).toBe(walkedDepth(t) > max);
      }),
      { numRuns: 5_000 },
    );
  });
});
