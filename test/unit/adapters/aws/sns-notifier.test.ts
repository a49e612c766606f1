import type { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { createSnsNotifier } from '../../../../functions/adapters/aws/sns-notifier.ts';

describe('the SNS notifier', () => {
  it('publishes the text with a dashboard link, and severity, scope and the event as attributes', async () => {
    // Prepare: a one-call SNS fake that keeps what it was asked to publish.
    const sent: PublishCommand['input'][] = [];
    const client = { send: async (c: PublishCommand) => void sent.push(c.input) } as unknown as SNSClient;
    const notifier = createSnsNotifier(
      async () => client,
      'arn:aws:sns:us-east-1:111111111111:alerts',
      'https://dash.example/',
    );

    // Act
    await notifier.notify({
      severity: 'warning',
      subject: "Tollgate: team 'backend-eng' reached 80% — of its budget",
      message: 'The team has reached 80%.',
      scope: 'team:backend',
      details: { level: 80 },
    });

    // Assess: SNS subjects are printable ASCII only.
    expect(sent).toEqual([
      {
        TopicArn: 'arn:aws:sns:us-east-1:111111111111:alerts',
        Subject: "Tollgate: team 'backend-eng' reached 80% ? of its budget",
        Message: 'The team has reached 80%.\n\nDashboard: https://dash.example/',
        MessageAttributes: {
          severity: { DataType: 'String', StringValue: 'warning' },
          scope: { DataType: 'String', StringValue: 'team:backend' },
          event: { DataType: 'String', StringValue: '{"level":80}' },
        },
      },
    ]);
  });
});
