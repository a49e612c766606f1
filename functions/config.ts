/**
 * The one place that reads the environment. Everything else receives a typed Config.
 * Local runs (`npm start`) and Lambda share the variable names; CDK sets the AWS ones.
 */
import { configError } from './core/config-error.ts';
import { isValidDuration, isValidTimeZone } from './core/governance/periods.ts';
import type { GovernancePolicy } from './core/governance/scopes.ts';
import {
  apiKeyName,
  DEFAULT_BASE_URLS,
  PROVIDERS,
  type ProviderName,
  type ProviderSettings,
  usesApiKey,
} from './core/providers/list.ts';
import * as z from './core/zod-mini.ts';

export interface Config {
  tableName: string;
  /** Set locally (dynalite) and in tests; unset on AWS. */
  dynamodbEndpoint: string | undefined;
  region: string;
  masterKey: string | undefined;
  masterKeySecretArn: string | undefined;
  providerKeysSecretArn: string | undefined;
  providers: Record<ProviderName, ProviderSettings>;
  /**
   * Bedrock runtime endpoint override (`TOLLGATE_BEDROCK_BASE_URL`): a mock locally and in tests. Unset
   * on AWS, where the SDK resolves the regional endpoint.
   */
  bedrockEndpoint: string | undefined;
  firehoseStream: string | undefined;
  /** AWS: the Firehose stream of the agents' telemetry (its own table); unset, the receiver is off. */
  telemetryStream: string | undefined;
  /** The OTLP receiver's own limits: export requests per key per minute, and bytes per body. */
  telemetry: { requestsPerMinute: number; maxBodyBytes: number };
  /** The org's outcome reports hide a team's figures below this many contributors. */
  outcomesMinPeople: number;
  athena: { workgroup: string; database: string; table: string };
  snsTopicArn: string | undefined;
  /** Where the rollup function writes the dashboard's rollup, and the admin API reads it (AWS). */
  rollup: { bucket: string | undefined; key: string };
  /** Where usage records Firehose would not take wait for replay (AWS): the lake bucket, `spill/`. */
  spillBucket: string | undefined;
  /** The lake bucket (AWS), where the rollup function keeps the daily aggregates under `aggregates/`. */
  lakeBucket: string | undefined;
  slackWebhookUrl: string | undefined;
  /** AWS: the secret holding the Slack webhook URL, read by the forwarder function only. */
  slackWebhookSecretArn: string | undefined;
  /** Linked from alerts, when known. */
  dashboardUrl: string | undefined;
  dataDir: string;
  host: string;
  port: number;
  keyCacheMs: number;
  upstreamTimeoutMs: number;
  maxBodyBytes: number;
  /** A process: the request-body bytes it holds at once before it answers 503 (see ProxyDeps). */
  bodyBytesInFlight: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Local mode: `text` (one readable line per event), `json` (one JSON object per line), or `auto` —
   * text in a terminal, JSON when the output goes to a file or a collector.
   */
  logFormat: 'auto' | 'text' | 'json';
  /** The Lambda function's name (set by Lambda): the `function` dimension of its metrics. */
  functionName: string;
  /** JSON list of model catalog entries that add to or replace the built-in ones. */
  modelsJson: string | undefined;
  /** A model nothing prices: `refuse`, or the name of a model whose price it is billed at. */
  unknownModel: string;
  routing: {
    /** JSON list of routing rules kept in config, beside those saved through the admin API. */
    rulesJson: string | undefined;
    /** Upstream calls one request may make: its target and then fallbacks. */
    maxAttempts: number;
    /** A streamed attempt with a fallback left moves on when the provider has not answered by then. */
    fallbackAfterMs: number;
  };
  /** Budget time zone, fair-mode expectation, the org-wide budget and alert thresholds. */
  policy: GovernancePolicy;
  /** Whether the local runtime compacts settled days of the lake to Parquet (hourly). */
  lakeCompaction: boolean;
  /** Days the local lake keeps usage records and their aggregates (on AWS, the bucket's lifecycle). */
  retentionDays: number;
  /** Whether a weekly digest of spend and adoption by team goes out on the alert channels. */
  weeklyDigest: boolean;
  /**
   * The sign-in variables as given (TOLLGATE_OIDC_*, TOLLGATE_PUBLIC_URL...), read by `signInConfig`
   * (compose/sign-in-config.ts) when the admin side starts: parsing them here would weigh on the proxy's bundle, which never signs
   * anyone in.
   */
  signInEnv: Record<string, string | undefined>;
  /**
   * SCIM deprovisioning from the organisation's IdP (`/scim/v2/` on the admin API): the bearer token
   * the IdP presents (TOLLGATE_SCIM_TOKEN), or on AWS the secret holding it; off when neither is set.
   */
  scim: { token: string | undefined; tokenSecretArn: string | undefined };
}

