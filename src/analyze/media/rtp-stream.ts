/**
 * One RTP stream (one SSRC, one direction of one 5-tuple) and its statistics,
 * computed exactly as Wireshark's RTP stream analysis does
 * (ui/tap-rtp-analysis.c rtppacket_analyse, ui/tap-rtp-common.c, and the
 * extended timestamp of epan/dissectors/packet-rtp.c), so that packets, lost,
 * max delta, max and mean jitter equal `tshark -z rtp,streams`. See
 * docs/media.md for the definitions.
 *
 * Memory per stream is O(1) apart from the bounded timeline. Before a stream
 * is accepted (and, for dynamic payload types, until its clock is inferred)
 * up to PENDING packet headers are kept in one typed array and replayed into
 * the analysis, so the first packets are counted exactly once. A candidate
 * (not yet accepted) holds only that buffer; the duplicate window, the
 * timeline and the SR memory are made when they are first needed.
 *
 * Per packet of an accepted stream the work is O(1) and allocation-free; the
 * clock of the current payload type is cached, so the static table is read
 * only when the payload type changes.
 */
import type { ReportRtpStream } from '../../report/schema.js';
import { isoTime, round } from '../../report/build.js';
import { guessDynamicCodec, isDynamic, PT_CN, PT_CN_OLD, snapClockRate, staticPayloadType } from './codecs.js';
import { jitterUs, NO_JITTER, Timeline, type TimelinePoint } from './timeline.js';

/** Consecutive sequence numbers (seq + 1) needed before a candidate becomes a stream. */
export const MIN_RUN = 3;
/** Packets kept before acceptance / clock inference. */
const PENDING = 16;
// Fields of one buffered packet, strided in `pending` (pt and marker share a slot: pt | marker << 7).
const P_TS = 0;
const P_RAW_TS = 1;
const P_SEQ = 2;
const P_PT_MARKER = 3;
const P_BYTES = 4;
const P_FRAME = 5;
const P_FIELDS = 6;
/** Arrival-time span after which a dynamic payload type's clock is inferred. */
const INFER_SPAN_S = 1;
/** Duplicate-detection window (sequence numbers). */
const DUP_WINDOW = 64;
/** G.711 payload bytes sampled for the cleartext/encrypted heuristic. */
const ENTROPY_SAMPLE = 2048;
/** Remembered SR NTP middle words for LSR/DLSR round trips. */
const SR_MEMORY = 4;

/** Arrival intervals shorter than this are bursts, not packet spacing. */
const MIN_GAP_S = 0.002;

const TWO32 = 4294967296;
const TWO31 = 2147483648;

// Wireshark STAT_FLAG_* that exclude a packet from max delta / jitter statistics.
const F_MARKER = 1;
const F_PT_CN = 2;
const F_FOLLOW_PT_CN = 4;

function median(xs: number[]): number {
  xs.sort((a, b) => a - b);
  const m = xs.length >> 1;
  return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
}

/**
 * One RTP packet as the stream analysis takes it: a record the caller fills
 * and reuses for every packet. Handing the stream this record, not seven
 * arguments, keeps the per-packet calls free of allocation (V8 boxes a double
 * argument, such as the arrival time, for a call it does not inline).
 */
export class RtpPacket {
  /** Arrival time, seconds since the epoch. */
  ts = 0;
  seq = 0;
  /** RTP timestamp (32-bit, unsigned). */
  rawTs = 0;
  pt = 0;
  marker = false;
  /** IP total length. */
  ipBytes = 0;
  frame = 0;
}

/** The record buffered packets are replayed through. */
const replayed = new RtpPacket();

export interface StreamEndpoints {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  flowUid: string;
}

export class RtpStream {
  // Fields are declared hot first (small integers, then the doubles, which V8
  // keeps in separate boxes): V8 lays them out in this order, so a packet
  // touches a few adjacent cache lines of each of 600 interleaved streams.
  /**
   * The SSRC as a signed 32-bit integer, compared for every packet: V8 keeps
   * it in the object, where an unsigned value >= 2^31 would be a separate
   * heap number (one more cache line to read).
   */
  readonly ssrcBits: number;
  accepted = false;
  // ---- acceptance / clock inference buffer: PENDING packets × P_FIELDS ----
  private pending: Float64Array | null = new Float64Array(PENDING * P_FIELDS);
  private pendingCount = 0;
  private run = 0;
  /** G.711 payload bytes counted toward the cleartext heuristic. */
  private sampled = 0;

