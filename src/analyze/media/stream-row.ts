/**
 * The per-packet analysis of accepted RTP streams on typed-array rows: one
 * fixed-size row per stream in one buffer shared by the media analyzer's
 * streams (the way src/flow/columns.ts keeps flows). With hundreds of
 * interleaved streams each stream's state is cold again when its next packet
 * comes: the first 128 bytes of a row (doubles, then 32-bit integers) replace
 * the stream object, its boxed doubles and its timeline's last-bucket fields,
 * about eight scattered cache lines, and 600 streams' rows fit in a core's L2
 * cache. analyseRow() is Wireshark's rtppacket_analyse on a row; it reads the
 * row's owner (the RtpStream) only on rare events: the first packet, a gap, a
 * late or duplicate packet, a new timeline bucket.
 *
 * The word offsets are exported for the slow paths of other modules; the
 * per-packet functions here repeat them as local literals, because V8
 * (Node 20) reads a module constant (imported or not) from its slot, with a
 * hole check, at every use: ~40 uses per packet cost a third of analyseRow.
 */
import { staticPayloadType } from './codecs.js';

// ---- Float64 words of a row (f64[row * ROW_F64 + k]): the first 64 bytes ----
/** Arrival time of the first and of the last analysed packet (seconds since the epoch). */
export const D_FIRST_TS = 0;
export const D_LAST_TS = 1;
/** Wireshark's jitter, max jitter, mean jitter and max delta (ms). */
export const D_JITTER = 2;
export const D_MAX_JITTER = 3;
export const D_MEAN_JITTER = 4;
export const D_MAX_DELTA = 5;
/** IP bytes of all packets. */
export const D_IP_BYTES = 6;
/** The timeline's last bucket: IP bytes, and jitter at its end (µs, as Timeline.add takes it). */
export const D_TL_BYTES = 7;
export const D_TL_JITTER = 8;

// ---- Int32 words of a row (i32[row * ROW_I32 + k]): up to 128 bytes, read or written per packet ----
/** Packets analysed (Wireshark total_nr). */
export const I_TOTAL = 18;
export const I_START_SEQ = 19;
export const I_STOP_SEQ = 20;
export const I_SEQ_NUM = 21;
/** Payload type of the previous packet. */
export const I_CUR_PT = 22;
/** The stream's payload type | ⌊its clock rate / 1000⌋ << CLOCK_SHIFT (0: no clock) | SAMPLING | UNDER. */
export const I_STREAM = 23;
/** The extended RTP timestamp of the previous packet: its low 32 bits (signed) and its count of 2^32. */
export const I_TS_LOW = 24;
export const I_TS_CYCLES = 25;
/** Extended sequence number of the previous packet, and the highest one seen. */
export const I_EXT_SEQ = 26;
export const I_HIGHEST = 27;
/** The timeline's last bucket: its bounds (s from the first packet), packets and highest extended seq. */
export const I_TL_START = 28;
export const I_TL_END = 29;
export const I_TL_PACKETS = 30;
export const I_TL_HIGHEST = 31;

// ---- Int32 words touched only by rare packets (gaps, wraps, late or duplicate packets) ----
/** Wrap count of the sequence numbers (Wireshark cycles). */
export const I_SEQ_CYCLES = 32;
/** Wireshark's "wrong sequence" count. */
export const I_SEQ_ERRORS = 33;
export const I_DUPLICATES = 34;
export const I_OUT_OF_ORDER = 35;
/** First extended seq of the current in-order run (see RtpStream's duplicate window). */
export const I_RUN_START = 36;

// ---- Bits of I_STREAM ----
export const PT_MASK = 0x7f;
export const CLOCK_SHIFT = 8;
export const CLOCK_MASK = 0xff << CLOCK_SHIFT;
/** G.711 payload is still sampled for the cleartext heuristic. */
export const SAMPLING = 1 << 16;
/** Sequence numbers are "under" the first one after a wrap (Wireshark's under). */
export const UNDER = 1 << 17;

/** A row: 48 words; the per-packet part is its first 128 bytes (two cache lines when aligned). */
export const ROW_BYTES = 192;
export const ROW_F64 = ROW_BYTES / 8;
export const ROW_I32 = ROW_BYTES / 4;

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

