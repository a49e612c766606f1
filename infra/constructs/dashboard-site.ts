import { Duration, Fn, Stack } from 'aws-cdk-lib';
import {
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { dashboardCsp } from '../../dashboard/csp.ts';
import { acknowledge, LAMBDA_BASIC_EXECUTION_FINDING, objectWildcardFinding } from './nag.ts';

export interface DashboardSiteProps {
  /** Directory holding the built dashboard (`index.html` and its assets). */
  readonly dashboardDir: string;
  /** The admin API the dashboard calls; published to the site as `config.json`. */
  readonly adminApiUrl: string;
  /**
   * CloudFront edge locations to serve from.
   * @default PriceClass.PRICE_CLASS_100 (North America and Europe)
   */
  readonly priceClass?: PriceClass;
}

/** The static dashboard: a private bucket behind CloudFront (Origin Access Control). */
export class DashboardSite extends Construct {
  public readonly bucket: Bucket;
  public readonly distribution: Distribution;
  public readonly deployment: BucketDeployment;
  /** `https://<distribution domain>` */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: DashboardSiteProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Tollgate dashboard',
      defaultRootObject: 'index.html',
      priceClass: props.priceClass ?? PriceClass.PRICE_CLASS_100,
      httpVersion: HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: this.securityHeaders(props.adminApiUrl),
      },
    });
    this.url = `https://${this.distribution.distributionDomainName}`;

    this.deployment = new BucketDeployment(this, 'Deploy', {
      sources: [
        Source.asset(props.dashboardDir),
        // Written at deploy time, so the same build serves any stack.
        Source.jsonData('config.json', { adminApiUrl: props.adminApiUrl }),
      ],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
    });

    this.acknowledgeNagFindings();
  }

  /**
   * The dashboard holds an admin credential in the browser, so scripts may only come from the site and
   * may only talk to the site and the admin API.
   */
  private securityHeaders(adminApiUrl: string): ResponseHeadersPolicy {
    const adminOrigin = `https://${Fn.select(2, Fn.split('/', adminApiUrl))}`;
    const csp = dashboardCsp(adminOrigin);
    return new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Tollgate dashboard security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: csp, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
  }

  private acknowledgeNagFindings(): void {
    acknowledge(
      this.bucket,
      'Only CloudFront reads this bucket (OAC), and only the deployment writes it.',
      'AwsSolutions-S1',
    );
    acknowledge(
      this.distribution,
      'The team reads the dashboard from wherever it works.',
      'AwsSolutions-CFR1',
    );
    acknowledge(
      this.distribution,
      'Static files only; the data behind them needs the admin key. A web ACL would cost more than the site.',
      'AwsSolutions-CFR2',
    );
    acknowledge(
      this.distribution,
      'Standard access logs need an ACL-enabled log bucket; the admin API logs every data access.',
      'AwsSolutions-CFR3',
    );
    acknowledge(
      this.distribution,
      'The default *.cloudfront.net certificate cannot pin a minimum TLS version; a custom domain with its own certificate can.',
      'AwsSolutions-CFR4',
    );
    // BucketDeployment's handler is a CDK-managed singleton function at stack level.
    const handler = Stack.of(this).node.children.find((c) =>
      c.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    if (!handler) return;
    acknowledge(
      handler,
      'CDK BucketDeployment handler, managed by aws-cdk-lib: its runtime, its logging role, and the grants it needs to copy the asset objects into this bucket and invalidate this distribution.',
      'AwsSolutions-L1',
      LAMBDA_BASIC_EXECUTION_FINDING,
      ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map(
        (action) => `AwsSolutions-IAM5[Action::${action}]`,
      ),
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
      objectWildcardFinding(this.bucket, '*'),
      // cloudfront:CreateInvalidation and GetInvalidation, which the handler is granted on `*`.
      'AwsSolutions-IAM5[Resource::*]',
    );
  }
}
