/**
 * fast-check generators of what a careless or hostile client sends a gateway: near-valid bodies with
 * fields of the wrong type, numbers JSON allows but JavaScript cannot hold (`1e999` parses to
 * Infinity), unicode and control characters, nesting near the gateway's depth limit, raw bytes, odd
 * query strings, headers and paths. Every value can be sent by `fetch` (header values are latin-1,
 * without control characters other than tab), so what reaches the gateway is what was generated.
 */
import fc from 'fast-check';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface FuzzRequest {
  method: Method;
  /** Path and query string, as given to `fetch` (which resolves dot segments and escapes spaces). */
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array<ArrayBuffer> | undefined;
}

type Json = Record<string, unknown>;

// ---------- values ----------

/** A JSON number as written, put in place of its marker after `JSON.stringify`. */
const RAW = '\u0000raw:';
const rawNumber = fc
  .constantFrom(
    '1e999',
    '-1e999',
    '1e308',
    '-1e308',
    '-0',
    '0',
    '-1',
    '0.5',
    '1.5',
    '1e-400',
    '9007199254740993',
    '123456789012345678901234567890',
    '2147483648',
    '64000',
    '64001',
    '1E2',
  )
  .map((n) => `${RAW}${n}`);

export function serialize(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0000raw:([^"]*)"/g, '$1');
}

export const weirdNumber: fc.Arbitrary<unknown> = fc.oneof(
  rawNumber,
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1e21),
);

export const weirdText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    '\udfff',
    '\u202e\u2066',
    '\ufeff',
    '\r\n\t\b\f\v',
    'e\u0301\u0301\u0301',
    '𝕏'.repeat(50),
    '\u0000'.repeat(100),
    '{"session_id":"',
    '../../etc/passwd',
    '<script>alert(1)</script>',
    "'; DROP TABLE usage; --",
    '%ZZ%00%',
    '__proto__',
  ),
  fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'w'.repeat(n)),
);

export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  weirdText,
  weirdNumber,
  fc.boolean(),
  fc.constant(null),
  fc.constant({}),
  fc.constant([]),
  fc.jsonValue({ maxDepth: 3 }),
);

/** `depth` levels of arrays and objects around a leaf. */
export function nested(depth: number, leaf: unknown = 'x'): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value };
  return value;
}

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

type Mutation = { op: 'set'; field: string; value: unknown } | { op: 'delete'; field: string };

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

function mutate(body: Json, mutations: Mutation[]): Json {
  const out: Json = { ...body };
  for (const m of mutations) {
    // defineProperty, so `__proto__` becomes a field of the body as JSON.parse would make it.
    if (m.op === 'set')
      Object.defineProperty(out, m.field, {
        value: m.value,
        enumerable: true,
        configurable: true,
        writable: true,
      });
    else delete out[m.field];
  }
  return out;
}

/** A body a route should accept, with up to four fields changed or dropped. */
export function nearValidBody(family: Family): fc.Arbitrary<string> {
  return fc
    .tuple(validBody[family], fc.array(mutation, { maxLength: 4 }))
    .map(([body, mutations]) => serialize(mutate(body, mutations)));
}

/** Bytes that are not a JSON object: broken JSON, other formats, binary. */
const notJsonObject: fc.Arbitrary<string | Uint8Array<ArrayBuffer>> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '{',
    '{"model":',
    '{"model":"claude-sonnet-4-5"}{}',
    '\ufeff{"model":"claude-sonnet-4-5","max_tokens":1}',
    'null',
    '[]',
    '"string"',
    '1e999',
    'NaN',
    '{"model":"x","max_tokens":NaN}',
    '{"a":1,"a":2}',
    'model=claude-sonnet-4-5&max_tokens=1',
    '<?xml version="1.0"?><x/>',
    '{"model":"\\ud800"}',
    '{"model":"\\u0000"}',
  ),
  fc.uint8Array({ maxLength: 512 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.integer({ min: 120, max: 140 }).map((d) => serialize({ model: 'claude-sonnet-4-5', deep: nested(d) })),
);

export function proxyBody(family: Family | undefined): fc.Arbitrary<string | Uint8Array<ArrayBuffer>> {
  const near = family ? [{ weight: 6, arbitrary: nearValidBody(family) }] : [];
  return fc.oneof(
    ...near,
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map(serialize) },
    { weight: 2, arbitrary: notJsonObject },
  );
}

// ---------- headers, queries, paths ----------

/** Printable latin-1 and tab: what fetch sends as a header value. */
const headerChar = fc
  .oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
    { weight: 1, arbitrary: fc.constant(0x09) },
  )
  .map((c) => String.fromCharCode(c));

