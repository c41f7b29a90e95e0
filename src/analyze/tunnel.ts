/**
 * Tunnel and MPLS detection (the seed: "Spoke will not work with MPLS or VPN").
 *
 * Each flow is probed on its first packets by payload signatures, never by
 * port alone: IPsec (ESP/AH, IKE on UDP 500/4500 with ISAKMP header sanity,
 * ESP-in-UDP after NAT-T IKE or with a steady SPI), OpenVPN (hard-reset opcode
 * and a consistent session id, UDP or TCP length-framed), WireGuard (exact
 * message sizes, zero reserved bytes, handshake index pairing or a steady
 * transport stream), GRE, L2TP v2/v3, PPTP (magic cookie), IP-in-IP, DTLS
 * SSL-VPN on UDP 443, Tailscale (WireGuard on 41641, DERP relays by SNI).
 * Detected flows get the tag `vpn:<type>` (the classifier makes them class
 * 'tunnel'). Packets decapsulated by the engine arrive at depth > 0; the
 * flows they form are remembered as "inside" their tunnel so the findings can
 * say whether Spoke/Twilio traffic goes through it or bypasses it.
 *
 * `innerPacket(view)` tells the engine where the encapsulated packet starts.
 */
import type { Analyzer, PacketContext } from '../engine/analyzer.js';
import { SERVER, type Flow } from '../flow/flow.js';
import { flowBytes, flowPackets } from '../flow/record.js';
import { internalAddr, type IpMatcher } from '../classify/internal.js';
import type { Endpoint } from '../report/schema.js';
import {
  IPPROTO_AH,
  IPPROTO_ESP,
  IPPROTO_GRE,
  IPPROTO_IPIP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  type PacketView,
} from '../decode/view.js';
import { NameMatch } from './name-match.js';

export const IPPROTO_L2TP = 115;

export type TunnelType =
  | 'ipsec'
  | 'ike'
  | 'openvpn'
  | 'wireguard'
  | 'gre'
  | 'l2tp'
  | 'pptp'
  | 'ssl-vpn'
  | 'tailscale'
  | 'ip-in-ip';

export interface TunnelDetection {
  type: TunnelType;
  /** Flow uid of the tunnel itself. */
  flow: string;
  proto: number;
  client: Endpoint;
  server: Endpoint;
  /** The far end: the endpoint outside the internal networks (the server when both or neither are). */
  peer: string;
  /** Frames that carry the evidence. */
  frames: number[];
  /** Plain-text evidence, e.g. "IKEv2 IKE_SA_INIT on UDP 500". */
  evidence: string;
  packets: number;
  bytes: number;
  /** Flows decapsulated from this tunnel (count) and those of them classed Spoke/Twilio (uids, bounded). */
  innerFlows: number;
  spokeTwilioInside: string[];
}

export interface MplsSummary {
  packets: number;
  frames: number[];
  /** Distinct label stacks, outermost first, e.g. "16/17". */
  labelStacks: string[];
  flows: string[];
  /** Flows seen with labels whose class is Spoke/Twilio. */
  spokeTwilioFlows: string[];
}

export interface TunnelReport {
  detections: TunnelDetection[];
  /** Detections beyond the cap (counted only). */
  omitted: number;
  /** Full: most traffic leaving the internal networks goes into tunnels; split: most does not. Null without tunnels. */
  mode: 'full' | 'split' | null;
  /** Frame bytes of tunnel flows vs. other flows with an endpoint outside the internal networks. */
  externalBytes: { tunnel: number; other: number };
  /** Spoke/Twilio flows seen outside any tunnel (depth 0) while tunnels exist. */
  spokeTwilioBypass: string[];
  mpls: MplsSummary | null;
}

const MAX_DETECTIONS = 256;
const MAX_EVIDENCE_FRAMES = 8;
const MAX_UIDS = 64;
const MAX_LABEL_STACKS = 8;
/** Probe state kept for at most this many live flows; later flows are not probed. */
const MAX_PROBES = 65536;
/** Payload packets looked at per flow before giving up. */
const PROBE_PACKETS = 32;
/** WireGuard transport messages in a row (one direction, same receiver, rising counter) that make a stream. */
const WG_DATA_RUN = 8;
/** ESP-in-UDP packets in a row with one SPI and rising sequence numbers. */
const ESP_RUN = 3;
/** Share of external bytes inside tunnels above which a tunnel is "full". */
const FULL_TUNNEL_SHARE = 0.8;

const SPOKE_TWILIO = new Set(['spoke-signalling', 'twilio-signalling', 'twilio-media']);

export function isSpokeTwilio(flow: Flow): boolean {
  return flow.cls !== null && SPOKE_TWILIO.has(flow.cls);
}

// ------------------------------------------------------------------ signatures

