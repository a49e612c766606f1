import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { CHROMIUM_PATH, hasChromium, launchChromium } from '../support/browser.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, type MockUsage, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * The dashboard in a real Chromium against the embedded gateway: usage sent with the official SDKs,
 * the cost-by-user report checked three ways (hand-priced, the records, the SQL), then read off the page.
 */
const SHOTS = fileURLToPath(new URL('../../test-results/e2e/', import.meta.url));

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
  // claude-opus-4-6 5/25: 100×5 + 200×25
  { user: 'carol', via: 'anthropic', model: 'claude-opus-4-6', usage: { input_tokens: 100, output_tokens: 200 }, costMicros: 5_500 },
];

/** What the table must show, most expensive first: user, team, cost, requests, input, output. */
const EXPECTED_ROWS = [
  ['alice', 'platform', '$0.0473', '3', '3,210', '2,310'], // 47,280 µ$
  ['carol', 'research', '$0.0255', '2', '4,100', '1,200'], // 25,500 µ$
  ['bob', 'platform', '$0.0200', '2', '11,234', '5,000'], // 20,034 µ$
];
const EXPECTED_TOTAL = ['Total', '', '$0.0928', '7', '18,544', '8,510']; // 92,814 µ$

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
    const pageErrors: string[] = [];

    beforeAll(async () => {
      [mock, browser] = await Promise.all([
        startMockUpstream(),
        launchChromium(),
        mkdir(SHOTS, { recursive: true }),
      ]);
      gateway = await startTestGateway(mock.url);
      const keys: Partial<Record<User, string>> = {};
      for (const team of new Set(Object.values(TEAMS))) await gateway.createTeam({ team_id: team });
      for (const user of Object.keys(TEAMS) as User[]) {
        keys[user] = (
          await gateway.createKey({ key_alias: `${user}-laptop`, user_id: user, team_id: TEAMS[user] })
        ).key;
      }
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
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, ...options });
      page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
      await page.goto(gateway.url);
      await expect.poll(() => statusText(page)).toBe('Enter an admin key to see the report.');
      return page;
    }

    async function signIn(page: Page, key: string): Promise<void> {
      await page.getByLabel('Admin key').fill(key);
      await page.getByRole('button', { name: 'Use key' }).click();
    }

    const statusText = (page: Page) => page.getByRole('status').textContent();

    const tableCells = (page: Page, section: 'tbody' | 'tfoot') =>
      page
        .locator(`#report ${section} tr`)
        .evaluateAll((rows) =>
          rows.map((row) => [...row.children].map((cell) => cell.textContent?.trim() ?? '')),
        );

    const shot = (page: Page, name: string) =>
      page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });

    it('records every request at the price worked out by hand', () => {
      expect(records.map((r) => r.outcome)).toEqual(SENT.map(() => 'success'));
      expect(records.map((r) => [r.user_id, r.team_id, r.cost_micros])).toEqual(
        SENT.map((s) => [s.user, TEAMS[s.user], s.costMicros]),
      );
      expect(new Set(records.map((r) => r.dt))).toEqual(new Set([day]));
    });

    it('answers the cost-by-user report (SQL) with the sums of the records sent', async () => {
      const response = await fetch(`${gateway.url}/api/reports/cost-by-user?date=${day}`, {
        headers: { authorization: `Bearer ${MASTER_KEY}` },
      });
      const report = (await response.json()) as { date: string; rows: CostRow[] };

      expect(response.status).toBe(200);
      expect(report.date).toBe(day);
      expect(report.rows).toEqual(sumByUser(records));
      expect(report.rows.map((r) => [r.user_id, r.cost_micros])).toEqual([
        ['alice', 47_280],
        ['carol', 25_500],
        ['bob', 20_034],
      ]);
    });

    it('shows the key-not-accepted error for a wrong admin key', async () => {
      const page = await openDashboard('wrong key');
      await shot(page, '1-signed-out');

      await signIn(page, 'sk-not-the-master-key');

      await expect
        .poll(() => statusText(page))
        .toBe('Key not accepted. Check the admin key and enter it again.');
      expect(await page.getByRole('status').getAttribute('data-kind')).toBe('error');
      expect(await page.locator('#report').isHidden()).toBe(true);
      expect(await page.locator('#key-state').textContent()).toBe('No key set.');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('admin-key');
      await shot(page, '2-wrong-key');
      await page.close();
    });

    it('shows one row per user with requests, tokens and cost, and the total', async () => {
      const page = await openDashboard('report');
      await page.getByLabel('Day (UTC)').fill(day);

      await signIn(page, MASTER_KEY);

      const table = page.getByRole('table', { name: `Cost by user on ${day} (UTC)` });
      await table.waitFor({ state: 'visible' });
      expect(await tableCells(page, 'tbody')).toEqual(EXPECTED_ROWS);
      expect(await tableCells(page, 'tfoot')).toEqual([EXPECTED_TOTAL]);
      expect(await page.getByRole('status').isHidden()).toBe(true);
      expect(await page.locator('#key-state').textContent()).toBe('A key is set for this tab.');
      expect(await page.getByLabel('Admin key').inputValue()).toBe('');
      await shot(page, '3-cost-by-user');
      await page.close();
    });

    it('shows the empty state for a day without usage', async () => {
      const page = await openDashboard('empty day');
      await signIn(page, MASTER_KEY);
      await page.getByRole('table').waitFor({ state: 'visible' });

      await page.getByLabel('Day (UTC)').fill('2001-01-01');

      await expect.poll(() => statusText(page)).toBe('No usage recorded on 2001-01-01 (UTC).');
      expect(await page.locator('#report').isHidden()).toBe(true);
      await shot(page, '4-empty-day');
      await page.close();
    });

    it('fits a phone screen in dark mode: only the table scrolls sideways', async () => {
      const page = await openDashboard('phone', {
        viewport: { width: 390, height: 844 },
        colorScheme: 'dark',
      });
      await page.getByLabel('Day (UTC)').fill(day);

      await signIn(page, MASTER_KEY);

      await page.getByRole('table').waitFor({ state: 'visible' });
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
      }));
      expect(widths.page).toBeLessThanOrEqual(widths.viewport);
      expect(await tableCells(page, 'tfoot')).toEqual([EXPECTED_TOTAL]);
      await shot(page, '5-phone-dark');
      await page.close();
    });
  },
);
