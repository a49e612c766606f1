/**
 * Requests to the proxy routes: near-valid bodies of each protocol with the fields that size a
 * request's worst case (`max_tokens`, `n`, `stream`, `tools` and web search `max_uses`) mutated most.
 */
import fc from 'fast-check';
import {
  authHeaders,
  type FuzzRequest,
  type Json,
  type Method,
  type Mutation,
  method,
  mutate,
  nested,
  notJsonObject,
  otherHeaders,
  pathVariant,
  query,
  RAW,
  serialize,
  weirdNumber,
  weirdText,
  wrongType,
} from './values.ts';

// ---------- proxy bodies ----------

export type Family = 'anthropic' | 'count_tokens' | 'chat' | 'responses' | 'embeddings';

const message = { role: 'user', content: 'hello' };

const webSearchTool = fc.record(
  {
    type: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('web_search_20250305', 'web_search_20260209') },
      { weight: 1, arbitrary: fc.constantFrom('web_search', 'function', 'bash_20250124') },
    ),
    name: fc.oneof(fc.constant('web_search'), weirdText),
    max_uses: fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(1, 5, 1_000, 2 ** 31, 2 ** 53, 1e15, 1e300, `${RAW}1e999`) },
      { weight: 1, arbitrary: weirdNumber },
      { weight: 1, arbitrary: wrongType },
    ),
  },
  { requiredKeys: ['type'] },
);

const tools: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant([]),
  { weight: 3, arbitrary: fc.array(webSearchTool, { minLength: 1, maxLength: 5 }) },
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }),
  fc
    .tuple(fc.integer({ min: 20, max: 300 }), weirdNumber)
    .map(([n, uses]) => Array.from({ length: n }, () => ({ type: 'web_search_20250305', max_uses: uses }))),
  wrongType,
);

const validBody: Record<Family, fc.Arbitrary<Json>> = {
  anthropic: fc.record(
    {
      model: fc.constantFrom('claude-sonnet-4-5', 'claude-haiku-4-5'),
      max_tokens: fc.constantFrom(1, 100, 1000, 64_000),
      stream: fc.boolean(),
      messages: fc.constant([message]),
      metadata: fc.constantFrom(
        { user_id: '{"session_id":"5f0b0a6e-3c5e-4d1a-9e3b-2d7c1f0a9b8c"}' },
        { user_id: 'user_abc_account__session_5f0b0a6e-3c5e-4d1a-9e3b-2d7c1f0a9b8c' },
        { tags: ['fuzz'] },
      ),
      tools: fc.array(webSearchTool, { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: ['model', 'max_tokens', 'stream', 'messages'] },
  ),
  count_tokens: fc.record({
    model: fc.constantFrom('claude-sonnet-4-5', 'claude-haiku-4-5'),
    messages: fc.constant([message]),
  }),
  chat: fc.record({
    model: fc.constantFrom('gpt-4.1-mini', 'gpt-5'),
    messages: fc.constant([message]),
    stream: fc.boolean(),
    n: fc.constantFrom(1, 2),
    max_completion_tokens: fc.constantFrom(1, 100, 4000),
  }),
  responses: fc.record({
    model: fc.constantFrom('gpt-5', 'gpt-4.1-mini'),
    input: fc.constantFrom('hello', [message]),
    stream: fc.boolean(),
    max_output_tokens: fc.constantFrom(16, 1000),
  }),
  embeddings: fc.record({
    model: fc.constantFrom('text-embedding-3-small', 'text-embedding-3-large'),
    input: fc.constantFrom('hello', ['a', 'b']),
  }),
};

/** The fields whose type or size the gateway reads, with values it should refuse or pass on. */
const fieldValues: Record<string, fc.Arbitrary<unknown>> = {
  model: fc.oneof(
    wrongType,
    fc.constantFrom(
      '',
      'unknown-model',
      'openai/gpt-4.1-mini',
      'anthropic/claude-sonnet-4-5',
      'gpt-4.1-mini',
    ),
  ),
  max_tokens: fc.oneof(weirdNumber, wrongType),
  max_completion_tokens: fc.oneof(weirdNumber, wrongType),
  max_output_tokens: fc.oneof(weirdNumber, wrongType),
  n: fc.oneof(weirdNumber, fc.constantFrom(0, 1, 128, 129, 1e9, '2'), wrongType),
  stream: fc.oneof(fc.constantFrom(true, false, 'true', 1, 0, null), wrongType),
  stream_options: fc.oneof(fc.constantFrom({ include_usage: true }, { include_usage: 'yes' }), wrongType),
  tools,
  messages: fc.oneof(
    wrongType,
    fc.array(fc.record({ role: fc.constantFrom('user', 'system', 'assistant', 'tool'), content: wrongType })),
    fc.integer({ min: 90, max: 130 }).map((d) => [{ role: 'user', content: nested(d) }]),
  ),
  input: fc.oneof(wrongType, fc.array(weirdText, { maxLength: 20 })),
  metadata: fc.oneof(
    wrongType,
    fc.record({ user_id: fc.oneof(weirdText, wrongType) }),
    fc.record({ tags: fc.oneof(fc.array(weirdText, { maxLength: 40 }), wrongType) }),
  ),
  generate: fc.oneof(fc.constant(false), wrongType),
  prompt_cache_key: wrongType,
  system: wrongType,
  ['__proto__']: wrongType,
  constructor: wrongType,
};

const fieldNames = Object.keys(fieldValues);

/** The fields that size a request's worst case come up three times as often as the rest. */
const SIZING = ['max_tokens', 'max_completion_tokens', 'max_output_tokens', 'n', 'stream', 'tools'];
const fieldName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SIZING) },
  { weight: 1, arbitrary: fc.constantFrom(...fieldNames) },
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fieldName.chain((field) =>
    (fieldValues[field] as fc.Arbitrary<unknown>).map((value) => ({ op: 'set' as const, field, value })),
  ),
  fc.constantFrom(...fieldNames).map((field) => ({ op: 'delete' as const, field })),
  fc.tuple(weirdText, wrongType).map(([field, value]) => ({ op: 'set' as const, field, value })),
);

