import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ENV } from '../functions/config.ts';
import { AdminApi } from './constructs/admin-api.ts';
import { Alerts } from './constructs/alerts.ts';
import { BudgetTable } from './constructs/budget-table.ts';
import { DashboardSite } from './constructs/dashboard-site.ts';
import { NamedQueries } from './constructs/named-queries.ts';
import { ProxyFunction } from './constructs/proxy-function.ts';
import { Rollups } from './constructs/rollups.ts';
import { GatewaySecrets } from './constructs/secrets.ts';
import { SlackForwarder } from './constructs/slack-forwarder.ts';
import { UsageLake } from './constructs/usage-lake.ts';

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
}

export class TollgateStack extends Stack {
  constructor(scope: Construct, id: string, props: TollgateStackProps) {
    super(scope, id, props);
    const budgets = new BudgetTable(this, 'Budgets');
    const lake = new UsageLake(this, 'UsageLake');
    const secrets = new GatewaySecrets(this, 'Secrets');
    const alerts = new Alerts(this, 'Alerts', { email: props.alertEmail });
    const proxy = new ProxyFunction(this, 'Proxy', {
      table: budgets.table,
      usageStream: lake.stream,
      spillBucket: lake.bucket,
      providerKeysSecret: secrets.providerKeys,
      alerts,
      settings: props.governance,
    });
    new NamedQueries(this, 'AnalystQueries', {
      workgroup: lake.workgroup,
      databaseName: lake.table.database.databaseName,
    });
    const rollups = new Rollups(this, 'Rollups', {
      table: budgets.table,
      workgroupName: lake.workgroup.ref,
      databaseName: lake.table.database.databaseName,
      usageTable: lake.table,
      queryResultsBucket: lake.resultsBucket,
      usageStream: lake.stream,
      alerts,
      settings: props.governance,
    });
    const admin = new AdminApi(this, 'Admin', {
      table: budgets.table,
      masterKeySecret: secrets.masterKey,
      workgroup: lake.workgroup,
      queryResultsBucket: lake.resultsBucket,
      usageTable: lake.table,
      settings: props.governance,
      rollup: { bucket: lake.bucket, key: rollups.key },
    });
    const dashboard = new DashboardSite(this, 'Dashboard', {
      dashboardDir: props.dashboardDir,
      adminApiUrl: admin.url.url,
    });

    const slack = new SlackForwarder(this, 'Slack', {
      topic: alerts.topic,
      dashboardUrl: dashboard.url,
      athena: {
        workgroupName: lake.workgroup.ref,
        databaseName: lake.table.database.databaseName,
        usageTable: lake.table,
        queryResultsBucket: lake.resultsBucket,
      },
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
