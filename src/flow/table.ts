/**
 * The flow table: bidirectional flows keyed by (proto, addresses, ports) with a
 * symmetric hash, Zeek-style orientation and conn_state, ICMP errors attached to
 * the flow they name, idle eviction per protocol class and a hard cap.
 * See docs/flows.md for the rules.
 *
 * Hot path (a packet of a known flow): one hash, a bucket walk over the
 * rows of the typed-array columns (columns.ts), counter updates in the row;
 * no allocation, no strings, no per-flow objects besides the FlowRecord.
 */
import { MAX_EVIDENCE_FRAMES, type Flow, type IcmpErrorEvent } from './flow.js';
import { FlowRecord, readI32 } from './record.js';
import { endpointHash, combineHash, flowHash4, HASH_MASK } from './hash.js';
import { tcpFinished, tcpIsn, tcpPacket } from './tcp-state.js';
import {
  detachedRows,
  F_ACTIVE,
  F_BYTES,
  F_DIR_FIRST_TS,
  F_LAST_TS,
  F_PAYLOAD,
  F_WORDS,
  FlowColumns,
  G_FIRST_TS,
  G_WORDS,
  META_CLASS_MASK,
  META_CLASS_SHIFT,
  META_IPV6,
  META_TCP_TRACKED,
  U_CHAIN,
  U_CLIENT4,
  U_EVIDENCE_COUNT,
  U_FIRST_FRAME,
  U_KEY,
  U_LAST_FRAME,
  U_META,
  U_PACKETS,
  U_PORTS,
  U_SERVER4,
  U_WORDS,
  X_EVIDENCE,
  X_WORDS,
} from './columns.js';
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  formatIp,
  type PacketView,
} from '../decode/view.js';

export interface FlowTableOptions {
  /** Hard cap on live flows, default 250_000. */
  maxFlows?: number;
  /** Idle timeouts in seconds per protocol class (defaults 300 / 60 / 60). */
  tcpIdleS?: number;
  udpIdleS?: number;
  otherIdleS?: number;
  /** Idle timeout of UDP flows to a DNS port (53, 137, 5353, 5355): Zeek's dns_session_timeout, default 10. */
  dnsIdleS?: number;
  /** Idle timeout of a TCP connection both sides closed, or one reset: Zeek's tcp_close_delay / tcp_reset_delay, default 5. */
  tcpClosedIdleS?: number;
  /**
   * Called exactly once per flow: idle eviction, cap eviction (flow.evicted = true), TCP port reuse, or flush().
   * The flow may be kept and read later (its row is then copied out of the table), unless the callback
   * calls flow.release(): then nothing may read it after the callback returns.
   */
  onEnd: (flow: Flow) => void;
  /** Called once when a flow is created, after its first packet was counted. */
  onNew?: (flow: Flow) => void;
  /** Test hook: AND-ed into every hash (0 forces every flow into one bucket). */
  hashMask?: number;
  /** Hash seed; random by default so crafted traffic cannot aim at one bucket. */
  hashSeed?: number;
  /** Test hook: rows reserved at first (default: maxFlows, at most 262 144); more are added by growing. */
  reservedRows?: number;
}

/** An ICMP error whose embedded header names no known flow. */
export interface IcmpOrphan extends IcmpErrorEvent {
  /** The embedded (original) packet: protocol and 5-tuple; ports 0 if absent. */
  proto: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
}

/** Max ICMP errors kept per flow, and orphan errors kept in total. */
export const MAX_ICMP_ERRORS_PER_FLOW = 16;
export const MAX_ORPHAN_ICMP_ERRORS = 256;
/** First-fragment references kept so later fragments find their flow. */
export const MAX_FRAGMENT_REFS = 1024;
/** Evidence frames: the first ones, and the rest of the budget for SYN/FIN/RST frames. */
const FIRST_EVIDENCE_FRAMES = MAX_EVIDENCE_FRAMES / 2;
/** Run idle expiry at least every this many packets, or when capture time advanced a second. */
const EXPIRY_EVERY_PACKETS = 1024;

/** Timeout classes: each has its own idle timeout and LRU list. */
const CLASS_TCP = 0;
const CLASS_UDP = 1;
const CLASS_OTHER = 2;
const CLASS_DNS = 3;
const CLASS_TCP_CLOSED = 4;
const CLASSES = 5;

/** UDP server ports whose flows time out as DNS sessions (Zeek's DNS::ports). */
export const DNS_SESSION_PORTS: readonly number[] = [53, 137, 5353, 5355];
const dnsSessionPort = new Uint8Array(65536);
for (const p of DNS_SESSION_PORTS) dnsSessionPort[p] = 1;

/**
 * Ports where the sender is almost certainly the server (Zeek's likely_server_ports):
 * used to orient flows whose first packet is not a SYN.
 */
