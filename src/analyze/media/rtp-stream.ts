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
 * Per packet of an accepted stream the work is O(1) and allocation-free, and
 * it reads and writes only the stream's row of the shared StreamColumns
 * (analyseRow in stream-row.ts, which the media analyzer calls with the row
 * it cached for the flow direction): this object is read only on rare events
 * (the first packet, a gap, a late or duplicate packet, a new timeline bucket).
 */
import type { ReportRtpStream } from '../../report/schema.js';
import { isoTime, round } from '../../report/build.js';
import { guessDynamicCodec, isDynamic, snapClockRate, staticPayloadType } from './codecs.js';
import { Timeline, withLazyPoints } from './timeline.js';
import {
  analyseRow,
  CLOCK_SHIFT,
  D_FIRST_TS,
  D_IP_BYTES,
  D_LAST_TS,
  D_MAX_DELTA,
  D_MAX_JITTER,
  D_MEAN_JITTER,
  I_DUPLICATES,
  I_CUR_PT,
  I_HIGHEST,
  I_OUT_OF_ORDER,
  I_RUN_START,
  I_SEQ_CYCLES,
  I_SEQ_ERRORS,
  I_SEQ_NUM,
  I_START_SEQ,
  I_STOP_SEQ,
  I_STREAM,
  I_TOTAL,
  I_TS_CYCLES,
  I_EXT_SEQ,
  NO_JITTER,
  ROW_F64,
  ROW_I32,
  RtpPacket,
  SAMPLING,
  type RowOwner,
  type StreamColumns,
} from './stream-row.js';

/** Consecutive sequence numbers (seq + 1) needed before a candidate becomes a stream. */
export const MIN_RUN = 3;
/** RtpStream.offer(): the packet was buffered (and may have been replayed with the buffer). */
export const OFFER_BUFFERED = -1;
/** RtpStream.offer(): this packet made the stream accepted (it was buffered). */
export const OFFER_ACCEPTED = -2;
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

function median(xs: number[]): number {
  xs.sort((a, b) => a - b);
  const m = xs.length >> 1;
  return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
}

/** Where samplePayload() clears a candidate's SAMPLING bit (it has no row yet; accept() sets the bit). */
const candidateWord = new Int32Array(1);
const NOT_SAMPLING = ~SAMPLING;

/** The record buffered packets are replayed through. */
const replayed = new RtpPacket();

export interface StreamEndpoints {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  flowUid: string;
}

export type StreamTable = StreamColumns<RtpStream>;

export class RtpStream implements RowOwner {
  /**
   * The SSRC as a signed 32-bit integer: V8 keeps it in the object, where an
   * unsigned value >= 2^31 would be a separate heap number.
   */
  readonly ssrcBits: number;
  accepted = false;
  /** The stream's row in the columns, taken on acceptance (-1 before, and after release()). */
  row = -1;
  // ---- acceptance / clock inference buffer: PENDING packets × P_FIELDS ----
  private pending: Float64Array | null = new Float64Array(PENDING * P_FIELDS);
  private pendingCount = 0;
  private run = 0;
  /** G.711 payload bytes counted toward the cleartext heuristic. */
  private sampled = 0;
  private timeline: Timeline | null = null;
  /** The duplicate window's stored numbers (see countSeqOutOfRun), made on the first packet out of order. */
  private seen: Int32Array | null = null;
  readonly dir: 0 | 1;
  readonly ends: StreamEndpoints;
  private readonly timelineMaxPoints: number;
  private readonly c: StreamTable;

  /** Payload type of the first packet (the stream's codec). */
  pt = -1;
  clockRate: number | null = null;
  clockRateInferred = false;
  /** Set by the analyzer from flow evidence (DTLS, SRTCP, RTCP) and the payload entropy. */
  srtp: boolean | null = null;
  firstFrame = 0;

  // ---- cleartext heuristic (G.711 only) ----
  private histogram: Uint16Array | null = null;
  /** Shannon entropy (bits/byte) of the sampled G.711 payload, when measured (by finish()). */
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

  constructor(c: StreamTable, ssrc: number, dir: 0 | 1, ends: StreamEndpoints, timelineMaxPoints: number) {
    this.c = c;
    this.ssrcBits = ssrc | 0;
    this.dir = dir;
    this.ends = ends;
    this.timelineMaxPoints = timelineMaxPoints;
  }

  get ssrc(): number {
    return this.ssrcBits >>> 0;
  }

