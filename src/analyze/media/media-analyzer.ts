/**
 * The media analyzer: demultiplexes every UDP payload per RFC 7983 (STUN,
 * DTLS, TURN ChannelData, RTP/RTCP), finds RTP streams heuristically (no SDP
 * needed), analyses them as Wireshark does (rtp-stream.ts), attaches RTCP
 * report blocks and STUN round trips, and at the end groups flows into calls
 * (calls.ts). docs/media.md has the definitions.
 *
 * Per RTP packet the work is O(1) and allocation-free: the flow's media
 * state is its `flow.mediaState` slot, which caches per direction the SSRC
 * and the StreamColumns row of the stream the previous packet went to; a
 * packet with that SSRC goes straight to analyseRow (stream-row.ts), without
 * reading the stream object. Other packets (another SSRC, a candidate, a
 * stream still buffering or sampling G.711 payload) take the object path, a
 * scan of the flow's small stream array by direction + SSRC. Flows on ports
 * that never carry media are marked NOT_MEDIA on their first packet. The
 * per-flow state is made on the first packet that counts as media (a parsed
 * RTP, RTCP, STUN, DTLS or ChannelData packet), so other UDP flows cost nothing.
 */
import type { Analyzer, PacketContext } from '../../engine/analyzer.js';
import type { Flow } from '../../flow/flow.js';
import type { Policy } from '../../policy/types.js';
import type { ReportCall, ReportRtpStream } from '../../report/schema.js';
import type { StreamEndpoints } from './rtp-stream.js';
import { DEMUX_DTLS, DEMUX_RTCP, DEMUX_RTP, DEMUX_STUN, DEMUX_TURN_CHANNEL, demuxUdp } from '../../decode/demux.js';
import { parseRtp, parseRtcp, RtcpCompound, RtpHeader, rtpPayloadOffset } from '../../decode/rtp.js';
import { parseStun, StunMessage, ChannelData, parseChannelData } from '../../decode/stun.js';
import { isDtlsVersion } from '../../decode/dtls.js';
import { IPPROTO_UDP } from '../../decode/view.js';
import { plausiblePayloadType } from './codecs.js';
import { OFFER_ACCEPTED, RtpStream, type StreamTable } from './rtp-stream.js';
import { analyseRow, D_LAST_TS, ROW_F64, RtpPacket, StreamColumns } from './stream-row.js';
import { StunTransactions } from './stun-rtt.js';
import { buildCalls, type MediaFlow } from './calls.js';

export interface MediaAnalyzerOptions {
  policy: Policy;
  internal: { containsIp(ip: string): boolean };
  /** Accepted streams kept at once (default 10 000); the idlest are evicted first. */
  maxStreams?: number;
  /** Timeline points per stream (default 600). */
  timelineMaxPoints?: number;
}

/** Unaccepted SSRC candidates kept per flow. */
const MAX_CANDIDATES = 8;
/** Candidates a flow may create without any being accepted before the RTP heuristic gives up on it. */
const MAX_FAILED_CANDIDATES = 64;
/** Ports whose payload is never media (DNS, mDNS, LLMNR, NetBIOS, DHCP), as a table indexed by port. */
const NEVER_MEDIA = new Uint8Array(65536);
for (const port of [53, 5353, 5355, 137, 138, 67, 68]) NEVER_MEDIA[port] = 1;
const DTLS_HANDSHAKE = 22;
/** Entropy (bits/byte) of G.711 payload below which it is cleartext, at or above which it is encrypted. */
const CLEARTEXT_ENTROPY = 7.0;
const ENCRYPTED_ENTROPY = 7.6;

