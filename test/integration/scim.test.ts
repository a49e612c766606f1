import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';
import { type Person, signInEnv, startTestIdp, type TestIdp } from '../support/oidc-idp.ts';
import { CookieClient, freePort } from '../support/sign-in-client.ts';

/**
 * SCIM deprovisioning through the real local server, with the request bodies Okta and Entra ID send
 * (their documented shapes, RFC 7644 wire format), and a real OpenID provider for the sign-ins: a
 * deactivated or deleted person's keys are refused by the proxy, their sessions end, their next sign-in
 * is refused, and the audit trail names the SCIM client; a reactivated person signs in again, their
 * keys still blocked.
 */
let mock: MockUpstream;
let idp: TestIdp;
let gateway: TestGateway;

const SCIM_TOKEN = 'scim-token-for-tests-0123456789abcdef';
const SCIM_TYPE = 'application/scim+json';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

const person = (sub: string, name: string): Person => ({
  sub,
  email: `${name}@example.com`,
  name,
  groups: ['eng-platform'],
});
const ALICE = person('00u1alice', 'alice');
const BOB = person('b-oidc-sub', 'bob');
const CARL = person('00u1carl', 'carl');
const DANA = person('00u1dana', 'dana');
const ERIN = person('00u1erin', 'erin');
const FRAN = person('00u1fran', 'fran');