const optional = z.pipe(
  z.optional(z.string()),
  z.transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim())),
);
const int = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.nonnegative()), fallback);
const text = (fallback: string) => z._default(z.string(), fallback);
const flag = (fallback: 'true' | 'false') => z._default(z.enum(['true', 'false']), fallback);

const EnvSchema = z.object({
  TOLLGATE_TABLE: text('tollgate'),
  TOLLGATE_DYNAMODB_ENDPOINT: optional,
  AWS_REGION: text('us-east-1'),
  TOLLGATE_MASTER_KEY: optional,
  TOLLGATE_MASTER_KEY_SECRET_ARN: optional,
  TOLLGATE_PROVIDER_KEYS_SECRET_ARN: optional,
  TOLLGATE_FIREHOSE_STREAM: optional,
  TOLLGATE_TELEMETRY_STREAM: optional,
  TOLLGATE_TELEMETRY_RPM: int(120),
  // Codex's metrics bodies run to ~600 KB; a function URL takes 6 MB at most.
  TOLLGATE_TELEMETRY_MAX_BODY_BYTES: int(4 * 1024 * 1024),
  TOLLGATE_OUTCOMES_MIN_PEOPLE: int(3),
  TOLLGATE_ATHENA_WORKGROUP: text('tollgate'),
  TOLLGATE_ATHENA_DATABASE: text('tollgate'),
  TOLLGATE_USAGE_TABLE: text('usage'),
  TOLLGATE_SNS_TOPIC_ARN: optional,
  TOLLGATE_ROLLUP_BUCKET: optional,
  TOLLGATE_ROLLUP_KEY: text('rollups/latest.json'),
  TOLLGATE_SPILL_BUCKET: optional,
  TOLLGATE_LAKE_BUCKET: optional,
  TOLLGATE_SLACK_WEBHOOK_URL: optional,
  TOLLGATE_SLACK_WEBHOOK_SECRET_ARN: optional,
  TOLLGATE_DASHBOARD_URL: optional,
  // The IdP's SCIM token: long enough that guessing it is out of the question.
  TOLLGATE_SCIM_TOKEN: z.pipe(
    optional,
    z.optional(z.string().check(z.minLength(32, 'expected at least 32 characters'))),
  ),
  TOLLGATE_SCIM_TOKEN_SECRET_ARN: optional,
  TOLLGATE_DATA_DIR: text('.tollgate'),
  TOLLGATE_HOST: text('127.0.0.1'),
  TOLLGATE_PORT: int(4000),
  TOLLGATE_KEY_CACHE_MS: int(5_000),
  TOLLGATE_UPSTREAM_TIMEOUT_MS: int(600_000),
  TOLLGATE_MAX_BODY_BYTES: int(6 * 1024 * 1024),
  TOLLGATE_BODY_BYTES_IN_FLIGHT: int(192 * 1024 * 1024),
  TOLLGATE_LOG_LEVEL: z._default(z.enum(['debug', 'info', 'warn', 'error']), 'info'),
  TOLLGATE_LOG_FORMAT: z._default(z.enum(['auto', 'text', 'json']), 'auto'),
  AWS_LAMBDA_FUNCTION_NAME: text('tollgate-local'),
  TOLLGATE_MODELS_JSON: optional,
  TOLLGATE_UNKNOWN_MODEL: text('refuse'),
  TOLLGATE_ROUTING_RULES_JSON: optional,
  TOLLGATE_ROUTING_MAX_ATTEMPTS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(5)), 3),
  TOLLGATE_FALLBACK_AFTER_MS: z._default(z.coerce.number().check(z.int(), z.positive()), 20_000),
  TOLLGATE_LAKE_COMPACT: flag('true'),
  TOLLGATE_RETENTION_DAYS: z._default(z.coerce.number().check(z.int(), z.gte(1)), 400),
  TOLLGATE_WEEKLY_DIGEST: flag('false'),
  TOLLGATE_BUDGET_TIMEZONE: z
    ._default(z.string(), 'UTC')
    .check(z.refine(isValidTimeZone, 'expected an IANA time zone')),
  TOLLGATE_FAIR_OUTPUT_TOKENS: z._default(z.coerce.number().check(z.int(), z.positive()), 4_096),
  TOLLGATE_FAIR_OVERSHOOT_PCT: z._default(z.coerce.number().check(z.nonnegative(), z.lte(100)), 10),
  TOLLGATE_ORG_MAX_BUDGET: z.optional(z.coerce.number().check(z.nonnegative())),
  TOLLGATE_ORG_SOFT_BUDGET: z.optional(z.coerce.number().check(z.nonnegative())),
  TOLLGATE_ORG_BUDGET_DURATION: z
    ._default(z.string(), 'monthly')
    .check(z.refine(isValidDuration, 'expected daily|weekly|monthly or <n>(d|w|mo)')),
  TOLLGATE_ORG_BUDGET_MODE: z._default(z.enum(['strict', 'fair']), 'strict'),
  TOLLGATE_ORG_BUDGET_START: z._default(z.iso.datetime({ offset: true }), '2026-01-01T00:00:00Z'),
  TOLLGATE_ALERT_THRESHOLDS: z
    .pipe(
      z._default(z.string(), '50,80,100'),
      z.transform((v) => v.split(',').map((p) => Number(p.trim()))),
    )
    .check(
      z.refine((l) => l.every((p) => Number.isFinite(p) && p > 0), 'expected percentages, e.g. 50,80,100'),
    ),
});

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) throw configError('env', parsed.error.issues, undefined, parsed.error);
  const e = parsed.data;
  const providers = Object.fromEntries(
    PROVIDERS.map((name) => {
      const baseUrl = baseUrlOverride(env, name) ?? DEFAULT_BASE_URLS[name].replace('{region}', e.AWS_REGION);
      const apiKey = (usesApiKey(name) && env[apiKeyName(name)]?.trim()) || undefined;
      return [name, { baseUrl, apiKey }];
    }),
  ) as Record<ProviderName, ProviderSettings>;
  return {
    tableName: e.TOLLGATE_TABLE,
    dynamodbEndpoint: e.TOLLGATE_DYNAMODB_ENDPOINT,
    region: e.AWS_REGION,
    masterKey: e.TOLLGATE_MASTER_KEY,
    masterKeySecretArn: e.TOLLGATE_MASTER_KEY_SECRET_ARN,
    providerKeysSecretArn: e.TOLLGATE_PROVIDER_KEYS_SECRET_ARN,
    providers,
    bedrockEndpoint: baseUrlOverride(env, 'bedrock'),
    firehoseStream: e.TOLLGATE_FIREHOSE_STREAM,
    telemetryStream: e.TOLLGATE_TELEMETRY_STREAM,
    telemetry: {
      requestsPerMinute: e.TOLLGATE_TELEMETRY_RPM,
      maxBodyBytes: e.TOLLGATE_TELEMETRY_MAX_BODY_BYTES,
    },
    outcomesMinPeople: e.TOLLGATE_OUTCOMES_MIN_PEOPLE,
    athena: {
      workgroup: e.TOLLGATE_ATHENA_WORKGROUP,
      database: e.TOLLGATE_ATHENA_DATABASE,
      table: e.TOLLGATE_USAGE_TABLE,
    },
    snsTopicArn: e.TOLLGATE_SNS_TOPIC_ARN,
    rollup: { bucket: e.TOLLGATE_ROLLUP_BUCKET, key: e.TOLLGATE_ROLLUP_KEY },
    spillBucket: e.TOLLGATE_SPILL_BUCKET,
    lakeBucket: e.TOLLGATE_LAKE_BUCKET,
    slackWebhookUrl: e.TOLLGATE_SLACK_WEBHOOK_URL,
    slackWebhookSecretArn: e.TOLLGATE_SLACK_WEBHOOK_SECRET_ARN,
    dashboardUrl: e.TOLLGATE_DASHBOARD_URL,
    dataDir: e.TOLLGATE_DATA_DIR,
    host: e.TOLLGATE_HOST,
    port: e.TOLLGATE_PORT,
    keyCacheMs: e.TOLLGATE_KEY_CACHE_MS,
    upstreamTimeoutMs: e.TOLLGATE_UPSTREAM_TIMEOUT_MS,
    maxBodyBytes: e.TOLLGATE_MAX_BODY_BYTES,
    bodyBytesInFlight: e.TOLLGATE_BODY_BYTES_IN_FLIGHT,
    logLevel: e.TOLLGATE_LOG_LEVEL,
    logFormat: e.TOLLGATE_LOG_FORMAT,
    functionName: e.AWS_LAMBDA_FUNCTION_NAME,
    modelsJson: e.TOLLGATE_MODELS_JSON,
    unknownModel: e.TOLLGATE_UNKNOWN_MODEL,
    routing: {
      rulesJson: e.TOLLGATE_ROUTING_RULES_JSON,
      maxAttempts: e.TOLLGATE_ROUTING_MAX_ATTEMPTS,
      fallbackAfterMs: e.TOLLGATE_FALLBACK_AFTER_MS,
    },
    lakeCompaction: e.TOLLGATE_LAKE_COMPACT === 'true',
    retentionDays: e.TOLLGATE_RETENTION_DAYS,
    signInEnv: Object.fromEntries(
      Object.keys(env)
        .filter((name) =>
          /^TOLLGATE_(PUBLIC_URL|MASTER_KEY_OFF|LOGIN_PER_MINUTE)$|^TOLLGATE_(OIDC|SESSION|TRUST)_/.test(
            name,
          ),
        )
        .map((name) => [name, env[name]]),
    ),
    weeklyDigest: e.TOLLGATE_WEEKLY_DIGEST === 'true',
    scim: { token: e.TOLLGATE_SCIM_TOKEN, tokenSecretArn: e.TOLLGATE_SCIM_TOKEN_SECRET_ARN },
    policy: {
      timeZone: e.TOLLGATE_BUDGET_TIMEZONE,
      fairOutputTokens: e.TOLLGATE_FAIR_OUTPUT_TOKENS,
      fairOvershootPct: e.TOLLGATE_FAIR_OVERSHOOT_PCT,
      alertThresholdsPct: e.TOLLGATE_ALERT_THRESHOLDS,
      // An org budget exists once it has a limit or a soft budget; otherwise nothing meters the org.
      org:
        e.TOLLGATE_ORG_MAX_BUDGET === undefined && e.TOLLGATE_ORG_SOFT_BUDGET === undefined
          ? null
          : {
              label: 'org',
              max_budget_micros: microsOf(e.TOLLGATE_ORG_MAX_BUDGET),
              soft_budget_micros: microsOf(e.TOLLGATE_ORG_SOFT_BUDGET),
              budget_duration: e.TOLLGATE_ORG_BUDGET_DURATION,
              budget_mode: e.TOLLGATE_ORG_BUDGET_MODE,
              anchor: new Date(e.TOLLGATE_ORG_BUDGET_START).toISOString(),
            },
    },
  };
}

