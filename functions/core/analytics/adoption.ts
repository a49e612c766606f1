/**
 * Adoption, by team and ISO week (Monday to Sunday, UTC). A person is *active* in a week when they
 * made at least one successful request (outcome `success`) in it, with a key carrying their
 * `user_id`; a person counts in every team their requests carried. Definitions:
 * - weekly active rate: people active in the week ÷ people holding an active key in the team (a key
 *   neither blocked nor expired; the holders come from the key store, not the lake);
 * - repeat usage: people active in at least 2 of the last 4 weeks ÷ people active in any of them;
 * - tools per person: distinct agents (claude-code, codex...) per active person over the last 4 weeks,
 *   as a distribution (how many people used 1, 2, 3... tools);
 * - new: people whose first active week (within the range read) is that week; lapsed: people active
 *   the week before and not that week.
 * Only counts by team leave this module; nothing ranks individuals.
 */
import type { QueryEngine } from '../ports/lake.ts';
import { type DailyFilters, dailyCte, dailyParams, type ReportRange, rangeFilters } from './aggregates.ts';
import { checkDay, type DayRange, day, integer, NONE, text } from './sql.ts';

/** The dashboard's range: its first and last day, bound as parameters (raw days, aggregated days). */
const RANGE_FILTER = rangeFilters();

/** Successful requests' people, agents and weeks (a day's ISO week is its records' week), as the CTE `active`. */
const active = (filters: DailyFilters) => `${dailyCte('active', filters)},
active AS (
  SELECT DISTINCT CAST(date_trunc('week', CAST(dt AS DATE)) AS DATE) AS week, COALESCE(team_id, '${NONE}') AS team_id, user_id, agent
  FROM daily
)`;

/**
 * The adoption texts without their order, over the days `filters` keep; the `?` of each window is
 * an expression here (`?` for the dashboard, the current week for the analysts' views in views.ts).
 */
export function weeklyActiveSql(filters: DailyFilters): string {
  return `${active(filters)}
SELECT CAST(week AS VARCHAR) AS week, team_id, count(DISTINCT user_id) AS active_people
FROM active
GROUP BY week, team_id`;
}

/** Over the weeks from the Monday `since` on. */
export function repeatUsageSql(filters: DailyFilters, since: string): string {
  return `${active(filters)},
per_person AS (
  SELECT team_id, user_id, count(DISTINCT week) AS weeks
  FROM active
  WHERE week >= CAST(${since} AS DATE)
  GROUP BY team_id, user_id
)
SELECT team_id, count(*) AS active_people, sum(CASE WHEN weeks >= 2 THEN 1 ELSE 0 END) AS repeat_people
FROM per_person
GROUP BY team_id`;
}

export function toolsPerPersonSql(filters: DailyFilters, since: string): string {
  return `${active(filters)},
per_person AS (
  SELECT team_id, user_id, count(DISTINCT agent) AS tools
  FROM active
  WHERE week >= CAST(${since} AS DATE)
  GROUP BY team_id, user_id
)
SELECT team_id, tools, count(*) AS people
FROM per_person
GROUP BY team_id, tools`;
}

/** Lapsed weeks up to the Monday `lastWeek`. */
export function newAndLapsedSql(filters: DailyFilters, lastWeek: string): string {
  return `${active(filters)},
weeks_active AS (SELECT DISTINCT team_id, user_id, week FROM active),
firsts AS (
  SELECT team_id, user_id, min(week) AS week FROM weeks_active GROUP BY team_id, user_id
),
new_people AS (
  SELECT team_id, week, count(*) AS people FROM firsts GROUP BY team_id, week
),
lapsed_people AS (
  SELECT a.team_id, CAST(a.week + INTERVAL '7' DAY AS DATE) AS week, count(*) AS people
  FROM weeks_active a
  LEFT JOIN weeks_active b
    ON b.team_id = a.team_id AND b.user_id = a.user_id AND b.week = CAST(a.week + INTERVAL '7' DAY AS DATE)
  WHERE b.user_id IS NULL AND CAST(a.week + INTERVAL '7' DAY AS DATE) <= CAST(${lastWeek} AS DATE)
  GROUP BY a.team_id, CAST(a.week + INTERVAL '7' DAY AS DATE)
)
SELECT CAST(COALESCE(n.week, l.week) AS VARCHAR) AS week, COALESCE(n.team_id, l.team_id) AS team_id,
  COALESCE(n.people, 0) AS new_people, COALESCE(l.people, 0) AS lapsed_people
FROM new_people n
FULL OUTER JOIN lapsed_people l ON l.team_id = n.team_id AND l.week = n.week`;
}

