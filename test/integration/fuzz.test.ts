/**
 * Property-based fuzzing of every route of the real local server (proxy and admin API) with bodies,
 * queries, headers, methods and paths no client should send. The mock upstream stays healthy, so for
 * every request: no 5xx, the gateway keeps answering /health, no unhandled rejection and no error in
 * its log, errors come in the route's protocol shape, a refusal changes no key, budget or document,
 * and every request that reached a proxied route leaves exactly one usage record.
 *
 * Seeded and reproducible: the seed is printed; `FUZZ_SEED=<n>` (or `random`) and `FUZZ_RUNS=<n>`
 * (runs of each property) override the defaults. The server's state carries from run to run, so a
 * failure is replayed with its seed from the start, and not shrunk: it prints the failing request,
 * the assertion and the gateway's logged errors. Generators: test/support/fuzz/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakeSink } from '../../functions/adapters/local/lake-sink.ts';
import { systemClock } from '../../functions/core/ports/clock.ts';
import type { LogFields, Logger } from '../../functions/core/ports/logging.ts';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { type AdminIds, adminRequest } from '../support/fuzz/admin-requests.ts';
import { proxyRequest } from '../support/fuzz/proxy-requests.ts';
import { authHeaders, type FuzzRequest, headerText } from '../support/fuzz/values.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

const SEED =
  process.env.FUZZ_SEED === 'random'
    ? Date.now() % 2 ** 31
    : Number.parseInt(process.env.FUZZ_SEED ?? '20260515', 10);
const RUNS = process.env.FUZZ_RUNS ? Number.parseInt(process.env.FUZZ_RUNS, 10) : undefined;
/** Defaults that keep this file well under a minute on two cores. */
const PROXY_BATCHES = RUNS ?? 100;
const ADMIN_REQUESTS = RUNS ?? 200;

let upstream: MockUpstream;
let gateway: TestGateway;
let dataDir: string;
/** A key with budgets on itself, its team and its person, and one with no limit anywhere. */
let proxyKey: string;
let openKey: string;
let adminIds: AdminIds;
/** Every usage record the gateway wrote, in order (the real lake sink, observed). */
const written: UsageRecord[] = [];
const errorsLogged: Array<{ msg: string; fields?: LogFields }> = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

/** Statuses answered, per property, printed at the end: a fuzz that only ever hits 400 tests little. */
const statuses: Record<string, Record<number, number>> = { proxy: {}, admin: {} };
function tally(kind: 'proxy' | 'admin', status: number): void {
  const seen = statuses[kind] as Record<number, number>;
  seen[status] = (seen[status] ?? 0) + 1;
}

const log: Logger = {
  debug() {},
  info() {},
  warn() {},
  error: (msg, fields) => errorsLogged.push({ msg, fields }),
};

beforeAll(async () => {
  console.info(`fuzz: FUZZ_SEED=${SEED} proxy batches=${PROXY_BATCHES} admin requests=${ADMIN_REQUESTS}`);
  process.on('unhandledRejection', onUnhandled);
  upstream = await startMockUpstream();
  dataDir = await mkdtemp(join(tmpdir(), 'tollgate-fuzz-'));
  const lake = createLakeSink({ dataDir, clock: systemClock });
  gateway = await startTestGateway(
    upstream.url,
    { TOLLGATE_DATA_DIR: dataDir, TOLLGATE_LAKE_COMPACT: 'false' },
    {
      log,
      usage: {
        async write(records) {
          await lake.write(records);
          written.push(...records);
        },
      },
    },
  );
  await admin('POST', '/team/new', { team_id: 'fuzz-team', max_budget: 10_000 });
  await admin('POST', '/user/new', { user_id: 'fuzz-user', max_budget: 10_000, auto_create_key: false });
  proxyKey = (
    await gateway.createKey({
      key_alias: 'fuzz-proxy',
      team_id: 'fuzz-team',
      user_id: 'fuzz-user',
      max_budget: 10_000,
    })
  ).key;
  openKey = (await gateway.createKey({ key_alias: 'fuzz-open' })).key;
  await admin('POST', '/team/new', { team_id: 'adm-team', max_budget: 5 });
  await admin('POST', '/user/new', { user_id: 'adm-user', max_budget: 5, auto_create_key: false });
  const admKey = (await gateway.createKey({ key_alias: 'adm-key', user_id: 'adm-user', max_budget: 1 })).key;
  const spare = (await gateway.createKey({ key_alias: 'adm-spare', user_id: 'adm-user' })).key;
  adminIds = { key: admKey, spare, team: 'adm-team', user: 'adm-user' };
});

