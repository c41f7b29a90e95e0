/**
 * The flow table: bidirectional flows keyed by (proto, addresses, ports) with a
 * symmetric hash, Zeek-style orientation and conn_state, ICMP errors attached to
 * the flow they name, idle eviction per protocol class and a hard cap.
 * See docs/flows.md for the rules.
 *
 * Hot path (a packet of a known flow): one hash, one Map lookup, a few field
 * compares and counter updates; no allocation, no strings.
 */
import { MAX_EVIDENCE_FRAMES, type Flow, type IcmpErrorEvent } from './flow.js';
import { FlowRecord, readU32 } from './record.js';
import { addrEquals, endpointHash, combineHash, HASH_MASK } from './hash.js';
import { TcpTracker, udpConnState } from './tcp-state.js';
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
  /** Called exactly once per flow: idle eviction, cap eviction (flow.evicted = true), TCP port reuse, or flush(). */
  onEnd: (flow: Flow) => void;
  /** Called once when a flow is created, after its first packet was counted. */
  onNew?: (flow: Flow) => void;
  /** Test hook: AND-ed into every hash (0 forces every flow into one bucket). */
  hashMask?: number;
  /** Hash seed; random by default so crafted traffic cannot aim at one bucket. */
  hashSeed?: number;
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

const CLASS_TCP = 0;
const CLASS_UDP = 1;
const CLASS_OTHER = 2;

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

/** The flow's client (side 0) or server (side 1) address equals the `len` bytes at buf[off]. */
function sameAddr(f: FlowRecord, side: 0 | 1, buf: Uint8Array, off: number, len: number): boolean {
  if (len === 4) return readU32(buf, off) === (side === 0 ? f.client4 : f.server4);
  return addrEquals(buf, off, (side === 0 ? f.client6 : f.server6)!);
}

/** The transport header's ports were captured (Wireshark shows ports from a header cut after them too). */
function hasPorts(view: PacketView): boolean {
  const ipEnd = view.ipOff + view.ipTotalLen;
  const end = view.end < ipEnd ? view.end : ipEnd;
  return view.l4Off !== 0 && view.l4Off + 4 <= end;
}

/** Table bookkeeping around a Flow: bucket key, LRU links, TCP state. */
class Entry {
  prev: Entry | null = null;
  next: Entry | null = null;
  /** Max capture time seen when the flow was last active (monotone, so LRU order = time order). */
  lastActive = 0;
  live = true;
  constructor(
    readonly flow: FlowRecord,
    readonly key: number,
    readonly cls: number,
    readonly tcp: TcpTracker | null,
  ) {}
}

/** Doubly-linked LRU list: head = least recently active. */
class LruList {
  head: Entry | null = null;
  tail: Entry | null = null;

  push(e: Entry): void {
    e.prev = this.tail;
    e.next = null;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
  }

  remove(e: Entry): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
  }

  touch(e: Entry): void {
    if (this.tail === e) return;
    this.remove(e);
    this.push(e);
  }
}