export const headerText = fc.string({ unit: headerChar, maxLength: 64 });

/** How a client presents one of `keys`: mostly right, sometimes missing, empty or garbled. */
export function authHeaders(keys: string[], master: string): fc.Arbitrary<Record<string, string>> {
  const [key = ''] = keys;
  return fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...keys).map((k) => ({ 'x-api-key': k })) },
    { weight: 5, arbitrary: fc.constantFrom(...keys).map((k) => ({ authorization: `Bearer ${k}` })) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<Record<string, string>>(
        {},
        { 'x-api-key': '' },
        { authorization: 'Bearer' },
        { authorization: 'Bearer ' },
        { authorization: 'Basic Zm9vOmJhcg==' },
        { authorization: `bearer ${key}` },
        { authorization: `Bearer ${key} ${key}` },
        { 'x-api-key': `${key}x` },
        { 'x-api-key': key.toUpperCase() },
        { 'x-api-key': master },
        { 'x-api-key': 'sk-'.padEnd(4_000, 'a') },
        { 'x-api-key': key, authorization: 'Bearer sk-someone-else' },
      ),
    },
    { weight: 1, arbitrary: headerText.map((v) => ({ 'x-api-key': v })) },
    { weight: 1, arbitrary: headerText.map((v) => ({ authorization: v })) },
  );
}

const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16le',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/octet-stream',
  '*/*',
  ';;;',
);

/** Everything besides the key: content-type, anthropic-version, agents' own headers, padding. */
export const otherHeaders: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      'content-type': fc.oneof(contentType, headerText),
      'anthropic-version': fc.oneof(fc.constantFrom('2023-06-01', '2099-99-99', ''), headerText),
      'anthropic-beta': fc.oneof(
        fc.constant(Array.from({ length: 40 }, (_, i) => `beta-feature-${i}-2025-01-01`).join(',')),
        headerText,
      ),
      'user-agent': fc.oneof(
        fc.constantFrom('claude-cli/2.1.0 (external, cli)', 'codex_exec/0.169.0 (Linux)', 'OpenAI/JS 6.4.0'),
        headerText,
      ),
      'x-claude-code-session-id': headerText,
      'session-id': headerText,
      'x-tollgate-tags': fc.oneof(
        headerText,
        fc.constant(Array.from({ length: 100 }, (_, i) => `t${i}`).join(',')),
      ),
      'content-encoding': fc.constantFrom('gzip', 'br', 'identity'),
      accept: fc.constantFrom('text/event-stream', 'application/json', '*/*'),
      'x-padding': fc.integer({ min: 1_000, max: 24_000 }).map((n) => 'p'.repeat(n)),
    },
    { requiredKeys: [] },
  )
  .map(
    (headers) =>
      Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >,
  );

/** Percent-escapes each UTF-8 byte, so any text (a lone surrogate included) makes a query value. */
function escapeBytes(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

const queryPiece = fc.oneof(
  fc.constantFrom(
    'beta=true',
    'beta=%ZZ',
    '%ZZ',
    'a=%',
    'date=9999-99-99',
    'start_date=9999-99-99',
    'since=0000-00-00',
    'limit=-1',
    'limit=1e999',
    'x=%00',
    '=',
    '&&',
    'a=1&a=2',
    'api-version=2024-10-21',
    'key=%E0%A4%A',
  ),
  weirdText.map((t) => `u=${escapeBytes(t.slice(0, 200))}`),
  fc.integer({ min: 1_000, max: 8_000 }).map((n) => `long=${'v'.repeat(n)}`),
);

export const query: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 3,
    arbitrary: fc.array(queryPiece, { minLength: 1, maxLength: 4 }).map((p) => `?${p.join('&')}`),
  },
);

/** A route path as clients get it wrong: trailing and doubled slashes, escapes, case, dot segments. */
export function pathVariant(path: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant(path) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        `${path}/`,
        `${path}//`,
        `/${path}`,
        path.replace(/\/(?=[^/]*$)/, '//'),
        path.replace(/\/([a-z])/, (_, c: string) => `/%${c.charCodeAt(0).toString(16)}`),
        path.replace(/\/(?=[^/]*$)/, '%2F'),
        path.toUpperCase(),
        path.replace(/^\//, '/./'),
        `${path}/../${path.split('/').pop()}`,
        `${path}/extra`,
        `${path}%ZZ`,
        `${path};x=1`,
        `${path}/\u00e9`,
      ),
    },
  );
}

export const method: fc.Arbitrary<Method> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Method>('POST') },
  { weight: 1, arbitrary: fc.constantFrom<Method>('GET', 'PUT', 'DELETE') },
);

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