const IKE_V1_EXCHANGES = new Set([1, 2, 3, 4, 5, 32, 33]);
const IKE_V2_EXCHANGES = new Set([34, 35, 36, 37, 43]);
const IKE_V2_NAMES: Record<number, string> = {
  34: 'IKE_SA_INIT',
  35: 'IKE_AUTH',
  36: 'CREATE_CHILD_SA',
  37: 'INFORMATIONAL',
  43: 'IKE_SESSION_RESUME',
};
const IKE_V1_NAMES: Record<number, string> = {
  1: 'Base',
  2: 'Main Mode',
  3: 'Authentication Only',
  4: 'Aggressive Mode',
  5: 'Informational',
  32: 'Quick Mode',
  33: 'New Group Mode',
};

/**
 * ISAKMP header sanity (RFC 2408 / 7296): non-zero initiator SPI, version 1.0
 * or 2.0, a known exchange type, a next-payload in range, and a length field
 * equal to the message length. Returns the IKE version or 0.
 */
export function ikeVersion(buf: Uint8Array, off: number, len: number, wireLen: number): 0 | 1 | 2 {
  if (len < 28) return 0;
  let spi = 0;
  for (let i = 0; i < 8; i++) spi |= buf[off + i];
  if (spi === 0) return 0;
  const ver = buf[off + 17];
  const exchange = buf[off + 18];
  const next = buf[off + 16];
  const length = ((buf[off + 24] << 24) | (buf[off + 25] << 16) | (buf[off + 26] << 8) | buf[off + 27]) >>> 0;
  if (length !== wireLen) return 0;
  if (ver === 0x10 && IKE_V1_EXCHANGES.has(exchange) && (next <= 20 || next >= 128)) return 1;
  if (ver === 0x20 && IKE_V2_EXCHANGES.has(exchange) && (next === 0 || (next >= 33 && next <= 53) || next >= 128)) return 2;
  return 0;
}

function ikeDescription(buf: Uint8Array, off: number, version: 1 | 2): string {
  const ex = buf[off + 18];
  const name = (version === 2 ? IKE_V2_NAMES : IKE_V1_NAMES)[ex] ?? `exchange ${ex}`;
  return `IKEv${version} ${name}`;
}

/** OpenVPN opcodes (high 5 bits of the first byte). */
const OVPN_HARD_RESET_CLIENT_V1 = 1;
const OVPN_HARD_RESET_SERVER_V1 = 2;
const OVPN_CONTROL_V1 = 4;
const OVPN_ACK_V1 = 5;
const OVPN_HARD_RESET_CLIENT_V2 = 7;
const OVPN_HARD_RESET_SERVER_V2 = 8;
const OVPN_HARD_RESET_CLIENT_V3 = 10;
const OVPN_CONTROL_WKC_V1 = 11;
const OVPN_NAMES: Record<number, string> = {
  [OVPN_HARD_RESET_CLIENT_V1]: 'P_CONTROL_HARD_RESET_CLIENT_V1',
  [OVPN_HARD_RESET_SERVER_V1]: 'P_CONTROL_HARD_RESET_SERVER_V1',
  [OVPN_HARD_RESET_CLIENT_V2]: 'P_CONTROL_HARD_RESET_CLIENT_V2',
  [OVPN_HARD_RESET_SERVER_V2]: 'P_CONTROL_HARD_RESET_SERVER_V2',
  [OVPN_HARD_RESET_CLIENT_V3]: 'P_CONTROL_HARD_RESET_CLIENT_V3',
};

function isClientReset(op: number): boolean {
  return op === OVPN_HARD_RESET_CLIENT_V2 || op === OVPN_HARD_RESET_CLIENT_V3 || op === OVPN_HARD_RESET_CLIENT_V1;
}

function isServerReset(op: number): boolean {
  return op === OVPN_HARD_RESET_SERVER_V2 || op === OVPN_HARD_RESET_SERVER_V1;
}

/** WireGuard message type (1–4) if the size and reserved bytes fit, else 0. */
export function wireGuardType(buf: Uint8Array, off: number, len: number): 0 | 1 | 2 | 3 | 4 {
  if (len < 32 || buf[off + 1] !== 0 || buf[off + 2] !== 0 || buf[off + 3] !== 0) return 0;
  switch (buf[off]) {
    case 1:
      return len === 148 ? 1 : 0;
    case 2:
      return len === 92 ? 2 : 0;
    case 3:
      return len === 64 ? 3 : 0;
    case 4:
      return (len - 32) % 16 === 0 ? 4 : 0;
    default:
      return 0;
  }
}

function le32(buf: Uint8Array, off: number): number {
  return (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
}

function be32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

function be16(buf: Uint8Array, off: number): number {
  return (buf[off] << 8) | buf[off + 1];
}

const PPTP_MAGIC = 0x1a2b3c4d;

/** A PPTP control message: length, message type 1 (control), magic cookie 0x1A2B3C4D. */
export function isPptpControl(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 12) return false;
  const msgLen = be16(buf, off);
  return msgLen >= 12 && be16(buf, off + 2) === 1 && be32(buf, off + 4) === PPTP_MAGIC;
}

