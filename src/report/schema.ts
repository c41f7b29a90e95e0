/**
 * The JSON report contract, "spokecap.report/1" (see docs/json-report.md and
 * ../shared/CONTRACT.md). Extend freely; never rename or remove a field
 * without bumping SCHEMA.
 */

export const SCHEMA = 'spokecap.report/1';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface ReportSource {
  path: string;
  format: 'pcap' | 'pcapng';
  linkTypes: string[];
  packets: number;
  bytes: number;
  truncated: boolean;
  errors: Array<{ offset: number; message: string }>;
  // extensions
  gzip: boolean;
  snaplen: number | null;
  warnings: string[];
}

export interface ReportCapture {
  sources: ReportSource[];
  packets: number;
  start: string | null;
  end: string | null;
  malformedPackets: number;
  warnings: string[];
  // extensions
  malformedByReason: Record<string, number>;
  durationS: number | null;
  evictions: { flows: number; dnsNames: number; rtpStreams: number; reassembly: number };
}

export type FlowClass =
  | 'spoke-signalling'
  | 'twilio-signalling'
  | 'twilio-media'
  | 'dns'
  | 'tunnel'
  | 'vdi'
  | 'other';

/** Evidence for a flow's class; 'payload' = an analyzer recognised the protocol (DNS, a VPN, a VDI protocol). */
export type ClassifiedBy = 'sni' | 'dns' | 'cidr' | 'port' | 'nrb' | 'payload';

export interface ReportFlow {
  uid: string;
  proto: string;
  client: Endpoint;
  server: Endpoint;
  firstSeen: string;
  lastSeen: string;
  packets: { client: number; server: number };
  bytes: { client: number; server: number };
  state: string;
  sni: string | null;
  dnsName: string | null;
  class: FlowClass;
  service: string | null;
  edge: string | null;
  classifiedBy: ClassifiedBy[];
  // extensions
  history: string | null;
  clientType: 'desktop' | 'mobile' | null;
  alpn: string[] | null;
  tlsVersion: string | null;
  handshakeRttMs: number | null;
  firstFrame: number;
  /** Evidence that disagrees with the chosen class, e.g. "cidr:twilio-media(us1)". */
  conflicts: string[];
  notes: string[];
}

export interface ReportRtpStream {
  ssrc: string;
  src: Endpoint;
  dst: Endpoint;
  payloadType: number;
  codec: string | null;
  clockRate: number | null;
  packets: number;
  expected: number;
  lost: number;
  lossPct: number;
  duplicates: number;
  outOfOrder: number;
  maxDeltaMs: number;
  meanJitterMs: number | null;
  maxJitterMs: number | null;
  kbps: number;
  srtp: boolean | null;
  start: string;
  end: string;
  // extensions
  clockRateInferred: boolean;
  flow: string | null;
  firstFrame: number;
  timeline: Array<{ t: number; packets: number; lost: number; jitterMs: number | null; kbps: number }>;
  /** The receiver's view of this stream from plain RTCP report blocks (null when none were seen). */
  rtcp?: {
    reports: number;
    fractionLostPct: number | null;
    cumulativeLost: number | null;
    jitterMs: number | null;
    /** Round trip from SR → RR (LSR/DLSR) as seen at the capture point. */
    rttMs: number | null;
  } | null;
}

export interface CallDirectionMetrics {
  lossPct: number | null;
  maxJitterMs: number | null;
  kbps: number | null;
  // extensions
  meanJitterMs?: number | null;
  packets?: number;
}

export type CallViolation = 'jitter' | 'loss' | 'rtt' | 'bandwidth' | 'one-way';

export interface ReportCall {
  uid: string;
  start: string;
  end: string;
  durationS: number;
  local: Endpoint;
  remote: Endpoint;
  edge: string | null;
  streams: string[];
  rttMs: number | null;
  up: CallDirectionMetrics;
  down: CallDirectionMetrics;
  mos: number | null;
  verdict: 'pass' | 'fail';
  violations: CallViolation[];
  // extensions
  codec: string | null;
  rtt: { minMs: number; meanMs: number; maxMs: number; samples: number } | null;
  mosG107: number | null;
  publicAddress: Endpoint | null;
  flows: string[];
}

export type Severity = 'error' | 'warning' | 'info';

export interface ReportFinding {
  id: string;
  severity: Severity;
  title: string;
  detail: string;
  flows: string[];
  frames: number[];
  wiresharkFilter: string;
  remedy: string;
}

export interface ChecklistItem {
  /** Policy destination family id, e.g. "twilio-signalling-desktop-gll". */
  id: string;
  label: string;
  status: 'seen-ok' | 'seen-failing' | 'not-seen';
  flows: string[];
}

export interface Report {
  schema: typeof SCHEMA;
  tool: { name: 'spokecap'; version: string };
  capture: ReportCapture;
  flows: ReportFlow[];
  rtpStreams: ReportRtpStream[];
  calls: ReportCall[];
  findings: ReportFinding[];
  verdict: 'pass' | 'warn' | 'fail';
  // extensions
  summary: { flowsByClass: Record<string, number>; flowsTotal: number; flowsOmitted: number };
  checklist: ChecklistItem[];
  policy: {
    name: string;
    edge: string;
    internal: string[];
    /** The policy's call limits, so renderers can draw them (charts, tables). */
    limits?: { minKbps: number; maxRttMs: number; maxJitterMs: number; maxLossPct: number; maxSetupMs: number };
  };
}
