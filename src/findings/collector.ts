/**
 * The findings collector: an Analyzer that keeps, per finding kind, bounded
 * evidence (the first flows and a count) as flows end, plus the per-packet
 * facts findings need (capture time span, a sample of transport checksums).
 * It judges each flow once, at its end, when it is classified; buildFindings
 * turns the evidence into findings.
 */
import type { Analyzer, PacketContext } from '../engine/analyzer.js';
import { CLIENT, SERVER, type Flow, type IcmpErrorEvent } from '../flow/flow.js';
import { flowPackets } from '../flow/record.js';
import { internalAddr, type IpMatcher } from '../classify/internal.js';
import { verifyTransportChecksum } from '../decode/index.js';
import { formatIp, IPPROTO_TCP, IPPROTO_UDP } from '../decode/view.js';
import { destinationFamilies } from '../policy/compile.js';
import type { Policy, SignallingHost } from '../policy/types.js';
import type { Classifier } from '../classify/classify.js';
import type { Endpoint, FlowClass } from '../report/schema.js';
import { safeName } from './text.js';

export interface FindingsSettings {
  /**
   * The capture's first and last packet time so far, [first, last], as the engine keeps them
   * (updated after each packet's analysis; a Float64Array, so no number is boxed per packet).
   */
  span: Float64Array;
  policy: Policy;
  classifier: Pick<Classifier, 'matchHost' | 'matchMedia' | 'matchMediaAddr' | 'matchMediaFlow'>;
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
  /** Keyed `${kind}/${tier}` (bucketKey). */
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

/** Spoke or Twilio signalling or media: compares, not a Set probe (twice per flow). */
const isSpokeTwilio = (cls: FlowClass | null): boolean =>
  cls === 'spoke-signalling' || cls === 'twilio-signalling' || cls === 'twilio-media';

/** What a flow's findings are judged on, worked out once at its end; its FlowRef is made only if a finding keeps it. */
interface Judged {
  /** SNI or DNS name (raw). */
  name: string | null;
  tier: Tier;
  host: SignallingHost | null;
  media: boolean;
  clientPackets: number;
  serverPackets: number;
  clientInternal: boolean;
  ref: FlowRef | null;
}

export class FindingsCollector implements Analyzer {
  readonly name = 'findings';
  readonly settings: FindingsSettings;
  private readonly hostsById: Map<string, SignallingHost>;
  private readonly roamingEdge: string;
  private readonly ev: CollectedEvidence;
  /** The engine's time span (settings.span): ev.firstTs/lastTs get it when read (syncSpan). */
  private readonly span: Float64Array;
  /** The checksum sample is still being taken (ev.checksumPackets < CHECKSUM_SAMPLE), as one field for onPacket. */
  private sampling = true;

