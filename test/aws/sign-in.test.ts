/**
 * OIDC sign-in as Lambda runs it: the admin function's bundle from cdk.out under aws-lambda-ric (Node 24,
 * the line it deploys on), its environment and role from the stack synthesized with `-c signIn=oidc`
 * (support/sign-in.ts says how the variant is made), against moto with IAM enforced — the table, the
 * master key, and the IdP client's secret in Secrets Manager, which the operator creates and the stack
 * names by ARN — and a real OpenID provider (oidc-provider) over HTTPS on 127.0.0.1, its certificate
 * trusted through NODE_EXTRA_CA_CERTS. The browser is plain HTTP with cookies: function URL events for
 * the dashboard's origin, shaped as the dashboard's distribution passes them on, and fetches to the IdP.
 *
 * What this proves: the bundle signs people in on the Lambda runtime — it reads the client secret at
 * cold start as its role, discovers the issuer over TLS, keeps the pending sign-in and the session in
 * DynamoDB, puts its cookies in the function URL result's `cookies` (two on the callback) with the
 * attributes a browser gets (`__Host-`, HttpOnly, Secure, SameSite=Lax), and honours CSRF, replay
 * protection and sign-out there. What only a real account can show: Cognito's hosted UI and its
 * federation (signIn=cognito: moto has no hosted UI, and the pool's domain, app client secret and SAML
 * or OIDC IdP are AWS's), CloudFront in front (its viewer-request function, the origin request policy
 * passing cookies and Origin on, the https-only behaviours: here the event is made as it would pass
 * them), the function URL's own conversion of Cookie and Set-Cookie, and DynamoDB's TTL actually
 * deleting expired sign-ins and sessions (moto keeps them).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { type Person, startTestIdp, TEST_IDP_CLIENT, type TestIdp } from '../support/oidc-idp.ts';
import { freePort } from '../support/sign-in-client.ts';
import { functionUrlEvent, type UrlRequest } from './support/events.ts';
import { type LambdaFunction, NODE_LINES, startFunction } from './support/lambda.ts';
import { recordedRefusals } from './support/moto.ts';
import { clients, type Deployment, deploy } from './support/resources.ts';
import { type Answer, cookieAttributes, SignInBrowser, synthSignIn } from './support/sign-in.ts';
import { logicalId, loopbackCertificate, physicalId } from './support/stack.ts';

const moto = { endpoint: inject('awsEndpoint'), credentials: inject('awsOperator') };
const aws = clients(moto);
const LINE = NODE_LINES.at(-1) ?? '24';
const ALICE: Person = { sub: 'a-1', email: 'alice@example.com', name: 'Alice', groups: ['eng-platform'] };
const GROUP_MAP = [{ group: 'eng-platform', team_id: 'platform' }];

let d: Deployment;
let idp: TestIdp;
let admin: LambdaFunction;
let tls: ReturnType<typeof loopbackCertificate>;
let dashboard: string;
let masterKey: string;
const browsers: SignInBrowser[] = [];

beforeAll(async () => {
  // The IdP's address goes into the template, and the template's callback URL into the IdP.
  tls = loopbackCertificate();
  const port = await freePort();
  const { ARN } = await aws.secrets.send(
    new CreateSecretCommand({ Name: 'org-idp-tollgate-client', SecretString: TEST_IDP_CLIENT.secret }),
  );
  const template = synthSignIn({
    signIn: 'oidc',
    oidcIssuer: `https://127.0.0.1:${port}`,
    oidcClientId: TEST_IDP_CLIENT.id,
    oidcClientSecretArn: ARN ?? '',
    oidcScopes: 'openid email profile groups',
    oidcGroupMap: JSON.stringify(GROUP_MAP),
  });
  d = await deploy(moto, template, 'signin');
  const callback = String(d.resolve(template.Outputs.SignInCallbackUrl?.Value));
  dashboard = new URL(callback).origin;
  idp = await startTestIdp(callback, {
    port,
    tls: { key: readFileSync(tls.key), cert: readFileSync(tls.cert) },
  });
  masterKey =
    (await aws.secrets.send(new GetSecretValueCommand({ SecretId: physicalId(d, 'masterKey') })))
      .SecretString ?? '';
  admin = await startFunction({
    deployment: d,
    moto,
    logicalId: logicalId(d.template, 'admin'),
    node: LINE,
    caFile: tls.cert,
  });
  const team = await master({
    path: '/team/new',
    body: { team_id: 'platform', team_member_budget: 25, team_member_budget_duration: '1mo' },
  });
  expect(team.status).toBe(200);
});

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await admin?.stop();
  await idp?.close();
});

// The admin function runs as its role with IAM enforced: any call moto refused it fails the test.
let refusalsBefore = 0;
beforeEach(async () => {
  refusalsBefore = (await recordedRefusals(moto.endpoint)).length;
});
afterEach(async () => {
  const refused = (await recordedRefusals(moto.endpoint)).slice(refusalsBefore);
  expect(refused.map((r) => `${d.principalOf(r.accessKeyId)}: ${r.call} ${r.code}`)).toEqual([]);
});

async function master(req: UrlRequest) {
  const inv = admin.invoke(
    functionUrlEvent({ ...req, headers: { authorization: `Bearer ${masterKey}`, ...req.headers } }),
  );
  const result = (await inv.payload) as { statusCode: number; body: string };
  await inv.done;
  return { status: result.statusCode, json: JSON.parse(result.body || 'null') };
}

function browser(): SignInBrowser {
  const b = new SignInBrowser(admin, dashboard, '198.51.100.23', readFileSync(tls.cert, 'utf8'));
  browsers.push(b);
  return b;
}

/** The items of one partition of the table, as moto holds them. */
async function partition(pk: string) {
  const out = await aws.dynamo.send(
    new QueryCommand({
      TableName: physicalId(d, 'table'),
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: pk } },
    }),
  );
  return out.Items ?? [];
}
const docOf = (item: Record<string, { S?: string }> | undefined) => JSON.parse(item?.doc_json?.S ?? 'null');
const json = (answer: Answer) => JSON.parse(answer.body || 'null');

