/**
 * One moto_server (behind the recording proxy) for the whole run, with IAM enforced from the start:
 * the tests sign as an operator allowed everything, each function as its own role (iam.ts). Its table
 * of calls per service and action, and the calls it refused, are printed when the run ends.
 */
import type { TestProject } from 'vitest/node';
import { enforceIam } from './support/iam.ts';
import { type Credentials, formatCalls, type Moto, startMoto } from './support/moto.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string;
    awsOperator: Credentials;
  }
}

let moto: Moto | undefined;

export async function setup(project: TestProject) {
  moto = await startMoto();
  project.provide('awsEndpoint', moto.endpoint);
  project.provide('awsOperator', await enforceIam(moto.endpoint));
}

export async function teardown() {
  if (!moto) return;
  console.log(`\n${formatCalls(moto.calls)}\n`);
  // The negative controls' refusals are expected; any other is a failed test too.
  console.log(`calls moto refused (IAM enforced): ${moto.refusals.length}`);
  for (const r of moto.refusals) console.log(`  ${r.call} ${r.path} ${r.code} ${r.message}`);
  await moto.close();
}
