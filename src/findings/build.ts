/**
 * buildFindings: collected evidence, detections, DNS transactions and calls →
 * findings (each with evidence, a Wireshark filter and a remedy), the
 * requirements checklist and the verdict. Pure: same input, same output.
 * docs/findings.md describes every finding id.
 */
import type { SourceInfo } from '../capture/types.js';
import type { DnsTransaction } from '../analyze/dns-analyzer.js';
import type { TunnelDetection, TunnelReport, TunnelType } from '../analyze/tunnel.js';
import { VDI_NAMES, VDI_PROTOCOLS, type VdiDetection, type VdiKind } from '../analyze/vdi.js';
import type { IcmpOrphan } from '../flow/table.js';
import { destinationFamilies } from '../policy/compile.js';
import type { SignallingHost } from '../policy/types.js';
import type { ChecklistItem, ReportCall, ReportCapture, ReportFinding, Severity } from '../report/schema.js';
import {
  bucketKey,
  isAdminProhibited,
  type Bucket,
  type CollectedEvidence,
  type EvidenceKind,
  type EvidenceKinds,
  type FlowRef,
  type Tier,
} from './collector.js';
import {
  allDestinations,
  and,
  anyOf,
  endpointTerm,
  frameFilter,
  ipField,
  mediaCidrs,
  mediaRemedy,
  ms,
  plural,
  quoted,
  safeName,
  signallingRemedy,
  sourceNets,
} from './text.js';

export interface FindingsInput {
  collector: { evidence(): CollectedEvidence };
  capture: ReportCapture;
  sources: SourceInfo[];
  calls: ReportCall[];
  dns: DnsTransaction[];
  tunnels: { report(): TunnelReport };
  vdi: { detections(): VdiDetection[] };
  orphanIcmp: IcmpOrphan[];
}

export interface FindingsResult {
  findings: ReportFinding[];
  checklist: ChecklistItem[];
  verdict: 'pass' | 'warn' | 'fail';
}

const MAX_LIST = 16;
const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
const TIER_SEVERITY: Record<Tier, Severity> = { required: 'error', policy: 'warning', other: 'info' };
/** Bad checksums on at least this share of a host's sampled packets (and this many) look like offload. */
const OFFLOAD_SHARE = 0.9;
const OFFLOAD_MIN = 10;
/** A call whose media starts this close to the capture's first packet was already running (50 packets/s). */
const MID_CALL_S = 0.1;

export function buildFindings(input: FindingsInput): FindingsResult {
  const ev = input.collector.evidence();
  const b = new Builder(ev);
  b.connectivity();
  b.dns(input.dns);
  b.orphans(input.orphanIcmp);
  b.tunnels(input.tunnels.report());
  b.vdi(input.vdi.detections());
  b.calls(input.calls);
  b.edges();
  b.signallingWithoutMedia(input.vdi.detections());
  b.captureQuality(input.sources, input.calls);
  const checklist = b.checklist();
  b.notTested(checklist, input.calls);
  const findings = b.findings.sort((x, y) => SEVERITY_ORDER[x.severity] - SEVERITY_ORDER[y.severity]);
  const verdict = findings.some((f) => f.severity === 'error') ? 'fail' : findings.some((f) => f.severity === 'warning') ? 'warn' : 'pass';
  return { findings, checklist, verdict };
}

/** Items of one kind, grouped by destination (policy host, media, or server address). */
function groups<T extends FlowRef>(items: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const key = it.host ? `host:${it.host.id}` : it.media ? `media:${it.edge ?? ''}` : `ip:${it.server.ip}`;
    const list = out.get(key);
    if (list) list.push(it);
    else out.set(key, [it]);
  }
  return out;
}

/** Flow uids, frames (first frames of each flow) and client addresses of a group. */
function gather(items: FlowRef[]): { flows: string[]; frames: number[]; clients: string[] } {
  const frames = [...new Set(items.flatMap((i) => i.frames.slice(0, 4)))].sort((a, b) => a - b).slice(0, 32);
  return { flows: items.map((i) => i.uid).slice(0, MAX_LIST), frames, clients: [...new Set(items.map((i) => i.client.ip))] };
}

function transport(proto: number): 'tcp' | 'udp' | null {
  return proto === 6 ? 'tcp' : proto === 17 ? 'udp' : null;
}

/** "chunderw-vpc-gll.twilio.com (168.86.130.4) port 443" */
function destination(it: FlowRef): string {
  const port = it.server.port ? ` port ${it.server.port}` : '';
  return it.name ? `${it.name} (${it.server.ip})${port}` : `${it.server.ip}${port}`;
}

function groupLabel(it: FlowRef): string {
  if (it.host) return it.name ?? it.host.pattern;
  if (it.media) return `Twilio media${it.edge ? ` (${it.edge})` : ''}`;
  return destination(it);
}

const TLS_ALERTS: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  40: 'handshake_failure',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

const ICMP4_CODES: Record<number, string> = {
  0: 'network unreachable',
  1: 'host unreachable',
  2: 'protocol unreachable',
  3: 'port unreachable',
  4: 'fragmentation needed',
  9: 'network administratively prohibited',
  10: 'host administratively prohibited',
  13: 'communication administratively prohibited',
};
const ICMP6_CODES: Record<number, string> = {
  0: 'no route to destination',
  1: 'communication administratively prohibited',
  3: 'address unreachable',
  4: 'port unreachable',
  5: 'source address failed ingress/egress policy',
  6: 'reject route to destination',
};