/** L2TP version (2 or 3) of a UDP payload if its header is consistent, else 0. */
export function l2tpVersion(buf: Uint8Array, off: number, len: number): 0 | 2 | 3 {
  if (len < 6) return 0;
  const flags = buf[off];
  const ver = buf[off + 1] & 0x0f;
  if (ver === 2) {
    if (flags & 0x34 || buf[off + 1] & 0xf0) return 0;
    // Control messages must carry length and sequence numbers (RFC 2661 3.1).
    if (flags & 0x80 && (flags & 0x48) !== 0x48) return 0;
    return 2;
  }
  if (ver === 3 && len >= 8) {
    if (flags === 0xc8 && buf[off + 1] === 0x03) return 3; // control: T, L, S set
    if (flags === 0 && buf[off + 1] === 0x03 && buf[off + 2] === 0 && buf[off + 3] === 0 && be32(buf, off + 4) !== 0) return 3;
  }
  return 0;
}

/** DTLS record header: content type 20–23 and version DTLS 1.0 (0xfeff) or 1.2 (0xfefd). */
function isDtlsRecord(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 13) return false;
  const type = buf[off];
  return type >= 20 && type <= 23 && buf[off + 1] === 0xfe && (buf[off + 2] === 0xff || buf[off + 2] === 0xfd);
}

/** Cleartext HTTP requests that only SSL-VPN clients make. */
const SSL_VPN_MARKERS = ['CONNECT /CSCOSSLC/', 'GET /remote/sslvpn-tunnel', 'GET /ssl-tunnel-connect.sslvpn'].map((m) =>
  Uint8Array.from(Buffer.from(m, 'latin1')),
);

function startsWith(buf: Uint8Array, off: number, len: number, marker: Uint8Array): boolean {
  if (len < marker.length) return false;
  for (let i = 0; i < marker.length; i++) if (buf[off + i] !== marker[i]) return false;
  return true;
}

const TAILSCALE_PORT = 41641;
const DERP_SNI = /^derp[a-z0-9-]*\.tailscale\.com\.?$/i;

// ------------------------------------------------------------------ decapsulation

export interface InnerPacket {
  off: number;
  end: number;
  kind: 'ethernet' | 'ipv4' | 'ipv6' | 'ip' | 'ppp';
}

const L2TP_PORT = 1701;

/**
 * Where the packet carried inside this one starts, or null. GRE (by its
 * protocol type), L2TPv2 data on UDP 1701 (→ PPP; the PPP decoder skips an
 * optional ff 03 address/control), L2TPv3 data over UDP 1701 or IP proto 115
 * (→ Ethernet), IP-in-IP (proto 4 / 41). L2TPv3 cookies and the L2-specific
 * sublayer are negotiated in the control channel and cannot be known from a
 * data packet: we assume neither, which is what the public fixture
 * (suricata-verify decode-l2tp-v3-13) and the common default show.
 */
export function innerPacket(view: PacketView): InnerPacket | null {
  // Small, so that the engine's per-packet function inlines it; the rest is carriedPacket().
  return view.ipVersion !== 0 && mayCarryPacket(view) ? carriedPacket(view) : null;
}

function carriedPacket(view: PacketView): InnerPacket | null {
  if (view.isFragment || view.payloadOff === 0) return null;
  const buf = view.buf;
  const off = view.payloadOff;
  const len = view.payloadLen;
  const end = off + len;
  if (end > view.end) return null;
  switch (view.proto) {
    case IPPROTO_GRE: {
      if (view.malformed !== null || len === 0) return null;
      switch (view.greProto) {
        case 0x0800:
          return { off, end, kind: 'ipv4' };
        case 0x86dd:
          return { off, end, kind: 'ipv6' };
        case 0x6558:
          return { off, end, kind: 'ethernet' };
        case 0x880b:
          return { off, end, kind: 'ppp' };
        default:
          return null;
      }
    }
    case IPPROTO_IPIP:
      return len > 0 ? { off, end, kind: 'ipv4' } : null;
    case IPPROTO_IPV6:
      return len > 0 ? { off, end, kind: 'ipv6' } : null;
    case IPPROTO_L2TP:
      // Session header: 32-bit session id; 0 marks a control message.
      if (len < 4 + 14 || be32(buf, off) === 0) return null;
      return { off: off + 4, end, kind: 'ethernet' };
    default:
      return l2tpInner(buf, off, len);
  }
}

/** 1 for the IP protocols that carry a packet (GRE, IP-in-IP, IPv6-in-IP, L2TPv3), 2 for UDP (L2TP on its port). */
const CARRIER = new Uint8Array(256);
CARRIER[IPPROTO_GRE] = CARRIER[IPPROTO_IPIP] = CARRIER[IPPROTO_IPV6] = CARRIER[IPPROTO_L2TP] = 1;
CARRIER[IPPROTO_UDP] = 2;

