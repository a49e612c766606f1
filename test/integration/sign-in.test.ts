import { get as httpGet } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';
import { type Person, signInEnv, startTestIdp, type TestIdp } from '../support/oidc-idp.ts';
import { CookieClient, freePort } from '../support/sign-in-client.ts';

/**
 * Sign-in with the organisation's IdP, through the real local server and a real OpenID provider
 * (oidc-provider) on 127.0.0.1: the first sign-in creates the person in the team their groups name,
 * with that team's per-person budget, and they manage their own keys from the session; every forged
 * or replayed answer, and every change without its CSRF token or its role, is refused and changes nothing.
 */
let mock: MockUpstream;
let idp: TestIdp;
let gateway: TestGateway;
let breakGlassPort: number;

const ALICE: Person = { sub: 'a-1', email: 'alice@example.com', name: 'Alice', groups: ['eng-platform'] };
const VERA: Person = { sub: 'v-1', email: 'vera@example.com', name: 'Vera', groups: ['finance'] };
const NOBODY: Person = { sub: 'n-1', email: 'nobody@example.com', name: 'Nobody', groups: ['sales'] };
const ADA: Person = { sub: 'ad-1', email: 'ada@example.com', name: 'Ada', groups: ['tollgate-admins'] };

beforeAll(async () => {
  mock = await startMockUpstream();
  const port = await freePort();
  breakGlassPort = await freePort();
  idp = await startTestIdp([port, breakGlassPort].map((p) => `http://127.0.0.1:${p}/auth/callback`));
  gateway = await startTestGateway(mock.url, {
    TOLLGATE_PORT: String(port),
    ...signInEnv(idp, [
      { group: 'eng-platform', team_id: 'platform' },
      { group: 'finance', role: 'proxy_admin_viewer' },
    ]),
  });
  await master('/team/new', {
    team_id: 'platform',
    team_member_budget: 25,
    team_member_budget_duration: '1mo',
  });
  await master('/sso/group_mapping', { group: 'tollgate-admins', role: 'proxy_admin' });
});
afterAll(async () => {
  await gateway?.close();
  await idp?.close();
  await mock?.close();
});

