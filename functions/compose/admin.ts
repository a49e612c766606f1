/**
 * The composition root's other half: the admin API's and the reports' dependencies, over the same
 * table stores as the proxy (compose/gateway.ts). Kept apart so the proxy's bundle never loads them.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { scimUserStore } from '../adapters/aws/dynamo-scim-store.ts';
import type { AdminDeps } from '../core/admin/api.ts';
import type { RollupDeps } from '../core/analytics/rollup.ts';
import type { AuditLog } from '../core/ports/audit.ts';
import type { BudgetLedger } from '../core/ports/budgets.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { LakeAggregates, QueryEngine } from '../core/ports/lake.ts';
import type { Logger } from '../core/ports/logging.ts';
import type { RollupStore } from '../core/ports/rollups.ts';
import type { ComposedProxy, GatewaySettings, TableStores } from './gateway.ts';

interface ReportParts {
  tables: TableStores;
  query: QueryEngine;
  /** The ledger budgets are read from: the per-request one, or the proxy's leased one in one process. */
  ledger: BudgetLedger;
  clock: Clock;
  log: Logger;
  /** The daily aggregates the rollup reads settled days from; raw records only without them. */
  aggregates?: LakeAggregates;
}

/** What the reports read: the stores, the ledger and the query engine (Athena or DuckDB). */
export function reportDeps(settings: GatewaySettings, parts: ReportParts): RollupDeps {
  const { tables } = parts;
  return {
    query: parts.query,
    keys: tables.keys,
    teams: tables.teams,
    users: tables.users,
    ledger: parts.ledger,
    clock: parts.clock,
    policy: settings.config.policy,
    catalog: settings.catalog,
    log: parts.log,
    ...(parts.aggregates && { aggregates: parts.aggregates }),
  };
}

/** SCIM deprovisioning when the IdP has a token (from the environment, or Secrets Manager on AWS). */
export function scimDeps(
  token: string | undefined,
  table: { client: DynamoDBClient; tableName: string },
): AdminDeps['scim'] {
  return token ? { token, users: scimUserStore(table.client, table.tableName) } : undefined;
}

export function adminDeps(
  settings: GatewaySettings,
  parts: ReportParts & {
    audit: AuditLog;
    rollups: RollupStore;
    masterKey: string;
    /** OIDC sign-in, when configured (compose/sign-in.ts). */
    signIn?: AdminDeps['signIn'];
    /** SCIM deprovisioning, when a token is configured. */
    scim?: AdminDeps['scim'];
    /**
     * The proxy of the same process, when there is one: the admin API then writes through its caches,
     * so a key, team, person or routing rule it changes stops being served from a cache at once.
     */
    proxy?: Pick<ComposedProxy, 'cached' | 'rules'>;
  },
): AdminDeps {
  const { tables, proxy } = parts;
  const reads = reportDeps(settings, parts);
  return {
    ...reads,
    ...(proxy && {
      keys: { ...proxy.cached.keys, get: tables.keys.get },
      teams: { ...proxy.cached.teams, get: tables.teams.get },
      users: { ...proxy.cached.users, get: tables.users.get },
    }),
    audit: parts.audit,
    rollups: parts.rollups,
    masterKey: parts.masterKey,
    rules: proxy ? proxy.rules.store : tables.rules,
    configRules: settings.configRules,
    outcomesMinPeople: settings.config.outcomesMinPeople,
    log: parts.log,
    ...(parts.signIn && { signIn: parts.signIn }),
    ...(parts.scim && { scim: parts.scim }),
  };
}