  constructor(settings: FindingsSettings) {
    this.settings = settings;
    this.span = settings.span;
    this.hostsById = new Map(settings.policy.signalling.map((h) => [h.id, h]));
    this.roamingEdge = settings.policy.media.edges.find((e) => e.roaming)?.id ?? 'gll';
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

  /**
   * Kept small, so that the engine's per-packet function inlines it: once the checksum sample is
   * taken, a packet costs one field test.
   */
  onPacket(ctx: PacketContext): void {
    if (this.sampling === true && ctx.depth === 0) this.sampleChecksum(ctx);
  }

  /** Out of onPacket, which the engine inlines: the first CHECKSUM_SAMPLE packets only. */
  private sampleChecksum(ctx: PacketContext): void {
    const ev = this.ev;
    const view = ctx.view;
    if (view.proto !== IPPROTO_TCP && view.proto !== IPPROTO_UDP) return;
    const ok = verifyTransportChecksum(view);
    if (ok === null) return;
    ev.checksumPackets++;
    this.sampling = ev.checksumPackets < CHECKSUM_SAMPLE;
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
    this.syncSpan();
    const j = this.judge(flow);
    let failed = false;
    if (flow.proto === IPPROTO_TCP) failed = this.tcp(flow, j);
    else if (flow.proto === IPPROTO_UDP) failed = this.udp(flow, j);
    if (this.unreachable(flow, j)) failed = true;
    this.inbound(flow, j);
    this.edges(flow, j);
    this.tally(flow, j, failed);
  }

  evidence(): CollectedEvidence {
    this.syncSpan();
    return this.ev;
  }

  private syncSpan(): void {
    const ev = this.ev;
    const span = this.span;
    if (span[0] < (ev.firstTs ?? Infinity)) ev.firstTs = span[0];
    if (span[1] > (ev.lastTs ?? -Infinity)) ev.lastTs = span[1];
  }

  private judge(flow: Flow): Judged {
    const name = flow.tls?.sni ?? flow.dnsName;
    let host: SignallingHost | null = null;
    // Indexed: flow.families is a frozen (interned) list, which for-of walks through the generic iterator.
    const families = flow.families;
    for (let i = 0; i < families.length; i++) host ??= this.hostsById.get(families[i]) ?? null;
    if (!host && name) host = this.settings.classifier.matchHost(name)?.host ?? null;
    const media = flow.cls === 'twilio-media';
    return {
      name,
      tier: host ? (host.required ? 'required' : 'policy') : media ? 'required' : 'other',
      host,
      media,
      clientPackets: flowPackets(flow, CLIENT),
      serverPackets: flowPackets(flow, SERVER),
      clientInternal: internalAddr(this.settings.internal, flow, 0),
      ref: null,
    };
  }

  /** The flow's FlowRef, made the first time one of its findings is kept. */
  private ref(flow: Flow, j: Judged): FlowRef {
    return (j.ref ??= {
      uid: flow.uid,
      proto: flow.proto,
      client: { ip: flow.clientIp, port: flow.clientPort },
      server: { ip: flow.serverIp, port: flow.serverPort },
      firstTs: flow.firstTs,
      lastTs: flow.lastTs,
      frames: flow.frames.slice(0, MAX_ITEMS),
      packets: [j.clientPackets, j.serverPackets],
      name: j.name ? safeName(j.name) : null,
      cls: flow.cls,
      edge: flow.edge,
      tier: j.tier,
      host: j.host,
      media: j.media,
    });
  }

  /**
   * Count one finding of `kind` for the judged flow; its bucket's item list when
   * that still has room, else null. Items are built only when kept: most flows of
   * a large capture only count.
   */
  private add<K extends EvidenceKind>(kind: K, j: Judged): EvidenceKinds[K][] | null {
    const key = bucketKey(kind, j.tier);
    let b = this.ev.buckets.get(key);
    if (!b) this.ev.buckets.set(key, (b = { count: 0, items: [] }));
    b.count++;
    return b.items.length < MAX_ITEMS ? (b.items as EvidenceKinds[K][]) : null;
  }

  /** TCP: unanswered SYNs, refused SYNs, TLS failures, slow setup, interception. True if it failed. */
  private tcp(flow: Flow, j: Judged): boolean {
    const answered = j.serverPackets > 0;
    if (flow.synCount > 0 && !flow.midstream && flow.icmpErrors.length === 0) {
      // Only SYNs from the client: no ACK/data/FIN of its own (a one-sided capture would show them).
      if (!answered && !/[ADF]/.test(flow.history)) {
        this.add('tcp-blocked', j)?.push({ ...this.ref(flow, j), syns: flow.synCount });
        return true;
      }
      if (flow.synAckCount === 0 && flow.rst[SERVER]) {
        this.add('tcp-refused', j)?.push(this.ref(flow, j));
        return true;
      }
    }
    const limit = this.settings.policy.limits.maxSetupMs / 1000;
    const policyFlow = isSpokeTwilio(flow.cls);
    if (policyFlow && flow.synToSynAck !== null && flow.synToSynAck > limit)
      this.add('slow-setup', j)?.push({ ...this.ref(flow, j), step: 'tcp', seconds: flow.synToSynAck });
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
      this.add('tls-failure', j)?.push({
        ...this.ref(flow, j),
        reason,
        alert: alert ? { level: alert.level, description: alert.description, fromClient: alert.fromClient, frame: alert.frame } : null,
        clientHelloFrame: tls.clientHelloFrame,
      });
      return true;
    }
    if (policyFlow && tls.serverHelloTs !== null && tls.serverHelloTs - tls.clientHelloTs > limit)
      this.add('slow-setup', j)?.push({ ...this.ref(flow, j), step: 'tls', seconds: tls.serverHelloTs - tls.clientHelloTs });
    if (tls.sni && tls.certSubject !== null && !certCovers(tls.sni, tls.certSubject, tls.certSans))
      this.add('tls-interception', j)?.push({
        ...this.ref(flow, j),
        sni: safeName(tls.sni),
        subject: safeName(tls.certSubject),
        issuer: tls.certIssuer && safeName(tls.certIssuer),
      });
    return false;
  }

