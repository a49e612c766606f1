import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ENV } from '../functions/config.ts';
import { BEDROCK_DEFAULT_IDS } from '../functions/core/pricing/catalog.ts';
import { AccessLogs } from './constructs/access-logs.ts';
import { AdminApi } from './constructs/admin-api.ts';
import { Alerts } from './constructs/alerts.ts';
import { AthenaViews } from './constructs/athena-views.ts';
import { BudgetTable } from './constructs/budget-table.ts';
import { DashboardSite } from './constructs/dashboard-site.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { NamedQueries } from './constructs/named-queries.ts';
import { ProxyFunction } from './constructs/proxy-function.ts';
import { QuickSight } from './constructs/quicksight.ts';
import { Rollups } from './constructs/rollups.ts';
import { GatewaySecrets } from './constructs/secrets.ts';
import { SignIn } from './constructs/sign-in.ts';
import { SlackForwarder } from './constructs/slack-forwarder.ts';
import { UsageLake } from './constructs/usage-lake.ts';
import { type OperationsSettings, operationsSettings } from './context.ts';
import type { SignInSettings } from './sign-in-context.ts';

export interface TollgateStackProps extends StackProps {
  /** Directory holding the built dashboard. */
  readonly dashboardDir: string;
  /**
   * Address that receives threshold alerts.
   * @default - no email subscription
   */
  readonly alertEmail?: string;
  /**
   * Governance settings (org budget, budget time zone, fair-mode parameters...) as function
   * environment, from `governanceEnvironment` in functions/config.ts; the proxy and admin API share them.
   * @default - none: no org budget, UTC periods, default fair-mode parameters
   */
  readonly governance?: Record<string, string>;
  /**
   * Operational settings: the proxy's reserved concurrency, extra Bedrock models, access logs.
   * @default - `operationsSettings({})`: 100 reserved, the catalog's Bedrock ids, no access logs
   */
  readonly operations?: OperationsSettings;
  /**
   * Sign-in with the org's IdP (`signInSettings`): a Cognito user pool federated with it, or the IdP
   * directly; the admin API is then served from the dashboard's origin.
   * @default - none: the dashboard signs in with a key, and calls the admin API's own URL
   */
  readonly signIn?: SignInSettings;
  /**
   * A Secrets Manager secret (created by the operator) holding the bearer token the org's IdP presents
   * on the admin API's `/scim/v2/` to deprovision people.
   * @default - none: SCIM is off
   */
  readonly scimTokenSecretArn?: string;
}