beforeAll(async () => {
  mock = await startMockUpstream();
  const port = await freePort();
  idp = await startTestIdp(`http://127.0.0.1:${port}/auth/callback`);
  gateway = await startTestGateway(mock.url, {
    TOLLGATE_PORT: String(port),
    ...signInEnv(idp, [{ group: 'eng-platform', team_id: 'platform' }]),
    TOLLGATE_SCIM_TOKEN: SCIM_TOKEN,
  });
  await master('/team/new', {
    team_id: 'platform',
    team_member_budget: 25,
    team_member_budget_duration: '1mo',
  });
});
afterAll(async () => {
  await gateway?.close();
  await idp?.close();
  await mock?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: answers are read loosely in assertions
type Loose = Record<string, any>;

async function master(path: string, body?: unknown): Promise<{ status: number; body: Loose }> {
  const response = await fetch(`${gateway.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Loose };
}

/** A SCIM call as the IdP makes it: its bearer token, `application/scim+json`. */
async function scim(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = SCIM_TOKEN,
): Promise<{ status: number; type: string | null; body: Loose }> {
  const response = await fetch(`${gateway.url}/scim/v2${path}`, {
    method,
    headers: {
      accept: SCIM_TYPE,
      'content-type': SCIM_TYPE,
      ...(token !== null && { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: text ? (JSON.parse(text) as Loose) : {},
  };
}

async function signedIn(who: Person): Promise<{ client: CookieClient; csrf: string }> {
  const client = new CookieClient();
  idp.signInAs(who);
  const callback = await client.signIn(gateway.url);
  expect(callback.status).toBe(303);
  const session = await client.fetch(`${gateway.url}/auth/session`);
  return { client, csrf: String(((await session.json()) as Loose).csrf_token) };
}

/** A key the person issues themselves from their session. */
async function ownKey(session: { client: CookieClient; csrf: string }): Promise<string> {
  const response = await session.client.fetch(`${gateway.url}/key/generate`, {
    method: 'POST',
    headers: { 'x-csrf-token': session.csrf },
    body: JSON.stringify({ key_alias: 'laptop' }),
  });
  expect(response.status).toBe(200);
  return String(((await response.json()) as Loose).key);
}

/** One call through the proxy in each protocol, with the key. */
async function throughProxy(key: string) {
  const openai = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  const anthropic = await fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'claude-haiku-4-5',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  return {
    openai: { status: openai.status, body: (await openai.json()) as Loose },
    anthropic: { status: anthropic.status, body: (await anthropic.json()) as Loose },
  };
}

const sessionAlive = async (client: CookieClient) =>
  (await client.fetch(`${gateway.url}/auth/session`)).status === 200;

async function auditOf(target: string) {
  const { body } = await master('/audit/log?limit=1000');
  return (body.entries as Loose[]).filter((e) => e.target === target || e.details?.scim_id === target);
}

/** Okta's create request (its SCIM 2.0 guide): userName is the login, externalId the Okta user id. */
const oktaCreate = (who: Person) => ({
  schemas: [USER_SCHEMA],
  userName: who.email,
  name: { givenName: who.name, familyName: 'Example' },
  emails: [{ primary: true, value: who.email, type: 'work' }],
  displayName: `${who.name} Example`,
  locale: 'en-US',
  externalId: who.sub,
  groups: [],
  password: 'okta-sync-password-never-kept',
  active: true,
});

/** Entra ID's create request (its SCIM guide): the enterprise extension, `meta`, roles. */
const entraCreate = (who: Person) => ({
  schemas: [USER_SCHEMA, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
  externalId: `${who.name}-mailnickname`,
  userName: who.email,
  active: true,
  emails: [{ primary: true, type: 'work', value: who.email }],
  meta: { resourceType: 'User' },
  name: { formatted: `${who.name} Example`, familyName: 'Example', givenName: who.name },
  roles: [],
});

/** The IdP's provisioning: look the person up by userName, then create them. */
async function provision(body: Loose): Promise<string> {
  const filter = encodeURIComponent(`userName eq "${body.userName}"`);
  const found = await scim('GET', `/Users?filter=${filter}&startIndex=1&count=100`);
  expect(found.body).toMatchObject({ totalResults: 0, Resources: [] });
  const created = await scim('POST', '/Users', body);
  expect(created.status).toBe(201);
  return String(created.body.id);
}

describe('SCIM deprovisioning', () => {
  it("blocks an Okta-deactivated person's keys, ends their sessions and refuses their next sign-in", async () => {
    // Prepare
    const session = await signedIn(ALICE);
    const key = await ownKey(session);
    expect((await throughProxy(key)).openai.status).toBe(200);
    const id = await provision(oktaCreate(ALICE));

    // Act
    const patched = await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    const proxied = await throughProxy(key);
    const again = await new CookieClient().signIn(gateway.url);

    // Assess
    expect(patched.status).toBe(200);
    expect(patched.type).toContain(SCIM_TYPE);
    expect(patched.body).toMatchObject({ schemas: [USER_SCHEMA], id, userName: ALICE.email, active: false });
    expect(JSON.stringify(patched.body)).not.toContain('okta-sync-password');
    expect(proxied.openai.status).toBe(403);
    expect(proxied.openai.body.error).toMatchObject({
      type: expect.any(String),
      message: expect.any(String),
    });
    expect(proxied.anthropic.status).toBe(403);
    expect(proxied.anthropic.body).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    expect(await sessionAlive(session.client)).toBe(false);
    expect(again.status).toBe(403);
    expect(await again.text()).toContain('deactivated');
    const audit = await auditOf(`user:${ALICE.email}`);
    expect(audit.find((e) => e.action === 'user.scim_deactivate')).toMatchObject({
      actor: { type: 'scim' },
      details: { scim_id: id, keys_blocked: 1, sessions_ended: 1 },
    });
    expect((await auditOf(id)).filter((e) => e.action === 'key.block')).toEqual([
      expect.objectContaining({ actor: { type: 'scim' } }),
    ]);
  });

  it("blocks an Entra-deactivated person's keys (path form, op in capitals) and refuses their sign-in", async () => {
    // Prepare
    const session = await signedIn(BOB);
    const { key } = await gateway.createKey({ user_id: BOB.email, team_id: 'platform', key_alias: 'bob-ci' });
    expect((await throughProxy(key)).anthropic.status).toBe(200);
    const id = await provision(entraCreate(BOB));

    // Act
    const patched = await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'Replace', path: 'active', value: false }],
    });
    const proxied = await throughProxy(key);
    const again = await new CookieClient().signIn(gateway.url);
    const listed = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${BOB.email}"`)}`);

    // Assess
    expect(patched.status).toBe(200);
    expect(proxied.anthropic.status).toBe(403);
    expect(proxied.anthropic.body.type).toBe('error');
    expect(await sessionAlive(session.client)).toBe(false);
    expect(again.status).toBe(403);
    expect(listed.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 1,
      Resources: [{ id, active: false }],
    });
    expect((await auditOf(`user:${BOB.email}`)).map((e) => e.action)).toContain('user.scim_deactivate');
  });

  it('takes Entra\'s older string booleans ("False") the same way', async () => {
    // Prepare
    await master('/user/new', { user_id: ERIN.email, user_email: ERIN.email });
    const { key } = await gateway.createKey({ user_id: ERIN.email, key_alias: 'erin' });
    const id = await provision(entraCreate(ERIN));

    // Act
    const patched = await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    });

    // Assess
    expect(patched.body.active).toBe(false);
    expect((await throughProxy(key)).openai.status).toBe(403);
  });

  it('deactivates with a PUT of the whole User, active false, as older Okta integrations send', async () => {
    // Prepare
    await master('/user/new', { user_id: FRAN.email, user_email: FRAN.email });
    const { key } = await gateway.createKey({ user_id: FRAN.email, key_alias: 'fran' });
    const id = await provision(oktaCreate(FRAN));
    const current = (await scim('GET', `/Users/${id}`)).body;

    // Act
    const put = await scim('PUT', `/Users/${id}`, { ...current, active: false });

    // Assess
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id, userName: FRAN.email, active: false });
    expect((await throughProxy(key)).openai.status).toBe(403);
  });

  it('treats a DELETE as deactivation: keys refused, sign-in refused, and the id then unknown (404)', async () => {
    // Prepare
    await signedIn(CARL);
    const { key } = await gateway.createKey({ user_id: CARL.email, key_alias: 'carl' });
    const id = await provision(oktaCreate(CARL));

    // Act
    const deleted = await fetch(`${gateway.url}/scim/v2/Users/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${SCIM_TOKEN}` },
    });
    const read = await scim('GET', `/Users/${id}`);
    const again = await new CookieClient().signIn(gateway.url);

    // Assess
    expect(deleted.status).toBe(204);
    expect(read.status).toBe(404);
    expect(read.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '404' });
    expect((await throughProxy(key)).openai.status).toBe(403);
    expect(again.status).toBe(403);
    expect((await auditOf(`user:${CARL.email}`)).find((e) => e.action === 'user.scim_delete')?.actor).toEqual(
      {
        type: 'scim',
      },
    );
  });

  it('lets a reactivated person sign in again, and leaves their keys blocked for an admin to unblock', async () => {
    // Prepare
    const session = await signedIn(DANA);
    const key = await ownKey(session);
    const id = await provision(oktaCreate(DANA));
    await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });

    // Act
    const reactivated = await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'REPLACE', value: { active: true } }],
    });
    idp.signInAs(DANA);
    const again = await new CookieClient().signIn(gateway.url);
    const proxied = await throughProxy(key);

    // Assess
    expect(reactivated.body.active).toBe(true);
    expect(again.status).toBe(303);
    expect(proxied.openai.status).toBe(403);
    expect((await auditOf(`user:${DANA.email}`)).map((e) => e.action)).toContain('user.scim_reactivate');
  });
});

describe('what the SCIM endpoint refuses', () => {
  it.each([
    ['no token', null],
    ['a wrong token', 'scim-token-for-tests-0123456789abcdeX'],
    ['the master key', MASTER_KEY],
  ])('answers %s with a 401 SCIM error', async (_what, token) => {
    // Act
    const answer = await scim('GET', '/Users', undefined, token);

    // Assess
    expect(answer.status).toBe(401);
    expect(answer.type).toContain(SCIM_TYPE);
    expect(answer.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '401' });
  });

  it('answers an unknown id with a 404 SCIM error, on read and on change', async () => {
    // Act
    const read = await scim('GET', '/Users/no-such-id');
    const patched = await scim('PATCH', '/Users/no-such-id', {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });

    // Assess
    for (const answer of [read, patched]) {
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '404' });
    }
  });

  it.each([
    ['no Operations', { schemas: [PATCH_OP] }, 'invalidSyntax'],
    [
      'an unknown op',
      { schemas: [PATCH_OP], Operations: [{ op: 'disable', path: 'active' }] },
      'invalidSyntax',
    ],
    [
      'a non-boolean active',
      { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: 'maybe' }] },
      'invalidValue',
    ],
    ['no PatchOp schema', { Operations: [{ op: 'replace', path: 'active', value: false }] }, 'invalidSyntax'],
  ])('answers a PATCH with %s with a 400 SCIM error, and changes nothing', async (_what, body, scimType) => {
    // Prepare
    const id = String(
      (
        await scim('POST', '/Users', {
          schemas: [USER_SCHEMA],
          userName: `p-${scimType}-${Math.random()}@example.com`,
        })
      ).body.id,
    );

    // Act
    const patched = await scim('PATCH', `/Users/${id}`, body);
    const read = await scim('GET', `/Users/${id}`);

    // Assess
    expect(patched.status).toBe(400);
    expect(patched.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '400', scimType });
    expect(read.body.active).toBe(true);
  });

  it('refuses a second person with the same userName (409 uniqueness)', async () => {
    // Prepare
    await scim('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'twice@example.com' });

    // Act
    const again = await scim('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'TWICE@example.com' });

    // Assess
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
  });

  it('describes itself in ServiceProviderConfig: PATCH and filter supported, bearer token', async () => {
    // Act
    const config = await scim('GET', '/ServiceProviderConfig');

    // Assess
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      filter: { supported: true },
      bulk: { supported: false },
      authenticationSchemes: [{ type: 'oauthbearertoken' }],
    });
  });
});