  /** UDP to media (or another required destination) with nothing back. */
  private udp(flow: Flow, j: Judged): boolean {
    if (j.tier !== 'required' || j.serverPackets > 0 || j.clientPackets < 2 || !j.clientInternal) return false;
    const waited = Math.max(flow.lastTs - flow.firstTs, (this.ev.lastTs ?? flow.lastTs) - flow.lastTs);
    if (waited < SILENCE_S) return false;
    this.add('udp-no-return', j)?.push(this.ref(flow, j));
    return true;
  }

  private unreachable(flow: Flow, j: Judged): boolean {
    const all = flow.icmpErrors;
    if (!all.some(isUnreachable)) return false;
    this.add('icmp-unreachable', j)?.push({ ...this.ref(flow, j), errors: all.filter(isUnreachable).slice(0, 4) });
    return true;
  }

  /** Initiated from outside toward an internal host: an inbound SYN, or UDP whose first packet came from outside. */
  private inbound(flow: Flow, j: Judged): void {
    if (j.clientInternal || !internalAddr(this.settings.internal, flow, 1) || isBroadcastOrMulticast(flow.serverIp)) return;
    if (flow.proto === IPPROTO_TCP) {
      if (flow.synCount === 0 || flow.midstream) return;
    } else if (flow.proto === IPPROTO_UDP) {
      // Near the capture start the outbound packet this answers may simply not have been captured.
      if (this.ev.firstTs !== null && flow.firstTs - this.ev.firstTs < CAPTURE_EDGE_S) return;
    } else return;
    this.add('inbound-connection', j)?.push({ ...this.ref(flow, j), answered: j.serverPackets > 0 });
  }

  private edges(flow: Flow, j: Judged): void {
    if (j.host?.legacy) this.add('legacy-signalling-host', j)?.push(this.ref(flow, j));
    if (!j.media) return;
    const pinned = this.settings.edge;
    if (pinned !== this.roamingEdge && flow.edge !== null && flow.edge !== pinned) this.add('edge-mismatch', j)?.push(this.ref(flow, j));
    const m = this.settings.classifier.matchMediaFlow(flow, 1);
    if (m?.legacy) this.add('legacy-media-range', j)?.push({ ...this.ref(flow, j), cidr: m.cidr });
  }

  private tally(flow: Flow, j: Judged, failed: boolean): void {
    const ev = this.ev;
    const families = flow.families;
    for (let i = 0; i < families.length; i++) {
      const id = families[i];
      const t = ev.families.get(id);
      if (!t) continue;
      if (failed) t.failing++;
      else if (j.serverPackets > 0) t.ok++;
      else continue;
      if (t.flows.length < MAX_FAMILY_FLOWS) t.flows.push(flow.uid);
    }
    if (!isSpokeTwilio(flow.cls) || !j.clientInternal) return;
    let c = ev.clients.get(flow.clientIp);
    if (!c) {
      if (ev.clients.size >= MAX_CLIENTS) return;
      ev.clients.set(flow.clientIp, (c = { signalling: [], media: 0 }));
    }
    if (j.media) c.media++;
    else if (c.signalling.length < MAX_ITEMS) c.signalling.push(flow.uid);
  }
}

const bucketKeys = new Map<string, Record<Tier, string>>();

/** `${kind}/${tier}`, the buckets' key, made once per kind (not a new string per finding). */
export function bucketKey(kind: EvidenceKind, tier: Tier): string {
  let keys = bucketKeys.get(kind);
  if (keys === undefined) bucketKeys.set(kind, (keys = { required: `${kind}/required`, policy: `${kind}/policy`, other: `${kind}/other` }));
  return keys[tier];
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

