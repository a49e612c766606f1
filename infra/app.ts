import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildDashboard } from '../dashboard/build.ts';
import { GOVERNANCE_CONTEXT } from '../functions/config.ts';
import { functionEnvironment, OPERATIONS_CONTEXT, operationsSettings } from './context.ts';
import { SCIM_CONTEXT, SIGN_IN_CONTEXT, scimTokenSecretArn, signInSettings } from './sign-in-context.ts';
import { TollgateStack } from './stack.ts';

const app = new App();
const stackName: string = app.node.tryGetContext('stackName') ?? 'Tollgate';
const alertEmail: string | undefined = app.node.tryGetContext('alertEmail') || undefined;
// `-c orgMaxBudget=5000 -c budgetTimeZone=Europe/Berlin ...`: see GOVERNANCE_CONTEXT.
const governance = await functionEnvironment(
  Object.fromEntries(Object.keys(GOVERNANCE_CONTEXT).map((name) => [name, app.node.tryGetContext(name)])),
);
// `-c proxyReservedConcurrency=300 -c accessLogs=true ...`: see operationsSettings.
const operations = operationsSettings(
  Object.fromEntries(OPERATIONS_CONTEXT.map((name) => [name, app.node.tryGetContext(name)])),
);

// `-c signIn=cognito -c oidcIssuer=https://... -c oidcClientId=... -c oidcClientSecretArn=arn:...`.
const signIn = signInSettings(
  Object.fromEntries(SIGN_IN_CONTEXT.map((name) => [name, app.node.tryGetContext(name)])),
);
// `-c scimTokenSecretArn=arn:...`: the IdP deprovisions people over SCIM with the token in that secret.
const scimSecretArn = scimTokenSecretArn(
  Object.fromEntries(SCIM_CONTEXT.map((name) => [name, app.node.tryGetContext(name)])),
);

// The stack uploads whatever is in this directory, so it must be fresh before the synth reads it.
const dashboardDir = fileURLToPath(new URL('../dashboard/dist/', import.meta.url));
await buildDashboard({ outdir: dashboardDir });

new TollgateStack(app, stackName, {
  stackName,
  description: 'Tollgate: LLM gateway for coding agents (virtual keys, budgets, usage lake, dashboard)',
  dashboardDir,
  alertEmail,
  governance,
  operations,
  signIn,
  scimTokenSecretArn: scimSecretArn,
});
// cdk-nag 3 runs as a policy validation plugin: an unacknowledged finding fails the synth.
// Findings that do not fit are acknowledged, with a reason, next to the resource in its construct.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
