/**
 * What the Lambda functions share at cold start: configuration, SDK clients (created once, at module
 * scope, reused across invocations) and the secrets (master key, provider keys) from Secrets Manager.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createBedrockFetch } from '../adapters/aws/bedrock-fetch.ts';
import { createDynamoInflightJournal } from '../adapters/aws/dynamo-inflight-journal.ts';
import { createEmfMetrics } from '../adapters/aws/emf-metrics.ts';
import { createFirehoseSink, createTelemetryFirehoseSink } from '../adapters/aws/firehose-sink.ts';
import { createLambdaLogger } from '../adapters/aws/lambda-logger.ts';
import { onFirstUse } from '../adapters/aws/on-first-use.ts';
import { createS3Spill } from '../adapters/aws/s3-spill.ts';
import { createSnsNotifier } from '../adapters/aws/sns-notifier.ts';
import { createLogNotifier } from '../adapters/local/log-notifier.ts';
import { type Config, loadConfig, SPILL_PREFIX } from '../config.ts';
import { onceEach } from '../core/governance/thresholds.ts';
import { meteredSink, meteredSpill } from '../core/metrics.ts';
import type { Notifier } from '../core/ports/alerts.ts';
import { systemClock } from '../core/ports/clock.ts';
import { apiKeyName, PROVIDERS, usesApiKey } from '../core/providers/list.ts';
import type { ProxyDeps } from '../core/proxy/deps.ts';
import { composeProxy, gatewaySettings, type TableStores, tableStores } from './gateway.ts';

export const config: Config = loadConfig();
const logging = createLambdaLogger({ serviceName: 'tollgate', level: config.logLevel });
export const log = logging.log;
/** Powertools' logger itself, for the middleware that adds each invocation's context to its lines. */
export const powertools = logging.powertools;
/** Metrics of this function, written as embedded metric format at the end of each invocation. */
export const metrics = createEmfMetrics({ functionName: config.functionName });

export const dynamo = new DynamoDBClient({ region: config.region });
const secrets = new SecretsManagerClient({ region: config.region });
export const firehose = new FirehoseClient({ region: config.region });
// S3, SNS and Bedrock are loaded when first used: the proxy needs them only on a spill, an alert or a
// Bedrock model, and importing their packages here was about half its cold start.
const s3 = onFirstUse(
  async () => new (await import('@aws-sdk/client-s3')).S3Client({ region: config.region }),
);
const sns = onFirstUse(
  async () => new (await import('@aws-sdk/client-sns')).SNSClient({ region: config.region }),
);
// Checked here as at synth: a rule in config that does not compile stops the cold start, loudly.
export const settings = await gatewaySettings(config);

/** The table's adapters, made by each function that uses them (the Slack forwarder does not). */
export function tables(): TableStores {
  return tableStores(dynamo, config.tableName, systemClock);
}

/** Where alerts go: the SNS topic, or the log without one. */
function alertChannel(): Notifier {
  return config.snsTopicArn
    ? createSnsNotifier(sns, config.snsTopicArn, config.dashboardUrl)
    : createLogNotifier(log);
}

/** Alerts to the SNS topic (the log without one), each claimed once. */
export function alertNotifier(stores: TableStores): Notifier {
  return onceEach(stores.alertClaims, alertChannel());
}

/** Spilled usage records in the lake bucket, when the function is given one (each spill counted). */
export function usageSpill() {
  return config.spillBucket
    ? meteredSpill(createS3Spill(s3, config.spillBucket, SPILL_PREFIX, systemClock), metrics)
    : undefined;
}
// Signed with the function's role (bedrock:InvokeModel*). One attempt: the agent's client owns retries,
// and the SDK's backoff would spend the invocation's time unseen.
const bedrock = onFirstUse(
  async () =>
    new (await import('@aws-sdk/client-bedrock-runtime')).BedrockRuntimeClient({
      region: config.region,
      endpoint: config.bedrockEndpoint,
      maxAttempts: 1,
    }),
);

export async function secretString(arn: string | undefined): Promise<string | undefined> {
  if (!arn) return undefined;
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
  return SecretString;
}

/** Provider keys live in one JSON secret: `{"OPENAI_API_KEY": "...", "ANTHROPIC_API_KEY": "...", ...}`. */
async function providerSettings(): Promise<ProxyDeps['providers']> {
  const raw = await secretString(config.providerKeysSecretArn);
  const keys = raw ? (JSON.parse(raw) as Record<string, string>) : {};
  const providers = { ...config.providers };
  for (const name of PROVIDERS.filter(usesApiKey)) {
    const fromSecret = keys[apiKeyName(name)]?.trim();
    if (fromSecret) providers[name] = { ...providers[name], apiKey: fromSecret };
  }
  return providers;
}

export async function proxyDeps(): Promise<ProxyDeps> {
  if (!config.firehoseStream) throw new Error('TOLLGATE_FIREHOSE_STREAM is not set');
  // This execution environment: its in-flight items and its budget slices carry one holder id.
  const holder = `h-lambda-${randomUUID()}`;
  return composeProxy(settings, {
    lifecycle: 'lambda',
    holder,
    tables: tables(),
    journal: createDynamoInflightJournal(dynamo, config.tableName, holder),
    // Every record counts into the request metrics as it is written (core/metrics.ts).
    usage: meteredSink(
      createFirehoseSink({ client: firehose, streamName: config.firehoseStream, spill: usageSpill() }),
      metrics,
    ),
    ...(config.telemetryStream && {
      telemetry: createTelemetryFirehoseSink({ client: firehose, streamName: config.telemetryStream }),
    }),
    alerts: alertChannel(),
    upstream: (input, init) => fetch(input, init),
    upstreams: { bedrock: createBedrockFetch(bedrock) },
    providers: await providerSettings(),
    clock: systemClock,
    log,
    metrics,
  }).deps;
}