export const WELL_KNOWN_SERVER_PORTS: readonly number[] = [
  20, 21, 22, 23, 25, 53, 67, 69, 80, 88, 110, 119, 123, 135, 137, 138, 139, 143, 161, 162, 179, 389, 443, 445, 465, 500,
  514, 547, 587, 636, 853, 989, 990, 993, 995, 1080, 1194, 1433, 1494, 1701, 1723, 1812, 1813, 1883, 2598, 3268, 3306,
  3389, 3478, 3479, 3480, 3481, 4172, 4500, 5060, 5061, 5222, 5349, 5432, 5938, 8080, 8443, 8883, 10000, 19302, 19305,
  51820,
];
const serverPort = new Uint8Array(65536);
for (const p of WELL_KNOWN_SERVER_PORTS) serverPort[p] = 1;

/** The transport header's ports were captured (Wireshark shows ports from a header cut after them too). */
function hasPorts(view: PacketView): boolean {
  const ipEnd = view.ipOff + view.ipTotalLen;
  const end = view.end < ipEnd ? view.end : ipEnd;
  return view.l4Off !== 0 && view.l4Off + 4 <= end;
}

interface FragmentRef {
  flow: FlowRecord;
  ipId: number;
}

/**
 * Rows allocated at first: room for maxFlows, up to RESERVED_ROWS. Typed arrays
 * are zero-filled lazily by the OS, so untouched rows cost address space, not
 * memory, and a table that fills up never copies its columns. Beyond that the
 * columns grow by GROWTH_CHUNK rows.
 */
const RESERVED_ROWS = 262_144;
const GROWTH_CHUNK = 65_536;
/** Rows of the new columns after flush() (more packets after it are rare: tests, reused tables). */
const AFTER_FLUSH_ROWS = 1024;

export class FlowTable {
  /** Direction of the last packet given to update(): 0 = client to server, 1 = server to client. */
  dir: 0 | 1 = 0;
  readonly evictions = { idle: 0, cap: 0 };
  /** ICMP errors whose embedded header named no live flow. */
  orphanIcmpErrors = 0;
  /** Packets with IP but no usable transport header (truncated/malformed TCP/UDP): not in any flow. */
  unattached = 0;
  /** TCP flows ended early because a new SYN reused a finished connection's ports. */
  portReuses = 0;

  private readonly maxFlows: number;
  private readonly reservedRows: number;
  /** Idle timeout per CLASS_*. */
  private readonly idleS: Float64Array;
  private readonly onEnd: (flow: Flow) => void;
  private readonly onNew: ((flow: Flow) => void) | undefined;
  private readonly mask: number;
  private readonly seed: number;

  /** Rows of live flows, and the record of each row (undefined when free). */
  private cols: FlowColumns;
  private records: (FlowRecord | undefined)[] = [];
  /** Hash buckets: the first row (slot + 1, 0 = empty) of each chain. */
  private heads: Int32Array;
  private headMask: number;
  /** Free rows below `used`, as a stack of freeCount rows (room for every row). */
  private freeRows: Int32Array;
  private freeCount = 0;
  private used = 0;
  /**
   * LRU list per protocol class, as slot + 1 (0 = empty): head = least recently active.
   * The links (previous, next per row) are kept apart from the rows: a packet
   * relinks three flows, and this small array stays in cache where the rows would not.
   */
  private links: Int32Array;
  private readonly lruHead = new Int32Array(CLASSES);
  private readonly lruTail = new Int32Array(CLASSES);

  private readonly fragments = new Map<number, FragmentRef>();
  private readonly orphans: IcmpOrphan[] = [];
  private live = 0;
  private createdCount = 0;
  private maxTs = -Infinity;
  private nextExpiryTs = -Infinity;
  private packetsSinceExpiry = 0;
  /** Set by find(): direction of the looked-up packet relative to the found flow. */
  private foundDir: 0 | 1 = 0;

  constructor(opts: FlowTableOptions) {
    this.maxFlows = Math.max(1, opts.maxFlows ?? 250_000);
    this.idleS = Float64Array.of(opts.tcpIdleS ?? 300, opts.udpIdleS ?? 60, opts.otherIdleS ?? 60, opts.dnsIdleS ?? 10, opts.tcpClosedIdleS ?? 5);
    this.onEnd = opts.onEnd;
    this.onNew = opts.onNew;
    this.mask = (opts.hashMask ?? HASH_MASK) & HASH_MASK;
    // As a signed 32-bit number (the hashes only XOR it): a small integer in V8, not a heap number read per packet.
    this.seed = (opts.hashSeed ?? (Math.random() * 0x100000000) >>> 0) | 0;
    this.reservedRows = Math.max(1, Math.min(opts.reservedRows ?? RESERVED_ROWS, this.maxFlows));
    const rows = this.reservedRows;
    this.cols = new FlowColumns(rows);
    this.links = new Int32Array(rows * 2);
    this.freeRows = new Int32Array(rows);
    this.heads = new Int32Array(bucketsFor(rows));
    this.headMask = this.heads.length - 1;
  }