  // ---- Wireshark tap_rtp_stat_t (the doubles follow below) ----
  totalNr = 0;
  private startSeq = 0;
  private stopSeq = 0;
  private seqNum = 0;
  private under = false;
  private curPt = 0;
  /** Payload type whose clock is in clockKhz (-1: none cached). */
  private clockPt = -1;
  /** ⌊clock rate / 1000⌋ of clockPt, Wireshark's integer divisor; 0 = no clock. */
  private clockKhz = 0;
  /** High 32 bits of lastExtTs (packet-rtp.c's `prev & 0xFFFFFFFF00000000`, divided by 2^32). */
  private lastExtTsCycles = 1;
  ipBytes = 0;

  // ---- our own sequence accounting ----
  private lastExtSeq = 0x10000;
  highestExt = -1;
  /**
   * The duplicate window is a table of DUP_WINDOW slots, slot ext % DUP_WINDOW
   * holding the last extended sequence number stored there. It is kept in two
   * parts, so that an in-order packet touches no table: the numbers
   * runStart..highestExt were stored one after the other and are the latest
   * writes (their slots are implied), and `seen` holds the rest. It is written
   * out ("flushed") only when a packet is lost, late or duplicated.
   */
  private runStart = 0;
  private timeline: Timeline | null = null;

  // ---- the per-packet doubles ----
  /** Arrival time of the previous packet, ms since the first. */
  private time = 0;
  private jitter = 0;
  maxJitter = 0;
  meanJitter = 0;
  maxDelta = 0;
  /** Extended RTP timestamp of the previous packet (Wireshark statinfo->timestamp). */
  private lastExtTs = TWO32;
  firstTs = 0;
  lastTs = 0;

  // ---- not touched per packet ----
  private seen: Int32Array | null = null;
  duplicates = 0;
  outOfOrder = 0;
  private seqCycles = 0;
  /** Wireshark's "wrong sequence" count (gaps, late and duplicate packets). */
  sequenceErrors = 0;
  readonly dir: 0 | 1;
  readonly ends: StreamEndpoints;
  private readonly timelineMaxPoints: number;

  /** Payload type of the first packet (the stream's codec). */
  pt = -1;
  clockRate: number | null = null;
  clockRateInferred = false;
  /** Set by the analyzer from flow evidence (DTLS, SRTCP, RTCP) and the payload entropy. */
  srtp: boolean | null = null;
  firstFrame = 0;

  // ---- cleartext heuristic (G.711 only) ----
  private histogram: Uint16Array | null = null;
  /** Shannon entropy (bits/byte) of the sampled G.711 payload, when measured. */
  payloadEntropy: number | null = null;

  // ---- the remote side's view from RTCP report blocks ----
  rtcpReports = 0;
  rtcpFractionLost: number | null = null;
  rtcpCumulativeLost: number | null = null;
  rtcpJitterMs: number | null = null;
  rttMinMs = Infinity;
  rttMaxMs = 0;
  rttSumMs = 0;
  rttSamples = 0;
  /** NTP middle words and capture times of the last SR_MEMORY SRs (made on the first SR). */
  private srNtp: Float64Array | null = null;
  private srTs: Float64Array | null = null;
  private srNext = 0;

  constructor(ssrc: number, dir: 0 | 1, ends: StreamEndpoints, timelineMaxPoints: number) {
    this.ssrcBits = ssrc | 0;
    this.dir = dir;
    this.ends = ends;
    this.timelineMaxPoints = timelineMaxPoints;
  }

  get ssrc(): number {
    return this.ssrcBits >>> 0;
  }