function microsOf(usd: number | undefined): number | null {
  return usd === undefined ? null : Math.round(usd * 1_000_000);
}

function baseUrlOverride(env: Record<string, string | undefined>, name: ProviderName): string | undefined {
  const value = env[`TOLLGATE_${name.toUpperCase()}_BASE_URL`]?.trim();
  return value ? value.replace(/\/+$/, '') : undefined;
}

/** `npm run demo`: the embedded gateway over its own data dir, so a demo never mixes with real data. */
export function loadDemoConfig(env: Record<string, string | undefined> = process.env): Config {
  return loadConfig({ TOLLGATE_DATA_DIR: '.tollgate-demo', ...env });
}

export interface CliConfig {
  /** The gateway to talk to: TOLLGATE_URL, else the local server's address. */
  url: string;
  /** The key to act with: a person's own (TOLLGATE_API_KEY) or the master key. */
  key: string | undefined;
  dataDir: string;
}

/** What `npx tollgate` needs: where the gateway is and which key to use. */
export function loadCliConfig(env: Record<string, string | undefined> = process.env): CliConfig {
  const config = loadConfig(env);
  const url = env.TOLLGATE_URL?.trim() || `http://${config.host}:${config.port}`;
  return {
    url: url.replace(/\/+$/, ''),
    key: env.TOLLGATE_API_KEY?.trim() || config.masterKey,
    dataDir: config.dataDir,
  };
}