/** The protocols and port that can carry a packet: the only ones worth a closer look (nearly every packet is neither). */
function mayCarryPacket(view: PacketView): boolean {
  const carrier = CARRIER[view.proto];
  return carrier === 1 || (carrier === 2 && (view.srcPort === L2TP_PORT || view.dstPort === L2TP_PORT));
}

function l2tpInner(buf: Uint8Array, off: number, len: number): InnerPacket | null {
  const end = off + len;
  const version = l2tpVersion(buf, off, len);
  if (version === 3) {
    if (buf[off] !== 0 || len < 8 + 14) return null; // control message
    return { off: off + 8, end, kind: 'ethernet' };
  }
  if (version !== 2) return null;
  const flags = buf[off];
  if (flags & 0x80) return null; // control message
  let p = off + 2;
  if (flags & 0x40) p += 2; // length
  p += 4; // tunnel id, session id
  if (flags & 0x08) p += 4; // Ns, Nr
  if (flags & 0x02) {
    if (p + 2 > end) return null;
    p += 2 + be16(buf, p); // offset size + padding
  }
  return p < end ? { off: p, end, kind: 'ppp' } : null;
}

// ------------------------------------------------------------------ analyzer

interface Probe {
  /** Payload packets inspected. */
  seen: number;
  done: boolean;
  detection: TunnelDetection | null;
  ike: boolean;
  /** OpenVPN: client's opcode and session id from its first packet (0 = none). */
  ovpnOp: number;
  ovpnSidHi: number;
  ovpnSidLo: number;
  ovpnFrame: number;
  /** WireGuard handshake initiation: sender index, direction and frame (-1 = none). */
  wgInitIndex: number;
  wgInitDir: number;
  wgInitFrame: number;
  /** WireGuard transport runs, from the first transport-data message on (most flows never have one). */
  wg: WireGuardRuns | null;
  /** ESP-in-UDP run: SPI, last sequence number, length. */
  espSpi: number;
  espSeq: number;
  espRun: number;
  /** DTLS records seen per direction on UDP 443. */
  dtls: [number, number] | null;
  /** TCP: bit per direction whose first payload has been looked at. */
  tcpFirst: number;
  /** Evidence frames, made on first use. */
  frames: number[] | null;
}

/**
 * What flow.tunnelProbe holds:
 * - undefined: the flow was not seen yet (or was never probed: MAX_PROBES);
 * - a number: an undecided flow that showed nothing but its counts (seen | tcpFirst << COUNTS_TCP_SHIFT),
 *   which is most flows: no object per flow while it is probed;
 * - a Probe: a flow that showed something to follow up (IKE, an OpenVPN reset, WireGuard, ESP, DTLS, a detection);
 * - PROBED: judged with nothing found.
 */
type Held = number | Probe | typeof PROBED | undefined;

/** In flow.tunnelProbe once a flow has been judged and nothing was found: its probe is freed. */
const PROBED = Symbol('tunnel-probed');

/** seen < PROBE_PACKETS fits below this bit. */
const COUNTS_TCP_SHIFT = 6;

/** Per direction: receiver index, last counter, length of the run. */
interface WireGuardRuns {
  recv: [number, number];
  counter: [number, number];
  run: [number, number];
}

/**
 * A TCP probe that can no longer match: both first payloads were looked at,
 * no OpenVPN reset awaits its answer, and the SNI (which never changes once
 * set) has already been checked for DERP. Freed now instead of after
 * PROBE_PACKETS, since most TLS flows stay live long after their handshake.
 */
function tcpSettled(flow: Flow, probe: Probe): boolean {
  return flow.proto === IPPROTO_TCP && probe.tcpFirst === 3 && probe.ovpnOp === 0 && flow.tls?.sni != null;
}

/** Set `p` to the state of a flow held as counts (0 for a new flow). */
function loadCounts(p: Probe, counts: number): Probe {
  p.seen = counts & ((1 << COUNTS_TCP_SHIFT) - 1);
  p.done = false;
  p.detection = null;
  p.ike = false;
  p.ovpnOp = 0;
  p.ovpnSidHi = 0;
  p.ovpnSidLo = 0;
  p.ovpnFrame = 0;
  p.wgInitIndex = -1;
  p.wgInitDir = -1;
  p.wgInitFrame = 0;
  p.wg = null;
  p.espSpi = 0;
  p.espSeq = 0;
  p.espRun = 0;
  p.dtls = null;
  p.tcpFirst = counts >>> COUNTS_TCP_SHIFT;
  p.frames = null;
  return p;
}