describe('OIDC sign-in through the admin function on aws-lambda-ric', () => {
  const alice = { browser: undefined as unknown as SignInBrowser, callback: '', csrf: '' };

  it('sends /auth/login to the IdP with PKCE and a short-lived, HttpOnly, Secure state cookie', async () => {
    // Prepare
    alice.browser = browser();
    idp.signInAs(ALICE);

    // Act
    const login = await alice.browser.send({ path: '/auth/login' });

    // Assess
    expect(login.status).toBe(302);
    const target = new URL(login.headers.location ?? '');
    expect(target.origin).toBe(idp.issuer);
    expect(target.searchParams.get('redirect_uri')).toBe(`${dashboard}/auth/callback`);
    expect(target.searchParams.get('code_challenge_method')).toBe('S256');
    expect(target.searchParams.get('state')).toBeTruthy();
    expect(login.setCookies).toHaveLength(1);
    const state = cookieAttributes(login.setCookies[0] ?? '');
    expect(state).toMatchObject({
      name: '__Host-tollgate_signin',
      value: target.searchParams.get('state'),
      attrs: { httponly: true, secure: true, samesite: 'Lax', path: '/', 'max-age': '600' },
    });
    expect(state.attrs.domain).toBeUndefined();
    expect(await partition('SIGNINS')).toHaveLength(1);

    alice.callback = await alice.browser.throughIdp(target.href);
  });

  it('opens a session at the callback: the person created in the mapped team, the cookie first-party and HttpOnly', async () => {
    // Act
    const callback = await alice.browser.send({
      path: '/auth/callback',
      query: new URL(alice.callback).search.slice(1),
    });
    const session = await alice.browser.send({ path: '/auth/session' });

    // Assess
    expect(callback.status).toBe(303);
    expect(callback.headers.location).toBe('/');
    const [cleared, opened] = callback.setCookies.map(cookieAttributes);
    expect(cleared).toMatchObject({ name: '__Host-tollgate_signin', value: '', attrs: { 'max-age': '0' } });
    expect(opened).toMatchObject({
      name: '__Host-tollgate_session',
      attrs: { httponly: true, secure: true, samesite: 'Lax', path: '/', 'max-age': String(8 * 3600) },
    });
    expect(opened?.attrs.domain).toBeUndefined();
    expect(session.status).toBe(200);
    expect(json(session)).toMatchObject({ user_id: 'alice@example.com', team_id: 'platform' });
    alice.csrf = String(json(session).csrf_token);

    const user = docOf((await partition('USERS')).find((i) => i.sk?.S === 'alice@example.com'));
    expect(user).toMatchObject({
      user_email: 'alice@example.com',
      user_role: 'internal_user',
      max_budget_micros: 25_000_000,
      budget_duration: '1mo',
      metadata: { oidc: { issuer: idp.issuer, subject: 'a-1', groups: ['eng-platform'] } },
    });
    const team = docOf((await partition('TEAMS')).find((i) => i.sk?.S === 'platform'));
    expect(team.members).toContainEqual({ user_id: 'alice@example.com', role: 'user' });
    // The pending sign-in is gone, the session is stored by its hash only.
    expect(await partition('SIGNINS')).toHaveLength(0);
    const sessions = await partition('SESSIONS');
    expect(sessions).toHaveLength(1);
    const token = alice.browser.jar.get(dashboard)?.get('__Host-tollgate_session') ?? '';
    expect(sessions[0]?.sk?.S).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(sessions)).not.toContain(token);
  });

  it('refuses the same callback replayed with its state cookie: 400, and no second session', async () => {
    // Prepare: the state cookie the IdP's redirect came back with, in another browser.
    const replayer = browser();
    const state = new URL(alice.callback).searchParams.get('state') ?? '';
    replayer.jar.set(dashboard, new Map([['__Host-tollgate_signin', state]]));
    const before = await partition('SESSIONS');

    // Act
    const replayed = await replayer.send({
      path: '/auth/callback',
      query: new URL(alice.callback).search.slice(1),
    });
    const me = await replayer.send({ path: '/auth/session' });

    // Assess
    expect(replayed.status).toBe(400);
    expect(replayed.body).toContain('already used');
    expect(me.status).toBe(401);
    expect(await partition('SESSIONS')).toEqual(before);
  });

  it("issues the person's own key from the session with the CSRF token the dashboard sends, and refuses it without", async () => {
    // Prepare
    const origin = { origin: dashboard };
    const keysBefore = await partition('KEYS');

    // Act
    const refused = await alice.browser.send({
      path: '/key/generate',
      headers: origin,
      body: { key_alias: 'alice-no-csrf' },
    });
    const keysAfterRefusal = await partition('KEYS');
    const made = await alice.browser.send({
      path: '/key/generate',
      headers: { ...origin, 'x-csrf-token': alice.csrf },
      body: { key_alias: 'alice-laptop' },
    });

    // Assess
    expect(refused.status).toBe(403);
    expect(keysAfterRefusal).toEqual(keysBefore);
    expect(made.status).toBe(200);
    const key = json(made);
    expect(key).toMatchObject({ user_id: 'alice@example.com', team_id: 'platform', max_budget: 25 });
    expect(key.key).toMatch(/^sk-tg-/);
    const lookup = await aws.dynamo.send(
      new GetItemCommand({
        TableName: physicalId(d, 'table'),
        Key: {
          pk: { S: `KEY#${createHash('sha256').update(key.key).digest('hex')}` },
          sk: { S: 'KEY' },
        },
      }),
    );
    expect(lookup.Item?.key_id?.S).toBe(key.key_id);
    expect(JSON.stringify(await partition('KEYS'))).not.toContain(key.key);
  });

  it('ends the session at sign-out: the cookie cleared, the item gone, the cookie opens nothing more', async () => {
    // Prepare
    const token = alice.browser.jar.get(dashboard)?.get('__Host-tollgate_session') ?? '';
    const stale = browser();
    stale.jar.set(dashboard, new Map([['__Host-tollgate_session', token]]));

    // Act
    const out = await alice.browser.send({
      path: '/auth/logout',
      headers: { origin: dashboard, 'x-csrf-token': alice.csrf },
      body: {},
    });
    const after = await stale.send({ path: '/auth/session' });

    // Assess
    expect(out.status).toBe(200);
    expect(cookieAttributes(out.setCookies[0] ?? '')).toMatchObject({
      name: '__Host-tollgate_session',
      value: '',
      attrs: { 'max-age': '0', httponly: true, secure: true },
    });
    expect(after.status).toBe(401);
    expect(await partition('SESSIONS')).toHaveLength(0);
    const audit = (await partition(`AUDIT#${new Date().toISOString().slice(0, 7)}`)).map(
      (i) => JSON.parse(i.entry_json?.S ?? '{}').action,
    );
    expect(audit).toEqual(expect.arrayContaining(['user.sign_in_created', 'key.generate', 'user.sign_out']));
  });

  it('logs neither the tokens nor the cookies', () => {
    const logs = admin.logs.join('\n');
    const secrets = [
      TEST_IDP_CLIENT.secret,
      masterKey,
      new URL(alice.callback).searchParams.get('code') ?? '',
    ];
    for (const secret of secrets) expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/tollgate_session=|eyJhbGciOi/);
  });
});
