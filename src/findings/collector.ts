/**
 * The findings collector: an Analyzer that keeps, per finding kind, bounded
 * evidence (the first flows and a count) as flows end, plus the per-packet
 * facts findings need (capture time span, a sample of transport checksums).
 * It judges each flow once, at its end, when it is classified; buildFindings
 * turns the evidence into findings.
 */
import type { Analyzer, PacketContext } from '../engine/analyzer.js';
import { CLIENT, SERVER, type Flow, type IcmpErrorEvent } from '../flow/flow.js';
import { verifyTransportChecksum } from '../decode/index.js';
import { formatIp, IPPROTO_TCP, IPPROTO_UDP } from '../decode/view.js';
import { destinationFamilies } from '../policy/compile.js';
import type { Policy, SignallingHost } from '../policy/types.js';
import type { Classifier } from '../classify/classify.js';
import type { Endpoint, FlowClass } from '../report/schema.js';
import { safeName } from './text.js';

export interface IpMatcher {
  containsIp(ip: string): boolean;
}

export interface FindingsSettings {
  policy: Policy;
  classifier: Pick<Classifier, 'matchHost' | 'matchMedia'>;
  internal: IpMatcher;
  /** The pinned edge id (--edge). */
  edge: string;
}

/** How much a destination matters: a required policy host or media, another policy host, or anything else. */
export type Tier = 'required' | 'policy' | 'other';

/** What a finding needs to know about a flow, copied at its end. */
export interface FlowRef {
  uid: string;
  proto: number;
  client: Endpoint;
  server: Endpoint;
  firstTs: number;
  lastTs: number;
  frames: number[];
  packets: [number, number];
  /** SNI or DNS name (sanitised), null if none. */
  name: string | null;
  cls: FlowClass | null;
  edge: string | null;
  tier: Tier;
  /** The policy signalling host, or null (media and others). */
  host: SignallingHost | null;
  media: boolean;
}

export interface TcpBlockedEvidence extends FlowRef {
  syns: number;
}
export interface IcmpEvidence extends FlowRef {
  errors: IcmpErrorEvent[];
}
export interface TlsFailureEvidence extends FlowRef {
  reason: 'alert' | 'reset' | 'no-server-hello';
  alert: { level: number; description: number; fromClient: boolean; frame: number } | null;
  clientHelloFrame: number | null;
}
export interface SlowSetupEvidence extends FlowRef {
  step: 'tcp' | 'tls';
  seconds: number;
}
export interface InterceptionEvidence extends FlowRef {
  sni: string;
  subject: string;
  issuer: string | null;
}
export interface InboundEvidence extends FlowRef {
  answered: boolean;
}
export interface LegacyMediaEvidence extends FlowRef {
  cidr: string;
}

export interface EvidenceKinds {
  'tcp-blocked': TcpBlockedEvidence;
  'tcp-refused': FlowRef;
  'icmp-unreachable': IcmpEvidence;
  'udp-no-return': FlowRef;
  'tls-failure': TlsFailureEvidence;
  'slow-setup': SlowSetupEvidence;
  'tls-interception': InterceptionEvidence;
  'inbound-connection': InboundEvidence;
  'edge-mismatch': FlowRef;
  'legacy-media-range': LegacyMediaEvidence;
  'legacy-signalling-host': FlowRef;
}
export type EvidenceKind = keyof EvidenceKinds;

/** The first items (up to MAX_ITEMS per tier) and how many there were in all. */
export interface Bucket<T> {
  count: number;
  items: T[];
}

export interface FamilyTally {
  ok: number;
  failing: number;
  flows: string[];
}

export interface ChecksumTally {
  checked: number;
  bad: number;
  frames: number[];
}

export interface CollectedEvidence {
  settings: FindingsSettings;
  firstTs: number | null;
  lastTs: number | null;
  /** Keyed `${kind}/${tier}`. */
  buckets: Map<string, Bucket<FlowRef>>;
  families: Map<string, FamilyTally>;
  /** Per internal client: Spoke/Twilio signalling flows and media flows. */
  clients: Map<string, { signalling: string[]; media: number }>;
  checksums: Map<string, ChecksumTally>;
  checksumPackets: number;
}