/** The probe as counts if that is all it holds, else -1. */
function asCounts(p: Probe): number {
  const onlyCounts =
    !p.done &&
    p.detection === null &&
    !p.ike &&
    p.ovpnOp === 0 &&
    p.wgInitIndex < 0 &&
    p.wg === null &&
    p.espRun === 0 &&
    p.dtls === null &&
    p.frames === null;
  return onlyCounts ? p.seen | (p.tcpFirst << COUNTS_TCP_SHIFT) : -1;
}

function framesOf(p: Probe): number[] {
  return (p.frames ??= []);
}

export class TunnelAnalyzer implements Analyzer {
  readonly name = 'tunnel';
  private readonly internal: IpMatcher | null;
  /** Live flows holding something in flow.tunnelProbe. */
  private probes = 0;
  /** The probe of a flow held as counts, for the length of one packet. */
  private readonly scratch = loadCounts({} as Probe, 0);
  /** Inner flow → uid of the tunnel flow it came out of. */
  private readonly innerOf = new Map<Flow, string>();
  /** DERP_SNI, tested for every packet of a TLS flow still probed (names repeat: the last answer is kept). */
  private readonly derpSni = new NameMatch(DERP_SNI);
  private readonly byTunnelUid = new Map<string, TunnelDetection>();
  private readonly list: TunnelDetection[] = [];
  private omitted = 0;
  private tunnelBytes = 0;
  private otherExternalBytes = 0;
  private readonly bypass: string[] = [];
  private mpls: MplsSummary | null = null;
  private readonly mplsFlows = new Set<Flow>();
  probesSkipped = 0;

  constructor(opts: { internal?: IpMatcher } = {}) {
    this.internal = opts.internal ?? null;
  }

  /**
   * Kept small, so that the engine's per-packet function inlines it: a flow
   * judged already (nearly every packet) costs a few field reads, not a call.
   */
  onPacket(ctx: PacketContext): void {
    const flow = ctx.flow;
    if (ctx.depth !== 0 || ctx.view.mplsCount !== 0) this.onLayers(ctx, flow);
    // typeof, not `!== PROBED`: the slot also holds numbers and objects, and V8 compiled that comparison
    // of mixed kinds as a call to its generic StrictEqual, per packet; PROBED is the slot's only symbol.
    if (flow !== null && typeof flow.tunnelProbe !== 'symbol') this.probe(ctx, flow);
  }

  /** A packet decapsulated from a tunnel, or an MPLS-labelled one (out of onPacket, which the engine inlines). */
  private onLayers(ctx: PacketContext, flow: Flow | null): void {
    if (ctx.depth !== 0) this.noteInner(flow, ctx.outerFlow ?? null);
    else this.noteMpls(ctx);
  }

  /** A flow inside a tunnel: remember the tunnel's flow. */
  private noteInner(flow: Flow | null, outer: Flow | null): void {
    if (flow && outer && !this.innerOf.has(flow) && this.innerOf.size < MAX_PROBES) this.innerOf.set(flow, outer.uid);
  }

  private probe(ctx: PacketContext, flow: Flow): void {
    const held = flow.tunnelProbe as Exclude<Held, typeof PROBED>;
    let probe: Probe;
    if (typeof held === 'object') {
      probe = held;
      if (probe.done) return;
    } else {
      if (held === undefined) {
        if (this.probes >= MAX_PROBES) {
          this.probesSkipped++;
          return;
        }
        this.probes++;
      }
      probe = loadCounts(this.scratch, held ?? 0);
    }
    this.inspect(ctx, flow, probe);
    const detection = probe.detection;
    // IKE alone keeps being probed: ESP-in-UDP on the same NAT-T flow upgrades it to ipsec.
    if ((detection && detection.type !== 'ike') || probe.seen >= PROBE_PACKETS || tcpSettled(flow, probe)) probe.done = true;
    // Judged with nothing found: nothing to keep (a detection is needed at the flow's end).
    if (probe.done && !detection) flow.tunnelProbe = PROBED;
    else if (probe === this.scratch) {
      const counts = asCounts(probe);
      flow.tunnelProbe = counts >= 0 ? counts : { ...probe };
    }
  }

