/**
 * moto_server (Python moto 5.2) on a free loopback port, behind a recording proxy that counts the calls
 * made to each emulated service: the functions under test and the test itself reach moto only through
 * it, so the table printed at the end is every AWS call of the run. With `AWS_ENDPOINT_URL` set, that
 * endpoint is used instead of starting moto (and is assumed to be moto: its `/moto-api` is used to turn
 * IAM enforcement on and to seed Athena results; it needs `MOTO_IAM_LOAD_MANAGED_POLICIES=true`, and
 * without moto_server.py's correction its S3 signature checks refuse keys holding `=`). The proxy also
 * records every call moto refused for its credentials or policies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
/**
 * moto accepts any credentials while IAM enforcement is off (only the set-up of the operator, see
 * iam.ts, signs with these); they are never real.
 */
export const DUMMY_CREDENTIALS = { accessKeyId: 'AKIAMOTOTESTING00000', secretAccessKey: 'moto-test-secret' };

/** The recording proxy answers its counts here, for tests running in another process than the proxy. */
const CALLS_PATH = '/__recorded-calls';
const REFUSALS_PATH = '/__recorded-refusals';

/** A call moto refused for its credentials or its policies, as the recording proxy saw it. */
export interface Refusal {
  /** The access key the call was signed with (which role or user made it). */
  accessKeyId: string;
  /** `service Action` as counted, e.g. `dynamodb Scan`, `s3 GetObject`. */
  call: string;
  /** The request path (for S3, bucket and key). */
  path: string;
  status: number;
  /** AccessDenied, AccessDeniedException, InvalidClientTokenId, SignatureDoesNotMatch... */
  code: string;
  /** moto's message; outside S3 it names the principal and the IAM action (`... not authorized to perform: dynamodb:Scan`). */
  message: string;
}

/** Every refusal recorded so far through the proxy at `endpoint`, in order. */
export async function recordedRefusals(endpoint: string): Promise<Refusal[]> {
  const res = await fetch(`${endpoint}${REFUSALS_PATH}`);
  return (await res.json()) as Refusal[];
}

/** The calls recorded so far through the proxy at `endpoint`: `service Action` → count. */
export async function recordedCalls(endpoint: string): Promise<Map<string, number>> {
  const res = await fetch(`${endpoint}${CALLS_PATH}`);
  return new Map(Object.entries((await res.json()) as Record<string, number>));
}