  /**
   * Feed one RTP packet header. Before acceptance the packet is buffered; the
   * stream is accepted after MIN_RUN consecutive sequence numbers and the
   * buffer is replayed. Returns true when this call accepted the stream.
   */
  offer(pkt: RtpPacket): boolean {
    const p = this.pending;
    if (p === null) {
      this.analyse(pkt);
      return false;
    }
    if (this.pendingCount === PENDING) {
      if (this.accepted) {
        this.inferClock();
        this.replay();
        this.analyse(pkt);
        return false;
      }
      this.dropOldest();
    }
    const i = this.pendingCount++;
    const at = i * P_FIELDS;
    if (i > 0 && ((p[at - P_FIELDS + P_SEQ] + 1) & 0xffff) === pkt.seq) this.run++;
    else this.run = 1;
    p[at + P_TS] = pkt.ts;
    p[at + P_RAW_TS] = pkt.rawTs;
    p[at + P_SEQ] = pkt.seq;
    p[at + P_PT_MARKER] = pkt.marker ? pkt.pt | 0x80 : pkt.pt;
    p[at + P_BYTES] = pkt.ipBytes;
    p[at + P_FRAME] = pkt.frame;
    if (!this.accepted) {
      if (this.run < MIN_RUN) return false;
      this.accept(p[P_PT_MARKER] & 0x7f);
      if (!isDynamic(this.pt)) this.replay();
      return true;
    }
    if (pkt.ts - p[P_TS] >= INFER_SPAN_S) {
      this.inferClock();
      this.replay();
    }
    return false;
  }

  private accept(pt: number): void {
    this.accepted = true;
    this.pt = pt;
    const st = staticPayloadType(pt);
    if (st) this.clockRate = st.clockRate;
  }

  /** Count the packet toward the G.711 cleartext heuristic (first ENTROPY_SAMPLE bytes). */
  samplePayload(buf: Uint8Array, off: number, len: number, pt: number): void {
    if (pt !== 0 && pt !== 8) return;
    if (this.sampled >= ENTROPY_SAMPLE) return;
    if (this.histogram === null) this.histogram = new Uint16Array(256);
    const end = Math.min(off + len, off + ENTROPY_SAMPLE - this.sampled);
    for (let i = off; i < end; i++) this.histogram[buf[i]]++;
    this.sampled += end - off;
    if (this.sampled >= ENTROPY_SAMPLE) this.closeEntropy();
  }

  private closeEntropy(): void {
    const h = this.histogram;
    if (h === null || this.sampled === 0) return;
    let e = 0;
    for (let i = 0; i < 256; i++) {
      if (h[i] === 0) continue;
      const q = h[i] / this.sampled;
      e -= q * Math.log2(q);
    }
    this.payloadEntropy = e;
    this.histogram = null;
  }

  private dropOldest(): void {
    this.pending!.copyWithin(0, P_FIELDS);
    this.pendingCount--;
  }

  /**
   * Infer a dynamic payload type's clock from the buffered packets of the
   * stream's payload type: the median RTP-timestamp step between consecutive
   * packets over the median arrival interval, snapped to a standard rate.
   * Medians resist the bursts and late packets that bias a span estimate.
   * No clock when most steps are zero (telephone-event, multi-packet video
   * frames): their timestamps do not advance with arrival time.
   */
  private inferClock(): void {
    if (this.clockRate !== null || !isDynamic(this.pt)) return;
    const p = this.pending!;
    const steps: number[] = [];
    const gaps: number[] = [];
    let pairs = 0;
    for (let i = 1; i < this.pendingCount; i++) {
      const at = i * P_FIELDS;
      const before = at - P_FIELDS;
      if ((p[at + P_PT_MARKER] & 0x7f) !== this.pt || (p[before + P_PT_MARKER] & 0x7f) !== this.pt) continue;
      if (((p[before + P_SEQ] + 1) & 0xffff) !== p[at + P_SEQ]) continue;
      pairs++;
      const step = (p[at + P_RAW_TS] - p[before + P_RAW_TS] + TWO32) % TWO32;
      const gap = p[at + P_TS] - p[before + P_TS];
      if (step === 0 || step >= TWO31) continue;
      steps.push(step);
      if (gap > MIN_GAP_S) gaps.push(gap);
    }
    if (steps.length * 2 < pairs || steps.length < 2 || gaps.length < 2) return;
    const rate = snapClockRate(median(steps) / median(gaps));
    if (rate !== null) {
      this.clockRate = rate;
      this.clockRateInferred = true;
      this.clockPt = -1;
    }
  }