function icmpName(e: { version: 4 | 6; code: number }): string {
  return (e.version === 4 ? ICMP4_CODES : ICMP6_CODES)[e.code] ?? `code ${e.code}`;
}

const RCODES: Record<number, string> = { 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };

const TUNNEL_NAMES: Record<TunnelType, string> = {
  ipsec: 'IPsec',
  ike: 'IPsec key exchange (IKE)',
  openvpn: 'OpenVPN',
  wireguard: 'WireGuard',
  gre: 'GRE',
  l2tp: 'L2TP',
  pptp: 'PPTP',
  'ssl-vpn': 'SSL VPN',
  tailscale: 'Tailscale',
  'ip-in-ip': 'IP-in-IP',
};

class Builder {
  readonly findings: ReportFinding[] = [];
  private readonly failingFamilies = new Set<string>();

  constructor(private readonly ev: CollectedEvidence) {}

  private get policy() {
    return this.ev.settings.policy;
  }

  private bucket<K extends EvidenceKind>(kind: K, tier: Tier): Bucket<EvidenceKinds[K]> {
    return (this.ev.buckets.get(bucketKey(kind, tier)) as Bucket<EvidenceKinds[K]> | undefined) ?? { count: 0, items: [] };
  }

  private add(f: ReportFinding): void {
    this.findings.push(f);
  }

  private remedyFor(it: FlowRef, clients: string[]): string {
    if (it.host) return signallingRemedy(it.host, this.policy, clients);
    if (it.media) return mediaRemedy(this.policy, it.edge ?? this.ev.settings.edge, clients);
    return '';
  }

  /**
   * One finding per destination for required/policy tiers; the "other" tier
   * aggregated into one info finding per kind.
   */
  private perDestination<K extends EvidenceKind>(
    kind: K,
    describe: (items: EvidenceKinds[K][], total: number) => { title: string; detail: string; filter: string; severity?: Severity },
    otherRemedy: string,
  ): void {
    for (const tier of ['required', 'policy'] as const) {
      const bucket = this.bucket(kind, tier);
      for (const items of groups(bucket.items).values()) {
        const g = gather(items);
        const d = describe(items, items.length);
        this.add({
          id: kind,
          severity: d.severity ?? TIER_SEVERITY[tier],
          title: d.title,
          detail: d.detail,
          flows: g.flows,
          frames: g.frames,
          wiresharkFilter: d.filter,
          remedy: this.remedyFor(items[0], g.clients),
        });
      }
      if (bucket.count > bucket.items.length)
        this.findings[this.findings.length - 1].detail += ` (${bucket.count} flows in all; the first ${bucket.items.length} are listed)`;
    }
    const other = this.bucket(kind, 'other');
    if (other.count === 0) return;
    const g = gather(other.items);
    const d = describe(other.items, other.count);
    this.add({
      id: kind,
      severity: d.severity ?? 'info',
      title: d.title,
      detail: `${d.detail} These destinations are not in the Spoke/Twilio policy.`,
      flows: g.flows,
      frames: g.frames,
      wiresharkFilter: d.filter,
      remedy: otherRemedy,
    });
  }

