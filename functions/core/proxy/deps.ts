/**
 * What the proxy pipeline runs on: its ports, policy, catalog and limits. Each shell (the Lambda
 * handler, the local server) and each test builds one; pipeline.ts and the stages it calls take it.
 */
import type { GovernancePolicy } from '../governance/scopes.ts';
import type { Notifier } from '../ports/alerts.ts';
import type { BudgetLedger } from '../ports/budgets.ts';
import type { Clock } from '../ports/clock.ts';
import type { TeamStore, UserStore } from '../ports/documents.ts';
import type { InflightJournal } from '../ports/journal.ts';
import type { KeyStore } from '../ports/keys.ts';
import type { TelemetrySink, UsageSink } from '../ports/lake.ts';
import type { Logger } from '../ports/logging.ts';
import type { Metrics } from '../ports/metrics.ts';
import type { RateLimiter } from '../ports/rate-limits.ts';
import type { UpstreamFetch } from '../ports/upstream.ts';
import type { ModelCatalog } from '../pricing/catalog.ts';
import type { ProviderName, ProviderSettings } from '../providers/list.ts';
import type { RoutingRule } from '../routing/rules.ts';

export interface ProxyDeps {
  keys: KeyStore;
  /** Where requests in flight are made durable, for recovery after a crash. */
  journal: InflightJournal;
  /**
   * Whether the provider is called only once the request's in-flight entry is written. Locally the
   * write is a file append shared by every request of the tick (tens of microseconds), so a `kill -9`
   * at any moment leaves an entry, and so a record, for every request the provider saw. On Lambda it
   * is a DynamoDB write, so it runs beside the call instead: an environment that dies in the few
   * milliseconds before the write lands leaves no entry (README, "Budgets and limits").
   */
  journalFirst: boolean;
  teams: TeamStore;
  users: UserStore;
  ledger: BudgetLedger;
  limiter: RateLimiter;
  usage: UsageSink;
  /** Where budget threshold and soft-budget crossings go. */
  notifier: Notifier;
  policy: GovernancePolicy;
  upstream: UpstreamFetch;
  /** Providers not called over plain HTTP: Bedrock goes through the AWS SDK, which signs each call. */
  upstreams?: Partial<Record<ProviderName, UpstreamFetch>>;
  clock: Clock;
  catalog: ModelCatalog;
  providers: Record<ProviderName, ProviderSettings>;
  log: Logger;
  /** Refusals by scope (the rest of a request's metrics come from its record; see core/metrics.ts). */
  metrics?: Metrics;
  newRequestId: () => string;
  upstreamTimeoutMs: number;
  maxBodyBytes: number;
  /**
   * The most request-body bytes this instance holds at once (as declared, until each call is finished);
   * a request beyond it is refused with 503 and `retry-after` rather than the process running out of
   * memory. Unset: no bound (a Lambda environment serves one request at a time).
   */
  bodyBytesInFlight?: number;
  /** The OTLP receiver on `/v1/logs` and `/v1/metrics`; without it those paths answer 404. */
  telemetry?: {
    sink: TelemetrySink;
    /** Export requests a key may send per minute, per instance (its own limit, never the key's rpm). */
    requestsPerMinute: number;
    /** The most an export body may hold, on the wire and once gunzipped. */
    maxBodyBytes: number;
  };
  routing: {
    /** Every rule in force (config and admin API), cached by the caller. */
    rules: () => Promise<RoutingRule[]>;
    maxAttempts: number;
    fallbackAfterMs: number;
  };
}