/** A body a route should accept, with up to four fields changed or dropped. */
export function nearValidBody(family: Family): fc.Arbitrary<string> {
  return fc
    .tuple(validBody[family], fc.array(mutation, { maxLength: 4 }))
    .map(([body, mutations]) => serialize(mutate(body, mutations)));
}

export function proxyBody(family: Family | undefined): fc.Arbitrary<string | Uint8Array<ArrayBuffer>> {
  const near = family ? [{ weight: 6, arbitrary: nearValidBody(family) }] : [];
  return fc.oneof(
    ...near,
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map(serialize) },
    { weight: 2, arbitrary: notJsonObject },
  );
}

// ---------- whole requests ----------

/** Proxy paths: the five proxied routes, the model list, and paths next to them that are no route. */
const PROXY_PATHS: Array<{ weight: number; arbitrary: fc.Arbitrary<[string, Family | undefined]> }> = [
  ['/v1/messages', 'anthropic', 4],
  ['/v1/messages/count_tokens', 'count_tokens', 2],
  ['/v1/chat/completions', 'chat', 4],
  ['/v1/responses', 'responses', 4],
  ['/v1/embeddings', 'embeddings', 2],
  ['/v1/models', undefined, 1],
  ['/v1/complete', 'anthropic', 1],
  ['/v1/messages/batches', 'anthropic', 1],
].map(([path, family, weight]) => ({
  weight: weight as number,
  arbitrary: fc.constant<[string, Family | undefined]>([path as string, family as Family | undefined]),
}));

export function proxyRequest(keys: string[], master: string): fc.Arbitrary<FuzzRequest> {
  return fc
    .tuple(fc.oneof(...PROXY_PATHS), fc.constantFrom('', '', '/anthropic', '/openai'))
    .chain(([[path, family], prefix]) =>
      fc.record({
        method: path === '/v1/models' ? fc.constantFrom<Method>('GET', 'GET', 'POST') : method,
        path: fc.tuple(pathVariant(`${prefix}${path}`), query).map(([p, q]) => `${p}${q}`),
        headers: fc.tuple(authHeaders(keys, master), otherHeaders).map(([a, o]) => ({ ...o, ...a })),
        body: proxyBody(family),
      }),
    )
    .map((r) => ({ ...r, body: r.method === 'GET' ? undefined : r.body }));
}