  private inspect(ctx: PacketContext, flow: Flow, probe: Probe): void {
    const view = ctx.view;
    switch (view.proto) {
      case IPPROTO_ESP:
        this.detect(probe, flow, ctx, 'ipsec', `ESP (IP protocol 50), SPI 0x${(view.espSpi ?? 0).toString(16).padStart(8, '0')}`);
        return;
      case IPPROTO_AH:
        this.detect(probe, flow, ctx, 'ipsec', 'AH (IP protocol 51)');
        return;
      case IPPROTO_GRE:
        if (view.greVersion === 1)
          this.detect(probe, flow, ctx, 'pptp', 'enhanced GRE version 1 (the PPTP data channel)');
        else if (view.greVersion === 0)
          this.detect(probe, flow, ctx, 'gre', `GRE carrying protocol 0x${view.greProto.toString(16).padStart(4, '0')}`);
        return;
      case IPPROTO_L2TP:
        this.detect(probe, flow, ctx, 'l2tp', 'L2TPv3 over IP (protocol 115)');
        return;
      case IPPROTO_IPIP:
        this.detect(probe, flow, ctx, 'ip-in-ip', 'IPv4 in IP (protocol 4)');
        return;
      case IPPROTO_IPV6:
        this.detect(probe, flow, ctx, 'ip-in-ip', 'IPv6 in IPv4 (protocol 41, 6in4)');
        return;
      case IPPROTO_UDP:
        if (view.payloadLen > 0) {
          probe.seen++;
          this.inspectUdp(ctx, flow, probe);
        }
        return;
      case IPPROTO_TCP:
        if (view.payloadLen > 0) {
          probe.seen++;
          this.inspectTcp(ctx, flow, probe);
        }
        this.checkDerp(ctx, flow, probe);
        return;
      default:
        probe.done = true;
    }
  }

  private inspectUdp(ctx: PacketContext, flow: Flow, probe: Probe): void {
    const view = ctx.view;
    const buf = view.buf;
    const off = view.payloadOff;
    const len = view.payloadLen;
    const sport = view.srcPort;
    const dport = view.dstPort;
    const dir = ctx.dir;

    if (sport === 500 || dport === 500) {
      const v = ikeVersion(buf, off, len, view.payloadWireLen);
      if (v) {
        probe.ike = true;
        if (!probe.detection) this.detect(probe, flow, ctx, 'ike', `${ikeDescription(buf, off, v)} on UDP 500`);
        return;
      }
    }
    if (sport === 4500 || dport === 4500) {
      if (len >= 32 && be32(buf, off) === 0) {
        const v = ikeVersion(buf, off + 4, len - 4, view.payloadWireLen - 4);
        if (v) {
          probe.ike = true;
          if (!probe.detection) this.detect(probe, flow, ctx, 'ike', `${ikeDescription(buf, off + 4, v)} on UDP 4500 (NAT traversal, non-ESP marker)`);
          return;
        }
      } else if (len >= 16) {
        const spi = be32(buf, off);
        const seq = be32(buf, off + 4);
        if (spi >= 256) {
          if (probe.ike) return this.detect(probe, flow, ctx, 'ipsec', `IKE NAT-T then ESP-in-UDP on port 4500 (RFC 3948), SPI 0x${spi.toString(16)}`);
          if (spi === probe.espSpi && seq > probe.espSeq) probe.espRun++;
          else probe.espRun = 1;
          probe.espSpi = spi;
          probe.espSeq = seq;
          if (probe.espRun >= ESP_RUN)
            return this.detect(probe, flow, ctx, 'ipsec', `ESP-in-UDP on port 4500 (RFC 3948), SPI 0x${spi.toString(16)} with rising sequence numbers`);
        }
      }
    }
    if (probe.detection) return;
    if ((sport === L2TP_PORT || dport === L2TP_PORT) && l2tpVersion(buf, off, len)) {
      return this.detect(probe, flow, ctx, 'l2tp', `L2TPv${l2tpVersion(buf, off, len)} on UDP 1701`);
    }
    this.openVpn(ctx, flow, probe, off, len);
    if (probe.detection) return;
    this.wireGuard(ctx, flow, probe, off, len);
    if (probe.detection) return;
    if ((sport === 443 || dport === 443) && isDtlsRecord(buf, off, len)) {
      const dtls = (probe.dtls ??= [0, 0]);
      dtls[dir]++;
      const frames = framesOf(probe);
      if (frames.length < MAX_EVIDENCE_FRAMES) frames.push(ctx.frame);
      if (dtls[0] > 0 && dtls[1] > 0 && dtls[0] + dtls[1] >= 3)
        this.detect(probe, flow, ctx, 'ssl-vpn', 'DTLS on UDP 443 in both directions (the data channel of AnyConnect/GlobalProtect-style SSL VPNs)');
    }
  }

  private inspectTcp(ctx: PacketContext, flow: Flow, probe: Probe): void {
    const view = ctx.view;
    const dir = ctx.dir;
    if (probe.tcpFirst & (1 << dir)) {
      // OpenVPN confirmation may come in any later segment of the client.
      if (probe.ovpnOp && view.payloadLen >= 11) this.openVpn(ctx, flow, probe, view.payloadOff + 2, view.payloadLen - 2, true);
      return;
    }
    probe.tcpFirst |= 1 << dir;
    const buf = view.buf;
    const off = view.payloadOff;
    const len = view.payloadLen;
    if ((view.srcPort === 1723 || view.dstPort === 1723) && isPptpControl(buf, off, len))
      return this.detect(probe, flow, ctx, 'pptp', 'PPTP control connection on TCP 1723 (magic cookie 0x1A2B3C4D)');
    if (dir === 0)
      for (const marker of SSL_VPN_MARKERS)
        if (startsWith(buf, off, len, marker))
          return this.detect(probe, flow, ctx, 'ssl-vpn', `SSL-VPN tunnel request "${Buffer.from(marker).toString('latin1').trim()}" in cleartext`);
    // OpenVPN over TCP: a 2-byte length that frames the packet.
    if (len >= 3 && be16(buf, off) >= 1 && be16(buf, off) <= len - 2) this.openVpn(ctx, flow, probe, off + 2, be16(buf, off), true);
  }

