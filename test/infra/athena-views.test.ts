import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { WEEKLY_ACTIVE_SQL } from '../../functions/core/analytics/adoption.ts';
import { EVERY_DAY_FILTERS } from '../../functions/core/analytics/aggregates.ts';
import { spendSql } from '../../functions/core/analytics/spend.ts';
import { dedupedUsage } from '../../functions/core/analytics/sql.ts';
import { usageColumns } from '../../functions/core/usage/record.ts';
import { type StoredView, storedViews } from '../support/glue-views.ts';
import { buildStack, logicalIdOf } from './template.ts';

let template: Template;
let views: Record<string, StoredView>;

beforeAll(() => {
  template = Template.fromStack(buildStack());
  views = storedViews(template);
});

/** The SQL without its dashboard parts: the `dt` range and the final order. */
/** A dashboard text over every day: raw records where a day has no aggregates, the aggregates where it has. */
const body = (sql: string) =>
  sql
    .replace('dt BETWEEN ? AND ?', EVERY_DAY_FILTERS.raw)
    .replace('dt BETWEEN ? AND ?', EVERY_DAY_FILTERS.aggregated)
    .replace(/\nORDER BY [^\n]*$/, '');

describe('analyst views', () => {
  it('creates the deduplicated records, five daily spend views and four adoption views beside the usage table', () => {
    expect(Object.keys(views).sort()).toEqual([
      'adoption_new_lapsed',
      'adoption_repeat_usage',
      'adoption_tools_per_person',
      'adoption_weekly_active',
      'spend_daily_by_agent',
      'spend_daily_by_model',
      'spend_daily_by_person',
      'spend_daily_by_tag',
      'spend_daily_by_team',
      'usage_deduped',
    ]);
    const database = logicalIdOf(template, 'AWS::Glue::Database');
    const databaseName = template.toJSON().Resources[database].Properties.DatabaseInput.Name;
    for (const view of Object.values(views)) {
      expect(view.databaseName).toBe(databaseName);
      expect(view.definition).toMatchObject({ catalog: 'awsdatacatalog', schema: databaseName });
    }
  });

  it('stores each as Athena does: a VIRTUAL_VIEW with the Presto view text and the bare expanded marker', () => {
    for (const view of Object.values(views)) {
      expect(view.tableType).toBe('VIRTUAL_VIEW');
      expect(view.expandedText).toBe('/* Presto View */');
      expect(view.parameters).toEqual({ presto_view: 'true', comment: 'Presto View' });
      expect(view.definition.originalSql).not.toContain('?');
    }
  });

  it('declares the same columns to Athena (Trino types) and to Glue (Hive types)', () => {
    const hive: Record<string, string> = {
      varchar: 'string',
      bigint: 'bigint',
      'timestamp(3)': 'timestamp',
      'array(varchar)': 'array<string>',
      boolean: 'boolean',
    };
    for (const view of Object.values(views)) {
      expect(view.storageColumns).toEqual(
        view.definition.columns.map(({ name, type }) => ({ Name: name, Type: hive[type] })),
      );
    }
    expect(views.spend_daily_by_team?.definition.columns.slice(0, 4)).toEqual([
      { name: 'day', type: 'varchar' },
      { name: 'team_id', type: 'varchar' },
      { name: 'requests', type: 'bigint' },
      { name: 'cost_micros', type: 'bigint' },
    ]);
    expect(views.usage_deduped?.definition.columns.map((c) => c.name)).toEqual(
      usageColumns().map((c) => c.name),
    );
  });

  it('holds the dashboard’s own SQL over every day: its dedupe, its spend and adoption texts', () => {
    expect(views.spend_daily_by_team?.definition.originalSql).toBe(
      body(spendSql('team')).replace('SELECT day, value,', 'SELECT day, value AS team_id,'),
    );
    expect(views.spend_daily_by_tag?.definition.originalSql).toContain(
      'LEFT JOIN UNNEST(tags) AS t(tag) ON true',
    );
    expect(views.adoption_weekly_active?.definition.originalSql).toBe(body(WEEKLY_ACTIVE_SQL));
    expect(views.usage_deduped?.definition.originalSql).toContain(
      dedupedUsage(
        usageColumns().map((c) => c.name),
        '1 = 1',
      ),
    );
  });
});
