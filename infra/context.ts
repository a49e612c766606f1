import { governanceEnvironment } from '../functions/config.ts';
import { deploymentCatalog } from '../functions/core/pricing/catalog.ts';
import { rulesFromConfig } from '../functions/core/routing/rules.ts';

/**
 * The functions' environment from CDK context (`-c orgMaxBudget=5000 -c routingRules='[...]'`; the
 * names are GOVERNANCE_CONTEXT's), checked as the functions will read it — the model overrides parse,
 * and every routing rule compiles against that catalog — so a mistake fails `cdk synth`, not a cold start.
 */
export async function functionEnvironment(
  context: Record<string, string | undefined>,
): Promise<Record<string, string>> {
  const env = governanceEnvironment(context);
  const catalog = deploymentCatalog({
    modelsJson: env.TOLLGATE_MODELS_JSON,
    unknownModel: env.TOLLGATE_UNKNOWN_MODEL ?? 'refuse',
  });
  await rulesFromConfig(env.TOLLGATE_ROUTING_RULES_JSON, catalog);
  return env;
}

/** Operational settings, as `cdk deploy -c <name>=<value>` takes them; see `operationsSettings`. */
export const OPERATIONS_CONTEXT = [
  'proxyReservedConcurrency',
  'bedrockModels',
  'accessLogs',
  'quicksightPrincipalArn',
  'retentionDays',
] as const;

export interface OperationsSettings {
  /** Concurrent executions reserved for the proxy; undefined reserves none. */
  proxyReservedConcurrency: number | undefined;
  /** Bedrock model ids and inference profiles the proxy may invoke, beyond the catalog's defaults. */
  bedrockModelIds: string[];
  /** Whether the buckets and the distribution write access logs (into a logs bucket). */
  accessLogs: boolean;
  /** The QuickSight user or group the analysis is shared with; undefined creates no QuickSight resources. */
  quicksightPrincipalArn?: string;
  /** Days the lake keeps usage records and their aggregates (S3 lifecycle). */
  retentionDays: number;
}

/** A QuickSight user or group: `arn:aws:quicksight:<identity region>:<account>:user/<namespace>/<name>`. */
const QUICKSIGHT_PRINCIPAL = /^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:\d{12}:(user|group)\/[^/]+\/.+$/;

/**
 * What an operator may size or switch at deploy time (`-c proxyReservedConcurrency=300`), checked here
 * so a typo fails the synth:
 * - `proxyReservedConcurrency`: default 100 (about forty engineers with two or three agents streaming
 *   at once); `none` reserves nothing. Lambda keeps 100 of the account's concurrency unreserved, so the
 *   account needs at least this plus 100.
 * - `bedrockModels`: comma-separated Bedrock ids or inference profiles, added to the catalog's defaults.
 * - `accessLogs`: `true` adds a logs bucket for S3 server access logs and CloudFront standard logs.
 * - `quicksightPrincipalArn`: a QuickSight user or group ARN; adds the QuickSight data source, datasets
 *   and analysis on the analyst views, shared with it (needs a QuickSight subscription, so off by default).
 * - `retentionDays`: how long the lake keeps usage records and their daily aggregates; default 400.
 */
export function operationsSettings(context: Record<string, unknown>): OperationsSettings {
  const text = (name: string) => {
    const v = context[name];
    return v === undefined || v === null || String(v).trim() === '' ? undefined : String(v).trim();
  };
  const concurrency = text('proxyReservedConcurrency') ?? '100';
  const reserved = concurrency === 'none' ? undefined : Number(concurrency);
  if (reserved !== undefined && !(Number.isInteger(reserved) && reserved >= 1))
    throw new Error(
      `proxyReservedConcurrency: expected a whole number of at least 1 or 'none', got '${concurrency}'`,
    );
  const accessLogs = text('accessLogs') ?? 'false';
  if (accessLogs !== 'true' && accessLogs !== 'false')
    throw new Error(`accessLogs: expected true or false, got '${accessLogs}'`);
  const bedrockModelIds = (text('bedrockModels') ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const quicksightPrincipalArn = text('quicksightPrincipalArn');
  if (quicksightPrincipalArn !== undefined && !QUICKSIGHT_PRINCIPAL.test(quicksightPrincipalArn))
    throw new Error(
      `quicksightPrincipalArn: expected arn:aws:quicksight:<region>:<account>:user/<namespace>/<name> (or group/...), got '${quicksightPrincipalArn}'`,
    );
  const retention = text('retentionDays') ?? '400';
  const retentionDays = Number(retention);
  if (!(Number.isInteger(retentionDays) && retentionDays >= 1))
    throw new Error(`retentionDays: expected a whole number of days, at least 1, got '${retention}'`);
  return {
    retentionDays,
    proxyReservedConcurrency: reserved,
    bedrockModelIds,
    accessLogs: accessLogs === 'true',
    ...(quicksightPrincipalArn && { quicksightPrincipalArn }),
  };
}
