import { describe, expect, it } from 'vitest';
import { Classifier } from '../classify/classify.js';
import { InternalNets } from '../classify/internal.js';
import { newTlsInfo, type Flow } from '../flow/flow.js';
import { newFlow } from '../flow/table.js';
import { parseIp } from '../policy/match.js';
import { SPOKE_TWILIO_POLICY } from '../policy/spoke-twilio.js';
import type { TunnelReport } from '../analyze/tunnel.js';
import type { VdiDetection } from '../analyze/vdi.js';
import type { DnsTransaction } from '../analyze/dns-analyzer.js';
import type { ReportCall, ReportCapture } from '../report/schema.js';
import { buildFindings, certCovers, FindingsCollector, type FindingsInput } from './index.js';

const T = 1_700_000_000;
const policy = SPOKE_TWILIO_POLICY;

let uid = 0;
function flow(proto: number, client: string, cport: number, server: string, sport: number, f: Partial<Flow> = {}): Flow {
  const fl = newFlow(`F${++uid}`, proto, 4, parseIp(client)!, parseIp(server)!, cport, sport, T);
  fl.clientIp = client;
  fl.serverIp = server;
  fl.firstFrame = uid * 10;
  fl.frames = [uid * 10];
  return Object.assign(fl, f);
}

function setup(edge = 'gll') {
  const classifier = new Classifier(policy, { edge });
  // No packets here: the tests set the capture's span through span() below.
  const collector = new FindingsCollector({ policy, classifier, internal: new InternalNets(), edge, span: Float64Array.of(Infinity, -Infinity) });
  const end = (f: Flow) => {
    classifier.classify(f);
    collector.onFlowEnd(f);
  };
  return { classifier, collector, end };
}

const emptyTunnels: TunnelReport = { detections: [], omitted: 0, mode: null, externalBytes: { tunnel: 0, other: 0 }, spokeTwilioBypass: [], mpls: null };

function build(collector: FindingsCollector, more: Partial<FindingsInput> = {}) {
  return buildFindings({
    collector,
    capture: {} as ReportCapture,
    sources: [],
    calls: [],
    dns: [],
    tunnels: { report: () => emptyTunnels },
    vdi: { detections: () => [] },
    orphanIcmp: [],
    ...more,
  });
}

/** Tell the collector the capture's time span without real packets. */
function span(collector: FindingsCollector, from: number, to: number): void {
  const ev = collector.evidence();
  ev.firstTs = from;
  ev.lastTs = to;
}

const CHUNDERW = 'chunderw-vpc-gll.twilio.com';