/** Media state of one live flow (flow.mediaState). */
class FlowMedia implements MediaFlow {
  /**
   * Per direction (client, server): the SSRC (signed) of the stream the last
   * RTP packet went to, and that stream's row when its packets go straight
   * to analyseRow (else -1).
   */
  ssrc0 = 0;
  row0 = -1;
  ssrc1 = 0;
  row1 = -1;
  /** firstTs !== 0, read per packet instead of the boxed double. */
  private hasFirst = false;
  /**
   * The row whose D_LAST_TS is the flow's last media time (its stream took
   * the last media packet, straight on the row), else -1 and the time is in
   * ownLastTs: so a packet analysed on a row writes no double here.
   */
  private lastRow = -1;
  /** Time of the first media packet (0 until one with a non-zero time). */
  firstTs = 0;
  private ownLastTs = 0;
  streams: RtpStream[] = [];
  /** Endpoints of the streams sent by the client / by the server, shared by them. */
  private ends0: StreamEndpoints | null = null;
  private ends1: StreamEndpoints | null = null;
  candidates = 0;
  failedCandidates = 0;
  rtpPackets = 0;
  rtcpPackets = 0;
  srtcpPackets = 0;
  stunPackets = 0;
  dtlsPackets = 0;
  turnChannelPackets = 0;
  dtlsHandshake = false;
  stun: StunTransactions | null = null;
  edge: string | null = null;
  cls: string | null = null;
  /** Packets per direction of the whole flow (client, server), copied at flow end. */
  packets: [number, number] = [0, 0];

  constructor(
    private readonly cols: StreamTable,
    readonly uid: string,
    readonly clientIp: string,
    readonly clientPort: number,
    readonly serverIp: string,
    readonly serverPort: number,
  ) {}

  /** Time of the last media packet. */
  get lastTs(): number {
    return this.lastRow >= 0 ? this.cols.f64[this.lastRow * ROW_F64 + D_LAST_TS] : this.ownLastTs;
  }

  /** A media packet (RTP of an accepted stream, RTCP, STUN, DTLS) at ts. */
  touch(ts: number): void {
    if (this.hasFirst !== true) this.noteFirst(ts);
    this.ownLastTs = ts;
    this.lastRow = -1;
  }

  /** An RTP packet analysed straight on row: the row's D_LAST_TS is its time (no double argument: see RtpPacket). */
  touchRow(row: number, pkt: RtpPacket): void {
    // `!== true`, not `!`: V8 tests a field it does not know to be a boolean against every falsy kind.
    if (this.hasFirst !== true) this.noteFirst(pkt.ts);
    this.lastRow = row;
  }

  private noteFirst(ts: number): void {
    this.firstTs = ts;
    this.hasFirst = ts !== 0;
  }

  get acceptedStreams(): RtpStream[] {
    return this.streams.filter((s) => s.accepted);
  }

  endsFor(dir: 0 | 1): StreamEndpoints {
    if (dir === 0) {
      return (this.ends0 ??= { srcIp: this.clientIp, srcPort: this.clientPort, dstIp: this.serverIp, dstPort: this.serverPort, flowUid: this.uid });
    }
    return (this.ends1 ??= { srcIp: this.serverIp, srcPort: this.serverPort, dstIp: this.clientIp, dstPort: this.clientPort, flowUid: this.uid });
  }

  findStream(dir: 0 | 1, ssrcBits: number): RtpStream | null {
    const streams = this.streams;
    for (let i = 0; i < streams.length; i++) {
      const s = streams[i];
      if (s.ssrcBits === ssrcBits && s.dir === dir) return s;
    }
    return null;
  }

  /** Remember where the last packet of a direction went. */
  cache(dir: 0 | 1, s: RtpStream): void {
    if (dir === 0) {
      this.ssrc0 = s.ssrcBits;
      this.row0 = s.directRow;
    } else {
      this.ssrc1 = s.ssrcBits;
      this.row1 = s.directRow;
    }
  }

  /** Drop a stream (its row is about to be given back). */
  removeStream(s: RtpStream): void {
    this.streams.splice(this.streams.indexOf(s), 1);
    if (s.row >= 0 && this.lastRow === s.row) {
      this.ownLastTs = this.lastTs;
      this.lastRow = -1;
    }
    if (s.row >= 0 && this.row0 === s.row) this.row0 = -1;
    if (s.row >= 0 && this.row1 === s.row) this.row1 = -1;
  }
}

