import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { TollgateStack } from '../../infra/stack.ts';

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing that is not acknowledged with a reason', () => {
    const dashboardDir = mkdtempSync(join(tmpdir(), 'tollgate-dashboard-'));
    writeFileSync(
      join(dashboardDir, 'index.html'),
      '<!doctype html><html><head><title>Tollgate</title></head></html>',
    );
    const { context } = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'));
    const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
    const stack = new TollgateStack(app, 'Tollgate', { dashboardDir, alertEmail: 'finops@example.com' });

    const report = new AwsSolutionsChecks(app).validateScope(stack);

    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`)).toEqual(
      [],
    );
    expect(report.success).toBe(true);
  });
});
