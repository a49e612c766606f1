import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, hasChromium, launchChromium } from '../support/browser.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';
import { type Person, signInEnv, startTestIdp, type TestIdp } from '../support/oidc-idp.ts';
import { freePort } from '../support/sign-in-client.ts';

/**
 * Sign-in with the company's IdP as a person does it, in headless Chromium: the dashboard's button,
 * the IdP (oidc-provider on 127.0.0.1), back to their own page in the team their groups name; a key
 * issued from the page and used through the proxy; sign-out; and the page a person without a team sees.
 */
const SHOTS = fileURLToPath(new URL('../../test-results/e2e/', import.meta.url));
const DANA: Person = { sub: 'd-1', email: 'dana@example.com', name: 'Dana', groups: ['eng-platform', 'all'] };
const STRANGER: Person = { sub: 's-1', email: 'sam@example.com', name: 'Sam', groups: ['sales'] };

describe.skipIf(!hasChromium)(
  `sign-in with the IdP in Chromium${hasChromium ? '' : ` (skipped: ${CHROMIUM_PATH} is missing)`}`,
  () => {
    let mock: MockUpstream;
    let idp: TestIdp;
    let gateway: TestGateway;
    let browser: Browser;

    beforeAll(async () => {
      const port = await freePort();
      [mock, idp, browser] = await Promise.all([
        startMockUpstream(),
        startTestIdp(`http://127.0.0.1:${port}/auth/callback`),
        launchChromium(),
        mkdir(SHOTS, { recursive: true }),
      ]);
      gateway = await startTestGateway(mock.url, {
        TOLLGATE_PORT: String(port),
        ...signInEnv(idp, [{ group: 'eng-platform', team_id: 'platform' }]),
      });
      await gateway.createTeam({
        team_id: 'platform',
        team_member_budget: 10,
        team_member_budget_duration: '1mo',
      });
    });
    afterAll(async () => {
      await browser?.close();
      await gateway?.close();
      await idp?.close();
      await mock?.close();
    });

    async function signInWithIdp(context: BrowserContext, person: Person) {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(gateway.url);
      idp.signInAs(person);
      await page.getByRole('link', { name: 'Sign in with your company account' }).click();
      return { page, errors };
    }

    it('signs a person in, creates them in their team, and their key from the page works; sign-out ends it', async () => {
      // Prepare
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      context.on('page', (p) => p.on('dialog', (d) => void d.accept()));

      // Act
      const { page, errors } = await signInWithIdp(context, DANA);
      await page.locator('#me:not([hidden])').waitFor();
      await page.getByLabel('Name').fill('dana-laptop');
      await page.getByRole('button', { name: 'Issue a key' }).click();
      const secret = (await page.locator('#new-key-value').textContent()) ?? '';
      const snippet = (await page.locator('#snippet-claude').textContent()) ?? '';
      await page.screenshot({ path: `${SHOTS}sign-in-1-own-page.png`, fullPage: true });
      const served = await fetch(`${gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 64,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      const cookies = await context.cookies(gateway.url);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.locator('#signin:not([hidden])').waitFor();
      const afterOut = await context.request.get(`${gateway.url}/api/me`);

      // Assess
      expect(errors).toEqual([]);
      const session = cookies.find((c) => c.name === 'tollgate_session');
      expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
      const user = await fetch(`${gateway.url}/user/info?user_id=dana@example.com`, {
        headers: { authorization: `Bearer ${MASTER_KEY}` },
      }).then((r) => r.json() as Promise<{ user_info: Record<string, unknown> }>);
      expect(user.user_info).toMatchObject({
        user_email: 'dana@example.com',
        max_budget: 10,
        budget_duration: '1mo',
      });
      expect(secret).toMatch(/^sk-tg-/);
      expect(snippet).toBe(
        `export ANTHROPIC_BASE_URL=${gateway.url}\nexport ANTHROPIC_AUTH_TOKEN=${secret}\nclaude`,
      );
      expect(served.status).toBe(200);
      await gateway.proxy.drain();
      const record = (await gateway.records()).find((r) => r.user_id === 'dana@example.com');
      expect(record).toMatchObject({ team_id: 'platform', key_alias: 'dana-laptop', outcome: 'success' });
      expect(afterOut.status()).toBe(401);
      await context.close();
    });

    it('shows a person whose groups map to no team a page that says so', async () => {
      // Prepare
      const context = await browser.newContext();

      // Act
      const { page } = await signInWithIdp(context, STRANGER);
      await page.getByRole('heading', { name: 'No team for your groups' }).waitFor();
      await page.screenshot({ path: `${SHOTS}sign-in-2-no-team.png` });

      // Assess
      expect(await page.locator('#sign-in-message').textContent()).toContain('Ask an admin');
      const user = await fetch(`${gateway.url}/user/info?user_id=sam@example.com`, {
        headers: { authorization: `Bearer ${MASTER_KEY}` },
      });
      expect(user.status).toBe(404);
      await context.close();
    });
  },
);
