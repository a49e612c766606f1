/**
 * One moto_server (behind the recording proxy) for the whole run; its table of calls per service and
 * action is printed when the run ends.
 */
import type { TestProject } from 'vitest/node';
import { formatCalls, type Moto, startMoto } from './support/moto.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string;
  }
}

let moto: Moto | undefined;

export async function setup(project: TestProject) {
  moto = await startMoto();
  project.provide('awsEndpoint', moto.endpoint);
}

export async function teardown() {
  if (!moto) return;
  console.log(`\n${formatCalls(moto.calls)}\n`);
  await moto.close();
}
