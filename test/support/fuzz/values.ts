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

export type Json = Record<string, unknown>;

// ---------- values ----------

/** A JSON number as written, put in place of its marker after `JSON.stringify`. */
export const RAW = '\u0000raw:';
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

export type Mutation = { op: 'set'; field: string; value: unknown } | { op: 'delete'; field: string };

/** The body with `mutations` applied. */
export function mutate(body: Json, mutations: Mutation[]): Json {
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

/** Bytes that are not a JSON object: broken JSON, other formats, binary. */
export const notJsonObject: fc.Arbitrary<string | Uint8Array<ArrayBuffer>> = fc.oneof(
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
export function escapeBytes(text: string): string {
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
