/**
 * Virtual desktops and remote-access tools (the seed: "Spoke is not
 * compatible with Virtual Desktop Environments").
 *
 * Recognised by payload: RDP (TPKT + X.224 Connection Request/Confirm with an
 * RDP negotiation structure or mstshash cookie; MS-RDPEUDP SYN datagrams),
 * Citrix ICA ("\x7f\x7fICA") and CGP ("\x1aCGP/01"), VNC ("RFB 003."),
 * NoMachine ("NXSH-"/"NXD-"), TeamViewer (0x17 0x24 magic), AnyDesk (TLS
 * certificate named "AnyDesk" or a *.anydesk.com relay). VMware Blast (22443)
 * and PCoIP (4172) are encrypted from the first byte: they are recognised by
 * their registered port together with TLS on TCP or traffic both ways on UDP,
 * and the evidence says so. Ordinary TLS is never a desktop.
 */
import type { Analyzer, PacketContext } from '../engine/analyzer.js';
import type { Flow } from '../flow/flow.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../decode/view.js';
import type { Endpoint } from '../report/schema.js';
import { NameMatch } from './name-match.js';

export type VdiKind = 'rdp' | 'citrix' | 'blast' | 'pcoip' | 'anydesk' | 'teamviewer' | 'nomachine' | 'vnc';

/** Virtual-desktop protocols; the others are remote-control tools. */
export const VDI_PROTOCOLS: ReadonlySet<VdiKind> = new Set(['rdp', 'citrix', 'blast', 'pcoip']);

export const VDI_NAMES: Record<VdiKind, string> = {
  rdp: 'Microsoft RDP',
  citrix: 'Citrix ICA/HDX',
  blast: 'VMware Blast',
  pcoip: 'PCoIP',
  anydesk: 'AnyDesk',
  teamviewer: 'TeamViewer',
  nomachine: 'NoMachine',
  vnc: 'VNC (RFB)',
};

export interface VdiDetection {
  kind: VdiKind;
  flow: string;
  proto: number;
  client: Endpoint;
  server: Endpoint;
  frames: number[];
  evidence: string;
  /** 'payload' when a protocol signature matched, 'port' when only the registered port and traffic shape did. */
  basis: 'payload' | 'port';
}

const MAX_DETECTIONS = 256;
const MAX_PROBES = 65536;
const PROBE_PACKETS = 12;
const TEAMVIEWER_UDP_HITS = 3;

const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const ICA = ascii('\x7f\x7fICA\x00');
const CGP = ascii('\x1aCGP/01');
const RFB = ascii('RFB 00');
const NXSH = ascii('NXSH-');
const NXD = ascii('NXD-');
const MSTSHASH = ascii('Cookie: mstsh');

function startsWith(buf: Uint8Array, off: number, len: number, m: Uint8Array): boolean {
  if (len < m.length) return false;
  for (let i = 0; i < m.length; i++) if (buf[off + i] !== m[i]) return false;
  return true;
}

/**
 * RDP connection request/confirm: TPKT (03 00 length), X.224 length indicator
 * equal to the rest of the TPKT, CR (0xE0) or CC (0xD0), and either an RDP
 * negotiation request/response/failure (type 1–3, length 8) at the end or an
 * mstshash cookie. Plain ISO-TSAP (e.g. S7 on port 102) has neither.
 */
export function isRdpConnection(buf: Uint8Array, off: number, len: number): 'request' | 'confirm' | null {
  if (len < 11 || buf[off] !== 3 || buf[off + 1] !== 0) return null;
  const tpktLen = (buf[off + 2] << 8) | buf[off + 3];
  if (tpktLen < 11 || tpktLen > len) return null;
  const li = buf[off + 4];
  const code = buf[off + 5] & 0xf0;
  if (li !== tpktLen - 5 || (code !== 0xe0 && code !== 0xd0)) return null;
  const neg = off + tpktLen - 8;
  const hasNeg = tpktLen >= 19 && buf[neg] >= 1 && buf[neg] <= 3 && buf[neg + 2] === 8 && buf[neg + 3] === 0;
  const hasCookie = code === 0xe0 && startsWith(buf, off + 11, tpktLen - 11, MSTSHASH);
  if (!hasNeg && !hasCookie) return null;
  return code === 0xe0 ? 'request' : 'confirm';
}

/** MS-RDPEUDP SYN: snSourceAck -1, the SYN flag, datagram padded to 1232 bytes. */
export function isRdpUdpSyn(buf: Uint8Array, off: number, wireLen: number, len: number): boolean {
  if (wireLen !== 1232 || len < 8) return false;
  if (buf[off] !== 0xff || buf[off + 1] !== 0xff || buf[off + 2] !== 0xff || buf[off + 3] !== 0xff) return false;
  return (buf[off + 7] & 0x01) === 1;
}