  connectivity(): void {
    this.perDestination(
      'tcp-blocked',
      (items, total) => {
        const first = items[0];
        const syns = items.reduce((n, i) => n + i.syns, 0);
        return {
          title: items.length === total && first.tier !== 'other' ? `TCP to ${groupLabel(first)} gets no answer` : `${plural(total, 'TCP connection attempt')} got no answer`,
          detail:
            `${plural(total, 'connection')} from ${sourceNets(items.map((i) => i.client.ip))} sent ${plural(syns, 'SYN')} (retransmissions included) ` +
            `to ${[...new Set(items.map(destination))].slice(0, 4).join(', ')} and got nothing back: no SYN-ACK, no RST, no ICMP. ` +
            'A firewall is silently dropping the connection.',
          filter: and(
            'tcp.flags.syn==1 && tcp.flags.ack==0',
            anyOf(items.map((i) => endpointTerm('dst', i.server.ip, 'tcp', i.server.port))),
          ),
        };
      },
      'Nothing to do for Spoke; if these destinations matter to you, check your outbound firewall rules.',
    );
    this.perDestination(
      'tcp-refused',
      (items, total) => ({
        title: `TCP to ${groupLabel(items[0])} is refused (RST)`,
        detail:
          `${plural(total, 'connection attempt')} to ${[...new Set(items.map(destination))].slice(0, 4).join(', ')} ` +
          `${total === 1 ? 'was' : 'were'} answered with a TCP reset instead of a SYN-ACK. ` +
          'A firewall or proxy rejecting the connection usually does this on the server\'s behalf.',
        filter: and('tcp.flags.reset==1', anyOf(items.map((i) => endpointTerm('src', i.server.ip, 'tcp', i.server.port)))),
      }),
      'Nothing to do for Spoke; check your outbound firewall rules if these destinations matter to you.',
    );
    this.perDestination(
      'icmp-unreachable',
      (items, total) => {
        const errors = items.flatMap((i) => i.errors);
        const admin = errors.filter(isAdminProhibited);
        const reporters = [...new Set(errors.map((e) => e.reporter))].slice(0, 4).join(', ');
        const codes = [...new Set(errors.map(icmpName))].join(', ');
        const v6 = errors.some((e) => e.version === 6);
        const v4 = errors.some((e) => e.version === 4);
        return {
          title: `${groupLabel(items[0])} unreachable: ${admin.length ? 'administratively prohibited' : codes}`,
          detail:
            `${plural(total, 'flow')} to ${[...new Set(items.map(destination))].slice(0, 4).join(', ')} got ICMP destination unreachable (${codes}) from ${reporters}.` +
            (admin.length ? ' "Administratively prohibited" means a firewall or router ACL rejected it.' : ''),
          filter: and(
            anyOf([...(v4 ? ['icmp.type==3'] : []), ...(v6 ? ['icmpv6.type==1'] : [])]),
            anyOf(items.map((i) => `${ipField(i.client.ip)}.dst==${i.client.ip}`)),
          ),
          severity: items[0].tier === 'other' && admin.length ? 'warning' : undefined,
        };
      },
      'If these destinations matter to you, the router that sent the ICMP error is where to look.',
    );
    this.perDestination(
      'udp-no-return',
      (items, total) => ({
        title: `UDP to ${groupLabel(items[0])} gets nothing back`,
        detail:
          `${plural(total, 'UDP flow')} from ${sourceNets(items.map((i) => i.client.ip))} to ${[...new Set(items.map(destination))].slice(0, 4).join(', ')} ` +
          `sent ${items.reduce((n, i) => n + i.packets[0], 0)} packets and received none. ` +
          'This is the "calls connect but have no audio" case: outbound UDP or its return traffic is filtered.',
        filter: anyOf(items.map((i) => endpointTerm('addr', i.server.ip, 'udp', i.server.port))),
      }),
      '',
    );
    this.perDestination(
      'tls-failure',
      (items, total) => {
        const reasons = items.map((i) =>
          i.reason === 'alert' && i.alert
            ? `TLS alert ${TLS_ALERTS[i.alert.description] ?? i.alert.description} from the ${i.alert.fromClient ? 'client' : 'server'}`
            : i.reason === 'reset'
              ? 'connection reset after the ClientHello'
              : 'no ServerHello after the ClientHello',
        );
        const names = [...new Set(items.map((i) => i.name).filter((n): n is string => n !== null))];
        return {
          title: `TLS to ${groupLabel(items[0])} fails`,
          detail:
            `${plural(total, 'TLS handshake')} to ${[...new Set(items.map(destination))].slice(0, 4).join(', ')} failed: ${[...new Set(reasons)].join('; ')}. ` +
            'A TCP connection was made, so an SNI-filtering firewall, a TLS-inspecting proxy or a captive portal is the usual cause.',
          filter: names.length
            ? anyOf(names.map((n) => `tls.handshake.extensions_server_name == ${quoted(n)}`))
            : anyOf(items.map((i) => endpointTerm('addr', i.server.ip, 'tcp', i.server.port))),
        };
      },
      'Nothing to do for Spoke; check your proxy or TLS inspection rules if these destinations matter to you.',
    );
    for (const tier of ['required', 'policy', 'other'] as const) this.markFailing(tier);
    this.slowSetup();
    this.interception();
    this.inboundConnections();
  }

  /** Families (checklist) of hosts whose flows failed. */
  private markFailing(tier: Tier): void {
    for (const kind of ['tcp-blocked', 'tcp-refused', 'icmp-unreachable', 'udp-no-return', 'tls-failure'] as const)
      for (const it of this.bucket(kind, tier).items) if (it.host) this.failingFamilies.add(it.host.id);
  }

  private slowSetup(): void {
    const items = [...this.bucket('slow-setup', 'required').items, ...this.bucket('slow-setup', 'policy').items];
    const total = this.bucket('slow-setup', 'required').count + this.bucket('slow-setup', 'policy').count;
    if (items.length === 0) return;
    const g = gather(items);
    const limit = this.policy.limits.maxSetupMs;
    const worst = items.reduce((a, i) => (i.seconds > a.seconds ? i : a));
    const lines = items.slice(0, 4).map((i) => `${i.step === 'tcp' ? 'TCP SYN→SYN-ACK' : 'TLS ClientHello→ServerHello'} ${ms(i.seconds)} to ${destination(i)}`);
    this.add({
      id: 'slow-setup',
      severity: 'warning',
      title: `Slow connection setup to Spoke/Twilio (up to ${ms(worst.seconds)}, limit ${limit} ms)`,
      detail:
        `${plural(total, 'setup step')} took longer than ${limit} ms: ${lines.join('; ')}. ` +
        'Each step is one round trip; this much delay is the sign of stateful packet inspection (SPI) the requirements warn about.',
      flows: g.flows,
      frames: g.frames,
      wiresharkFilter: anyOf(
        items.map((i) =>
          i.step === 'tcp'
            ? `tcp.flags.syn==1 && ${endpointTerm('addr', i.server.ip, 'tcp', i.server.port)}`
            : `tls.handshake.type in {1 2} && ${endpointTerm('addr', i.server.ip, 'tcp', i.server.port)}`,
        ),
      ),
      remedy: `Exclude Spoke and Twilio from stateful packet inspection / deep packet inspection: ${allDestinations(this.policy)}.`,
    });
  }

