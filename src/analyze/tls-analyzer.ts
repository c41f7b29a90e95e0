/**
 * TLS and DTLS handshake analyzer: fills flow.tls (SNI, ALPN, versions,
 * hello frames, alerts, server certificate) from the cleartext start of
 * each connection.
 *
 * TCP, any port: each direction is walked by a TlsStreamParser from the ISN.
 * In-order segments are parsed straight from the packet; only bytes the
 * parser cannot take yet (a record cut by the segment end, data after a
 * hole) go into a bounded stream prefix, freed once it is taken. A flow is
 * dropped as soon as the first client bytes are not a TLS handshake record,
 * or the server speaks first. Once the hellos (and, before TLS 1.3, the
 * server certificate) are read, handshake records are skipped unbuffered;
 * alerts are still read until both directions are encrypted (or given up),
 * then the state is dropped, so later packets cost one field read. An idle
 * connection waiting for its peer holds no object and no buffer: flow.tlsState
 * is its slot in a table of int32s (TcpSlots: each direction parked as three
 * numbers and a state byte); a finished one holds only its TlsInfo.
 *
 * UDP: datagrams that parse as DTLS records; epoch-0 handshake messages and
 * alerts are read until the handshake is over.
 */
import type { Analyzer, PacketContext } from '../engine/analyzer.js';
import type { Flow, TlsInfo } from '../flow/flow.js';
import { NO_ALERTS, TlsInfoRecord } from '../flow/tls-info.js';
import { TcpSlots } from './tcp-slots.js';
import { PrefixReassembler, type ReassemblyOptions, type StreamPrefix } from '../flow/reassembly.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../decode/view.js';
import {
  TlsStreamParser,
  looksLikeTlsHandshake,
  tlsVersionName,
  type CertificateSummary,
  type ClientHello,
  type ServerHello,
  type TlsHandshakeHandler,
} from '../decode/tls.js';
import {
  DTLS_ENCRYPTED,
  DtlsHandshakeAssembler,
  looksLikeDtlsRecord,
  scanDtlsDatagram,
} from '../decode/dtls.js';

/** Alerts kept per flow. */
const MAX_ALERTS = 16;
/** DTLS datagrams examined per flow before giving up on a handshake that never ends. */
const MAX_DTLS_DATAGRAMS = 256;
const TLS_1_3 = 0x0304;

/** A TCP direction being parsed: its parser, origin, and the bytes the parser could not take yet. */
class TcpDirection extends TlsStreamParser {
  /** Sequence number of stream offset 0 (int32). */
  origin = 0;
  /** Bytes after a hole, or the start of a record cut by a segment end; null while the parser has taken everything. */
  stream: StreamPrefix | null = null;

  /** Bytes are waiting here, so the direction cannot be parked as numbers. */
  get busy(): boolean {
    return this.stream !== null || this.holdsBytes;
  }
}

/*
 * A TCP connection's flags (the low byte of its slot's first word, see
 * tcp-slots.ts), written as literals where used: TLS = 1 (the client opened
 * with a handshake record), CLIENT_SEEN = 2 << dir (the direction's origin is
 * fixed), CLIENT_OVER = 8 << dir (nothing more to learn from it).
 */

/**
 * A TCP connection's TLS state while a direction holds bytes (a record cut
 * by a segment end, data after a hole): that direction keeps a TcpDirection
 * of its own. Otherwise (the usual case between packets) flow.tlsState is
 * just the connection's slot in the analyzer's TcpSlots, and each direction
 * is parsed with the analyzer's one scratch TcpDirection.
 */
class BusyTcp {
  client: TcpDirection | null = null;
  server: TcpDirection | null = null;
  constructor(readonly slot: number) {}
}

/** flow.tlsState of a TCP flow being parsed. */
type TcpState = number | BusyTcp;

interface DtlsState {
  assemblers: [DtlsHandshakeAssembler, DtlsHandshakeAssembler];
  datagrams: number;
  /** Bit per direction that sent an encrypted record. */
  encryptedDirs: number;
}

/** Marks a flow that needs no more work. */
const DONE = Symbol('done');

/** The first byte of a plaintext DTLS record (content type 20–25), which looksLikeDtlsRecord() checks first. */
function mayStartDtls(b: number): boolean {
  return b >= 20 && b <= 25;
}

