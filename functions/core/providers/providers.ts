import type { ProtocolName } from '../protocols/types.ts';
import type { ProviderName } from './list.ts';

/**
 * Where each provider serves each protocol, relative to its base URL. The gateway proxies a protocol
 * as is and never translates between them, so a model whose provider does not serve the protocol the
 * client speaks is refused.
 */
const PATHS: Record<ProviderName, Partial<Record<ProtocolName, string>>> = {
  anthropic: {
    'anthropic-messages': '/v1/messages',
    'anthropic-count-tokens': '/v1/messages/count_tokens',
  },
  openai: {
    'openai-chat': '/v1/chat/completions',
    'openai-responses': '/v1/responses',
    'openai-embeddings': '/v1/embeddings',
  },
  // https://openrouter.ai/docs/api-reference/overview — base URL https://openrouter.ai/api
  openrouter: {
    'openai-chat': '/v1/chat/completions',
    'openai-responses': '/v1/responses',
    'openai-embeddings': '/v1/embeddings',
  },
  // Moonshot (Kimi) serves an OpenAI-compatible API under /v1 and an Anthropic-compatible one under /anthropic.
  moonshot: {
    'openai-chat': '/v1/chat/completions',
    'anthropic-messages': '/anthropic/v1/messages',
    'anthropic-count-tokens': '/anthropic/v1/messages/count_tokens',
  },
  // Amazon Bedrock serves Claude's Messages body at `/model/{modelId}/invoke[-with-response-stream]`
  // (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html).
  // The model id travels in the body here; the Bedrock upstream (adapters/aws/bedrock-fetch.ts) moves it
  // into the path and lets the SDK sign the call. Bedrock has no token counting endpoint for Claude.
  bedrock: {
    'anthropic-messages': '/model',
  },
};

export function upstreamPath(provider: ProviderName, protocol: ProtocolName): string | undefined {
  return PATHS[provider][protocol];
}