  /** Live flows. */
  get size(): number {
    return this.live;
  }

  /** Flows created so far. */
  get created(): number {
    return this.createdCount;
  }

  /** ICMP errors that named no known flow (bounded list; see orphanIcmpErrors for the count). */
  orphanErrors(): IcmpOrphan[] {
    return this.orphans;
  }

  /**
   * Find or create the flow of a decoded packet and count the packet into it.
   * Returns null for packets without IP, ICMP errors (attached to the flow they
   * name) and IP packets whose TCP/UDP header could not be decoded. Sets this.dir.
   * The packet's time is view.ts: a double argument to a call V8 does not
   * inline is a new heap number, one per packet.
   */
  update(view: PacketView, frame: number, wireLen: number): Flow | null {
    const ts = view.ts;
    // Hot path: offsets and flags as literals. V8 (Node 20) loads and hole-checks a
    // module constant at every use; table.test.ts checks these match columns.ts.
    const F_WORDS = 8, F_ACTIVE = 0, U_WORDS = 16, U_META = 2, META_CLASS_SHIFT = 16, META_CLASS_MASK = 7, IPPROTO_UDP = 17, IPPROTO_TCP = 6, TCP_SYN = 2;
    if (view.ipVersion === 0) return null;
    if (ts > this.maxTs) this.maxTs = ts;
    if (++this.packetsSinceExpiry >= EXPIRY_EVERY_PACKETS || this.maxTs >= this.nextExpiryTs) this.expireIdle();
    // Fast path: a later packet of a live IPv4 TCP/UDP flow (nearly every packet).
    const proto = view.proto;
    if (view.addrLen === 4 && (proto === IPPROTO_UDP || proto === IPPROTO_TCP) && !view.isFragment && !view.icmpInner && hasPorts(view)) {
      const sport = view.srcPort;
      const dport = view.dstPort;
      // The addresses as signed 32-bit words of the view's DataView (one bounds check each, not four).
      const dv = view.dv;
      const src4 = dv.getInt32(view.srcOff);
      const dst4 = dv.getInt32(view.dstOff);
      const slot = this.find4(flowHash4(proto, src4, sport, dst4, dport, this.seed) & this.mask, proto, src4, dst4, sport, dport);
      const cls = slot >= 0 ? (this.cols.i32[slot * U_WORDS + U_META] >>> META_CLASS_SHIFT) & META_CLASS_MASK : 0;
      if (slot >= 0 && this.maxTs - this.cols.f64[slot * F_WORDS + F_ACTIVE] <= this.idleS[cls] && (view.tcpFlags & TCP_SYN) === 0) {
        this.touch(slot, cls);
        const flow = this.records[slot]!;
        this.count(slot, flow, view, frame, wireLen);
        return flow;
      }
    }
    return this.updateSlow(view, frame, wireLen);
  }

  /** New flows, SYNs (port reuse), stale flows, fragments, ICMP errors, IPv6 and other protocols. */
  private updateSlow(view: PacketView, frame: number, wireLen: number): Flow | null {
    const ts = view.ts;
    if (view.icmpInner) {
      this.attachIcmpError(view, ts, frame);
      return null;
    }

    const proto = view.proto;
    const buf = view.buf;
    const addrLen = view.addrLen;
    const usesPorts = proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP;
    const laterFragment = view.isFragment && view.fragOffset > 0;
    let sport = 0;
    let dport = 0;
    let slot = -1;
    if (usesPorts && !laterFragment) {
      if (!hasPorts(view)) {
        this.unattached++;
        return null;
      }
      sport = view.srcPort;
      dport = view.dstPort;
    } else if (laterFragment) {
      slot = this.findFragmentFlow(view);
    }

    if (slot < 0) {
      const key = this.hashOf(proto, buf, view.srcOff, sport, view.dstOff, dport, addrLen);
      slot = this.find(key, proto, buf, view.srcOff, view.dstOff, addrLen, sport, dport);
      if (slot >= 0 && this.maxTs - this.cols.f64[slot * F_WORDS + F_ACTIVE] > this.idleS[this.classOf(slot)]) {
        // Idle longer than the timeout but not yet swept by the amortised expiry.
        this.evictions.idle++;
        this.end(slot);
        slot = -1;
      } else if (slot >= 0 && this.isPortReuse(slot, view)) {
        this.end(slot);
        slot = -1;
      }
      if (slot < 0) {
        slot = this.create(key, view, proto, sport, dport, ts, frame, usesPorts && !laterFragment);
        const flow = this.records[slot]!;
        this.count(slot, flow, view, frame, wireLen);
        this.onNew?.(flow);
        this.noteFirstFragment(flow, view);
        return flow;
      }
    }
    this.touch(slot, this.classOf(slot));
    const flow = this.records[slot]!;
    this.count(slot, flow, view, frame, wireLen);
    this.noteFirstFragment(flow, view);
    return flow;
  }