/** The environment variable names CDK sets on the functions; kept here so infra and code agree. */
export const ENV = {
  table: 'TOLLGATE_TABLE',
  masterKeySecretArn: 'TOLLGATE_MASTER_KEY_SECRET_ARN',
  providerKeysSecretArn: 'TOLLGATE_PROVIDER_KEYS_SECRET_ARN',
  firehoseStream: 'TOLLGATE_FIREHOSE_STREAM',
  telemetryStream: 'TOLLGATE_TELEMETRY_STREAM',
  athenaWorkgroup: 'TOLLGATE_ATHENA_WORKGROUP',
  athenaDatabase: 'TOLLGATE_ATHENA_DATABASE',
  usageTable: 'TOLLGATE_USAGE_TABLE',
  snsTopicArn: 'TOLLGATE_SNS_TOPIC_ARN',
  rollupBucket: 'TOLLGATE_ROLLUP_BUCKET',
  rollupKey: 'TOLLGATE_ROLLUP_KEY',
  spillBucket: 'TOLLGATE_SPILL_BUCKET',
  lakeBucket: 'TOLLGATE_LAKE_BUCKET',
  slackWebhookSecretArn: 'TOLLGATE_SLACK_WEBHOOK_SECRET_ARN',
  dashboardUrl: 'TOLLGATE_DASHBOARD_URL',
  publicUrl: 'TOLLGATE_PUBLIC_URL',
  oidcIssuer: 'TOLLGATE_OIDC_ISSUER',
  oidcClientId: 'TOLLGATE_OIDC_CLIENT_ID',
  oidcClientSecretArn: 'TOLLGATE_OIDC_CLIENT_SECRET_ARN',
  oidcScopes: 'TOLLGATE_OIDC_SCOPES',
  oidcGroupsClaim: 'TOLLGATE_OIDC_GROUPS_CLAIM',
  oidcGroupMap: 'TOLLGATE_OIDC_GROUP_MAP',
  oidcIdentityProvider: 'TOLLGATE_OIDC_IDENTITY_PROVIDER',
  masterKeyOff: 'TOLLGATE_MASTER_KEY_OFF',
  trustForwardedHost: 'TOLLGATE_TRUST_FORWARDED_HOST',
  scimTokenSecretArn: 'TOLLGATE_SCIM_TOKEN_SECRET_ARN',
} as const;