export const WEEKLY_ACTIVE_SQL = `${weeklyActiveSql(RANGE_FILTER)}
ORDER BY week, team_id`;

/** Over the weeks from the bound Monday on. */
export const REPEAT_USAGE_SQL = `${repeatUsageSql(RANGE_FILTER, '?')}
ORDER BY team_id`;

export const TOOLS_PER_PERSON_SQL = `${toolsPerPersonSql(RANGE_FILTER, '?')}
ORDER BY team_id, tools`;

export const NEW_AND_LAPSED_SQL = `${newAndLapsedSql(RANGE_FILTER, '?')}
ORDER BY week, team_id`;

export interface WeeklyActiveRow {
  /** The week's Monday, `YYYY-MM-DD`. */
  week: string;
  team_id: string;
  active_people: number;
}

export interface RepeatUsageRow {
  team_id: string;
  active_people: number;
  repeat_people: number;
  /** repeat_people ÷ active_people, 0–1. */
  repeat_rate: number;
}

export interface ToolsRow {
  team_id: string;
  tools: number;
  people: number;
}

export interface NewLapsedRow {
  week: string;
  team_id: string;
  new_people: number;
  lapsed_people: number;
}

/** The Monday (UTC) of the ISO week containing `dayText`. */
export function mondayOf(dayText: string): string {
  const d = new Date(`${checkDay(dayText)}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}

/** The Monday `weeks - 1` weeks before the week of `range.to`: the start of the last `weeks` weeks. */
export function windowStart(range: DayRange, weeks: number): string {
  const d = new Date(`${mondayOf(range.to)}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 7 * (weeks - 1));
  return d.toISOString().slice(0, 10);
}

export async function weeklyActive(engine: QueryEngine, range: ReportRange): Promise<WeeklyActiveRow[]> {
  const rows = await engine.query(WEEKLY_ACTIVE_SQL, dailyParams(range));
  return rows.map((row) => ({
    week: day(row, 'week'),
    team_id: text(row, 'team_id') ?? NONE,
    active_people: integer(row, 'active_people'),
  }));
}

export async function repeatUsage(engine: QueryEngine, range: ReportRange): Promise<RepeatUsageRow[]> {
  const rows = await engine.query(REPEAT_USAGE_SQL, [...dailyParams(range), windowStart(range, 4)]);
  return rows.map((row) => {
    const active = integer(row, 'active_people');
    const repeat = integer(row, 'repeat_people');
    return {
      team_id: text(row, 'team_id') ?? NONE,
      active_people: active,
      repeat_people: repeat,
      repeat_rate: active === 0 ? 0 : repeat / active,
    };
  });
}

export async function toolsPerPerson(engine: QueryEngine, range: ReportRange): Promise<ToolsRow[]> {
  const rows = await engine.query(TOOLS_PER_PERSON_SQL, [...dailyParams(range), windowStart(range, 4)]);
  return rows.map((row) => ({
    team_id: text(row, 'team_id') ?? NONE,
    tools: integer(row, 'tools'),
    people: integer(row, 'people'),
  }));
}

export async function newAndLapsed(engine: QueryEngine, range: ReportRange): Promise<NewLapsedRow[]> {
  const rows = await engine.query(NEW_AND_LAPSED_SQL, [...dailyParams(range), mondayOf(range.to)]);
  return rows.map((row) => ({
    week: day(row, 'week'),
    team_id: text(row, 'team_id') ?? NONE,
    new_people: integer(row, 'new_people'),
    lapsed_people: integer(row, 'lapsed_people'),
  }));
}