  /** End every live flow (oldest activity first). */
  flush(): void {
    // No row is reused after this, so the ended flows keep theirs (no copy into the
    // arena), and the table starts over with new columns should more packets come.
    for (let s = this.oldest(); s >= 0; s = this.oldest()) this.end(s, true);
    this.fragments.clear();
    const rows = Math.min(AFTER_FLUSH_ROWS, this.reservedRows);
    this.cols = new FlowColumns(rows);
    this.links = new Int32Array(rows * 2);
    this.heads = new Int32Array(bucketsFor(rows));
    this.headMask = this.heads.length - 1;
    this.records = [];
    this.freeRows = new Int32Array(rows);
    this.freeCount = 0;
    this.used = 0;
  }

  private classOf(slot: number): number {
    return (this.cols.i32[slot * U_WORDS + U_META] >>> META_CLASS_SHIFT) & META_CLASS_MASK;
  }

  private hashOf(proto: number, buf: Uint8Array, aOff: number, aPort: number, bOff: number, bPort: number, len: number): number {
    if (len === 4) return flowHash4(proto, readI32(buf, aOff), aPort, readI32(buf, bOff), bPort, this.seed) & this.mask;
    return combineHash(endpointHash(buf, aOff, len, aPort, this.seed), endpointHash(buf, bOff, len, bPort, this.seed), proto) & this.mask;
  }

  /** The row of a 5-tuple with hash `key`, or -1; sets foundDir. */
  private find(key: number, proto: number, buf: Uint8Array, srcOff: number, dstOff: number, addrLen: number, sport: number, dport: number): number {
    return addrLen === 4
      ? this.find4(key, proto, readI32(buf, srcOff), readI32(buf, dstOff), sport, dport)
      : this.find6(key, proto, buf, srcOff, dstOff, sport, dport);
  }

  /** find() for IPv4 addresses as signed 32-bit numbers: small enough for V8 to inline into update's fast path. */
  private find4(key: number, proto: number, src4: number, dst4: number, sport: number, dport: number): number {
    // Hot path: offsets and flags as literals. V8 (Node 20) loads and hole-checks a
    // module constant at every use; table.test.ts checks these match columns.ts.
    const U_WORDS = 16, U_KEY = 0, U_CHAIN = 1, U_META = 2, U_PORTS = 3, U_CLIENT4 = 4, U_SERVER4 = 5, META_IPV6 = 0x100;
    const u = this.cols.i32;
    const fwd = (sport << 16) | dport;
    const rev = (dport << 16) | sport;
    for (let next = this.heads[key & this.headMask]; next !== 0; ) {
      const slot = next - 1;
      const b = slot * U_WORDS;
      // The link is read before the match, on every lookup: read only past a mismatch, it had no
      // type feedback when V8 optimized update (buckets hold one flow at first), and the first
      // collision deoptimized update, updateSlow and find4 (three recompilations).
      next = u[b + U_CHAIN];
      if (u[b + U_KEY] === key && (u[b + U_META] & (0xff | META_IPV6)) === proto) {
        const ports = u[b + U_PORTS];
        if (ports === fwd && u[b + U_CLIENT4] === src4 && u[b + U_SERVER4] === dst4) {
          this.foundDir = 0;
          return slot;
        }
        if (ports === rev && u[b + U_CLIENT4] === dst4 && u[b + U_SERVER4] === src4) {
          this.foundDir = 1;
          return slot;
        }
      }
    }
    return -1;
  }

  private find6(key: number, proto: number, buf: Uint8Array, srcOff: number, dstOff: number, sport: number, dport: number): number {
    const u = this.cols.i32;
    const fwd = (sport << 16) | dport;
    const rev = (dport << 16) | sport;
    for (let next = this.heads[key & this.headMask]; next !== 0; ) {
      const slot = next - 1;
      const b = slot * U_WORDS;
      next = u[b + U_CHAIN];
      if (u[b + U_KEY] !== key || (u[b + U_META] & (0xff | META_IPV6)) !== (proto | META_IPV6)) continue;
      const ports = u[b + U_PORTS];
      const f = this.records[slot]!;
      if (ports === fwd && f.addr6Equals(0, buf, srcOff) && f.addr6Equals(1, buf, dstOff)) {
        this.foundDir = 0;
        return slot;
      }
      if (ports === rev && f.addr6Equals(1, buf, srcOff) && f.addr6Equals(0, buf, dstOff)) {
        this.foundDir = 1;
        return slot;
      }
    }
    return -1;
  }

