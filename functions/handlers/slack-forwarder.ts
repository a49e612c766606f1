/**
 * Lambda entry: the Slack forwarder, subscribed to the alerts topic. Posts each alert to the incoming
 * webhook whose URL is kept in Secrets Manager; a post that fails after its retries throws, so Lambda
 * retries the event and then leaves it in the dead-letter queue rather than dropping it.
 */
import middy from '@middy/core';
import type { SNSEvent } from 'aws-lambda';
import { config, secretString } from './aws-runtime.ts';
import { createSlackForwarder } from './slack-forward.ts';

// The secret holds `none` until an operator puts a webhook URL in it.
const stored = (await secretString(config.slackWebhookSecretArn))?.trim();
const webhookUrl = stored?.startsWith('https://') ? stored : undefined;

export const handler = middy<SNSEvent>().handler(
  createSlackForwarder({ webhookUrl, dashboardUrl: config.dashboardUrl }),
);