  private interception(): void {
    const items = (['required', 'policy', 'other'] as const).flatMap((t) => this.bucket('tls-interception', t).items);
    if (items.length === 0) return;
    const policyHit = items.some((i) => i.tier !== 'other');
    const g = gather(items);
    const lines = items.slice(0, 4).map((i) => `${i.sni} got a certificate for "${i.subject}"${i.issuer ? ` issued by "${i.issuer}"` : ''}`);
    this.add({
      id: 'tls-interception',
      severity: policyHit ? 'warning' : 'info',
      title: 'TLS certificates do not match the server names: interception',
      detail: `${lines.join('; ')}. A TLS-inspecting proxy or firewall is re-signing connections; it adds setup time and can break certificate pinning.`,
      flows: g.flows,
      frames: g.frames,
      wiresharkFilter: anyOf(items.map((i) => `tls.handshake.extensions_server_name == ${quoted(i.sni)}`)),
      remedy: `Exclude Spoke and Twilio from TLS inspection: ${allDestinations(this.policy)}.`,
    });
  }

  private inboundConnections(): void {
    const all = (['required', 'policy', 'other'] as const).map((t) => this.bucket('inbound-connection', t));
    const items = all.flatMap((b) => b.items);
    if (items.length === 0) return;
    const total = all.reduce((n, b) => n + b.count, 0);
    const answered = items.filter((i) => i.answered);
    const g = gather(items);
    const lines = items.slice(0, 4).map(
      (i) => `${i.proto === 6 ? 'TCP' : 'UDP'} ${i.client.ip}:${i.client.port} → ${i.server.ip}:${i.server.port}${i.answered ? ' (answered)' : ''}`,
    );
    this.add({
      id: 'inbound-connection',
      severity: answered.length ? 'warning' : 'info',
      title: `${plural(total, 'connection')} initiated from outside toward internal hosts`,
      detail:
        `${lines.join('; ')}. The first packet came from outside the internal networks (a TCP SYN, or UDP with no earlier outbound packet on that 5-tuple). ` +
        'Spoke and Twilio never initiate connections to clients, so the firewall should not let these in.',
      flows: g.flows,
      frames: g.frames,
      wiresharkFilter: anyOf(
        items.map((i) =>
          i.proto === 6
            ? `tcp.flags.syn==1 && tcp.flags.ack==0 && ${ipField(i.client.ip)}.src==${i.client.ip} && ${ipField(i.server.ip)}.dst==${i.server.ip}`
            : `${ipField(i.client.ip)}.src==${i.client.ip} && ${ipField(i.server.ip)}.dst==${i.server.ip} && udp.dstport==${i.server.port}`,
        ),
      ),
      remedy:
        'Block unsolicited inbound connections: allow only outbound connections and their return traffic (stateful "established/related"). ' +
        'Spoke needs no inbound rule.',
    });
  }

  dns(transactions: DnsTransaction[]): void {
    const settings = this.ev.settings;
    const lastTs = this.ev.lastTs;
    const byHost = new Map<string, { host: SignallingHost; txs: DnsTransaction[] }>();
    for (const tx of transactions) {
      const failed = tx.rcode === null ? lastTs === null || lastTs - tx.ts >= 2 : tx.rcode === 2 || tx.rcode === 3 || tx.rcode === 5;
      if (!failed) continue;
      const m = settings.classifier.matchHost(tx.qname);
      if (!m) continue;
      const entry = byHost.get(m.host.id) ?? { host: m.host, txs: [] };
      entry.txs.push(tx);
      byHost.set(m.host.id, entry);
    }
    for (const { host, txs } of byHost.values()) {
      this.failingFamilies.add(host.id);
      const names = [...new Set(txs.map((t) => safeName(t.qname)))];
      const outcomes = [...new Set(txs.map((t) => (t.rcode === null ? 'no response' : (RCODES[t.rcode] ?? `rcode ${t.rcode}`))))];
      const resolvers = [...new Set(txs.map((t) => t.server))].slice(0, 3);
      this.add({
        id: 'dns-failure',
        severity: host.required ? 'error' : 'warning',
        title: `DNS for ${names[0]} fails (${outcomes.join(', ')})`,
        detail:
          `${plural(txs.length, 'query', 'queries')} for ${names.slice(0, 4).join(', ')} to ${resolvers.join(', ')} got ${outcomes.join(' / ')}. ` +
          `${host.label} cannot be reached without its name.`,
        flows: [...new Set(txs.map((t) => t.flowUid))].slice(0, MAX_LIST),
        frames: [...new Set(txs.flatMap((t) => (t.responseFrame ? [t.frame, t.responseFrame] : [t.frame])))].slice(0, 32),
        wiresharkFilter: anyOf(names.map((n) => `dns.qry.name == ${quoted(n)}`)),
        remedy:
          `Make sure the resolver${resolvers.length > 1 ? 's' : ''} ${resolvers.join(', ')} can resolve ${host.pattern}: ` +
          'it is a public name, so check DNS filtering, split-horizon zones and forwarders.',
      });
    }
  }