export const MAX_ITEMS = 16;
const MAX_FAMILY_FLOWS = 16;
const MAX_CLIENTS = 1024;
const MAX_CHECKSUM_HOSTS = 64;
/** Transport checksums verified per capture (a sample: offload shows on the first packets). */
const CHECKSUM_SAMPLE = 4096;
/** A flow needs this long after its last packet (or in its own span) before silence counts as "nothing came back". */
const SILENCE_S = 1;
/** No ServerHello this long after a ClientHello is a failure (unless the capture ended first). */
const TLS_WAIT_S = 2;
/** Flows starting this close to the capture start may be return traffic of a conversation begun before it. */
const CAPTURE_EDGE_S = 1;

const SPOKE_TWILIO: ReadonlySet<FlowClass> = new Set(['spoke-signalling', 'twilio-signalling', 'twilio-media']);

export class FindingsCollector implements Analyzer {
  readonly name = 'findings';
  readonly settings: FindingsSettings;
  private readonly hostsById: Map<string, SignallingHost>;
  private readonly ev: CollectedEvidence;

  constructor(settings: FindingsSettings) {
    this.settings = settings;
    this.hostsById = new Map(settings.policy.signalling.map((h) => [h.id, h]));
    this.ev = {
      settings,
      firstTs: null,
      lastTs: null,
      buckets: new Map(),
      families: new Map(destinationFamilies(settings.policy).map((f) => [f.id, { ok: 0, failing: 0, flows: [] }])),
      clients: new Map(),
      checksums: new Map(),
      checksumPackets: 0,
    };
  }

  onPacket(ctx: PacketContext): void {
    if (ctx.depth !== 0) return;
    const ev = this.ev;
    if (ev.firstTs === null || ctx.ts < ev.firstTs) ev.firstTs = ctx.ts;
    if (ev.lastTs === null || ctx.ts > ev.lastTs) ev.lastTs = ctx.ts;
    const view = ctx.view;
    if (ev.checksumPackets >= CHECKSUM_SAMPLE || (view.proto !== IPPROTO_TCP && view.proto !== IPPROTO_UDP)) return;
    const ok = verifyTransportChecksum(view);
    if (ok === null) return;
    ev.checksumPackets++;
    const src = formatIp(view.buf, view.srcOff, view.addrLen);
    let tally = ev.checksums.get(src);
    if (!tally) {
      if (ev.checksums.size >= MAX_CHECKSUM_HOSTS) return;
      tally = { checked: 0, bad: 0, frames: [] };
      ev.checksums.set(src, tally);
    }
    tally.checked++;
    if (!ok) {
      tally.bad++;
      if (tally.frames.length < MAX_ITEMS) tally.frames.push(ctx.frame);
    }
  }

  onFlowEnd(flow: Flow): void {
    const ref = this.ref(flow);
    let failed = false;
    if (flow.proto === IPPROTO_TCP) failed = this.tcp(flow, ref);
    else if (flow.proto === IPPROTO_UDP) failed = this.udp(flow, ref);
    if (this.unreachable(flow, ref)) failed = true;
    this.inbound(flow, ref);
    this.edges(flow, ref);
    this.tally(flow, ref, failed);
  }

  evidence(): CollectedEvidence {
    return this.ev;
  }

  private ref(flow: Flow): FlowRef {
    const name = flow.tls?.sni ?? flow.dnsName;
    let host: SignallingHost | null = null;
    for (const id of flow.families) host ??= this.hostsById.get(id) ?? null;
    if (!host && name) host = this.settings.classifier.matchHost(name)?.host ?? null;
    const media = flow.cls === 'twilio-media';
    return {
      uid: flow.uid,
      proto: flow.proto,
      client: { ip: flow.clientIp, port: flow.clientPort },
      server: { ip: flow.serverIp, port: flow.serverPort },
      firstTs: flow.firstTs,
      lastTs: flow.lastTs,
      frames: flow.frames.slice(0, MAX_ITEMS),
      packets: [flow.packets[CLIENT], flow.packets[SERVER]],
      name: name ? safeName(name) : null,
      cls: flow.cls,
      edge: flow.edge,
      tier: host ? (host.required ? 'required' : 'policy') : media ? 'required' : 'other',
      host,
      media,
    };
  }