/** What a call is signed with: a role's session (iam.ts) or a user's key. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Where the emulator answers and who the test signs its own calls as; all a client needs. */
export interface AwsEndpoint {
  endpoint: string;
  /** The operator's credentials (allowed everything, iam.ts) once IAM is enforced. */
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface Moto {
  /** The recording proxy's URL: what every client is given as `AWS_ENDPOINT_URL`. */
  endpoint: string;
  /** Calls moto refused, in order (see Refusal). */
  refusals: Refusal[];
  /** `service action` → count, e.g. `dynamodb UpdateItem` → 12. */
  calls: Map<string, number>;
  /** A call counter for one service and action (0 when never made). */
  count(service: string, action: string): number;
  close(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const given = process.env.AWS_ENDPOINT_URL;
  let child: ChildProcess | undefined;
  let upstream: URL;
  if (given) upstream = new URL(given);
  else {
    const port = await freePort();
    // moto_server with one correction (S3 signatures over the path as sent; see moto_server.py).
    const launcher = fileURLToPath(new URL('./moto_server.py', import.meta.url));
    child = spawn('python3', [launcher, '-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // AWS managed policies (AWSLambdaBasicExecutionRole) are attached to the roles as on AWS.
      env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' },
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      // Keep only the tail, for a failure message; moto logs every request here.
      stderr = (stderr + chunk.toString('utf8')).slice(-4_000);
    });
    upstream = new URL(`http://127.0.0.1:${port}`);
    await waitUntilUp(upstream, child, () => stderr);
  }
  const calls = new Map<string, number>();
  const refusals: Refusal[] = [];
  const proxy = await startRecordingProxy(upstream, calls, refusals);
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return {
    endpoint,
    calls,
    refusals,
    count: (service, action) => calls.get(`${service} ${action}`) ?? 0,
    async close() {
      await new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        proxy.closeAllConnections();
      });
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child?.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5_000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}

/** The table printed after the run: calls per service and action, most frequent first within a service. */
export function formatCalls(calls: Map<string, number>): string {
  const rows = [...calls].map(([key, n]) => {
    const [service = '', action = ''] = key.split(' ');
    return { service, action, n };
  });
  rows.sort((a, b) => a.service.localeCompare(b.service) || b.n - a.n || a.action.localeCompare(b.action));
  const byService = new Map<string, number>();
  for (const r of rows) byService.set(r.service, (byService.get(r.service) ?? 0) + r.n);
  const lines = ['calls to the emulated AWS services (through the recording proxy):'];
  for (const [service, total] of byService) {
    lines.push(`  ${service.padEnd(16)} ${String(total).padStart(5)}`);
    for (const r of rows.filter((row) => row.service === service))
      lines.push(`    ${r.action.padEnd(30)} ${String(r.n).padStart(5)}`);
  }
  const all = [...byService.values()].reduce((a, b) => a + b, 0);
  lines.push(`  ${'total'.padEnd(16)} ${String(all).padStart(5)}`);
  return lines.join('\n');
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitUntilUp(url: URL, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr()}`);
    try {
      const res = await fetch(new URL('/moto-api/data.json', url));
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`moto_server did not start within 30 s: ${stderr()}`);
}

function startRecordingProxy(
  upstream: URL,
  calls: Map<string, number>,
  refusals: Refusal[],
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === CALLS_PATH || req.url === REFUSALS_PATH) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url === CALLS_PATH ? Object.fromEntries(calls) : refusals));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const call = describeCall(req, body);
      if (call) calls.set(call, (calls.get(call) ?? 0) + 1);
      const out = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const status = answer.statusCode ?? 502;
          res.writeHead(status, answer.headers);
          if (call && status >= 400) recordRefusal(req, call, status, answer, refusals);
          answer.pipe(res);
        },
      );
      out.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`recording proxy: ${err.message}`);
      });
      out.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * `service Action` from a signed request: the service from the SigV4 credential scope, the action from
 * `X-Amz-Target` (JSON protocols: DynamoDB, Firehose, Secrets Manager, Athena, SQS), the `Action` form
 * field (query protocols: SNS, IAM, STS) or, for S3's REST API, the method and the shape of the path.
 * Calls to moto's own `/moto-api` are not AWS calls and are not counted.
 */
function describeCall(req: IncomingMessage, body: Buffer): string | undefined {
  const path = req.url ?? '/';
  if (path.startsWith('/moto-api')) return undefined;
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? '');
  const service = scope?.[1] ?? 'unsigned';
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return `${service} ${target.split('.').pop()}`;
  const form = /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString('utf8', 0, Math.min(body.length, 2_000)));
  if (form) return `${service} ${form[1]}`;
  if (service === 's3') return `s3 ${s3Action(req.method ?? 'GET', path)}`;
  return `${service} ${req.method} ${path.split('?')[0]}`;
}

/** Error codes moto answers when it refuses a caller (rather than a request). */
const REFUSED =
  /^(AccessDenied|AccessDeniedException|InvalidClientTokenId|SignatureDoesNotMatch|InvalidAccessKeyId|InvalidToken|UnrecognizedClientException)$/;

/**
 * Reads an error answer beside the piping and records it when it is a refusal. moto answers refusals
 * in XML even for JSON protocols (which the SDK then fails to parse), so the code and message are read
 * here, where they are intact.
 */
function recordRefusal(
  req: IncomingMessage,
  call: string,
  status: number,
  answer: IncomingMessage,
  refusals: Refusal[],
): void {
  const chunks: Buffer[] = [];
  answer.on('data', (c: Buffer) => chunks.push(c));
  answer.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    const code =
      /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? /"__type"\s*:\s*"(?:[^"#]*#)?([^"]+)"/.exec(text)?.[1] ?? '';
    if (!REFUSED.test(code)) return;
    refusals.push({
      accessKeyId: /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '',
      call,
      path: (req.url ?? '/').split('?')[0] ?? '/',
      status,
      code,
      message: /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '',
    });
  });
}

function s3Action(method: string, rawPath: string): string {
  const [pathname = '/', query = ''] = rawPath.split('?');
  const parts = pathname.split('/').filter(Boolean);
  const onObject = parts.length > 1;
  if (method === 'GET' && !onObject) return query.includes('list-type=2') ? 'ListObjectsV2' : 'ListObjects';
  if (method === 'PUT' && !onObject) return query ? `PutBucket(${query.split('=')[0]})` : 'CreateBucket';
  if (method === 'POST' && query.startsWith('delete')) return 'DeleteObjects';
  const verbs: Record<string, string> = {
    GET: 'GetObject',
    PUT: 'PutObject',
    DELETE: 'DeleteObject',
    HEAD: 'HeadObject',
  };
  return onObject ? (verbs[method] ?? method) : `${method} bucket`;
}

/** Seeds the next Athena query results (moto answers queued results in order, then empty ones). */
export async function seedAthenaResults(
  moto: AwsEndpoint,
  results: Array<{ rows: string[][]; columns: Array<{ name: string; type: string }> }>,
): Promise<void> {
  const body = {
    account_id: ACCOUNT,
    region: REGION,
    results: results.map(({ rows, columns }) => ({
      rows: rows.map((row) => ({ Data: row.map((value) => ({ VarCharValue: value })) })),
      column_info: columns.map(({ name, type }) => ({
        CatalogName: 'hive',
        SchemaName: '',
        TableName: '',
        Name: name,
        Label: name,
        Type: type,
        Precision: 0,
        Scale: 0,
        Nullable: 'UNKNOWN',
        CaseSensitive: false,
      })),
    })),
  };
  const res = await fetch(`${moto.endpoint}/moto-api/static/athena/query-results`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`seeding Athena results: ${res.status} ${await res.text()}`);
}
