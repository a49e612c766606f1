import { describe, expect, it } from 'vitest';
import { outcomeLines } from '../../../functions/core/analytics/digest-outcomes.ts';
import type { SessionOutcome } from '../../../functions/core/analytics/outcomes.ts';

const session = (user: string, team: string, overrides: Partial<SessionOutcome> = {}): SessionOutcome => ({
  session_id: `${user}-${team}-${Math.random()}`,
  user_id: user,
  team_id: team,
  agent: 'claude-code',
  week: '2026-11-30',
  active_seconds: 600,
  lines_added: 40,
  lines_removed: 2,
  commits: 1,
  pull_requests: 1,
  edits_accepted: 3,
  edits_rejected: 0,
  gateway_cost_micros: 700_000,
  agent_cost_micros: 700_000,
  ungoverned_cost_micros: 0,
  ...overrides,
});

describe('the weekly digest’s outcome lines', () => {
  it('gives each team with enough contributors its sessions, commits, pull requests and cost per pull request', () => {
    // Prepare: web has three people; ops has one
    const sessions = [
      session('a', 'web'),
      session('b', 'web'),
      session('c', 'web', { pull_requests: 0 }),
      session('d', 'ops'),
    ];

    // Act
    const lines = outcomeLines(sessions, 3);

    // Assess: $2.10 billed over 2 pull requests
    expect(lines).toEqual(['web: 3 sessions, 3 commits, 2 pull requests, $1.05 per pull request']);
  });
});