/**
 * flow.mediaState of a flow on a port that never carries media. An object,
 * not a symbol: with only objects and undefined in the slot, V8 compares it
 * per packet as one pointer, where a symbol made it call its generic StrictEqual.
 */
const NOT_MEDIA: { readonly notMedia: true } = Object.freeze({ notMedia: true });
/** What flow.mediaState holds: nothing yet, the flow's media state, or NOT_MEDIA. */
type MediaSlot = FlowMedia | typeof NOT_MEDIA | undefined;

export class MediaAnalyzer implements Analyzer {
  readonly name = 'media';
  /** Media state of the live flows, in order of creation (the same objects as their flow.mediaState). */
  private readonly live = new Set<FlowMedia>();
  private readonly ended: FlowMedia[] = [];
  /** Accepted streams, for RTCP lookup by SSRC (RTCP may use another 5-tuple). */
  private readonly bySsrc = new Map<number, RtpStream[]>();
  /** The per-packet state of the accepted streams, one row each. */
  private readonly cols: StreamTable = new StreamColumns<RtpStream>();
  private acceptedCount = 0;
  private readonly maxStreams: number;
  private readonly timelineMaxPoints: number;
  evictions = 0;
  private finished = false;
  private callList: ReportCall[] = [];
  private streamList: ReportRtpStream[] = [];

  private readonly rtp = new RtpHeader();
  private readonly pkt = new RtpPacket();
  private readonly rtcp = new RtcpCompound();
  private readonly stunMsg = new StunMessage();
  private readonly channel = new ChannelData();

  constructor(private readonly opts: MediaAnalyzerOptions) {
    this.maxStreams = opts.maxStreams ?? 10_000;
    this.timelineMaxPoints = opts.timelineMaxPoints ?? 600;
  }

  /** Streams accepted so far (for progress displays). */
  get streamCount(): number {
    return this.acceptedCount;
  }

  /** Kept small, so that the engine's per-packet function inlines it (a flow that is no media costs no call). */
  onPacket(ctx: PacketContext): void {
    const flow = ctx.flow;
    if (flow !== null && flow.mediaState !== NOT_MEDIA && ctx.view.proto === IPPROTO_UDP) this.onUdp(ctx, flow);
  }

  private onUdp(ctx: PacketContext, flow: Flow): void {
    const view = ctx.view;
    if (view.payloadLen === 0) return;
    // NOT_MEDIA was ruled out by onPacket.
    const state = flow.mediaState as FlowMedia | undefined;
    if (state === undefined && (NEVER_MEDIA[flow.serverPort] === 1 || NEVER_MEDIA[flow.clientPort] === 1)) {
      flow.mediaState = NOT_MEDIA;
      return;
    }
    const buf = view.buf;
    const off = view.payloadOff;
    const end = off + view.payloadLen;
    // RTP (nearly every media packet) skips demux() and parseRtp(): one check of its bytes, no stores.
    if (rtpPayloadOffset(buf, off, end) >= 0) this.onRtp(state ?? null, flow, ctx, buf, off, end);
    else this.demux(state ?? null, flow, ctx, buf, off, end, true);
  }

  /** The flow's media state, made on its first media packet. */
  private mediaOf(fm: FlowMedia | null, flow: Flow): FlowMedia {
    return fm !== null ? fm : this.newFlowMedia(flow);
  }

  private newFlowMedia(flow: Flow): FlowMedia {
    const fm = new FlowMedia(this.cols, flow.uid, flow.clientIp, flow.clientPort, flow.serverIp, flow.serverPort);
    flow.mediaState = fm;
    this.live.add(fm);
    return fm;
  }