  private add<K extends EvidenceKind>(kind: K, item: EvidenceKinds[K]): void {
    const key = `${kind}/${item.tier}`;
    let b = this.ev.buckets.get(key);
    if (!b) this.ev.buckets.set(key, (b = { count: 0, items: [] }));
    b.count++;
    if (b.items.length < MAX_ITEMS) b.items.push(item);
  }

  /** TCP: unanswered SYNs, refused SYNs, TLS failures, slow setup, interception. True if it failed. */
  private tcp(flow: Flow, ref: FlowRef): boolean {
    const answered = flow.packets[SERVER] > 0;
    if (flow.synCount > 0 && !flow.midstream && flow.icmpErrors.length === 0) {
      // Only SYNs from the client: no ACK/data/FIN of its own (a one-sided capture would show them).
      if (!answered && !/[ADF]/.test(flow.history)) {
        this.add('tcp-blocked', { ...ref, syns: flow.synCount });
        return true;
      }
      if (flow.synAckCount === 0 && flow.rst[SERVER]) {
        this.add('tcp-refused', ref);
        return true;
      }
    }
    const limit = this.settings.policy.limits.maxSetupMs / 1000;
    const policyFlow = flow.cls !== null && SPOKE_TWILIO.has(flow.cls);
    if (policyFlow && flow.synToSynAck !== null && flow.synToSynAck > limit)
      this.add('slow-setup', { ...ref, step: 'tcp', seconds: flow.synToSynAck });
    const tls = flow.tls;
    if (!tls || tls.dtls || tls.clientHelloTs === null) return false;
    const alert = tls.alerts.find((a) => a.level === 2) ?? (tls.serverHelloTs === null ? tls.alerts[0] : undefined);
    let reason: TlsFailureEvidence['reason'] | null = null;
    if (alert) reason = 'alert';
    else if (tls.serverHelloTs === null && answered) {
      if (flow.rst[SERVER]) reason = 'reset';
      else if (flow.fin[SERVER] || (this.ev.lastTs ?? flow.lastTs) - tls.clientHelloTs >= TLS_WAIT_S) reason = 'no-server-hello';
    }
    if (reason) {
      this.add('tls-failure', {
        ...ref,
        reason,
        alert: alert ? { level: alert.level, description: alert.description, fromClient: alert.fromClient, frame: alert.frame } : null,
        clientHelloFrame: tls.clientHelloFrame,
      });
      return true;
    }
    if (policyFlow && tls.serverHelloTs !== null && tls.serverHelloTs - tls.clientHelloTs > limit)
      this.add('slow-setup', { ...ref, step: 'tls', seconds: tls.serverHelloTs - tls.clientHelloTs });
    if (tls.sni && tls.certSubject !== null && !certCovers(tls.sni, tls.certSubject, tls.certSans))
      this.add('tls-interception', { ...ref, sni: safeName(tls.sni), subject: safeName(tls.certSubject), issuer: tls.certIssuer && safeName(tls.certIssuer) });
    return false;
  }

  /** UDP to media (or another required destination) with nothing back. */
  private udp(flow: Flow, ref: FlowRef): boolean {
    if (ref.tier !== 'required' || flow.packets[SERVER] > 0 || flow.packets[CLIENT] < 2) return false;
    if (!this.settings.internal.containsIp(flow.clientIp)) return false;
    const waited = Math.max(flow.lastTs - flow.firstTs, (this.ev.lastTs ?? flow.lastTs) - flow.lastTs);
    if (waited < SILENCE_S) return false;
    this.add('udp-no-return', ref);
    return true;
  }

  private unreachable(flow: Flow, ref: FlowRef): boolean {
    const errors = flow.icmpErrors.filter(isUnreachable);
    if (errors.length === 0) return false;
    this.add('icmp-unreachable', { ...ref, errors: errors.slice(0, 4) });
    return true;
  }

