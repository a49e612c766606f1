import { setTimeout as sleep } from 'node:timers/promises';
import { crossings, toAlert } from '../governance/thresholds.ts';
import type {
  BudgetLedger,
  Clock,
  InflightEntry,
  InflightHold,
  InflightJournal,
  Lease,
  Logger,
  Notifier,
  ParallelSlot,
  RateLimiter,
  RateWindow,
  Reservation,
  Settlement,
  UsageSink,
  VirtualKey,
} from '../ports.ts';
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
  /** The key's tags, the body's `metadata.tags` and the `x-tollgate-tags` header, de-duplicated. */
  tags: string[];
  /** False for calls that cost nothing: token counting, Codex's `generate: false` warm-up. */
  billable: boolean;
  /** Set by the first `finish`: a call is settled and recorded once, however many paths end it. */
  finished?: boolean;
  /** Each attempt's budget hold (lease and counters), for the in-flight entry. */
  holds: InflightHold[];
  /** The in-flight entry's write, once the request started reserving (see InflightJournal). */
  journaled?: Promise<void>;
}

export interface CallResult {
  status: number;
  outcome: UsageRecord['outcome'];
  error_type?: string | undefined;
  /** Present when a response body from the provider was read. */
  reading?: BodyReading;
}

const SETTLE_ATTEMPTS = 3;
const SETTLE_BACKOFF_MS = 100;

export interface Finisher {
  /** Settles and records the call in the background; never throws. Tracked until `drain`. */
  finish(call: CallState, result: CallResult): void;
  drain(): Promise<void>;
}

export function createFinisher(deps: {
  journal: InflightJournal;
  ledger: BudgetLedger;
  limiter: RateLimiter;
  usage: UsageSink;
  notifier: Notifier;
  policy: { alertThresholdsPct: number[] };
  clock: Clock;
  log: Logger;
}): Finisher {
  const inflight = new Set<Promise<void>>();

  async function settleAndRecord(call: CallState, result: CallResult): Promise<void> {
    const ended = deps.clock.now();
    const { usage, source } = await meteredUsage(call, result);
    const { record, cost } = recordOf(call, { ...result, usage, usage_source: source, ended });
    // Write-ahead: the outcome is in the journal before anything applies it. Should the process die
    // from here on, recovery writes this very record and settles to its cost, never a `lost` estimate
    // beside a cost already settled or a record already written. The settle is asked for first, as it
    // fixes the batch the journal names, and reaches no counter before the journal line is written.
    let journaled = () => {};
    const outcomeJournaled = new Promise<void>((resolve) => {
      journaled = resolve;
    });
    const settling = settle(call, cost, outcomeJournaled);
    await journal(call, (j) =>
      j.finishing(call.request_id, { record, reservation: call.reservation ?? null }),
    );
    journaled();
    const [settlements, written] = await Promise.all([
      settling,
      writeRecord(record),
      releaseSlots(call),
      usage ? addRateTokens(call, promptTokens(usage) + usage.output_tokens) : undefined,
    ]);
    // Ended only once the record is written: an entry left behind lets recovery write it.
    if (written) await journal(call, (j) => j.end(call.request_id));
    await alert(call, settlements);
  }

  async function writeRecord(record: UsageRecord): Promise<boolean> {
    try {
      await deps.usage.write([record]);
      return true;
    } catch (err) {
      deps.log.error('usage.write_failed', { request_id: record.request_id, error: String(err) });
      return false;
    }
  }

  /** A step on the call's in-flight entry, if it has one: after the entry's own write, never failing. */
  async function journal(call: CallState, step: (j: InflightJournal) => Promise<void>): Promise<void> {
    if (!call.journaled) return;
    try {
      await call.journaled;
      await step(deps.journal);
    } catch (err) {
      deps.log.error('inflight.write_failed', { request_id: call.request_id, error: String(err) });
    }
  }

  /**
   * Replaces the reservation by the cost. Settling is idempotent (a settlement that landed is not
   * counted again), so a failure is retried; if it still fails, the lease expires and is released
   * later, and the record in the lake keeps the cost.
   */
  async function settle(call: CallState, cost: number, after: Promise<void>): Promise<Settlement[]> {
    const reservation = call.reservation;
    if (!reservation) return [];
    for (let attempt = 1; ; attempt++) {
      try {
        return await deps.ledger.settle(reservation, cost, after);
      } catch (err) {
        if (attempt === SETTLE_ATTEMPTS) {
          deps.log.error('budget.settle_failed', {
            request_id: call.request_id,
            cost_micros: cost,
            error: String(err),
          });
          return [];
        }
        await sleep(SETTLE_BACKOFF_MS * 4 ** (attempt - 1));
      }
    }
  }

  async function releaseSlots(call: CallState): Promise<void> {
    await Promise.all(
      (call.slots ?? []).map((slot) =>
        deps.limiter.release(slot, call.request_id).catch((err: unknown) => {
          // The slot's lease expires and frees it later.
          deps.log.error('parallel.release_failed', { request_id: call.request_id, error: String(err) });
        }),
      ),
    );
  }

  async function addRateTokens(call: CallState, tokens: number): Promise<void> {
    await Promise.all(
      (call.rate_windows ?? []).map((w) =>
        deps.limiter.addTokens(w, tokens).catch((err: unknown) => {
          deps.log.error('rate_limit.count_failed', { request_id: call.request_id, error: String(err) });
        }),
      ),
    );
  }

  /** Threshold and soft-budget crossings this settlement caused; delivery never fails the request. */
  async function alert(call: CallState, settlements: Settlement[]): Promise<void> {
    const events = crossings(settlements, deps.policy.alertThresholdsPct).map((c) =>
      toAlert(c, deps.clock.now()),
    );
    await Promise.all(
      events.map((event) =>
        deps.notifier.notify(event).catch((err: unknown) => {
          deps.log.error('alert.notify_failed', {
            request_id: call.request_id,
            scope: event.scope,
            error: String(err),
          });
        }),
      ),
    );
  }

  return {
    finish(call, result) {
      if (call.finished) return;
      call.finished = true;
      const done = settleAndRecord(call, result)
        .catch((err: unknown) => {
          // A bug here must cost one request its bookkeeping, never the process.
          deps.log.error('proxy.finish_failed', { request_id: call.request_id, error: String(err) });
        })
        .finally(() => inflight.delete(done));
      inflight.add(done);
    },
    async drain() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
  };
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
async function meteredUsage(
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