interface FragmentRef {
  entry: Entry;
  ipId: number;
}

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
  private readonly idleS: [number, number, number];
  private readonly onEnd: (flow: Flow) => void;
  private readonly onNew: ((flow: Flow) => void) | undefined;
  private readonly mask: number;
  private readonly seed: number;

  private readonly buckets = new Map<number, Entry | Entry[]>();
  private readonly lru: [LruList, LruList, LruList] = [new LruList(), new LruList(), new LruList()];
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
    this.idleS = [opts.tcpIdleS ?? 300, opts.udpIdleS ?? 60, opts.otherIdleS ?? 60];
    this.onEnd = opts.onEnd;
    this.onNew = opts.onNew;
    this.mask = (opts.hashMask ?? HASH_MASK) & HASH_MASK;
    this.seed = (opts.hashSeed ?? (Math.random() * 0x100000000) >>> 0) >>> 0;
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
   */
  update(view: PacketView, ts: number, frame: number, wireLen: number): Flow | null {
    if (view.ipVersion === 0) return null;
    if (ts > this.maxTs) this.maxTs = ts;
    if (++this.packetsSinceExpiry >= EXPIRY_EVERY_PACKETS || this.maxTs >= this.nextExpiryTs) this.expireIdle();

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
    let entry: Entry | null = null;
    if (usesPorts && !laterFragment) {
      if (!hasPorts(view)) {
        this.unattached++;
        return null;
      }
      sport = view.srcPort;
      dport = view.dstPort;
    } else if (laterFragment) {
      entry = this.findFragmentFlow(view);
    }

    if (entry === null) {
      const key = this.hashOf(proto, buf, view.srcOff, sport, view.dstOff, dport, addrLen);
      entry = this.find(key, proto, buf, view.srcOff, view.dstOff, addrLen, sport, dport);
      if (entry !== null && this.maxTs - entry.lastActive > this.idleS[entry.cls]) {
        // Idle longer than the timeout but not yet swept by the amortised expiry.
        this.evictions.idle++;
        this.end(entry);
        entry = null;
      } else if (entry !== null && this.isPortReuse(entry, view)) {
        this.end(entry);
        entry = null;
      }
      if (entry === null) {
        entry = this.create(key, view, proto, sport, dport, ts, frame, usesPorts && !laterFragment);
        this.count(entry, view, ts, frame, wireLen);
        this.onNew?.(entry.flow);
        this.noteFirstFragment(entry, view);
        return entry.flow;
      }
    }
    this.lru[entry.cls].touch(entry);
    this.count(entry, view, ts, frame, wireLen);
    this.noteFirstFragment(entry, view);
    return entry.flow;
  }

  /** End every live flow (oldest activity first). */
  flush(): void {
    for (let e = this.oldest(); e !== null; e = this.oldest()) this.end(e);
    this.fragments.clear();
  }

  private hashOf(proto: number, buf: Uint8Array, aOff: number, aPort: number, bOff: number, bPort: number, len: number): number {
    const ha = endpointHash(buf, aOff, len, aPort, this.seed);
    const hb = endpointHash(buf, bOff, len, bPort, this.seed);
    return combineHash(ha, hb, proto) & this.mask;
  }

  /** Look a 5-tuple up in the bucket `key`; sets foundDir. */
  private find(key: number, proto: number, buf: Uint8Array, srcOff: number, dstOff: number, addrLen: number, sport: number, dport: number): Entry | null {
    const b = this.buckets.get(key);
    if (b === undefined) return null;
    if (!Array.isArray(b)) return this.matches(b, proto, buf, srcOff, dstOff, addrLen, sport, dport) ? b : null;
    for (let i = 0; i < b.length; i++) {
      if (this.matches(b[i], proto, buf, srcOff, dstOff, addrLen, sport, dport)) return b[i];
    }
    return null;
  }

  private matches(e: Entry, proto: number, buf: Uint8Array, srcOff: number, dstOff: number, addrLen: number, sport: number, dport: number): boolean {
    const f = e.flow;
    if (f.proto !== proto || (f.ipVersion === 4) !== (addrLen === 4)) return false;
    if (f.clientPort === sport && f.serverPort === dport && sameAddr(f, 0, buf, srcOff, addrLen) && sameAddr(f, 1, buf, dstOff, addrLen)) {
      this.foundDir = 0;
      return true;
    }
    if (f.clientPort === dport && f.serverPort === sport && sameAddr(f, 1, buf, srcOff, addrLen) && sameAddr(f, 0, buf, dstOff, addrLen)) {
      this.foundDir = 1;
      return true;
    }
    return false;
  }

  /** A new SYN (no ACK) on a finished TCP connection with a different ISN starts a new connection. */
  private isPortReuse(e: Entry, view: PacketView): boolean {
    const tcp = e.tcp;
    if (tcp === null || (view.tcpFlags & (TCP_SYN | TCP_ACK)) !== TCP_SYN || !tcp.finished()) return false;
    const isn = tcp.isnOf(this.foundDir);
    if (isn === view.tcpSeq) return false;
    this.portReuses++;
    return true;
  }

  private create(key: number, view: PacketView, proto: number, sport: number, dport: number, ts: number, frame: number, hasPorts: boolean): Entry {
    if (this.live >= this.maxFlows) {
      const victim = this.oldest();
      if (victim !== null) {
        victim.flow.evicted = true;
        this.evictions.cap++;
        this.end(victim);
      }
    }
    const buf = view.buf;
    const len = view.addrLen;
    const flip = this.senderIsServer(view, proto, sport, dport, hasPorts);
    const cOff = flip ? view.dstOff : view.srcOff;
    const sOff = flip ? view.srcOff : view.dstOff;
    const tcp = proto === IPPROTO_TCP && hasPorts ? new TcpTracker() : null;
    const flow = new FlowRecord(`F${++this.createdCount}`, proto, view.ipVersion as 4 | 6, flip ? dport : sport, flip ? sport : dport, ts);
    flow.setAddresses(buf, cOff, sOff, len);
    flow.firstFrame = frame;
    flow.clientIp = formatIp(buf, cOff, len);
    flow.serverIp = formatIp(buf, sOff, len);
    if (tcp !== null) {
      flow.midstream = (view.tcpFlags & TCP_SYN) === 0;
      if (flip) flow.history = '^';
    }
    const cls = proto === IPPROTO_TCP ? CLASS_TCP : proto === IPPROTO_UDP ? CLASS_UDP : CLASS_OTHER;
    const e = new Entry(flow, key, cls, tcp);
    const b = this.buckets.get(key);
    if (b === undefined) this.buckets.set(key, e);
    else if (Array.isArray(b)) b.push(e);
    else this.buckets.set(key, [b, e]);
    this.lru[cls].push(e);
    this.live++;
    this.foundDir = flip ? 1 : 0;
    return e;
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
    return serverPort[sport] === 1 && serverPort[dport] === 0;
  }

  /** Count one packet into a flow (direction = this.foundDir). */
  private count(e: Entry, view: PacketView, ts: number, frame: number, wireLen: number): void {
    const f = e.flow;
    const dir = this.foundDir;
    this.dir = dir;
    e.lastActive = this.maxTs;
    if (ts > f.lastTs) f.lastTs = ts;
    f.lastFrame = frame;
    f.packets[dir]++;
    f.bytes[dir] += wireLen;
    f.payloadBytes[dir] += view.payloadWireLen;
    if (f.dirFirstTs[dir] === null) f.dirFirstTs[dir] = ts;
    const tcp = e.tcp;
    const control = tcp !== null && (view.tcpFlags & (TCP_SYN | TCP_FIN | TCP_RST)) !== 0;
    if (f.frames.length < FIRST_EVIDENCE_FRAMES || (control && f.frames.length < MAX_EVIDENCE_FRAMES)) f.frames.push(frame);
    if (tcp !== null) {
      // Later fragments and headers cut before the flags are counted, not tracked.
      if (view.tcpHeaderLen !== 0 && !(view.isFragment && view.fragOffset > 0)) {
        tcp.packet(f, dir, view.tcpFlags, view.tcpSeq, view.tcpWindow, view.payloadWireLen, ts);
      }
    } else if (f.proto === IPPROTO_UDP) f.state = udpConnState(f);
  }

  /** Remove a flow from the table and report it. */
  private end(e: Entry): void {
    if (!e.live) return;
    e.live = false;
    this.lru[e.cls].remove(e);
    const b = this.buckets.get(e.key);
    if (b === e) this.buckets.delete(e.key);
    else if (Array.isArray(b)) {
      const i = b.indexOf(e);
      if (i >= 0) b.splice(i, 1);
      if (b.length === 1) this.buckets.set(e.key, b[0]);
    }
    this.live--;
    this.onEnd(e.flow);
  }

  /** Least recently active live flow across the protocol classes. */
  private oldest(): Entry | null {
    let best: Entry | null = null;
    for (const list of this.lru) {
      const h = list.head;
      if (h !== null && (best === null || h.lastActive < best.lastActive)) best = h;
    }
    return best;
  }

  private expireIdle(): void {
    this.packetsSinceExpiry = 0;
    this.nextExpiryTs = this.maxTs + 1;
    for (let cls = 0; cls < 3; cls++) {
      const list = this.lru[cls];
      const limit = this.maxTs - this.idleS[cls];
      for (let h = list.head; h !== null && h.lastActive < limit; h = list.head) {
        this.evictions.idle++;
        this.end(h);
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
  private noteFirstFragment(e: Entry, view: PacketView): void {
    if (!view.isFragment || view.fragOffset !== 0) return;
    const key = this.fragmentKey(view);
    if (this.fragments.size >= MAX_FRAGMENT_REFS && !this.fragments.has(key)) {
      const oldest = this.fragments.keys().next();
      if (!oldest.done) this.fragments.delete(oldest.value);
    }
    this.fragments.set(key, { entry: e, ipId: view.ipId });
  }

  private findFragmentFlow(view: PacketView): Entry | null {
    const ref = this.fragments.get(this.fragmentKey(view));
    if (ref === undefined || !ref.entry.live || ref.ipId !== view.ipId) return null;
    const f = ref.entry.flow;
    const buf = view.buf;
    const len = view.addrLen;
    if (f.proto !== view.proto || (f.ipVersion === 4) !== (len === 4)) return null;
    if (sameAddr(f, 0, buf, view.srcOff, len) && sameAddr(f, 1, buf, view.dstOff, len)) this.foundDir = 0;
    else if (sameAddr(f, 1, buf, view.srcOff, len) && sameAddr(f, 0, buf, view.dstOff, len)) this.foundDir = 1;
    else return null;
    if (this.maxTs - ref.entry.lastActive > this.idleS[ref.entry.cls]) return null;
    return ref.entry;
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
    let e: Entry | null = null;
    if (innerLen > 0) {
      const key = this.hashOf(proto, buf, view.innerSrcOff, sport, view.innerDstOff, dport, innerLen);
      e = this.find(key, proto, buf, view.innerSrcOff, view.innerDstOff, innerLen, sport, dport);
    }
    const reporter = formatIp(buf, view.srcOff, view.addrLen);
    if (e !== null) {
      const errors = e.flow.icmpErrors;
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

/** A fresh Flow record with every counter zero and every annotation unset (addresses copied). */
export function newFlow(
  uid: string,
  proto: number,
  ipVersion: 4 | 6,
  clientAddr: Uint8Array,
  serverAddr: Uint8Array,
  clientPort: number,
  serverPort: number,
  ts: number,
): Flow {
  const len = clientAddr.length;
  const both = new Uint8Array(2 * len);
  both.set(clientAddr);
  both.set(serverAddr, len);
  const flow = new FlowRecord(uid, proto, ipVersion, clientPort, serverPort, ts);
  flow.setAddresses(both, 0, len, len);
  return flow;
}
