/**
 * The synthesized stack, as `npx cdk synth` left it in `cdk.out`: its template and the bundled asset of
 * each function. The test:aws script synthesizes first, so the bundles are the ones `cdk deploy` uploads.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CDK_OUT = `${REPO_ROOT}cdk.out/`;

/** A resource's properties: untyped CloudFormation JSON, read field by field where used. */
// biome-ignore lint/suspicious/noExplicitAny: the template's shape is CloudFormation's, not ours
export type CfnProps = Record<string, any>;

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DependsOn?: string | string[];
}

export interface Template {
  Resources: Record<string, CfnResource>;
}

export function readTemplate(stackName = 'Tollgate'): Template {
  const path = `${CDK_OUT}${stackName}.template.json`;
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npx cdk synth --quiet\` first`);
  return JSON.parse(readFileSync(path, 'utf8')) as Template;
}

/** The one resource of a type whose CDK path ends with `pathSuffix` (e.g. `Proxy/Function/Resource`). */
export function resourceAt(template: Template, type: string, pathSuffix: string): [string, CfnResource] {
  const found = Object.entries(template.Resources).filter(
    ([, r]) => r.Type === type && String(r.Metadata?.['aws:cdk:path'] ?? '').endsWith(pathSuffix),
  );
  if (found.length !== 1)
    throw new Error(`expected one ${type} at */${pathSuffix} in the template, found ${found.length}`);
  return found[0] as [string, CfnResource];
}

export function resourcesOfType(template: Template, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** The directory of a function's bundled asset in cdk.out (what Lambda unpacks into /var/task). */
export function assetDir(fn: CfnResource): string {
  const asset = fn.Metadata?.['aws:asset:path'];
  if (typeof asset !== 'string') throw new Error('function has no aws:asset:path metadata');
  return `${CDK_OUT}${asset}`;
}