  private replay(): void {
    const p = this.pending!;
    const n = this.pendingCount;
    this.pending = null;
    this.pendingCount = 0;
    for (let at = 0; at < n * P_FIELDS; at += P_FIELDS) {
      const ptMarker = p[at + P_PT_MARKER];
      // `| 0` keeps the integer fields small integers: a double read from the buffer would make
      // V8 box them (here and in every field they are copied to).
      replayed.ts = p[at + P_TS];
      replayed.seq = p[at + P_SEQ] | 0;
      replayed.rawTs = p[at + P_RAW_TS];
      replayed.pt = ptMarker & 0x7f;
      replayed.marker = ptMarker >= 0x80;
      replayed.ipBytes = p[at + P_BYTES] | 0;
      replayed.frame = p[at + P_FRAME];
      this.analyse(replayed);
    }
  }

  /** End of the stream: flush what is still buffered (accepted streams only). */
  finish(): void {
    if (this.pending !== null && this.accepted) {
      this.inferClock();
      this.replay();
    }
    if (this.payloadEntropy === null) this.closeEntropy();
  }

  /** ⌊clock/1000⌋ of a packet's payload type (0: no clock), cached for the last payload type. */
  private clockKhzFor(pt: number): number {
    if (pt === this.clockPt) return this.clockKhz;
    let clock: number;
    if (pt < 96) clock = staticPayloadType(pt)?.clockRate ?? 0;
    // Dynamic: only the stream's own payload type has a (inferred) clock; others
    // (telephone-event, RED, FEC on the same SSRC) are skipped for jitter, as
    // Wireshark does for telephone-event.
    else clock = pt === this.pt && this.clockRate !== null ? this.clockRate : 0;
    this.clockPt = pt;
    // Wireshark divides by the integer clock_rate / 1000 (guint32 arithmetic); every clock is >= 8000.
    this.clockKhz = Math.floor(clock / 1000);
    return this.clockKhz;
  }

  /** rtppacket_analyse, step for step. */
  private analyse(pkt: RtpPacket): void {
    const ts = pkt.ts;
    const seq = pkt.seq;
    const pt = pkt.pt;
    const ipBytes = pkt.ipBytes;
    const prevExtTs = this.lastExtTs;
    const extTs = this.extendTimestamp(pkt.rawTs);
    const extSeq = this.extendSeq(seq);
    this.countSeq(extSeq);
    this.ipBytes += ipBytes;
    this.lastTs = ts;
    const tMs = (ts - this.firstTs) * 1000;

    if (this.totalNr === 0) {
      this.firstTs = ts;
      this.firstFrame = pkt.frame;
      this.startSeq = this.stopSeq = this.seqNum = seq;
      this.time = 0;
      this.curPt = pt;
      this.totalNr = 1;
      this.timeline = new Timeline(ts, extSeq - 1, this.timelineMaxPoints);
      this.timeline.add(pkt, this.clockRate !== null ? 0 : NO_JITTER, this.highestExt);
      return;
    }

    // tshark 4.0 (our CI oracle) has no "timestamp went back" exclusion: a late
    // packet is analysed like any other and becomes the reference for the next
    // one. Wireshark 4.2+ skips such packets (in_time_sequence); docs/media.md.
    let flags = 0;
    if (seq < this.startSeq && !this.under) {
      this.seqCycles++;
      this.under = true;
    } else if (seq === 0 && this.stopSeq === 65535 && !this.under) {
      this.seqCycles++;
      this.under = true;
    } else if (seq > this.startSeq && this.under) {
      this.under = false;
    }

    if (this.seqNum + 1 === seq) {
      this.seqNum = seq;
    } else if (this.seqNum === 65535 && seq === 0) {
      this.seqNum = seq;
    } else if (this.seqNum + 1 < seq || this.seqNum - seq > 0xff00) {
      this.seqNum = seq;
      this.sequenceErrors++;
    } else if (this.seqNum + 1 > seq) {
      this.sequenceErrors++;
    }

    if (pt === PT_CN || pt === PT_CN_OLD) flags |= F_PT_CN;
    if (this.curPt === PT_CN || this.curPt === PT_CN_OLD) flags |= F_FOLLOW_PT_CN;
    this.curPt = pt;

    const clockKhz = this.clockKhzFor(pt);
    let currentJitter = 0;
    if (clockKhz !== 0) {
      const nominalDiff = (extTs - prevExtTs) / clockKhz;
      const expected = this.time + nominalDiff;
      currentJitter = (15 * this.jitter + Math.abs(tMs - expected)) / 16;
      this.jitter = currentJitter;
    }
    const delta = tMs - this.time;

    if (pkt.marker) flags |= F_MARKER;
    if (flags === 0) {
      if (delta > this.maxDelta) this.maxDelta = delta;
      if (clockKhz !== 0) {
        if (this.jitter > this.maxJitter) this.maxJitter = this.jitter;
        this.meanJitter = (this.meanJitter * (this.totalNr - 1) + currentJitter) / this.totalNr;
      }
    }

    this.time = tMs;
    this.stopSeq = seq;
    this.totalNr++;
    this.timeline!.add(pkt, this.clockRate !== null ? jitterUs(this.jitter) : NO_JITTER, this.highestExt);
  }