  /** ICMP errors naming no flow seen: aggregated, mapped through their embedded header. */
  orphans(orphans: IcmpOrphan[]): void {
    const list = orphans.filter((o) => (o.version === 4 ? o.type === 3 : o.type === 1));
    if (list.length === 0) return;
    const admin = list.filter(isAdminProhibited);
    const media = list.filter((o) => this.ev.settings.classifier.matchMedia(o.dst, o.dstPort, o.proto)?.inPolicy);
    const lines = list
      .slice(0, 4)
      .map((o) => `${icmpName(o)} from ${o.reporter} for ${o.proto === 6 ? 'TCP' : o.proto === 17 ? 'UDP' : `protocol ${o.proto}`} ${o.src} → ${o.dst}${o.dstPort ? `:${o.dstPort}` : ''}`);
    this.add({
      id: 'icmp-unreachable',
      severity: media.length ? 'error' : admin.length ? 'warning' : 'info',
      title: `${plural(list.length, 'ICMP unreachable error')} for traffic not otherwise captured`,
      detail: `${lines.join('; ')}. The packets they answer are not in the capture (captured on another segment, or before it started).`,
      flows: [],
      frames: list.map((o) => o.frame).slice(0, 32),
      wiresharkFilter: frameFilter(list.map((o) => o.frame)),
      remedy: media.length ? mediaRemedy(this.policy, this.ev.settings.edge, media.map((o) => o.src)) : '',
    });
  }

  tunnels(report: TunnelReport): void {
    const byPeer = new Map<string, TunnelDetection[]>();
    for (const d of report.detections) {
      const list = byPeer.get(d.peer);
      if (list) list.push(d);
      else byPeer.set(d.peer, [d]);
    }
    const mode =
      report.mode === 'full'
        ? 'Full tunnel: most traffic leaving the internal networks goes into it.'
        : report.mode === 'split'
          ? 'Split tunnel: most traffic leaving the internal networks does not go into it.'
          : '';
    for (const [peer, list] of byPeer) {
      const types = [...new Set(list.map((d) => d.type))];
      const inside = list.flatMap((d) => d.spokeTwilioInside);
      const bypass = report.spokeTwilioBypass;
      const where = inside.length
        ? `Spoke/Twilio traffic goes inside it (${inside.slice(0, 4).join(', ')}).`
        : bypass.length
          ? `Spoke/Twilio traffic bypasses it (${bypass.slice(0, 4).join(', ')} go directly).`
          : 'No Spoke/Twilio traffic was seen either inside or outside it, so whether calls would use it is not known.';
      const severity: Severity = inside.length ? 'error' : bypass.length && report.mode !== 'full' ? 'info' : 'warning';
      const evidence = [...new Set(list.map((d) => d.evidence))].slice(0, 3).join('; ');
      this.add({
        id: 'vpn-tunnel',
        severity,
        title: `VPN tunnel (${types.join(', ')}) to ${peer}`,
        detail: `${types.map((t) => TUNNEL_NAMES[t]).join(' + ')} tunnel (type: ${types.join(', ')}) to ${peer}: ${evidence}. ${mode} ${where}`.replace(/\s+/g, ' ').trim(),
        flows: [...list.map((d) => d.flow), ...inside].slice(0, MAX_LIST),
        frames: [...new Set(list.flatMap((d) => d.frames))].sort((a, b) => a - b).slice(0, 32),
        wiresharkFilter: anyOf(list.map(tunnelFilter)),
        remedy:
          `Spoke will not work through a VPN. Keep Spoke and Twilio out of the tunnel (split-tunnel exclusions, or no VPN on calling devices): ${allDestinations(this.policy)}.`,
      });
    }
    if (report.omitted > 0 && this.findings.length)
      this.findings[this.findings.length - 1].detail += ` (${report.omitted} more tunnel flows were not listed)`;
    const mpls = report.mpls;
    if (mpls) {
      this.add({
        id: 'mpls',
        severity: mpls.spokeTwilioFlows.length ? 'error' : 'warning',
        title: `MPLS labels on ${plural(mpls.packets, 'packet')}`,
        detail:
          `${plural(mpls.packets, 'packet')} carried MPLS label stacks (${mpls.labelStacks.join(', ')}), so this segment is an MPLS WAN. ` +
          (mpls.spokeTwilioFlows.length
            ? `Spoke/Twilio traffic rides it (${mpls.spokeTwilioFlows.slice(0, 4).join(', ')}). `
            : 'No Spoke/Twilio traffic was seen with labels. ') +
          'The requirements say Spoke will not work over MPLS.',
        flows: [...mpls.spokeTwilioFlows, ...mpls.flows].slice(0, MAX_LIST),
        frames: mpls.frames,
        wiresharkFilter: `mpls.label in {${[...new Set(mpls.labelStacks.flatMap((s) => s.split('/')))].join(' ')}}`,
        remedy: `Send Spoke and Twilio traffic out through local internet access rather than the MPLS WAN: ${allDestinations(this.policy)}.`,
      });
    }
  }