  /** A new SYN (no ACK) on a finished TCP connection with a different ISN starts a new connection. */
  private isPortReuse(slot: number, view: PacketView): boolean {
    if ((this.cols.i32[slot * U_WORDS + U_META] & META_TCP_TRACKED) === 0) return false;
    if ((view.tcpFlags & (TCP_SYN | TCP_ACK)) !== TCP_SYN || !tcpFinished(this.cols, slot)) return false;
    if (tcpIsn(this.cols, slot, this.foundDir) === view.tcpSeq) return false;
    this.portReuses++;
    return true;
  }

  private create(key: number, view: PacketView, proto: number, sport: number, dport: number, ts: number, frame: number, hasPorts: boolean): number {
    if (this.live >= this.maxFlows) {
      const victim = this.oldest();
      if (victim >= 0) {
        this.records[victim]!.evicted = true;
        this.evictions.cap++;
        this.end(victim);
      }
    }
    const slot = this.allocRow();
    const cols = this.cols;
    const buf = view.buf;
    const len = view.addrLen;
    const flip = this.senderIsServer(view, proto, sport, dport, hasPorts);
    const cOff = flip ? view.dstOff : view.srcOff;
    const sOff = flip ? view.srcOff : view.dstOff;
    const tracked = proto === IPPROTO_TCP && hasPorts;
    const clientPort = flip ? dport : sport;
    const serverPort = flip ? sport : dport;
    const cls =
      proto === IPPROTO_TCP ? CLASS_TCP : proto !== IPPROTO_UDP ? CLASS_OTHER : dnsSessionPort[serverPort] === 1 ? CLASS_DNS : CLASS_UDP;

    cols.clear(slot, tracked);
    const b = slot * U_WORDS;
    const u = cols.i32;
    u[b + U_KEY] = key;
    u[b + U_PORTS] = (clientPort << 16) | serverPort;
    u[b + U_META] = proto | (len === 4 ? 0 : META_IPV6) | (tracked ? META_TCP_TRACKED : 0) | (cls << META_CLASS_SHIFT);
    u[b + U_FIRST_FRAME] = frame;
    cols.g64[slot * G_WORDS + G_FIRST_TS] = ts;
    cols.f64[slot * F_WORDS + F_LAST_TS] = ts;

    const flow = new FlowRecord(cols, slot, ++this.createdCount, proto, clientPort, serverPort);
    if (len === 4) {
      u[b + U_CLIENT4] = readI32(buf, cOff);
      u[b + U_SERVER4] = readI32(buf, sOff);
    } else flow.setAddr6(buf, cOff, sOff);
    if (tracked) {
      flow.midstream = (view.tcpFlags & TCP_SYN) === 0;
      if (flip) flow.history = '^';
    }
    this.records[slot] = flow;

    const h = key & this.headMask;
    u[b + U_CHAIN] = this.heads[h];
    this.heads[h] = slot + 1;
    this.lruPush(slot, cls);
    this.live++;
    this.foundDir = flip ? 1 : 0;
    return slot;
  }

  /** A free row, growing the columns (and rehashing) when all are in use. */
  private allocRow(): number {
    // The free stack is read and written the same way whether it is empty or not: rows are
    // freed only once flows end, after V8 optimized create, and a branch first taken then
    // (no type feedback) deoptimized create and updateSlow, which were compiled again.
    const n = this.freeCount;
    const below = n - 1;
    const top = this.freeRows[n > 0 ? below : 0];
    this.freeCount = n > 0 ? below : 0;
    if (n > 0) return top;
    if (this.used === this.cols.capacity) this.grow();
    return this.used++;
  }

  private grow(): void {
    const capacity = this.cols.capacity;
    const rows = Math.min(capacity + GROWTH_CHUNK, Math.max(this.maxFlows, capacity + 1));
    this.cols.grow(rows);
    const links = new Int32Array(rows * 2);
    links.set(this.links);
    this.links = links;
    const freeRows = new Int32Array(rows);
    freeRows.set(this.freeRows);
    this.freeRows = freeRows;
    const buckets = bucketsFor(rows);
    if (buckets === this.heads.length) return;
    this.heads = new Int32Array(buckets);
    this.headMask = this.heads.length - 1;
    const u = this.cols.i32;
    for (let slot = 0; slot < this.used; slot++) {
      if (this.records[slot] === undefined) continue;
      const b = slot * U_WORDS;
      const h = u[b + U_KEY] & this.headMask;
      u[b + U_CHAIN] = this.heads[h];
      this.heads[h] = slot + 1;
    }
  }

