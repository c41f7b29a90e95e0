/**
 * Small static SVG charts for the HTML report: per-second series with axes and
 * an optional policy limit line. Output is markup; every label goes through
 * escapeHtml, and the numbers are ours.
 */
import { escapeHtml } from './sanitize.js';

export interface ChartSeries {
  label: string;
  values: ReadonlyArray<number | null>;
  /** A CSS colour. */
  color: string;
}

export interface ChartOptions {
  title: string;
  unit: string;
  kind: 'line' | 'bar';
  series: ChartSeries[];
  /** A policy limit drawn as a dashed line, e.g. { value: 10, label: 'limit 10 ms' }. */
  limit?: { value: number; label: string };
  width?: number;
  height?: number;
}

const MARGIN = { top: 22, right: 12, bottom: 24, left: 44 };

/** The smallest 1/2/5 × 10^k at or above `v` (at least 1), so ticks are round. */
export function niceCeiling(v: number): number {
  if (!(v > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 5, 10]) if (step * power >= v) return step * power;
  return 10 * power;
}

const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/**
 * Path data for one series; a null breaks the line so gaps in the media stay visible.
 * `x(i)`/`y(v)` map a sample to pixels.
 */
export function linePath(values: ReadonlyArray<number | null>, x: (i: number) => number, y: (v: number) => number): string {
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)} ${y(v).toFixed(1)}`;
    pen = true;
  });
  return d;
}

export function chart(opts: ChartOptions): string {
  const width = opts.width ?? 360;
  const height = opts.height ?? 150;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const n = Math.max(1, ...opts.series.map((s) => s.values.length));
  let peak = opts.limit?.value ?? 0;
  for (const s of opts.series) for (const v of s.values) if (v !== null && Number.isFinite(v) && v > peak) peak = v;
  const top = niceCeiling(peak * 1.1);
  const x = (i: number) => MARGIN.left + (n === 1 ? plotW / 2 : (i * plotW) / (n - 1));
  const y = (v: number) => MARGIN.top + plotH - (Math.min(v, top) / top) * plotH;
  const bottom = MARGIN.top + plotH;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(opts.title)}">`,
    `<text class="chart-title" x="${MARGIN.left}" y="14">${escapeHtml(opts.title)} (${escapeHtml(opts.unit)})</text>`,
  );
  // Axes and ticks: y at 0, half and top; x at 0, half and the last second.
  for (const v of [0, top / 2, top]) {
    parts.push(
      `<line class="grid" x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`,
      `<text class="tick" x="${MARGIN.left - 4}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${num(v)}</text>`,
    );
  }
  for (const i of [...new Set([0, Math.floor((n - 1) / 2), n - 1])]) {
    parts.push(`<text class="tick" x="${x(i).toFixed(1)}" y="${bottom + 14}" text-anchor="middle">${i}s</text>`);
  }
  parts.push(
    `<line class="axis" x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${bottom}"/>`,
    `<line class="axis" x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${bottom}" y2="${bottom}"/>`,
  );

  if (opts.kind === 'line') {
    for (const s of opts.series) {
      const d = linePath(s.values, x, y);
      if (d) parts.push(`<path class="series" d="${d}" fill="none" stroke="${escapeHtml(s.color)}" stroke-width="1.5"><title>${escapeHtml(s.label)}</title></path>`);
    }
  } else {
    const slot = plotW / n;
    const barW = Math.max(1, (slot * 0.8) / opts.series.length);
    opts.series.forEach((s, k) => {
      const bars: string[] = [];
      s.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v) || v <= 0) return;
        const left = MARGIN.left + i * slot + slot * 0.1 + k * barW;
        bars.push(`M${left.toFixed(1)} ${bottom}V${y(v).toFixed(1)}h${barW.toFixed(1)}V${bottom}Z`);
      });
      // One path per series keeps the markup small for long calls.
      parts.push(`<path class="series bars" d="${bars.join('') || `M${MARGIN.left} ${bottom}h0`}" fill="${escapeHtml(s.color)}"><title>${escapeHtml(s.label)}</title></path>`);
    });
  }

  if (opts.limit) {
    const ly = y(opts.limit.value).toFixed(1);
    parts.push(
      `<line class="limit" x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${ly}" y2="${ly}" stroke-dasharray="4 3"/>`,
      `<text class="limit-label" x="${width - MARGIN.right}" y="${(Number(ly) - 3).toFixed(1)}" text-anchor="end">${escapeHtml(opts.limit.label)}</text>`,
    );
  }
  let legendX = width - MARGIN.right;
  const legend: string[] = [];
  for (const s of [...opts.series].reverse()) {
    const label = escapeHtml(s.label);
    legendX -= label.length * 6 + 16;
    legend.push(`<rect x="${legendX}" y="6" width="10" height="10" fill="${escapeHtml(s.color)}"/><text class="legend" x="${legendX + 13}" y="15">${label}</text>`);
  }
  parts.push(...legend, '</svg>');
  return parts.join('');
}
