/** Helpers shared by the CDK assertion tests: build the stack in-process and read its template. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnElement, type Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';
import { TollgateStack, type TollgateStackProps } from '../../infra/stack.ts';

export type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
export type Statement = {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
  Condition?: Record<string, unknown>;
};

let dashboardDir: string | undefined;

/** A built dashboard stand-in: the stack reads `index.html` to give it its CSP at deploy time. */
export function fakeDashboardDir(): string {
  if (dashboardDir) return dashboardDir;
  dashboardDir = mkdtempSync(join(tmpdir(), 'tollgate-dashboard-'));
  writeFileSync(
    join(dashboardDir, 'index.html'),
    '<!doctype html><html><head><title>Tollgate</title></head></html>',
  );
  return dashboardDir;
}

/** Builds the stack in-process with the app's feature flags; bundling is skipped. */
export function buildStack(props: Partial<TollgateStackProps> = {}): Stack {
  const { context } = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'));
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  return new TollgateStack(app, 'Tollgate', { dashboardDir: fakeDashboardDir(), ...props });
}

/** Logical id of the single resource of `type` matching `props`. */
export function logicalIdOf(template: Template, type: string, props: Record<string, unknown> = {}): string {
  const ids = Object.keys(template.findResources(type, { Properties: props }));
  expect(ids, `exactly one ${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return ids[0]!;
}

export function functionIdOf(template: Template, description: RegExp): string {
  const matches = Object.entries(template.findResources('AWS::Lambda::Function') as Record<string, Resource>)
    .filter(([, r]) => description.test(String(r.Properties.Description)))
    .map(([id]) => id);
  expect(matches).toHaveLength(1);
  return matches[0]!;
}

/** Every statement of the inline policies attached to the role `roleId`. */
export function statementsOf(template: Template, roleId: string): Statement[] {
  const policies = Object.values(
    template.findResources('AWS::IAM::Policy') as Record<string, Resource>,
  ).filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]));
  return policies.flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

export function roleOfFunction(template: Template, functionId: string): string {
  const fn = template.toJSON().Resources[functionId] as Resource;
  return (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

export const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const getAtt = (id: string, attr = 'Arn') => ({ 'Fn::GetAtt': [id, attr] });

/** Logical id of the CloudFormation resource at `path` under the stack (`UsageLake/Bucket`). */
export function idAt(stack: Stack, path: string): string {
  const found = stack.node.findAll().find((c) => c.node.path === `${stack.node.id}/${path}`);
  const resource = found instanceof CfnElement ? found : found?.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`no CloudFormation resource at ${path}`);
  return stack.resolve(resource.logicalId);
}