export class TlsAnalyzer implements Analyzer, TlsHandshakeHandler {
  readonly name = 'tls';
  private readonly reassembler: PrefixReassembler;
  /** The packet being parsed, for the handler callbacks. */
  private ctx: PacketContext | null = null;
  private parsingDtls = false;
  /** The TCP direction being parsed, for the handler callbacks. */
  private parser: TlsStreamParser | null = null;
  /** Parses every TCP direction that holds no bytes of its own (see TcpState). */
  private scratch = new TcpDirection();
  /** The numbers of every TCP connection being parsed. */
  private readonly slots = new TcpSlots();
  /** take(): the new contiguous bytes, src[srcFrom, srcTo) = stream offsets [srcBase, …), from the packet or a stream prefix. */
  private src: Uint8Array = new Uint8Array(0);
  private srcFrom = 0;
  private srcTo = 0;
  private srcBase = 0;

  constructor(opts: ReassemblyOptions = {}) {
    this.reassembler = new PrefixReassembler(opts);
  }

  /** TCP connections being parsed (each holds a slot until it is finished or ends). */
  get tcpConnections(): number {
    return this.slots.size;
  }

  /** Stream prefixes dropped to stay within the reassembly memory bound. */
  get evictions(): number {
    return this.reassembler.evictions;
  }

  /**
   * Kept small, so that the engine's per-packet function inlines it: a
   * finished flow, or a UDP datagram of a flow not (yet) DTLS that does not
   * start with a DTLS record's content type (RTP, nearly every packet), costs
   * a field read and a byte test, not a call.
   */
  onPacket(ctx: PacketContext): void {
    const flow = ctx.flow;
    if (flow === null) return;
    const st = flow.tlsState;
    // typeof, not `=== DONE` (DONE is the slot's only symbol): with numbers and objects in the slot
    // too, V8 compiled that comparison as a call to its generic StrictEqual, per packet.
    if (typeof st === 'symbol') return;
    const view = ctx.view;
    if (st === undefined && view.proto === IPPROTO_UDP && !mayStartDtls(view.buf[view.payloadOff])) return;
    this.onFlowPacket(ctx, flow);
  }

  private onFlowPacket(ctx: PacketContext, flow: Flow): void {
    if (ctx.view.fragOffset > 0) return; // later IP fragments carry no transport header
    if (flow.proto === IPPROTO_TCP) this.onTcp(ctx, flow);
    else if (flow.proto === IPPROTO_UDP && ctx.view.payloadLen > 0) this.onUdp(ctx, flow);
  }

  onFlowEnd(flow: Flow): void {
    const st = flow.tlsState;
    if (typeof st === 'number' || st instanceof BusyTcp) this.releaseTcp(st);
    flow.tlsState = undefined;
  }

  private onTcp(ctx: PacketContext, flow: Flow): void {
    // Hot path: the slot layout and flags as literals. V8 (Node 20) loads and hole-checks
    // a module constant or import at every use; tls-analyzer.test.ts checks these.
    const TCP_SYN = 2, CHUNK_SHIFT = 12, CHUNK_SLOTS = 4096, SLOT_WORDS = 7, CLIENT_SEEN = 2, CLIENT_OVER = 8, SERVER_OVER = 16;
    const view = ctx.view;
    const syn = (view.tcpFlags & TCP_SYN) !== 0;
    const st = flow.tlsState as TcpState | undefined; // onPacket() returned on DONE
    let slot: number;
    let busy: BusyTcp | null = null;
    if (typeof st === 'number') slot = st;
    else if (st === undefined) {
      if (!syn && view.payloadLen === 0) return;
      slot = this.slots.alloc();
      flow.tlsState = slot;
    } else {
      busy = st;
      slot = st.slot;
    }
    // The slot's words: flags at `at`, then per direction origin, position, record bytes left.
    const words = this.slots.chunks[slot >>> CHUNK_SHIFT];
    const at = (slot & (CHUNK_SLOTS - 1)) * SLOT_WORDS;
    const dir = ctx.dir;
    const seen = CLIENT_SEEN << dir;
    if ((words[at] & seen) === 0) {
      // The first packet of a direction fixes its origin (SYN: ISN + 1; else its seq, for a flow picked up mid-stream).
      words[at] |= seen;
      words[at + 1 + 3 * dir] = (syn ? view.tcpSeq + 1 : view.tcpSeq) | 0;
    }
    if (view.payloadLen === 0) return;
    const d = this.unpark(words, at, busy, dir);
    const finish = this.parseSegment(ctx, flow, words, at, d, syn);
    if (directionOver(d, this.reassembler.cap)) words[at] |= CLIENT_OVER << dir;
    this.park(flow, slot, words, at, busy, dir, d);
    if (finish || (words[at] & (CLIENT_OVER | SERVER_OVER)) === (CLIENT_OVER | SERVER_OVER)) this.finishTcp(flow);
  }