/** A valid-looking body for each admin route that takes one; `ids` are the fixtures it may name. */
export interface AdminIds {
  key: string;
  /** A key the routes that replace or remove one (regenerate, delete) act on. */
  spare: string;
  team: string;
  user: string;
}

/** Limits every owner accepts, with values it should accept. */
const validLimits: Record<string, fc.Arbitrary<unknown>> = {
  max_budget: fc.constantFrom(0, 5, 1e9),
  soft_budget: fc.constantFrom(1, 2.5),
  budget_duration: fc.constantFrom('daily', '30d', '1mo'),
  budget_mode: fc.constantFrom('strict', 'fair'),
  rpm_limit: fc.constantFrom(1, 1_000),
  tpm_limit: fc.constantFrom(1, 1_000_000),
  max_parallel_requests: fc.constantFrom(1, 8),
};

const adminRoutes = (ids: AdminIds): Array<[Method, string, fc.Arbitrary<Json> | undefined]> => {
  const budget = {
    max_budget: fc.oneof(fc.constantFrom(0, 5, 1e9), weirdNumber, wrongType),
    soft_budget: fc.oneof(weirdNumber, wrongType),
    budget_duration: fc.oneof(
      fc.constantFrom('daily', '30d', '1mo', '13mo', '0d', '-1d', '999999999999mo'),
      weirdText,
    ),
    budget_mode: fc.oneof(fc.constantFrom('strict', 'fair'), wrongType),
    rpm_limit: fc.oneof(weirdNumber, wrongType),
    tpm_limit: fc.oneof(weirdNumber, wrongType),
    max_parallel_requests: fc.oneof(weirdNumber, wrongType),
    models: fc.oneof(fc.constantFrom(['gpt-4.1-mini'], []), fc.array(weirdText, { maxLength: 5 }), wrongType),
    metadata: fc.oneof(
      fc.dictionary(weirdText, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
      fc.integer({ min: 28, max: 36 }).map((d) => nested(d)),
      wrongType,
    ),
    model_max_budget: fc.oneof(
      fc.dictionary(weirdText, fc.record({ budget_limit: weirdNumber, time_period: weirdText })),
      wrongType,
    ),
  };
  /**
   * A valid body (`base`, and some valid limits) with up to three fields set to odd values from `odd`
   * (its own and the limits') or to a field the route does not know.
   */
  const partial = (
    odd: Record<string, fc.Arbitrary<unknown>>,
    base: Record<string, fc.Arbitrary<unknown>> = {},
  ) => {
    const fields: Record<string, fc.Arbitrary<unknown>> = { ...budget, ...odd };
    const change = fc.oneof(
      fc
        .constantFrom(...Object.keys(fields))
        .chain((f) => (fields[f] as fc.Arbitrary<unknown>).map((v) => [f, v] as const)),
      fc.tuple(weirdText, wrongType),
    );
    return fc
      .tuple(
        fc.record({ ...validLimits, ...base }, { requiredKeys: Object.keys(base) as never[] }),
        fc.array(change, { maxLength: 3 }),
      )
      .map(([body, changes]) =>
        mutate(
          body,
          changes.map(([field, value]) => ({ op: 'set', field, value })),
        ),
      );
  };
  const fresh = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
  const ref = (value: string) => fc.oneof({ weight: 3, arbitrary: fc.constant(value) }, weirdText, wrongType);
  const key = ref(ids.key);
  const spare = ref(ids.spare);
  const team = ref(ids.team);
  const user = ref(ids.user);
  return [
    [
      'POST',
      '/key/generate',
      partial({ key_alias: weirdText, team_id: team, user_id: user, duration: weirdText }),
    ],
    ['POST', '/key/update', partial({ key }, { key: fc.constant(ids.key) })],
    ['POST', '/key/block', fc.record({ key })],
    ['POST', '/key/unblock', fc.record({ key })],
    ['POST', '/key/regenerate', partial({ key: spare }, { key: fc.constant(ids.spare) })],
    ['POST', `/key/${encodeURIComponent(ids.spare)}/regenerate`, partial({})],
    ['POST', '/key/%ZZ/regenerate', fc.constant({})],
    [
      'POST',
      '/key/delete',
      fc.record(
        { keys: fc.oneof(fc.tuple(spare), wrongType), key_aliases: fc.oneof(fc.array(weirdText), wrongType) },
        { requiredKeys: [] },
      ),
    ],
    ['GET', '/key/info', undefined],
    ['GET', '/key/list', undefined],
    ['POST', '/team/new', partial({ team_id: team, team_alias: weirdText }, { team_id: fresh })],
    ['POST', '/team/update', partial({ team_id: team }, { team_id: fc.constant(ids.team) })],
    [
      'POST',
      '/team/member_add',
      fc.record({
        team_id: team,
        member: fc.oneof(
          fc.record({ user_id: user, role: fc.oneof(fc.constantFrom('user', 'admin'), wrongType) }),
          wrongType,
        ),
      }),
    ],
    ['POST', '/team/delete', fc.record({ team_ids: fc.oneof(fc.tuple(team), wrongType) })],
    ['GET', '/team/info', undefined],
    ['GET', '/team/list', undefined],
    [
      'POST',
      '/user/new',
      partial(
        {
          user_id: user,
          user_email: weirdText,
          user_role: fc.oneof(fc.constantFrom('internal_user', 'proxy_admin'), wrongType),
          teams: fc.oneof(fc.tuple(team), wrongType),
          auto_create_key: wrongType,
        },
        { user_id: fresh, auto_create_key: fc.constant(false) },
      ),
    ],
    ['POST', '/user/update', partial({ user_id: user }, { user_id: fc.constant(ids.user) })],
    ['POST', '/user/delete', fc.record({ user_ids: fc.oneof(fc.tuple(user), wrongType) })],
    ['GET', '/user/info', undefined],
    ['GET', '/user/list', undefined],
    ['GET', '/spend/logs', undefined],
    ['GET', '/audit/log', undefined],
    ['GET', '/api/rollup', undefined],
    ['GET', '/api/spend', undefined],
    ['GET', '/api/me', undefined],
    ['GET', '/api/reports/cost-by-user', undefined],
    ['GET', '/routing/rules', undefined],
    [
      'POST',
      '/routing/rules',
      fc.record(
        {
          name: fc.oneof(fc.constant('fuzz rule'), weirdText),
          // Scoped to an alias no key has, so a saved rule never reroutes the proxy's requests.
          scope: fc.oneof(fc.constant({ key_alias: 'nobody-has-this-alias' }), wrongType),
          priority: fc.oneof(weirdNumber, wrongType),
          condition: fc.oneof(
            fc.constantFrom(
              'true',
              'request.model == "x"',
              'budget_used > 1e999',
              '1/0 == 1',
              '"a" + 1',
              ')(',
            ),
            weirdText,
          ),
          targets: fc.oneof(
            fc.constant([{ model: 'gpt-4.1-mini' }]),
            fc.array(
              fc.record({ model: wrongType, provider: wrongType, weight: weirdNumber }, { requiredKeys: [] }),
            ),
            wrongType,
          ),
        },
        { requiredKeys: ['name', 'scope', 'condition', 'targets'] },
      ),
    ],
    ['DELETE', '/routing/rules/some-rule', undefined],
    ['DELETE', '/routing/rules/%ZZ', undefined],
    ['GET', '/health', undefined],
  ];
};

/** Query parameters the admin routes read, with values they should refuse or clamp. */
const adminQuery = (ids: AdminIds) =>
  fc
    .array(
      fc.tuple(
        fc.constantFrom(
          'key',
          'team_id',
          'user_id',
          'key_alias',
          'page',
          'size',
          'limit',
          'start_date',
          'since',
          'date',
          'dimension',
          'team',
          'from',
          'to',
        ),
        fc.oneof(
          fc.constantFrom(
            ids.key,
            ids.team,
            ids.user,
            '9999-99-99',
            '2026-02-30',
            '2026-01-01',
            '0',
            '-1',
            '1e999',
            '100000',
            'model',
            '%ZZ',
          ),
          weirdText.map((t) => escapeBytes(t.slice(0, 300))),
          fc.integer({ min: 1_000, max: 8_000 }).map((n) => 'v'.repeat(n)),
        ),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));

export function adminRequest(
  ids: AdminIds,
  auth: fc.Arbitrary<Record<string, string>>,
): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...adminRoutes(ids)).chain(([routeMethod, path, body]) =>
    fc
      .record({
        method: fc.oneof({ weight: 9, arbitrary: fc.constant(routeMethod) }, method),
        path: fc.tuple(pathVariant(path), adminQuery(ids)).map(([p, q]) => `${p}${q}`),
        headers: fc.tuple(auth, otherHeaders).map(([a, o]) => ({ ...o, ...a })),
        body: body
          ? fc.oneof(
              { weight: 8, arbitrary: body.map(serialize) },
              { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map(serialize) },
              { weight: 1, arbitrary: notJsonObject },
            )
          : fc.constant(undefined),
      })
      .map((r) => ({ ...r, body: r.method === 'GET' ? undefined : r.body })),
  );
}
