/**
 * TLS and DTLS handshake analyzer: fills flow.tls (SNI, ALPN, versions,
 * hello frames, alerts, server certificate) from the cleartext start of
 * each connection.
 *
 * TCP, any port: both directions are reassembled from the ISN (a bounded
 * prefix) and walked by TlsStreamParser. A flow is dropped as soon as the
 * first client bytes are not a TLS handshake record, or the server speaks
 * first; once both directions are encrypted (or given up) the flow is done
 * and its buffers freed, so later packets cost one field read (the state
 * lives in flow.tlsState).
 *
 * UDP: datagrams that parse as DTLS records; epoch-0 handshake messages and
 * alerts are read until the handshake is over.
 */
import type { Analyzer, PacketContext } from '../engine/analyzer.js';
import { newTlsInfo, type Flow, type TlsInfo } from '../flow/flow.js';
import { PrefixReassembler, type ReassemblyOptions, type StreamPrefix } from '../flow/reassembly.js';
import { IPPROTO_TCP, IPPROTO_UDP, TCP_SYN } from '../decode/view.js';
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

/** Per direction as named fields rather than pairs: one object per live TLS flow instead of three. */
interface TcpState {
  clientStream: StreamPrefix;
  serverStream: StreamPrefix;
  clientParser: TlsStreamParser;
  serverParser: TlsStreamParser;
  /** The client prefix started like a TLS handshake. */
  tls: boolean;
}

interface DtlsState {
  assemblers: [DtlsHandshakeAssembler, DtlsHandshakeAssembler];
  datagrams: number;
  /** Bit per direction that sent an encrypted record. */
  encryptedDirs: number;
}

/** Marks a flow that needs no more work. */
const DONE = Symbol('done');

export class TlsAnalyzer implements Analyzer, TlsHandshakeHandler {
  readonly name = 'tls';
  private readonly reassembler: PrefixReassembler;
  /** The packet being parsed, for the handler callbacks. */
  private ctx: PacketContext | null = null;
  private parsingDtls = false;

  constructor(opts: ReassemblyOptions = {}) {
    this.reassembler = new PrefixReassembler(opts);
  }

  /** Stream prefixes dropped to stay within the reassembly memory bound. */
  get evictions(): number {
    return this.reassembler.evictions;
  }

  onPacket(ctx: PacketContext): void {
    const flow = ctx.flow;
    if (!flow || ctx.view.fragOffset > 0) return; // later IP fragments carry no transport header
    if (flow.proto === IPPROTO_TCP) this.onTcp(ctx, flow);
    else if (flow.proto === IPPROTO_UDP && ctx.view.payloadLen > 0) this.onUdp(ctx, flow);
  }

  onFlowEnd(flow: Flow): void {
    const st = flow.tlsState as TcpState | DtlsState | typeof DONE | undefined;
    if (st !== undefined && st !== DONE && 'clientStream' in st) this.releaseTcp(st);
    flow.tlsState = undefined;
  }

  private onTcp(ctx: PacketContext, flow: Flow): void {
    const view = ctx.view;
    const syn = (view.tcpFlags & TCP_SYN) !== 0;
    let st = flow.tlsState as TcpState | typeof DONE | undefined;
    if (st === DONE) return;
    if (!st) {
      if (!syn && view.payloadLen === 0) return;
      st = {
        clientStream: this.reassembler.open(),
        serverStream: this.reassembler.open(),
        clientParser: new TlsStreamParser(),
        serverParser: new TlsStreamParser(),
        tls: false,
      };
      flow.tlsState = st;
    }
    const dir = ctx.dir;
    const stream = dir === 0 ? st.clientStream : st.serverStream;
    const added = stream.segment(view.tcpSeq, syn, view.buf, view.payloadOff, view.payloadLen);
    if (added > 0 && !st.tls) {
      // Decide on the first bytes: the client must open with a handshake record.
      if (dir === 1 || stream.length < 3) {
        if (dir === 1) this.finishTcp(flow, st);
        return;
      }
      if (!looksLikeTlsHandshake(stream.bytes(), 0, stream.length)) {
        this.finishTcp(flow, st);
        return;
      }
      st.tls = true;
      flow.tls ??= newTlsInfo(false);
      flow.tags.add('tls');
    }
    if (!st.tls) return;
    const parser = dir === 0 ? st.clientParser : st.serverParser;
    if (added > 0 && !parser.done) {
      this.begin(ctx, false);
      parser.feed(stream.bytes(), stream.length, this, stream.offset);
      stream.consume(parser.position - stream.offset); // parsed bytes are not needed again
      this.ctx = null;
      if (parser.failed) ctx.weird('tls-bad-record');
    }
    if (directionOver(st.clientStream, st.clientParser) && directionOver(st.serverStream, st.serverParser)) this.finishTcp(flow, st);
  }

  private finishTcp(flow: Flow, st: TcpState): void {
    this.releaseTcp(st);
    flow.tlsState = DONE;
  }

  private releaseTcp(st: TcpState): void {
    this.reassembler.release(st.clientStream);
    this.reassembler.release(st.serverStream);
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
    return (this.ctx!.flow!.tls ??= newTlsInfo(this.parsingDtls));
  }

  // ---- TlsHandshakeHandler: called synchronously while this.ctx is set ----

  onClientHello(h: ClientHello): void {
    const ctx = this.ctx!;
    const info = this.info();
    if (info.clientHelloFrame !== null) return;
    info.clientHelloFrame = ctx.frame;
    info.clientHelloTs = ctx.ts;
    info.sni = h.sni;
    info.alpn = h.alpn ? h.alpn.slice() : null;
    if (h.sniCount > 1) ctx.weird('tls-many-server-names');
    if (h.ech) ctx.flow!.tags.add('tls-ech');
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
  }

  onCertificate(c: CertificateSummary): void {
    const info = this.info();
    if (info.certSubject !== null) return;
    info.certSubject = c.subject;
    info.certIssuer = c.issuer;
    info.certSans = c.sans.length ? c.sans.slice() : null;
  }

  onAlert(level: number, description: number): void {
    const ctx = this.ctx!;
    const alerts = this.info().alerts;
    if (alerts.length < MAX_ALERTS) alerts.push({ frame: ctx.frame, fromClient: ctx.dir === 0, level, description });
  }
}

/** Nothing more can be learned from this direction. */
function directionOver(stream: StreamPrefix, parser: TlsStreamParser): boolean {
  return parser.done || stream.full || stream.evicted;
}
