import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * Bad input to every admin route answers a clear 4xx and changes nothing: the keys, teams and users
 * (with their budgets) read the same before and after the whole barrage.
 */
let mock: MockUpstream;
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url);
  await post('/team/new', { team_id: 'core', max_budget: 10 });
  await post('/user/new', { user_id: 'dana', max_budget: 5, auto_create_key: false });
  key = (await gateway.createKey({ key_alias: 'dana-cli', user_id: 'dana', team_id: 'core' })).key;
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${MASTER_KEY}` },
) {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely in assertions
  return { status: response.status, message: String(((await response.json()) as any).error?.message ?? '') };
}

const state = async () => {
  const get = async (path: string) =>
    (await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json();
  return {
    keys: await get('/key/list?size=100'),
    teams: await get('/team/list'),
    users: await get('/user/list'),
  };
};

/** A valid-looking body for each mutating route, to which each case adds its fault. */
const ROUTES: Record<string, () => Record<string, unknown>> = {
  '/key/generate': () => ({ key_alias: 'new' }),
  '/key/update': () => ({ key }),
  '/key/block': () => ({ key }),
  '/key/regenerate': () => ({ key }),
  '/key/delete': () => ({ keys: [key] }),
  '/team/new': () => ({ team_id: 'fresh' }),
  '/team/update': () => ({ team_id: 'core' }),
  '/team/member_add': () => ({ team_id: 'core', member: { user_id: 'dana' } }),
  '/team/delete': () => ({ team_ids: ['core'] }),
  '/user/new': () => ({ user_id: 'newcomer' }),
  '/user/update': () => ({ user_id: 'dana' }),
  '/user/delete': () => ({ user_ids: ['dana'] }),
};
const paths = Object.keys(ROUTES);

describe('bad input to every admin route', () => {
  let before: Awaited<ReturnType<typeof state>>;
  beforeAll(async () => {
    before = await state();
  });

  it.each(paths)('%s refuses an unknown field with 400 naming it', async (path) => {
    const answer = await post(path, { ...ROUTES[path]!(), surprise_field: 1 });
    expect(answer.status).toBe(400);
    expect(answer.message).toMatch(/surprise_field/);
  });

  it.each(paths)('%s refuses a body over 256 KiB with 413', async (path) => {
    const answer = await post(path, { ...ROUTES[path]!(), metadata: { blob: 'x'.repeat(300_000) } });
    expect(answer.status).toBe(413);
  });

  it.each(paths)('%s refuses a body that is not a JSON object with 400', async (path) => {
    const [broken, list] = [await post(path, '{"oops":'), await post(path, '[1,2]')];
    expect([broken.status, list.status]).toEqual([400, 400]);
  });

  it.each(paths)('%s refuses no key with 401 and a personal key with 403 or 404', async (path) => {
    const anonymous = await post(path, ROUTES[path]!(), {});
    const unknown = await post(path, ROUTES[path]!(), { authorization: 'Bearer sk-tg-unknown' });
    expect([anonymous.status, unknown.status]).toEqual([401, 401]);
    // Dana's key is a person's: admin routes answer 403; her own key routes may act on her keys only,
    // and these bodies name a key she may use, so they are tried with a fault instead.
    const personal = await post(
      path,
      { ...ROUTES[path]!(), max_budget: -1 },
      { authorization: `Bearer ${key}` },
    );
    expect([400, 403]).toContain(personal.status);
  });

  it.each([
    ['/key/generate', { max_budget: -1 }, /max_budget/],
    ['/key/generate', { max_budget: '10' }, /max_budget/],
    ['/key/generate', { team_id: 'ghost' }, /No team 'ghost'/],
    ['/key/generate', { budget_mode: 'loose' }, /budget_mode/],
    ['/key/generate', { max_parallel_requests: 0 }, /max_parallel_requests/],
    ['/key/generate', { model_max_budget: { 'gpt-4.1': { budget_limit: -2 } } }, /model_max_budget/],
    ['/key/generate', { soft_budget: -0.5 }, /soft_budget/],
    ['/team/new', { max_budget: -5 }, /max_budget/],
    ['/team/new', { team_id: 'core' }, /already exists/],
    ['/team/new', { models: 'gpt-4.1' }, /models/],
    ['/team/update', { team_id: 'ghost' }, /No team 'ghost'/],
    ['/team/member_add', { team_id: 'core', member: { user_id: 'x', role: 'owner' } }, /role/],
    ['/user/new', { user_id: 'dana' }, /already exists/],
    ['/user/new', { user_email: 'not-an-email' }, /user_email/],
    ['/user/new', { teams: ['ghost'] }, /No team 'ghost'/],
    ['/user/new', { user_role: 'god' }, /user_role/],
    ['/user/update', { user_id: 'ghost' }, /No user 'ghost'/],
    ['/user/update', { user_id: 'dana', rpm_limit: 1.5 }, /rpm_limit/],
    ['/user/delete', { user_ids: [] }, /user_ids/],
  ])('%s refuses %j with a clear 4xx', async (path, body, message) => {
    const answer = await post(path, body);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.message).toMatch(message);
  });

  it.each(
    [
      ['/key/generate', { budget_duration: '999999999999mo' }, /budget_duration/],
      ['/key/generate', { budget_duration: '13mo' }, /budget_duration/],
      ['/key/generate', { budget_duration: '367d' }, /budget_duration/],
      ['/key/generate', { duration: '999999999999mo' }, /duration/],
      [
        '/key/generate',
        { model_max_budget: { 'gpt-4.1': { budget_limit: 1, time_period: '53w' } } },
        /model_max_budget/,
      ],
      [
        '/key/generate',
        { provider_max_budget: { openai: { budget_limit: 1, time_period: '99999999999h' } } },
        /provider_max_budget/,
      ],
      ['/key/generate', '{"max_budget": 1e400}', /max_budget/],
      ['/key/generate', { soft_budget: 'NaN' }, /soft_budget/],
      ['/key/generate', { key_alias: 'line\nbreak' }, /key_alias/],
      ['/key/generate', { team_id: 'x'.repeat(257) }, /team_id/],
      ['/key/update', { key: 'x'.repeat(5_000) }, /key/],
      ['/key/block', { key: 'sk-tg-\u0000' }, /key/],
      ['/key/delete', { key_aliases: ['x'.repeat(300)] }, /key_aliases/],
      ['/team/new', { team_id: 'core', budget_duration: '9999999999999w' }, /budget_duration/],
      ['/team/update', { team_id: 'core', max_budget: -0.01 }, /max_budget/],
      ['/team/delete', { team_ids: ['tab\there'] }, /team_ids/],
      ['/user/new', { user_id: 'eve', budget_duration: '24mo' }, /budget_duration/],
      ['/user/update', { user_id: 'dana', budget_duration: '999999999999mo' }, /budget_duration/],
      ['/user/update', { user_id: 'x'.repeat(300) }, /user_id/],
    ].map(([path, body, field]) => ({
      path: path as string,
      body: body as Record<string, unknown> | string,
      field: field as RegExp,
      name: `${path} ${typeof body === 'string' ? body : JSON.stringify(body)}`.replace(
        /x{100,}/g,
        (x) => `<${x.length} chars>`,
      ),
    })),
  )('$name is refused with 400 naming the field', async ({ path, body, field }) => {
    const answer = await post(path, body);
    expect(answer.status).toBe(400);
    expect(answer.message).toMatch(field);
  });

  it('refuses a personal key asking for a budget period of a trillion months with 400', async () => {
    // Act
    const answer = await post(
      '/key/generate',
      { key_alias: 'forever', budget_duration: '999999999999mo' },
      { authorization: `Bearer ${key}` },
    );

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.message).toMatch(/budget_duration/);
  });

  const long = (n: number) => 'x'.repeat(n);
  it.each(
    [
      ['GET', '/spend/logs?start_date=9999-99-99', /start_date/],
      ['GET', '/spend/logs?start_date=2026-02-30', /start_date/],
      ['GET', '/spend/logs?limit=lots', /limit/],
      ['GET', '/api/reports/cost-by-user?date=2026-13-45', /date/],
      ['GET', '/api/reports/cost-by-user?date=20260101', /date/],
      ['GET', '/audit/log?since=2026-02-30', /since/],
      ['GET', '/audit/log?since=275760-09-13', /since/],
      ['GET', '/api/spend?dimension=model&team=core&from=2026-13-01&to=2026-12-31', /from/],
      ['GET', `/key/info?key=${long(5_000)}`, /key/],
      ['GET', '/key/info?key=sk-tg-%01%02', /key/],
      ['GET', `/key/list?user_id=${long(300)}`, /user_id/],
      ['GET', '/key/list?key_alias=a%00b', /key_alias/],
      ['GET', `/team/info?team_id=${long(300)}`, /team_id/],
      ['GET', '/team/info?team_id=%0A', /team_id/],
      ['GET', `/user/info?user_id=${long(300)}`, /user_id/],
      ['DELETE', '/routing/rules/%ZZ', /id/],
      ['DELETE', `/routing/rules/${long(300)}`, /id/],
      ['POST', '/key/%ZZ/regenerate', /key/],
      ['POST', `/key/${long(300)}/regenerate`, /key/],
    ].map(([method, path, field]) => ({
      method: method as string,
      path: path as string,
      field: field as RegExp,
      // Over-long values are named by their length, not printed.
      name: `${method} ${String(path).replace(/x{300,}/, (x) => `<${x.length} chars>`)}`,
    })),
  )('$name answers 400 naming the field', async ({ method, path, field }) => {
    // Act
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${MASTER_KEY}` },
      ...(method === 'POST' && { body: '{}' }),
    });

    // Assess
    // biome-ignore lint/suspicious/noExplicitAny: the error shape is checked field by field
    const body = (await response.json()) as any;
    expect(response.status).toBe(400);
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(field);
  });

  it('changed nothing, and the gateway still answers', async () => {
    expect(await state()).toEqual(before);
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  });
});

describe('the limits the boundary allows', () => {
  it.each(['12mo', '365d', '366d', '52w', '8760h', 'monthly'])(
    'accepts a budget period of %s',
    async (budget_duration) => {
      // Act
      const answer = await post('/team/new', {
        team_id: `t-${budget_duration}`,
        max_budget: 1,
        budget_duration,
      });

      // Assess
      expect(answer.status).toBe(200);
    },
  );
});
