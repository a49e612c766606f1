/**
 * Reading a client's JSON body safely: the size is checked while it arrives (a declared or actual
 * length over the limit stops the read), and the nesting depth before anything walks the parsed value,
 * so no body can exhaust the stack of a recursive walk further on (usage estimates, SDK marshalling).
 */
import { GatewayError } from './errors.ts';

/**
 * Deeper than any real request: Claude Code's largest bodies (tool JSON schemas inside messages) nest
 * about 20 levels.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * A declared body up to this size is read whole, through the server adapter's fast path, and counted
 * as declared from the start: a client that stalls after its headers holds this much at most. A larger
 * one is read through a stream, about 0.25 ms slower here, and counted as its bytes arrive.
 */
const WHOLE_READ_BYTES = 64 * 1024;

/**
 * `onChunk` is told of the body's bytes as they arrive, and may throw to stop the read (the proxy
 * counts them against what its process may hold).
 */
export async function readBodyText(
  request: Request,
  maxBytes: number,
  what = 'The request body',
  onChunk?: (bytes: number) => void,
): Promise<string> {
  const tooLarge = () =>
    new GatewayError('too_large', `${what} exceeds the gateway's limit of ${maxBytes} bytes.`);
  const declared = request.headers.get('content-length');
  if (Number(declared ?? 0) > maxBytes) throw tooLarge();
  // With a length declared the body cannot be longer (HTTP framing), so it is read whole — the server
  // adapter's fast path; a chunked body is counted as it arrives.
  if (declared !== null && (!onChunk || Number(declared) <= WHOLE_READ_BYTES)) {
    onChunk?.(Number(declared));
    return request.text();
  }
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    try {
      if (size > maxBytes) throw tooLarge();
      onChunk?.(value.byteLength);
    } catch (err) {
      await reader.cancel().catch(() => undefined);
      throw err;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Parses a JSON object no deeper than `maxDepth`; anything else is a 400 that says what is wrong. */
export function parseJsonObject(text: string, maxDepth = MAX_JSON_DEPTH): Record<string, unknown> {
  const depth = nestingDepth(text, maxDepth);
  if (depth > maxDepth) {
    throw new GatewayError(
      'invalid_request',
      `The request body nests deeper than ${maxDepth} levels of objects and arrays.`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw new GatewayError('invalid_request', 'The request body is not valid JSON.', { cause });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * The deepest nesting of `{` and `[` outside strings, counting stops once past `stopAbove`. Strings,
 * most of an agent's body, are skipped with `indexOf` rather than walked a character at a time: a
 * 100 KB turn is checked in about 20 µs instead of 400.
 */
function nestingDepth(text: string, stopAbove: number): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return deepest;
}

/** Where the string opened at `open` ends: its first quote not escaped, or the text's end. */
function closingQuote(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at === -1) return text.length;
    // Escaped only by an odd run of backslashes (`\\"` ends the string).
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}
