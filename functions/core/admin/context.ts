import type { DayRange } from '../analytics/sql.ts';
import type { SignInDeps } from '../auth/routes.ts';
import type { ClientInfo } from '../client.ts';
import type { GovernancePolicy } from '../governance/scopes.ts';
import type { AuditLog } from '../ports/audit.ts';
import type { BudgetLedger } from '../ports/budgets.ts';
import type { Clock } from '../ports/clock.ts';
import type { RuleStore, TeamStore, UserStore } from '../ports/documents.ts';
import type { ErasureJobStore } from '../ports/erasure.ts';
import type { KeyStore } from '../ports/keys.ts';
import type { LakeAggregates, LakeEraser, QueryEngine } from '../ports/lake.ts';
import type { Logger } from '../ports/logging.ts';
import type { RollupStore } from '../ports/rollups.ts';
import type { ScimUserStore } from '../ports/scim.ts';
import type { ModelCatalog } from '../pricing/catalog.ts';
import type { RoutingRule } from '../routing/rules.ts';
import type { Caller } from './access.ts';

export interface AdminDeps {
  keys: KeyStore;
  teams: TeamStore;
  users: UserStore;
  ledger: BudgetLedger;
  audit: AuditLog;
  query: QueryEngine;
  rollups: RollupStore;
  clock: Clock;
  log: Logger;
  masterKey: string;
  policy: GovernancePolicy;
  catalog: ModelCatalog;
  /** Rules saved through the API; `configRules` are read-only here, changed in config. */
  rules: RuleStore;
  configRules: RoutingRule[];
  /** A team's outcome figures are shown from this many contributors on. @default 3 */
  outcomesMinPeople?: number;
  /**
   * The last day of `range` whose daily aggregates the reports run here may read (the team view, a
   * person's page); absent or null: they read raw records.
   */
  aggregatedThrough?: (range: DayRange) => Promise<string | null>;
  /**
   * Erasing a person: at once from the local lake (`lake`), or on AWS as a job the rollup function
   * works (`jobs`, core/admin/erasure-job.ts); absent where erasure is not available.
   */
  erasure?: { lake: LakeEraser; aggregates?: LakeAggregates } | { jobs: ErasureJobStore; settleMs?: number };
  /** OIDC sign-in, when configured: the dashboard's sessions and the group mapping. */
  signIn?: SignInDeps;
  /**
   * SCIM deprovisioning (`/scim/v2/`), when a token is configured: the IdP's bearer token and the
   * User resources it provisioned.
   */
  scim?: { token: string; users: ScimUserStore };
}

export type { ClientInfo };

export type Route = (request: Request, url: URL, client: ClientInfo) => Promise<Response>;

/** What every group of admin routes is given: the stores, who is calling, the body, the audit trail. */
export interface AdminContext {
  deps: AdminDeps;
  caller(headers: Headers): Promise<Caller>;
  /** The master key, or a person signed in with role `proxy_admin`. */
  requireMaster(headers: Headers): Promise<Caller>;
  /** The body as a JSON object, whatever the content-type says (`curl -d` sends form-encoded). */
  readJson(request: Request): Promise<unknown>;
  /** Records who did what to which target. */
  audit(caller: Caller, action: string, target: string, details?: Record<string, unknown>): Promise<void>;
}
