import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from './nag.ts';

export interface AccessLogsProps {
  /**
   * How long access logs are kept.
   * @default Duration.days(90)
   */
  readonly expiration?: Duration;
}

/**
 * One bucket for the access logs of the other buckets (S3 server access logs, `<bucket>/` prefixes) and
 * of the dashboard's distribution (CloudFront standard logs, `cloudfront/`). Made only with
 * `-c accessLogs=true`: it costs storage and adds no auditor CloudTrail does not already have for the
 * functions' own access.
 */
export class AccessLogs extends Construct {
  public readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: AccessLogsProps = {}) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // CloudFront standard logs are delivered with an ACL grant, so the bucket keeps ACLs enabled.
      // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: props.expiration ?? Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.bucket, 'This is the access log bucket itself.', 'AwsSolutions-S1');
  }
}
