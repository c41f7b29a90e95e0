/**
 * Wireshark display filters and firewall remedies, built from the policy and
 * from addresses/names seen. Names from the wire are sanitised before use.
 */
import ipaddr from 'ipaddr.js';
import type { Policy, SignallingHost } from '../policy/types.js';
import { sanitizeName } from '../report/build.js';

/** At most this many alternatives in one filter, so it stays readable. */
export const MAX_FILTER_TERMS = 6;

export function ipField(ip: string): 'ip' | 'ipv6' {
  return ip.includes(':') ? 'ipv6' : 'ip';
}

/** A wire name made safe for text and for a quoted display-filter string. */
export function safeName(name: string): string {
  return sanitizeName(name);
}

export function quoted(name: string): string {
  return `"${safeName(name).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** "a || b || c" over distinct terms, capped; parenthesised when there is more than one. */
export function anyOf(terms: string[]): string {
  const unique = [...new Set(terms)].slice(0, MAX_FILTER_TERMS);
  if (unique.length === 0) return '';
  if (unique.length === 1) return unique[0];
  return `(${unique.map((t) => (t.includes('&&') ? `(${t})` : t)).join(' || ')})`;
}

export function and(...terms: string[]): string {
  return terms.filter(Boolean).join(' && ');
}

/** ip.dst==A && tcp.dstport==443 style term for one endpoint. */
export function endpointTerm(dir: 'src' | 'dst' | 'addr', ip: string, transport: 'tcp' | 'udp' | null, port: number | null): string {
  const t = `${ipField(ip)}.${dir}==${ip}`;
  if (!transport || port === null || port === 0) return t;
  const portDir = dir === 'addr' ? 'port' : `${dir}port`;
  return `${t} && ${transport}.${portDir}==${port}`;
}

export function frameFilter(frames: number[]): string {
  const f = [...new Set(frames)].sort((a, b) => a - b).slice(0, 32);
  return f.length ? `frame.number in {${f.join(' ')}}` : '';
}

/** The clients' networks as the source of a rule: their /24 (IPv4) or /64 (IPv6), at most four. */
export function sourceNets(clients: Iterable<string>): string {
  const nets = new Set<string>();
  for (const ip of clients) {
    try {
      const addr = ipaddr.parse(ip);
      if (addr.kind() === 'ipv4') {
        const b = (addr as ipaddr.IPv4).octets;
        nets.add(`${b[0]}.${b[1]}.${b[2]}.0/24`);
      } else {
        const parts = (addr as ipaddr.IPv6).parts;
        nets.add(`${parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`);
      }
    } catch {
      // Not an address: nothing to add.
    }
  }
  if (nets.size === 0) return 'the clients';
  const list = [...nets].sort();
  return list.length > 4 ? `${list.slice(0, 4).join(', ')} and the other client networks` : list.join(', ');
}

/** A host pattern as a rule destination, with the {region}/{edge} values spelled out. */
export function hostDestination(host: SignallingHost, policy: Policy): string {
  let text = host.pattern;
  if (host.pattern.includes('{region}')) text += ` (for each region: ${policy.regions.join(', ')})`;
  if (host.pattern.includes('{edge}')) {
    const names = policy.media.edges.flatMap((e) => e.aliases ?? []);
    text += ` (for each edge: ${names.join(', ')})`;
  }
  return text;
}

export function signallingRemedy(host: SignallingHost, policy: Policy, clients: Iterable<string>): string {
  return (
    `Allow outbound ${host.proto.toUpperCase()} from ${sourceNets(clients)} to ${hostDestination(host, policy)} ` +
    `port ${host.ports.join(', ')} and its return traffic. Use an FQDN-based rule: Spoke and Twilio run on AWS and their addresses change.`
  );
}

/** The media CIDRs for an edge id (the roaming edge, or every edge's, when unknown). */
export function mediaCidrs(policy: Policy, edgeId: string | null): string[] {
  const edges = policy.media.edges;
  const edge = edges.find((e) => e.id === edgeId) ?? edges.find((e) => e.roaming);
  const cidrs = edge ? edge.cidrs : [...policy.media.shared, ...edges.flatMap((e) => e.cidrs)];
  return [...new Set([...policy.media.shared, ...cidrs])];
}

export function mediaRemedy(policy: Policy, edgeId: string | null, clients: Iterable<string>): string {
  const [lo, hi] = policy.media.portRange;
  return (
    `Allow outbound ${policy.media.proto.toUpperCase()} from ${sourceNets(clients)} to ${mediaCidrs(policy, edgeId).join(', ')} ` +
    `ports ${lo}-${hi} and its return traffic.`
  );
}

/** Every Spoke/Twilio destination in one sentence, for "keep it out of the tunnel/WAN" remedies. */
export function allDestinations(policy: Policy): string {
  const [lo, hi] = policy.media.portRange;
  const hosts = [...new Set(policy.signalling.map((h) => h.pattern))].join(', ');
  return `TCP 443 to ${hosts}, and ${policy.media.proto.toUpperCase()} ${lo}-${hi} to ${mediaCidrs(policy, null).join(', ')}`;
}

export function ms(seconds: number): string {
  return `${Math.round(seconds * 1000)} ms`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