  /** Parse the packet's segment in direction d; true when the connection turned out not to be TLS. words[at]: the slot's flags. */
  private parseSegment(ctx: PacketContext, flow: Flow, words: Int32Array, at: number, d: TcpDirection, syn: boolean): boolean {
    const view = ctx.view;
    if (d.done || !this.take(d, view.tcpSeq, syn, view.buf, view.payloadOff, view.payloadLen)) return false;
    const TLS = 1;
    if (!(words[at] & TLS)) {
      // Decide on the first bytes: the client must open with a handshake record.
      if (ctx.dir === 1) return true;
      if (this.srcTo - this.srcFrom < 3) {
        this.keepRest(d, this.srcBase);
        return false;
      }
      if (!looksLikeTlsHandshake(this.src, this.srcFrom, this.srcTo)) return true;
      words[at] |= TLS;
      flow.tls ??= new TlsInfoRecord(false);
    }
    this.begin(ctx, false);
    this.parser = d;
    d.feed(this.src, this.srcFrom, this.srcTo, this.srcBase, this);
    this.parser = null;
    this.ctx = null;
    if (d.failed) ctx.weird('tls-bad-record');
    this.keepRest(d, d.position);
    return false;
  }

  /** The direction's parser: its own when it holds bytes, else the scratch one loaded with its parked numbers (slot words from `at`). */
  private unpark(words: Int32Array, at: number, busy: BusyTcp | null, dir: number): TcpDirection {
    const own = busy === null ? null : dir === 0 ? busy.client : busy.server;
    if (own !== null) return own;
    const d = this.scratch;
    const w = at + 1 + 3 * dir;
    d.origin = words[w];
    d.restore(words[w + 1], words[w + 2], (words[at] >>> (8 + 8 * dir)) & 0xff);
    return d;
  }

  /**
   * After a segment: a direction holding bytes keeps its parser object (the
   * flow's state becomes a BusyTcp); an idle one is saved as numbers in the
   * slot (as tcp-slots.ts lays them out) and its object dropped (the state
   * is back to the bare slot once neither holds bytes).
   */
  private park(flow: Flow, slot: number, words: Int32Array, at: number, busy: BusyTcp | null, dir: number, d: TcpDirection): void {
    if (d.busy) {
      if (d === this.scratch) this.scratch = new TcpDirection();
      if (busy === null) flow.tlsState = busy = new BusyTcp(slot);
      if (dir === 0) busy.client = d;
      else busy.server = d;
      return;
    }
    const shift = 8 + 8 * dir;
    words[at] = (words[at] & ~(0xff << shift)) | ((d.state & 0xff) << shift);
    words[at + 2 + 3 * dir] = d.position;
    words[at + 3 + 3 * dir] = d.recordRemaining;
    if (busy === null) return;
    if (dir === 0) busy.client = null;
    else busy.server = null;
    if (busy.client === null && busy.server === null) flow.tlsState = slot;
  }

  /**
   * Add a segment of direction d and point src* at its new contiguous bytes:
   * the packet itself when it continues where the parser stopped (the usual
   * case, nothing copied), else the stream prefix. False when nothing new is
   * contiguous (a retransmission, or bytes after a hole, kept until it fills).
   */
  private take(d: TcpDirection, seq: number, syn: boolean, buf: Uint8Array, off: number, len: number): boolean {
    const stream = d.stream;
    if (stream) {
      if (stream.segment(seq, syn, buf, off, len) === 0) return false;
      this.src = stream.bytes();
      this.srcFrom = 0;
      this.srcTo = stream.length;
      this.srcBase = stream.offset;
      return true;
    }
    let start = ((syn ? seq + 1 : seq) - d.origin) | 0; // signed 32-bit distance handles wrap-around
    const end = Math.min(start + len, this.reassembler.cap);
    if (start < 0) {
      off -= start; // bytes before the origin are cut off
      start = 0;
    }
    const pos = d.position;
    if (end <= pos) return false;
    if (start > pos) {
      d.stream = this.reassembler.openAt(d.origin, pos);
      d.stream.segment(seq, syn, buf, off, len);
      return false;
    }
    this.src = buf;
    this.srcFrom = off + (pos - start);
    this.srcTo = off + (end - start);
    this.srcBase = pos;
    return true;
  }

  /**
   * After parsing up to stream offset `parsed`: drop what the stream prefix
   * no longer needs, or keep what the packet still holds. A direction that is
   * done keeps nothing (an evicted stream stays, as the mark that it is over).
   */
  private keepRest(d: TcpDirection, parsed: number): void {
    const stream = d.stream;
    if (stream) {
      stream.consume(parsed - stream.offset);
      if ((d.done || (stream.length === 0 && !stream.hasGap)) && !stream.evicted) {
        this.reassembler.release(stream);
        d.stream = null;
      }
      return;
    }
    const end = this.srcBase + (this.srcTo - this.srcFrom);
    if (parsed >= end || d.done) return;
    d.stream = this.reassembler.openAt(d.origin, parsed);
    d.stream.segment((d.origin + parsed) | 0, false, this.src, this.srcFrom + (parsed - this.srcBase), end - parsed);
  }

