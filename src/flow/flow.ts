/**
 * The internal connection record kept by the flow table (Zeek's `connection`).
 * Analyzers annotate it; the report builder turns it into a ReportFlow.
 * Direction index 0 = client (originator), 1 = server (responder).
 */
import type { ClassifiedBy, FlowClass } from '../report/schema.js';

export const CLIENT = 0;
export const SERVER = 1;

/** Max frame numbers kept per flow as evidence. */
export const MAX_EVIDENCE_FRAMES = 16;

export interface IcmpErrorEvent {
  ts: number;
  frame: number;
  version: 4 | 6;
  type: number;
  code: number;
  /** Address of the router/host that sent the ICMP error. */
  reporter: string;
}

export interface TlsInfo {
  sni: string | null;
  alpn: string[] | null;
  clientHelloFrame: number | null;
  clientHelloTs: number | null;
  /** Negotiated version from ServerHello (supported_versions wins), e.g. "TLS 1.3". */
  version: string | null;
  serverHelloFrame: number | null;
  serverHelloTs: number | null;
  /** Alerts seen: level/description codes with direction. */
  alerts: Array<{ frame: number; fromClient: boolean; level: number; description: number }>;
  /** Server certificate subject/issuer (TLS <= 1.2 only), first cert. */
  certSubject: string | null;
  certIssuer: string | null;
  certSans: string[] | null;
  dtls: boolean;
}

/**
 * A flow as analyzers see it. The per-direction tuples are read-only copies
 * of the table's counters: assign a whole tuple to change one.
 */
export interface Flow {
  /** "F1", "F2", ... in order of creation. */
  uid: string;
  /** IP protocol number. */
  proto: number;
  ipVersion: 4 | 6;
  clientIp: string;
  serverIp: string;
  clientPort: number;
  serverPort: number;
  /** Raw address bytes (copies), used by the table for key comparison. */
  clientAddr: Uint8Array;
  serverAddr: Uint8Array;

  firstTs: number;
  lastTs: number;
  firstFrame: number;
  lastFrame: number;
  /** [client, server] */
  packets: readonly [number, number];
  /** Frame bytes (on-wire length) per direction, as tshark conversations count them. */
  bytes: readonly [number, number];
  /** Transport payload bytes per direction. */
  payloadBytes: readonly [number, number];
  /** First packet time per direction, null if that direction sent nothing. */
  dirFirstTs: readonly [number | null, number | null];
  /** A few frame numbers for evidence (bounded). */
  frames: readonly number[];

  // ---- TCP ----
  /** Zeek history letters (upper case = originator). */
  history: string;
  /** Zeek conn_state, kept current as packets arrive. */
  state: string;
  synCount: number;
  synAckCount: number;
  /** Seconds from first SYN to first SYN-ACK, and SYN-ACK to the client's ACK. */
  synToSynAck: number | null;
  synAckToAck: number | null;
  /** Timestamps used while computing the above. */
  synTs: number | null;
  synAckTs: number | null;
  /** True if the flow was picked up mid-stream (no SYN seen). */
  midstream: boolean;
  /** Client/server sent a RST / FIN. */
  rst: readonly [boolean, boolean];
  fin: readonly [boolean, boolean];

  icmpErrors: IcmpErrorEvent[];

  // ---- application annotations ----
  tls: TlsInfo | null;
  /** Name the server address resolved from (DNS answer seen before the flow), or NRB. */
  dnsName: string | null;
  dnsNameSource: 'dns' | 'nrb' | null;
  /** DNS messages were read from its payload (set by the DNS analyzer). */
  dnsPayload: boolean;

  // ---- classification (set once, at flow end) ----
  cls: FlowClass | null;
  service: string | null;
  edge: string | null;
  clientType: 'desktop' | 'mobile' | null;
  classifiedBy: ClassifiedBy[];
  conflicts: string[];
  /** Policy destination family ids this flow matched (for the requirements checklist). */
  families: string[];

  /** Free annotations from analyzers (tunnel type, vdi kind, media demux counts...). */
  tags: Set<string>;
  notes: string[];
  /** Set when the flow table evicted it before the end of the capture. */
  evicted: boolean;

  /**
   * Scratch state of the analyzers that look at most flows (TLS/DTLS, tunnel,
   * VDI, media, DNS), kept on the flow so a packet reaches it without a map lookup.
   * Owned by that analyzer; never reported.
   */
  tlsState?: unknown;
  dnsState?: unknown;
  tunnelProbe?: unknown;
  vdiProbe?: unknown;
  mediaState?: unknown;

  /**
   * Drop everything analyzers and the classifier attached, once the flow has
   * been reported and nothing reads it again. An ended flow has usually been
   * promoted to V8's old generation long ago; what was attached to it at its
   * end is young, and the old flow's references would keep that garbage
   * through every minor collection until the next full one.
   */
  release?(): void;
}

export function newTlsInfo(dtls: boolean): TlsInfo {
  return {
    sni: null,
    alpn: null,
    clientHelloFrame: null,
    clientHelloTs: null,
    version: null,
    serverHelloFrame: null,
    serverHelloTs: null,
    alerts: [],
    certSubject: null,
    certIssuer: null,
    certSans: null,
    dtls,
  };
}

export function protoName(proto: number): string {
  switch (proto) {
    case 6:
      return 'tcp';
    case 17:
      return 'udp';
    case 1:
      return 'icmp';
    case 58:
      return 'icmpv6';
    case 47:
      return 'gre';
    case 50:
      return 'esp';
    case 51:
      return 'ah';
    case 132:
      return 'sctp';
    case 2:
      return 'igmp';
    default:
      return `ip-${proto}`;
  }
}
