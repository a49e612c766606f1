import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Rollup } from '../../functions/core/analytics/rollup-document.ts';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { CHROMIUM_PATH, hasChromium, launchChromium } from '../support/browser.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, type MockUsage, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * The dashboard in a real Chromium against the embedded gateway: usage sent with the official SDKs,
 * priced by hand, checked against the records and the SQL, then read off the page — as an admin, a
 * viewer and a person — with axe-core's accessibility rules, a phone screen, and a key issued and
 * revoked from the page.
 */
const SHOTS = fileURLToPath(new URL('../../test-results/e2e/', import.meta.url));
const AXE_PATH = fileURLToPath(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url));

type User = 'alice' | 'bob' | 'carol';
type Via = 'anthropic' | 'anthropic-stream' | 'openai' | 'openai-stream';

interface Sent {
  user: User;
  via: Via;
  model: string;
  usage: MockUsage;
  /** Priced by hand from DESIGN.md (USD per million tokens = micro-dollars per token). */
  costMicros: number;
}

const TEAMS: Record<User, string> = { alice: 'platform', bob: 'platform', carol: 'research' };

// biome-ignore format: one request per line reads as a table
const SENT: Sent[] = [
  // claude-sonnet-4-6 3/15/0.30: 1200×3 + 800×15
  { user: 'alice', via: 'anthropic', model: 'claude-sonnet-4-6', usage: { input_tokens: 1200, output_tokens: 800 }, costMicros: 15_600 },
  // 2000×3 + 1500×15 + 10000 cache reads×0.30
  { user: 'alice', via: 'anthropic', model: 'claude-sonnet-4-6', usage: { input_tokens: 2000, output_tokens: 1500, cache_read_input_tokens: 10_000 }, costMicros: 31_500 },
  // 10×3 + 10×15
  { user: 'alice', via: 'anthropic', model: 'claude-sonnet-4-6', usage: { input_tokens: 10, output_tokens: 10 }, costMicros: 180 },
  // claude-haiku-4-5 1/5: 1234×1 + 2000×5
  { user: 'bob', via: 'anthropic-stream', model: 'claude-haiku-4-5', usage: { input_tokens: 1234, output_tokens: 2000 }, costMicros: 11_234 },
  // gpt-4.1-mini 0.40/1.60: 10000×0.40 + 3000×1.60
  { user: 'bob', via: 'openai', model: 'gpt-4.1-mini', usage: { input_tokens: 10_000, output_tokens: 3000 }, costMicros: 8_800 },
  // gpt-4.1 2/8/0.50: (12000 prompt − 8000 cached)×2 + 8000×0.50 + 1000×8
  { user: 'carol', via: 'openai-stream', model: 'gpt-4.1', usage: { input_tokens: 4000, output_tokens: 1000, cache_read_input_tokens: 8000 }, costMicros: 20_000 },
  // claude-opus-4-6 5/25: 100×5 + 200×25, served as claude-opus-4-5 (same prices) by research's rule
  { user: 'carol', via: 'anthropic', model: 'claude-opus-4-6', usage: { input_tokens: 100, output_tokens: 200 }, costMicros: 5_500 },
];

/** The cost-by-person table, most expensive first: person, cost, requests, input, output, cache reads. */
const EXPECTED_PEOPLE = [
  ['alice', '$0.0473', '3', '3,210', '2,310', '10,000'], // 47,280 µ$
  ['carol', '$0.0255', '2', '4,100', '1,200', '8,000'], // 25,500 µ$
  ['bob', '$0.02', '2', '11,234', '5,000', '0'], // 20,034 µ$
];
/** Spend by team: platform = alice + bob = 67,314 µ$; research = carol. */
const EXPECTED_TEAMS = [
  ['platform', '$0.0673', '5', '14,444', '7,310', '10,000'],
  ['research', '$0.0255', '2', '4,100', '1,200', '8,000'],
];
const ROLES: Record<User, string> = {
  alice: 'proxy_admin',
  bob: 'internal_user',
  carol: 'proxy_admin_viewer',
};

