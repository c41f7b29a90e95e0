/**
 * A per-interval timeline of one RTP stream, bounded to maxPoints buckets:
 * when a new bucket would exceed the bound, adjacent pairs are merged and the
 * bucket width doubles (1 s, 2 s, 4 s...). Buckets are allocated per
 * interval, never per packet.
 *
 * The last bucket, where nearly every packet goes, is counted in fields of
 * this object and written to the arrays when another bucket is touched: a
 * packet then costs two comparisons and four field updates (the arrays of
 * 600 interleaved streams would cost cache misses). Other buckets (opening
 * one, merging, a reordered packet) take the slow path.
 *
 * add() takes no double argument (the packet's time is read from its
 * record, jitter comes as whole microseconds): when V8 does not inline a
 * call, it boxes each double argument, an allocation per packet.
 */

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

/** The fields of a packet the timeline reads. */
export interface TimelinePacket {
  /** Arrival time, seconds since the epoch. */
  readonly ts: number;
  readonly ipBytes: number;
}

/** jitterUs of a packet whose stream has no clock. */
export const NO_JITTER = -1;

/** A jitter in ms as add() takes it: whole µs, the precision of the report. */
export function jitterUs(jitterMs: number): number {
  return Math.round(jitterMs * 1000);
}

export class Timeline {
  private width = 1;
  /** Index of the last bucket; -1 before the first packet. */
  private last = -1;
  /** Seconds from t0 where the last bucket starts and ends (exact: multiples of the power-of-two width). */
  private lastStart = 0;
  private lastEnd = 0;
  /** The last bucket's counts; its array entries are stale until flushLast(). */
  private lastPackets = 0;
  private lastBytes = 0;
  private lastHighest = 0;
  private lastJitter = NO_JITTER;
  private readonly packets: number[] = [];
  private readonly bytes: number[] = [];
  /** Highest extended sequence number at the end of each bucket. */
  private readonly highest: number[] = [];
  /** Jitter (µs) at the end of each bucket (NO_JITTER = none). */
  private readonly jitter: number[] = [];

  constructor(
    private readonly t0: number,
    /** Highest extended sequence number before the first packet (first seq − 1). */
    private readonly baseHighest: number,
    private readonly maxPoints: number,
  ) {}

  add(pkt: TimelinePacket, jitter: number, highestExt: number): void {
    const since = pkt.ts - this.t0;
    const ipBytes = pkt.ipBytes;
    // Same as ⌊since / width⌋ === last, without the division.
    if (since >= this.lastStart && since < this.lastEnd) {
      this.lastPackets++;
      this.lastBytes += ipBytes;
      if (highestExt > this.lastHighest) this.lastHighest = highestExt;
      this.lastJitter = jitter;
      return;
    }
    this.addElsewhere(since, ipBytes, jitter, highestExt);
  }

  /** A packet outside the last bucket: open buckets up to its own (merging when full), or count it in an earlier one. */
  private addElsewhere(since: number, ipBytes: number, jitter: number, highestExt: number): void {
    this.flushLast();
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
    this.bytes[i] += ipBytes;
    if (highestExt > this.highest[i]) this.highest[i] = highestExt;
    this.jitter[i] = jitter;
    this.loadLast();
  }

  private flushLast(): void {
    const i = this.last;
    if (i < 0) return;
    this.packets[i] = this.lastPackets;
    this.bytes[i] = this.lastBytes;
    this.highest[i] = this.lastHighest;
    this.jitter[i] = this.lastJitter;
  }

  private loadLast(): void {
    const i = (this.last = this.packets.length - 1);
    this.lastStart = i * this.width;
    this.lastEnd = (i + 1) * this.width;
    this.lastPackets = this.packets[i];
    this.lastBytes = this.bytes[i];
    this.lastHighest = this.highest[i];
    this.lastJitter = this.jitter[i];
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
        kbps: Math.round(((this.bytes[i] * 8) / 1000 / this.width) * 1000) / 1000,
      });
      prev = this.highest[i];
    }
    return out;
  }
}
