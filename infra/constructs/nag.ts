import { Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag findings on `scope` and everything under it. cdk-nag 3 matches each finding by
 * its exact id (`AwsSolutions-IAM5[Resource::…]`), so ids that name resources are built by the helpers below.
 */
export function acknowledge(scope: IConstruct, reason: string, ...ids: string[]): void {
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}

/** The IAM5 finding id for a statement on objects `pattern` (e.g. `usage/*`) of `bucket`. */
export function objectWildcardFinding(bucket: IBucket, pattern: string): string {
  const arn = Stack.of(bucket).resolve(bucket.bucketArn) as { 'Fn::GetAtt'?: [string, string] };
  const logicalId = arn['Fn::GetAtt']?.[0];
  if (!logicalId) throw new Error(`objectWildcardFinding: ${bucket.node.path} is not a bucket of this stack`);
  return `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${pattern}]`;
}

/** The IAM5 finding id for a statement on every index of `table` (what `grant*Data` adds once it has one). */
export function tableIndexFinding(table: ITable): string {
  const arn = Stack.of(table).resolve(table.tableArn) as { 'Fn::GetAtt'?: [string, string] };
  const logicalId = arn['Fn::GetAtt']?.[0];
  if (!logicalId) throw new Error(`tableIndexFinding: ${table.node.path} is not a table of this stack`);
  return `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/index/*]`;
}

export const LAMBDA_BASIC_EXECUTION_FINDING =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
