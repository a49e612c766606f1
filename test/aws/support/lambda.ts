/**
 * A function from cdk.out started as Lambda starts it: its bundle unpacked into a task root, aws-lambda-ric
 * (AWS's Node.js runtime interface client) as the runtime, on the Node line under test, with a clean
 * environment made of what Lambda sets (`AWS_LAMBDA_RUNTIME_API`, `_HANDLER`, `LAMBDA_TASK_ROOT`, region,
 * the credentials of the function's role as made on moto (iam.ts), the log format of the template's LoggingConfig), the function's own variables from the
 * template, and `AWS_ENDPOINT_URL` pointing the SDK at the emulator.
 *
 * The bundle leaves `@aws-sdk/*` to the runtime. Lambda provides it outside the task root; here the
 * repository's copy is linked into a directory above the task root, where an ES module import finds it,
 * and nothing else is: any other module a bundle failed to include fails the cold start as on Lambda.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ACCOUNT, type AwsEndpoint, type Credentials, REGION } from './moto.ts';
import type { Deployment } from './resources.ts';
import { type Invocation, type RuntimeApi, startRuntimeApi } from './runtime-api.ts';
import { assetDir, type CfnProps, REPO_ROOT } from './template.ts';

const RUNTIME_DIR = `${REPO_ROOT}test/aws/runtime/node_modules/`;
export const NODE_LINES = ['22', '24'] as const;
export type NodeLine = (typeof NODE_LINES)[number];

export interface LambdaFunction {
  name: string;
  runtime: RuntimeApi;
  /** Every line the function wrote to stdout and stderr (what CloudWatch Logs would hold). */
  logs: string[];
  invoke(event: unknown, opts?: { timeoutMs?: number }): Invocation;
  stop(): Promise<void>;
}

export interface StartOptions {
  deployment: Deployment;
  moto: AwsEndpoint;
  logicalId: string;
  node: NodeLine;
  /** Settings a test adds (provider base URLs pointing at the mock upstream). */
  extraEnv?: Record<string, string>;
  /** Credentials in place of its role's (by default, those of its role on moto: iam.ts). */
  credentials?: Credentials;
  /** Extra CA certificates to trust (a local HTTPS Slack webhook). */
  caFile?: string;
}

export async function startFunction(opts: StartOptions): Promise<LambdaFunction> {
  const fn = opts.deployment.template.Resources[opts.logicalId];
  if (fn?.Type !== 'AWS::Lambda::Function') throw new Error(`${opts.logicalId} is not a function`);
  const p = (fn.Properties ?? {}) as CfnProps;
  const root = mkdtempSync(join(tmpdir(), 'tollgate-lambda-'));
  const taskRoot = join(root, 'var', 'task');
  mkdirSync(taskRoot, { recursive: true });
  cpSync(assetDir(fn), taskRoot, { recursive: true });
  mkdirSync(join(root, 'node_modules'));
  symlinkSync(`${REPO_ROOT}node_modules/@aws-sdk`, join(root, 'node_modules', '@aws-sdk'));

  const runtime = await startRuntimeApi();
  const name = `${opts.logicalId}-node${opts.node}`;
  const credentials: Credentials = opts.credentials ?? opts.deployment.roleOf(opts.logicalId).credentials;
  const logFormat = p.LoggingConfig?.LogFormat === 'JSON' ? 'JSON' : 'Text';
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    AWS_LAMBDA_RUNTIME_API: runtime.address,
    _HANDLER: String(p.Handler),
    LAMBDA_TASK_ROOT: taskRoot,
    AWS_EXECUTION_ENV: `AWS_Lambda_nodejs${opts.node}.x`,
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(p.MemorySize ?? 128),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `2026/01/01/[$LATEST]${Date.now().toString(16)}`,
    AWS_LAMBDA_LOG_FORMAT: logFormat,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken && { AWS_SESSION_TOKEN: credentials.sessionToken }),
    AWS_ENDPOINT_URL: opts.moto.endpoint,
    ...(opts.caFile && { NODE_EXTRA_CA_CERTS: opts.caFile }),
    ...opts.deployment.functionEnvironment(opts.logicalId),
    ...opts.extraEnv,
  };
  const node = `${RUNTIME_DIR}node${opts.node}/bin/node`;
  const child: ChildProcess = spawn(node, [`${RUNTIME_DIR}aws-lambda-ric/index.mjs`], {
    cwd: taskRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let rest = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      logs.push(...lines.filter((l) => l.trim() !== ''));
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await runtime.close();
    rmSync(root, { recursive: true, force: true });
  };

  const failed = exited.then((code) => {
    throw new Error(`${name} exited (${code}) before its first event:\n${logs.slice(-20).join('\n')}`);
  });
  failed.catch(() => {});
  try {
    await Promise.race([
      runtime.ready,
      failed,
      sleep(30_000).then(() => Promise.reject(new Error(`${name}: no init in 30 s`))),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name,
    runtime,
    logs,
    invoke: (event, o) =>
      runtime.invoke(event, {
        timeoutMs: o?.timeoutMs ?? Number(p.Timeout ?? 3) * 1000,
        functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
      }),
    stop,
  };
}
