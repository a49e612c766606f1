import { governanceEnvironment } from '../functions/config.ts';
import { createModelCatalog, mergeModelOverrides } from '../functions/core/pricing/catalog.ts';
import { rulesFromConfig } from '../functions/core/routing/rules.ts';

/**
 * The functions' environment from CDK context (`-c orgMaxBudget=5000 -c routingRules='[...]'`; the
 * names are GOVERNANCE_CONTEXT's), checked as the functions will read it — the model overrides parse,
 * and every routing rule compiles against that catalog — so a mistake fails `cdk synth`, not a cold start.
 */
export function functionEnvironment(context: Record<string, string | undefined>): Record<string, string> {
  const env = governanceEnvironment(context);
  const catalog = createModelCatalog(mergeModelOverrides(env.TOLLGATE_MODELS_JSON));
  rulesFromConfig(env.TOLLGATE_ROUTING_RULES_JSON, catalog);
  return env;
}