interface CostRow {
  user_id: string;
  team_id: string | null;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_micros: number;
}

describe.skipIf(!hasChromium)(
  `dashboard in Chromium${hasChromium ? '' : ` (skipped: ${CHROMIUM_PATH} is missing)`}`,
  () => {
    let mock: MockUpstream;
    let gateway: TestGateway;
    let browser: Browser;
    let records: UsageRecord[];
    let day: string;
    let keys: Partial<Record<User, string>>;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      [mock, browser] = await Promise.all([
        startMockUpstream(),
        launchChromium(),
        mkdir(SHOTS, { recursive: true }),
      ]);
      gateway = await startTestGateway(mock.url);
      keys = {};
      for (const team of new Set(Object.values(TEAMS)))
        await gateway.createTeam({ team_id: team, max_budget: 1, budget_duration: 'monthly' });
      for (const user of Object.keys(TEAMS) as User[]) {
        await fetch(`${gateway.url}/user/new`, {
          method: 'POST',
          headers: { authorization: `Bearer ${MASTER_KEY}` },
          body: JSON.stringify({
            user_id: user,
            user_role: ROLES[user],
            max_budget: 5,
            auto_create_key: false,
          }),
        });
        keys[user] = (
          await gateway.createKey({ key_alias: `${user}-laptop`, user_id: user, team_id: TEAMS[user] })
        ).key;
      }
      await fetch(`${gateway.url}/routing/rules`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER_KEY}` },
        body: JSON.stringify({
          name: 'research: opus 4.6 is 4.5',
          scope: { team_id: 'research' },
          condition: 'model == "claude-opus-4-6"',
          targets: [{ model: 'claude-opus-4-5' }],
        }),
      });
      const ids: string[] = [];
      for (const sent of SENT) {
        mock.script.usage = { ...sent.usage };
        ids.push(await send(sent, keys[sent.user]!));
      }
      await gateway.proxy.drain();
      const all = await gateway.records();
      records = ids.map((id) => all.find((r) => r.request_id === id)).filter((r) => r !== undefined);
      expect(all).toHaveLength(SENT.length);
      expect(records).toHaveLength(SENT.length);
      day = records[0]!.dt;
    });

    afterEach(() => {
      expect(pageErrors, 'uncaught errors in the page').toEqual([]);
    });

    afterAll(async () => {
      await browser?.close();
      await gateway?.close();
      await mock?.close();
    });

    async function send({ via, model }: Sent, apiKey: string): Promise<string> {
      const messages = [{ role: 'user' as const, content: 'What did we spend today?' }];
      if (via === 'anthropic' || via === 'anthropic-stream') {
        const client = new Anthropic({ apiKey, baseURL: gateway.url, maxRetries: 0 });
        if (via === 'anthropic') {
          const { response } = await client.messages
            .create({ model, max_tokens: 1024, messages })
            .withResponse();
          return requestId(response);
        }
        const stream = client.messages.stream({ model, max_tokens: 1024, messages });
        await stream.finalMessage();
        return requestId((await stream.withResponse()).response);
      }
      const client = new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
      if (via === 'openai') {
        const { response } = await client.chat.completions.create({ model, messages }).withResponse();
        return requestId(response);
      }
      const { data, response } = await client.chat.completions
        .create({ model, messages, stream: true })
        .withResponse();
      let text = '';
      for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe(mock.script.text);
      return requestId(response);
    }

    function requestId(response: Response): string {
      const id = response.headers.get('x-tollgate-request-id');
      if (!id) throw new Error(`No x-tollgate-request-id on a ${response.status} response`);
      return id;
    }

    /** Groups usage into report rows; the reference the SQL and the page are held to. */
    function sumByUser(items: UsageRecord[]): CostRow[] {
      const rows = new Map<string, CostRow>();
      for (const item of items) {
        const user_id = item.user_id ?? '(no user)';
        const group = JSON.stringify([user_id, item.team_id]);
        const row = rows.get(group) ?? {
          user_id,
          team_id: item.team_id,
          requests: 0,
          input_tokens: 0,
          output_tokens: 0,
          cost_micros: 0,
        };
        row.requests += 1;
        row.input_tokens += item.input_tokens;
        row.output_tokens += item.output_tokens;
        row.cost_micros += item.cost_micros;
        rows.set(group, row);
      }
      return [...rows.values()].sort((a, b) => b.cost_micros - a.cost_micros);
    }

    async function openDashboard(
      name: string,
      options: Parameters<Browser['newPage']>[0] = {},
    ): Promise<Page> {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, ...options });
      page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
      await page.goto(gateway.url);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      return page;
    }

    async function signIn(page: Page, key: string, lands: '#org' | '#me' | '#signin'): Promise<void> {
      await page.getByLabel('Your Tollgate key, or the master key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator(`${lands}:not([hidden])`).waitFor();
    }

    const statusText = (page: Page) => page.getByRole('status').first().textContent();

    /** The rows of a table as shown: every cell's text. */
    const cells = (page: Page, table: string) =>
      page
        .locator(`#${table} tbody tr`)
        .evaluateAll((rows) =>
          rows.map((row) => [...row.children].map((cell) => cell.textContent?.trim() ?? '')),
        );

    const shot = (page: Page, name: string) =>
      page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });

    /** axe-core in the page: the violations of serious or critical impact. */
    async function accessibilityViolations(page: Page): Promise<string[]> {
      // Evaluated over DevTools, which the page's Content-Security-Policy does not govern.
      await page.evaluate(await readFile(AXE_PATH, 'utf8'));
      const violations = await page.evaluate(async () => {
        const axe = (
          window as unknown as {
            axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> };
          }
        ).axe;
        return (await axe.run()).violations;
      });
      return violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.nodes.length})`);
    }

    it('records every request at the price worked out by hand', () => {
      expect(records.map((r) => r.outcome)).toEqual(SENT.map(() => 'success'));
      expect(records.map((r) => [r.user_id, r.team_id, r.cost_micros])).toEqual(
        SENT.map((s) => [s.user, TEAMS[s.user], s.costMicros]),
      );
      expect(new Set(records.map((r) => r.dt))).toEqual(new Set([day]));
    });

    it('answers the rollup (SQL) with the sums of the records sent', async () => {
      const response = await fetch(`${gateway.url}/api/rollup`, {
        headers: { authorization: `Bearer ${MASTER_KEY}` },
      });
      const rollup = (await response.json()) as Rollup;

      expect(response.status).toBe(200);
      expect(
        rollup.spend.user.map((r) => [r.value, r.requests, r.input_tokens, r.output_tokens, r.cost_micros]),
      ).toEqual(
        sumByUser(records).map((r) => [
          r.user_id,
          r.requests,
          r.input_tokens,
          r.output_tokens,
          r.cost_micros,
        ]),
      );
    });

    it('refuses a wrong key with a clear error and keeps the sign-in form', async () => {
      const page = await openDashboard('wrong key');
      await shot(page, '1-signed-out');

      await signIn(page, 'sk-not-a-key', '#signin');

      await expect.poll(() => statusText(page)).toMatch(/^Key not accepted/);
      expect(await page.getByRole('status').first().getAttribute('data-kind')).toBe('error');
      expect(await page.locator('#org').isHidden()).toBe(true);
      await shot(page, '2-wrong-key');
      await page.close();
    });

    it('shows an admin every panel, with the numbers the SQL gives', async () => {
      const page = await openDashboard('admin');

      await signIn(page, MASTER_KEY, '#org');

      expect(await page.locator('.tile').count()).toBe(5);
      expect(await page.locator('.tile').first().textContent()).toContain('$0.0928');
      // Cache reads, priced by hand: 10,000 on claude-sonnet-4-6 × (3 − 0.30) + 8,000 on gpt-4.1 × (2 − 0.50).
      expect(await page.locator('.tile').last().textContent()).toContain('$0.039');
      expect(await cells(page, 'spend-table')).toEqual(EXPECTED_TEAMS);
      expect(await cells(page, 'people-table')).toEqual(EXPECTED_PEOPLE);
      // Five budgets (two teams, three people) fit without a "show all".
      expect(await page.locator('#budgets-all').isHidden()).toBe(true);
      expect((await cells(page, 'budgets-table')).map((r) => [r[0], r[1]])).toEqual(
        expect.arrayContaining([
          ['platform', 'team'],
          ['research', 'team'],
        ]),
      );
      expect((await cells(page, 'adoption-table')).map((r) => r.slice(0, 4))).toEqual([
        ['platform', '2', '2', '100%'],
        ['research', '1', '1', '100%'],
      ]);
      expect((await cells(page, 'latency-table')).length).toBe(5);
      expect(await cells(page, 'errors-table')).toEqual([['No denials or errors in this range.']]);
      await expect
        .poll(() => cells(page, 'outcomes-table'))
        .toEqual([[expect.stringMatching(/^No agent telemetry in this range/)]]);
      // Same prices on both models: the rule moved nothing.
      expect(await cells(page, 'routing-table')).toEqual([
        [
          'research: opus 4.6 is 4.5',
          'claude-opus-4-6 → claude-opus-4-5',
          '1',
          '$0.0055',
          '$0.0055',
          '$0.00',
          '0',
        ],
      ]);
      expect(await page.locator('#spend-chart').boundingBox()).not.toBeNull();
      await page.locator('#dimension').selectOption('model');
      expect((await cells(page, 'spend-table')).map((r) => r[0])).toEqual([
        'claude-sonnet-4-6',
        'gpt-4.1',
        'claude-haiku-4-5',
        'gpt-4.1-mini',
        'claude-opus-4-5',
      ]);
      expect(await accessibilityViolations(page)).toEqual([]);
      await shot(page, '3-org-admin');
      await page.close();
    });

    it('filters the org view by team', async () => {
      const page = await openDashboard('team filter');
      await signIn(page, MASTER_KEY, '#org');

      await page.locator('#team').selectOption('research');

      expect(await cells(page, 'spend-table')).toEqual([EXPECTED_TEAMS[1]]);
      expect(await page.locator('.tile').first().textContent()).toContain('$0.0255');
      expect((await cells(page, 'adoption-table')).map((r) => r[0])).toEqual(['research']);
      // One team by model is asked of the API: carol's gpt-4.1 (20,000 µ$) and claude-opus-4-5 (5,500 µ$).
      await page.locator('#dimension').selectOption('model');
      await expect
        .poll(() => cells(page, 'spend-table'))
        .toEqual([
          ['gpt-4.1', '$0.02', '1', '4,000', '1,000', '8,000'],
          ['claude-opus-4-5', '$0.0055', '1', '100', '200', '0'],
        ]);
      await page.close();
    });

    it('compares the headline figures with the period before, and makes no comparison without one', async () => {
      const page = await openDashboard('period over period');
      // Every record is from today: the 30 days before hold nothing, so there is nothing to compare.
      await signIn(page, MASTER_KEY, '#org');
      expect(await page.locator('.tile-change').count()).toBe(0);
      await page.close();
      // The same rollup with platform's spend of 40 and 35 days ago added (one request each, $0.05 in all):
      // the 30 days before the last 30 then hold $0.05 and 2 requests against $0.0928 and 7 now.
      const withHistory = await openDashboard('period over period, with history');
      await withHistory.route('**/api/rollup', async (route) => {
        const rollup = await (await route.fetch()).json();
        const to = Date.parse(`${rollup.range.to}T00:00:00Z`);
        const daysAgo = (n: number) => new Date(to - n * 86_400_000).toISOString().slice(0, 10);
        const earlier = (
          [
            [40, 30_000],
            [35, 20_000],
          ] as const
        ).map(([ago, cost]) => ({
          ...rollup.spend.team.find((r: { value: string }) => r.value === 'platform'),
          day: daysAgo(ago),
          cost_micros: cost,
          requests: 1,
        }));
        await route.fulfill({
          json: { ...rollup, spend: { ...rollup.spend, team: [...rollup.spend.team, ...earlier] } },
        });
      });
      await signIn(withHistory, MASTER_KEY, '#org');

      const changes = await withHistory.locator('.tile-change').allTextContents();
      // 92,814 against 50,000 µ$ is +86 %; 7 requests against 2 is +250 %.
      expect(changes).toEqual(['+86% vs the 30 days before', '+250% vs the 30 days before']);
      await withHistory.locator('#range').selectOption('7');
      expect(await withHistory.locator('.tile-change').count()).toBe(0);
      await withHistory.close();
    });

    it("shows a viewer the org view without anyone's personal spend", async () => {
      const page = await openDashboard('viewer');

      await signIn(page, keys.carol!, '#org');

      expect(await page.locator('#people').isHidden()).toBe(true);
      expect(await cells(page, 'spend-table')).toEqual(EXPECTED_TEAMS);
      expect(await page.getByRole('tab', { name: 'Your page' }).isVisible()).toBe(true);
      await page.close();
    });

    it('shows a person their own page only, and issues and revokes a key from it', async () => {
      const page = await openDashboard('person');
      page.on('dialog', (dialog) => void dialog.accept());
      // Bob's Claude Code exported a session (the captured one: a file written and committed).
      const exported = await fetch(`${gateway.url}/v1/metrics`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.bob}`, 'content-type': 'application/json' },
        body: await readFile(new URL('../fixtures/otlp/claude-code-metrics.json', import.meta.url)),
      });

      await signIn(page, keys.bob!, '#me');

      expect(await page.locator('#org').isHidden()).toBe(true);
      expect(await page.locator('#tabs').isHidden()).toBe(true);
      expect(await page.locator('#me-budgets .budget').count()).toBe(2); // person and team; the key has no limit
      expect(await cells(page, 'me-usage-table')).toEqual([
        ['claude-haiku-4-5 (anthropic-sdk)', '1', '$0.0112'],
        ['gpt-4.1-mini (openai-sdk)', '1', '$0.0088'],
      ]);
      expect(exported.status).toBe(200);
      const outcomes = await page
        .locator('#me-outcomes > div')
        .evaluateAll((items) =>
          items.map((item) => [item.querySelector('dt')?.textContent, item.querySelector('dd')?.textContent]),
        );
      expect(outcomes).toEqual(
        expect.arrayContaining([
          ['Sessions', '1'],
          ['Lines added', '4'],
          ['Commits', '1'],
          ['Edits accepted', '100%'],
        ]),
      );
      const text = (await page.locator('main').textContent()) ?? '';
      expect(text).not.toMatch(/alice|carol/);
      expect(await accessibilityViolations(page)).toEqual([]);

      await page.getByLabel('Name').fill('bob-ci');
      await page.getByRole('button', { name: 'Issue a key' }).click();
      const secret = (await page.locator('#new-key-value').textContent()) ?? '';
      await expect
        .poll(async () => (await cells(page, 'me-keys-table')).map((r) => r[0]))
        .toContain('bob-ci');
      const before = await statusOf(secret);
      await shot(page, '4-person');
      await page.getByRole('button', { name: 'Revoke bob-ci' }).click();
      await expect
        .poll(async () => (await cells(page, 'me-keys-table')).find((r) => r[0] === 'bob-ci')?.[4])
        .toBe('revoked');
      const after = await statusOf(secret);

      expect(secret).toMatch(/^sk-tg-/);
      expect([before, after]).toEqual([200, 403]);
      await page.close();
    });

    it('fits a phone screen in dark mode: only tables scroll sideways', async () => {
      const page = await openDashboard('phone', {
        viewport: { width: 390, height: 844 },
        colorScheme: 'dark',
      });

      await signIn(page, MASTER_KEY, '#org');

      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
      }));
      expect(widths.page).toBeLessThanOrEqual(widths.viewport);
      expect(await cells(page, 'people-table')).toEqual(EXPECTED_PEOPLE);
      await shot(page, '5-phone-dark');
      await page.close();
    });

    async function statusOf(key: string): Promise<number> {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await response.text();
      return response.status;
    }
  },
);
