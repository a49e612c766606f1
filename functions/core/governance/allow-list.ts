import { GatewayError } from '../errors.ts';

/** LiteLLM's marker for "any model"; an empty list means the same. */
const ANY_MODEL = 'all-proxy-models';

/** Whether a model allow-list (a key's, a team's) admits the model by its requested or canonical name. */
export function allowsModel(models: string[], requested: string, canonical: string): boolean {
  if (models.length === 0 || models.includes(ANY_MODEL)) return true;
  return models.includes(requested) || models.includes(canonical);
}

/** 403 naming the owner of the list (`Key 'alice'`, `Team 'backend'`) and what it allows. */
export function assertAllowsModel(
  owner: string,
  models: string[],
  requested: string,
  canonical: string,
): void {
  if (allowsModel(models, requested, canonical)) return;
  throw new GatewayError(
    'permission',
    `${owner} may not use model '${requested}'. Allowed: ${models.join(', ')}.`,
  );
}