  /** packet-rtp.c calculate_extended_timestamp. */
  private extendTimestamp(raw: number): number {
    const prev = this.lastExtTs;
    let cycles = this.lastExtTsCycles;
    let ext = cycles * TWO32 + raw;
    if (ext + TWO31 < prev) {
      cycles++;
      ext += TWO32;
    } else if (prev + TWO31 < ext) {
      cycles--;
      ext -= TWO32;
    }
    this.lastExtTsCycles = cycles;
    return (this.lastExtTs = ext);
  }

  /** packet-rtp.c calculate_extended_seqno. */
  private extendSeq(seq: number): number {
    const prev = this.lastExtSeq;
    let ext = (prev - (prev & 0xffff)) + seq;
    if (ext + 0x8000 < prev) ext += 0x10000;
    else if (prev + 0x8000 < ext) ext -= 0x10000;
    this.lastExtSeq = ext;
    return ext;
  }

  /** Duplicates (seen within the last DUP_WINDOW numbers) and out-of-order arrivals. */
  private countSeq(ext: number): void {
    // The next number extends the run: every stored number is <= highestExt, so it is no duplicate.
    if (ext === this.highestExt + 1) this.highestExt = ext;
    else this.countSeqOutOfRun(ext);
  }

  private countSeqOutOfRun(ext: number): void {
    if (ext > this.highestExt) {
      // A gap: the run ends; a new one starts at ext.
      this.flushRun();
      this.runStart = this.highestExt = ext;
      return;
    }
    if (this.storedAt(ext & (DUP_WINDOW - 1), ext) === ext) {
      this.duplicates++;
      return;
    }
    this.flushRun();
    this.seen![ext & (DUP_WINDOW - 1)] = ext;
    this.runStart = this.highestExt + 1; // an empty run, continued by the next number
    this.outOfOrder++;
  }

  /** The number in a slot: from the run's last DUP_WINDOW numbers when one falls there, else from `seen`. */
  private storedAt(slot: number, ext: number): number {
    const from = Math.max(this.runStart, this.highestExt - DUP_WINDOW + 1);
    if (from <= this.highestExt) {
      const inRun = this.highestExt - ((this.highestExt - slot) & (DUP_WINDOW - 1));
      if (inRun >= from) return inRun;
    }
    return this.seen === null ? -1 : this.seen[slot];
  }

  /** Write the run's implied slots into `seen`. */
  private flushRun(): void {
    const from = Math.max(this.runStart, this.highestExt - DUP_WINDOW + 1);
    if (from > this.highestExt) return;
    const seen = (this.seen ??= new Int32Array(DUP_WINDOW).fill(-1));
    for (let e = from; e <= this.highestExt; e++) seen[e & (DUP_WINDOW - 1)] = e;
  }

  /** Wireshark's expected count: last seq + cycles·65536 − first seq + 1. */
  get expected(): number {
    return this.stopSeq + this.seqCycles * 65536 - this.startSeq + 1;
  }

  get lost(): number {
    return this.expected - this.totalNr;
  }

  get lossPct(): number {
    const e = this.expected;
    return e > 0 ? (this.lost * 100) / e : 0;
  }

