import { describe, expect, it } from 'vitest';
import { createLogger, logFormat } from '../../../functions/adapters/logger.ts';

function capture(format: 'text' | 'json') {
  const lines: Array<{ line: string; level: string }> = [];
  const log = createLogger('info', { format, write: (line, level) => lines.push({ line, level }) });
  return { log, lines };
}

const request = {
  status: 200,
  outcome: 'success',
  model: 'claude-sonnet-4-5',
  cost_micros: 12_340,
  ms: 842,
  key: 'alice-cc',
  request_id: 'r-1',
};

describe('the local logger', () => {
  it('writes a request as one readable line in a terminal: status, outcome, model, cost, time, key', () => {
    // Prepare
    const { log, lines } = capture('text');

    // Act
    log.info('request', request);

    // Assess
    expect(lines[0]?.line).toMatch(
      /^\d\d:\d\d:\d\d info {2}request 200 success claude-sonnet-4-5 \$0\.0123 842 ms key=alice-cc request_id=r-1$/,
    );
  });

  it('shows other events as key=value, money in dollars, quoting what has spaces', () => {
    // Prepare
    const { log, lines } = capture('text');

    // Act
    log.warn('budget.settle_failed', { cost_micros: 2_500_000, error: 'Error: timed out' });

    // Assess
    expect(lines).toEqual([
      {
        line: expect.stringMatching(/ warn {2}budget\.settle_failed cost=\$2\.50 error="Error: timed out"$/),
        level: 'warn',
      },
    ]);
  });

  it('writes one JSON object per line elsewhere, integers kept as they are', () => {
    // Prepare
    const { log, lines } = capture('json');

    // Act
    log.info('request', request);
    log.debug('hidden below the threshold');

    // Assess
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]?.line ?? '')).toMatchObject({ level: 'info', msg: 'request', ...request });
  });

  it('picks text for a terminal and JSON for a pipe unless told', () => {
    // Prepare
    const cases = [
      logFormat('auto', true),
      logFormat('auto', false),
      logFormat('json', true),
      logFormat('text', false),
    ];

    // Act
    const picked = cases;

    // Assess
    expect(picked).toEqual(['text', 'json', 'json', 'text']);
  });
});