  /** Initiated from outside toward an internal host: an inbound SYN, or UDP whose first packet came from outside. */
  private inbound(flow: Flow, ref: FlowRef): void {
    const internal = this.settings.internal;
    if (internal.containsIp(flow.clientIp) || !internal.containsIp(flow.serverIp) || isBroadcastOrMulticast(flow.serverIp)) return;
    if (flow.proto === IPPROTO_TCP) {
      if (flow.synCount === 0 || flow.midstream) return;
    } else if (flow.proto === IPPROTO_UDP) {
      // Near the capture start the outbound packet this answers may simply not have been captured.
      if (this.ev.firstTs !== null && flow.firstTs - this.ev.firstTs < CAPTURE_EDGE_S) return;
    } else return;
    this.add('inbound-connection', { ...ref, answered: flow.packets[SERVER] > 0 });
  }

  private edges(flow: Flow, ref: FlowRef): void {
    if (ref.host?.legacy) this.add('legacy-signalling-host', ref);
    if (!ref.media) return;
    const pinned = this.settings.edge;
    const roaming = this.settings.policy.media.edges.find((e) => e.roaming)?.id ?? 'gll';
    if (pinned !== roaming && flow.edge !== null && flow.edge !== pinned) this.add('edge-mismatch', ref);
    const m = this.settings.classifier.matchMedia(flow.serverIp, flow.serverPort, flow.proto);
    if (m?.legacy) this.add('legacy-media-range', { ...ref, cidr: m.cidr });
  }

  private tally(flow: Flow, ref: FlowRef, failed: boolean): void {
    const ev = this.ev;
    for (const id of flow.families) {
      const t = ev.families.get(id);
      if (!t) continue;
      if (failed) t.failing++;
      else if (flow.packets[SERVER] > 0) t.ok++;
      else continue;
      if (t.flows.length < MAX_FAMILY_FLOWS) t.flows.push(flow.uid);
    }
    if (flow.cls === null || !SPOKE_TWILIO.has(flow.cls) || !this.settings.internal.containsIp(flow.clientIp)) return;
    let c = ev.clients.get(flow.clientIp);
    if (!c) {
      if (ev.clients.size >= MAX_CLIENTS) return;
      ev.clients.set(flow.clientIp, (c = { signalling: [], media: 0 }));
    }
    if (ref.media) c.media++;
    else if (c.signalling.length < MAX_ITEMS) c.signalling.push(flow.uid);
  }
}

/** Multicast, limited broadcast, or (not knowing the mask) an IPv4 address ending in .255: not a connection to a host. */
function isBroadcastOrMulticast(ip: string): boolean {
  if (ip.includes(':')) return ip.toLowerCase().startsWith('ff');
  const first = Number(ip.slice(0, ip.indexOf('.')));
  return (first >= 224 && first <= 239) || ip.endsWith('.255');
}

/** ICMP destination unreachable (v4 type 3, v6 type 1). */
export function isUnreachable(e: { version: 4 | 6; type: number }): boolean {
  return e.version === 4 ? e.type === 3 : e.type === 1;
}

/** Administratively prohibited: a firewall said no (v4 codes 9, 10, 13; v6 codes 1, 5, 6). */
export function isAdminProhibited(e: { version: 4 | 6; type: number; code: number }): boolean {
  if (!isUnreachable(e)) return false;
  return e.version === 4 ? e.code === 9 || e.code === 10 || e.code === 13 : e.code === 1 || e.code === 5 || e.code === 6;
}

/** Does a certificate (SANs, else the subject CN) cover the name? Wildcards cover one label. */
export function certCovers(sni: string, subject: string, sans: string[] | null): boolean {
  const name = sni.toLowerCase().replace(/\.$/, '');
  const cn = /(?:^|[,/]\s*)CN\s*=\s*([^,/]+)/i.exec(subject)?.[1]?.trim();
  const names = sans && sans.length ? sans : cn ? [cn] : [];
  if (names.length === 0) return true; // nothing to compare: no claim of interception
  return names.some((n) => {
    const p = n.toLowerCase().replace(/\.$/, '');
    if (p === name) return true;
    if (!p.startsWith('*.')) return false;
    const dot = name.indexOf('.');
    return dot > 0 && name.slice(dot + 1) === p.slice(2);
  });
}