  get durationS(): number {
    return this.lastTs - this.firstTs;
  }

  get kbps(): number {
    const d = this.durationS;
    return d > 0 ? (this.ipBytes * 8) / 1000 / d : 0;
  }

  get codec(): string | null {
    if (this.pt < 0) return null;
    return staticPayloadType(this.pt)?.name ?? guessDynamicCodec(this.clockRate);
  }

  /** Sender report seen from this stream's sender: remember its NTP middle 32 bits. */
  noteSenderReport(ntpMiddle: number, ts: number): void {
    if (this.srNtp === null) this.srNtp = new Float64Array(SR_MEMORY).fill(-1);
    if (this.srTs === null) this.srTs = new Float64Array(SR_MEMORY);
    this.srNtp[this.srNext] = ntpMiddle;
    this.srTs[this.srNext] = ts;
    this.srNext = (this.srNext + 1) % SR_MEMORY;
  }

  /**
   * A report block about a stream this stream's sender receives (so the
   * block's LSR refers to an SR this stream's sender sent). Returns nothing;
   * the round trip is capture time(RR) − capture time(SR) − DLSR.
   */
  noteRoundTrip(lsr: number, dlsr: number, ts: number): void {
    const srNtp = this.srNtp;
    const srTs = this.srTs;
    if (lsr === 0 || srNtp === null || srTs === null) return;
    for (let i = 0; i < SR_MEMORY; i++) {
      if (srNtp[i] !== lsr) continue;
      const rttMs = (ts - srTs[i] - dlsr / 65536) * 1000;
      if (rttMs < 0) return;
      this.rttSamples++;
      this.rttSumMs += rttMs;
      if (rttMs < this.rttMinMs) this.rttMinMs = rttMs;
      if (rttMs > this.rttMaxMs) this.rttMaxMs = rttMs;
      return;
    }
  }

  /** A report block describing this stream as the receiver saw it. */
  noteReceiverView(fractionLost: number, cumulativeLost: number, jitterUnits: number): void {
    this.rtcpReports++;
    this.rtcpFractionLost = fractionLost / 256;
    this.rtcpCumulativeLost = cumulativeLost;
    this.rtcpJitterMs = this.clockRate ? (jitterUnits * 1000) / this.clockRate : null;
  }

  get ssrcText(): string {
    return `0x${this.ssrc.toString(16).padStart(8, '0')}`;
  }

  timelinePoints(): TimelinePoint[] {
    return this.timeline ? this.timeline.points() : [];
  }

  toReport(): ReportRtpStream {
    const hasClock = this.clockRate !== null;
    return {
      ssrc: this.ssrcText,
      src: { ip: this.ends.srcIp, port: this.ends.srcPort },
      dst: { ip: this.ends.dstIp, port: this.ends.dstPort },
      payloadType: this.pt,
      codec: this.codec,
      clockRate: this.clockRate,
      packets: this.totalNr,
      expected: this.expected,
      lost: this.lost,
      lossPct: round(this.lossPct, 3),
      duplicates: this.duplicates,
      outOfOrder: this.outOfOrder,
      maxDeltaMs: round(this.maxDelta, 3),
      meanJitterMs: hasClock ? round(this.meanJitter, 3) : null,
      maxJitterMs: hasClock ? round(this.maxJitter, 3) : null,
      kbps: round(this.kbps, 3),
      srtp: this.srtp,
      start: isoTime(this.firstTs),
      end: isoTime(this.lastTs),
      clockRateInferred: this.clockRateInferred,
      flow: this.ends.flowUid,
      firstFrame: this.firstFrame,
      timeline: this.timelinePoints(),
      rtcp:
        this.rtcpReports > 0 || this.rttSamples > 0
          ? {
              reports: this.rtcpReports,
              fractionLostPct: this.rtcpFractionLost !== null ? round(this.rtcpFractionLost * 100, 2) : null,
              cumulativeLost: this.rtcpCumulativeLost,
              jitterMs: this.rtcpJitterMs !== null ? round(this.rtcpJitterMs, 3) : null,
              rttMs: this.rttSamples > 0 ? round(this.rttSumMs / this.rttSamples, 3) : null,
            }
          : null,
    };
  }
}
