/**
 * Push-based reader for classic pcap and pcapng. Feed it chunks of any size;
 * the packets (and SourceInfo) do not depend on where the chunks are cut.
 *
 * Packets are delivered synchronously to the sink as one reused RawPacket whose
 * `data` is a view into the input chunk (or into a scratch copy when the record
 * straddles two chunks): valid only until the next packet.
 *
 * Corrupt input never throws: the error goes to info.errors with its offset,
 * info.truncated is set and delivery stops. Only input that is not a capture at
 * all throws CaptureOpenError.
 */
import { BufferList } from './buffer-list.js';
import { linkTypeName } from './linktypes.js';
import { CaptureOpenError, type PacketSink, type RawPacket, type SourceInfo } from './types.js';
import { sanitizeText } from '../report/sanitize.js';

/**
 * Largest packet we accept, as libpcap (MAXIMUM_SNAPLEN) and Wireshark
 * (WTAP_MAX_PACKET_SIZE_STANDARD) do: a bigger caplen means a corrupt length field.
 * A caplen above the file's own snaplen but within this limit is accepted, as both do.
 */
export const MAX_CAPLEN = 262_144;
/** Largest pcapng block (Wireshark's MAX_BLOCK_SIZE). Bounds the bytes we ever buffer. */
export const MAX_BLOCK_LEN = 16 * 1024 * 1024;
const MAX_INTERFACES_PER_SECTION = 4096;
const MAX_NAMES = 10_000;
const MAX_NAME_LEN = 255;
const MAX_COMMENTS = 100;
const MAX_COMMENT_LEN = 4096;
const MAX_WARNINGS = 100;
const MAX_DROPS = 1024;
const MAX_LINK_TYPES = 64;

const PCAP_HEADER_LEN = 24;
const PCAP_RECORD_HEADER_LEN = 16;
const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
const PCAPNG_BOM = 0x1a2b3c4d;

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 1;
const BLOCK_PB = 2; // obsolete Packet Block
const BLOCK_SPB = 3;
const BLOCK_NRB = 4;
const BLOCK_ISB = 5;
const BLOCK_EPB = 6;

const OPT_COMMENT = 1;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
const OPT_ISB_IFRECV = 4;
const OPT_ISB_IFDROP = 5;
const OPT_ISB_OSDROP = 7;

const TWO_32 = 4294967296;

interface Interface {
  /** Index within its section. */
  id: number;
  linkType: number;
  /** 0 = unlimited */
  snaplen: number;
  /** Timestamp ticks per second (if_tsresol). */
  ticksPerSec: number;
  /** Nanoseconds per tick when that is a whole number, else 0. */
  nsPerTick: number;
  /** if_tsoffset, seconds. */
  tsOffset: number;
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });

function u16(b: Uint8Array, p: number, le: boolean): number {
  return le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1];
}