  private finishTcp(flow: Flow): void {
    this.releaseTcp(flow.tlsState as TcpState);
    flow.tlsState = DONE;
  }

  /** Give back the connection's slot and stream prefixes. */
  private releaseTcp(st: TcpState): void {
    if (typeof st === 'number') {
      this.slots.free(st);
      return;
    }
    if (st.client?.stream) this.reassembler.release(st.client.stream);
    if (st.server?.stream) this.reassembler.release(st.server.stream);
    this.slots.free(st.slot);
  }

  private onUdp(ctx: PacketContext, flow: Flow): void {
    let st = flow.tlsState as DtlsState | typeof DONE | undefined;
    if (st === DONE) return;
    const view = ctx.view;
    const end = view.payloadOff + view.payloadLen;
    // A flow becomes DTLS with a plaintext record; DTLS 1.3 unified headers only count after that.
    if (!st && !looksLikeDtlsRecord(view.buf, view.payloadOff, end)) return;
    if (st && ++st.datagrams > MAX_DTLS_DATAGRAMS) {
      flow.tlsState = DONE;
      return;
    }
    if (!st) {
      st = { assemblers: [new DtlsHandshakeAssembler(), new DtlsHandshakeAssembler()], datagrams: 1, encryptedDirs: 0 };
      flow.tlsState = st;
      flow.tags.add('dtls');
    }
    this.begin(ctx, true);
    const bits = scanDtlsDatagram(view.buf, view.payloadOff, end, this, st.assemblers[ctx.dir]);
    this.ctx = null;
    if (bits & DTLS_ENCRYPTED) st.encryptedDirs |= 1 << ctx.dir;
    if (st.encryptedDirs === 3 && flow.tls?.serverHelloFrame != null) flow.tlsState = DONE;
  }

  private begin(ctx: PacketContext, dtls: boolean): void {
    this.ctx = ctx;
    this.parsingDtls = dtls;
  }

  /** The flow's TlsInfo, created by the first handshake message or alert (DTLS application data alone makes none). */
  private info(): TlsInfo {
    return (this.ctx!.flow!.tls ??= new TlsInfoRecord(this.parsingDtls));
  }

  /** A TCP direction whose handshake messages tell nothing more: its records are skipped from now on. */
  private handshakeRead(dir: number): void {
    if (this.parser !== null && this.ctx!.dir === dir) this.parser.skipHandshakes();
  }

  // ---- TlsHandshakeHandler: called synchronously while this.ctx is set ----

  onClientHello(h: ClientHello): void {
    const ctx = this.ctx!;
    const info = this.info();
    if (info.clientHelloFrame !== null) return;
    info.clientHelloFrame = ctx.frame;
    info.clientHelloTs = ctx.ts;
    info.sni = h.sni;
    info.alpn = h.alpn; // interned and frozen by the parser: shared, not copied
    if (h.sniCount > 1) ctx.weird('tls-many-server-names');
    if (h.ech) ctx.flow!.tags.add('tls-ech');
    this.handshakeRead(0);
  }

  onServerHello(h: ServerHello): void {
    const ctx = this.ctx!;
    const info = this.info();
    if (info.serverHelloFrame !== null) return;
    if (h.helloRetryRequest) {
      ctx.flow!.tags.add('tls-hello-retry');
      return;
    }
    info.serverHelloFrame = ctx.frame;
    info.serverHelloTs = ctx.ts;
    info.version = tlsVersionName(h.version) ?? `0x${h.version.toString(16).padStart(4, '0')}`;
    if (h.version >= TLS_1_3) this.handshakeRead(1); // the certificate is encrypted
  }

  onCertificate(c: CertificateSummary): void {
    const info = this.info();
    if (info.certSubject !== null) return;
    info.certSubject = c.subject;
    info.certIssuer = c.issuer;
    info.certSans = c.sans.length ? c.sans.slice() : null;
    this.handshakeRead(1);
  }

  onAlert(level: number, description: number): void {
    const ctx = this.ctx!;
    const info = this.info();
    if (info.alerts === NO_ALERTS) info.alerts = [];
    if (info.alerts.length < MAX_ALERTS) info.alerts.push({ frame: ctx.frame, fromClient: ctx.dir === 0, level, description });
  }
}

/** Nothing more can be learned from this direction. */
function directionOver(d: TcpDirection, cap: number): boolean {
  if (d.done) return true;
  // All the contiguous bytes were parsed when no stream prefix is open.
  return d.stream !== null ? d.stream.full || d.stream.evicted : d.position >= cap;
}
