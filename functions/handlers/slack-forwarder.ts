/**
 * Lambda entry: the Slack forwarder, subscribed to the alerts topic. Adds the budget's top spenders
 * (Athena) and posts each alert to the incoming webhook whose URL is kept in Secrets Manager; a post
 * that fails after its retries throws, so Lambda retries the event and then leaves it in the
 * dead-letter queue rather than dropping it.
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import middy from '@middy/core';
import type { SNSEvent } from 'aws-lambda';
import { createAthenaQueryEngine } from '../adapters/aws/athena-query.ts';
import { topSpenders } from '../core/analytics/spend.ts';
import { config, secretString } from './aws-runtime.ts';
import { createSlackForwarder } from './slack-forward.ts';

// The secret holds `none` until an operator puts a webhook URL in it.
const stored = (await secretString(config.slackWebhookSecretArn))?.trim();
const webhookUrl = stored?.startsWith('https://') ? stored : undefined;
const athena = createAthenaQueryEngine({
  client: new AthenaClient({ region: config.region }),
  workgroup: config.athena.workgroup,
  database: config.athena.database,
});

export const handler = middy<SNSEvent>().handler(
  createSlackForwarder({
    webhookUrl,
    dashboardUrl: config.dashboardUrl,
    lookup: (budget, range) => topSpenders(athena, budget, range),
  }),
);