  private demux(state: FlowMedia | null, flow: Flow, ctx: PacketContext, buf: Uint8Array, off: number, end: number, outer: boolean): void {
    const kind = demuxUdp(buf, off, end);
    let fm: FlowMedia;
    switch (kind) {
      case DEMUX_RTP:
        if (end > buf.length) end = buf.length; // as parseRtp does
        if (rtpPayloadOffset(buf, off, end) >= 0) this.onRtp(state, flow, ctx, buf, off, end);
        return;
      case DEMUX_RTCP:
        this.onRtcp(state, flow, ctx, buf, off, end);
        return;
      case DEMUX_STUN:
        if (!parseStun(buf, off, end, this.stunMsg) || !this.stunMsg.magic) return;
        fm = this.mediaOf(state, flow);
        fm.stunPackets++;
        fm.touch(ctx.ts);
        (fm.stun ??= new StunTransactions()).onMessage(buf, this.stunMsg, ctx.dir, ctx.ts);
        return;
      case DEMUX_DTLS:
        if (end - off < 13 || !isDtlsVersion((buf[off + 1] << 8) | buf[off + 2])) return;
        fm = this.mediaOf(state, flow);
        fm.dtlsPackets++;
        fm.touch(ctx.ts);
        if (buf[off] === DTLS_HANDSHAKE) fm.dtlsHandshake = true;
        return;
      case DEMUX_TURN_CHANNEL:
        if (!outer || !parseChannelData(buf, off, end, false, this.channel) || this.channel.truncated) return;
        fm = this.mediaOf(state, flow);
        fm.turnChannelPackets++;
        this.demux(fm, flow, ctx, buf, this.channel.dataOff, this.channel.dataOff + this.channel.dataLen, false);
        return;
    }
  }

  /** An RTP packet at buf[off..end) that rtpPayloadOffset() accepted: its fixed header is read here. */
  private onRtp(state: FlowMedia | null, flow: Flow, ctx: PacketContext, buf: Uint8Array, off: number, end: number): void {
    // Literals, not the module constants (see stream-row.ts): ROW_I32, I_STREAM and SAMPLING.
    const ROW_I32 = 48, I_STREAM = 23, SAMPLING = 0x10000;
    // The fixed header as three 32-bit words of the packet view's DataView (buf is ctx.view.buf; rtpPayloadOffset
    // checked the 12 bytes are there): one bounds check per word instead of one per byte.
    const dv = ctx.view.dv;
    const w0 = dv.getInt32(off); // V P X CC, M PT, sequence number
    const b1 = (w0 >>> 16) & 0xff;
    const pt = b1 & 0x7f;
    if (!plausiblePayloadType(pt)) return;
    const fm = this.mediaOf(state, flow);
    const dir = ctx.dir;
    // The SSRC as a signed 32-bit integer, as RtpStream.ssrcBits.
    const ssrcBits = dv.getInt32(off + 8);
    const pkt = this.pkt;
    pkt.ts = ctx.ts;
    pkt.seq = w0 & 0xffff;
    pkt.rawTs = dv.getUint32(off + 4);
    pkt.pt = pt;
    pkt.marker = b1 >= 0x80;
    pkt.ipBytes = ctx.view.ipTotalLen;
    pkt.frame = ctx.frame;
    let row = dir === 0 ? (fm.ssrc0 === ssrcBits ? fm.row0 : -1) : fm.ssrc1 === ssrcBits ? fm.row1 : -1;
    // G.711 payload still sampled for the cleartext heuristic goes through the stream object.
    if (row < 0 || ((pt === 0 || pt === 8) && (this.cols.i32[row * ROW_I32 + I_STREAM] & SAMPLING) !== 0)) {
      parseRtp(buf, off, end, this.rtp); // accepted: the same checks as rtpPayloadOffset()
      row = this.onRtpObject(fm, dir, ssrcBits, buf);
    }
    // One call site for both paths: the first packets of every stream take the object path, and a
    // call first made later (no type feedback when V8 compiled onRtp) deoptimized onRtp and onUdp.
    if (row >= 0) {
      analyseRow(this.cols, row, pkt);
      fm.touchRow(row, pkt);
    }
  }

