/**
 * The weekly digest's outcome lines: per team, what the agents reported over the last 7 days beside
 * what the gateway billed (sessions, commits, pull requests, cost per pull request). Teams below
 * `min_people` contributors are left out, as on the org view.
 */
import type { Alert } from '../ports/alerts.ts';
import type { QueryEngine } from '../ports/lake.ts';
import type { Logger } from '../ports/logging.ts';
import type { ModelCatalog } from '../pricing/catalog.ts';
import { figuresOf, type SessionOutcome, sessionOutcomes } from './outcomes.ts';
import { lastDays } from './rollup.ts';
import { NONE } from './sql.ts';

export interface DigestOutcomeDeps {
  query: QueryEngine;
  catalog: ModelCatalog;
  log?: Logger;
}

/** The digest with a section of outcome lines by team, or as it was when there is no telemetry. */
export async function withOutcomeLines(
  digest: Alert,
  deps: DigestOutcomeDeps,
  now: Date,
  minPeople: number,
): Promise<Alert> {
  let sessions: SessionOutcome[];
  try {
    sessions = await sessionOutcomes(deps.query, deps.catalog, lastDays(now, 7));
  } catch (err) {
    // A deployment whose telemetry table is not there yet still gets its digest.
    deps.log?.warn('digest.outcomes_failed', { error: String(err) });
    return digest;
  }
  const lines = outcomeLines(sessions, minPeople);
  if (lines.length === 0) return digest;
  return {
    ...digest,
    message: `${digest.message}\n\nWhat the agents reported, by team:\n${lines.join('\n')}`,
  };
}

export function outcomeLines(sessions: SessionOutcome[], minPeople: number): string[] {
  const byTeam = new Map<string, SessionOutcome[]>();
  for (const s of sessions) byTeam.set(s.team_id ?? NONE, [...(byTeam.get(s.team_id ?? NONE) ?? []), s]);
  return [...byTeam]
    .map(([team, group]) => [team, figuresOf(group)] as const)
    .filter(([, f]) => f.people >= minPeople)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([team, f]) => {
      const perPr =
        f.cost_per_pull_request_usd === null
          ? ''
          : `, $${f.cost_per_pull_request_usd.toFixed(2)} per pull request`;
      return `${team}: ${f.sessions} sessions, ${f.commits} commits, ${f.pull_requests} pull requests${perPr}`;
    });
}