  vdi(detections: VdiDetection[]): void {
    const byKind = new Map<VdiKind, VdiDetection[]>();
    for (const d of detections) byKind.set(d.kind, [...(byKind.get(d.kind) ?? []), d]);
    for (const [kind, list] of byKind) {
      const vdi = VDI_PROTOCOLS.has(kind);
      const pairs = [...new Set(list.map((d) => `${d.client.ip} → ${d.server.ip}:${d.server.port}`))].slice(0, 4);
      const portOnly = list.every((d) => d.basis === 'port');
      this.add({
        id: 'vdi-session',
        severity: vdi ? 'warning' : 'info',
        title: `${VDI_NAMES[kind]} ${vdi ? 'virtual desktop' : 'remote desktop'} session${list.length > 1 ? 's' : ''}`,
        detail:
          `${plural(list.length, `${VDI_NAMES[kind]} session`)} (${pairs.join(', ')}): ${list[0].evidence}. ` +
          (vdi
            ? 'Spoke is not compatible with virtual desktop environments: a Spoke app inside the desktop would send its audio through it.'
            : `${VDI_NAMES[kind]} is a remote-desktop tool rather than a VDI; Spoke running inside a remoted session has the same problem.`) +
          (portOnly ? ' Identified by its registered port only; the payload is encrypted.' : ''),
        flows: list.map((d) => d.flow).slice(0, MAX_LIST),
        frames: [...new Set(list.flatMap((d) => d.frames))].sort((a, b) => a - b).slice(0, 32),
        wiresharkFilter: anyOf(list.map((d) => endpointTerm('addr', d.server.ip, transport(d.proto), d.server.port))),
        remedy: 'Run the Spoke desktop app on the physical machine (or use the mobile app), not inside the virtual or remote desktop.',
      });
    }
  }

  private isTwilioCall(c: ReportCall): boolean {
    return c.edge !== null || !!this.ev.settings.classifier.matchMedia(c.remote.ip, c.remote.port, 17)?.inPolicy;
  }

  calls(calls: ReportCall[]): void {
    const limits = this.policy.limits;
    const each = (
      violation: ReportCall['violations'][number],
      id: string,
      severity: Severity,
      title: string,
      line: (c: ReportCall) => string,
      remedy: string,
    ): void => {
      // Twilio media calls are what the requirements are about; other calls (SIP trunks, other apps) are reported one level lower.
      const all = calls.filter((c) => c.violations.includes(violation));
      const twilio = all.filter((c) => this.isTwilioCall(c));
      const others = all.filter((c) => !this.isTwilioCall(c));
      for (const [list, sev] of [[twilio, severity], [others, severity === 'error' ? 'warning' : 'info']] as const) {
        if (list.length === 0) continue;
        this.add({
          id,
          severity: sev,
          title: `${plural(list.length, list === twilio ? 'Twilio call' : 'non-Twilio call')}: ${title}`,
          detail: list
            .slice(0, 6)
            .map((c) => `${c.uid} ${c.local.ip} ↔ ${c.remote.ip}:${c.remote.port}${c.edge ? ` (${c.edge})` : ''}: ${line(c)}`)
            .join('; '),
          flows: [...new Set(list.flatMap((c) => c.flows))].slice(0, MAX_LIST),
          frames: [],
          wiresharkFilter: anyOf(list.map((c) => endpointTerm('addr', c.remote.ip, 'udp', c.remote.port))),
          remedy,
        });
      }
    };
    const fmt = (v: number | null | undefined, unit: string): string => (v === null || v === undefined ? 'n/a' : `${Math.round(v * 10) / 10}${unit}`);
    const qos = `Give UDP to ${mediaCidrs(this.policy, this.ev.settings.edge).join(', ')} ports ${this.policy.media.portRange.join('-')} priority (QoS, DSCP EF) and look for the congested or lossy hop (Wi-Fi, WAN link utilisation).`;
    each('jitter', 'call-jitter', 'error', `jitter over ${limits.maxJitterMs} ms`, (c) => `max jitter up ${fmt(c.up.maxJitterMs, ' ms')}, down ${fmt(c.down.maxJitterMs, ' ms')} (limit ${limits.maxJitterMs} ms)`, qos);
    each('loss', 'call-loss', 'error', `packet loss over ${limits.maxLossPct}%`, (c) => `loss up ${fmt(c.up.lossPct, '%')}, down ${fmt(c.down.lossPct, '%')} (limit ${limits.maxLossPct}%)`, qos);
    each(
      'rtt',
      'call-rtt',
      'error',
      `round trip over ${limits.maxRttMs} ms`,
      (c) => `RTT ${fmt(c.rttMs ?? c.rtt?.maxMs, ' ms')}${c.rtt ? ` (STUN min ${fmt(c.rtt.minMs, '')}/mean ${fmt(c.rtt.meanMs, '')}/max ${fmt(c.rtt.maxMs, '')} ms)` : ''} (limit ${limits.maxRttMs} ms)`,
      'Pin the nearest Twilio edge in Spoke (Settings → My Call Quality) and check the route to it; VPNs and distant internet breakouts add delay.',
    );
    each(
      'bandwidth',
      'call-bandwidth',
      'error',
      `below ${limits.minKbps} kbps`,
      (c) => `up ${fmt(c.up.kbps, ' kbps')}, down ${fmt(c.down.kbps, ' kbps')} (need ${limits.minKbps} kbps each way)`,
      `Provide ${limits.minKbps} kbps up and down per concurrent call, and check for rate limiting of UDP.`,
    );
    const oneWay = calls.filter((c) => c.violations.includes('one-way'));
    each(
      'one-way',
      'one-way-audio',
      'error',
      'media in one direction only',
      (c) => `up ${c.up.packets ?? 'n/a'} packets, down ${c.down.packets ?? 'n/a'} packets`,
      mediaRemedy(this.policy, oneWay[0]?.edge ?? this.ev.settings.edge, oneWay.map((c) => c.local.ip)),
    );
  }