/** The prefix of spilled usage records in the spill bucket, outside the `usage/` the Glue table reads. */
export const SPILL_PREFIX = 'spill/';

/** Deployment-wide governance settings, as `cdk deploy -c <name>=<value>` takes them. */
export const GOVERNANCE_CONTEXT = {
  orgMaxBudget: 'TOLLGATE_ORG_MAX_BUDGET',
  orgSoftBudget: 'TOLLGATE_ORG_SOFT_BUDGET',
  orgBudgetDuration: 'TOLLGATE_ORG_BUDGET_DURATION',
  orgBudgetMode: 'TOLLGATE_ORG_BUDGET_MODE',
  budgetTimeZone: 'TOLLGATE_BUDGET_TIMEZONE',
  fairOutputTokens: 'TOLLGATE_FAIR_OUTPUT_TOKENS',
  fairOvershootPct: 'TOLLGATE_FAIR_OVERSHOOT_PCT',
  alertThresholds: 'TOLLGATE_ALERT_THRESHOLDS',
  keyCacheMs: 'TOLLGATE_KEY_CACHE_MS',
  outcomesMinPeople: 'TOLLGATE_OUTCOMES_MIN_PEOPLE',
  weeklyDigest: 'TOLLGATE_WEEKLY_DIGEST',
  models: 'TOLLGATE_MODELS_JSON',
  unknownModel: 'TOLLGATE_UNKNOWN_MODEL',
  routingRules: 'TOLLGATE_ROUTING_RULES_JSON',
  routingMaxAttempts: 'TOLLGATE_ROUTING_MAX_ATTEMPTS',
  fallbackAfterMs: 'TOLLGATE_FALLBACK_AFTER_MS',
} as const;

/**
 * The function environment for governance settings given as CDK context, checked the way the
 * functions will read them, so a typo fails `cdk synth` rather than the first request.
 */
export function governanceEnvironment(context: Record<string, string | undefined>): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(GOVERNANCE_CONTEXT)
      .filter(([name]) => context[name] !== undefined && context[name] !== '')
      .map(([name, variable]) => [variable, String(context[name])]),
  );
  loadConfig(env);
  return env;
}

/**
 * The local mode reaches dynalite through the AWS SDK, whose notice that later SDK releases need
 * Node 22 is meant for AWS deployments (README: which Node each mode needs). Turned off with the
 * SDK's own switch before the local shell makes its first client.
 */
export function quietAwsSdkNodeNotice(env: Record<string, string | undefined> = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}