function u32(b: Uint8Array, p: number, le: boolean): number {
  return le
    ? (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0
    : ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

/** 64-bit unsigned as a number (exact below 2^53). */
function u64(b: Uint8Array, p: number, le: boolean): number {
  return le ? u32(b, p + 4, le) * TWO_32 + u32(b, p, le) : u32(b, p, le) * TWO_32 + u32(b, p + 4, le);
}

function hex(b: Uint8Array, p: number, n: number): string {
  return Array.from(b.subarray(p, p + n), (x) => x.toString(16).padStart(2, '0')).join(' ');
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** An empty SourceInfo: nothing read yet. */
export function newInfo(path: string): SourceInfo {
  return {
    path,
    format: 'pcap',
    gzip: false,
    linkTypes: [],
    packets: 0,
    bytes: 0,
    snaplen: null,
    snaplenTruncatedPackets: 0,
    truncated: false,
    errors: [],
    warnings: [],
    drops: [],
    names: [],
    comments: [],
  };
}

/**
 * The one RawPacket a parser hands out, re-pointed for every packet. `data`
 * is made on first access: a subarray per packet is a measurable share of
 * the read time, and the engine decodes from buf/dataOff instead.
 */
class ReusedPacket implements RawPacket {
  buf: Uint8Array = new Uint8Array(0);
  dataOff = 0;
  caplen = 0;
  origLen = 0;
  tsSec = 0;
  tsNsec = 0;
  linkType = 0;
  interfaceId = 0;
  offset = 0;
  comment: string | null = null;
  #data: Uint8Array | null = null;

  get data(): Uint8Array {
    return (this.#data ??= this.buf.subarray(this.dataOff, this.dataOff + this.caplen));
  }

  /** Point at buf[off, off + caplen). */
  point(buf: Uint8Array, off: number, caplen: number): void {
    // Pointer stores only when they change something: each is a GC write barrier.
    if (this.buf !== buf) this.buf = buf;
    this.dataOff = off;
    this.caplen = caplen;
    if (this.#data !== null) this.#data = null;
  }
}

export class CaptureParser {
  readonly info: SourceInfo;

  private list = new BufferList();
  private readonly pkt = new ReusedPacket();
  private format: 'pcap' | 'pcapng' | null = null;
  private isStopped = false;
  private ended = false;
  /** Absolute input offset of list's first byte. */
  private offset = 0;
  private le = true;
  /** A DataView over the last buffer a classic pcap record was read from (read buffers are reused, so this rarely changes). */
  private dvBuf: Uint8Array | null = null;
  private dv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private peakRetained = 0;
  /** Bytes the current record needs before parsing can continue (tar-stream's _missing). */
  private need = 0;

  // classic pcap
  private headerDone = false;
  private nanos = false;
  private linkType = 0;
  private lengthsSwapped: 'yes' | 'maybe' | 'no' = 'no';

  // pcapng
  private interfaces: Interface[] = [];
  /** Offset of the pcapng block being decoded (already consumed). */
  private blockOffset = 0;
  private section = -1;
  private dropIndex = new Map<string, number>();
  private namesDropped = 0;

  private invalidSubsecond = 0;
  private warningsDropped = 0;

  constructor(
    readonly path: string,
    private readonly onPacket: PacketSink,
    /** Called for each pcapng name-resolution record as soon as it is read (before later packets). */
    private readonly onName?: (entry: { ip: string; names: string[] }) => void,
  ) {
    this.info = newInfo(path);
  }

  /** True once a corrupt record, an unsupported version or end() stopped delivery. */
  get stopped(): boolean {
    return this.isStopped;
  }

  /**
   * Most bytes ever kept between two push() calls. Bounded by the largest legal
   * record (MAX_BLOCK_LEN), whatever a length field claims.
   */
  get maxBuffered(): number {
    return Math.max(this.peakRetained, this.list.scratchSize);
  }

  push(chunk: Uint8Array): void {
    if (this.isStopped) return;
    this.list.append(chunk);
    if (this.list.length >= this.need && (this.format !== null || this.detect())) {
      if (this.format === 'pcap') this.drainPcap();
      else this.drainPcapng();
    }
    if (this.list.length > this.peakRetained) this.peakRetained = this.list.length;
    if (!this.isStopped) this.info.bytes = this.offset;
  }

  /** Bytes of `chunk` (pushed earlier) are still buffered: the caller must not reuse its memory yet. */
  retains(chunk: Uint8Array): boolean {
    return this.list.holds(chunk.buffer);
  }

  /** Input is complete: a partial record left over is reported as truncation. */
  end(): void {
    if (this.ended) return;
    if (!this.isStopped) {
      if (this.format === null) {
        const n = this.list.length;
        if (n === 0) throw new CaptureOpenError(`${this.path} is empty: it holds no capture data`, this.path);
        this.list.peek(n);
        throw this.notACapture(this.list.buf, this.list.pos, n);
      }
      const left = this.list.length;
      if (left > 0) this.fail(this.offset, `file ends in the middle of a record (${left} bytes left over)`);
      this.info.bytes = this.offset + left;
      this.isStopped = true;
      this.list = new BufferList();
    }
    this.ended = true;
    this.finishWarnings();
  }

  /** Stop delivering without an error (the caller chose to stop early). */
  stop(): void {
    if (this.isStopped) return;
    this.info.bytes = this.offset;
    this.isStopped = true;
    this.list = new BufferList();
  }

  /** Stop delivering with an error found outside the parser (e.g. a corrupt gzip stream). */
  abort(message: string): void {
    if (this.isStopped) return;
    this.fail(this.offset + this.list.length, message);
  }

  // ---------------------------------------------------------------- detection

  private detect(): boolean {
    if (this.list.length < 4) return false;
    this.list.peek(4);
    const { buf, pos } = this.list;
    const be = u32(buf, pos, false);
    const le = u32(buf, pos, true);
    if (be === BLOCK_SHB) {
      this.format = 'pcapng';
    } else if (be === MAGIC_USEC || be === MAGIC_NSEC) {
      this.format = 'pcap';
      this.le = false;
      this.nanos = be === MAGIC_NSEC;
    } else if (le === MAGIC_USEC || le === MAGIC_NSEC) {
      this.format = 'pcap';
      this.le = true;
      this.nanos = le === MAGIC_NSEC;
    } else {
      throw this.notACapture(buf, pos, 4);
    }
    this.info.format = this.format;
    return true;
  }

  private notACapture(buf: Uint8Array, pos: number, n: number): CaptureOpenError {
    const gz = n >= 2 && buf[pos] === 0x1f && buf[pos + 1] === 0x8b;
    const what = gz ? 'is gzip-compressed: read it with readCapture or gunzip it first' : 'is not a pcap or pcapng file';
    return new CaptureOpenError(
      `${this.path} ${what} (starts with ${hex(buf, pos, Math.min(n, 4))}): export it from Wireshark as pcapng`,
      this.path,
    );
  }

  // ------------------------------------------------------------- classic pcap

  /**
   * Read the records lying wholly in chunk from `start`, in place; returns the offset after the last.
   * Its own function: V8 compiles this loop (on-stack, during the first chunk) without the rest of
   * drainPcap, whose chunk-end path has not run yet then and would deoptimize the compiled reader.
   */
  private pcapRecordsIn(chunk: Uint8Array, start: number): number {
    const dv = this.useBuffer(chunk);
    let p = start;
    for (let n = this.pcapRecord(chunk, dv, p, chunk.length); n > 0; n = this.pcapRecord(chunk, dv, p, chunk.length)) p += n;
    return p;
  }

  private drainPcap(): void {
    const list = this.list;
    if (!this.headerDone) {
      if (list.length < PCAP_HEADER_LEN) {
        this.need = PCAP_HEADER_LEN;
        return;
      }
      list.peek(PCAP_HEADER_LEN);
      const { buf, pos } = list;
      const major = u16(buf, pos + 4, this.le);
      const minor = u16(buf, pos + 6, this.le);
      if (major < 2) return this.fail(0, `unsupported pcap version ${major}.${minor}`);
      // libpcap before 2.3 wrote caplen and len the other way round (libpcap and Wireshark swap them back).
      this.lengthsSwapped = major === 2 && minor < 3 ? 'yes' : major === 2 && minor === 3 ? 'maybe' : 'no';
      const snaplen = u32(buf, pos + 16, this.le);
      // Upper bits hold the FCS length and reserved flags (libpcap LT_LINKTYPE).
      this.linkType = u32(buf, pos + 20, this.le) & 0xffff;
      this.pkt.linkType = this.linkType;
      this.pkt.interfaceId = 0;
      this.pkt.comment = null;
      this.noteSnaplen(snaplen);
      this.noteLinkType(this.linkType);
      this.consume(PCAP_HEADER_LEN);
      this.headerDone = true;
      this.need = PCAP_RECORD_HEADER_LEN;
    }
    while (list.length >= PCAP_RECORD_HEADER_LEN) {
      // Records wholly inside the head chunk are read in place and consumed at once.
      const start = list.headOffset;
      const p = this.pcapRecordsIn(list.head, start);
      if (this.isStopped) return;
      if (p > start) {
        list.consume(p - start);
        continue;
      }
      // A record cut by the end of a chunk: gathered by peek.
      list.peek(PCAP_RECORD_HEADER_LEN);
      let n = this.pcapRecord(list.buf, this.useBuffer(list.buf), list.pos, list.pos + PCAP_RECORD_HEADER_LEN);
      if (n < 0) return;
      if (n === 0) {
        if (list.length < this.need) return;
        list.peek(this.need);
        n = this.pcapRecord(list.buf, this.useBuffer(list.buf), list.pos, list.pos + this.need);
      }
      list.consume(n);
      // Here, not after the loop: that is reached only when fewer than 16 bytes are left, first some
      // chunks in, and its code would then deoptimize the compiled reader (this runs at every chunk's end).
      this.need = PCAP_RECORD_HEADER_LEN;
    }
    // this.need: a record header's length, or what the record cut by the end of the head chunk needs.
  }

  /**
   * Before reading records from buf: points the reused packet at it and returns a DataView of it
   * (the last one made, when buf is the same). Per chunk here, not per record in pcapRecord: a new
   * chunk comes thousands of packets in, and code that runs for the first time then, inside the
   * compiled per-packet path, would deoptimize it.
   */
  private useBuffer(buf: Uint8Array): DataView {
    if (buf !== this.dvBuf) {
      this.dvBuf = buf;
      this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.pkt.point(buf, 0, 0);
    }
    return this.dv;
  }

  /**
   * The classic pcap record at buf[p, end) (dv: useBuffer(buf)): delivered, returning its length;
   * 0 when it does not all lie before `end` (this.need = its length, or the
   * header's); -1 when it is corrupt (the parser has stopped).
   */
  private pcapRecord(buf: Uint8Array, dv: DataView, p: number, end: number): number {
    // Per packet: literals and locals (Node 20 loads and hole-checks module constants at every use).
    const HEADER = 16; // PCAP_RECORD_HEADER_LEN
    let tsSec = 0;
    let frac = 0;
    let caplen = 0;
    let origLen = 0;
    if (p + HEADER <= end) {
      // Four 32-bit loads through a DataView: a quarter of the bounds checks and no byte assembly.
      const le = this.le;
      tsSec = dv.getUint32(p, le);
      frac = dv.getUint32(p + 4, le);
      caplen = dv.getUint32(p + 8, le);
      origLen = dv.getUint32(p + 12, le);
      const swapped = this.lengthsSwapped;
      if (swapped !== 'no' && (swapped === 'yes' || caplen > origLen)) {
        const t = caplen;
        caplen = origLen;
        origLen = t;
      }
      if (caplen > 262_144 /* MAX_CAPLEN */) {
        this.fail(this.offset, `corrupt record: caplen ${caplen} is larger than the maximum ${MAX_CAPLEN}`);
        return -1;
      }
    }
    // The record's length, or the header's while that is cut. this.need is stored for every record,
    // delivered or not: a store only for a record cut by the end of a chunk would run for the first
    // time thousands of packets in, and deoptimize the compiled reader and all it inlined.
    const total = HEADER + caplen;
    this.need = total;
    if (p + total > end) return 0;
    const pkt = this.pkt;
    pkt.tsSec = tsSec;
    if (frac < (this.nanos ? 1_000_000_000 : 1_000_000)) {
      pkt.tsNsec = this.nanos ? frac : frac * 1000;
    } else {
      pkt.tsNsec = 999_999_999;
      this.invalidSubsecond++;
    }
    pkt.point(buf, p + HEADER, caplen);
    pkt.origLen = origLen;
    pkt.offset = this.offset;
    if (caplen < origLen) this.info.snaplenTruncatedPackets++;
    this.info.packets++;
    this.offset += total;
    this.onPacket(pkt);
    return total;
  }

  // ------------------------------------------------------------------- pcapng

  private drainPcapng(): void {
    const list = this.list;
    while (!this.isStopped && list.length >= 12) {
      list.peek(12);
      let buf = list.buf;
      let pos = list.pos;
      let le = this.le;
      const type = u32(buf, pos, le);
      if (type === BLOCK_SHB) {
        const bom = u32(buf, pos + 8, true);
        if (bom === PCAPNG_BOM) le = true;
        else if (u32(buf, pos + 8, false) === PCAPNG_BOM) le = false;
        else if (this.section < 0) throw this.notACapture(buf, pos, 4);
        else return this.fail(this.offset, `corrupt section header: bad byte-order magic ${hex(buf, pos + 8, 4)}`);
      } else if (this.section < 0) {
        throw this.notACapture(buf, pos, 4);
      }
      const len = u32(buf, pos + 4, le);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK_LEN) {
        return this.fail(this.offset, `corrupt block of type 0x${type.toString(16)}: invalid length ${len}`);
      }
      if (list.length < len) {
        this.need = len;
        return;
      }
      list.peek(len);
      buf = list.buf;
      pos = list.pos;
      if (u32(buf, pos + len - 4, le) !== len) {
        return this.fail(this.offset, `corrupt block of type 0x${type.toString(16)}: trailing length differs from ${len}`);
      }
      const end = pos + len - 4;
      // Consuming first is safe: buf keeps its bytes until the next peek, and
      // the views handed out stay valid while the sink runs.
      this.blockOffset = this.offset;
      this.consume(len);
      switch (type) {
        case BLOCK_SHB:
          this.le = le;
          this.sectionHeader(buf, pos, end);
          break;
        case BLOCK_IDB:
          this.interfaceDescription(buf, pos, end);
          break;
        case BLOCK_EPB:
          this.enhancedPacket(buf, pos, end, len);
          break;
        case BLOCK_SPB:
          this.simplePacket(buf, pos, end, len);
          break;
        case BLOCK_PB:
          this.obsoletePacket(buf, pos, end, len);
          break;
        case BLOCK_NRB:
          this.nameResolution(buf, pos + 8, end);
          break;
        case BLOCK_ISB:
          this.interfaceStatistics(buf, pos, end);
          break;
        default:
          break; // unknown, custom and decryption-secrets blocks are skipped by length
      }
    }
    this.need = 12;
  }

  private sectionHeader(buf: Uint8Array, pos: number, end: number): void {
    if (end - pos < 24) return this.fail(this.blockOffset, 'corrupt section header: too short');
    const major = u16(buf, pos + 12, this.le);
    const minor = u16(buf, pos + 14, this.le);
    if (major !== 1) {
      return this.fail(this.blockOffset, `unsupported pcapng section version ${major}.${minor}: reading stops here`);
    }
    this.section++;
    this.interfaces = [];
    const at = this.findOption(buf, pos + 24, end, OPT_COMMENT);
    if (at >= 0 && this.info.comments.length < MAX_COMMENTS) this.info.comments.push(this.text(buf, at, this.optLen));
  }

  private interfaceDescription(buf: Uint8Array, pos: number, end: number): void {
    if (end - pos < 16) return this.fail(this.blockOffset, 'corrupt interface description: too short');
    const le = this.le;
    const linkType = u16(buf, pos + 8, le);
    const snaplen = u32(buf, pos + 12, le);
    let ticksPerSec = 1_000_000;
    let at = this.findOption(buf, pos + 16, end, OPT_IF_TSRESOL);
    if (at >= 0 && this.optLen >= 1) {
      const v = buf[at];
      ticksPerSec = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
    }
    let tsOffset = 0;
    at = this.findOption(buf, pos + 16, end, OPT_IF_TSOFFSET);
    if (at >= 0 && this.optLen >= 8) {
      // signed 64-bit seconds
      const hi = le ? u32(buf, at + 4, le) : u32(buf, at, le);
      const lo = le ? u32(buf, at, le) : u32(buf, at + 4, le);
      tsOffset = (hi | 0) * TWO_32 + lo;
    }
    if (this.interfaces.length >= MAX_INTERFACES_PER_SECTION) {
      this.warn(`more than ${MAX_INTERFACES_PER_SECTION} interfaces in one section: ignoring interface at offset ${this.blockOffset}`);
      return;
    }
    const nsPerTick = ticksPerSec <= 1e9 && Number.isInteger(1e9 / ticksPerSec) ? 1e9 / ticksPerSec : 0;
    this.interfaces.push({ id: this.interfaces.length, linkType, snaplen, ticksPerSec, nsPerTick, tsOffset });
    this.noteSnaplen(snaplen);
    this.noteLinkType(linkType);
  }

  private enhancedPacket(buf: Uint8Array, pos: number, end: number, len: number): void {
    if (end - pos < 28) return this.fail(this.blockOffset, 'corrupt enhanced packet block: too short');
    const le = this.le;
    const ifc = this.iface(u32(buf, pos + 8, le));
    if (!ifc) return;
    const caplen = u32(buf, pos + 20, le);
    if (caplen > MAX_CAPLEN) {
      return this.fail(this.blockOffset, `corrupt packet: caplen ${caplen} is larger than the maximum ${MAX_CAPLEN}`);
    }
    const dataStart = pos + 28;
    if (dataStart + caplen > end) {
      return this.fail(this.blockOffset, `corrupt packet: caplen ${caplen} does not fit in a block of ${len} bytes`);
    }
    this.setTimestamp(ifc, u32(buf, pos + 12, le), u32(buf, pos + 16, le));
    this.deliver(buf, dataStart, caplen, u32(buf, pos + 24, le), ifc, dataStart + pad4(caplen), end);
  }

  private simplePacket(buf: Uint8Array, pos: number, end: number, len: number): void {
    if (end - pos < 12) return this.fail(this.blockOffset, 'corrupt simple packet block: too short');
    const ifc = this.iface(0);
    if (!ifc) return;
    const origLen = u32(buf, pos + 8, this.le);
    const room = end - (pos + 12);
    let caplen = Math.min(origLen, room);
    if (ifc.snaplen > 0) caplen = Math.min(caplen, ifc.snaplen);
    // An SPB has no timestamp: the previous packet's stays (documented in docs/reader.md).
    this.deliver(buf, pos + 12, caplen, origLen, ifc, end, end);
  }

  private obsoletePacket(buf: Uint8Array, pos: number, end: number, len: number): void {
    if (end - pos < 28) return this.fail(this.blockOffset, 'corrupt packet block: too short');
    const le = this.le;
    const ifc = this.iface(u16(buf, pos + 8, le));
    if (!ifc) return;
    const caplen = u32(buf, pos + 20, le);
    const dataStart = pos + 28;
    if (caplen > MAX_CAPLEN || dataStart + caplen > end) {
      return this.fail(this.blockOffset, `corrupt packet block: caplen ${caplen} does not fit in a block of ${len} bytes`);
    }
    this.setTimestamp(ifc, u32(buf, pos + 12, le), u32(buf, pos + 16, le));
    this.deliver(buf, dataStart, caplen, u32(buf, pos + 24, le), ifc, dataStart + pad4(caplen), end);
  }

  private deliver(
    buf: Uint8Array,
    dataStart: number,
    caplen: number,
    origLen: number,
    ifc: Interface,
    optStart: number,
    optEnd: number,
  ): void {
    const pkt = this.pkt;
    pkt.point(buf, dataStart, caplen);
    pkt.origLen = origLen;
    pkt.linkType = ifc.linkType;
    pkt.interfaceId = ifc.id;
    pkt.offset = this.blockOffset;
    pkt.comment = null;
    if (optStart < optEnd) {
      const at = this.findOption(buf, optStart, optEnd, OPT_COMMENT);
      if (at >= 0) pkt.comment = this.text(buf, at, this.optLen);
    }
    if (caplen < origLen) this.info.snaplenTruncatedPackets++;
    this.info.packets++;
    this.onPacket(pkt);
  }

  private nameResolution(buf: Uint8Array, pos: number, end: number): void {
    const le = this.le;
    while (pos + 4 <= end) {
      const type = u16(buf, pos, le);
      const vlen = u16(buf, pos + 2, le);
      const value = pos + 4;
      if (type === 0 || value + vlen > end) return;
      const addrLen = type === 1 ? 4 : type === 2 ? 16 : 0;
      if (addrLen > 0 && vlen > addrLen) this.addNames(buf, value, addrLen, value + vlen);
      pos = value + pad4(vlen);
    }
  }

  private addNames(buf: Uint8Array, at: number, addrLen: number, end: number): void {
    if (this.info.names.length >= MAX_NAMES) {
      if (this.namesDropped++ === 0) this.warn(`more than ${MAX_NAMES} name resolution records: the rest are ignored`);
      return;
    }
    const names: string[] = [];
    let start = at + addrLen;
    for (let i = start; i <= end; i++) {
      if (i === end || buf[i] === 0) {
        if (i > start) names.push(sanitizeText(textDecoder.decode(buf.subarray(start, i)), MAX_NAME_LEN));
        start = i + 1;
      }
    }
    if (names.length === 0) return;
    const entry = { ip: addrLen === 4 ? ipv4(buf, at) : ipv6(buf, at), names };
    this.info.names.push(entry);
    this.onName?.(entry);
  }

  private interfaceStatistics(buf: Uint8Array, pos: number, end: number): void {
    if (end - pos < 12) return this.fail(this.blockOffset, 'corrupt interface statistics block: too short');
    const interfaceId = u32(buf, pos + 8, this.le);
    const opt = (code: number): number | null => {
      const at = this.findOption(buf, pos + 20, end, code);
      return at >= 0 && this.optLen >= 8 ? u64(buf, at, this.le) : null;
    };
    const stats = { interfaceId, ifDrop: opt(OPT_ISB_IFDROP), osDrop: opt(OPT_ISB_OSDROP), received: opt(OPT_ISB_IFRECV) };
    // Counters are cumulative: a later ISB for the same interface replaces the earlier one.
    const key = `${this.section}:${interfaceId}`;
    const idx = this.dropIndex.get(key);
    if (idx !== undefined) this.info.drops[idx] = stats;
    else if (this.info.drops.length < MAX_DROPS) {
      this.dropIndex.set(key, this.info.drops.length);
      this.info.drops.push(stats);
    }
  }

  // ------------------------------------------------------------------ helpers

  /** Length of the option value found by the last findOption(). */
  private optLen = 0;

  /** Offset of the first option `code` in buf[start..end), or -1. Stops at a malformed option. */
  private findOption(buf: Uint8Array, start: number, end: number, code: number): number {
    const le = this.le;
    let p = start;
    while (p + 4 <= end) {
      const c = u16(buf, p, le);
      const n = u16(buf, p + 2, le);
      if (c === 0 || p + 4 + n > end) return -1;
      if (c === code) {
        this.optLen = n;
        return p + 4;
      }
      p += 4 + pad4(n);
    }
    return -1;
  }

  private iface(id: number): Interface | undefined {
    const ifc = this.interfaces[id];
    if (!ifc) this.fail(this.blockOffset, `corrupt packet: interface ${id} was not described in this section`);
    return ifc;
  }

  /** 64-bit tick count (hi:lo) at the interface's resolution -> pkt.tsSec / tsNsec. */
  private setTimestamp(ifc: Interface, hi: number, lo: number): void {
    const tps = ifc.ticksPerSec;
    let sec: number;
    let nsec: number;
    if (tps <= TWO_32) {
      // Long division in 16-bit digits keeps every intermediate below 2^53.
      const q1 = Math.floor(hi / tps);
      let t = (hi - q1 * tps) * 65536 + (lo >>> 16);
      const q2 = Math.floor(t / tps);
      t = (t - q2 * tps) * 65536 + (lo & 0xffff);
      const q3 = Math.floor(t / tps);
      const frac = t - q3 * tps;
      sec = q1 * TWO_32 + q2 * 65536 + q3;
      nsec = ifc.nsPerTick ? frac * ifc.nsPerTick : Math.floor((frac * 1e9) / tps);
    } else {
      const ticks = (BigInt(hi) << 32n) | BigInt(lo);
      const big = BigInt(tps);
      sec = Number(ticks / big);
      nsec = Number(((ticks % big) * 1_000_000_000n) / big);
    }
    this.pkt.tsSec = sec + ifc.tsOffset;
    this.pkt.tsNsec = nsec;
  }

  private text(buf: Uint8Array, at: number, n: number): string {
    return sanitizeText(textDecoder.decode(buf.subarray(at, at + Math.min(n, MAX_COMMENT_LEN))), MAX_COMMENT_LEN);
  }

  private consume(n: number): void {
    this.list.consume(n);
    this.offset += n;
  }

  private noteSnaplen(snaplen: number): void {
    if (snaplen > 0 && (this.info.snaplen === null || snaplen < this.info.snaplen)) this.info.snaplen = snaplen;
  }

  private noteLinkType(linkType: number): void {
    const name = linkTypeName(linkType);
    if (!this.info.linkTypes.includes(name) && this.info.linkTypes.length < MAX_LINK_TYPES) this.info.linkTypes.push(name);
  }

  private warn(message: string): void {
    if (this.info.warnings.length < MAX_WARNINGS) this.info.warnings.push(message);
    else this.warningsDropped++;
  }

  private finishWarnings(): void {
    if (this.invalidSubsecond > 0) {
      this.warn(`${this.invalidSubsecond} packets had a sub-second timestamp of 1 s or more (clamped to .999999999)`);
    }
    if (this.warningsDropped > 0) this.info.warnings.push(`${this.warningsDropped} more warnings not shown`);
  }

  private fail(offset: number, message: string): void {
    this.info.errors.push({ offset, message });
    this.info.truncated = true;
    this.info.bytes = offset;
    this.isStopped = true;
    this.list = new BufferList();
  }
}

function ipv4(b: Uint8Array, p: number): string {
  return `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}`;
}

/** RFC 5952 text form (longest zero run compressed). */
function ipv6(b: Uint8Array, p: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[p + i] << 8) | b[p + i + 1]);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hexes = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hexes.join(':');
  return `${hexes.slice(0, bestStart).join(':')}::${hexes.slice(bestStart + bestLen).join(':')}`;
}