async function master(path: string, body?: unknown) {
  const response = await fetch(`${gateway.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely in assertions
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** A call from a signed-in browser: its cookies, and its CSRF token when given. */
async function asSession(client: CookieClient, path: string, body?: unknown, csrf?: string) {
  const headers: Record<string, string> = csrf ? { 'x-csrf-token': csrf } : {};
  const response = await client.fetch(`${gateway.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely in assertions
  return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, any> };
}

async function signedIn(person: Person): Promise<{ client: CookieClient; csrf: string }> {
  const client = new CookieClient();
  idp.signInAs(person);
  const callback = await client.signIn(gateway.url);
  expect(callback.status).toBe(303);
  const session = await asSession(client, '/auth/session');
  return { client, csrf: String(session.body.csrf_token) };
}

const userExists = async (user_id: string) =>
  (await master(`/user/info?user_id=${encodeURIComponent(user_id)}`)).status === 200;

describe('sign-in with the IdP', () => {
  it('creates the person at first sign-in in the team their groups name, with its per-person budget', async () => {
    // Act
    const { client } = await signedIn(ALICE);
    const me = await asSession(client, '/api/me');

    // Assess
    expect(me.status).toBe(200);
    expect(me.body.team_id).toBe('platform');
    expect(me.body.user).toMatchObject({
      user_id: 'alice@example.com',
      user_role: 'internal_user',
      max_budget: 25,
      budget_duration: '1mo',
    });
    const team = await master('/team/info?team_id=platform');
    expect(team.body.team_info.members_with_roles).toContainEqual({
      user_id: 'alice@example.com',
      role: 'user',
    });
  });

  it('issues, lists and revokes their own key from the session, and the key works through the proxy', async () => {
    // Prepare
    const { client, csrf } = await signedIn(ALICE);

    // Act
    const made = await asSession(client, '/key/generate', { key_alias: 'alice-cli' }, csrf);
    const secret = String(made.body.key);
    const served = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}` },
      body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const listed = await asSession(client, '/key/list');
    const revoked = await asSession(client, '/key/block', { key: secret }, csrf);
    const after = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}` },
      body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });

    // Assess
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ user_id: 'alice@example.com', team_id: 'platform', max_budget: 25 });
    expect(served.status).toBe(200);
    expect(listed.body.keys.map((k: { key_alias: string }) => k.key_alias)).toContain('alice-cli');
    expect(revoked.status).toBe(200);
    expect(after.status).toBe(403);
  });

  it('ends the session at sign-out: the cookie no longer opens anything', async () => {
    // Prepare
    const { client, csrf } = await signedIn(ALICE);
    const stolen = new CookieClient();
    for (const [origin, jar] of client.jar) stolen.jar.set(origin, new Map(jar));

    // Act
    const out = await asSession(client, '/auth/logout', {}, csrf);
    const me = await asSession(stolen, '/api/me');

    // Assess
    expect(out.status).toBe(200);
    expect(me.status).toBe(401);
  });

  it('shows a person whose groups map to no team a clear page, and creates nothing', async () => {
    // Prepare
    const client = new CookieClient();
    idp.signInAs(NOBODY);

    // Act
    const page = await client.signIn(gateway.url);

    // Assess
    expect(page.status).toBe(403);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('none of your groups is mapped to a Tollgate team');
    expect(await userExists('nobody@example.com')).toBe(false);
  });

  it('lets an admin group use the admin routes as themselves, and audits every use of the master key', async () => {
    // Prepare
    const { client, csrf } = await signedIn(ADA);

    // Act
    const made = await asSession(client, '/team/new', { team_id: 'research' }, csrf);
    const someoneElse = await asSession(client, '/user/info?user_id=alice@example.com');
    await master('/team/list');
    const audit = await master('/audit/log?limit=1000');

    // Assess
    expect(made.status).toBe(200);
    expect(someoneElse.status).toBe(200);
    const entries = audit.body.entries as Array<{
      actor: { type: string; user_id?: string };
      action: string;
      target: string;
    }>;
    expect(entries.find((e) => e.action === 'team.new' && e.target === 'team:research')?.actor).toEqual({
      type: 'user',
      user_id: 'ada@example.com',
      via: 'session',
    });
    expect(entries.some((e) => e.action === 'master_key.use' && e.target === 'route:GET /team/list')).toBe(
      true,
    );
    expect(
      entries.some((e) => e.action === 'user.sign_in_created' && e.target === 'user:ada@example.com'),
    ).toBe(true);
  });
});

