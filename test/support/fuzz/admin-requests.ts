/**
 * Requests to the admin API: valid bodies for each route with up to three odd fields, odd query
 * parameters, and the routes' own paths as clients get them wrong.
 */
import fc from 'fast-check';
import {
  escapeBytes,
  type FuzzRequest,
  type Json,
  type Method,
  method,
  mutate,
  nested,
  notJsonObject,
  otherHeaders,
  pathVariant,
  serialize,
  weirdNumber,
  weirdText,
  wrongType,
} from './values.ts';

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
