import { describe, expect, it } from 'vitest';
import { jitterUs, NO_JITTER, StreamColumns } from './stream-row.js';
import { Timeline, withLazyPoints, type TimelinePoint } from './timeline.js';

interface Sample {
  ts: number;
  bytes: number;
  jitter: number;
  highest: number;
}

/** The timeline's definition written plainly: every packet goes straight into its bucket's arrays. */
function reference(t0: number, baseHighest: number, maxPoints: number, samples: Sample[]): TimelinePoint[] {
  let width = 1;
  let packets: number[] = [];
  let bytes: number[] = [];
  let highest: number[] = [];
  let jitter: number[] = [];
  for (const s of samples) {
    let i = Math.max(0, Math.floor((s.ts - t0) / width));
    while (i >= packets.length) {
      if (packets.length >= maxPoints) {
        const pair = (xs: number[], f: (a: number, b: number) => number) =>
          Array.from({ length: Math.ceil(xs.length / 2) }, (_, j) => (2 * j + 1 < xs.length ? f(xs[2 * j], xs[2 * j + 1]) : xs[2 * j]));
        packets = pair(packets, (a, b) => a + b);
        bytes = pair(bytes, (a, b) => a + b);
        highest = pair(highest, Math.max);
        jitter = pair(jitter, (a, b) => (Number.isNaN(b) ? a : b));
        width *= 2;
        i = Math.floor(i / 2);
        continue;
      }
      highest.push(highest.length ? highest[highest.length - 1] : baseHighest);
      packets.push(0);
      bytes.push(0);
      jitter.push(NaN);
    }
    packets[i]++;
    bytes[i] += s.bytes;
    highest[i] = Math.max(highest[i], s.highest);
    jitter[i] = s.jitter;
  }
  let prev = baseHighest;
  return packets.map((n, i) => {
    const p = {
      t: i * width,
      packets: n,
      lost: highest[i] - prev - n,
      jitterMs: Number.isNaN(jitter[i]) ? null : Math.round(jitter[i] * 1000) / 1000,
      kbps: Math.round(((bytes[i] * 8) / 1000 / width) * 1000) / 1000,
    };
    prev = highest[i];
    return p;
  });
}

/** A deterministic pseudo-random stream: 20 ms spacing with jitter, gaps, late packets and a few far-late ones. */
function samples(seed: number, count: number, t0: number): Sample[] {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out: Sample[] = [];
  let ts = t0;
  let seq = 100;
  for (let i = 0; i < count; i++) {
    const r = rnd();
    ts += r < 0.02 ? 1 + rnd() * 3 : 0.02 + (rnd() - 0.5) * 0.01; // occasional silence of 1–4 s
    seq += r > 0.97 ? 2 : 1;
    const late = rnd() < 0.03 ? 0.5 + rnd() * 2 : 0; // reordered capture: back into an earlier bucket
    out.push({ ts: ts - late, bytes: 160 + Math.floor(rnd() * 40), jitter: i % 5 === 0 ? NaN : rnd() * 30, highest: seq - (late ? 3 : 0) });
  }
  return out;
}

describe('Timeline', () => {
  it('equals the plain per-bucket definition, with reordered packets, silences and merges', () => {
    for (const [seed, maxPoints] of [
      [1, 600],
      [2, 8],
      [3, 3],
      [4, 1],
    ]) {
      const t0 = 1_700_000_000.123;
      const list = samples(seed, 3000, t0);
      const cols = new StreamColumns();
      const tl = new Timeline(cols, cols.take(), t0, 99, maxPoints);
      for (const s of list) tl.add({ ts: s.ts, ipBytes: s.bytes }, Number.isNaN(s.jitter) ? NO_JITTER : jitterUs(s.jitter), s.highest);
      const expected = reference(t0, 99, maxPoints, list);
      expect(tl.points()).toEqual(expected);
      expect(tl.points()).toEqual(expected); // reading twice changes nothing
      expect(expected.length).toBeLessThanOrEqual(maxPoints);
    }
  });

  it('gives the active-bucket kbps of its points without making them', () => {
    // The figure as calls worked it out from points() before.
    const fromPoints = (points: TimelinePoint[], share: number): number | null => {
      const full = points.length > 1 ? points.slice(0, -1) : points;
      const peak = Math.max(0, ...full.map((p) => p.packets));
      if (peak === 0) return null;
      const active = full.filter((p) => p.packets >= peak * share);
      return active.reduce((sum, p) => sum + p.kbps, 0) / active.length;
    };
    for (const [seed, maxPoints] of [
      [5, 600],
      [6, 8],
      [7, 1],
    ]) {
      const t0 = 1_700_000_000.5;
      const cols = new StreamColumns();
      const tl = new Timeline(cols, cols.take(), t0, 99, maxPoints);
      for (const s of samples(seed, 2000, t0)) tl.add({ ts: s.ts, ipBytes: s.bytes }, NO_JITTER, s.highest);
      for (const share of [0, 0.5, 0.9]) expect(tl.activeKbps(share)).toBe(fromPoints(tl.points(), share));
    }
    const empty = new StreamColumns();
    expect(new Timeline(empty, empty.take(), 0, 0, 10).activeKbps(0.5)).toBeNull();
  });

  it('gives a report its points when first read, from a finished timeline whose row was reused since', () => {
    const t0 = 1_700_000_000.25;
    const list = samples(8, 1500, t0);
    const cols = new StreamColumns();
    const row = cols.take();
    const tl = new Timeline(cols, row, t0, 99, 600);
    for (const s of list) tl.add({ ts: s.ts, ipBytes: s.bytes }, Number.isNaN(s.jitter) ? NO_JITTER : jitterUs(s.jitter), s.highest);
    const expected = reference(t0, 99, 600, list);
    const report = withLazyPoints({ ssrc: 'x', timeline: [] as TimelinePoint[], after: 1 }, tl);
    cols.release(row);
    const other = new Timeline(cols, cols.take(), t0, 5000, 600); // the same row, overwritten
    other.add({ ts: t0 + 3, ipBytes: 999 }, 1, 5001);
    expect(Object.keys(report)).toEqual(['ssrc', 'timeline', 'after']);
    expect(report.timeline).toEqual(expected);
    expect(report.timeline).toBe(report.timeline);
    expect(JSON.parse(JSON.stringify(report)).timeline).toEqual(expected);
    expect(tl.activeKbps(0.5)).not.toBeNull(); // finished: still answers from its arrays
    report.timeline = [];
    expect(report.timeline).toEqual([]);
  });

  it('puts a packet on a bucket boundary in the later bucket and one before t0 in the first', () => {
    const cols = new StreamColumns();
    const tl = new Timeline(cols, cols.take(), 10, 0, 600);
    tl.add({ ts: 10, ipBytes: 100 }, 1000, 1);
    tl.add({ ts: 10.999, ipBytes: 100 }, 2000, 2);
    tl.add({ ts: 11, ipBytes: 100 }, 3000, 3);
    tl.add({ ts: 9.5, ipBytes: 100 }, 4000, 4);
    expect(tl.points().map((p) => [p.t, p.packets, p.jitterMs])).toEqual([
      [0, 3, 4],
      [1, 1, 3],
    ]);
  });
});
