/**
 * A per-interval timeline of one RTP stream, bounded to maxPoints buckets:
 * when a new bucket would exceed the bound, adjacent pairs are merged and the
 * bucket width doubles (1 s, 2 s, 4 s...). Buckets are allocated per
 * interval, never per packet.
 *
 * The last bucket, where nearly every packet goes, is counted in the
 * stream's row (stream-row.ts: bounds, packets, bytes, highest sequence
 * number, jitter) and written to the arrays when another bucket is touched:
 * a packet then costs two comparisons and four updates of the row the stream
 * analysis has in cache anyway (addToLastBucket). Other buckets (opening one,
 * merging, a reordered packet) take this object's slow path.
 *
 * No call here takes a double argument (the packet's time is read from its
 * record, jitter comes as whole microseconds): when V8 does not inline a
 * call, it boxes each double argument, an allocation per packet.
 */
import {
  addToLastBucket,
  D_FIRST_TS,
  D_TL_BYTES,
  D_TL_JITTER,
  I_TL_END,
  I_TL_HIGHEST,
  I_TL_PACKETS,
  I_TL_START,
  NO_JITTER,
  ROW_F64,
  ROW_I32,
  type StreamColumns,
  type TimelinePacket,
} from './stream-row.js';
import { defineLazy } from '../../report/lazy.js';

export interface TimelinePoint {
  /** Seconds from the stream's first packet to the start of the bucket. */
  t: number;
  packets: number;
  /** Sequence numbers skipped in the bucket (highest extended seq advance − packets). */
  lost: number;
  /** Jitter at the end of the bucket; null when the stream has no clock rate. */
  jitterMs: number | null;
  /** IP bytes × 8 / 1000 / bucket width. */
  kbps: number;
}

/**
 * An empty array whose elements are doubles. A plain [] holds small integers until a double is
 * stored, then changes shape: timelines in both shapes made the code reading them polymorphic,
 * and the first of the second shape deoptimized it (Timeline.addElsewhere, loadLast).
 */
function doubleArray(): number[] {
  const a = [0.5];
  a.pop();
  return a;
}

export class Timeline {
  private width = 1;
  /** Index of the last bucket; -1 before the first packet (its row bounds are then empty). */
  private last = -1;
  private readonly packets: number[] = [];
  /** Doubles from the start, as the last bucket's bytes come back from the row's Float64Array: see doubleArray. */
  private readonly bytes: number[] = doubleArray();
  /** Highest extended sequence number at the end of each bucket. */
  private readonly highest: number[] = [];
  /** Jitter (µs) at the end of each bucket (NO_JITTER = none); the last bucket's entries are stale until flushLast(). */
  private readonly jitter: number[] = doubleArray(); // as bytes: the last bucket's comes back from the row

  constructor(
    /** Columns and row holding the last bucket's counts (the stream's row). */
    private readonly c: StreamColumns,
    private readonly row: number,
    /** Arrival time of the stream's first packet, also the row's D_FIRST_TS. */
    t0: number,
    /** Highest extended sequence number before the first packet (first seq − 1). */
    private readonly baseHighest: number,
    private readonly maxPoints: number,
  ) {
    c.f64[row * ROW_F64 + D_FIRST_TS] = t0;
    c.i32[row * ROW_I32 + I_TL_START] = c.i32[row * ROW_I32 + I_TL_END] = 0;
  }

  add(pkt: TimelinePacket, jitter: number, highestExt: number): void {
    const since = pkt.ts - this.c.f64[this.row * ROW_F64 + D_FIRST_TS];
    if (!addToLastBucket(this.c, this.row, since, pkt.ipBytes, jitter, highestExt)) this.addElsewhere(pkt, jitter, highestExt);
  }

  /** A packet outside the last bucket: open buckets up to its own (merging when full), or count it in an earlier one. */
  addElsewhere(pkt: TimelinePacket, jitter: number, highestExt: number): void {
    this.flushLast();
    const since = pkt.ts - this.c.f64[this.row * ROW_F64 + D_FIRST_TS];
    let i = Math.floor(since / this.width);
    if (i < 0) i = 0; // a reordered capture: count it in the first bucket
    while (i >= this.packets.length) {
      if (this.packets.length >= this.maxPoints) {
        this.halve();
        i = Math.floor(i / 2);
        continue;
      }
      const prev = this.highest.length ? this.highest[this.highest.length - 1] : this.baseHighest;
      this.packets.push(0);
      this.bytes.push(0);
      this.highest.push(prev);
      this.jitter.push(NO_JITTER);
    }
    this.packets[i]++;
    this.bytes[i] += pkt.ipBytes;
    if (highestExt > this.highest[i]) this.highest[i] = highestExt;
    this.jitter[i] = jitter;
    this.loadLast();
  }