  /** Orientation of a new flow's first packet: true when its sender is the server. */
  private senderIsServer(view: PacketView, proto: number, sport: number, dport: number, hasPorts: boolean): boolean {
    if (proto === IPPROTO_TCP && hasPorts) {
      const f = view.tcpFlags;
      if (f & TCP_SYN) return (f & TCP_ACK) !== 0;
    } else if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      // An echo reply first: the peer sent the request.
      return view.icmpType === (proto === IPPROTO_ICMP ? 0 : 129);
    }
    // Both ports looked up on every call (0/1 each: the sender's is a server port and the receiver's
    // not): a lookup first made late, without type feedback, deoptimized create and updateSlow.
    return serverPort[sport] - serverPort[dport] === 1;
  }

  /** Count one packet into a flow (direction = this.foundDir). */
  private count(slot: number, flow: FlowRecord, view: PacketView, frame: number, wireLen: number): void {
    // Hot path: offsets and flags as literals. V8 (Node 20) loads and hole-checks a
    // module constant at every use; table.test.ts checks these match columns.ts.
    const U_WORDS = 16, U_META = 2, U_PACKETS = 6, U_LAST_FRAME = 8, U_EVIDENCE_COUNT = 9, META_TCP_TRACKED = 0x200;
    const F_WORDS = 8, F_ACTIVE = 0, F_LAST_TS = 1, F_DIR_FIRST_TS = 2, F_BYTES = 4, F_PAYLOAD = 6, X_WORDS = 36, X_EVIDENCE = 0;
    const FIRST_EVIDENCE_FRAMES = 8, MAX_EVIDENCE_FRAMES = 16, TCP_SYN_FIN_RST = 7;
    const ts = view.ts;
    const dir = this.foundDir;
    this.dir = dir;
    // Signed view: counters and frame numbers stay small integers (readers use the unsigned view).
    const u = this.cols.i32;
    const f = this.cols.f64;
    const b = slot * U_WORDS;
    const fb = slot * F_WORDS;
    f[fb + F_ACTIVE] = this.maxTs;
    if (ts > f[fb + F_LAST_TS]) f[fb + F_LAST_TS] = ts;
    u[b + U_LAST_FRAME] = frame;
    u[b + U_PACKETS + dir]++;
    f[fb + F_BYTES + dir] += wireLen;
    f[fb + F_PAYLOAD + dir] += view.payloadWireLen;
    if (f[fb + F_DIR_FIRST_TS + dir] !== f[fb + F_DIR_FIRST_TS + dir]) f[fb + F_DIR_FIRST_TS + dir] = ts;
    const tracked = (u[b + U_META] & META_TCP_TRACKED) !== 0;
    const n = u[b + U_EVIDENCE_COUNT];
    // Both tests are made for every packet: made only past the first frames, they had no type
    // feedback when V8 optimized count (early), and the first flow to get there deoptimized it.
    const belowMax = n < MAX_EVIDENCE_FRAMES;
    const control = (view.tcpFlags & TCP_SYN_FIN_RST) !== 0;
    if (n < FIRST_EVIDENCE_FRAMES || (belowMax && tracked && control)) {
      this.cols.x32[slot * X_WORDS + X_EVIDENCE + n] = frame;
      u[b + U_EVIDENCE_COUNT] = n + 1;
    }
    // Later fragments and headers cut before the flags are counted, not tracked.
    if (tracked && view.tcpHeaderLen !== 0 && !(view.isFragment && view.fragOffset > 0)) {
      tcpPacket(flow, dir, view);
      if ((view.tcpFlags & 5) !== 0) this.closeCheck(slot); // FIN or RST: the only packets that close
    }
  }

  /** A TCP connection just closed (both FINs, or a RST) moves to the short closed-connection timeout. */
  private closeCheck(slot: number): void {
    if (this.classOf(slot) !== CLASS_TCP || !tcpFinished(this.cols, slot)) return;
    const u = this.cols.i32;
    const b = slot * U_WORDS + U_META;
    this.lruRemove(slot, CLASS_TCP);
    u[b] = (u[b] & ~(META_CLASS_MASK << META_CLASS_SHIFT)) | (CLASS_TCP_CLOSED << META_CLASS_SHIFT);
    this.lruPush(slot, CLASS_TCP_CLOSED);
  }

  // ---- LRU lists (slot + 1 links in the rows) ----

  // links[2 * slot] = previous, links[2 * slot + 1] = next (slot + 1, 0 = none).
  private lruPush(slot: number, cls: number): void {
    const l = this.links;
    const tail = this.lruTail[cls];
    l[2 * slot] = tail;
    l[2 * slot + 1] = 0;
    if (tail !== 0) l[2 * tail - 1] = slot + 1;
    else this.lruHead[cls] = slot + 1;
    this.lruTail[cls] = slot + 1;
  }

  private lruRemove(slot: number, cls: number): void {
    const l = this.links;
    const heads = this.lruHead;
    const tails = this.lruTail;
    const prev = l[2 * slot];
    const next = l[2 * slot + 1];
    const first = prev === 0;
    const last = next === 0;
    const prevNextAt = 2 * prev - 1;
    const nextPrevAt = 2 * (next - 1);
    // The same loads, arithmetic and stores for a flow at either end of its list or between (values
    // are selected, not code): removing the last flow happens first when flows end, after V8 compiled
    // this into the per-packet touch, and a branch taken only then deoptimized it and the flow-end path.
    (first ? heads : l)[first ? cls : prevNextAt] = next;
    (last ? tails : l)[last ? cls : nextPrevAt] = prev;
  }

  /** Move a flow to the most recently active end of its list. */
  private touch(slot: number, cls: number): void {
    if (this.lruTail[cls] === slot + 1) return;
    this.lruRemove(slot, cls);
    this.lruPush(slot, cls);
  }

  /** Remove a flow from the table and report it (onEnd reads the row in place); `keepRow`: the row is never reused (flush), so the flow keeps it. */
  private end(slot: number, keepRow = false): void {
    const flow = this.records[slot];
    if (flow === undefined) return;
    const u = this.cols.i32;
    const b = slot * U_WORDS;
    this.lruRemove(slot, this.classOf(slot));
    // Unlink it from its bucket's chain. One walk for every flow, whose first step is made even when
    // the flow heads the bucket, and whose link is written the same way either way (values are
    // selected, not code): buckets hold one flow when V8 compiles this, and a branch first taken at a
    // collision deoptimized end and the flow-end code it inlines.
    const h = u[b + U_KEY] & this.headMask;
    const heads = this.heads;
    let before = 0; // the flow before it in the chain (slot + 1; 0: it heads the bucket)
    let at = 0;
    let after = heads[h];
    do {
      before = at;
      at = after;
      after = u[(at - 1) * U_WORDS + U_CHAIN];
    } while (at > 0 && at !== slot + 1);
    const headed = before === 0;
    const linkAt = (before - 1) * U_WORDS + U_CHAIN;
    if (at === slot + 1) (headed ? heads : u)[headed ? h : linkAt] = after;
    this.records[slot] = undefined;
    this.live--;
    this.onEnd(flow);
    if (keepRow) return;
    // A flow its owner released in onEnd (the engine's) gives its row back as is;
    // one still referenced gets a copy of the row before the slot is reused.
    if (flow.slot === slot) flow.detach();
    this.freeRows[this.freeCount++] = slot;
  }

  /** Least recently active live flow across the protocol classes, or -1. */
  private oldest(): number {
    let best = -1;
    let bestTs = Infinity;
    const f = this.cols.f64;
    for (let cls = 0; cls < CLASSES; cls++) {
      const h = this.lruHead[cls];
      if (h !== 0 && (best < 0 || f[(h - 1) * F_WORDS + F_ACTIVE] < bestTs)) {
        best = h - 1;
        bestTs = f[best * F_WORDS + F_ACTIVE];
      }
    }
    return best;
  }

  private expireIdle(): void {
    this.packetsSinceExpiry = 0;
    this.nextExpiryTs = this.maxTs + 1;
    for (let cls = 0; cls < CLASSES; cls++) {
      const limit = this.maxTs - this.idleS[cls];
      for (let h = this.lruHead[cls]; h !== 0 && this.cols.f64[(h - 1) * F_WORDS + F_ACTIVE] < limit; h = this.lruHead[cls]) {
        this.evictions.idle++;
        this.end(h - 1);
      }
    }
  }

  // ---- fragments ----

  private fragmentKey(view: PacketView): number {
    // Symmetric is not needed (fragments of one datagram share a direction); ports are 0.
    const h = endpointHash(view.buf, view.srcOff, view.addrLen, view.proto, this.seed);
    return combineHash(h, endpointHash(view.buf, view.dstOff, view.addrLen, view.ipId & 0xffff, this.seed ^ (view.ipId >>> 16)), view.proto);
  }

  /** Remember the flow of a first fragment so the later ones (no ports) join it. */
  private noteFirstFragment(flow: FlowRecord, view: PacketView): void {
    if (!view.isFragment || view.fragOffset !== 0) return;
    const key = this.fragmentKey(view);
    if (this.fragments.size >= MAX_FRAGMENT_REFS && !this.fragments.has(key)) {
      const oldest = this.fragments.keys().next();
      if (!oldest.done) this.fragments.delete(oldest.value);
    }
    this.fragments.set(key, { flow, ipId: view.ipId });
  }

  /** The live row of a later fragment's datagram, or -1; sets foundDir. */
  private findFragmentFlow(view: PacketView): number {
    const ref = this.fragments.get(this.fragmentKey(view));
    if (ref === undefined || ref.ipId !== view.ipId) return -1;
    const f = ref.flow;
    if (f.c !== this.cols || this.records[f.slot] !== f) return -1;
    const buf = view.buf;
    const len = view.addrLen;
    if (f.proto !== view.proto || (f.ipVersion === 4) !== (len === 4)) return -1;
    if (sameAddr(f, 0, buf, view.srcOff, len) && sameAddr(f, 1, buf, view.dstOff, len)) this.foundDir = 0;
    else if (sameAddr(f, 1, buf, view.srcOff, len) && sameAddr(f, 0, buf, view.dstOff, len)) this.foundDir = 1;
    else return -1;
    if (this.maxTs - this.cols.f64[f.slot * F_WORDS + F_ACTIVE] > this.idleS[this.classOf(f.slot)]) return -1;
    return f.slot;
  }

  // ---- ICMP errors ----

  private attachIcmpError(view: PacketView, ts: number, frame: number): void {
    const version = view.ipVersion as 4 | 6;
    const innerLen = view.innerVersion === 4 ? 4 : view.innerVersion === 6 ? 16 : 0;
    const proto = view.innerProto;
    const usesPorts = proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP;
    const sport = usesPorts ? view.innerSrcPort : 0;
    const dport = usesPorts ? view.innerDstPort : 0;
    const buf = view.buf;
    let slot = -1;
    if (innerLen > 0) {
      const key = this.hashOf(proto, buf, view.innerSrcOff, sport, view.innerDstOff, dport, innerLen);
      slot = this.find(key, proto, buf, view.innerSrcOff, view.innerDstOff, innerLen, sport, dport);
    }
    const reporter = formatIp(buf, view.srcOff, view.addrLen);
    if (slot >= 0) {
      const errors = this.records[slot]!.icmpErrors;
      if (errors.length < MAX_ICMP_ERRORS_PER_FLOW) {
        const ev: IcmpErrorEvent = { ts, frame, version, type: view.icmpType, code: view.icmpCode, reporter };
        errors.push(ev);
      }
      return;
    }
    this.orphanIcmpErrors++;
    if (this.orphans.length >= MAX_ORPHAN_ICMP_ERRORS) return;
    this.orphans.push({
      ts,
      frame,
      version,
      type: view.icmpType,
      code: view.icmpCode,
      reporter,
      proto,
      src: innerLen > 0 ? formatIp(buf, view.innerSrcOff, innerLen) : '',
      srcPort: sport,
      dst: innerLen > 0 ? formatIp(buf, view.innerDstOff, innerLen) : '',
      dstPort: dport,
    });
  }
}