  /** The row when packets may go straight to analyseRow (accepted, nothing buffered), else -1. */
  get directRow(): number {
    return this.pending === null ? this.row : -1;
  }

  /** An int32 word of the row (0 without a row). */
  private word(k: number): number {
    return this.row < 0 ? 0 : this.c.i32[this.row * ROW_I32 + k];
  }

  /** A float64 word of the row (0 without a row). */
  private double(k: number): number {
    return this.row < 0 ? 0 : this.c.f64[this.row * ROW_F64 + k];
  }

  /** Packets analysed (Wireshark total_nr). */
  get totalNr(): number {
    return this.word(I_TOTAL);
  }
  get ipBytes(): number {
    return this.double(D_IP_BYTES);
  }
  get maxJitter(): number {
    return this.double(D_MAX_JITTER);
  }
  get meanJitter(): number {
    return this.double(D_MEAN_JITTER);
  }
  get maxDelta(): number {
    return this.double(D_MAX_DELTA);
  }
  get firstTs(): number {
    return this.double(D_FIRST_TS);
  }
  get lastTs(): number {
    return this.double(D_LAST_TS);
  }
  get duplicates(): number {
    return this.word(I_DUPLICATES);
  }
  get outOfOrder(): number {
    return this.word(I_OUT_OF_ORDER);
  }
  /** Wireshark's "wrong sequence" count (gaps, late and duplicate packets). */
  get sequenceErrors(): number {
    return this.word(I_SEQ_ERRORS);
  }

  /** Give the row back (the stream is dropped). */
  release(): void {
    if (this.row < 0) return;
    this.c.release(this.row);
    this.row = -1;
  }

