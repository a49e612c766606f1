/**
 * Token estimates for when the provider never reported usage (the client left, the upstream cut off,
 * or it omitted usage). Counted with the o200k_base BPE (gpt-tokenizer), which is exact for current
 * OpenAI models and close for Claude and Kimi, whose tokenizers are not public. The 2.4 MB rank table
 * is loaded on first use only: estimates are rare, and they are made after the client has its answer.
 * On Lambda it is not in the bundle at all but a file beside it (`PROXY_LAZY_MODULES` in
 * infra/constructs/bundling.ts), so a cold start never parses it.
 */
type CountTokens = (text: string) => number;

let counter: Promise<CountTokens> | undefined;

function loadCounter(): Promise<CountTokens> {
  counter ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => m.countTokens);
  return counter;
}

/** Tokens in `text`; if the tokenizer cannot be loaded, about four characters a token, never a lost record. */
export async function countTokens(text: string): Promise<number> {
  if (text === '') return 0;
  try {
    return (await loadCounter())(text);
  } catch {
    return Math.ceil(text.length / 4);
  }
}

/** Inline images and files travel as base64 or data URLs; they are not text and are not counted. */
const BINARY = /^(data:[\w/+.-]+;base64,|[A-Za-z0-9+/=\r\n]{512,}$)/;

/**
 * The text a request sends the model: every string in the body except the model name, type tags and binary
 * payloads. JSON punctuation and field names are not counted; a few tokens of message framing are
 * thereby missed, which the estimate accepts.
 */
export function promptText(body: unknown): string {
  const parts: string[] = [];
  // An explicit stack, not recursion: a body's depth is bounded where it is read, but this never relies on it.
  const stack: Array<[value: unknown, key: string | undefined]> = [[body, undefined]];
  while (stack.length > 0) {
    const [value, key] = stack.pop() as [unknown, string | undefined];
    if (typeof value === 'string') {
      if (key !== 'model' && key !== 'type' && !BINARY.test(value)) parts.push(value);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], key]);
    } else if (value && typeof value === 'object') {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i]?.[1], entries[i]?.[0]]);
    }
  }
  return parts.join('\n');
}
