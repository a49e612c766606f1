/**
 * The gateway end to end on AWS's own interfaces: the bundles `cdk deploy` would upload, run by
 * aws-lambda-ric on Node 22 and on Node 24, against resources made on moto from the template, with the
 * repository's mock upstream as the provider. One deployment per Node line; the tests in a line run in
 * order and build on each other (a key, then requests on it, then what they left behind).
 */

import { readFile } from 'node:fs/promises';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DeleteDeliveryStreamCommand } from '@aws-sdk/client-firehose';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';
import {
  functionUrlEvent,
  type SnsEnvelope,
  scheduledEvent,
  snsEvent,
  type UrlRequest,
} from './support/events.ts';
import { type LambdaFunction, NODE_LINES, startFunction } from './support/lambda.ts';
import { ACCOUNT, REGION, recordedCalls, recordedRefusals } from './support/moto.ts';
import { type Clients, clients, type Deployment, deploy } from './support/resources.ts';
import { logicalId, physicalId, type SlackWebhook, startSlackWebhook } from './support/stack.ts';
import { readTemplate } from './support/template.ts';

const moto = { endpoint: inject('awsEndpoint'), credentials: inject('awsOperator') };
const aws: Clients = clients(moto);
const MODEL = 'claude-sonnet-4-5';
/** $3 / $15 per million: 50,000 in and 10,000 out are 150,000 + 150,000 micro-dollars. */
const USAGE = { input_tokens: 50_000, output_tokens: 10_000 };
const COST_MICROS = 300_000;

