import { GatewayError } from '../errors.ts';
import type { Reservation } from '../ports/budgets.ts';
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
 * can see a budget running out before a 402 (integer micro-dollars; the scope names the budget).
 */
export function setBudgetHeaders(headers: Headers, reservation: Reservation | undefined): void {
  const binding = reservation?.binding;
  if (!binding) return;
  headers.set('x-tollgate-budget-scope', `${binding.counter.scope}:${binding.counter.label}`);
  headers.set('x-tollgate-budget-remaining-micros', String(Math.max(0, binding.remaining_micros)));
  if (binding.counter.resets_at) headers.set('x-tollgate-budget-resets-at', binding.counter.resets_at);
}
