/**
 * A policy turned into matchers, once: every host pattern expanded over its
 * placeholders into a HostMatcher, every media CIDR into one CidrSet.
 */
import { CidrSet, expandPattern, HostMatcher, parseCidr } from './match.js';
import type { Policy, SignallingHost } from './types.js';

/** Placeholders a host pattern may use. */
export const HOST_PLACEHOLDERS = ['region', 'edge'] as const;

export interface HostBinding {
  host: SignallingHost;
  /** The {region} or {edge} value the name carried, e.g. "us1", "ashburn". */
  region: string | null;
  /** Edge id the name implies: the region, the edge an alias names, or host.edge. */
  edge: string | null;
}

export interface MediaRange {
  /** Canonical CIDR text. */
  cidr: string;
  /** Owning edge; null for a shared range. */
  edge: string | null;
  roaming: boolean;
  legacy: boolean;
}

export interface CompiledPolicy {
  policy: Policy;
  hosts: HostMatcher<HostBinding>;
  media: CidrSet<MediaRange>;
  /** Edge ids, and the aliases that name them ("ashburn" → "us1"), all lower case. */
  edgeByName: Map<string, string>;
  /** Id of the roaming (GLL) edge, if the policy has one. */
  roamingEdge: string | null;
  /** Domains of the host patterns ("twilio.com"): a name under one is the provider's, even if no pattern matches. */
  domains: Set<string>;
}

export const MEDIA_SHARED_FAMILY = 'media-shared';
export const mediaFamily = (edgeId: string): string => `media-${edgeId}`;

export function compilePolicy(policy: Policy): CompiledPolicy {
  const edgeByName = new Map<string, string>();
  for (const e of policy.media.edges) {
    edgeByName.set(e.id.toLowerCase(), e.id);
    for (const a of e.aliases ?? []) edgeByName.set(a.toLowerCase(), e.id);
  }
  const aliases = policy.media.edges.flatMap((e) => (e.aliases ?? []).map((a) => a.toLowerCase()));
  const values = { region: policy.regions.map((r) => r.toLowerCase()), edge: aliases };

  const hostEntries: Array<{ pattern: string; value: HostBinding }> = [];
  const domains = new Set<string>();
  for (const host of policy.signalling) {
    const lower = host.pattern.toLowerCase();
    const labels = lower.split('.');
    const domain = labels.slice(-2).join('.');
    if (!domain.includes('{') && !domain.includes('*')) domains.add(domain);
    for (const { pattern, bindings } of expandPattern(lower, values)) {
      const region = bindings.region ?? bindings.edge ?? null;
      const edge = bindings.region ?? (bindings.edge ? edgeByName.get(bindings.edge)! : (host.edge ?? null));
      hostEntries.push({ pattern, value: { host, region, edge } });
    }
  }

  const sharedKeys = new Set(policy.media.shared.map((c) => parseCidr(c).text));
  const ranges: Array<[string, MediaRange]> = [...sharedKeys].map((cidr) => [
    cidr,
    { cidr, edge: null, roaming: false, legacy: false },
  ]);
  for (const e of policy.media.edges) {
    const legacy = new Set(e.legacyCidrs.map((c) => parseCidr(c).text));
    for (const c of e.cidrs) {
      const cidr = parseCidr(c).text;
      if (sharedKeys.has(cidr)) continue;
      ranges.push([cidr, { cidr, edge: e.id, roaming: e.roaming === true, legacy: legacy.has(cidr) }]);
    }
  }

  return {
    policy,
    hosts: new HostMatcher(hostEntries),
    media: new CidrSet(ranges),
    edgeByName,
    roamingEdge: policy.media.edges.find((e) => e.roaming)?.id ?? null,
    domains,
  };
}

export interface DestinationFamily {
  id: string;
  label: string;
  required: boolean;
}

/** Every destination family a flow can be counted under (Flow.families), for the requirements checklist. */
export function destinationFamilies(policy: Policy): DestinationFamily[] {
  const [lo, hi] = policy.media.portRange;
  const out: DestinationFamily[] = policy.signalling.map((h) => ({
    id: h.id,
    label: `${h.label}: ${h.pattern} ${h.proto}/${h.ports.join(',')}${h.legacy ? ' (legacy)' : ''}`,
    required: h.required,
  }));
  if (policy.media.shared.length > 0)
    out.push({
      id: MEDIA_SHARED_FAMILY,
      label: `Media, all edges: ${policy.media.shared.join(' ')} ${policy.media.proto}/${lo}-${hi}`,
      required: true,
    });
  const shared = new Set(policy.media.shared.map((c) => parseCidr(c).text));
  // The roaming edge's ranges that are also a specific edge's are counted under that edge.
  const specific = new Set(policy.media.edges.filter((e) => !e.roaming).flatMap((e) => e.cidrs.map((c) => parseCidr(c).text)));
  for (const e of policy.media.edges) {
    const own = e.cidrs.filter((c) => !shared.has(parseCidr(c).text) && !(e.roaming && specific.has(parseCidr(c).text)));
    if (own.length === 0) continue;
    const legacyKeys = new Set(e.legacyCidrs.map((c) => parseCidr(c).text));
    const legacy = own.every((c) => legacyKeys.has(parseCidr(c).text));
    out.push({
      id: mediaFamily(e.id),
      label: `Media, ${e.name} (${e.id})${legacy ? ' legacy' : ''} ranges: ${own.join(' ')} ${policy.media.proto}/${lo}-${hi}`,
      required: !legacy,
    });
  }
  return out;
}