describe.each(NODE_LINES)('on Node %s under aws-lambda-ric', (line) => {
  let d: Deployment;
  let mock: MockUpstream;
  let slack: SlackWebhook;
  let fns: Record<'proxy' | 'admin' | 'rollup' | 'slack', LambdaFunction>;
  let masterKey: string;
  let providerKeys: { ANTHROPIC_API_KEY: string; OPENAI_API_KEY: string };
  let secretReadsAtStart = 0;
  /** Every proxy invocation made, each of which must leave exactly one usage record. */
  const proxied: string[] = [];
  const keys: Record<'roomy' | 'tight', { key: string; key_id: string }> = {} as never;

  beforeAll(async () => {
    d = await deploy(moto, readTemplate(), `n${line}`);
    mock = await startMockUpstream({ script: { usage: { ...USAGE } } });
    slack = await startSlackWebhook();
    providerKeys = {
      ANTHROPIC_API_KEY: `sk-ant-from-secrets-${line}`,
      OPENAI_API_KEY: `sk-oai-from-secrets-${line}`,
    };
    await aws.secrets.send(
      new PutSecretValueCommand({
        SecretId: physicalId(d, 'providerKeys'),
        SecretString: JSON.stringify(providerKeys),
      }),
    );
    await aws.secrets.send(
      new PutSecretValueCommand({ SecretId: physicalId(d, 'slackWebhook'), SecretString: slack.url }),
    );
    masterKey =
      (await aws.secrets.send(new GetSecretValueCommand({ SecretId: physicalId(d, 'masterKey') })))
        .SecretString ?? '';
    const before = (await recordedCalls(moto.endpoint)).get('secretsmanager GetSecretValue') ?? 0;
    const start = (part: keyof typeof fns, extra: Record<string, string> = {}, caFile?: string) =>
      startFunction({
        deployment: d,
        moto,
        logicalId: logicalId(d.template, part),
        node: line,
        extraEnv: extra,
        ...(caFile && { caFile }),
      });
    // Provider base URLs are the one setting a test adds: the mock upstream in place of the real APIs.
    const upstream = { TOLLGATE_ANTHROPIC_BASE_URL: mock.url, TOLLGATE_OPENAI_BASE_URL: mock.url };
    const [proxy, admin, rollup, slackFn] = await Promise.all([
      start('proxy', upstream),
      start('admin'),
      start('rollup'),
      start('slack', {}, slack.caFile),
    ]);
    fns = { proxy, admin, rollup, slack: slackFn };
    secretReadsAtStart =
      ((await recordedCalls(moto.endpoint)).get('secretsmanager GetSecretValue') ?? 0) - before;
  });

  afterAll(async () => {
    await Promise.all(Object.values(fns ?? {}).map((fn) => fn.stop()));
    await mock?.close();
    await slack?.close();
  });

  // Every function runs as its own role with IAM enforced: any call moto refused it fails the test it
  // happened in, naming the role and the IAM action (a grant the template lacks).
  let refusalsBefore = 0;
  beforeEach(async () => {
    refusalsBefore = (await recordedRefusals(moto.endpoint)).length;
  });
  afterEach(async () => {
    const refused = (await recordedRefusals(moto.endpoint)).slice(refusalsBefore);
    expect(
      refused.map((r) => `${d.principalOf(r.accessKeyId)}: ${r.call} ${r.path} ${r.code} ${r.message}`),
    ).toEqual([]);
  });

  async function admin(req: UrlRequest, key = masterKey) {
    const inv = fns.admin.invoke(
      functionUrlEvent({ ...req, headers: { authorization: `Bearer ${key}`, ...req.headers } }),
    );
    const result = (await inv.payload) as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
    };
    await inv.done;
    return { status: result.statusCode, headers: result.headers, json: JSON.parse(result.body || 'null') };
  }

  function proxy(req: UrlRequest, key: string) {
    const inv = fns.proxy.invoke(
      functionUrlEvent({ method: 'POST', ...req, headers: { 'x-api-key': key, ...req.headers } }),
    );
    proxied.push(inv.id);
    return inv;
  }

  async function lakeRecords(): Promise<Array<Record<string, unknown>>> {
    const records: Array<Record<string, unknown>> = [];
    for (const key of await listKeys(physicalId(d, 'lake'), 'usage/')) {
      const out = await aws.s3.send(new GetObjectCommand({ Bucket: physicalId(d, 'lake'), Key: key }));
      const text = (await out.Body?.transformToString()) ?? '';
      for (const line of text.split('\n')) if (line.trim()) records.push(JSON.parse(line));
    }
    return records;
  }

  async function listKeys(bucket: string, prefix: string): Promise<string[]> {
    const out = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (out.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
  }

  it('issues keys through the admin function, which reads the master key from Secrets Manager', async () => {
    const refused = await admin(
      { path: '/key/generate', body: { key_alias: 'nobody' } },
      'sk-not-the-master-key',
    );
    expect(refused.status).toBe(401);
    for (const [name, usd] of [
      ['roomy', 100],
      ['tight', 0.5],
    ] as const) {
      const made = await admin({
        path: '/key/generate',
        body: { key_alias: `${name}-${line}`, max_budget: usd },
      });
      expect(made.status).toBe(200);
      expect(made.json.key).toMatch(/^sk-tg-/);
      keys[name] = { key: made.json.key, key_id: made.json.key_id };
    }
  });

  it('answers a JSON request through the streaming proxy, with the provider key read from Secrets Manager', async () => {
    const inv = proxy(
      {
        path: '/v1/messages',
        body: { model: MODEL, max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] },
      },
      keys.roomy.key,
    );
    const prelude = await inv.prelude;
    const { body, error } = await inv.streamEnded;
    await inv.done;
    expect(error).toBeUndefined();
    expect(prelude.statusCode).toBe(200);
    expect(prelude.headers?.['content-type']).toMatch(/application\/json/);
    expect(prelude.headers?.['x-tollgate-request-id']).toBeTruthy();
    expect(JSON.parse(body.toString('utf8')).usage).toMatchObject(USAGE);
    expect(mock.requests.at(-1)?.headers['x-api-key']).toBe(providerKeys.ANTHROPIC_API_KEY);
  });

  it('streams SSE through the prelude as the provider sends it, not all at the end', async () => {
    mock.script.chunkDelayMs = 120;
    const inv = proxy(
      {
        path: '/v1/messages',
        query: 'beta=true',
        body: { model: MODEL, max_tokens: 1000, stream: true, messages: [{ role: 'user', content: 'hi' }] },
      },
      keys.roomy.key,
    );
    const prelude = await inv.prelude;
    const chunks = [];
    for await (const chunk of inv.chunks) chunks.push(chunk);
    const { body, error } = await inv.streamEnded;
    await inv.done;
    mock.script.chunkDelayMs = 0;
    expect(error).toBeUndefined();
    expect(prelude.statusCode).toBe(200);
    expect(prelude.headers?.['content-type']).toMatch(/text\/event-stream/);
    const text = body.toString('utf8');
    expect(text).toContain('event: message_stop');
    // Six delays of 120 ms between seven events: the first bytes arrive long before the last.
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    expect((chunks.at(-1)?.atMs ?? 0) - (chunks[0]?.atMs ?? 0)).toBeGreaterThan(400);
  });

  it('streams an OpenAI chat completion, with usage requested from the provider', async () => {
    const inv = proxy(
      {
        path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${keys.roomy.key}` },
        body: { model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'hi' }] },
      },
      keys.roomy.key,
    );
    const { body, error } = await inv.streamEnded;
    await inv.done;
    expect(error).toBeUndefined();
    expect(body.toString('utf8')).toContain('data: [DONE]');
    const sent = mock.requests.at(-1);
    expect(sent?.headers.authorization).toBe(`Bearer ${providerKeys.OPENAI_API_KEY}`);
    expect((sent?.body as { stream_options?: unknown } | undefined)?.stream_options).toEqual({
      include_usage: true,
    });
  });

  it('ends the invocation with its record when the client goes away mid-stream', async () => {
    mock.script.chunkDelayMs = 200;
    const inv = proxy(
      {
        path: '/v1/messages',
        body: { model: MODEL, max_tokens: 1000, stream: true, messages: [{ role: 'user', content: 'hi' }] },
      },
      keys.roomy.key,
    );
    for await (const _ of inv.chunks) {
      inv.disconnect();
      break;
    }
    await inv.done;
    mock.script.chunkDelayMs = 0;
    // Asserted with the others below: this request, like every one, has exactly one record.
  });

  it('alerts through SNS when a budget crosses a threshold, received by the SQS subscription', async () => {
    const inv = proxy(
      {
        path: '/v1/messages',
        body: { model: MODEL, max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] },
      },
      keys.tight.key,
    );
    expect((await inv.prelude).statusCode).toBe(200);
    await inv.done;
    const envelope = await receiveAlert(d.alertInboxUrl);
    expect(envelope.TopicArn).toBe(physicalId(d, 'topic'));
    expect(envelope.MessageAttributes?.severity).toEqual({
      Type: 'String',
      Value: expect.stringMatching(/warning|critical|info/),
    });
    expect(envelope.MessageAttributes?.scope?.Value).toContain(keys.tight.key_id);
    expect(JSON.parse(envelope.MessageAttributes?.event?.Value ?? '{}')).toMatchObject({
      kind: 'budget_threshold',
      level: 50,
      spent_micros: COST_MICROS,
      limit_micros: 500_000,
    });

    const forwarded = fns.slack.invoke(snsEvent(envelope, `${physicalId(d, 'topic')}:sub`));
    expect(await forwarded.payload).toEqual({ posted: 1 });
    await forwarded.done;
    expect(slack.posts).toHaveLength(1);
    expect(JSON.stringify(slack.posts[0]?.body)).toContain(`tight-${line}`);
  });

  it('moves the key spend in DynamoDB by what its records cost', async () => {
    const table = physicalId(d, 'table');
    const out = await aws.dynamo.send(new ScanCommand({ TableName: table }));
    const counters = (out.Items ?? []).filter(
      (i) => i.pk?.S?.startsWith('BUDGET#') && i.pk.S.includes(keys.tight.key_id),
    );
    expect(counters).toHaveLength(1);
    expect(Number(counters[0]?.spent_micros?.N)).toBe(COST_MICROS);
  });

  it('delivers one record per request through Firehose into the lake bucket', async () => {
    const records = await lakeRecords();
    expect(records).toHaveLength(proxied.length);
    expect(new Set(records.map((r) => r.request_id)).size).toBe(proxied.length);
    // What Firehose partitions on (template.test.ts): each record's dt is the UTC day of its ts.
    for (const r of records) expect(r.dt).toBe(String(r.ts).slice(0, 10));
    const roomySpend = records
      .filter((r) => r.key_id === keys.roomy.key_id)
      .reduce((sum, r) => sum + Number(r.cost_micros), 0);
    const out = await aws.dynamo.send(new ScanCommand({ TableName: physicalId(d, 'table') }));
    const counter = (out.Items ?? []).find(
      (i) => i.pk?.S?.startsWith('BUDGET#') && i.pk.S.includes(keys.roomy.key_id),
    );
    expect(Number(counter?.spent_micros?.N)).toBe(roomySpend);
    // The client that went away is not noticed on Lambda: its request ran to the end and was billed.
    expect(records.every((r) => r.outcome === 'success')).toBe(true);
  });

  it("takes an agent's OTLP export on the proxy's URL, its receiver loaded from beside the bundle, into the telemetry stream", async () => {
    const body = await readFile(
      new URL('../fixtures/otlp/claude-code-metrics.json', import.meta.url),
      'utf8',
    );
    const inv = fns.proxy.invoke(
      functionUrlEvent({
        method: 'POST',
        path: '/v1/metrics',
        body,
        headers: { authorization: `Bearer ${keys.roomy.key}` },
      }),
    );
    const prelude = await inv.prelude;
    const { body: answer } = await inv.streamEnded;
    await inv.done;

    expect(prelude.statusCode).toBe(200);
    expect(JSON.parse(answer.toString('utf8'))).toEqual({});
    const lines: Array<Record<string, unknown>> = [];
    for (const key of await listKeys(physicalId(d, 'lake'), 'telemetry/')) {
      const out = await aws.s3.send(new GetObjectCommand({ Bucket: physicalId(d, 'lake'), Key: key }));
      for (const line of ((await out.Body?.transformToString()) ?? '').split('\n'))
        if (line.trim()) lines.push(JSON.parse(line));
    }
    expect(lines).toHaveLength(11);
    expect(new Set(lines.map((r) => r.key_id))).toEqual(new Set([keys.roomy.key_id]));
  });

  it('spills records to S3 when Firehose refuses them, and the rollup replays them', async () => {
    const streamName = physicalId(d, 'stream');
    await aws.firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: streamName }));
    const inv = proxy(
      {
        path: '/v1/messages',
        body: { model: MODEL, max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] },
      },
      keys.roomy.key,
    );
    expect((await inv.prelude).statusCode).toBe(200);
    await inv.done;
    const spilled = await listKeys(physicalId(d, 'lake'), 'spill/');
    expect(spilled).toHaveLength(1);
    expect(await lakeRecords()).toHaveLength(proxied.length - 1);

    await d.recreate(logicalId(d.template, 'stream'));
    const run = fns.rollup.invoke(
      scheduledEvent(`arn:aws:events:${REGION}:${ACCOUNT}:rule/${logicalId(d.template, 'rollupSchedule')}`),
    );
    const summary = (await run.payload) as { replayed?: { records: number; failed: number } };
    await run.done;
    expect(summary.replayed).toMatchObject({ records: 1, failed: 0 });
    expect(await listKeys(physicalId(d, 'lake'), 'spill/')).toHaveLength(0);
    expect(await lakeRecords()).toHaveLength(proxied.length);
  });

  it('serves the rollup the rollup function wrote to rollups/latest.json', async () => {
    const object = await aws.s3.send(
      new GetObjectCommand({ Bucket: physicalId(d, 'lake'), Key: 'rollups/latest.json' }),
    );
    const stored = JSON.parse((await object.Body?.transformToString()) ?? '{}');
    const served = await admin({ path: '/api/rollup' });
    expect(served.status).toBe(200);
    expect(served.json.generated_at).toBe(stored.generated_at);
    expect(served.json.budgets.map((b: { scope: string }) => b.scope)).toContain('key');
  });

  it('records an erasure through the admin function (202, a job the rollup works) and reports it', async () => {
    const user_id = `o'neil-${line}`;
    const recorded = await admin({ path: '/user/erase', body: { user_id } });
    expect(recorded.status).toBe(202);
    expect(recorded.json).toMatchObject({ user_id, status: 'pending', keys_blocked: 0 });
    const asked = await admin({ method: 'GET', path: `/user/erase/${recorded.json.job_id}` });
    expect(asked.status).toBe(200);
    expect(asked.json).toMatchObject({
      job_id: recorded.json.job_id,
      status: 'pending',
      parts_pending: null,
    });
  });

  it('read the secrets once per cold start, not per request', async () => {
    // Proxy (provider keys), admin (master key), Slack forwarder (webhook URL).
    expect(secretReadsAtStart).toBe(3);
    const after = (await recordedCalls(moto.endpoint)).get('secretsmanager GetSecretValue') ?? 0;
    expect(after).toBeGreaterThan(0);
  });

  async function receiveAlert(queueUrl: string): Promise<SnsEnvelope> {
    for (let i = 0; i < 5; i++) {
      const out = await aws.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 1 }),
      );
      const body = out.Messages?.[0]?.Body;
      if (body) return JSON.parse(body) as SnsEnvelope;
    }
    throw new Error('no alert arrived on the SQS subscription');
  }
});
