/** The key every gateway bench uses: a team, a person in it and their key, each with a strict budget. */
import type { GatewayProcess } from '../support/gateway-process.ts';

export const BUDGET_USD = 1_000;

/** A team, a person in it and their key, each with a strict monthly budget of $1,000. */
export async function setUpKey(gateway: GatewayProcess): Promise<string> {
  const budget = { max_budget: BUDGET_USD, budget_duration: '1mo', budget_mode: 'strict' };
  const post = (path: string, body: Record<string, unknown>) =>
    gateway.admin(path, { method: 'POST', body: JSON.stringify(body) });
  await post('/team/new', { team_id: 'bench-team', ...budget });
  await post('/user/new', {
    user_id: 'bench-person',
    teams: ['bench-team'],
    auto_create_key: false,
    ...budget,
  });
  return gateway.createKey({ key_alias: 'bench', user_id: 'bench-person', team_id: 'bench-team', ...budget });
}
