/**
 * Charts, with Chart.js bundled into main.js (nothing is fetched at run time). Only the parts used are
 * registered, which keeps the bundle small. Every chart has a table beside it with the same numbers,
 * so nothing is only in a picture.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(
  BarController,
  BarElement,
  LineController,
  LineElement,
  PointElement,
  CategoryScale,
  LinearScale,
  Legend,
  Tooltip,
);

/** A palette that stays apart for the colour-blind (Okabe–Ito), then greys. */
const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
const colour = (i: number) => COLOURS[i] ?? `hsl(0 0% ${30 + ((i * 9) % 50)}%)`;

const charts = new WeakMap<HTMLCanvasElement, Chart>();

export interface Series {
  label: string;
  values: number[];
}

function draw(
  canvas: HTMLCanvasElement,
  type: 'bar' | 'line',
  labels: string[],
  series: Series[],
  unit: (v: number) => string,
) {
  charts.get(canvas)?.destroy();
  const chart = new Chart(canvas, {
    type,
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.values,
        backgroundColor: colour(i),
        borderColor: colour(i),
        borderWidth: type === 'line' ? 2 : 0,
        pointRadius: type === 'line' ? 2 : 0,
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { stacked: type === 'bar', ticks: { maxRotation: 0, autoSkip: true } },
        y: { stacked: type === 'bar', beginAtZero: true, ticks: { callback: (v) => unit(Number(v)) } },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${unit(Number(item.raw))}` } },
      },
    },
  });
  charts.set(canvas, chart);
}

export function stackedBars(
  canvas: HTMLCanvasElement,
  labels: string[],
  series: Series[],
  unit: (v: number) => string,
): void {
  draw(canvas, 'bar', labels, series, unit);
}

export function lines(
  canvas: HTMLCanvasElement,
  labels: string[],
  series: Series[],
  unit: (v: number) => string,
): void {
  draw(canvas, 'line', labels, series, unit);
}

/**
 * Rows of (x, series, value) into one labelled series per name, the largest first, the rest summed
 * into "other" past `keep` — a chart of forty lines says nothing.
 */
export function pivot<T>(
  rows: T[],
  x: (r: T) => string,
  name: (r: T) => string,
  value: (r: T) => number,
  keep = 7,
) {
  const labels = [...new Set(rows.map(x))].sort();
  const totals = new Map<string, number>();
  for (const r of rows) totals.set(name(r), (totals.get(name(r)) ?? 0) + value(r));
  const names = [...totals.keys()].sort((a, b) => (totals.get(b) ?? 0) - (totals.get(a) ?? 0));
  const kept = names.slice(0, keep);
  const index = new Map(labels.map((l, i) => [l, i]));
  const series: Series[] = kept.map((label) => ({ label, values: labels.map(() => 0) }));
  const other: Series = { label: 'other', values: labels.map(() => 0) };
  for (const r of rows) {
    const target = series.find((s) => s.label === name(r)) ?? other;
    const i = index.get(x(r)) ?? 0;
    target.values[i] = (target.values[i] ?? 0) + value(r);
  }
  return { labels, series: names.length > keep ? [...series, other] : series };
}