  /**
   * Feed one RTP packet header. Before acceptance the packet is buffered; the
   * stream is accepted after MIN_RUN consecutive sequence numbers and the
   * buffer is replayed. Returns the row the caller is to analyse the packet on
   * (analyseRow) once nothing is buffered, OFFER_ACCEPTED when this call
   * accepted the stream, else OFFER_BUFFERED.
   */
  offer(pkt: RtpPacket): number {
    const p = this.pending;
    if (p === null) return this.row;
    if (this.pendingCount === PENDING) {
      if (this.accepted) {
        this.inferClock();
        this.replay();
        return this.row;
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
      if (this.run < MIN_RUN) return OFFER_BUFFERED;
      this.accept(p[P_PT_MARKER] & 0x7f);
      if (!isDynamic(this.pt)) this.replay();
      return OFFER_ACCEPTED;
    }
    if (pkt.ts - p[P_TS] >= INFER_SPAN_S) {
      this.inferClock();
      this.replay();
    }
    return OFFER_BUFFERED;
  }

  private accept(pt: number): void {
    this.accepted = true;
    this.pt = pt;
    const row = (this.row = this.c.take(this));
    const i32 = this.c.i32;
    const ib = row * ROW_I32;
    // The "previous" extended timestamp and sequence number before the first packet (packet-rtp.c).
    i32[ib + I_TS_CYCLES] = 1;
    i32[ib + I_EXT_SEQ] = 0x10000;
    i32[ib + I_HIGHEST] = -1;
    i32[ib + I_STREAM] = pt | (this.sampled < ENTROPY_SAMPLE ? SAMPLING : 0);
    const st = staticPayloadType(pt);
    if (st) this.setClock(st.clockRate);
  }

  private setClock(rate: number): void {
    this.clockRate = rate;
    // Wireshark divides by the integer clock_rate / 1000 (guint32 arithmetic); every clock is >= 8000.
    this.c.i32[this.row * ROW_I32 + I_STREAM] |= Math.floor(rate / 1000) << CLOCK_SHIFT;
  }

  /** Count the packet toward the G.711 cleartext heuristic (first ENTROPY_SAMPLE bytes). */
  samplePayload(buf: Uint8Array, off: number, len: number, pt: number): void {
    if (pt !== 0 && pt !== 8) return;
    if (this.sampled >= ENTROPY_SAMPLE) return;
    if (this.histogram === null) this.histogram = new Uint16Array(256);
    const end = Math.min(off + len, off + ENTROPY_SAMPLE - this.sampled);
    for (let i = off; i < end; i++) this.histogram[buf[i]]++;
    this.sampled += end - off;
    // Sampled enough: an accepted stream's packets go straight to its row from now on. The same store
    // for every sampled packet, a candidate's (no row yet) into a scratch word, and the entropy at
    // finish(): code first run once a stream is accepted or has its sample, which is after V8 compiled
    // this (the first packets of every stream are candidates'), deoptimized the media analyzer's RTP path.
    const hasRow = this.row >= 0;
    const rowWords = this.c.i32;
    const rowAt = this.row * ROW_I32 + I_STREAM;
    const words = hasRow ? rowWords : candidateWord;
    words[hasRow ? rowAt : 0] &= this.sampled >= ENTROPY_SAMPLE ? NOT_SAMPLING : -1;
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
      this.setClock(rate);
      this.clockRateInferred = true;
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
      analyseRow(this.c, this.row, replayed);
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

  /** The first packet analysed (RowOwner). */
  begin(pkt: RtpPacket, extSeq: number): void {
    const i32 = this.c.i32;
    const ib = this.row * ROW_I32;
    this.c.f64[this.row * ROW_F64 + D_FIRST_TS] = pkt.ts;
    this.firstFrame = pkt.frame;
    i32[ib + I_START_SEQ] = i32[ib + I_STOP_SEQ] = i32[ib + I_SEQ_NUM] = pkt.seq;
    i32[ib + I_CUR_PT] = pkt.pt;
    i32[ib + I_TOTAL] = 1;
    // analyseRow counts the packet into it next.
    this.timeline = new Timeline(this.c, this.row, pkt.ts, extSeq - 1, this.timelineMaxPoints);
  }

  timelineElsewhere(pkt: RtpPacket, jitter: number, highestExt: number): void {
    this.timeline!.addElsewhere(pkt, jitter, highestExt);
  }

  /**
   * Duplicates (seen within the last DUP_WINDOW numbers) and out-of-order
   * arrivals, for a number that does not extend the run (RowOwner). The window is a
   * table of DUP_WINDOW slots, slot ext % DUP_WINDOW holding the last
   * extended sequence number stored there, kept in two parts so that an
   * in-order packet touches no table: the numbers I_RUN_START..I_HIGHEST were
   * stored one after the other and are the latest writes (their slots are
   * implied), and `seen` holds the rest. It is written out ("flushed") only
   * when a packet is lost, late or duplicated.
   */
  countSeqOutOfRun(ext: number): void {
    const i32 = this.c.i32;
    const ib = this.row * ROW_I32;
    if (ext > i32[ib + I_HIGHEST]) {
      // A gap: the run ends; a new one starts at ext.
      this.flushRun();
      i32[ib + I_RUN_START] = i32[ib + I_HIGHEST] = ext;
      return;
    }
    if (this.storedAt(ext & (DUP_WINDOW - 1)) === ext) {
      i32[ib + I_DUPLICATES]++;
      return;
    }
    this.flushRun();
    this.seen![ext & (DUP_WINDOW - 1)] = ext;
    i32[ib + I_RUN_START] = i32[ib + I_HIGHEST] + 1; // an empty run, continued by the next number
    i32[ib + I_OUT_OF_ORDER]++;
  }

  /** The number in a slot: from the run's last DUP_WINDOW numbers when one falls there, else from `seen`. */
  private storedAt(slot: number): number {
    const highest = this.word(I_HIGHEST);
    const from = Math.max(this.word(I_RUN_START), highest - DUP_WINDOW + 1);
    if (from <= highest) {
      const inRun = highest - ((highest - slot) & (DUP_WINDOW - 1));
      if (inRun >= from) return inRun;
    }
    return this.seen === null ? -1 : this.seen[slot];
  }

  /** Write the run's implied slots into `seen`. */
  private flushRun(): void {
    const highest = this.word(I_HIGHEST);
    const from = Math.max(this.word(I_RUN_START), highest - DUP_WINDOW + 1);
    if (from > highest) return;
    const seen = (this.seen ??= new Int32Array(DUP_WINDOW).fill(-1));
    for (let e = from; e <= highest; e++) seen[e & (DUP_WINDOW - 1)] = e;
  }

  /** Wireshark's expected count: last seq + cycles·65536 − first seq + 1. */
  get expected(): number {
    return this.word(I_STOP_SEQ) + this.word(I_SEQ_CYCLES) * 65536 - this.word(I_START_SEQ) + 1;
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

  /** Timeline.activeKbps (null without a timeline). */
  activeKbps(share: number): number | null {
    return this.timeline ? this.timeline.activeKbps(share) : null;
  }

  toReport(): ReportRtpStream {
    const hasClock = this.clockRate !== null;
    const report: ReportRtpStream = {
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
      timeline: [], // made when first read: withLazyPoints below
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
    return this.timeline ? withLazyPoints(report, this.timeline) : report;
  }
}
