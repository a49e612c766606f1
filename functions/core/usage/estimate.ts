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

/**
 * The longest piece counted in one call. BPE's work on a run of characters without a break grows with
 * the square of its length: 200,000 letters in a row held the event loop for 15 s, and a body's 6 MiB
 * would for hours. Pieces end where a word starts, so ordinary text counts exactly as it would whole;
 * only a run longer than this without one is cut.
 */
const PIECE_CHARS = 400;

/** Characters counted between two turns of the event loop: a 6 MiB prompt's estimate never stalls other requests. */
const CHARS_PER_TURN = 32_768;

/** Tokens in `text`; if the tokenizer cannot be loaded, about four characters a token, never a lost record. */
export async function countTokens(text: string): Promise<number> {
  if (text === '') return 0;
  let count: CountTokens;
  try {
    count = await loadCounter();
  } catch {
    return Math.ceil(text.length / 4);
  }
  let tokens = 0;
  let sinceTurn = 0;
  for (const piece of pieces(text, PIECE_CHARS)) {
    tokens += count(piece);
    sinceTurn += piece.length;
    if (sinceTurn >= CHARS_PER_TURN) {
      sinceTurn = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return tokens;
}

/** `text` in pieces of at most `max` characters, each ending where a word starts if one does in it. */
export function* pieces(text: string, max: number): Generator<string> {
  let at = 0;
  while (text.length - at > max) {
    let end = at + max;
    let cut = end;
    while (cut > at + 1 && !startsWord(text, cut)) cut--;
    if (cut > at + 1) end = cut;
    // Never between the two halves of a surrogate pair.
    else if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
    yield text.slice(at, end);
    at = end;
  }
  yield text.slice(at);
}

/**
 * A space after a character that is not white: where o200k's pre-tokenizer starts a word of its own
 * (` word`), so a piece cut there counts as the whole would.
 */
const startsWord = (text: string, at: number) =>
  text.charCodeAt(at) === 0x20 && !/\s/.test(text[at - 1] ?? ' ');
const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;

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
