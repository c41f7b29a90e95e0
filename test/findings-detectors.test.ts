/**
 * Tunnel, MPLS and VDI detection on the public corpus (test/fixtures/public,
 * see NOTICE.md for what each capture holds), including the false positives
 * to avoid: TeamViewer's UDP is not WireGuard, TLS is not a desktop, RTP and
 * WebRTC media are not tunnels.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { TunnelAnalyzer } from '../src/analyze/tunnel.js';
import { VdiAnalyzer } from '../src/analyze/vdi.js';
import { FIXTURES, runAnalyzers } from './findings-harness.js';

async function detect(file: string) {
  const tunnel = new TunnelAnalyzer();
  const vdi = new VdiAnalyzer();
  await runAnalyzers(FIXTURES + file, [tunnel, vdi]);
  const report = tunnel.report();
  return {
    report,
    tunnels: report.detections.map((d) => `${d.type}:${d.flow}`),
    types: [...new Set(report.detections.map((d) => d.type))].sort(),
    vdi: vdi.detections().map((d) => `${d.kind}:${d.flow}`),
  };
}

describe('tunnel detection on the public corpus', () => {
  it.each([
    ['vpn/ipsec/ndpi_esp.pcapng', ['ike:F1', 'ipsec:F2']],
    ['vpn/ipsec/tcpdump_isakmp4500.pcap', ['ike:F1', 'ipsec:F2']],
    ['vpn/ipsec/scapy_ikev2_nat_t.pcapng', ['ipsec:F1']],
    ['vpn/openvpn/ndpi_openvpn-tlscrypt.pcap', ['openvpn:F1']],
    ['vpn/wireguard/pcpp_WireGuard.pcap', ['wireguard:F1']],
    ['vpn/wireguard/ndpi_wireguard.pcap', ['wireguard:F1', 'wireguard:F2', 'wireguard:F3']],
    ['vpn/pptp/tcpdump_pptp.pcap', ['pptp:F1', 'pptp:F2']],
    ['vpn/l2tp/suricata-verify_decode-l2tp-v3-13.pcap', ['l2tp:F1']],
    ['vpn/gre/zeek_gre-sample.pcap', ['gre:F1']],
  ])('%s', async (file, expected) => {
    expect((await detect(file)).tunnels).toEqual(expected);
  });

  it('finds all nine OpenVPN sessions (UDP and TCP, default and other ports) by opcode and session id', async () => {
    const r = await detect('vpn/openvpn/ndpi_openvpn.pcap');
    expect(r.types).toEqual(['openvpn']);
    expect(r.tunnels).toHaveLength(9);
    expect(r.report.detections.filter((d) => d.proto === 6)).toHaveLength(3);
  });

  it('decapsulates GRE, GRE-in-GRE, 4in6, transparent Ethernet and PPTP GRE', async () => {
    const r = await detect('vpn/gre/pcpp_GrePackets.pcap');
    expect(r.types).toEqual(['gre', 'ip-in-ip', 'pptp']);
    expect(r.report.detections.reduce((n, d) => n + d.innerFlows, 0)).toBeGreaterThanOrEqual(5);
  });

  it('decapsulates the flows inside L2TPv2 (PPP) and L2TPv3 (Ethernet)', async () => {
    expect((await detect('vpn/l2tp/dpkt_nb6-http.pcap')).report.detections[0]).toMatchObject({ type: 'l2tp', innerFlows: 2 });
    expect((await detect('vpn/l2tp/suricata-verify_decode-l2tp-v3-13.pcap')).report.detections[0].innerFlows).toBeGreaterThan(10);
  });

  it('reports MPLS label stacks as tshark shows them', async () => {
    const a = await detect('linktypes/zeek_mpls-in-vlan.pcap');
    expect(a.report.mpls).toMatchObject({ packets: 2, frames: [2, 3], labelStacks: ['16106', '254/99'] });
    expect((await detect('linktypes/pcpp_MplsPackets.pcap')).report.mpls?.packets).toBe(2);
    expect((await detect('linktypes/pcpp_VlanPackets.pcap')).report.mpls).toBeNull();
  });

  it('does not take TeamViewer UDP for WireGuard', async () => {
    const r = await detect('vdi/ndpi_teamviewer.pcap');
    expect(r.tunnels).toEqual([]);
    expect(r.vdi).toEqual(['teamviewer:F1', 'teamviewer:F2']);
  });

  it.each(['rtp', 'stun-webrtc', 'dtls', 'tls', 'dns'])('finds no tunnel and no desktop in %s/', async (dir) => {
    for (const f of readdirSync(FIXTURES + dir)) {
      const r = await detect(`${dir}/${f}`);
      expect([f, r.tunnels, r.vdi]).toEqual([f, [], []]);
    }
  });
});

describe('VDI detection on the public corpus', () => {
  it.each([
    ['vdi/ndpi_citrix.pcap', ['citrix:F1']],
    ['vdi/ndpi_rdp.pcap', ['rdp:F1']],
    ['vdi/ndpi_rdp2.pcap', ['rdp:F1', 'rdp:F3']],
    ['vdi/zeek_rdp-to-ssl.pcap', ['rdp:F1', 'rdp:F2']],
    ['vdi/ndpi_nomachine.pcapng', ['nomachine:F1']],
    ['vdi/zeek_vncmac.pcap', ['vnc:F1', 'vnc:F2', 'vnc:F3']],
  ])('%s', async (file, expected) => {
    const r = await detect(file);
    expect(r.vdi).toEqual(expected);
    expect(r.tunnels).toEqual([]);
  });
});
