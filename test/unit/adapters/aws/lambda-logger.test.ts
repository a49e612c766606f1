import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLambdaLogger } from '../../../../functions/adapters/aws/lambda-logger.ts';

/** What Powertools writes, as Lambda's log pipe gets it: every line of stdout and stderr. */
function captureOutput() {
  const lines: string[] = [];
  const take = (chunk: unknown) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(take);
  vi.spyOn(process.stderr, 'write').mockImplementation(take);
  return () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}
afterEach(() => vi.restoreAllMocks());

const context = {
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  functionName: 'Tollgate-ProxyFunction',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:Tollgate-ProxyFunction',
  memoryLimitInMB: '1024',
} as Context;

describe('the Lambda logger', () => {
  it('writes each event as a JSON object at its own level, with the invocation request id on every line', () => {
    // Prepare
    const lines = captureOutput();
    const { log, powertools } = createLambdaLogger({ serviceName: 'tollgate', level: 'info' });
    powertools.addContext(context);

    // Act
    log.info('usage.spill_replayed', { batches: 2 });
    log.warn('budget.invalid_record', { kind: 'key', id: 'k1' });
    log.error('usage.write_failed', { request_id: 'req-1', error: 'Firehose down' });
    log.debug('not shown at info');

    // Assess
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'INFO', message: 'usage.spill_replayed', batches: 2 }),
      expect.objectContaining({ level: 'WARN', message: 'budget.invalid_record', kind: 'key' }),
      expect.objectContaining({ level: 'ERROR', message: 'usage.write_failed', request_id: 'req-1' }),
    ]);
    for (const line of lines())
      expect(line).toMatchObject({ function_request_id: context.awsRequestId, service: 'tollgate' });
  });

  it('never writes the value of a field named like a body, a key or a credential', () => {
    const lines = captureOutput();
    const { log } = createLambdaLogger({ serviceName: 'tollgate', level: 'info' });
    log.error('careless', {
      body: '{"messages":[]}',
      authorization: 'Bearer sk-tg-x',
      api_key: 'sk-1',
      scope: 'team',
    });
    expect(lines()[0]).toMatchObject({
      body: '[redacted]',
      authorization: '[redacted]',
      api_key: '[redacted]',
      scope: 'team',
    });
    expect(JSON.stringify(lines())).not.toMatch(/sk-tg-x|sk-1|messages/);
  });
});