function isTlsHandshake(buf: Uint8Array, off: number, len: number): boolean {
  return len >= 6 && buf[off] === 0x16 && buf[off + 1] === 3 && buf[off + 2] <= 4;
}

const ANYDESK_CERT = /anydesk/i;
const ANYDESK_NAME = /(^|\.)anydesk\.com\.?$/i;

interface Probe {
  seen: number;
  done: boolean;
  /** UDP: packets per direction on a port-identified flow (only those flows have it); TeamViewer marker hits. */
  udp: [number, number] | null;
  teamviewer: number;
  /** Evidence frames, made on first use (most flows never have any). */
  frames: number[] | null;
}

/**
 * What flow.vdiProbe holds: undefined (not seen yet, or never probed:
 * MAX_PROBES), the count of payload packets seen while that is all there is
 * to remember (most flows: no object per flow), a Probe once a flow showed
 * something to follow up, or PROBED once it has been judged.
 */
type Held = number | Probe | typeof PROBED | undefined;

/** In flow.vdiProbe once a flow has been judged: its probe is freed. */
const PROBED = Symbol('vdi-probed');

/** Set `p` to the state of a flow that has seen `seen` payload packets and nothing else. */
function loadSeen(p: Probe, seen: number): Probe {
  p.seen = seen;
  p.done = false;
  p.udp = null;
  p.teamviewer = 0;
  p.frames = null;
  return p;
}

export class VdiAnalyzer implements Analyzer {
  readonly name = 'vdi';
  /** Live flows holding something in flow.vdiProbe. */
  private probes = 0;
  /** The probe of a flow held as a count, for the length of one packet. */
  private readonly scratch = loadSeen({} as Probe, 0);
  private readonly list: VdiDetection[] = [];
  /** The AnyDesk tests, tested for every packet of a TLS flow still probed (names repeat: the last answer is kept). */
  private readonly anydeskCert = new NameMatch(ANYDESK_CERT);
  private readonly anydeskName = new NameMatch(ANYDESK_NAME);
  private omitted = 0;

  /**
   * Kept small, so that the engine's per-packet function inlines it: a flow
   * judged already (nearly every packet) costs one field read, not a call.
   */
  onPacket(ctx: PacketContext): void {
    const flow = ctx.flow;
    // typeof, not `!== PROBED` (PROBED is the slot's only symbol): see TunnelAnalyzer.onPacket.
    if (flow !== null && typeof flow.vdiProbe !== 'symbol') this.probe(ctx, flow);
  }

