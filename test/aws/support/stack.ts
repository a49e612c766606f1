/**
 * The deployed shape a test works with: the resources on moto and the four functions, named by their
 * place in the stack (not by logical id, which CDK derives and may change).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AwsEndpoint } from './moto.ts';
import type { Deployment } from './resources.ts';
import { resourceAt, type Template } from './template.ts';

export const PATHS = {
  proxy: 'Proxy/Function/Resource',
  admin: 'Admin/Function/Resource',
  rollup: 'Rollups/Function/Resource',
  slack: 'Slack/Function/Resource',
  table: 'Budgets/Table/Resource',
  lake: 'UsageLake/Bucket/Resource',
  stream: 'UsageLake/Stream/Resource',
  topic: 'Alerts/Topic/Resource',
  masterKey: 'Secrets/MasterKey/Resource',
  providerKeys: 'Secrets/ProviderKeys/Resource',
  slackWebhook: 'Slack/WebhookUrl/Resource',
  rollupSchedule: 'Rollups/Schedule/Resource',
} as const;

const TYPES: Record<keyof typeof PATHS, string> = {
  proxy: 'AWS::Lambda::Function',
  admin: 'AWS::Lambda::Function',
  rollup: 'AWS::Lambda::Function',
  slack: 'AWS::Lambda::Function',
  table: 'AWS::DynamoDB::Table',
  lake: 'AWS::S3::Bucket',
  stream: 'AWS::KinesisFirehose::DeliveryStream',
  topic: 'AWS::SNS::Topic',
  masterKey: 'AWS::SecretsManager::Secret',
  providerKeys: 'AWS::SecretsManager::Secret',
  slackWebhook: 'AWS::SecretsManager::Secret',
  rollupSchedule: 'AWS::Events::Rule',
};

/** The logical id of a part of the stack. */
export function logicalId(template: Template, part: keyof typeof PATHS): string {
  return resourceAt(template, TYPES[part], PATHS[part])[0];
}

/** The physical id (the `Ref` value) of a part created on the emulator. */
export function physicalId(d: Deployment, part: keyof typeof PATHS): string {
  const ref = d.physical.get(logicalId(d.template, part))?.ref;
  if (!ref) throw new Error(`${part} was not created on the emulator`);
  return ref;
}

export type { AwsEndpoint };

/**
 * A stand-in for Slack's incoming webhook: HTTPS on 127.0.0.1 with a certificate made for the run
 * (the forwarder only posts to `https://` URLs), trusted by the function through NODE_EXTRA_CA_CERTS.
 */
export interface SlackWebhook {
  url: string;
  caFile: string;
  posts: Array<{ path: string; body: unknown }>;
  close(): Promise<void>;
}

/** A key and certificate for 127.0.0.1, made for the run; `cert` is also the CA file a client trusts. */
export function loopbackCertificate(): { dir: string; key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore', input: '' },
  );
  return { dir, key, cert };
}

export async function startSlackWebhook(): Promise<SlackWebhook> {
  const { dir, key, cert } = loopbackCertificate();
  const posts: SlackWebhook['posts'] = [];
  const server: Server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0000/B0000/test`,
    caFile: cert,
    posts,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