afterAll(async () => {
  console.info(`fuzz: statuses answered ${JSON.stringify(statuses)}`);
  process.off('unhandledRejection', onUnhandled);
  await gateway?.close();
  await upstream?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json: unknown = await response.json();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function send(request: FuzzRequest): Promise<Answer> {
  const response = await fetch(`${gateway.url}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    redirect: 'manual',
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

// ---------- what each path is ----------

const PREFIX = /^\/(?:anthropic|openai)(?=\/)/;
const PROXIED: Record<string, 'anthropic' | 'openai'> = {
  '/v1/messages': 'anthropic',
  '/v1/messages/count_tokens': 'anthropic',
  '/v1/chat/completions': 'openai',
  '/v1/responses': 'openai',
  '/v1/embeddings': 'openai',
};

/** The path as the server sees it (fetch resolves dot segments and escapes what URLs cannot hold). */
function pathnameOf(request: FuzzRequest): string {
  return new URL(`http://gateway${request.path}`).pathname;
}

/** The proxied route a request reaches, if any: these, and only these, leave a usage record. */
function proxiedRoute(request: FuzzRequest): 'anthropic' | 'openai' | undefined {
  const pathname = pathnameOf(request);
  if (!/^\/(?:v1|anthropic|openai)\//.test(pathname)) return undefined;
  return PROXIED[pathname.replace(PREFIX, '').replace(/\/+$/, '')];
}

/** The error shape a client of this path expects; undefined for the dashboard's static files. */
function errorShape(request: FuzzRequest): 'anthropic' | 'openai' | undefined {
  const pathname = pathnameOf(request);
  const route = proxiedRoute(request);
  if (route) return route;
  if (/^\/(?:v1|anthropic|openai)\//.test(pathname)) {
    const models = pathname.replace(PREFIX, '').replace(/\/+$/, '') === '/v1/models';
    return models && request.method === 'GET' && 'anthropic-version' in request.headers
      ? 'anthropic'
      : 'openai';
  }
  const adminPath = /^\/(key|spend|api|health|user|team|model|routing|budget|audit)(\/|$)/.test(pathname);
  return adminPath || request.method !== 'GET' ? 'openai' : undefined;
}

function describeRequest(request: FuzzRequest, answer?: Answer): string {
  const body =
    request.body === undefined
      ? ''
      : typeof request.body === 'string'
        ? request.body.slice(0, 500)
        : `<${request.body.length} bytes>`;
  const cut = (text: string) => (text.length > 80 ? `${text.slice(0, 40)}…<${text.length} chars>` : text);
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, cut(v)]));
  const reply = answer ? ` -> ${answer.status} ${answer.text.slice(0, 300)}` : '';
  return `${request.method} ${cut(request.path)} ${JSON.stringify(headers)} ${body}${reply}`;
}

/**
 * No 5xx, and an error body in the shape of the route's protocol, unless the error is the upstream's,
 * passed through as it came (the mock's Node server answers a bare 431 to a URL over 16 KB).
 */
function assertAnswer(request: FuzzRequest, answer: Answer, record?: UsageRecord): void {
  const what = describeRequest(request, answer);
  expect(answer.status, what).toBeLessThan(500);
  if (answer.status < 400 || record?.outcome === 'upstream_error') return;
  const shape = errorShape(request);
  if (!shape) return;
  const body = answer.json as { type?: unknown; error?: { type?: unknown; message?: unknown } } | undefined;
  expect(typeof body?.error?.type, what).toBe('string');
  expect(typeof body?.error?.message, what).toBe('string');
  if (shape === 'anthropic') expect(body?.type, what).toBe('error');
  else expect(body?.type, what).toBeUndefined();
}

async function assertServing(): Promise<void> {
  const health = await fetch(`${gateway.url}/health`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok' });
  expect(unhandled, 'unhandled rejections').toEqual([]);
  expect(errorsLogged, 'errors in the gateway log').toEqual([]);
}

// ---------- what a refusal must not change ----------

async function allKeys(): Promise<unknown[]> {
  const keys: unknown[] = [];
  for (let page = 1; ; page++) {
    const listed = (await admin('GET', `/key/list?size=100&page=${page}`)) as {
      keys: unknown[];
      total_pages: number;
    };
    keys.push(...listed.keys);
    if (page >= listed.total_pages) return keys;
  }
}

/** The spend and reservations of each key the proxy fuzz uses, by key id. */
async function counters(): Promise<Record<string, { spend_micros: number; reserved_micros: number }>> {
  const infos = await Promise.all(
    [proxyKey, openKey].map(async (key) => {
      const { info } = (await admin('GET', `/key/info?key=${encodeURIComponent(key)}`)) as {
        info: { key_id: string; spend_micros: number; reserved_micros: number };
      };
      return [
        info.key_id,
        { spend_micros: info.spend_micros, reserved_micros: info.reserved_micros },
      ] as const;
    }),
  );
  return Object.fromEntries(infos);
}

/** Keys, teams, people (with their budgets and spend), routing rules, and the proxy keys' counters. */
async function documents() {
  return {
    keys: await allKeys(),
    teams: await admin('GET', '/team/list'),
    users: await admin('GET', '/user/list'),
    rules: await admin('GET', '/routing/rules'),
    counters: await counters(),
  };
}

/**
 * Runs a property and, on failure, throws a short report: the seed to replay it with, the failing
 * request (long headers and bodies cut short) and the assertion that failed.
 */
async function check<T>(property: fc.IAsyncProperty<T>, numRuns: number, show: (value: T) => string) {
  const details = await fc.check(property, { seed: SEED, numRuns, endOnFailure: true });
  if (!details.failed) return;
  const example = details.counterexample ? show(details.counterexample) : '(none)';
  const cause =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `Property failed after ${details.numRuns} runs; replay with FUZZ_SEED=${details.seed}.\n` +
      `Counterexample:\n${example}\n${cause}\nErrors logged: ${JSON.stringify(errorsLogged).slice(0, 2000)}`,
  );
}

// Each defect the fuzz found, reduced to one request. They run first, on a lake nothing else wrote to.
describe('defects the fuzz found', () => {
  it('a model name with a lone surrogate leaves a record the spend queries can still read', async () => {
    // Prepare: JSON may escape half of a surrogate pair; DuckDB's JSON reader refuses it in a lake file.
    const body = '{"model":"claude-\\ud800","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}';

    // Act
    const answer = await send({
      method: 'POST',
      path: '/v1/messages',
      headers: { 'x-api-key': proxyKey, 'content-type': 'application/json' },
      body,
    });
    await gateway.proxy.drain();
    const logs = await fetch(`${gateway.url}/spend/logs?limit=10`, {
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    });

    // Assess
    expect(answer.status).toBe(400);
    expect(logs.status).toBe(200);
    const id = answer.headers.get('x-tollgate-request-id');
    const record = ((await logs.json()) as UsageRecord[]).find((r) => r.request_id === id);
    expect(record?.model_requested).toBe('claude-\ufffd');
  });

  it.each([
    ['10^15', '1000000000000000'],
    ['2^53', '9007199254740992'],
    ['1e300', '1e300'],
    ['1e999 (Infinity once parsed)', '1e999'],
  ])(
    'a web search tool allowing %s searches is a 400 that leaves one record and nothing reserved',
    async (_, uses) => {
      // Prepare: a key with no budget anywhere, so nothing refuses the worst case before the ledger sees it.
      const { key } = await gateway.createKey({ key_alias: `searches-${uses}` });
      const tool = `{"type":"web_search_20250305","name":"web_search","max_uses":${uses}}`;

      // Act
      const answer = await send({
        method: 'POST',
        path: '/v1/messages',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[${tool}]}`,
      });
      await gateway.proxy.drain();

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({
        type: 'error',
        error: { message: expect.stringMatching(/max_uses/) },
      });
      const id = answer.headers.get('x-tollgate-request-id');
      expect(written.filter((r) => r.request_id === id)).toHaveLength(1);
      expect((await gateway.keyInfo(key)).reserved_micros).toBe(0);
    },
  );
});

describe('fuzzing the proxy routes', () => {
  it('answers every batch of odd requests below 500, in the route protocol shape, with one record per proxied request and nothing changed by a refusal', async () => {
    await check(
      fc.asyncProperty(
        fc.array(proxyRequest([proxyKey, openKey], MASTER_KEY), { minLength: 1, maxLength: 5 }),
        async (batch) => {
          // Prepare
          const before = await documents();
          const from = written.length;

          // Act
          const answers = await Promise.all(batch.map(send));
          for (const a of answers) tally('proxy', a.status);
          await gateway.proxy.drain();

          // Assess
          const records = written.slice(from);
          const recordOf = new Map(records.map((r) => [r.request_id, r]));
          const expected = batch.flatMap((request, i) => {
            const answer = answers[i] as Answer;
            const id = answer.headers.get('x-tollgate-request-id');
            assertAnswer(request, answer, recordOf.get(id ?? ''));
            if (!proxiedRoute(request)) return [];
            expect(id, describeRequest(request, answer)).toBeTruthy();
            return [id as string];
          });
          expect(records.map((r) => r.request_id).sort()).toEqual(expected.sort());
          for (const record of records.filter((r) => r.status >= 400)) expect(record.cost_micros).toBe(0);

          const after = await documents();
          for (const [keyId, now] of Object.entries(after.counters)) {
            const cost = records.filter((r) => r.key_id === keyId).reduce((sum, r) => sum + r.cost_micros, 0);
            expect(now.reserved_micros, `reserved on key ${keyId}`).toBe(0);
            expect(
              now.spend_micros - (before.counters[keyId]?.spend_micros ?? 0),
              `spend of key ${keyId}`,
            ).toBe(cost);
          }
          if (answers.every((a) => a.status >= 400)) expect(after).toEqual(before);
          await assertServing();
        },
      ),
      PROXY_BATCHES,
      ([batch]) => batch.map((r) => describeRequest(r)).join('\n'),
    );
  }, 300_000);
});

describe('fuzzing the admin routes', () => {
  it('answers every odd admin request below 500 in the OpenAI shape, and a refused one changes nothing', async () => {
    const auth = fc.oneof(
      { weight: 8, arbitrary: fc.constant({ authorization: `Bearer ${MASTER_KEY}` }) },
      { weight: 1, arbitrary: fc.constant({ authorization: `Bearer ${adminIds.key}` }) },
      { weight: 1, arbitrary: authHeaders([MASTER_KEY], adminIds.key) },
      { weight: 1, arbitrary: headerText.map((v) => ({ authorization: v })) },
    );
    await check(
      fc.asyncProperty(adminRequest(adminIds, auth), async (request) => {
        // Prepare
        const before = await documents();

        // Act
        const answer = await send(request);
        tally('admin', answer.status);

        // Assess
        assertAnswer(request, answer);
        if (answer.status >= 400) expect(await documents(), describeRequest(request, answer)).toEqual(before);
        await assertServing();
      }),
      ADMIN_REQUESTS,
      ([request]) => describeRequest(request),
    );
    // After all of it, a plain request is still served.
    const plain = await send({
      method: 'POST',
      path: '/v1/messages',
      headers: { 'x-api-key': proxyKey, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(plain.status).toBe(200);
  }, 300_000);
});