/** ⌊clock rate / 1000⌋ of the static payload types (0: none), Wireshark's integer jitter divisor. */
const STATIC_KHZ = new Int32Array(96);
for (let pt = 0; pt < 96; pt++) STATIC_KHZ[pt] = Math.floor((staticPayloadType(pt)?.clockRate ?? 0) / 1000);

/** What analyseRow() asks of a row's owner on rare events. */
export interface RowOwner {
  /** The first packet of the stream. */
  begin(pkt: RtpPacket, extSeq: number): void;
  /** A sequence number that does not extend the in-order run (gap, late, duplicate). */
  countSeqOutOfRun(extSeq: number): void;
  /** A packet outside the timeline's last bucket. */
  timelineElsewhere(pkt: RtpPacket, jitter: number, highestExt: number): void;
}

const INITIAL_ROWS = 64;

export class StreamColumns<T extends RowOwner = RowOwner> {
  f64: Float64Array;
  /** The same bytes as 32-bit integers. */
  i32: Int32Array;
  /** The object owning each taken row (undefined when free). */
  readonly owners: (T | undefined)[] = [];
  private readonly free: number[] = [];
  private used = 0;

  constructor(rows = INITIAL_ROWS) {
    const buf = new ArrayBuffer(rows * ROW_BYTES);
    this.f64 = new Float64Array(buf);
    this.i32 = new Int32Array(buf);
  }

  /** Rows taken and not given back. */
  get live(): number {
    return this.used - this.free.length;
  }

  /** A zeroed row; owner is what analyseRow() calls on rare events (none for a row a Timeline uses alone). */
  take(owner?: T): number {
    let row = this.free.pop();
    if (row === undefined) {
      if (this.used * ROW_BYTES === this.f64.byteLength) this.grow();
      row = this.used++;
    } else {
      this.f64.fill(0, row * ROW_F64, (row + 1) * ROW_F64);
    }
    this.owners[row] = owner;
    return row;
  }

  release(row: number): void {
    this.owners[row] = undefined;
    this.free.push(row);
  }

  private grow(): void {
    const buf = new ArrayBuffer(this.f64.byteLength * 2);
    const f64 = new Float64Array(buf);
    f64.set(this.f64);
    this.f64 = f64;
    this.i32 = new Int32Array(buf);
  }
}

