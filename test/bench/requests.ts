/**
 * The requests `npm run bench` sends: one turn of a coding agent (system prompt, tool definitions,
 * history), in Anthropic Messages or OpenAI chat form, padded to an exact body size.
 */
import type { Exchange } from './measure.ts';

export type Api = 'anthropic' | 'openai';

export interface Series {
  /** Also the `x-tollgate-tags` value of its requests, so its records can be counted. */
  id: string;
  api: Api;
  stream: boolean;
  bodyBytes: number;
}

export const SMALL_BODY = 2 * 1024;
export const LARGE_BODY = 100 * 1024;

const kb = (bytes: number) => `${Math.round(bytes / 1024)}k`;

/** JSON and SSE, each with a small and a Claude-Code-sized body, for both APIs. */
export const SERIES: Series[] = (['anthropic', 'openai'] as const).flatMap((api) =>
  [false, true].flatMap((stream) =>
    [SMALL_BODY, LARGE_BODY].map((bodyBytes) => ({
      id: `seq-${api}-${stream ? 'sse' : 'json'}-${kb(bodyBytes)}`,
      api,
      stream,
      bodyBytes,
    })),
  ),
);

const PHRASE = 'Read the file, run the tests, then make the smallest change that fixes the failure. ';
const filler = (length: number) =>
  PHRASE.repeat(Math.ceil(Math.max(0, length) / PHRASE.length)).slice(0, Math.max(0, length));

/**
 * A fifth of the size goes to tool definitions, two fifths to history and the rest to the system
 * prompt, roughly the shape of a Claude Code turn (its 100 KB are mostly system prompt and tools).
 */
function turn(api: Api, stream: boolean, bytes: number, systemLength: number): Record<string, unknown> {
  const toolCount = Math.max(1, Math.round(bytes / 6_000));
  const turns = Math.max(1, Math.round(bytes / 8_000)) * 2 + 1;
  const description = filler(bytes / 5 / toolCount - 120);
  const history = Array.from({ length: turns }, (_, i) => ({
    role: i % 2 === 0 ? 'user' : 'assistant',
    content: `Step ${i}: ${filler((bytes * 2) / 5 / turns - 40)}`,
  }));
  const schema = { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] };
  const system = `You are an agent for software engineering. ${filler(systemLength)}`;
  if (api === 'anthropic') {
    return {
      model: 'claude-sonnet-4-5',
      max_tokens: 32_000,
      ...(stream && { stream: true }),
      system: [{ type: 'text', text: system }],
      tools: Array.from({ length: toolCount }, (_, i) => ({
        name: `Tool${i}`,
        description,
        input_schema: schema,
      })),
      messages: history,
      metadata: { user_id: 'bench_session_0a6f3e8e-4c1b-4b7e-9a51-2f1f7d9c1e42' },
    };
  }
  return {
    model: 'gpt-4.1-mini',
    max_completion_tokens: 8_192,
    // The gateway asks for usage on every stream anyway; ask directly too, so both carry the same chunks.
    ...(stream && { stream: true, stream_options: { include_usage: true } }),
    messages: [{ role: 'system', content: system }, ...history],
    tools: Array.from({ length: toolCount }, (_, i) => ({
      type: 'function',
      function: { name: `tool_${i}`, description, parameters: schema },
    })),
  };
}

/** The body of a series, exactly `bodyBytes` long (the filler is ASCII with nothing to escape). */
export function bodyOf({ api, stream, bodyBytes }: Omit<Series, 'id'>): string {
  const bare = JSON.stringify(turn(api, stream, bodyBytes, 0)).length;
  return JSON.stringify(turn(api, stream, bodyBytes, bodyBytes - bare));
}

export function pathOf(api: Api): string {
  return api === 'anthropic' ? '/v1/messages' : '/v1/chat/completions';
}

export function headersOf(api: Api, key: string, tag: string): Record<string, string> {
  const auth: Record<string, string> =
    api === 'anthropic'
      ? { 'x-api-key': key, 'anthropic-version': '2023-06-01' }
      : { authorization: `Bearer ${key}` };
  return { ...auth, 'content-type': 'application/json', 'x-tollgate-tags': tag };
}

/** One series' request to `base` (the mock or the gateway). */
export function exchangeOf(series: Series, base: string, key: string): Exchange {
  const endsWith = !series.stream
    ? '}'
    : series.api === 'anthropic'
      ? '{"type":"message_stop"}'
      : 'data: [DONE]';
  return {
    url: `${base}${pathOf(series.api)}`,
    headers: headersOf(series.api, key, series.id),
    body: bodyOf(series),
    endsWith,
  };
}