  private flushLast(): void {
    const i = this.last;
    if (i < 0) return;
    const ib = this.row * ROW_I32;
    const i32 = this.c.i32;
    this.packets[i] = i32[ib + I_TL_PACKETS];
    this.bytes[i] = this.c.f64[this.row * ROW_F64 + D_TL_BYTES];
    this.highest[i] = i32[ib + I_TL_HIGHEST];
    this.jitter[i] = this.c.f64[this.row * ROW_F64 + D_TL_JITTER];
  }

  private loadLast(): void {
    const i = (this.last = this.packets.length - 1);
    const ib = this.row * ROW_I32;
    const i32 = this.c.i32;
    i32[ib + I_TL_START] = i * this.width;
    i32[ib + I_TL_END] = (i + 1) * this.width;
    i32[ib + I_TL_PACKETS] = this.packets[i];
    this.c.f64[this.row * ROW_F64 + D_TL_BYTES] = this.bytes[i];
    i32[ib + I_TL_HIGHEST] = this.highest[i];
    this.c.f64[this.row * ROW_F64 + D_TL_JITTER] = this.jitter[i];
  }
  private halve(): void {
    const n = this.packets.length;
    const m = Math.ceil(n / 2);
    for (let j = 0; j < m; j++) {
      const a = 2 * j;
      const b = a + 1;
      if (b < n) {
        this.packets[j] = this.packets[a] + this.packets[b];
        this.bytes[j] = this.bytes[a] + this.bytes[b];
        this.highest[j] = Math.max(this.highest[a], this.highest[b]);
        this.jitter[j] = this.jitter[b] === NO_JITTER ? this.jitter[a] : this.jitter[b];
      } else {
        this.packets[j] = this.packets[a];
        this.bytes[j] = this.bytes[a];
        this.highest[j] = this.highest[a];
        this.jitter[j] = this.jitter[a];
      }
    }
    this.packets.length = m;
    this.bytes.length = m;
    this.highest.length = m;
    this.jitter.length = m;
    this.width *= 2;
  }

  /**
   * Mean kbps over the buckets with at least `share` of the busiest bucket's
   * packets, the last (usually partial) bucket left out when there are
   * others; null when no bucket has packets. The same figure as from
   * points(), without making them (calls read it once per stream).
   */
  activeKbps(share: number): number | null {
    this.flushLast();
    const n = this.packets.length > 1 ? this.packets.length - 1 : this.packets.length;
    let peak = 0;
    for (let i = 0; i < n; i++) if (this.packets[i] > peak) peak = this.packets[i];
    if (peak === 0) return null;
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n; i++)
      if (this.packets[i] >= peak * share) {
        sum += this.kbpsAt(i);
        count++;
      }
    return sum / count;
  }

  private kbpsAt(i: number): number {
    return Math.round(((this.bytes[i] * 8) / 1000 / this.width) * 1000) / 1000;
  }

  /**
   * No packet comes after this: the last bucket is copied out of the stream's
   * row, so the timeline no longer reads the row (which may be reused).
   */
  finish(): void {
    this.flushLast();
    this.last = -1;
  }

  points(): TimelinePoint[] {
    this.flushLast();
    const out: TimelinePoint[] = [];
    let prev = this.baseHighest;
    for (let i = 0; i < this.packets.length; i++) {
      const j = this.jitter[i];
      out.push({
        t: i * this.width,
        packets: this.packets[i],
        lost: this.highest[i] - prev - this.packets[i],
        jitterMs: j === NO_JITTER ? null : j / 1000,
        kbps: this.kbpsAt(i),
      });
      prev = this.highest[i];
    }
    return out;
  }
}

/**
 * `report.timeline` made from a finished timeline when first read (defineLazy):
 * the report keeps the timeline's four number arrays instead of one object
 * per point until a renderer or the JSON output reads it.
 */
export function withLazyPoints<R extends { timeline: TimelinePoint[] }>(report: R, timeline: Timeline): R {
  timeline.finish();
  return defineLazy(report, 'timeline', () => timeline.points() as R['timeline']);
}
