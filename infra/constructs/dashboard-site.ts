import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Aws, Duration, Fn, type IResolvable, type IResolveContext, Stack } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginRequestPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { FunctionUrlOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { CfnPolicy, Policy } from 'aws-cdk-lib/aws-iam';
import type { IFunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { dashboardCsp } from '../../dashboard/csp.ts';
import { VIEWER_ADDRESS_HEADER } from '../../functions/lambda/shell/function-url.ts';
import { acknowledge, LAMBDA_BASIC_EXECUTION_FINDING, objectWildcardFinding } from './nag.ts';

export interface DashboardSiteProps {
  /** Directory holding the built dashboard (`index.html` and its assets). */
  readonly dashboardDir: string;
  /**
   * Where the bucket and the distribution write access logs.
   * @default - none
   */
  readonly accessLogs?: IBucket;
  /**
   * CloudFront edge locations to serve from.
   * @default PriceClass.PRICE_CLASS_100 (North America and Europe)
   */
  readonly priceClass?: PriceClass;
}

/**
 * The static dashboard: a private bucket behind CloudFront (Origin Access Control). The site exists
 * before the admin API (whose CORS names the site's origin); `deploy` then publishes the files with
 * the API's URL, known only at deploy time.
 */
export class DashboardSite extends Construct {
  public readonly bucket: Bucket;
  public readonly distribution: Distribution;
  /** `https://<distribution domain>` */
  public readonly url: string;
  private readonly dashboardDir: string;
  private readonly headers: ResponseHeadersPolicy;

  constructor(scope: Construct, id: string, props: DashboardSiteProps) {
    super(scope, id);
    this.dashboardDir = props.dashboardDir;
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      ...(props.accessLogs && {
        serverAccessLogsBucket: props.accessLogs,
        serverAccessLogsPrefix: 'dashboard-bucket/',
      }),
    });
    const headers = this.securityHeaders();
    this.headers = headers;
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Tollgate dashboard',
      defaultRootObject: 'index.html',
      priceClass: props.priceClass ?? PriceClass.PRICE_CLASS_100,
      httpVersion: HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: headers,
      },
      ...(props.accessLogs && {
        enableLogging: true,
        logBucket: props.accessLogs,
        logFilePrefix: 'cloudfront/',
      }),
    });
    this.url = `https://${this.distribution.distributionDomainName}`;
    this.acknowledgeNagFindings(props.accessLogs !== undefined);
  }

  /**
   * Serves the admin API on the dashboard's own origin (its routes' paths, never cached), so a sign-in
   * session is a first-party cookie and the page needs no CORS. Function URLs take no Host but their
   * own; a CloudFront function copies the viewer's host into `x-forwarded-host` (over whatever the
   * viewer sent), from which the API learns the dashboard's origin, and the viewer's address into
   * `x-tollgate-viewer-address` (the function URL's sourceIp is the edge's), which the sign-in limit counts.
   */
  serveApi(url: IFunctionUrl): void {
    const origin = new FunctionUrlOrigin(url);
    const forwardHost = new EdgeFunction(this, 'ForwardHost', {
      comment: 'Tollgate: the viewer host, for the admin API behind the dashboard',
      runtime: FunctionRuntime.JS_2_0,
      code: FunctionCode.fromInline(
        `function handler(event) { var r = event.request; r.headers['x-forwarded-host'] = { value: r.headers.host.value }; r.headers['${VIEWER_ADDRESS_HEADER}'] = { value: event.viewer.ip }; return r; }`,
      ),
    });
    for (const path of ADMIN_API_PATHS)
      this.distribution.addBehavior(path, origin, {
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_ALL,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        responseHeadersPolicy: this.headers,
        functionAssociations: [{ function: forwardHost, eventType: FunctionEventType.VIEWER_REQUEST }],
      });
  }

  /**
   * Publishes the built dashboard, `config.json` with the admin API's URL, and an `index.html` whose
   * own CSP names that API's origin exactly — all written at deploy time, so one build serves any
   * stack — then invalidates the distribution. The browser enforces the header's CSP and the page's
   * together, so scripts may talk to the site and to this admin API only. Without a URL the API is on
   * the dashboard's own origin (`serveApi`).
   */
  deploy(adminApiUrl?: string, proxyUrl?: string): BucketDeployment {
    const adminOrigin = adminApiUrl ? `https://${Fn.select(2, Fn.split('/', adminApiUrl))}` : undefined;
    const html = readFileSync(join(this.dashboardDir, 'index.html'), 'utf8');
    const meta = `<meta http-equiv="Content-Security-Policy" content="${pageCsp(adminOrigin)}" />`;
    if (!html.includes('<head>')) throw new Error(`${this.dashboardDir}/index.html has no <head>`);
    const deployment = new BucketDeployment(this, 'Deploy', {
      sources: [
        Source.asset(this.dashboardDir, { exclude: ['index.html'] }),
        Source.data('index.html', html.replace('<head>', `<head>\n    ${meta}`)),
        // The proxy's URL, for the agent set-up snippets a person sees with a new key.
        Source.jsonData('config.json', { adminApiUrl: adminApiUrl ?? '', ...(proxyUrl && { proxyUrl }) }),
      ],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
    });
    onlyThisDistribution(deployment, this.distributionArn());
    this.acknowledgeDeploymentFindings();
    return deployment;
  }

  private distributionArn(): string {
    return Stack.of(this).formatArn({
      service: 'cloudfront',
      region: '',
      resource: 'distribution',
      resourceName: this.distribution.distributionId,
    });
  }

  /**
   * The dashboard holds an admin credential in the browser, so scripts may only come from the site and
   * may only talk to the site and function URLs of this region — narrowed to the admin API by the page's
   * own CSP (see `deploy`). Naming the API here would make the distribution wait on the API, whose
   * CORS waits on the distribution.
   */
  private securityHeaders(): ResponseHeadersPolicy {
    const csp = dashboardCsp(`https://*.lambda-url.${Aws.REGION}.on.aws`);
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

  private acknowledgeNagFindings(accessLogs: boolean): void {
    if (!accessLogs)
      acknowledge(
        this.bucket,
        'Only CloudFront reads this bucket (OAC), and only the deployment writes it; `-c accessLogs=true` logs it.',
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
    if (!accessLogs)
      acknowledge(
        this.distribution,
        'Standard access logs are off by default (`-c accessLogs=true` turns them on); the admin API logs every data access.',
        'AwsSolutions-CFR3',
      );
    acknowledge(
      this.distribution,
      'The default *.cloudfront.net certificate cannot pin a minimum TLS version; a custom domain with its own certificate can.',
      'AwsSolutions-CFR4',
    );
  }

  private acknowledgeDeploymentFindings(): void {
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
    );
  }
}

