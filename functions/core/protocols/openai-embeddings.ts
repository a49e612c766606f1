/**
 * OpenAI Embeddings (https://platform.openai.com/docs/api-reference/embeddings). Never streamed; usage
 * is `{prompt_tokens, total_tokens}` and there are no output tokens.
 */
import { GatewayError } from '../errors.ts';
import { ZERO_USAGE } from '../pricing/cost.ts';
import { openaiChat } from './openai-chat.ts';
import { bodyTags, isRecord, nonNegInt, type Protocol } from './types.ts';

export const openaiEmbeddings: Protocol = {
  ...openaiChat,
  name: 'openai-embeddings',
  parseRequest(body) {
    if (typeof body.model !== 'string' || body.model === '') {
      throw new GatewayError('invalid_request', "'model' is a required property (a string naming the model)");
    }
    if (body.input === undefined) throw new GatewayError('invalid_request', "'input' is a required property");
    return {
      model: body.model,
      stream: false,
      maxOutputTokens: 0,
      sessionId: undefined,
      tags: bodyTags(body),
      generates: true,
    };
  },
  upstreamBody: (body) => ({ body, stripUsageChunk: false }),
  usageFromJson(json) {
    if (!isRecord(json) || !isRecord(json.usage)) return undefined;
    return { ...ZERO_USAGE, input_tokens: nonNegInt(json.usage.prompt_tokens) };
  },
};
