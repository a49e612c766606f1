/**
 * OpenAI's two usage objects say the same thing under different names: Chat Completions counts
 * `prompt_tokens` and `completion_tokens`, Responses `input_tokens` and `output_tokens`, each with a
 * details object holding `cached_tokens` and `reasoning_tokens`. In both, the prompt count includes the
 * cached tokens and the output count includes reasoning. One reading, the names as data.
 */
import type { TokenUsage } from '../pricing/cost.ts';
import { isRecord, nonNegInt } from './types.ts';

export interface OpenAiUsageNames {
  prompt: string;
  output: string;
  promptDetails: string;
  outputDetails: string;
}

export const CHAT_USAGE: OpenAiUsageNames = {
  prompt: 'prompt_tokens',
  output: 'completion_tokens',
  promptDetails: 'prompt_tokens_details',
  outputDetails: 'completion_tokens_details',
};

export const RESPONSES_USAGE: OpenAiUsageNames = {
  prompt: 'input_tokens',
  output: 'output_tokens',
  promptDetails: 'input_tokens_details',
  outputDetails: 'output_tokens_details',
};

export function openAiUsage(names: OpenAiUsageNames, u: Record<string, unknown>): TokenUsage {
  const prompt = isRecord(u[names.promptDetails]) ? (u[names.promptDetails] as Record<string, unknown>) : {};
  const output = isRecord(u[names.outputDetails]) ? (u[names.outputDetails] as Record<string, unknown>) : {};
  const cached = nonNegInt(prompt.cached_tokens);
  return {
    input_tokens: Math.max(0, nonNegInt(u[names.prompt]) - cached),
    output_tokens: nonNegInt(u[names.output]),
    cache_read_tokens: cached,
    cache_write_5m_tokens: 0,
    cache_write_1h_tokens: 0,
    reasoning_tokens: nonNegInt(output.reasoning_tokens),
  };
}

/** The usage of a whole JSON answer (`{ usage: {...} }`), if it has one. */
export function openAiUsageOf(names: OpenAiUsageNames, json: unknown): TokenUsage | undefined {
  return isRecord(json) && isRecord(json.usage) ? openAiUsage(names, json.usage) : undefined;
}