/** The admin API's routes, served from the dashboard's origin by `serveApi`. */
const ADMIN_API_PATHS = [
  '/auth/*',
  '/api/*',
  '/key/*',
  '/user/*',
  '/team/*',
  '/spend/*',
  '/audit/*',
  '/routing/*',
  '/sso/*',
  '/scim/*',
  '/health',
];

/** The page's CSP, in a `<meta>` tag: what a meta CSP may carry (no frame-ancestors, which the header has). */
function pageCsp(adminOrigin: string | undefined): string {
  return dashboardCsp(adminOrigin)
    .split('; ')
    .filter((directive) => !directive.startsWith('frame-ancestors'))
    .join('; ');
}

/**
 * BucketDeployment grants its handler `cloudfront:CreateInvalidation` and `GetInvalidation` on `*`;
 * both act on one distribution, so the statement is rewritten to name this one.
 */
function onlyThisDistribution(deployment: BucketDeployment, distributionArn: string): void {
  const policy = deployment.handlerRole.node.tryFindChild('DefaultPolicy') as Policy | undefined;
  const cfn = policy?.node.defaultChild as CfnPolicy | undefined;
  if (!cfn) throw new Error('BucketDeployment: its handler role has no default policy to narrow');
  const original = cfn.policyDocument;
  const narrowed: IResolvable = {
    creationStack: [],
    resolve: (context: IResolveContext) => {
      const document = context.resolve(original) as { Statement: Array<Record<string, unknown>> };
      return {
        ...document,
        Statement: document.Statement.map((statement) => {
          const actions = [statement.Action].flat() as string[];
          return actions.every((a) => a.startsWith('cloudfront:')) && statement.Resource === '*'
            ? { ...statement, Resource: context.resolve(distributionArn) }
            : statement;
        }),
      };
    },
    toString: () => 'DistributionScopedPolicyDocument',
  };
  cfn.policyDocument = narrowed;
}
