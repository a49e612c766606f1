/**
 * A person's own page: their spend against each budget that applies to them, their usage by agent and
 * model over time, their keys, and issuing and revoking their own keys. Only ever their own data: the
 * API answers `/api/me` for the key that asks.
 */

import type { OutcomeFigures } from '../../functions/core/analytics/outcomes.ts';
import { api, proxyUrl } from './api.ts';
import { pivot, stackedBars } from './charts.ts';
import { byId, el, renderTable } from './dom.ts';
import { formatCount, formatDollars, formatUsd } from './format.ts';

export interface MyPage {
  user: { user_id: string; user_alias: string | null; spend_micros: number };
  team_id: string | null;
  budgets: Array<{
    scope: string;
    label: string;
    limit_micros: number;
    spent_micros: number;
    used_pct: number;
    resets_at: string | null;
    forecast_micros: number | null;
    runs_out_at: string | null;
  }>;
  keys: Array<{
    token: string;
    key_name: string;
    key_alias: string | null;
    spend_micros: number;
    max_budget: number | null;
    blocked: boolean;
    models: string[];
  }>;
  usage: Array<{ day: string; agent: string; model: string; requests: number; cost_micros: number }>;
  outcomes?: OutcomeFigures;
}

export function renderMe(page: MyPage, reload: () => Promise<void>): void {
  byId('me-title').textContent = `Your usage, ${page.user.user_alias ?? page.user.user_id}`;
  byId('me-budgets').replaceChildren(
    ...(page.budgets.length === 0
      ? [el('p', { className: 'empty', textContent: 'No budget limits apply to you.' })]
      : page.budgets.map((b) => {
          const meter = el('meter');
          meter.min = 0;
          meter.max = 100;
          meter.low = 80;
          meter.high = 95;
          meter.optimum = 0;
          meter.value = Math.min(100, b.used_pct);
          meter.setAttribute('aria-label', `${b.label}: ${b.used_pct.toFixed(1)}% used`);
          const outlook = b.runs_out_at
            ? `at this pace it runs out on ${b.runs_out_at.slice(0, 10)}`
            : b.forecast_micros !== null
              ? `about ${formatUsd(b.forecast_micros)} by ${b.resets_at?.slice(0, 10)}`
              : 'no reset';
          return el(
            'div',
            { className: 'budget' },
            el('p', { className: 'budget-name', textContent: `${b.scope}: ${b.label}` }),
            meter,
            el('p', {
              className: 'hint',
              textContent: `${formatUsd(b.spent_micros)} of ${formatUsd(b.limit_micros)} (${b.used_pct.toFixed(1)}%); ${outlook}`,
            }),
          );
        })),
  );
  const { labels, series } = pivot(
    page.usage,
    (r) => r.day,
    (r) => r.agent,
    (r) => r.cost_micros,
  );
  stackedBars(byId<HTMLCanvasElement>('me-chart'), labels, series, (v) => formatUsd(Math.round(v)));
  const byModel = new Map<string, { model: string; requests: number; cost: number }>();
  for (const r of page.usage) {
    const row = byModel.get(`${r.agent} ${r.model}`) ?? {
      model: `${r.model} (${r.agent})`,
      requests: 0,
      cost: 0,
    };
    row.requests += r.requests;
    row.cost += r.cost_micros;
    byModel.set(`${r.agent} ${r.model}`, row);
  }
  renderTable(
    byId<HTMLTableElement>('me-usage-table'),
    [
      { label: 'Model (agent)', value: (r) => r.model },
      { label: 'Requests', value: (r) => formatCount(r.requests), raw: (r) => r.requests, numeric: true },
      {
        label: 'Cost',
        value: (r) => formatUsd(r.cost),
        raw: (r) => r.cost,
        numeric: true,
      },
    ],
    [...byModel.values()].sort((a, b) => b.cost - a.cost),
    'No usage in the last 60 days.',
  );
  renderMyOutcomes(page.outcomes);
  renderKeys(page, reload);
}

