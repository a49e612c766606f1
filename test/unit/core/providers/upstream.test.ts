import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../functions/config.ts';
import { GatewayError } from '../../../../functions/core/errors.ts';
import { upstreamHeaders } from '../../../../functions/core/providers/upstream.ts';

const incoming = new Headers({
  'x-api-key': 'sk-tg-client-virtual-key',
  'anthropic-version': '2023-06-01',
  'anthropic-beta': 'interleaved-thinking-2025-05-14',
});

describe('upstreamHeaders', () => {
  it('sends Bedrock the protocol headers and no key: the AWS SDK signs the call', () => {
    // Prepare
    const { providers } = loadConfig({});

    // Act
    const headers = upstreamHeaders('bedrock', 'anthropic', providers.bedrock, incoming);

    // Assess
    expect(Object.fromEntries(headers)).toEqual({
      'content-type': 'application/json',
      accept: '*/*',
      'anthropic-version': '2023-06-01',
      'anthropic-beta': 'interleaved-thinking-2025-05-14',
    });
  });

  it('still refuses a keyed provider whose key is missing', () => {
    // Prepare
    const { providers } = loadConfig({});

    // Act
    const call = () => upstreamHeaders('anthropic', 'anthropic', providers.anthropic, incoming);

    // Assess
    expect(call).toThrow(GatewayError);
  });
});

describe('Bedrock settings', () => {
  it('take no key, and leave the endpoint to the SDK unless TOLLGATE_BEDROCK_BASE_URL is set', () => {
    // Prepare
    const onAws = { AWS_REGION: 'eu-west-1', BEDROCK_API_KEY: 'ignored' };
    const local = { TOLLGATE_BEDROCK_BASE_URL: 'http://127.0.0.1:4010/' };

    // Act
    const [aws, mock] = [loadConfig(onAws), loadConfig(local)];

    // Assess
    expect(aws.bedrockEndpoint).toBeUndefined();
    expect(aws.providers.bedrock).toEqual({
      baseUrl: 'https://bedrock-runtime.eu-west-1.amazonaws.com',
      apiKey: undefined,
    });
    expect(mock.bedrockEndpoint).toBe('http://127.0.0.1:4010');
    expect(mock.providers.bedrock.baseUrl).toBe('http://127.0.0.1:4010');
  });
});
