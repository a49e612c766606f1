import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { DEFAULT_BEDROCK_SCRIPT, type MockBedrock, startMockBedrock } from '../support/mock-bedrock.ts';

/** Claude through Amazon Bedrock: the AWS SDK signs and sends, the gateway meters and records as for Anthropic. */
let bedrock: MockBedrock;
let gateway: TestGateway;

const SONNET = 'bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const USAGE = {
  input_tokens: 1000,
  output_tokens: 500,
  cache_read_input_tokens: 2000,
  cache_creation_input_tokens: 400,
};
// claude-sonnet-4-5 on a regional (us.) Bedrock endpoint, 10 % above Anthropic's list: 3.30 / 16.50 /
// 0.33 / 4.125 (5m write) USD per million:
// 1000×3.30 + 500×16.50 + 2000×0.33 + 400×4.125 = 3300 + 8250 + 660 + 1650 µ$
const SONNET_COST = 13_860;

beforeAll(async () => {
  bedrock = await startMockBedrock();
  // No other provider is called here; their base URL points at a closed port.
  gateway = await startTestGateway('http://127.0.0.1:9', { TOLLGATE_BEDROCK_BASE_URL: bedrock.url });
});
afterAll(async () => {
  await gateway?.close();
  await bedrock?.close();
});
beforeEach(() => {
  bedrock.script = { ...DEFAULT_BEDROCK_SCRIPT, usage: { ...USAGE } };
});

const anthropic = (apiKey: string) => new Anthropic({ apiKey, baseURL: gateway.url, maxRetries: 0 });
const lastCall = () => bedrock.requests.at(-1)!;
const hi = [{ role: 'user' as const, content: 'hi' }];
const postMessages = (key: string, body: Record<string, unknown>) =>
  fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ max_tokens: 64, messages: hi, ...body }),
  });