/** The person's own outcomes, as their agents reported them, beside what the gateway billed. */
function renderMyOutcomes(o: OutcomeFigures | undefined): void {
  const usd = (v: number | null) => (v === null ? '—' : formatUsd(Math.round(v * 1_000_000)));
  const items: Array<[string, string]> = o
    ? [
        ['Sessions', formatCount(o.sessions)],
        ['Active hours', (o.active_seconds / 3600).toFixed(1)],
        ['Lines added', formatCount(o.lines_added)],
        ['Commits', formatCount(o.commits)],
        ['Pull requests', formatCount(o.pull_requests)],
        ['Edits accepted', o.edit_acceptance === null ? '—' : `${Math.round(o.edit_acceptance * 100)}%`],
        ['Billed', usd(o.gateway_cost_usd)],
        ['Per commit', usd(o.cost_per_commit_usd)],
      ]
    : [];
  byId('me-outcomes').replaceChildren(
    ...(o && o.sessions > 0
      ? items.map(([term, value]) =>
          el('div', {}, el('dt', { textContent: term }), el('dd', { textContent: value })),
        )
      : [el('p', { className: 'empty', textContent: 'No telemetry from your agents yet.' })]),
  );
}

function renderKeys(page: MyPage, reload: () => Promise<void>): void {
  const table = byId<HTMLTableElement>('me-keys-table');
  renderTable(
    table,
    [
      { label: 'Key', value: (k) => k.key_alias ?? k.key_name },
      { label: 'Secret', value: (k) => k.key_name },
      {
        label: 'Spend',
        value: (k) => formatUsd(k.spend_micros),
        raw: (k) => k.spend_micros,
        numeric: true,
      },
      {
        label: 'Budget',
        value: (k) => (k.max_budget === null ? '—' : formatDollars(k.max_budget)),
        numeric: true,
      },
      { label: 'State', value: (k) => (k.blocked ? 'revoked' : 'active') },
      { label: 'Action', value: () => '' },
    ],
    page.keys,
    'You have no keys.',
  );
  [...(table.tBodies[0]?.rows ?? [])].forEach((row, i) => {
    const key = page.keys[i];
    const cell = row.cells[row.cells.length - 1];
    if (!key || !cell || key.blocked) return;
    const button = el('button', { className: 'secondary', textContent: 'Revoke' });
    button.type = 'button';
    button.setAttribute('aria-label', `Revoke ${key.key_alias ?? key.key_name}`);
    button.addEventListener('click', async () => {
      if (!confirm(`Revoke ${key.key_alias ?? key.key_name}? Agents using it stop at once.`)) return;
      await api('/key/block', { key: key.token });
      await reload();
    });
    cell.replaceChildren(button);
  });
}

/** How to point Claude Code and Codex at the gateway with the new key (shown with it, once). */
function agentSnippets(key: string): HTMLElement[] {
  const base = proxyUrl();
  const claude = `export ANTHROPIC_BASE_URL=${base}\nexport ANTHROPIC_AUTH_TOKEN=${key}\nclaude`;
  const codex = [
    '# ~/.codex/config.toml',
    'model_provider = "tollgate"',
    '',
    '[model_providers.tollgate]',
    'name = "Tollgate"',
    `base_url = "${base}/v1"`,
    'env_key = "TOLLGATE_API_KEY"',
    'wire_api = "responses"',
    '',
    `# then: export TOLLGATE_API_KEY=${key}`,
  ].join('\n');
  return [
    el('p', { textContent: 'Claude Code:' }),
    el('pre', { id: 'snippet-claude' }, el('code', { textContent: claude })),
    el('p', { textContent: 'Codex CLI:' }),
    el('pre', { id: 'snippet-codex' }, el('code', { textContent: codex })),
  ];
}

/** The new-key form: the secret is shown once, here, and never again. */
export function wireNewKey(reload: () => Promise<void>): void {
  const form = byId<HTMLFormElement>('new-key-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const alias = byId<HTMLInputElement>('new-key-alias').value.trim();
    const budget = byId<HTMLInputElement>('new-key-budget').value.trim();
    const shown = byId<HTMLElement>('new-key-secret');
    try {
      const made = await api<{ key: string }>('/key/generate', {
        ...(alias && { key_alias: alias }),
        // No period: the gateway gives it the period of the budget that binds the person.
        ...(budget && { max_budget: Number(budget) }),
      });
      shown.replaceChildren(
        el('p', { textContent: 'Your new key, shown this once. Copy it now:' }),
        el('code', { id: 'new-key-value', textContent: made.key }),
        ...agentSnippets(made.key),
      );
      shown.hidden = false;
      form.reset();
      await reload();
    } catch (err) {
      shown.replaceChildren(el('p', { className: 'error', textContent: (err as Error).message }));
      shown.hidden = false;
    }
  });
}
