import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledge, LAMBDA_BASIC_EXECUTION_FINDING } from './nag.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Modules that exist only for the local runtime (`npm start`) or the toolchain. Marked external so that
 * an accidental import from a handler can never drag LevelDB, DuckDB's native binary or esbuild into a
 * Lambda bundle. `@aws-sdk/*` is provided by the nodejs22.x runtime (ESM resolves it through NODE_PATH).
 */
export const EXTERNAL_MODULES = ['@aws-sdk/*', 'dynalite', '@duckdb/*', 'tsx', 'esbuild'];

/** Bundled code is ESM, but some CommonJS dependencies still call `require`; esbuild needs one in scope. */
const REQUIRE_SHIM =
  "import { createRequire as __tollgateCreateRequire } from 'node:module'; const require = __tollgateCreateRequire(import.meta.url);";

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
}

/** A Node.js 22 arm64 Lambda bundled locally with esbuild as one minified ESM file with a source map. */
export function gatewayFunction(scope: Construct, id: string, props: GatewayFunctionProps): NodejsFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const fn = new NodejsFunction(scope, id, {
    entry: `${REPO_ROOT}${props.entry}`,
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: `${REPO_ROOT}package-lock.json`,
    description: props.description,
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    memorySize: props.memorySize,
    timeout: props.timeout,
    logGroup,
    loggingFormat: LoggingFormat.JSON,
    environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
    bundling: {
      format: OutputFormat.ESM,
      target: 'node22',
      mainFields: ['module', 'main'],
      banner: REQUIRE_SHIM,
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      externalModules: EXTERNAL_MODULES,
    },
  });
  acknowledge(
    fn,
    'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.',
    LAMBDA_BASIC_EXECUTION_FINDING,
  );
  acknowledge(
    fn,
    'nodejs22.x is pinned so the esbuild target, the runtime-provided AWS SDK and the Node line the code is tested on move together, by a deliberate change.',
    'AwsSolutions-L1',
  );
  return fn;
}
