import { GatewayError } from '../errors.ts';
import type { BudgetCounter, Reservation } from '../ports/budgets.ts';
import type { ProtocolFamily } from '../protocols/types.ts';
import { type ProviderName, type ProviderSettings, usesApiKey } from './list.ts';

/**
 * The request headers an upstream provider gets: its own credential (never the client's virtual key),
 * the protocol headers the client sent (Claude Code's `anthropic-beta` list must arrive as is), JSON.
 * The header style follows the protocol: Anthropic-compatible endpoints (Moonshot's too) take
 * `x-api-key`, OpenAI-compatible ones a bearer token. Bedrock takes no key: its upstream signs each call
 * with AWS credentials, and reads `anthropic-beta` from these headers.
 */
export function upstreamHeaders(
  provider: ProviderName,
  family: ProtocolFamily,
  settings: ProviderSettings,
  incoming: Headers,
): Headers {
  const apiKey = usesApiKey(provider) ? settings.apiKey : undefined;
  if (usesApiKey(provider) && !apiKey) {
    throw new GatewayError('upstream', `Provider '${provider}' has no API key configured on the gateway.`);
  }
  const headers = new Headers({
    'content-type': 'application/json',
    accept: incoming.get('accept') ?? '*/*',
  });
  if (family === 'anthropic') {
    for (const [name, value] of incoming) if (name.startsWith('anthropic-')) headers.set(name, value);
    // The version header is required upstream; pass the client's, never pin one over it.
    if (!headers.has('anthropic-version')) headers.set('anthropic-version', '2023-06-01');
    if (apiKey) headers.set('x-api-key', apiKey);
  } else {
    for (const [name, value] of incoming) if (name === 'openai-beta') headers.set(name, value);
    if (apiKey) headers.set('authorization', `Bearer ${apiKey}`);
  }
  return headers;
}

/** Response headers worth passing back; hop-by-hop, length and encoding headers are not. */
const PASSED_BACK = ['content-type', 'cache-control', 'retry-after', 'request-id', 'x-request-id'];

export function clientHeaders(upstream: Headers, requestId: string): Headers {
  const headers = new Headers();
  for (const name of PASSED_BACK) {
    const value = upstream.get(name);
    if (value !== null) headers.set(name, value);
  }
  headers.set('x-tollgate-request-id', requestId);
  return headers;
}

/**
 * What the binding budget has left once this request's reservation is counted, so agents and scripts
 * can see a budget running out before a 402 (integer micro-dollars; the scope names the budget). To an
 * Anthropic client it is also told as the `anthropic-ratelimit-unified-*` headers Claude Code reads
 * from a gateway (the shapes its own gateway guide gives: the window-agnostic `overage` claim, the
 * fraction used, and the 0.75 or 0.95 threshold passed, which is what makes it warn its user).
 */
export function setBudgetHeaders(
  headers: Headers,
  reservation: Reservation | undefined,
  anthropic = false,
): void {
  const binding = reservation?.binding;
  if (!binding) return;
  headers.set('x-tollgate-budget-scope', `${binding.counter.scope}:${binding.counter.label}`);
  headers.set('x-tollgate-budget-remaining-micros', String(Math.max(0, binding.remaining_micros)));
  if (binding.counter.resets_at) headers.set('x-tollgate-budget-resets-at', binding.counter.resets_at);
  if (anthropic) setUnifiedHeaders(headers, binding.counter, binding.remaining_micros);
}

function setUnifiedHeaders(headers: Headers, counter: BudgetCounter, remaining: number): void {
  const limit = counter.limit_micros;
  if (!limit || limit <= 0) return;
  // Kept below 1 while requests are still allowed, two decimals.
  const used = Math.min(
    0.99,
    Math.max(0, Math.floor(((limit - Math.max(0, remaining)) / limit) * 100) / 100),
  );
  const threshold = used >= 0.95 ? '0.95' : used >= 0.75 ? '0.75' : undefined;
  const status = threshold ? 'allowed_warning' : 'allowed';
  const prefix = 'anthropic-ratelimit-unified-';
  headers.set(`${prefix}status`, status);
  headers.set(`${prefix}representative-claim`, 'overage');
  headers.set(`${prefix}overage-status`, status);
  headers.set(`${prefix}overage-utilization`, used.toFixed(2));
  if (threshold) headers.set(`${prefix}overage-surpassed-threshold`, threshold);
  if (counter.resets_at) {
    const reset = String(Math.floor(Date.parse(counter.resets_at) / 1000));
    headers.set(`${prefix}reset`, reset);
    headers.set(`${prefix}overage-reset`, reset);
  }
}

/**
 * The provider's id of an answer: Anthropic's `request-id` (`req_…`), OpenAI's and most
 * OpenAI-compatible APIs' `x-request-id`, Bedrock's `x-amzn-requestid`. Kept short: a client-facing
 * header is no place for a payload.
 */
export function providerRequestId(headers: Headers): string | undefined {
  const id = headers.get('request-id') ?? headers.get('x-request-id') ?? headers.get('x-amzn-requestid');
  return id ? id.slice(0, 200) : undefined;
}