export function analyseRow(c: StreamColumns, row: number, pkt: RtpPacket): void {
  // The row layout as local literals (same values as the module constants): V8 (Node 20) reads a
  // module constant from its context slot, with a hole check, at every use; locals fold into the code.
  const D_FIRST_TS = 0, D_LAST_TS = 1, D_JITTER = 2, D_MAX_JITTER = 3, D_MEAN_JITTER = 4, D_MAX_DELTA = 5,
    D_IP_BYTES = 6, I_TOTAL = 18, I_START_SEQ = 19, I_STOP_SEQ = 20, I_SEQ_NUM = 21, I_CUR_PT = 22, I_STREAM = 23,
    I_TS_LOW = 24, I_TS_CYCLES = 25, I_EXT_SEQ = 26, I_HIGHEST = 27, I_SEQ_CYCLES = 32, I_SEQ_ERRORS = 33,
    PT_MASK = 0x7f, CLOCK_SHIFT = 8, CLOCK_MASK = 0xff00, UNDER = 0x20000, NO_JITTER = -1, TWO32 = 4294967296,
    TWO31 = 2147483648, ROW_F64 = 24, ROW_I32 = 48, PT_CN = 13, PT_CN_OLD = 19; // codecs.ts PT_CN, PT_CN_OLD
  // Wireshark STAT_FLAG_* that exclude a packet from max delta / jitter statistics.
  const F_MARKER = 1, F_PT_CN = 2, F_FOLLOW_PT_CN = 4;
  const f64 = c.f64;
  const i32 = c.i32;
  const fb = row * ROW_F64;
  const ib = row * ROW_I32;
  const ts = pkt.ts;
  const seq = pkt.seq;
  const pt = pkt.pt;

  // Rare events (a wrap of the RTP timestamp or of the sequence numbers, a lost or late packet)
  // select other values below, not other code: every comparison and operation runs for every
  // packet. Code that runs for the first time seconds into a capture has no type feedback, and
  // V8 would deoptimize analyseRow there and compile it again (once per kind of event).

  // packet-rtp.c calculate_extended_timestamp
  let cycles = i32[ib + I_TS_CYCLES];
  const prevExtTs = cycles * TWO32 + (i32[ib + I_TS_LOW] >>> 0);
  let extTs = cycles * TWO32 + pkt.rawTs;
  const tsWrap = extTs + TWO31 < prevExtTs ? 1 : prevExtTs + TWO31 < extTs ? -1 : 0;
  cycles += tsWrap;
  extTs += tsWrap * TWO32;
  i32[ib + I_TS_CYCLES] = cycles;
  i32[ib + I_TS_LOW] = pkt.rawTs | 0;

  // packet-rtp.c calculate_extended_seqno
  const prevSeq = i32[ib + I_EXT_SEQ];
  let extSeq = prevSeq - (prevSeq & 0xffff) + seq;
  extSeq += extSeq + 0x8000 < prevSeq ? 0x10000 : prevSeq + 0x8000 < extSeq ? -0x10000 : 0;
  i32[ib + I_EXT_SEQ] = extSeq;

  // Duplicates and out-of-order: the next number extends the run (every stored number is
  // <= the highest, so it is no duplicate); anything else takes the object's slow path.
  let highest = i32[ib + I_HIGHEST];
  if (extSeq === highest + 1) i32[ib + I_HIGHEST] = highest = extSeq;
  else {
    c.owners[row]!.countSeqOutOfRun(extSeq);
    highest = i32[ib + I_HIGHEST];
  }

  f64[fb + D_IP_BYTES] += pkt.ipBytes;
  const prevTs = f64[fb + D_LAST_TS];
  f64[fb + D_LAST_TS] = ts;
  const total = i32[ib + I_TOTAL];
  if (total === 0) {
    c.owners[row]!.begin(pkt, extSeq);
    // Jitter 0 once the stream has a clock. Through countInTimeline as every packet: see there.
    countInTimeline(c, row, pkt, 0, (i32[ib + I_STREAM] & CLOCK_MASK) !== 0 ? 0 : NO_JITTER, highest);
    return;
  }
  const firstTs = f64[fb + D_FIRST_TS];
  // Seconds since the first packet, also the timeline's (its t0 is D_FIRST_TS).
  const since = ts - firstTs;
  const tMs = since * 1000;
  // Wireshark's statinfo->time: the previous packet's tMs, computed from the same operands.
  const time = (prevTs - firstTs) * 1000;

  // tshark 4.0 (our CI oracle) has no "timestamp went back" exclusion: a late
  // packet is analysed like any other and becomes the reference for the next
  // one. Wireshark 4.2+ skips such packets (in_time_sequence); docs/media.md.
  // Wireshark's cycles: the numbers are "under" the first one from a wrap until they pass it again.
  let stream = i32[ib + I_STREAM];
  const startSeq = i32[ib + I_START_SEQ];
  const under = (stream & UNDER) !== 0;
  const below = seq < startSeq;
  const above = seq > startSeq;
  const wrapToZero = seq === 0;
  const prevStopSeq = prevSeq & 0xffff; // I_STOP_SEQ: the previous packet's seq
  const fromTop = prevStopSeq === 65535;
  const wrapped = !under && (below || (wrapToZero && fromTop));
  const toggled = stream ^ UNDER;
  stream = wrapped || (under && above) ? toggled : stream;
  i32[ib + I_STREAM] = stream;
  addToWord(i32, ib + I_SEQ_CYCLES, wrapped ? 1 : 0);

  // Wireshark's wrong sequence: anything but seq_num + 1 (or 65535 -> 0); seq_num follows
  // the packets, except late ones (behind it by at most 0xff00).
  const d = seq - i32[ib + I_SEQ_NUM];
  const farBehind = d < -0xff00;
  const ahead = d >= 1;
  if (farBehind || ahead) i32[ib + I_SEQ_NUM] = seq;
  const next = (d & 0xffff) === 1;
  addToWord(i32, ib + I_SEQ_ERRORS, next ? 0 : 1);

  const curPt = i32[ib + I_CUR_PT];
  let flags = (pt === PT_CN || pt === PT_CN_OLD ? F_PT_CN : 0) | (curPt === PT_CN || curPt === PT_CN_OLD ? F_FOLLOW_PT_CN : 0);
  i32[ib + I_CUR_PT] = pt;

  // The static types' clocks; of the dynamic types only the stream's own has a (inferred) clock:
  // others (telephone-event, RED, FEC on the same SSRC) are skipped, as Wireshark skips telephone-event.
  const clockKhz = pt < 96 ? STATIC_KHZ[pt] : pt === (stream & PT_MASK) ? (stream & CLOCK_MASK) >> CLOCK_SHIFT : 0;
  let jitter = f64[fb + D_JITTER];
  let currentJitter = 0;
  if (clockKhz !== 0) {
    const nominalDiff = (extTs - prevExtTs) / clockKhz;
    const expected = time + nominalDiff;
    currentJitter = (15 * jitter + Math.abs(tMs - expected)) / 16;
    f64[fb + D_JITTER] = jitter = currentJitter;
  }
  const delta = tMs - time;

  flags |= pkt.marker ? F_MARKER : 0;
  if (flags === 0) {
    if (delta > f64[fb + D_MAX_DELTA]) f64[fb + D_MAX_DELTA] = delta;
    if (clockKhz !== 0) {
      if (jitter > f64[fb + D_MAX_JITTER]) f64[fb + D_MAX_JITTER] = jitter;
      f64[fb + D_MEAN_JITTER] = (f64[fb + D_MEAN_JITTER] * (total - 1) + currentJitter) / total;
    }
  }

  i32[ib + I_STOP_SEQ] = seq;
  addToWord(i32, ib + I_TOTAL, 1);
  countInTimeline(c, row, pkt, since, (stream & CLOCK_MASK) !== 0 ? jitterUs(jitter) : NO_JITTER, highest);
}