  edges(): void {
    const settings = this.ev.settings;
    const pinned = settings.edge;
    const mismatch = [...this.bucket('edge-mismatch', 'required').items, ...this.bucket('edge-mismatch', 'policy').items];
    if (mismatch.length) {
      const g = gather(mismatch);
      const edges = [...new Set(mismatch.map((i) => i.edge))].join(', ');
      this.add({
        id: 'edge-mismatch',
        severity: 'warning',
        title: `Media goes to edge ${edges}, not the pinned ${pinned}`,
        detail: `${plural(mismatch.length, 'media flow')} went to ${[...new Set(mismatch.map(destination))].slice(0, 4).join(', ')} in edge ${edges}, but users are pinned to ${pinned}.`,
        flows: g.flows,
        frames: g.frames,
        wiresharkFilter: anyOf(mismatch.map((i) => endpointTerm('addr', i.server.ip, 'udp', i.server.port))),
        remedy: `Check the edge setting in Spoke (Settings → My Call Quality) on these clients, and that ${mediaCidrs(this.policy, mismatch[0].edge).join(', ')} is allowed if they keep using it.`,
      });
    }
    const legacy = this.bucket('legacy-media-range', 'required').items;
    if (legacy.length) {
      const g = gather(legacy);
      this.add({
        id: 'legacy-media-range',
        severity: 'warning',
        title: 'Media to a legacy per-edge Twilio range',
        detail:
          `${plural(legacy.length, 'media flow')} went to ${[...new Set(legacy.map((i) => `${i.server.ip} (${i.cidr})`))].slice(0, 4).join(', ')}, ` +
          `a per-edge range Twilio has replaced by ${this.policy.media.shared.join(', ')} since October 2023.`,
        flows: g.flows,
        frames: g.frames,
        wiresharkFilter: anyOf(legacy.map((i) => endpointTerm('addr', i.server.ip, 'udp', i.server.port))),
        remedy: `Make sure ${this.policy.media.shared.join(', ')} UDP ${this.policy.media.portRange.join('-')} is allowed; firewall rules that list only the old per-edge ranges will break when the clients move.`,
      });
    }
    const hosts = [...this.bucket('legacy-signalling-host', 'required').items, ...this.bucket('legacy-signalling-host', 'policy').items];
    if (hosts.length) {
      const g = gather(hosts);
      const names = [...new Set(hosts.map((i) => i.name ?? i.host!.pattern))];
      // Still in the vendor's requirements: informational, not a violation.
      this.add({
        id: 'legacy-signalling-host',
        severity: 'info',
        title: `Legacy signalling host ${names[0]}`,
        detail: `${names.slice(0, 4).join(', ')}: ${hosts[0].host!.legacy}. Clients using it run an old Twilio SDK.`,
        flows: g.flows,
        frames: g.frames,
        wiresharkFilter: anyOf(names.map((n) => `tls.handshake.extensions_server_name == ${quoted(n)}`)),
        remedy: 'Update the Spoke app on these clients; keep the host allowed until every client is updated.',
      });
    }
  }

  /** Internal clients with Spoke/Twilio signalling but no media of their own. */
  signallingWithoutMedia(vdi: VdiDetection[]): void {
    const quiet = [...this.ev.clients].filter(([, c]) => c.signalling.length > 0 && c.media === 0);
    if (quiet.length === 0) return;
    const vdiClients = new Set(vdi.map((d) => d.client.ip));
    const withVdi = quiet.filter(([ip]) => vdiClients.has(ip));
    this.add({
      id: 'signalling-without-media',
      severity: 'info',
      title: `${plural(quiet.length, 'client')} with Spoke/Twilio signalling but no call media`,
      detail:
        `${quiet.slice(0, 6).map(([ip]) => ip).join(', ')} talked to Spoke/Twilio signalling but sent no media themselves: either no call was made during the capture, ` +
        `or calls run somewhere else, such as a virtual desktop.${withVdi.length ? ` ${withVdi.map(([ip]) => ip).join(', ')} also ran a remote/virtual desktop session.` : ''}`,
      flows: quiet.flatMap(([, c]) => c.signalling).slice(0, MAX_LIST),
      frames: [],
      wiresharkFilter: anyOf(quiet.map(([ip]) => `${ipField(ip)}.addr==${ip}`)),
      remedy: 'Capture during a test call to check the media path.',
    });
  }

