import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SNSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../functions/adapters/logger.ts';
import { createSlackNotifier } from '../../functions/adapters/slack.ts';
import { crossings, toAlert } from '../../functions/core/governance/thresholds.ts';
import type { Alert } from '../../functions/core/ports/alerts.ts';
import { createSlackForwarder } from '../../functions/services/slack-forward.ts';
import { startTestGateway } from '../support/gateway.ts';
import { startMockUpstream } from '../support/mock-upstream.ts';

/** A local HTTP server standing in for Slack's incoming webhook, answering from a script. */
let slack: Server;
let url: string;
let posts: Array<Record<string, unknown>>;
let answers: Array<number | 'hang'>;

beforeAll(async () => {
  slack = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    posts.push(JSON.parse(body) as Record<string, unknown>);
    const answer = answers.shift() ?? 200;
    if (answer === 'hang') return;
    res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer === 200 ? 'ok' : 'no');
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T000/B000/XXXX`;
});
afterAll(async () => {
  slack.closeAllConnections();
  await new Promise((resolve) => slack.close(resolve));
});
beforeEach(() => {
  posts = [];
  answers = [];
});

const alert: Alert = toAlert(
  crossings(
    [
      {
        counter: {
          scope: 'team',
          scope_id: 'backend',
          label: 'backend-eng',
          period: '2026-12',
          starts_at: '2026-12-01T00:00:00.000Z',
          resets_at: '2027-01-01T00:00:00.000Z',
          limit_micros: 2_000_000_000,
          mode: 'strict',
          soft_limit_micros: null,
        },
        spent_before_micros: 1_590_000_000,
        spent_after_micros: 1_610_000_000,
      },
    ],
    [80],
  )[0]!,
);

async function withDeadLetters<T>(run: (file: string) => Promise<T>): Promise<{ result: T; dead: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-slack-'));
  const file = join(dir, 'dead.jsonl');
  try {
    const result = await run(file);
    const dead = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    return { result, dead };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('Slack delivery', () => {
  it('posts a readable message with the budget, spend, limit, reset and a dashboard link, retrying 500s', async () => {
    // Prepare
    answers = [500, 500, 200];

    // Act
    const { dead } = await withDeadLetters((file) =>
      createSlackNotifier({
        webhookUrl: url,
        dashboardUrl: 'https://dash.example/',
        backoffMs: 1,
        deadLetterFile: file,
        log: silentLogger,
      }).notify(alert),
    );

    // Assess
    expect(posts).toHaveLength(3);
    expect(dead).toEqual([]);
    const text = JSON.stringify(posts[2]);
    expect(posts[2]?.text).toBe(
      "Tollgate: team 'backend-eng' reached 80% of its budget: The team 'backend-eng' has reached 80% of its budget: $1,610.00 spent of $2,000.00 (period 2026-12). It resets at 2027-01-01T00:00:00.000Z.",
    );
    for (const piece of [
      '*Spent*\\n$1,610.00',
      '*Limit*\\n$2,000.00',
      '*Resets*\\n2027-01-01',
      'https://dash.example/|Open the Tollgate dashboard',
    ])
      expect(text).toContain(piece);
  });

  it('puts an alert Slack never takes (500s, then timeouts) in the dead-letter file, not in the bin', async () => {
    // Prepare
    answers = [500, 503, 'hang', 'hang'];

    // Act
    const { dead } = await withDeadLetters((file) =>
      createSlackNotifier({
        webhookUrl: url,
        backoffMs: 1,
        timeoutMs: 200,
        deadLetterFile: file,
        log: silentLogger,
      }).notify(alert),
    );

    // Assess
    expect(posts).toHaveLength(4);
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]!)).toMatchObject({
      alert: { once_key: alert.once_key },
      error: expect.stringMatching(/aborted|timeout/i),
    });
  });

  it('gives up at once on a 404: a wrong webhook does not get better by retrying', async () => {
    // Prepare
    answers = [404];

    // Act
    const { dead } = await withDeadLetters((file) =>
      createSlackNotifier({ webhookUrl: url, backoffMs: 1, deadLetterFile: file, log: silentLogger }).notify(
        alert,
      ),
    );

    // Assess
    expect(posts).toHaveLength(1);
    expect(dead).toHaveLength(1);
  });
});

describe('the forwarder function (SNS to Slack)', () => {
  const event = (): SNSEvent =>
    ({
      Records: [
        {
          Sns: {
            Subject: alert.subject,
            Message: alert.message,
            MessageAttributes: {
              severity: { Type: 'String', Value: alert.severity },
              scope: { Type: 'String', Value: alert.scope },
              event: { Type: 'String', Value: JSON.stringify(alert.details) },
            },
          },
        },
      ],
    }) as unknown as SNSEvent;

  it('posts what the SNS notifier published, as the local notifier would', async () => {
    // Act
    const result = await createSlackForwarder({ webhookUrl: url, backoffMs: 1 })(event());

    // Assess
    expect(result).toEqual({ posted: 1 });
    expect(JSON.stringify(posts[0])).toContain('*Spent*\\n$1,610.00');
  });

  it('posts a CloudWatch alarm from the same topic as its name, state and reason, not as JSON', async () => {
    // Prepare: what CloudWatch publishes when an operator's alarm fires
    const alarm = {
      Records: [
        {
          Sns: {
            Subject: 'ALARM: "Tollgate-Gateway-UsageWriteFailures-Critical" in US East (N. Virginia)',
            Message: JSON.stringify({
              AlarmName: 'Tollgate-Gateway-UsageWriteFailures-Critical',
              NewStateValue: 'ALARM',
              NewStateReason: 'Threshold Crossed: 1 datapoint [3.0] was greater than the threshold (0.0).',
              Trigger: { MetricName: 'usage_write_failures', Namespace: 'Tollgate' },
            }),
          },
        },
      ],
    } as unknown as SNSEvent;

    // Act
    await createSlackForwarder({ webhookUrl: url, backoffMs: 1 })(alarm);

    // Assess
    const posted = JSON.stringify(posts[0]);
    expect(posted).toContain('ALARM: Tollgate-Gateway-UsageWriteFailures-Critical');
    expect(posted).toContain('Threshold Crossed: 1 datapoint [3.0]');
    expect(posted).not.toContain('NewStateValue');
  });

  it("adds the budget's top spenders this period from the lookup (the rollup's on AWS)", async () => {
    // Prepare
    const asked: unknown[] = [];
    const lookup = async (budget: unknown, range: unknown) => {
      asked.push({ budget, range });
      return {
        users: [{ value: 'ann', cost_micros: 900_000_000 }],
        models: [{ value: 'claude-opus-4-5', cost_micros: 1_200_000_000 }],
        agents: [{ value: 'claude-code', cost_micros: 1_500_000_000 }],
      };
    };

    // Act
    await createSlackForwarder({
      webhookUrl: url,
      backoffMs: 1,
      lookup,
      now: () => new Date('2026-12-20T00:00:00Z'),
    })(event());

    // Assess
    expect(asked).toEqual([
      { budget: { scope: 'team', scope_id: 'backend' }, range: { from: '2026-12-01', to: '2026-12-20' } },
    ]);
    expect(String(posts[0]?.text)).toContain(
      'Top spenders this period — users: ann $900.00; models: claude-opus-4-5 $1,200.00; agents: claude-code $1,500.00.',
    );
  });

  it('throws when Slack stays down, so Lambda retries the event and then dead-letters it', async () => {
    // Prepare
    answers = [500, 500];

    // Act
    const run = createSlackForwarder({ webhookUrl: url, attempts: 2, backoffMs: 1 })(event());

    // Assess
    await expect(run).rejects.toThrow(/Slack did not take the alert/);
  });
});

describe('a gateway with TOLLGATE_SLACK_WEBHOOK_URL', () => {
  it('sends a budget crossing to Slack once', async () => {
    // Prepare: a $0.001 budget; requests of 164 µ$ each (100 output tokens asked, so all fit).
    const mock = await startMockUpstream({ script: { usage: { input_tokens: 10, output_tokens: 100 } } });
    const gateway = await startTestGateway(mock.url, { TOLLGATE_SLACK_WEBHOOK_URL: url });
    const { key } = await gateway.createKey({ key_alias: 'slacky', max_budget: 0.001 });

    // Act
    for (let i = 0; i < 5; i++) {
      await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({
          model: 'gpt-4.1-mini',
          max_completion_tokens: 100,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      }).then((r) => r.text());
    }
    await gateway.proxy.drain();
    await gateway.close();
    await mock.close();

    // Assess: 5 × 164 = 820 µ$ of 1,000 crosses 50 % and 80 %, each posted once.
    expect(posts.map((p) => String(p.text).match(/reached (\d+)%/)?.[1]).sort()).toEqual(['50', '80']);
    // The 80 % message names where the money went in that budget: 4 × 164 µ$ by then.
    const eighty = posts.find((p) => String(p.text).includes('reached 80%'));
    expect(String(eighty?.text)).toContain(
      'Top spenders this period — users: (none) $0.0008; models: gpt-4.1-mini $0.0008; agents: other $0.0008.',
    );
  });
});