  /** Tailscale DERP relays: TLS to derp*.tailscale.com (the SNI comes from the TLS analyzer). */
  private checkDerp(ctx: PacketContext, flow: Flow, probe: Probe): void {
    const sni = flow.tls?.sni;
    if (sni && this.derpSni.test(sni)) this.detect(probe, flow, ctx, 'tailscale', 'TLS to a Tailscale DERP relay (derp*.tailscale.com)');
  }

  private openVpn(ctx: PacketContext, flow: Flow, probe: Probe, off: number, len: number, tcp = false): void {
    const buf = ctx.view.buf;
    if (len < 9 || off + 9 > ctx.view.end) return;
    const op = buf[off] >> 3;
    const key = buf[off] & 7;
    const hi = be32(buf, off + 1);
    const lo = be32(buf, off + 5);
    const transport = tcp ? 'TCP' : 'UDP';
    if (probe.ovpnOp === 0) {
      // Only the client's very first packet can open an OpenVPN session.
      if (probe.seen === 1 && ctx.dir === 0 && key === 0 && isClientReset(op) && len >= 14 && (hi | lo) !== 0) {
        probe.ovpnOp = op;
        probe.ovpnSidHi = hi;
        probe.ovpnSidLo = lo;
        probe.ovpnFrame = ctx.frame;
      }
      return;
    }
    const first = OVPN_NAMES[probe.ovpnOp];
    const sid = `${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')}`;
    if (ctx.dir === SERVER && key === 0 && isServerReset(op)) {
      framesOf(probe).push(probe.ovpnFrame);
      return this.detect(probe, flow, ctx, 'openvpn', `OpenVPN over ${transport}: ${first} answered by ${OVPN_NAMES[op]}`);
    }
    if (
      ctx.dir === 0 &&
      (op === OVPN_CONTROL_V1 || op === OVPN_ACK_V1 || op === OVPN_CONTROL_WKC_V1) &&
      hi === probe.ovpnSidHi &&
      lo === probe.ovpnSidLo
    ) {
      framesOf(probe).push(probe.ovpnFrame);
      return this.detect(probe, flow, ctx, 'openvpn', `OpenVPN over ${transport}: ${first} then control packets with the same session id ${sid}`);
    }
  }

  private wireGuard(ctx: PacketContext, flow: Flow, probe: Probe, off: number, len: number): void {
    const buf = ctx.view.buf;
    const type = wireGuardType(buf, off, len);
    const dir = ctx.dir;
    const tailscale = ctx.view.srcPort === TAILSCALE_PORT || ctx.view.dstPort === TAILSCALE_PORT;
    const name = tailscale ? 'tailscale' : 'wireguard';
    const label = tailscale ? 'WireGuard (Tailscale, UDP 41641)' : 'WireGuard';
    if (type === 1) {
      probe.wgInitIndex = le32(buf, off + 4);
      probe.wgInitDir = dir;
      probe.wgInitFrame = ctx.frame;
    } else if (type === 2 && probe.wgInitIndex >= 0 && dir !== probe.wgInitDir && le32(buf, off + 8) === probe.wgInitIndex) {
      framesOf(probe).push(probe.wgInitFrame);
      return this.detect(probe, flow, ctx, name, `${label}: handshake initiation (148 bytes) answered by a response (92 bytes) naming its sender index`);
    }
    if (type !== 4) {
      if (probe.wg) probe.wg.run[dir] = 0;
      return;
    }
    const wg = (probe.wg ??= { recv: [-1, -1], counter: [-1, -1], run: [0, 0] });
    const recv = le32(buf, off + 4);
    // The 64-bit little-endian counter: compare the low word; a high word means a huge counter, still rising.
    const counter = le32(buf, off + 8) + le32(buf, off + 12) * 0x100000000;
    if (recv === wg.recv[dir] && counter > wg.counter[dir]) wg.run[dir]++;
    else wg.run[dir] = 1;
    wg.recv[dir] = recv;
    wg.counter[dir] = counter;
    if (wg.run[dir] === 1) {
      const frames = framesOf(probe);
      if (frames.length < MAX_EVIDENCE_FRAMES) frames.push(ctx.frame);
    }
    if (wg.run[dir] >= WG_DATA_RUN)
      this.detect(probe, flow, ctx, name, `${label}: ${WG_DATA_RUN} transport-data messages in a row with one receiver index and rising counters`);
  }