  captureQuality(sources: SourceInfo[], calls: ReportCall[]): void {
    const add = (severity: Severity, title: string, detail: string, filter: string, remedy: string, frames: number[] = []): void =>
      this.add({ id: 'capture-quality', severity, title, detail, flows: [], frames, wiresharkFilter: filter, remedy });
    for (const s of sources) {
      const path = safeName(s.path);
      const drops = s.drops.reduce((n, d) => n + (d.ifDrop ?? 0) + (d.osDrop ?? 0), 0);
      if (drops > 0)
        add(
          'warning',
          `${plural(drops, 'packet')} dropped while capturing`,
          `${path}: the capture's interface statistics report ${plural(drops, 'dropped packet')}; loss and jitter figures may be worse than the network really is.`,
          '',
          'Capture with a larger buffer (dumpcap -B), a capture filter, or on a less busy host.',
        );
      if (s.snaplenTruncatedPackets > 0)
        add(
          s.snaplen !== null && s.snaplen < 256 ? 'warning' : 'info',
          `${plural(s.snaplenTruncatedPackets, 'packet')} cut short by the snap length`,
          `${path}: snap length ${s.snaplen ?? 'unknown'} cut ${plural(s.snaplenTruncatedPackets, 'packet')}; TLS names, DNS answers and RTP headers past the cut are not seen.`,
          'frame.cap_len < frame.len',
          'Capture full packets (tcpdump -s 0, or no snap length in Wireshark).',
        );
      if (s.truncated || s.errors.length)
        add(
          'warning',
          s.truncated ? 'The capture file is truncated' : 'The capture file has errors',
          `${path}: ${s.errors.map((e) => `${safeName(e.message)} at byte ${e.offset}`).slice(0, 3).join('; ') || 'the file ends in the middle of a packet'}. Analysis covers what could be read.`,
          '',
          'Stop the capture cleanly (Ctrl-C once) and copy the whole file.',
        );
    }
    for (const [ip, t] of this.ev.checksums) {
      if (t.checked < OFFLOAD_MIN || t.bad / t.checked < OFFLOAD_SHARE) continue;
      add(
        'info',
        `Bad TCP/UDP checksums on packets sent by ${ip}: checksum offload`,
        `${t.bad} of ${t.checked} sampled packets sent by ${ip} have a wrong checksum. That is what checksum offload looks like when capturing on the sending host (the NIC fills it in later); it is not a network fault.`,
        `${ipField(ip)}.src==${ip}`,
        'Nothing to fix on the network. To capture correct checksums, capture on another host or turn offload off for the capture (ethtool -K <if> tx off).',
        t.frames,
      );
    }
    const start = this.ev.firstTs;
    if (start !== null) {
      const midCall = calls.filter((c) => Date.parse(c.start) / 1000 - start < MID_CALL_S);
      if (midCall.length)
        add(
          'info',
          'The capture starts mid-call',
          `${midCall.map((c) => c.uid).join(', ')} ${midCall.length === 1 ? 'was' : 'were'} already running when the capture started: the call setup (DNS, TLS, STUN) is not in the capture.`,
          '',
          'Start the capture before placing the test call.',
        );
    }
  }

  /** "Nothing failed" must never read as "it works" when nothing was tested. */
  notTested(checklist: ChecklistItem[], calls: ReportCall[]): void {
    if (calls.length > 0 || checklist.some((c) => c.status !== 'not-seen')) return;
    this.add({
      id: 'not-tested',
      severity: 'warning',
      title: 'No Spoke or Twilio traffic in this capture',
      detail:
        'None of the destinations the policy requires (Spoke gateway, Twilio signalling, Twilio media) appear in the capture, so the requirements could not be checked: an otherwise clean result says nothing about Spoke calls on this network.',
      flows: [],
      frames: [],
      wiresharkFilter: 'tls.handshake.extensions_server_name contains "twilio.com" || tls.handshake.extensions_server_name contains "spokephone.com" || ip.addr==168.86.128.0/18',
      remedy:
        "Capture on the user's network while the Spoke app starts and places a test call (for example tcpdump -i any -w spoke.pcapng), then run spokecap on that file.",
    });
  }

  checklist(): ChecklistItem[] {
    return destinationFamilies(this.policy).map((f) => {
      const t = this.ev.families.get(f.id);
      const failing = (t?.failing ?? 0) > 0 || this.failingFamilies.has(f.id);
      return {
        id: f.id,
        label: f.label,
        status: failing ? 'seen-failing' : (t?.ok ?? 0) > 0 ? 'seen-ok' : 'not-seen',
        flows: t?.flows ?? [],
      };
    });
  }
}

function tunnelFilter(d: TunnelDetection): string {
  const peer = `${ipField(d.peer)}.addr==${d.peer}`;
  switch (d.proto) {
    case 50:
      return `esp && ${peer}`;
    case 51:
      return `ah && ${peer}`;
    case 47:
      return `gre && ${peer}`;
    case 4:
    case 41:
      return `ip.proto==${d.proto} && ${peer}`;
    case 115:
      return `ip.proto==115 && ${peer}`;
    default: {
      const t = transport(d.proto);
      return t ? endpointTerm('addr', d.server.ip, t, d.server.port) : peer;
    }
  }
}