describe('what sign-in refuses, changing nothing', () => {
  async function refusedSignIn(person: Person, forge: Parameters<TestIdp['tamper']>[0]) {
    const client = new CookieClient();
    idp.signInAs(person);
    const callback = await client.signInUntilCallback(gateway.url);
    idp.tamper(forge);
    const page = await client.fetch(callback);
    return { page, client };
  }

  it.each([
    ['a wrong audience', { claims: (c: Record<string, unknown>) => ({ ...c, aud: 'someone-else' }) }],
    [
      'an expired token',
      { claims: (c: Record<string, unknown>) => ({ ...c, iat: 1_700_000_000, exp: 1_700_003_600 }) },
    ],
    ['a bad signature', { foreignKey: true }],
  ])('refuses an ID token with %s (401), with no session and no user', async (_what, forge) => {
    // Act
    const { page, client } = await refusedSignIn(
      { ...ALICE, sub: 'forged', email: 'forged@example.com' },
      forge,
    );

    // Assess
    expect(page.status).toBe(401);
    expect(
      page.headers
        .getSetCookie()
        .some((c) => c.startsWith('tollgate_session=') && !c.startsWith('tollgate_session=;')),
    ).toBe(false);
    expect((await asSession(client, '/api/me')).status).toBe(401);
    expect(await userExists('forged@example.com')).toBe(false);
  });

  it("refuses an ID token carrying an earlier sign-in's nonce (401)", async () => {
    // Prepare
    await signedIn(VERA);
    const earlier = idp.lastNonce();

    // Act
    const { page } = await refusedSignIn(
      { ...VERA, sub: 'v-2', email: 'vera2@example.com' },
      {
        claims: (c) => ({ ...c, nonce: earlier }),
      },
    );

    // Assess
    expect(page.status).toBe(401);
    expect(await userExists('vera2@example.com')).toBe(false);
  });

  it('refuses a replayed callback (its state is used once): 400, and no second session', async () => {
    // Prepare
    const client = new CookieClient();
    idp.signInAs(ALICE);
    const callback = await client.signInUntilCallback(gateway.url);
    const signin = new Map(client.jar.get(new URL(gateway.url).origin));
    expect((await client.fetch(callback)).status).toBe(303);
    const replayer = new CookieClient();
    replayer.jar.set(new URL(gateway.url).origin, signin);

    // Act
    const replayed = await replayer.fetch(callback);

    // Assess
    expect(replayed.status).toBe(400);
    expect(await replayed.text()).toContain('already used');
    expect((await asSession(replayer, '/api/me')).status).toBe(401);
  });

  it('refuses a callback in a browser that did not start the sign-in (400)', async () => {
    // Prepare
    const client = new CookieClient();
    idp.signInAs(ALICE);
    const callback = await client.signInUntilCallback(gateway.url);

    // Act
    const elsewhere = await new CookieClient().fetch(callback);

    // Assess
    expect(elsewhere.status).toBe(400);
  });

  it('refuses a change made with the session but without its CSRF token (403), and makes no key', async () => {
    // Prepare
    const { client, csrf } = await signedIn(ALICE);
    const before = (await asSession(client, '/key/list')).body.keys.length;

    // Act
    const without = await asSession(client, '/key/generate', { key_alias: 'csrf-less' });
    const wrong = await asSession(client, '/key/generate', { key_alias: 'csrf-wrong' }, `${csrf}x`);
    const otherOrigin = await client.fetch(`${gateway.url}/key/generate`, {
      method: 'POST',
      headers: { 'x-csrf-token': csrf, origin: 'https://evil.example' },
      body: JSON.stringify({ key_alias: 'csrf-origin' }),
    });

    // Assess
    expect([without.status, wrong.status, otherOrigin.status]).toEqual([403, 403, 403]);
    expect((await asSession(client, '/key/list')).body.keys.length).toBe(before);
  });

  it('refuses a viewer on an admin route (403), and the team is not made', async () => {
    // Prepare
    const { client, csrf } = await signedIn(VERA);

    // Act
    const made = await asSession(client, '/team/new', { team_id: 'vera-team' }, csrf);
    const mapped = await asSession(client, '/sso/group_mapping', { group: 'x', role: 'proxy_admin' }, csrf);

    // Assess
    expect(made.status).toBe(403);
    expect(mapped.status).toBe(403);
    expect((await master('/team/info?team_id=vera-team')).status).toBe(404);
    expect(
      (await master('/sso/group_mapping')).body.mappings.some((m: { group: string }) => m.group === 'x'),
    ).toBe(false);
  });
});

describe('a flood of sign-ins', () => {
  /** `/auth/login` from one local address (the server sees the socket's; 127.0.0.0/8 is all loopback). */
  function loginFrom(localAddress: string) {
    return new Promise<{ status: number; retryAfter: string | undefined; text: string }>((done, fail) => {
      const request = httpGet(`${gateway.url}/auth/login`, { localAddress, agent: false }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () =>
          done({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'], text }),
        );
      });
      request.on('error', fail);
    });
  }
  const pending = async () => (await gateway.stores.signIns?.list())?.length ?? Number.NaN;

  it('answers the 21st sign-in in a minute from one address 429 with retry-after, writing no pending sign-in; another address is unaffected', async () => {
    // Prepare
    idp.signInAs(ALICE);
    for (let i = 0; i < 20; i++) expect((await loginFrom('127.0.0.3')).status).toBe(302);
    const before = await pending();

    // Act
    const flooded = await loginFrom('127.0.0.3');
    const afterFlood = await pending();
    const neighbour = await loginFrom('127.0.0.4');

    // Assess
    expect(flooded.status).toBe(429);
    expect(Number(flooded.retryAfter)).toBeGreaterThan(0);
    expect(Number(flooded.retryAfter)).toBeLessThanOrEqual(60);
    expect(flooded.text).toContain('Too many sign-ins');
    expect(afterFlood).toBe(before);
    expect(neighbour.status).toBe(302);
    expect(await pending()).toBe(before + 1);
  });
});

