import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Architecture, type IFunction, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { EXTERNAL_MODULES, LAMBDA_BUNDLING, lazyModuleCommands } from './bundling.ts';
import { acknowledge, LAMBDA_BASIC_EXECUTION_FINDING } from './nag.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface GatewayFunctionProps {
  /** Handler module, relative to the repository root; it must export `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  /**
   * Log retention of the function's own log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Modules the handler imports with `import()` only on a rare path, kept out of `index.mjs` and shipped
   * beside it in the asset (see `lazyModuleCommands`), so a cold start does not parse them.
   * @default - none
   */
  readonly lazyModules?: readonly string[];
}

/**
 * A Node.js 24 arm64 Lambda bundled locally with esbuild as one minified ESM file with a source map, and
 * its lazy modules, if any, beside it.
 */
export function gatewayFunction(scope: Construct, id: string, props: GatewayFunctionProps): NodejsFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const lazyModules = props.lazyModules ?? [];
  const fn = new NodejsFunction(scope, id, {
    entry: `${REPO_ROOT}${props.entry}`,
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: `${REPO_ROOT}package-lock.json`,
    description: props.description,
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    memorySize: props.memorySize,
    timeout: props.timeout,
    logGroup,
    loggingFormat: LoggingFormat.JSON,
    environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
    bundling: {
      ...LAMBDA_BUNDLING,
      format: OutputFormat.ESM,
      mainFields: [...LAMBDA_BUNDLING.mainFields],
      sourceMap: true,
      sourcesContent: false,
      externalModules: [...EXTERNAL_MODULES, ...lazyModules],
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (inputDir, outputDir) => lazyModuleCommands(inputDir, outputDir, lazyModules),
      },
    },
  });
  acknowledge(
    fn,
    'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.',
    LAMBDA_BASIC_EXECUTION_FINDING,
  );
  acknowledge(
    fn,
    'nodejs24.x is pinned so the runtime-provided AWS SDK and the Node lines the bundles are tested on (npm run test:aws: 22 and 24) move together, by a deliberate change.',
    'AwsSolutions-L1',
  );
  return fn;
}

/**
 * Grants a function exactly `actions` on `resources` (under `conditions`, when given): one statement of
 * its role's policy, so each grant in a construct reads as one line of what the function may do.
 */
export function allow(
  fn: IFunction,
  actions: string[],
  resources: string[],
  conditions?: Record<string, Record<string, unknown>>,
): void {
  fn.addToRolePolicy(new PolicyStatement({ actions, resources, ...(conditions && { conditions }) }));
}