describe('a streamed request to a Bedrock model', () => {
  it('streams the Anthropic events unchanged and in order from the Bedrock event stream', async () => {
    const { key } = await gateway.createKey({ key_alias: 'bedrock-stream' });

    const { data: stream, response } = await anthropic(key)
      .messages.create({ model: SONNET, max_tokens: 64, messages: hi, stream: true })
      .withResponse();
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }

    expect(response.status).toBe(200);
    expect(text).toBe(DEFAULT_BEDROCK_SCRIPT.text);
    const deltas = types.filter((t) => t === 'content_block_delta').length;
    expect(deltas).toBeGreaterThan(1);
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      ...Array<string>(deltas).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    await gateway.record(response.headers.get('x-tollgate-request-id')!);
  });

  it('passes each event on as Bedrock sends it, without waiting for the rest', async () => {
    const { key } = await gateway.createKey({ key_alias: 'bedrock-live' });
    bedrock.script.chunkDelayMs = 60;
    const sentBefore = bedrock.eventsSent;

    const response = await postMessages(key, { model: SONNET, stream: true });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const sentWhenFirstArrived = bedrock.eventsSent - sentBefore;
    while (!(await reader.read()).done) {
      // drain
    }

    expect(first).toMatch(/^event: message_start\n/);
    // The answer has 10 events, 60 ms apart; a buffering gateway would deliver the first after the last.
    expect(sentWhenFirstArrived).toBeLessThan(4);
    expect(bedrock.eventsSent - sentBefore).toBe(10);
  });

  it('stops the Bedrock call when the client goes away, and records that the client left', async () => {
    const { key } = await gateway.createKey({ key_alias: 'bedrock-gone' });
    bedrock.script.chunkDelayMs = 100;
    const closedBefore = bedrock.streamsClosedEarly;

    const response = await postMessages(key, { model: SONNET, stream: true });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();

    await expect.poll(() => bedrock.streamsClosedEarly, { timeout: 5_000 }).toBe(closedBefore + 1);
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({ provider: 'bedrock', outcome: 'client_closed', error_type: 'mid_stream' });
  });

  it('sends a SigV4-signed InvokeModelWithResponseStream with the Bedrock body and no key of ours', async () => {
    const { key } = await gateway.createKey({ key_alias: 'bedrock-wire' });

    const { data: stream } = await anthropic(key)
      .messages.create(
        { model: SONNET, max_tokens: 64, messages: hi, stream: true },
        { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14, context-1m-2025-08-07' } },
      )
      .withResponse();
    for await (const _ of stream) {
      // drain
    }

    const call = lastCall();
    // The SDK percent-encodes the id's `:` in the path (and signs that form).
    expect(call.path).toBe(
      '/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream',
    );
    expect(call.modelId).toBe('us.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(call.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=.+, Signature=[0-9a-f]{64}$/,
    );
    expect(call.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(call.headers['x-api-key']).toBeUndefined();
    expect(JSON.stringify(call.headers)).not.toContain(key);
    expect(call.body).toEqual({
      anthropic_version: 'bedrock-2023-05-31',
      anthropic_beta: ['interleaved-thinking-2025-05-14', 'context-1m-2025-08-07'],
      max_tokens: 64,
      messages: hi,
    });
  });

  it('records provider bedrock, the tokens from the events and the Sonnet price', async () => {
    const { key } = await gateway.createKey({ key_alias: 'bedrock-meter' });
    // Bedrock's own counts disagree here, to show which source wins when the events carry usage.
    bedrock.script.metrics = { input_tokens: 1, output_tokens: 1 };

    const response = await postMessages(key, { model: SONNET, stream: true });
    await response.text();

    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({
      provider: 'bedrock',
      model_requested: SONNET,
      model_used: 'claude-sonnet-4-5',
      stream: true,
      outcome: 'success',
      usage_source: 'provider',
      input_tokens: 1000,
      output_tokens: 500,
      cache_read_tokens: 2000,
      cache_write_5m_tokens: 400,
      cache_write_1h_tokens: 0,
      cost_micros: SONNET_COST,
    });
    expect((await gateway.keyInfo(key)).spend_micros).toBe(SONNET_COST);
  });

  it("meters from Bedrock's invocation metrics when the events carry no usage", async () => {
    const { key } = await gateway.createKey({ key_alias: 'bedrock-metrics' });
    bedrock.script.omitEventUsage = true;

    const response = await postMessages(key, { model: SONNET, stream: true });
    const text = await response.text();

    expect(text).toContain('"amazon-bedrock-invocationMetrics"');
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({
      usage_source: 'provider',
      input_tokens: 1000,
      output_tokens: 500,
      cache_read_tokens: 2000,
      cache_write_5m_tokens: 400,
      cost_micros: SONNET_COST,
    });
  });
});

describe('a JSON request to a Bedrock model', () => {
  it('answers the message as Bedrock gave it, through InvokeModel, and records its cost', async () => {
    const { key } = await gateway.createKey({ key_alias: 'bedrock-json' });

    const { data, response } = await anthropic(key)
      .messages.create({ model: SONNET, max_tokens: 64, messages: hi })
      .withResponse();

    expect(data.content).toEqual([{ type: 'text', text: DEFAULT_BEDROCK_SCRIPT.text }]);
    expect(data.usage).toMatchObject({ input_tokens: 1000, output_tokens: 500 });
    expect(lastCall().path).toBe('/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke');
    expect(lastCall().body).toEqual({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 64,
      messages: hi,
    });
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({
      provider: 'bedrock',
      model_used: 'claude-sonnet-4-5',
      stream: false,
      outcome: 'success',
      cost_micros: SONNET_COST,
    });
  });

  it('sends a short bedrock/<model> name to its default Bedrock inference profile', async () => {
    const { key } = await gateway.createKey({ key_alias: 'bedrock-short' });

    const { response } = await anthropic(key)
      .messages.create({ model: 'bedrock/claude-haiku-4-5', max_tokens: 64, messages: hi })
      .withResponse();

    expect(lastCall().modelId).toBe('global.anthropic.claude-haiku-4-5-20251001-v1:0');
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    // claude-haiku-4-5 at 1 / 5 / 0.10 / 1.25: 1000 + 2500 + 200 + 500 µ$
    expect(record).toMatchObject({ provider: 'bedrock', model_used: 'claude-haiku-4-5', cost_micros: 4_200 });
  });
});

describe('Bedrock failures', () => {
  it.each([
    [429, 'ThrottlingException', 429, 'rate_limit_error'],
    [400, 'ValidationException', 400, 'invalid_request_error'],
    [408, 'ModelTimeoutException', 504, 'timeout_error'],
    [503, 'ServiceUnavailableException', 503, 'api_error'],
    // The gateway's own credentials were refused: the client cannot fix that.
    [403, 'AccessDeniedException', 502, 'api_error'],
  ] as const)(
    'a %i %s reaches the client as %i %s in the Anthropic shape, unbilled',
    async (status, type, clientStatus, errorType) => {
      const { key } = await gateway.createKey({ key_alias: `bedrock-${type}` });
      bedrock.script.failWith = { status, type, message: `mock ${type}` };
      const calls = bedrock.requests.length;

      const error = (await anthropic(key)
        .messages.create({ model: SONNET, max_tokens: 64, messages: hi, stream: true })
        .catch((err: unknown) => err)) as InstanceType<typeof Anthropic.APIError>;

      expect(error).toBeInstanceOf(Anthropic.APIError);
      expect(error.status).toBe(clientStatus);
      expect(error.error).toMatchObject({ type: 'error', error: { type: errorType } });
      // One call: the SDK does not retry behind the agent's back.
      expect(bedrock.requests.length).toBe(calls + 1);
      const record = await gateway.record(error.headers?.get('x-tollgate-request-id') ?? '');
      expect(record).toMatchObject({
        provider: 'bedrock',
        outcome: 'upstream_error',
        error_type: `upstream_${clientStatus === 502 ? 403 : clientStatus}`,
        cost_micros: 0,
      });
      expect((await gateway.keyInfo(key)).spend_micros).toBe(0);
    },
  );

  it.each([
    ['the connection drops', { cutStreamAfterEvents: 4 }, /Could not reach the bedrock API/],
    ['Bedrock sends a stream exception', { exceptionAfterEvents: 4 }, /The model stopped unexpectedly/],
  ])(
    'ends the stream with an error event and a truncated record when %s mid-stream',
    async (_name, failure, message) => {
      const { key } = await gateway.createKey({ key_alias: 'bedrock-cut' });
      Object.assign(bedrock.script, failure);

      const response = await postMessages(key, { model: SONNET, stream: true });
      const text = await response.text();

      expect(response.status).toBe(200);
      expect(text).toContain('event: message_start');
      expect(text).toContain('event: content_block_delta');
      expect(text).not.toContain('event: message_stop');
      expect(text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
      expect(text).toMatch(message);
      const requestId = response.headers.get('x-tollgate-request-id')!;
      const record = await gateway.record(requestId);
      expect((await gateway.records()).filter((r) => r.request_id === requestId)).toHaveLength(1);
      expect(record).toMatchObject({
        provider: 'bedrock',
        outcome: 'truncated',
        error_type: 'upstream_failed',
        usage_source: 'estimated',
        input_tokens: 1000,
      });
      expect(record.output_tokens).toBeGreaterThan(0);
      expect((await gateway.keyInfo(key)).spend_micros).toBe(record.cost_micros);
    },
  );
});
