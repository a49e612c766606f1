import {
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  type ResponseStream,
  ThrottlingException,
} from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import {
  type BedrockInvoke,
  bedrockRequest,
  createBedrockFetch,
} from '../../../../functions/adapters/aws/bedrock-fetch.ts';

// The SDK client is faked here only to inject what the mock endpoint cannot send; the wire format is
// tested against test/support/mock-bedrock.ts in test/integration/bedrock.test.ts.
type Sent = { command: unknown; options: { abortSignal?: AbortSignal } | undefined };

function fakeClient(answer: (command: unknown) => unknown): { client: BedrockInvoke; sent: Sent[] } {
  const sent: Sent[] = [];
  const send = async (command: unknown, options?: { abortSignal?: AbortSignal }) => {
    sent.push({ command, options });
    return answer(command);
  };
  return { client: { send } as unknown as BedrockInvoke, sent };
}

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const messagesInit = (body: Record<string, unknown>, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: new Headers({ 'content-type': 'application/json', ...headers }),
  body: JSON.stringify({ model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', max_tokens: 8, ...body }),
});

async function* members(...items: ResponseStream[]): AsyncIterable<ResponseStream> {
  yield* items;
}
const chunk = (event: Record<string, unknown>): ResponseStream => ({ chunk: { bytes: encode(event) } });

function serviceError(name: string, status: number | undefined, message = `mock ${name}`): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

describe('bedrockRequest', () => {
  it('moves the model to the id, drops stream, adds the Bedrock version and the beta flags', () => {
    // Prepare
    const init = messagesInit(
      { stream: true, messages: [], anthropic_beta: ['a'] },
      { 'anthropic-beta': 'b, a ,c', 'anthropic-version': '2023-06-01' },
    );

    // Act
    const { modelId, stream, body } = bedrockRequest(init);

    // Assess
    expect(modelId).toBe('us.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(stream).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(body))).toEqual({
      max_tokens: 8,
      messages: [],
      anthropic_version: 'bedrock-2023-05-31',
      anthropic_beta: ['a', 'b', 'c'],
    });
  });

  it("keeps a client's own anthropic_version and adds no beta field without flags", () => {
    // Prepare
    const init = messagesInit({ anthropic_version: 'bedrock-2099-01-01' });

    // Act
    const { stream, body } = bedrockRequest(init);

    // Assess
    expect(stream).toBe(false);
    expect(JSON.parse(new TextDecoder().decode(body))).toEqual({
      max_tokens: 8,
      anthropic_version: 'bedrock-2099-01-01',
    });
  });
});

describe('createBedrockFetch', () => {
  it('answers a JSON request with InvokeModel and the body as Bedrock gave it', async () => {
    // Prepare
    const message = { type: 'message', content: [{ type: 'text', text: 'hi' }], usage: { input_tokens: 3 } };
    const { client, sent } = fakeClient(() => ({ body: encode(message), $metadata: { requestId: 'r-1' } }));
    const signal = new AbortController().signal;

    // Act
    const response = await createBedrockFetch(async () => client)('ignored', { ...messagesInit({}), signal });

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('request-id')).toBe('r-1');
    expect(await response.json()).toEqual(message);
    expect(sent[0]?.command).toBeInstanceOf(InvokeModelCommand);
    expect((sent[0]!.command as InvokeModelCommand).input).toMatchObject({
      modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      contentType: 'application/json',
    });
    expect(sent[0]?.options?.abortSignal).toBe(signal);
  });

  it('re-encodes each streamed chunk as the SSE event it holds', async () => {
    // Prepare
    const { client, sent } = fakeClient(() => ({
      body: members(
        chunk({ type: 'message_start', message: { id: 'm' } }),
        { chunk: { bytes: new Uint8Array() } },
        { chunk: { bytes: new TextEncoder().encode('{\n"type": "ping"}') } },
        chunk({ type: 'message_stop' }),
      ),
      $metadata: {},
    }));

    // Act
    const response = await createBedrockFetch(async () => client)('ignored', messagesInit({ stream: true }));

    // Assess
    expect(sent[0]?.command).toBeInstanceOf(InvokeModelWithResponseStreamCommand);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe(
      'event: message_start\ndata: {"type":"message_start","message":{"id":"m"}}\n\n' +
        'event: ping\ndata: {"type":"ping"}\n\n' +
        'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    );
  });

  const exceptionMember = { internalServerException: { message: 'boom' } } as unknown as ResponseStream;
  it.each<[string, ResponseStream[]]>([
    ['an exception member', [chunk({ type: 'message_start' }), exceptionMember]],
    ['no message_stop', [chunk({ type: 'message_start' })]],
  ])('errors the body of a stream that ends with %s', async (_name, items) => {
    // Prepare
    const { client } = fakeClient(() => ({ body: members(...items), $metadata: {} }));
    const response = await createBedrockFetch(async () => client)('ignored', messagesInit({ stream: true }));

    // Act
    const read = response.text();

    // Assess
    await expect(read).rejects.toThrow(/internalServerException: boom|ended before message_stop/);
  });

  it.each([
    ['ThrottlingException', 429, 429, 'rate_limit_error'],
    ['ValidationException', 400, 400, 'invalid_request_error'],
    ['AccessDeniedException', 403, 403, 'permission_error'],
    ['ModelTimeoutException', 408, 504, 'timeout_error'],
    ['ModelErrorException', undefined, 424, 'api_error'],
    ['SomethingNewException', undefined, 500, 'api_error'],
  ] as const)('answers a %s (HTTP %s) with %i and an Anthropic %s', async (name, status, expected, type) => {
    // Prepare
    const { client } = fakeClient(() => {
      throw serviceError(name, status);
    });

    // Act
    const response = await createBedrockFetch(async () => client)('ignored', messagesInit({ stream: true }));

    // Assess
    expect(response.status).toBe(expected);
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type, message: `Amazon Bedrock: ${name}: mock ${name}` },
    });
  });

  it("recognizes the SDK's own exception classes", async () => {
    // Prepare
    const throttled = new ThrottlingException({ message: 'slow down', $metadata: { httpStatusCode: 429 } });
    const { client } = fakeClient(() => {
      throw throttled;
    });

    // Act
    const response = await createBedrockFetch(async () => client)('ignored', messagesInit({}));

    // Assess
    expect(response.status).toBe(429);
  });

  it('rethrows what is not an answer from Bedrock, and anything once the call was aborted', async () => {
    // Prepare
    const unreachable = fakeClient(() => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:1');
    });
    const aborted = new AbortController();
    aborted.abort(new DOMException('timed out', 'TimeoutError'));
    const cancelled = fakeClient(() => {
      throw serviceError('ThrottlingException', 429);
    });

    // Act
    const first = createBedrockFetch(async () => unreachable.client)('ignored', messagesInit({}));
    const second = createBedrockFetch(async () => cancelled.client)('ignored', {
      ...messagesInit({}),
      signal: aborted.signal,
    });

    // Assess
    await expect(first).rejects.toThrow(/ECONNREFUSED/);
    await expect(second).rejects.toThrow(/ThrottlingException/);
  });
});
