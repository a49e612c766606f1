/**
 * The dashboard: sign in with the company's IdP (when the gateway has it on) or with a key, then the org view (admins and viewers) and/or your own page
 * (anyone with their own key). No data is in the static files; everything comes from the admin API,
 * which decides what the key may see.
 */
import type { Rollup } from '../../functions/core/analytics/rollup-document.ts';
import {
  ApiError,
  api,
  forgetKey,
  forgetSession,
  loadApiBase,
  loadSession,
  signOutSession,
  storedKey,
  storeKey,
} from './api.ts';
import { byId, showStatus, wireCsvButtons } from './dom.ts';
import { type MyPage, renderMe, wireNewKey } from './me.ts';
import { type OrgFilters, renderOrg, teamsOf, toggleEveryBudget } from './org.ts';

const views = { signin: byId('signin'), org: byId('org'), me: byId('me') };
const tabs = byId('tabs');
const orgTab = byId<HTMLButtonElement>('tab-org');
const meTab = byId<HTMLButtonElement>('tab-me');
const rangeSelect = byId<HTMLSelectElement>('range');
const teamSelect = byId<HTMLSelectElement>('team');
const dimensionSelect = byId<HTMLSelectElement>('dimension');

let rollup: Rollup | undefined;
let signedIn = false;

function show(view: 'signin' | 'org' | 'me'): void {
  for (const [name, section] of Object.entries(views)) section.hidden = name !== view;
  orgTab.setAttribute('aria-selected', String(view === 'org'));
  meTab.setAttribute('aria-selected', String(view === 'me'));
  byId('sign-out').hidden = view === 'signin';
}

function drawOrg(): void {
  if (!rollup) return;
  const filters: OrgFilters = { days: Number(rangeSelect.value), team: teamSelect.value };
  renderOrg(rollup, filters, dimensionSelect.value);
}

async function loadMe(): Promise<boolean> {
  try {
    const page = await api<MyPage>('/api/me');
    renderMe(page, async () => void (await loadMe()));
    return true;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 400 || err.status === 403)) return false;
    throw err;
  }
}

async function start(): Promise<void> {
  if (!signedIn && !storedKey()) {
    show('signin');
    return;
  }
  showStatus('Loading…');
  views.org.setAttribute('aria-busy', 'true');
  try {
    rollup = await api<Rollup>('/api/rollup').catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 403) return undefined;
      throw err;
    });
    const hasMe = await loadMe();
    orgTab.hidden = !rollup;
    meTab.hidden = !hasMe;
    tabs.hidden = !(rollup && hasMe);
    if (rollup) {
      const current = teamSelect.value;
      teamSelect.replaceChildren(
        new Option('All teams', ''),
        ...teamsOf(rollup).map((t) => new Option(t, t)),
      );
      teamSelect.value = current;
      drawOrg();
      show('org');
    } else if (hasMe) show('me');
    else throw new ApiError(403, 'This key may see neither the org view nor a page of its own.');
    showStatus('');
  } catch (err) {
    const status = err instanceof ApiError ? err.status : 0;
    if (status === 401) {
      forgetKey();
      forgetSession();
      signedIn = false;
    }
    show('signin');
    const message = err instanceof Error ? err.message : String(err);
    showStatus(status === 401 ? `Key not accepted: ${message}` : message, 'error');
  } finally {
    views.org.removeAttribute('aria-busy');
  }
}

byId<HTMLFormElement>('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>('key');
  const key = input.value.trim();
  if (!key) return input.focus();
  storeKey(key);
  input.value = '';
  void start();
});
byId('sign-out').addEventListener('click', async () => {
  if (signedIn) await signOutSession().catch(() => undefined);
  signedIn = false;
  forgetKey();
  rollup = undefined;
  showStatus('');
  show('signin');
  byId<HTMLInputElement>('key').focus();
});
orgTab.addEventListener('click', () => show('org'));
byId('budgets-all').addEventListener('click', () => {
  toggleEveryBudget();
  drawOrg();
});
meTab.addEventListener('click', () => show('me'));
for (const select of [rangeSelect, teamSelect, dimensionSelect]) select.addEventListener('change', drawOrg);
wireCsvButtons(document);
wireNewKey(async () => void (await loadMe()));

await loadApiBase();
const sso = await loadSession();
byId('sso').hidden = !sso.enabled;
signedIn = sso.session !== undefined;
await start();
