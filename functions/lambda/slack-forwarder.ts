/**
 * Lambda entry: the Slack forwarder, subscribed to the alerts topic. Adds the budget's top spenders
 * from the stored rollup (the rollup function computes them hourly; the forwarder runs no query) and
 * posts each alert to the incoming webhook whose URL is kept in Secrets Manager; a post that fails
 * after its retries throws, so Lambda retries the event and then leaves it in the dead-letter queue
 * rather than dropping it.
 */
import { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import type { SNSEvent } from 'aws-lambda';
import { createS3RollupStore } from '../adapters/aws/s3-rollup-store.ts';
import { config, metrics, powertools, secretString } from '../compose/aws.ts';
import { rollupTopSpenders } from '../core/analytics/rollup.ts';
import { createSlackForwarder } from '../services/slack-forward.ts';
import { lambdaMiddlewares } from './shell/middlewares.ts';

// The secret holds `none` until an operator puts a webhook URL in it.
const stored = (await secretString(config.slackWebhookSecretArn))?.trim();
const webhookUrl = stored?.startsWith('https://') ? stored : undefined;
const rollups = config.rollup.bucket
  ? createS3RollupStore(new S3Client({ region: config.region }), config.rollup.bucket, config.rollup.key)
  : undefined;

const forward = createSlackForwarder({
  webhookUrl,
  dashboardUrl: config.dashboardUrl,
  ...(rollups && { lookup: rollupTopSpenders(rollups) }),
});

export const handler = middy<SNSEvent>()
  .use(lambdaMiddlewares({ powertools, metrics }, { flushMetrics: true }))
  .handler(async (event: SNSEvent) => {
    const result = await forward(event);
    metrics.add('alerts_posted', result.posted);
    return result;
  });
