/** Unicode block sparklines for per-second series (jitter, loss, kbps). */

const BLOCKS = '▁▂▃▄▅▆▇█';

/**
 * Downsample `values` to at most `width` buckets. A bucket keeps its largest
 * value (a spike must stay visible); a bucket of nulls stays null.
 */
export function downsample(values: ReadonlyArray<number | null>, width: number): Array<number | null> {
  if (width <= 0) return [];
  if (values.length <= width) return values.slice();
  const out: Array<number | null> = [];
  for (let b = 0; b < width; b++) {
    const from = Math.floor((b * values.length) / width);
    const to = Math.floor(((b + 1) * values.length) / width);
    let peak: number | null = null;
    for (let i = from; i < to; i++) {
      const v = values[i];
      if (v !== null && (peak === null || v > peak)) peak = v;
    }
    out.push(peak);
  }
  return out;
}

/**
 * A sparkline of at most `width` characters. Nulls (no data that second) are
 * spaces; the scale runs from 0 to `max` (default: the largest value), so
 * passing a policy limit as `max` makes a full block mean "at the limit".
 */
export function sparkline(values: ReadonlyArray<number | null>, width: number, max?: number): string {
  const points = downsample(values, width);
  let top = max ?? 0;
  if (max === undefined) for (const v of points) if (v !== null && v > top) top = v;
  let out = '';
  for (const v of points) {
    if (v === null || !Number.isFinite(v)) out += ' ';
    else if (v <= 0 || top <= 0) out += BLOCKS[0];
    else out += BLOCKS[Math.min(BLOCKS.length - 1, Math.max(0, Math.ceil((v / top) * BLOCKS.length) - 1))];
  }
  return out;
}
