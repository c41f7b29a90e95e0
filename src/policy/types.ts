/**
 * The policy: what a network must allow for the service to work, as data.
 * The built-in policy (spoke-twilio.ts) is one value of this type; users can
 * pass their own as JSON with --policy (validated by validate.ts).
 * docs/policy.md describes every field and how matching works.
 */

export type ClientType = 'desktop' | 'mobile';

export interface SignallingHost {
  /** Destination family id, e.g. "spoke-gateway", "twilio-chunderw-vpc-gll". Used by the checklist. */
  id: string;
  /** Human label, e.g. "Twilio signalling gateway (desktop, GLL)". */
  label: string;
  /**
   * Host pattern: exact "eventgw.twilio.com", wildcard "*.spokephone.com"
   * (one or more labels), "{region}" standing for any of `regions`, or
   * "{edge}" standing for any media edge's `aliases` (e.g. "ashburn").
   */
  pattern: string;
  /** Flow class for a match. */
  class: 'spoke-signalling' | 'twilio-signalling';
  /** Service name reported in flows[].service, e.g. "chunderw-vpc-gll". */
  service: string;
  clients: ClientType[];
  proto: 'tcp';
  ports: number[];
  /** Required for calls to work (a failure is an error) vs. useful (warning). */
  required: boolean;
  /** Edge implied by a match when the pattern has no {region}/{edge}, e.g. "gll" for the GLL gateways. */
  edge?: string;
  /** Marked addition beyond the vendor document, with its source. */
  source?: string;
  /** Deprecated/legacy host, reported as such when seen: the reason. */
  legacy?: string;
}

export interface MediaEdge {
  /** Edge id as Twilio names it: "au1", "us1", ..., "gll" for roaming. */
  id: string;
  /** Location, e.g. "sydney". */
  name: string;
  /** CIDRs for this edge (the shared range and the edge's own). */
  cidrs: string[];
  /** CIDRs that are legacy (pre-October-2023) for this edge; a subset of `cidrs`. */
  legacyCidrs: string[];
  /** Other names of the edge in host names, substituted for "{edge}" (Twilio edge ids such as "ashburn"). */
  aliases?: string[];
  /** The edge spans all others (GLL): chosen only when no specific edge's own range matches. */
  roaming?: boolean;
  /** Where the legacy marking or aliases come from, when beyond the vendor document. */
  source?: string;
}

export interface Policy {
  /** Policy name and version for the report. */
  name: string;
  version: string;
  /** The document the policy transcribes. */
  source?: string;
  signalling: SignallingHost[];
  /** Regions substituted for {region}. */
  regions: string[];
  media: {
    proto: 'udp';
    portRange: [number, number];
    /** CIDRs shared by all edges (168.86.128.0/18). */
    shared: string[];
    edges: MediaEdge[];
  };
  limits: {
    /** Per call, each way. */
    minKbps: number;
    maxRttMs: number;
    maxJitterMs: number;
    maxLossPct: number;
    /** TCP or TLS setup time above which slow-setup (SPI symptom) is reported. */
    maxSetupMs: number;
  };
  rules: {
    outboundOnly: boolean;
    noVpn: boolean;
    noMpls: boolean;
    noVdi: boolean;
    noSpi: boolean;
  };
}
