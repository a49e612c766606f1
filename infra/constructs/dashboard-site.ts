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

    this.suppressNagFindings();
  }

  /**
   * The dashboard holds an admin credential in the browser, so scripts may only come from the site and
   * may only talk to the site and the admin API.
   */
  private securityHeaders(adminApiUrl: string): ResponseHeadersPolicy {
    const adminOrigin = `https://${Fn.select(2, Fn.split('/', adminApiUrl))}`;
    const csp = [
      "default-src 'self'",
      `connect-src 'self' ${adminOrigin}`,
      "img-src 'self' data:",
      "style-src 'self'",
      "object-src 'none'",
      "base-uri 'self'",
      "frame-ancestors 'none'",
    ].join('; ');
    return new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Tollgate dashboard security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: csp, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
  }

  private suppressNagFindings(): void {
    /*NAG*/
    /*NAG*/
    // The deployment's handler is a CDK-managed singleton at stack level.
    /*NAG*/
    const handler = Stack.of(this)
      .node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (handler) {
      /*NAG*/
    }
  }
}