  private detect(probe: Probe, flow: Flow, ctx: PacketContext, type: TunnelType, evidence: string): void {
    const frames = framesOf(probe);
    if (frames.length < MAX_EVIDENCE_FRAMES && !frames.includes(ctx.frame)) frames.push(ctx.frame);
    flow.tags.add(`vpn:${type}`);
    const existing = this.byTunnelUid.get(flow.uid);
    if (existing) {
      existing.type = type;
      existing.evidence = evidence;
      existing.frames = frames.slice().sort((a, b) => a - b);
      probe.detection = existing;
      return;
    }
    const detection: TunnelDetection = {
      type,
      flow: flow.uid,
      proto: flow.proto,
      client: { ip: flow.clientIp, port: flow.clientPort },
      server: { ip: flow.serverIp, port: flow.serverPort },
      peer: this.peerOf(flow),
      frames: frames.slice().sort((a, b) => a - b),
      evidence,
      packets: 0,
      bytes: 0,
      innerFlows: 0,
      spokeTwilioInside: [],
    };
    probe.detection = detection;
    if (this.list.length >= MAX_DETECTIONS) {
      this.omitted++;
      return;
    }
    this.list.push(detection);
    this.byTunnelUid.set(flow.uid, detection);
  }

  private peerOf(flow: Flow): string {
    if (!this.internal) return flow.serverIp;
    const serverIn = this.internal.containsIp(flow.serverIp);
    const clientIn = this.internal.containsIp(flow.clientIp);
    return serverIn && !clientIn ? flow.clientIp : flow.serverIp;
  }

  private noteMpls(ctx: PacketContext): void {
    const view = ctx.view;
    const m = (this.mpls ??= { packets: 0, frames: [], labelStacks: [], flows: [], spokeTwilioFlows: [] });
    m.packets++;
    if (m.frames.length < MAX_EVIDENCE_FRAMES * 2) m.frames.push(ctx.frame);
    if (m.labelStacks.length < MAX_LABEL_STACKS) {
      const stack = Array.from(view.mplsLabels.subarray(0, view.mplsCount)).join('/');
      if (!m.labelStacks.includes(stack)) m.labelStacks.push(stack);
    }
    if (ctx.flow && !this.mplsFlows.has(ctx.flow) && this.mplsFlows.size < MAX_PROBES) {
      this.mplsFlows.add(ctx.flow);
      if (m.flows.length < MAX_UIDS) m.flows.push(ctx.flow.uid);
    }
  }

  onFlowEnd(flow: Flow): void {
    const held = flow.tunnelProbe as Held;
    if (held !== undefined) {
      flow.tunnelProbe = undefined;
      this.probes--;
    }
    const probe = typeof held === 'object' ? held : undefined;
    const bytes = flowBytes(flow, 0) + flowBytes(flow, 1);
    const outer = this.innerOf.size > 0 ? this.innerOf.get(flow) : undefined;
    if (outer !== undefined) {
      this.innerOf.delete(flow);
      const tunnel = this.byTunnelUid.get(outer);
      if (tunnel) {
        tunnel.innerFlows++;
        if (isSpokeTwilio(flow) && tunnel.spokeTwilioInside.length < MAX_UIDS) tunnel.spokeTwilioInside.push(flow.uid);
      }
    } else if (probe?.detection) {
      probe.detection.packets = flowPackets(flow, 0) + flowPackets(flow, 1);
      probe.detection.bytes = bytes;
      if (this.isExternal(flow)) this.tunnelBytes += bytes;
    } else if (this.isExternal(flow)) {
      this.otherExternalBytes += bytes;
      if (isSpokeTwilio(flow) && this.bypass.length < MAX_UIDS) this.bypass.push(flow.uid);
    }
    if (this.mplsFlows.size > 0 && this.mplsFlows.delete(flow) && isSpokeTwilio(flow) && this.mpls && this.mpls.spokeTwilioFlows.length < MAX_UIDS)
      this.mpls.spokeTwilioFlows.push(flow.uid);
  }

  private isExternal(flow: Flow): boolean {
    if (!this.internal) return true;
    return !internalAddr(this.internal, flow, 1) || !internalAddr(this.internal, flow, 0);
  }

  /** Call after every flow has ended. */
  report(): TunnelReport {
    const total = this.tunnelBytes + this.otherExternalBytes;
    const mode = this.list.length === 0 || total === 0 ? null : this.tunnelBytes / total >= FULL_TUNNEL_SHARE ? 'full' : 'split';
    return {
      detections: this.list,
      omitted: this.omitted,
      mode,
      externalBytes: { tunnel: this.tunnelBytes, other: this.otherExternalBytes },
      spokeTwilioBypass: this.list.length ? this.bypass : [],
      mpls: this.mpls,
    };
  }
}
