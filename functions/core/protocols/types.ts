import type { ErrorKind } from '../errors.ts';
import type { TokenUsage } from '../pricing/cost.ts';
import type { EventVerdict, SseEvent } from './sse.ts';

export type ProtocolName =
  | 'anthropic-messages'
  | 'anthropic-count-tokens'
  | 'openai-chat'
  | 'openai-responses'
  | 'openai-embeddings';

/** The header style of a protocol's family: Anthropic's `x-api-key`, or OpenAI's bearer token. */
export type ProtocolFamily = 'anthropic' | 'openai';

export interface ParsedRequest {
  model: string;
  stream: boolean;
  /** The client's output cap, if it set one: per choice where the protocol asks for several. */
  maxOutputTokens: number | undefined;
  /** Answers the provider generates and bills, each up to the output cap (OpenAI Chat's `n`); 1 if unset. */
  choices?: number;
  /**
   * The most searches the provider's web search tool may run, each billed per search (the tool's
   * `max_uses`, or the gateway's default, which it then sends upstream); 0 if unset.
   */
  webSearches?: number;
  /** Prompt tokens the provider adds beside the request's own text (a tool-use system prompt); 0 if unset. */
  addedPromptTokens?: number;
  /**
   * The field by which the request brings earlier turns into its prompt without carrying them (a
   * Responses `previous_response_id` or `conversation`): a prompt no reservation can bound.
   */
  promptNotCarried?: string;
  /** Opaque session id from the body (Claude Code puts one in metadata.user_id), if any. */
  sessionId: string | undefined;
  /** Tags the client put in the body (`metadata.tags`, as LiteLLM reads them). */
  tags: string[];
  /** False when the request asks the provider to generate nothing (Codex's `generate: false` warm-up). */
  generates: boolean;
}

/** Reads usage out of a streamed response, event by event. */
export interface StreamMeter {
  onEvent(event: SseEvent): EventVerdict;
  /** Usage as reported by the provider, or undefined if none arrived. */
  usage(): TokenUsage | undefined;
  /** The provider's error type if the stream carried an error event. */
  error(): string | undefined;
  /** The generated text seen, for estimating output when usage never arrives. */
  generatedText(): string;
}

export interface Protocol {
  name: ProtocolName;
  family: ProtocolFamily;
  /** False for calls that cost nothing upstream (token counting): no reservation, no spend. */
  billable: boolean;
  /** Validates the little the gateway needs; unknown fields pass through untouched. */
  parseRequest(body: Record<string, unknown>): ParsedRequest;
  /**
   * The body to send upstream. `outputCap` lowers the output limit when the budget cannot pay for more.
   * `stripUsageChunk` tells the meter to hide a usage-only chunk the client did not ask for.
   */
  upstreamBody(
    body: Record<string, unknown>,
    request: ParsedRequest,
    outputCap: number | undefined,
  ): { body: Record<string, unknown>; stripUsageChunk: boolean };
  usageFromJson(json: unknown): TokenUsage | undefined;
  createMeter(options: { stripUsageChunk: boolean }): StreamMeter;
  /** An error body in this protocol's shape. */
  errorBody(kind: ErrorKind, message: string): unknown;
  /** An SSE event carrying an error, for failures after the response status was sent. */
  streamErrorEvent(kind: ErrorKind, message: string): string;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function nonNegInt(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

/** `metadata.tags` from a request body, when it is a list of strings. */
export function bodyTags(body: Record<string, unknown>): string[] {
  const metadata = body.metadata;
  if (!isRecord(metadata) || !Array.isArray(metadata.tags)) return [];
  return metadata.tags.filter((t): t is string => typeof t === 'string');
}