/**
 * i32[k] += n, skipping the store when n is 0. Rare counts (wraps, wrong sequence numbers) go through
 * here with the packet count: V8 keeps type feedback per function, so a first rare count late in a
 * capture runs code that already has it (see analyseRow).
 */
function addToWord(i32: Int32Array, k: number, n: number): void {
  if (n !== 0) i32[k] += n;
}

/**
 * Count an analysed packet into the row's timeline: its last bucket, else the owner's slow path.
 * The first packet of every stream takes the slow path (there is no bucket yet) through this
 * same function, and V8 keeps type feedback per function: so when analyseRow is compiled with
 * this inlined, the slow-path call has feedback, and the first packet of a new bucket, seconds
 * into the capture, does not deoptimize analyseRow.
 */
function countInTimeline(c: StreamColumns, row: number, pkt: RtpPacket, since: number, jitter: number, highestExt: number): void {
  if (!addToLastBucket(c, row, since, pkt.ipBytes, jitter, highestExt)) c.owners[row]!.timelineElsewhere(pkt, jitter, highestExt);
}

/**
 * Count a packet into the timeline's last bucket when it falls there; false
 * when it does not. `since`: seconds from the row's D_FIRST_TS (the
 * timeline's t0) to the packet, which analyseRow has at hand.
 */
export function addToLastBucket(c: StreamColumns, row: number, since: number, ipBytes: number, jitter: number, highestExt: number): boolean {
  // The row layout as local literals (same values as the module constants): V8 (Node 20) reads a
  // module constant from its context slot, with a hole check, at every use; locals fold into the code.
  const D_TL_BYTES = 7, D_TL_JITTER = 8, I_TL_START = 28, I_TL_END = 29, I_TL_PACKETS = 30, I_TL_HIGHEST = 31, ROW_F64 = 24, ROW_I32 = 48;
  const i32 = c.i32;
  const ib = row * ROW_I32;
  // Same as ⌊since / width⌋ === last, without the division.
  if (!(since >= i32[ib + I_TL_START] && since < i32[ib + I_TL_END])) return false;
  const fb = row * ROW_F64;
  i32[ib + I_TL_PACKETS]++;
  c.f64[fb + D_TL_BYTES] += ipBytes;
  if (highestExt > i32[ib + I_TL_HIGHEST]) i32[ib + I_TL_HIGHEST] = highestExt;
  c.f64[fb + D_TL_JITTER] = jitter;
  return true;
}