  /**
   * The packet in this.rtp / this.pkt through the stream objects: a new SSRC, a candidate, a stream
   * buffering or sampling. Returns the row the packet is to be analysed on (-1: buffered, or nothing to do).
   */
  private onRtpObject(fm: FlowMedia, dir: 0 | 1, ssrcBits: number, buf: Uint8Array): number {
    const h = this.rtp;
    const pkt = this.pkt;
    let s = fm.findStream(dir, ssrcBits);
    if (s === null) {
      if (fm.failedCandidates >= MAX_FAILED_CANDIDATES) return -1;
      s = this.newCandidate(fm, dir, h.ssrc);
    }
    s.samplePayload(buf, h.payloadOff, h.payloadLen, pkt.pt);
    const wasAccepted = s.accepted;
    const offered = s.offer(pkt);
    if (offered === OFFER_ACCEPTED) this.onAccepted(fm, s);
    fm.cache(dir, s);
    if (offered >= 0) return offered;
    if (wasAccepted || s.accepted) fm.touch(pkt.ts);
    return -1;
  }

  private newCandidate(fm: FlowMedia, dir: 0 | 1, ssrc: number): RtpStream {
    if (fm.candidates >= MAX_CANDIDATES) {
      // Replace the oldest unaccepted candidate.
      fm.removeStream(fm.streams.find((c) => !c.accepted)!);
      fm.candidates--;
      fm.failedCandidates++;
    }
    const s = new RtpStream(this.cols, ssrc, dir, fm.endsFor(dir), this.timelineMaxPoints);
    fm.streams.push(s);
    fm.candidates++;
    return s;
  }

  private onAccepted(fm: FlowMedia, s: RtpStream): void {
    fm.candidates--;
    fm.failedCandidates = 0;
    if (this.acceptedCount >= this.maxStreams) this.evictIdlest();
    this.acceptedCount++;
    let list = this.bySsrc.get(s.ssrc);
    if (list === undefined) this.bySsrc.set(s.ssrc, (list = []));
    list.push(s);
  }

  /** Drop the accepted stream with the oldest last packet (ended flows' streams are the idlest). */
  private evictIdlest(): void {
    let victim: RtpStream | null = null;
    let owner: FlowMedia | null = null;
    const consider = (fm: FlowMedia): void => {
      for (const s of fm.streams) {
        if (s.accepted && (victim === null || s.lastTs < victim.lastTs)) {
          victim = s;
          owner = fm;
        }
      }
    };
    for (const fm of this.ended) consider(fm);
    if (victim === null) for (const fm of this.live.values()) consider(fm);
    if (victim === null || owner === null) return;
    const v: RtpStream = victim;
    const o: FlowMedia = owner;
    o.removeStream(v);
    v.release();
    const list = this.bySsrc.get(v.ssrc);
    if (list) {
      list.splice(list.indexOf(v), 1);
      if (list.length === 0) this.bySsrc.delete(v.ssrc);
    }
    this.acceptedCount--;
    this.evictions++;
  }

  /**
   * Plain RTCP: report blocks describe a stream sent toward the reporter;
   * SRs are remembered on the sender's stream for LSR/DLSR round trips.
   * SRTCP (bytes after the last packet: E flag, index, auth tag; or an
   * encrypted, unparsable second packet) is only counted.
   */
  private onRtcp(state: FlowMedia | null, flow: Flow, ctx: PacketContext, buf: Uint8Array, off: number, end: number): void {
    const r = this.rtcp;
    if (!parseRtcp(buf, off, end, r)) return;
    const fm = this.mediaOf(state, flow);
    fm.touch(ctx.ts);
    if (r.trailingBytes > 0 || r.truncated) {
      fm.srtcpPackets++;
      return;
    }
    fm.rtcpPackets++;
    const srcIp = ctx.dir === 0 ? flow.clientIp : flow.serverIp;
    if (r.srCount > 0) {
      const sender = this.findStream(r.senderSsrc, srcIp, true);
      if (sender) sender.noteSenderReport(((r.ntpSec & 0xffff) * 65536 + (r.ntpFrac >>> 16)) >>> 0, ctx.ts);
    }
    for (let i = 0; i < r.blocks; i++) {
      const reported = this.findStream(r.source[i], srcIp, false);
      if (!reported) continue;
      reported.noteReceiverView(r.fractionLost[i], r.cumulativeLost[i], r.jitter[i]);
      reported.noteRoundTrip(r.lsr[i], r.dlsr[i], ctx.ts);
    }
  }