describe('an identity provider that cannot be reached', () => {
  it('stops sign-in only (503, saying so): the gateway starts and keys still work', async () => {
    // Prepare: an issuer on a port nothing listens on.
    const down = await startTestGateway(mock.url, {
      TOLLGATE_OIDC_ISSUER: `http://127.0.0.1:${await freePort()}`,
      TOLLGATE_OIDC_CLIENT_ID: 'tollgate',
    });
    try {
      // Act
      const login = await fetch(`${down.url}/auth/login`, { redirect: 'manual' });
      const teams = await fetch(`${down.url}/team/list`, {
        headers: { authorization: `Bearer ${MASTER_KEY}` },
      });

      // Assess
      expect(login.status).toBe(503);
      expect(await login.text()).toContain('Sign-in is unavailable');
      expect(teams.status).toBe(200);
    } finally {
      await down.close();
    }
  });
});

describe('naming the IdP behind a Cognito pool (TOLLGATE_OIDC_IDENTITY_PROVIDER)', () => {
  it('asks the issuer for that IdP by name, so the pool goes straight to it; without it, asks for none', async () => {
    // Prepare
    const named = await startTestGateway(mock.url, {
      ...signInEnv(idp, [{ group: 'eng-platform', team_id: 'platform' }]),
      TOLLGATE_OIDC_IDENTITY_PROVIDER: 'org',
    });
    try {
      // Act
      const login = async (url: string) => {
        const response = await fetch(`${url}/auth/login`, { redirect: 'manual' });
        return new URL(response.headers.get('location') ?? '').searchParams;
      };
      const withName = await login(named.url);
      const without = await login(gateway.url);

      // Assess
      expect(withName.get('identity_provider')).toBe('org');
      expect(withName.get('code_challenge_method')).toBe('S256');
      expect(without.has('identity_provider')).toBe(false);
      expect(without.get('code_challenge_method')).toBe('S256');
    } finally {
      await named.close();
    }
  });
});

describe('the master key turned off (TOLLGATE_MASTER_KEY_OFF)', () => {
  it('refuses the master key (403) and audits the attempt, while a signed-in admin administers', async () => {
    // Prepare
    const locked = await startTestGateway(mock.url, {
      TOLLGATE_PORT: String(breakGlassPort),
      ...signInEnv(idp, [{ group: 'tollgate-admins', role: 'proxy_admin' }]),
      TOLLGATE_MASTER_KEY_OFF: 'true',
    });
    try {
      const client = new CookieClient();
      idp.signInAs(ADA);
      expect((await client.signIn(locked.url)).status).toBe(303);
      const csrf = (await (await client.fetch(`${locked.url}/auth/session`)).json()) as {
        csrf_token: string;
      };

      // Act
      const withMaster = await fetch(`${locked.url}/team/new`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER_KEY}` },
        body: JSON.stringify({ team_id: 'by-master' }),
      });
      const bySession = await client.fetch(`${locked.url}/team/new`, {
        method: 'POST',
        headers: { 'x-csrf-token': csrf.csrf_token },
        body: JSON.stringify({ team_id: 'by-ada' }),
      });
      const audit = (await (await client.fetch(`${locked.url}/audit/log?limit=100`)).json()) as {
        entries: Array<{ action: string; target: string }>;
      };

      // Assess
      expect(withMaster.status).toBe(403);
      expect(bySession.status).toBe(200);
      expect(audit.entries.map((e) => e.action)).toContain('master_key.refused');
      expect(audit.entries.some((e) => e.target === 'team:by-master')).toBe(false);
    } finally {
      await locked.close();
    }
  });
});
