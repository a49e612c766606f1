/** Timing helpers for the benchmarks: one timed HTTP exchange, a worker pool, percentiles, a table. */

export interface Timing {
  /** Request sent to the last body byte read, in ms. */
  totalMs: number;
  /** Request sent to the first body byte, in ms. */
  firstByteMs: number;
}

export interface Exchange {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Text the body must end with (e.g. `[DONE]`), so a truncated stream counts as a failure. */
  endsWith?: string;
}

/**
 * One request, timed from the call to the last body byte. Node's fetch (undici) keeps connections
 * alive and reuses them, so after the warm-up no exchange pays for a TCP handshake.
 */
export async function timeExchange(exchange: Exchange): Promise<Timing> {
  const started = performance.now();
  const response = await fetch(exchange.url, {
    method: 'POST',
    headers: exchange.headers,
    body: exchange.body,
  });
  if (!response.body) throw new Error(`${exchange.url} answered ${response.status} without a body`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let firstByte: number | undefined;
  let tail = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (firstByte === undefined && value.byteLength > 0) firstByte = performance.now();
    tail = (tail + decoder.decode(value, { stream: true })).slice(-256);
  }
  const ended = performance.now();
  if (!response.ok) throw new Error(`${exchange.url} answered ${response.status}: ${tail}`);
  if (exchange.endsWith && !tail.trimEnd().endsWith(exchange.endsWith)) {
    throw new Error(`${exchange.url}: the body does not end with ${exchange.endsWith}: …${tail.slice(-80)}`);
  }
  return { totalMs: ended - started, firstByteMs: (firstByte ?? ended) - started };
}

/** Runs `count` calls of `task` with at most `concurrency` in flight; results in completion order. */
export async function runPool<T>(count: number, concurrency: number, task: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      results.push(await task());
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** Calls `task` from `concurrency` workers until `durationMs` has passed; returns completed calls/s. */
export async function runFor(
  durationMs: number,
  concurrency: number,
  task: () => Promise<unknown>,
): Promise<{ completed: number; seconds: number; perSecond: number }> {
  const started = performance.now();
  const deadline = started + durationMs;
  let completed = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      await task();
      completed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { completed, seconds, perSecond: completed / seconds };
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

/** Nearest-rank percentiles. */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: Number.NaN, p90: Number.NaN, p99: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
  return { p50: at(50), p90: at(90), p99: at(99) };
}

export function median(values: number[]): number {
  return percentiles(values).p50;
}

export const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '—');
export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** Prints rows as an aligned text table; the first row is the header. Numbers-looking cells align right. */
export function printTable(title: string, rows: string[][]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  const numeric = /^[-+]?[\d.,]+( ?\S+)?$/;
  const line = (row: string[]) =>
    row
      .map((cell, i) => (numeric.test(cell) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  console.log(`\n${title}`);
  console.log(line(rows[0] ?? []));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));
}
