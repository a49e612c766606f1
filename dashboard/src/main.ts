import type { CostByUserRow as CostRow } from '../../functions/core/analytics/queries.ts';
import { formatCount, formatMicros, utcDay } from './format.ts';

// sessionStorage, not localStorage: the admin key leaves with the tab.
const KEY_STORAGE = 'tollgate.adminKey';

const byId = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
};

const keyForm = byId<HTMLFormElement>('key-form');
const keyInput = byId<HTMLInputElement>('admin-key');
const keyState = byId<HTMLElement>('key-state');
const forgetButton = byId<HTMLButtonElement>('forget-key');
const dateInput = byId<HTMLInputElement>('report-date');
const statusLine = byId<HTMLElement>('status');
const report = byId<HTMLElement>('report');
const caption = byId<HTMLElement>('report-caption');
const tbody = byId<HTMLTableSectionElement>('report-rows');
const totals = byId<HTMLTableSectionElement>('report-totals');

let apiBase = '';
let inFlight: AbortController | undefined;

async function loadApiBase(): Promise<string> {
  try {
    const response = await fetch('./config.json', { cache: 'no-store' });
    if (!response.ok) return '';
    const config = (await response.json()) as { adminApiUrl?: unknown };
    return typeof config.adminApiUrl === 'string' ? config.adminApiUrl.replace(/\/+$/, '') : '';
  } catch {
    return ''; // No config: the admin API is on this origin.
  }
}

function storedKey(): string {
  return sessionStorage.getItem(KEY_STORAGE) ?? '';
}

function showKeyState(): void {
  const hasKey = storedKey() !== '';
  keyState.textContent = hasKey ? 'A key is set for this tab.' : 'No key set.';
  forgetButton.hidden = !hasKey;
}

function showStatus(message: string, kind: 'info' | 'error' = 'info'): void {
  statusLine.textContent = message;
  statusLine.dataset.kind = kind;
  statusLine.hidden = message === '';
}

async function loadReport(): Promise<void> {
  const day = dateInput.value;
  const key = storedKey();
  inFlight?.abort();
  report.hidden = true;
  if (!key || !day) {
    showStatus(key ? 'Pick a day.' : 'Enter an admin key to see the report.');
    return;
  }

  const controller = new AbortController();
  inFlight = controller;
  report.setAttribute('aria-busy', 'true');
  showStatus(`Loading cost by user for ${day}…`);
  try {
    const response = await fetch(`${apiBase}/api/reports/cost-by-user?date=${encodeURIComponent(day)}`, {
      headers: { authorization: `Bearer ${key}` },
      signal: controller.signal,
    });
    if (response.status === 401) {
      sessionStorage.removeItem(KEY_STORAGE);
      showKeyState();
      showStatus('Key not accepted. Check the admin key and enter it again.', 'error');
      keyInput.focus();
      return;
    }
    if (!response.ok) {
      const denied = response.status === 403;
      showStatus(
        denied ? 'This key may not read reports.' : `Could not load the report (HTTP ${response.status}).`,
        'error',
      );
      return;
    }
    const body = (await response.json()) as { rows?: CostRow[] };
    renderRows(day, body.rows ?? []);
  } catch (error) {
    if (controller.signal.aborted) return;
    showStatus(`Could not reach the admin API${apiBase ? ` at ${apiBase}` : ''}.`, 'error');
    console.error(error);
  } finally {
    if (inFlight === controller) report.removeAttribute('aria-busy');
  }
}

function renderRows(day: string, rows: CostRow[]): void {
  if (rows.length === 0) {
    showStatus(`No usage recorded on ${day} (UTC).`);
    return;
  }
  caption.textContent = `Cost by user on ${day} (UTC)`;
  tbody.replaceChildren(
    ...rows.map((row) =>
      tableRow([
        { text: row.user_id, header: true },
        { text: row.team_id ?? '—', muted: row.team_id === null },
        { text: formatMicros(row.cost_micros, { fixed: true }), numeric: true },
        { text: formatCount(row.requests), numeric: true },
        { text: formatCount(row.input_tokens), numeric: true },
        { text: formatCount(row.output_tokens), numeric: true },
      ]),
    ),
  );
  const sum = (pick: (row: CostRow) => number) => rows.reduce((total, row) => total + BigInt(pick(row)), 0n);
  totals.replaceChildren(
    tableRow([
      { text: 'Total', header: true },
      { text: '' },
      {
        text: formatMicros(
          sum((r) => r.cost_micros),
          { fixed: true },
        ),
        numeric: true,
      },
      { text: formatCount(sum((r) => r.requests)), numeric: true },
      { text: formatCount(sum((r) => r.input_tokens)), numeric: true },
      { text: formatCount(sum((r) => r.output_tokens)), numeric: true },
    ]),
  );
  showStatus('');
  report.hidden = false;
}

interface Cell {
  text: string;
  header?: boolean;
  numeric?: boolean;
  muted?: boolean;
}

function tableRow(cells: Cell[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement(cell.header ? 'th' : 'td');
    if (cell.header) td.scope = 'row';
    td.textContent = cell.text;
    if (cell.numeric) td.className = 'num';
    if (cell.muted) td.classList.add('muted');
    tr.append(td);
  }
  return tr;
}

keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) {
    keyInput.focus();
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  keyInput.value = '';
  showKeyState();
  void loadReport();
});

forgetButton.addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORAGE);
  showKeyState();
  keyInput.focus();
  void loadReport();
});

dateInput.addEventListener('change', () => void loadReport());

async function start(): Promise<void> {
  dateInput.value = utcDay(new Date());
  showKeyState();
  apiBase = await loadApiBase();
  await loadReport();
}

void start();