/** Hash buckets for `rows` rows: a power of two, at least twice the rows. */
function bucketsFor(rows: number): number {
  let n = 16;
  while (n < rows * 2) n *= 2;
  return n;
}

/** The flow's client (side 0) or server (side 1) address equals the `len` bytes at buf[off]. */
function sameAddr(f: FlowRecord, side: 0 | 1, buf: Uint8Array, off: number, len: number): boolean {
  if (len === 4) return readI32(buf, off) === (side === 0 ? f.client4i : f.server4i);
  return f.addr6Equals(side, buf, off);
}

/** A stand-alone Flow record (not in a table) with every counter zero and every annotation unset (addresses copied). */
export function newFlow(
  uid: string,
  proto: number,
  ipVersion: 4 | 6,
  clientAddr: Uint8Array,
  serverAddr: Uint8Array,
  clientPort: number,
  serverPort: number,
  ts: number,
): FlowRecord {
  const slot = detachedRows.takeRow();
  const cols = detachedRows.cols;
  cols.clear(slot, proto === IPPROTO_TCP);
  const id = /^F\d+$/.test(uid) ? Number(uid.slice(1)) : 0;
  const flow = new FlowRecord(cols, slot, id, proto, clientPort, serverPort);
  if (flow.uid !== uid) flow.uid = uid;
  if (clientAddr.length === 4) {
    cols.i32[slot * U_WORDS + U_CLIENT4] = readI32(clientAddr, 0);
    cols.i32[slot * U_WORDS + U_SERVER4] = readI32(serverAddr, 0);
  } else {
    const both = new Uint8Array(32);
    both.set(clientAddr);
    both.set(serverAddr, 16);
    flow.setAddr6(both, 0, 16);
  }
  const tracked = proto === IPPROTO_TCP;
  cols.i32[slot * U_WORDS + U_META] = proto | (clientAddr.length === 4 ? 0 : META_IPV6) | (tracked ? META_TCP_TRACKED : 0);
  cols.i32[slot * U_WORDS + U_PORTS] = (clientPort << 16) | serverPort;
  flow.firstTs = ts;
  flow.lastTs = ts;
  return flow;
}
