import type { Lease, Reservation } from '../ports/budgets.ts';
import type { InflightEntry, InflightHold } from '../ports/journal.ts';
import type { VirtualKey } from '../ports/keys.ts';
import type { ParallelSlot, RateWindow } from '../ports/rate-limits.ts';
import type { ResolvedModel } from '../pricing/catalog.ts';
import { costMicros, promptTokens, type TokenUsage, ZERO_USAGE } from '../pricing/cost.ts';
import type { Protocol } from '../protocols/types.ts';
import { toUsageRecord } from '../usage/build.ts';
import { countTokens, promptText } from '../usage/estimate.ts';
import type { UsageRecord } from '../usage/record.ts';
import type { BodyReading } from './metered-body.ts';

/** What the pipeline has learned about a request so far; filled in step by step. */
export interface CallState {
  request_id: string;
  started: Date;
  route: string;
  protocol: Protocol;
  agent: string;
  agent_version: string | null;
  stream: boolean;
  prompt_bytes: number;
  /** The parsed request body, kept for estimating prompt tokens if the provider never reports usage. */
  body?: Record<string, unknown>;
  key?: VirtualKey;
  /** The model serving the request: the one asked for, or a routing rule's (the current attempt's). */
  model?: ResolvedModel;
  model_requested?: string;
  /** The routing rule that chose the models, if one fired. */
  rule?: { id: string; name: string };
  /** With a rule: the catalog's model for the name asked for, if it knows it (to record what moved). */
  asked?: ResolvedModel;
  /** Each upstream call made, as `<provider>/<model> <status|timeout|unreachable>`. */
  attempts: string[];
  /** The lease every reservation and slot of this request is held under. */
  lease?: Lease;
  session_id?: string;
  reservation?: Reservation;
  /** The rate-limit windows the request was admitted in, to add its tokens to. */
  rate_windows?: RateWindow[];
  /** The parallel slots it holds, to give back. */
  slots?: ParallelSlot[];
  first_byte?: Date;
  upstream_started?: Date;
  upstream_ended?: Date;
  /** The provider's id of its answer to the latest attempt (its `request-id` or `x-request-id` header). */
  provider_request_id?: string;
  /** The key's tags, the body's `metadata.tags` and the `x-tollgate-tags` header, de-duplicated. */
  tags: string[];
  /** False for calls that cost nothing: token counting, Codex's `generate: false` warm-up. */
  billable: boolean;
  /** Set by the first `finish`: a call is settled and recorded once, however many paths end it. */
  finished?: boolean;
  /** What the call holds in the process (its deadline's timer, its body's bytes): let go of by the first `finish`. */
  releases?: Array<() => void>;
  /** Each attempt's budget hold (lease and counters), for the in-flight entry. */
  holds: InflightHold[];
  /** The in-flight entry's write, once the request started reserving (see InflightJournal). */
  journaled?: Promise<void>;
}

/** Something the call holds in the process, let go of when it finishes (see `releases`). */
export function releaseOnFinish(call: CallState, release: () => void): void {
  if (call.releases) call.releases.push(release);
  else call.releases = [release];
}

export interface CallResult {
  status: number;
  outcome: UsageRecord['outcome'];
  error_type?: string | undefined;
  /** Present when a response body from the provider was read. */
  reading?: BodyReading;
}

/** What the request cost and the usage record it leaves, from what is known about it so far. */
export function recordOf(
  call: CallState,
  end: CallResult & { usage: TokenUsage | undefined; usage_source: UsageRecord['usage_source']; ended: Date },
): { record: UsageRecord; cost: number } {
  const { usage } = end;
  const listCost = usage && call.model && call.billable ? costMicros(usage, call.model.price) : 0;
  // Flat-rate plans (a Kimi coding plan, say) record their list price as shadow cost and bill nothing.
  const cost = call.key?.billing_type === 'subscription' ? 0 : listCost;
  const record = toUsageRecord({
    request_id: call.request_id,
    started: call.started,
    ended: end.ended,
    first_byte: call.first_byte,
    upstream_started: call.upstream_started,
    upstream_ended: call.upstream_ended,
    tags: call.tags,
    route: call.route,
    protocol: call.protocol.name,
    agent: call.agent,
    agent_version: call.agent_version,
    session_id: call.session_id,
    key: call.key,
    provider: call.model?.provider,
    model_requested: call.model_requested,
    model_used: call.model?.model,
    stream: call.stream,
    status: end.status,
    outcome: end.outcome,
    error_type: end.error_type,
    usage,
    usage_source: end.usage_source,
    cost_micros: cost,
    shadow_cost_micros: listCost,
    reserved_micros: Math.max(0, ...(call.reservation?.claims.map((c) => c.amount_micros) ?? [])),
    price_version: call.model?.price.version,
    rule: call.rule,
    attempts: call.attempts,
    cost_as_requested_micros:
      call.rule && call.asked && usage && call.billable ? costMicros(usage, call.asked.price) : undefined,
    provider_request_id: call.provider_request_id,
  });
  return { record, cost };
}

/**
 * The in-flight entry of a call whose provider call is starting: the record it leaves if its process
 * dies before it ends — outcome `lost`, its prompt estimated from its size (about four bytes a token)
 * and the whole output it was allowed, since the provider may have generated all of it — and what it holds.
 */
export function inflightEntry(
  call: CallState,
  allowed: { output: number; choices: number | undefined; searches: number | undefined },
  expiresAt: Date,
  now: Date,
): Omit<InflightEntry, 'holder' | 'final'> {
  const usage = {
    ...ZERO_USAGE,
    input_tokens: Math.ceil(call.prompt_bytes / 4),
    output_tokens: allowed.output * (allowed.choices ?? 1),
    web_search_requests: allowed.searches ?? 0,
  };
  const { record: lost } = recordOf(call, {
    status: 0,
    outcome: 'lost',
    error_type: 'process_died',
    usage,
    usage_source: 'estimated',
    ended: now,
  });
  return {
    request_id: call.request_id,
    expires_at: expiresAt.toISOString(),
    lost,
    holds: call.holds,
    slots: call.slots ?? [],
  };
}

/**
 * The provider's usage when it reported it for a complete response; otherwise an estimate, counted
 * with a tokenizer, from what was sent (the prompt's text) and received (the generated text), keeping
 * whatever counts did arrive.
 */
export async function meteredUsage(
  call: CallState,
  result: CallResult,
): Promise<{ usage: TokenUsage | undefined; source: UsageRecord['usage_source'] }> {
  const reading = result.reading;
  if (!reading) return { usage: undefined, source: 'none' };
  if (reading.usage && result.outcome === 'success') return { usage: reading.usage, source: 'provider' };
  const reported = reading.usage ?? ZERO_USAGE;
  const promptKnown = promptTokens(reported) > 0;
  const input = promptKnown ? reported.input_tokens : await countTokens(promptText(call.body));
  const output = Math.max(reported.output_tokens, await countTokens(reading.generatedText));
  return { usage: { ...reported, input_tokens: input, output_tokens: output }, source: 'estimated' };
}