  /** The accepted stream with this SSRC sent by (bySender) or toward ip. */
  private findStream(ssrc: number, ip: string, bySender: boolean): RtpStream | null {
    const list = this.bySsrc.get(ssrc);
    if (list === undefined) return null;
    for (const s of list) if ((bySender ? s.ends.srcIp : s.ends.dstIp) === ip) return s;
    return null;
  }

  onFlowEnd(flow: Flow): void {
    const fm = flow.mediaState as MediaSlot;
    flow.mediaState = undefined;
    if (!(fm instanceof FlowMedia)) return; // nothing yet, or NOT_MEDIA
    this.live.delete(fm);
    fm.edge = flow.edge;
    fm.cls = flow.cls;
    fm.packets = [flow.packets[0], flow.packets[1]];
    this.endFlow(fm);
    for (const s of fm.streams) fm.rtpPackets += s.totalNr;
    const tags: string[] = [];
    if (fm.rtpPackets) tags.push(`${fm.rtpPackets} RTP`);
    if (fm.rtcpPackets) tags.push(`${fm.rtcpPackets} RTCP`);
    if (fm.srtcpPackets) tags.push(`${fm.srtcpPackets} SRTCP`);
    if (fm.stunPackets) tags.push(`${fm.stunPackets} STUN`);
    if (fm.dtlsPackets) tags.push(`${fm.dtlsPackets} DTLS`);
    if (fm.turnChannelPackets) tags.push(`${fm.turnChannelPackets} TURN ChannelData`);
    if (fm.rtpPackets) flow.tags.add('media:rtp');
    if (fm.rtcpPackets || fm.srtcpPackets) flow.tags.add('media:rtcp');
    if (fm.stunPackets) flow.tags.add('media:stun');
    if (fm.dtlsPackets) flow.tags.add('media:dtls');
    if (fm.turnChannelPackets) flow.tags.add('media:turn');
    if (tags.length) flow.notes.push(`media: ${tags.join(', ')}`);
  }

  private endFlow(fm: FlowMedia): void {
    fm.streams = fm.acceptedStreams;
    fm.candidates = 0;
    for (const s of fm.streams) {
      s.finish();
      s.srtp = this.srtpVerdict(fm, s);
    }
    if (fm.streams.length || fm.stunPackets || fm.dtlsPackets) this.ended.push(fm);
  }

  /** See docs/media.md "SRTP or cleartext". */
  private srtpVerdict(fm: FlowMedia, s: RtpStream): boolean | null {
    if (fm.dtlsHandshake || fm.srtcpPackets > 0) return true;
    if (s.rtcpReports > 0) return false;
    if (s.payloadEntropy !== null) {
      if (s.payloadEntropy < CLEARTEXT_ENTROPY) return false;
      if (s.payloadEntropy >= ENCRYPTED_ENTROPY) return true;
    }
    return null;
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const fm of this.live) this.endFlow(fm);
    this.live.clear();
    const all = this.ended.flatMap((fm) => fm.streams);
    all.sort((a, b) => a.firstTs - b.firstTs || a.firstFrame - b.firstFrame);
    this.streamList = all.map((s) => s.toReport());
    this.callList = buildCalls(this.ended, this.opts.policy, this.opts.internal);
  }

  streams(): ReportRtpStream[] {
    return this.streamList;
  }

  calls(): ReportCall[] {
    return this.callList;
  }
}