describe('buildFindings', () => {
  it('reports an unanswered SYN to a required host as tcp-blocked (error) with the SYN filter and an FQDN remedy', () => {
    const { collector, end } = setup();
    span(collector, T, T + 60);
    end(flow(6, '10.1.2.15', 50000, '54.236.10.20', 443, { synCount: 4, packets: [4, 0], history: 'S', state: 'S0', dnsName: CHUNDERW, dnsNameSource: 'dns' }));
    const r = build(collector);
    const f = r.findings.find((x) => x.id === 'tcp-blocked')!;
    expect(f.severity).toBe('error');
    expect(f.detail).toContain('4 SYNs');
    expect(f.wiresharkFilter).toBe('tcp.flags.syn==1 && tcp.flags.ack==0 && ip.dst==54.236.10.20 && tcp.dstport==443');
    expect(f.remedy).toContain('Allow outbound TCP from 10.1.2.0/24 to chunderw-vpc-gll.twilio.com port 443');
    expect(r.verdict).toBe('fail');
    expect(r.checklist.find((c) => c.id === 'twilio-chunderw-vpc-gll')!.status).toBe('seen-failing');
  });

  it('keeps other destinations at info, aggregated, and does not fail the verdict', () => {
    const { collector, end } = setup();
    span(collector, T, T + 60);
    for (let i = 0; i < 3; i++) end(flow(6, '10.1.2.15', 50000 + i, `93.184.216.${i}`, 443, { synCount: 2, packets: [2, 0], history: 'S' }));
    const r = build(collector);
    const blocked = r.findings.filter((x) => x.id === 'tcp-blocked');
    expect(blocked).toHaveLength(1);
    expect(blocked[0].severity).toBe('info');
    expect(blocked[0].flows).toHaveLength(3);
    // No policy destination was seen at all: only the not-tested warning, never a failure.
    expect(r.findings.filter((x) => x.severity !== 'info').map((x) => x.id)).toEqual(['not-tested']);
    expect(r.verdict).toBe('warn');
  });

  it('says so when nothing of the policy was seen, and not when something was', () => {
    const empty = build(setup().collector);
    expect(empty.findings.map((x) => x.id)).toEqual(['not-tested']);
    expect(empty.verdict).toBe('warn');
    const { collector, end } = setup();
    span(collector, T, T + 60);
    const tls = newTlsInfo(false);
    Object.assign(tls, { sni: CHUNDERW, clientHelloTs: T + 1, clientHelloFrame: 4, serverHelloTs: T + 1.05, serverHelloFrame: 5 });
    end(flow(6, '10.1.2.15', 50001, '54.236.10.20', 443, { synCount: 1, synAckCount: 1, packets: [10, 10], history: 'ShAdDaFf', tls }));
    expect(build(collector).findings.some((x) => x.id === 'not-tested')).toBe(false);
  });

  it('does not call a one-sided capture (client ACKs and data, no server packets) blocked', () => {
    const { collector, end } = setup();
    span(collector, T, T + 60);
    end(flow(6, '10.1.2.15', 50000, '54.236.10.20', 443, { synCount: 1, packets: [9, 0], history: 'SAD', dnsName: CHUNDERW }));
    expect(build(collector).findings.some((x) => x.id === 'tcp-blocked')).toBe(false);
  });

  it('reports a RST answering a SYN as tcp-refused', () => {
    const { collector, end } = setup();
    span(collector, T, T + 60);
    end(flow(6, '10.1.2.15', 50000, '54.236.10.40', 443, { synCount: 1, packets: [1, 1], rst: [false, true], history: 'Sr', state: 'REJ', dnsName: 'eventgw.twilio.com' }));
    const f = build(collector).findings.find((x) => x.id === 'tcp-refused')!;
    expect(f.severity).toBe('error');
    expect(f.wiresharkFilter).toBe('tcp.flags.reset==1 && ip.src==54.236.10.40 && tcp.srcport==443');
  });

  it('reports media with nothing back as udp-no-return with the media CIDR remedy', () => {
    const { collector, end } = setup('us1');
    span(collector, T, T + 60);
    end(flow(17, '10.1.2.15', 50000, '168.86.130.4', 12000, { packets: [500, 0], firstTs: T + 1, lastTs: T + 11 }));
    const f = build(collector).findings.find((x) => x.id === 'udp-no-return')!;
    expect(f.severity).toBe('error');
    expect(f.wiresharkFilter).toBe('ip.addr==168.86.130.4 && udp.port==12000');
    expect(f.remedy).toBe('Allow outbound UDP from 10.1.2.0/24 to 168.86.128.0/18, 54.172.60.0/23, 34.203.250.0/23 ports 10000-60000 and its return traffic.');
  });

  it('names administratively prohibited ICMP and maps it to the flow', () => {
    const { collector, end } = setup();
    span(collector, T, T + 60);
    end(
      flow(17, '10.1.2.15', 50000, '168.86.130.4', 12000, {
        packets: [3, 0],
        icmpErrors: [{ ts: T + 1, frame: 7, version: 4, type: 3, code: 13, reporter: '10.1.2.1' }],
      }),
    );
    const r = build(collector);
    const f = r.findings.find((x) => x.id === 'icmp-unreachable')!;
    expect(f.title).toContain('administratively prohibited');
    expect(f.detail).toContain('10.1.2.1');
    expect(f.severity).toBe('error');
  });

  it('reports an inbound SYN but not the return traffic of an outbound flow', () => {
    const { collector, end } = setup();
    span(collector, T, T + 60);
    end(flow(6, '198.51.100.77', 41000, '10.1.2.15', 3389, { synCount: 1, synAckCount: 1, packets: [3, 1], history: 'ShA' }));
    end(flow(17, '10.1.2.15', 50000, '198.51.100.9', 5000, { packets: [10, 10], firstTs: T + 5 }));
    const f = build(collector).findings.filter((x) => x.id === 'inbound-connection');
    expect(f).toHaveLength(1);
    expect(f[0].severity).toBe('warning');
    expect(f[0].wiresharkFilter).toBe('tcp.flags.syn==1 && tcp.flags.ack==0 && ip.src==198.51.100.77 && ip.dst==10.1.2.15');
  });

  it('does not call UDP from outside at the very start of the capture inbound (its outbound packet may predate it)', () => {
    const { collector, end } = setup();
    span(collector, T, T + 60);
    end(flow(17, '198.51.100.9', 5000, '10.1.2.15', 50000, { packets: [10, 10], firstTs: T + 0.2 }));
    expect(build(collector).findings.some((x) => x.id === 'inbound-connection')).toBe(false);
  });

  it('reports a TLS alert, and no ServerHello only once the capture went on long enough', () => {
    const { collector, end } = setup();
    span(collector, T, T + 60);
    const alerted = newTlsInfo(false);
    Object.assign(alerted, { sni: CHUNDERW, clientHelloTs: T + 1, clientHelloFrame: 4, alerts: [{ frame: 6, fromClient: false, level: 2, description: 40 }] });
    end(flow(6, '10.1.2.15', 50000, '54.236.10.20', 443, { synCount: 1, synAckCount: 1, packets: [4, 3], history: 'ShADad', tls: alerted }));
    const r = build(collector);
    const f = r.findings.find((x) => x.id === 'tls-failure')!;
    expect(f.detail).toContain('handshake_failure');
    expect(f.wiresharkFilter).toBe('tls.handshake.extensions_server_name == "chunderw-vpc-gll.twilio.com"');

    const late = setup();
    span(late.collector, T, T + 1.5);
    const pending = newTlsInfo(false);
    Object.assign(pending, { sni: CHUNDERW, clientHelloTs: T + 1, clientHelloFrame: 4 });
    late.end(flow(6, '10.1.2.15', 50001, '54.236.10.20', 443, { synCount: 1, synAckCount: 1, packets: [3, 1], history: 'ShAD', tls: pending }));
    expect(build(late.collector).findings.some((x) => x.id === 'tls-failure')).toBe(false);
  });

  it('flags slow TCP setup to Spoke/Twilio (SPI) and a certificate that does not match the SNI', () => {
    const { collector, end } = setup();
    span(collector, T, T + 60);
    const tls = newTlsInfo(false);
    Object.assign(tls, { sni: CHUNDERW, clientHelloTs: T + 1, serverHelloTs: T + 1.05, certSubject: 'CN=proxy.corp.example', certIssuer: 'CN=Corp CA', certSans: ['proxy.corp.example'] });
    end(flow(6, '10.1.2.15', 50000, '54.236.10.20', 443, { synCount: 1, synAckCount: 1, synToSynAck: 0.45, packets: [6, 5], history: 'ShADad', tls }));
    const r = build(collector);
    expect(r.findings.find((x) => x.id === 'slow-setup')!.title).toContain('450 ms');
    expect(r.findings.find((x) => x.id === 'tls-interception')!.detail).toContain('Corp CA');
  });

  it('turns call violations into call findings and one-way audio into an error', () => {
    const { collector } = setup();
    span(collector, T, T + 60);
    const call = {
      uid: 'C1',
      start: new Date((T + 5) * 1000).toISOString(),
      local: { ip: '10.1.2.15', port: 50000 },
      remote: { ip: '168.86.130.4', port: 12000 },
      edge: null,
      up: { lossPct: 0, maxJitterMs: 1, kbps: 80, packets: 500 },
      down: { lossPct: 3.2, maxJitterMs: 27.7, kbps: 78, packets: 480 },
      rttMs: 180,
      rtt: { minMs: 180, meanMs: 180, maxMs: 180, samples: 8 },
      violations: ['jitter', 'loss', 'rtt', 'one-way'],
      flows: ['F9'],
    } as unknown as ReportCall;
    const r = build(collector, { calls: [call] });
    const ids = r.findings.map((f) => f.id);
    expect(ids).toEqual(expect.arrayContaining(['call-jitter', 'call-loss', 'call-rtt', 'one-way-audio']));
    expect(r.findings.find((f) => f.id === 'call-jitter')!.detail).toContain('27.7 ms');
    expect(r.findings.find((f) => f.id === 'one-way-audio')!.severity).toBe('error');
    expect(r.findings[0].severity).toBe('error'); // sorted by severity
  });

  it('reports DNS failures only for policy names, matching the qname through the policy', () => {
    const { collector } = setup();
    span(collector, T, T + 60);
    const tx = (qname: string, rcode: number | null, ts = T + 1): DnsTransaction =>
      ({ ts, frame: 1, responseFrame: rcode === null ? null : 2, flowUid: 'F1', client: '10.1.2.15', server: '10.1.2.1', id: 1, qname, qtype: 1, rcode, answers: [], tcp: false }) as DnsTransaction;
    const r = build(collector, { dns: [tx(CHUNDERW, 3), tx('app.spokephone.com', null), tx('www.example.com', 3), tx('eventgw.twilio.com', null, T + 59.5)] });
    const dns = r.findings.filter((f) => f.id === 'dns-failure');
    expect(dns.map((f) => f.title)).toEqual(['DNS for chunderw-vpc-gll.twilio.com fails (NXDOMAIN)', 'DNS for app.spokephone.com fails (no response)']);
    expect(r.checklist.find((c) => c.id === 'spoke-gateway')!.status).toBe('seen-failing');
  });

  it('grades tunnels: Spoke inside is an error, a split tunnel that Spoke bypasses is info', () => {
    const { collector } = setup();
    span(collector, T, T + 60);
    const detection = {
      type: 'wireguard',
      flow: 'F1',
      proto: 17,
      client: { ip: '10.1.2.15', port: 51820 },
      server: { ip: '198.51.100.10', port: 51820 },
      peer: '198.51.100.10',
      frames: [1, 2],
      evidence: 'WireGuard handshake',
      packets: 10,
      bytes: 1000,
      innerFlows: 1,
      spokeTwilioInside: ['F7'],
    } as const;
    const inside = build(collector, { tunnels: { report: () => ({ ...emptyTunnels, detections: [{ ...detection, frames: [1, 2], spokeTwilioInside: ['F7'] }], mode: 'full' }) } });
    const f = inside.findings.find((x) => x.id === 'vpn-tunnel')!;
    expect(f.severity).toBe('error');
    expect(f.detail).toContain('type: wireguard');
    expect(f.detail).toContain('Full tunnel');
    expect(f.wiresharkFilter).toBe('ip.addr==198.51.100.10 && udp.port==51820');
    const split = build(collector, {
      tunnels: { report: () => ({ ...emptyTunnels, detections: [{ ...detection, frames: [1], spokeTwilioInside: [] }], mode: 'split', spokeTwilioBypass: ['F3'] }) },
    });
    expect(split.findings.find((x) => x.id === 'vpn-tunnel')!.severity).toBe('info');
  });

  it('reports VDI protocols as warnings and remote-control tools as info', () => {
    const { collector } = setup();
    const d = (kind: VdiDetection['kind']): VdiDetection => ({
      kind,
      flow: 'F1',
      proto: 6,
      client: { ip: '10.1.2.15', port: 50000 },
      server: { ip: '10.1.9.9', port: 3389 },
      frames: [4],
      evidence: 'x',
      basis: 'payload',
    });
    const r = build(collector, { vdi: { detections: () => [d('rdp'), d('teamviewer')] } });
    const v = r.findings.filter((f) => f.id === 'vdi-session');
    expect(v.map((f) => [f.severity, f.title])).toEqual([
      ['warning', 'Microsoft RDP virtual desktop session'],
      ['info', 'TeamViewer remote desktop session'],
    ]);
  });

  it('reports checksum offload, drops and snaplen truncation as capture-quality', () => {
    const { collector } = setup();
    const ev = collector.evidence();
    ev.checksums.set('10.1.2.15', { checked: 50, bad: 50, frames: [1, 2] });
    ev.checksums.set('54.236.10.20', { checked: 50, bad: 0, frames: [] });
    const source = {
      path: 'x.pcapng',
      format: 'pcapng',
      gzip: false,
      linkTypes: ['ETHERNET'],
      packets: 100,
      bytes: 1,
      snaplen: 96,
      snaplenTruncatedPackets: 40,
      truncated: false,
      errors: [],
      warnings: [],
      drops: [{ interfaceId: 0, ifDrop: 12, osDrop: null, received: null }],
      names: [],
      comments: [],
    } as const;
    const r = build(collector, { sources: [{ ...source, errors: [], warnings: [], drops: [...source.drops], names: [], comments: [], linkTypes: ['ETHERNET'] }] });
    const q = r.findings.filter((f) => f.id === 'capture-quality').map((f) => f.title);
    expect(q).toEqual(['12 packets dropped while capturing', '40 packets cut short by the snap length', 'Bad TCP/UDP checksums on packets sent by 10.1.2.15: checksum offload']);
  });

  it('says not-seen for families with no traffic, seen-ok for answered ones, and passes a clean capture', () => {
    const { collector, end } = setup();
    span(collector, T, T + 60);
    const tls = newTlsInfo(false);
    Object.assign(tls, { sni: 'app.spokephone.com', clientHelloTs: T + 1, serverHelloTs: T + 1.03 });
    end(flow(6, '10.1.2.15', 50000, '13.54.70.12', 443, { synCount: 1, synAckCount: 1, synToSynAck: 0.03, packets: [8, 7], history: 'ShADadFf', tls }));
    const r = build(collector);
    expect(r.verdict).toBe('pass');
    expect(r.checklist.find((c) => c.id === 'spoke-gateway')).toMatchObject({ status: 'seen-ok', flows: [`F${uid}`] });
    expect(r.checklist.find((c) => c.id === 'twilio-ers')!.status).toBe('not-seen');
  });

  it('sanitises wire names in text and escapes them in filters', () => {
    const { collector, end } = setup();
    span(collector, T, T + 60);
    const tls = newTlsInfo(false);
    Object.assign(tls, { sni: 'evil"\x1b[31m.spokephone.com', clientHelloTs: T + 1, alerts: [{ frame: 3, fromClient: false, level: 2, description: 112 }] });
    end(flow(6, '10.1.2.15', 50000, '13.54.70.12', 443, { synCount: 1, synAckCount: 1, packets: [3, 2], history: 'ShAD', tls }));
    const f = build(collector).findings.find((x) => x.id === 'tls-failure')!;
    expect(f.detail).not.toContain('\x1b');
    expect(f.wiresharkFilter).toBe('tls.handshake.extensions_server_name == "evil\\"\\\\x1b[31m.spokephone.com"');
  });
});

describe('certCovers', () => {
  it('matches exact names and one-label wildcards from the SANs, else the CN', () => {
    expect(certCovers('a.twilio.com', 'CN=x', ['*.twilio.com'])).toBe(true);
    expect(certCovers('a.b.twilio.com', 'CN=x', ['*.twilio.com'])).toBe(false);
    expect(certCovers('app.spokephone.com', 'C=US, CN=app.spokephone.com', null)).toBe(true);
    expect(certCovers('app.spokephone.com', 'CN=fortigate', null)).toBe(false);
  });
});