  private probe(ctx: PacketContext, flow: Flow): void {
    const held = flow.vdiProbe as Exclude<Held, typeof PROBED>;
    const proto = ctx.view.proto;
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) return;
    let probe: Probe;
    if (typeof held === 'object') probe = held;
    else {
      if (held === undefined) {
        if (this.probes >= MAX_PROBES) return;
        this.probes++;
      }
      probe = loadSeen(this.scratch, held ?? 0);
    }
    this.inspect(ctx, flow, probe);
    if (probe.done) flow.vdiProbe = PROBED;
    else if (probe === this.scratch)
      flow.vdiProbe = probe.udp === null && probe.teamviewer === 0 && probe.frames === null ? probe.seen : { ...probe };
  }

  private inspect(ctx: PacketContext, flow: Flow, probe: Probe): void {
    const view = ctx.view;
    if (flow.tls && this.checkTls(ctx, flow, probe)) return;
    if (view.payloadLen === 0) return;
    probe.seen++;
    const kind = view.proto === IPPROTO_TCP ? this.tcp(ctx, flow, probe) : this.udp(ctx, flow, probe);
    // Stored for every packet inspected: a store first made when a flow reached PROBE_PACKETS, after V8
    // compiled the probe (without type feedback for it), deoptimized the probe and the engine's packet path.
    probe.done = probe.done || (!kind && probe.seen >= PROBE_PACKETS);
  }

  /** AnyDesk by its certificate or relay name; Blast/PCoIP by TLS on their port. */
  private checkTls(ctx: PacketContext, flow: Flow, probe: Probe): boolean {
    const tls = flow.tls!;
    const subject = tls.certSubject;
    const issuer = tls.certIssuer;
    if ((subject && this.anydeskCert.test(subject)) || (issuer && this.anydeskCert.test(issuer))) return this.detect(ctx, flow, probe, 'anydesk', 'TLS certificate issued to "AnyDesk Client"', 'payload');
    const name = tls.sni ?? flow.dnsName;
    if (name && this.anydeskName.test(name)) return this.detect(ctx, flow, probe, 'anydesk', 'TLS to an AnyDesk relay (*.anydesk.com)', 'payload');
    return false;
  }

  private tcp(ctx: PacketContext, flow: Flow, probe: Probe): boolean {
    const view = ctx.view;
    const buf = view.buf;
    const off = view.payloadOff;
    const len = view.payloadLen;
    const rdp = isRdpConnection(buf, off, len);
    if (rdp)
      return this.detect(ctx, flow, probe, 'rdp', `RDP X.224 Connection ${rdp === 'request' ? 'Request' : 'Confirm'} with RDP negotiation (TPKT)`, 'payload');
    if (startsWith(buf, off, len, ICA)) return this.detect(ctx, flow, probe, 'citrix', 'Citrix ICA handshake ("\\x7f\\x7fICA")', 'payload');
    if (startsWith(buf, off, len, CGP)) return this.detect(ctx, flow, probe, 'citrix', 'Citrix CGP session reliability ("\\x1aCGP/01")', 'payload');
    if (startsWith(buf, off, len, RFB) && len === 12 && buf[off + 11] === 0x0a)
      return this.detect(ctx, flow, probe, 'vnc', `VNC protocol version "${Buffer.from(buf.subarray(off, off + 11)).toString('latin1')}"`, 'payload');
    if (startsWith(buf, off, len, NXSH) || startsWith(buf, off, len, NXD))
      return this.detect(ctx, flow, probe, 'nomachine', 'NoMachine NX banner ("NXSH-"/"NXD-")', 'payload');
    if (len >= 4 && buf[off] === 0x17 && buf[off + 1] === 0x24 && hasPort(flow, 5938))
      return this.detect(ctx, flow, probe, 'teamviewer', 'TeamViewer protocol magic 0x17 0x24 on TCP 5938', 'payload');
    if (isTlsHandshake(buf, off, len)) {
      if (flow.serverPort === 22443)
        return this.detect(ctx, flow, probe, 'blast', 'TLS to TCP 22443, the VMware Blast port (payload encrypted; identified by port)', 'port');
      if (flow.serverPort === 4172)
        return this.detect(ctx, flow, probe, 'pcoip', 'TLS to TCP 4172, the PCoIP port (payload encrypted; identified by port)', 'port');
    }
    return false;
  }

  private udp(ctx: PacketContext, flow: Flow, probe: Probe): boolean {
    const view = ctx.view;
    const buf = view.buf;
    const off = view.payloadOff;
    const len = view.payloadLen;
    if (isRdpUdpSyn(buf, off, view.payloadWireLen, len))
      return this.detect(ctx, flow, probe, 'rdp', 'MS-RDPEUDP SYN datagram (1232 bytes, snSourceAck -1)', 'payload');
    if (len >= 16 && buf[off + 11] === 0x17 && buf[off + 12] === 0x24) {
      const frames = (probe.frames ??= []);
      if (frames.length < 8) frames.push(ctx.frame);
      if (++probe.teamviewer >= TEAMVIEWER_UDP_HITS)
        return this.detect(ctx, flow, probe, 'teamviewer', 'TeamViewer UDP packets with the 0x17 0x24 magic at offset 11', 'payload');
    }
    if (flow.serverPort === 22443 || flow.serverPort === 4172) {
      const udp = (probe.udp ??= [0, 0]);
      udp[ctx.dir]++;
      if (udp[0] > 0 && udp[1] > 0) {
        return flow.serverPort === 22443
          ? this.detect(ctx, flow, probe, 'blast', 'UDP both ways on 22443, the VMware Blast (BEAT) port (payload encrypted; identified by port)', 'port')
          : this.detect(ctx, flow, probe, 'pcoip', 'UDP both ways on 4172, the PCoIP port (payload encrypted; identified by port)', 'port');
      }
    }
    return false;
  }

  private detect(ctx: PacketContext, flow: Flow, probe: Probe, kind: VdiKind, evidence: string, basis: VdiDetection['basis']): true {
    probe.done = true;
    flow.tags.add(`vdi:${kind}`);
    const frames = (probe.frames ??= []);
    if (!frames.includes(ctx.frame)) frames.push(ctx.frame);
    if (this.list.length >= MAX_DETECTIONS) {
      this.omitted++;
      return true;
    }
    this.list.push({
      kind,
      flow: flow.uid,
      proto: flow.proto,
      client: { ip: flow.clientIp, port: flow.clientPort },
      server: { ip: flow.serverIp, port: flow.serverPort },
      frames: frames.sort((a, b) => a - b),
      evidence,
      basis,
    });
    return true;
  }

  onFlowEnd(flow: Flow): void {
    if (flow.vdiProbe === undefined) return;
    flow.vdiProbe = undefined;
    this.probes--;
  }

  detections(): VdiDetection[] {
    return this.list;
  }

  get omittedDetections(): number {
    return this.omitted;
  }
}

function hasPort(flow: Flow, port: number): boolean {
  return flow.serverPort === port || flow.clientPort === port;
}