export class TollgateStack extends Stack {
  constructor(scope: Construct, id: string, props: TollgateStackProps) {
    super(scope, id, props);
    const operations = props.operations ?? operationsSettings({});
    const accessLogs = operations.accessLogs ? new AccessLogs(this, 'AccessLogs') : undefined;
    const budgets = new BudgetTable(this, 'Budgets');
    const lake = new UsageLake(this, 'UsageLake', {
      accessLogs: accessLogs?.bucket,
      retention: Duration.days(operations.retentionDays),
    });
    const secrets = new GatewaySecrets(this, 'Secrets');
    const alerts = new Alerts(this, 'Alerts', { email: props.alertEmail });
    const proxy = new ProxyFunction(this, 'Proxy', {
      table: budgets.table,
      usageStream: lake.stream,
      telemetryStream: lake.telemetryStream,
      spillBucket: lake.bucket,
      providerKeysSecret: secrets.providerKeys,
      alerts,
      settings: props.governance,
      reservedConcurrency: operations.proxyReservedConcurrency,
      bedrockModelIds: [...BEDROCK_DEFAULT_IDS.values(), ...operations.bedrockModelIds],
    });
    new NamedQueries(this, 'AnalystQueries', {
      workgroup: lake.workgroup,
      databaseName: lake.table.database.databaseName,
    });
    const views = new AthenaViews(this, 'AnalystViews', {
      database: lake.database,
      databaseName: lake.databaseName,
    });
    if (operations.quicksightPrincipalArn)
      new QuickSight(this, 'QuickSight', {
        principalArn: operations.quicksightPrincipalArn,
        workgroup: lake.workgroup,
        databaseName: lake.databaseName,
        usageTable: lake.table,
        queryResultsBucket: lake.resultsBucket,
        views: views.views,
      });
    const rollups = new Rollups(this, 'Rollups', {
      table: budgets.table,
      workgroupName: lake.workgroup.ref,
      databaseName: lake.table.database.databaseName,
      usageTable: lake.table,
      telemetryTable: lake.telemetryTable,
      queryResultsBucket: lake.resultsBucket,
      usageStream: lake.stream,
      alerts,
      settings: props.governance,
    });
    // The dashboard's origin, before the admin API exists: the API's CORS names it, and the site learns
    // the API's URL only at deploy time (config.json, and the page's own CSP), so neither waits on the other.
    const dashboard = new DashboardSite(this, 'Dashboard', {
      dashboardDir: props.dashboardDir,
      accessLogs: accessLogs?.bucket,
    });
    const signIn =
      props.signIn && new SignIn(this, 'SignIn', { settings: props.signIn, dashboardUrl: dashboard.url });
    const admin = new AdminApi(this, 'Admin', {
      table: budgets.table,
      masterKeySecret: secrets.masterKey,
      workgroup: lake.workgroup,
      queryResultsBucket: lake.resultsBucket,
      usageTable: lake.table,
      telemetryTable: lake.telemetryTable,
      settings: { ...props.governance, ...signIn?.environment },
      rollup: { bucket: lake.bucket, key: rollups.key },
      scimTokenSecretArn: props.scimTokenSecretArn,
      // With sign-in, the API is on the dashboard's origin (its session is a first-party cookie), so the
      // function URL names no origin: CORS naming the distribution would make it wait on itself.
      ...(signIn ? { sameOrigin: true } : { allowedOrigins: [dashboard.url] }),
    });
    if (signIn) {
      signIn.grantRead(admin.function);
      dashboard.serveApi(admin.url);
      dashboard.deploy(undefined, proxy.url.url);
      new CfnOutput(this, 'SignInCallbackUrl', { value: signIn.callbackUrl });
      if (signIn.userPool) new CfnOutput(this, 'UserPoolId', { value: signIn.userPool.userPoolId });
      // SAML federation: the values the org's IdP asks for (its app's audience and reply URL).
      const sp = signIn.samlServiceProvider;
      if (sp) {
        new CfnOutput(this, 'SamlEntityId', { value: sp.entityId });
        new CfnOutput(this, 'SamlAcsUrl', { value: sp.acsUrl });
      }
    } else dashboard.deploy(admin.url.url, proxy.url.url);

    const slack = new SlackForwarder(this, 'Slack', {
      topic: alerts.topic,
      dashboardUrl: dashboard.url,
      rollup: { bucket: lake.bucket, key: rollups.key },
    });
    new Monitoring(this, 'Monitoring', {
      alerts,
      proxy: proxy.function,
      admin: admin.function,
      rollup: rollups.function,
      slack: slack.function,
      deadLetters: { 'Slack dead letters': slack.deadLetters, 'Failed rollup runs': rollups.failedRuns },
    });
    // Alerts link the dashboard (email through SNS; Slack through the forwarder).
    for (const fn of [proxy.function, rollups.function]) fn.addEnvironment(ENV.dashboardUrl, dashboard.url);

    new CfnOutput(this, 'ProxyUrl', { value: proxy.url.url, description: 'Base URL for agents' });
    new CfnOutput(this, 'AdminApiUrl', { value: admin.url.url });
    new CfnOutput(this, 'DashboardUrl', { value: dashboard.url });
    new CfnOutput(this, 'MasterKeySecretArn', { value: secrets.masterKey.secretArn });
    new CfnOutput(this, 'ProviderKeysSecretArn', { value: secrets.providerKeys.secretArn });
    new CfnOutput(this, 'AthenaWorkgroup', { value: lake.workgroup.ref });
    new CfnOutput(this, 'UsageBucket', { value: lake.bucket.bucketName });
    new CfnOutput(this, 'RollupFunctionName', { value: rollups.function.functionName });
    new CfnOutput(this, 'SlackWebhookSecretArn', { value: slack.webhookSecret.secretArn });
    new CfnOutput(this, 'AlertDeadLetterQueueUrl', { value: slack.deadLetters.queueUrl });
  }
}
