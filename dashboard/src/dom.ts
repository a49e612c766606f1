/**
 * Small DOM helpers: elements by id, tables that are real tables (captions, scoped headers, numeric
 * columns), CSV of whatever a table shows, and the status line.
 */

export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<'className' | 'textContent' | 'id' | 'title', string>> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

export interface Column<T> {
  label: string;
  value: (row: T) => string;
  /** What the CSV gets, when it differs from what is shown (raw micro-dollars, not `$1.23`). */
  raw?: (row: T) => string | number;
  numeric?: boolean;
}

/** Fills a `<table>`'s head and body; the first column is the row header. An empty table says so. */
export function renderTable<T>(
  table: HTMLTableElement,
  columns: Column<T>[],
  rows: T[],
  empty: string,
): void {
  const head = el('thead', {}, el('tr', {}, ...columns.map((c) => th(c.label, 'col', c.numeric))));
  const body = el('tbody');
  if (rows.length === 0) {
    const cell = el('td', { className: 'empty', textContent: empty });
    cell.colSpan = columns.length;
    body.append(el('tr', {}, cell));
  }
  for (const row of rows) {
    body.append(
      el(
        'tr',
        {},
        ...columns.map((c, i) => {
          if (i === 0) return th(c.value(row), 'row', c.numeric);
          return el('td', { className: c.numeric ? 'num' : '', textContent: c.value(row) });
        }),
      ),
    );
  }
  const caption = table.querySelector('caption');
  table.replaceChildren(...(caption ? [caption] : []), head, body);
  setCsv(table, columns, rows);
}

/** What the table's CSV button downloads: by default the rows shown, or more (all budgets, say). */
export function setCsv<T>(table: HTMLTableElement, columns: Column<T>[], rows: T[]): void {
  csvSources.set(table, () => toCsv(columns, rows));
}

function th(text: string, scope: 'col' | 'row', numeric?: boolean): HTMLTableCellElement {
  const cell = el('th', { className: numeric ? 'num' : '', textContent: text });
  cell.scope = scope;
  return cell;
}

const csvSources = new WeakMap<HTMLTableElement, () => string>();

export function toCsv<T>(columns: Column<T>[], rows: T[]): string {
  const quote = (v: string | number) => {
    const text = String(v);
    return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = [columns.map((c) => quote(c.label)).join(',')];
  for (const row of rows) lines.push(columns.map((c) => quote(c.raw ? c.raw(row) : c.value(row))).join(','));
  return `${lines.join('\n')}\n`;
}

/** Every `button[data-csv=<table id>]` downloads that table as it is shown. */
export function wireCsvButtons(root: ParentNode): void {
  for (const button of root.querySelectorAll<HTMLButtonElement>('button[data-csv]')) {
    button.addEventListener('click', () => {
      const table = document.getElementById(button.dataset.csv ?? '') as HTMLTableElement | null;
      const csv = table ? csvSources.get(table)?.() : undefined;
      if (!csv) return;
      const link = el('a');
      link.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
      link.download = `tollgate-${button.dataset.csv}.csv`;
      link.click();
      URL.revokeObjectURL(link.href);
    });
  }
}

/** The one status line under the header (`role=status`, so screen readers hear it). */
export function showStatus(message: string, kind: 'info' | 'error' = 'info'): void {
  const line = byId<HTMLElement>('status');
  line.textContent = message;
  line.dataset.kind = kind;
  line.hidden = message === '';
}
