import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePacket } from '../decode/index.js';
import { PacketView } from '../decode/view.js';
import { ethernet, ip, rtp, tcpPacket, tlsClientHello, tlsServerHello, udp, udpPacket } from '../synth/packets.js';
import { buildPcap, type WrittenPacket } from '../synth/pcap-writer.js';
import { gre, ikeV2, wgData, wgInitiation, wgResponse } from '../synth/tunnel-packets.js';
import { runAnalyzers } from '../../test/findings-harness.js';
import { TlsAnalyzer } from './tls-analyzer.js';
import { ikeVersion, innerPacket, isPptpControl, l2tpVersion, TunnelAnalyzer, wireGuardType } from './tunnel.js';

function view(frame: Uint8Array): PacketView {
  const v = new PacketView();
  decodePacket(v, frame, 1);
  return v;
}

async function run(packets: Uint8Array[]) {
  const dir = mkdtempSync(join(tmpdir(), 'tunnel-'));
  const file = join(dir, 'x.pcap');
  writeFileSync(file, buildPcap(packets.map((data, i): WrittenPacket => ({ ts: 1_700_000_000 + i * 0.02, data }))));
  const t = new TunnelAnalyzer({ internal: { containsIp: (a) => a.startsWith('10.') } });
  await runAnalyzers(file, [t]);
  return t.report();
}

describe('signatures', () => {
  it('WireGuard: exact sizes and zero reserved bytes', () => {
    expect(wireGuardType(wgInitiation(1), 0, 148)).toBe(1);
    expect(wireGuardType(wgResponse(1, 2), 0, 92)).toBe(2);
    expect(wireGuardType(wgData(1, 0, 100), 0, 144)).toBe(4);
    expect(wireGuardType(wgInitiation(1), 0, 147)).toBe(0);
    const bad = wgData(1, 0, 100);
    bad[2] = 1;
    expect(wireGuardType(bad, 0, bad.length)).toBe(0);
  });

  it('IKE: version, exchange type and a length equal to the message', () => {
    const m = ikeV2({ initiatorSpi: 7 });
    expect(ikeVersion(m, 0, m.length, m.length)).toBe(2);
    expect(ikeVersion(m, 0, m.length, m.length + 4)).toBe(0);
    const zeroSpi = ikeV2({ initiatorSpi: 0 });
    zeroSpi.fill(0, 0, 8);
    expect(ikeVersion(zeroSpi, 0, zeroSpi.length, zeroSpi.length)).toBe(0);
  });

  it('PPTP magic cookie and L2TP header versions', () => {
    expect(isPptpControl(Uint8Array.from([0, 156, 0, 1, 0x1a, 0x2b, 0x3c, 0x4d, 0, 1, 0, 0]), 0, 12)).toBe(true);
    expect(isPptpControl(Uint8Array.from([0, 156, 0, 1, 0x1a, 0x2b, 0x3c, 0x4e, 0, 1, 0, 0]), 0, 12)).toBe(false);
    expect(l2tpVersion(Uint8Array.from([0xc8, 0x02, 0, 12, 0, 1, 0, 0]), 0, 8)).toBe(2);
    expect(l2tpVersion(Uint8Array.from([0x80, 0x02, 0, 12, 0, 1, 0, 0]), 0, 8)).toBe(0); // control without L and S
    expect(l2tpVersion(Uint8Array.from([0, 3, 0, 0, 0, 0, 0, 9]), 0, 8)).toBe(3);
  });
});

describe('innerPacket', () => {
  it('points at the IP packet inside GRE', () => {
    const inner = ip('10.0.0.1', '10.0.0.2', 17, udp(1, 2, new Uint8Array(4)));
    const v = view(ethernet(ip('192.0.2.1', '192.0.2.2', 47, gre(inner))));
    expect(innerPacket(v)).toEqual({ off: 14 + 20 + 4, end: 14 + 20 + 4 + inner.length, kind: 'ipv4' });
  });

  it('skips the L2TPv2 header (with its optional length and offset fields) to PPP', () => {
    const l2tp = Uint8Array.from([0x42, 0x02, 0, 20, 0, 1, 0, 2, 0, 2, 0xaa, 0xbb, 0xff, 0x03, 0x00, 0x21]);
    const v = view(udpPacket('192.0.2.1', 1701, '192.0.2.2', 1701, l2tp));
    expect(innerPacket(v)).toEqual({ off: 14 + 20 + 8 + 12, end: 14 + 20 + 8 + l2tp.length, kind: 'ppp' });
  });

  it('returns null for control messages, plain UDP and truncated headers', () => {
    expect(innerPacket(view(udpPacket('192.0.2.1', 1701, '192.0.2.2', 1701, Uint8Array.from([0xc8, 0x02, 0, 12, 0, 1, 0, 0, 0, 0, 0, 0]))))).toBeNull();
    expect(innerPacket(view(udpPacket('192.0.2.1', 5000, '192.0.2.2', 5000, new Uint8Array(40))))).toBeNull();
    expect(innerPacket(view(udpPacket('192.0.2.1', 1701, '192.0.2.2', 1701, Uint8Array.from([0x02, 0x02, 0, 1, 0, 1, 0xff, 0xff]))))).toBeNull();
  });
});

describe('TunnelAnalyzer', () => {
  it('pairs a WireGuard handshake by index and marks the flow vpn:wireguard', async () => {
    const r = await run([
      udpPacket('10.1.2.15', 40000, '198.51.100.10', 51820, wgInitiation(0x11)),
      udpPacket('198.51.100.10', 51820, '10.1.2.15', 40000, wgResponse(0x22, 0x11)),
    ]);
    expect(r.detections.map((d) => [d.type, d.peer, d.frames])).toEqual([['wireguard', '198.51.100.10', [1, 2]]]);
  });

  it('does not take a response naming another index, or a lone initiation, for WireGuard', async () => {
    const r = await run([
      udpPacket('10.1.2.15', 40000, '198.51.100.10', 51820, wgInitiation(0x11)),
      udpPacket('198.51.100.10', 51820, '10.1.2.15', 40000, wgResponse(0x22, 0x99)),
    ]);
    expect(r.detections).toEqual([]);
  });

  it('uses WireGuard on UDP 41641 as Tailscale', async () => {
    const packets = Array.from({ length: 10 }, (_, i) => udpPacket('10.1.2.15', 41641, '198.51.100.3', 41641, wgData(0x33, i, 64)));
    expect((await run(packets)).detections.map((d) => d.type)).toEqual(['tailscale']);
  });

  it('never calls Twilio media on UDP 10000-60000 a VPN', async () => {
    const packets: Uint8Array[] = [];
    for (let i = 0; i < 60; i++) {
      packets.push(udpPacket('10.1.2.15', 10000, '168.86.130.4', 10000, rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 1 })));
      packets.push(udpPacket('168.86.130.4', 10000, '10.1.2.15', 10000, rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 2 })));
    }
    expect((await run(packets)).detections).toEqual([]);
  });

  it('counts flows decapsulated from GRE as inside the tunnel', async () => {
    const inner = ip('10.1.2.15', '8.8.8.8', 17, udp(5353, 53, new Uint8Array(20)));
    const r = await run([ethernet(ip('10.1.2.254', '198.51.100.20', 47, gre(inner)))]);
    expect(r.detections).toMatchObject([{ type: 'gre', peer: '198.51.100.20', innerFlows: 1 }]);
  });
});

describe('probe state per flow', () => {
  /** The report, and what each flow held in flow.tunnelProbe when it ended. */
  async function probe(packets: Uint8Array[]) {
    const dir = mkdtempSync(join(tmpdir(), 'tunnel-'));
    const file = join(dir, 'x.pcap');
    writeFileSync(file, buildPcap(packets.map((data, i): WrittenPacket => ({ ts: 1_700_000_000 + i * 0.02, data }))));
    const tunnel = new TunnelAnalyzer();
    const heldAtEnd: unknown[] = [];
    await runAnalyzers(file, [tunnel], (flow) => heldAtEnd.push(flow.tunnelProbe));
    return { report: tunnel.report(), held: heldAtEnd.map((p) => typeof p) };
  }

  it('keeps an undecided flow that showed nothing as a count, not an object', async () => {
    const { report, held } = await probe([
      udpPacket('10.1.2.15', 40000, '10.0.0.53', 53, new Uint8Array(40).fill(7)),
      udpPacket('10.0.0.53', 53, '10.1.2.15', 40000, new Uint8Array(56).fill(9)),
    ]);
    expect(report.detections).toEqual([]);
    expect(held).toEqual(['number']);
  });

  it('frees a flow judged after its probe packets', async () => {
    const packets = Array.from({ length: 40 }, (_, i) => udpPacket('10.1.2.15', 10000, '168.86.130.4', 10000, rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 1 })));
    expect((await probe(packets)).held).toEqual(['symbol']);
  });

  it('follows what an early packet started: an OpenVPN reset answered after plain packets', async () => {
    const sid = [1, 2, 3, 4, 5, 6, 7, 8];
    const reset = (op: number) => Uint8Array.from([op << 3, ...sid, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const { report, held } = await probe([
      udpPacket('10.1.2.15', 40001, '198.51.100.9', 1194, reset(7)),
      udpPacket('10.1.2.15', 40001, '198.51.100.9', 1194, new Uint8Array(30)),
      udpPacket('198.51.100.9', 1194, '10.1.2.15', 40001, reset(8)),
    ]);
    expect(report.detections.map((d) => [d.type, d.frames])).toEqual([['openvpn', [1, 3]]]);
    expect(held).toEqual(['object']);
  });

  it('counts an ESP-in-UDP run that starts after a plain packet', async () => {
    const esp = (seq: number) => Uint8Array.from([0, 0, 0x10, 0, 0, 0, 0, seq, ...new Array(24).fill(0xab)]);
    const { report } = await probe([
      udpPacket('10.1.2.15', 4500, '198.51.100.9', 4500, new Uint8Array(8)),
      udpPacket('10.1.2.15', 4500, '198.51.100.9', 4500, esp(1)),
      udpPacket('10.1.2.15', 4500, '198.51.100.9', 4500, esp(2)),
      udpPacket('10.1.2.15', 4500, '198.51.100.9', 4500, esp(3)),
    ]);
    expect(report.detections.map((d) => [d.type, d.frames])).toEqual([['ipsec', [4]]]);
  });
});

describe('TLS over TCP', () => {
  /** Handshake start of a TLS connection to `sni`, then one more client segment; TLS runs before tunnel, as in the engine. */
  async function tlsFlow(sni: string) {
    const o = { sport: 50000, dport: 443 };
    const back = { sport: 443, dport: 50000 };
    const packets = [
      tcpPacket('10.1.2.15', '198.51.100.7', { ...o, flags: 'S', seq: 100 }),
      tcpPacket('198.51.100.7', '10.1.2.15', { ...back, flags: 'SA', seq: 900, ack: 101 }),
      tcpPacket('10.1.2.15', '198.51.100.7', { ...o, flags: 'A', seq: 101, ack: 901 }),
      tcpPacket('10.1.2.15', '198.51.100.7', { ...o, flags: 'PA', seq: 101, ack: 901 }, tlsClientHello(sni)),
      tcpPacket('198.51.100.7', '10.1.2.15', { ...back, flags: 'PA', seq: 901, ack: 300 }, tlsServerHello()),
      tcpPacket('10.1.2.15', '198.51.100.7', { ...o, flags: 'A', seq: 300, ack: 1000 }),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'tunnel-'));
    const file = join(dir, 'x.pcap');
    writeFileSync(file, buildPcap(packets.map((data, i): WrittenPacket => ({ ts: 1_700_000_000 + i * 0.02, data }))));
    const tunnel = new TunnelAnalyzer();
    const heldAtEnd: unknown[] = [];
    await runAnalyzers(file, [new TlsAnalyzer(), tunnel], (flow) => heldAtEnd.push(flow.tunnelProbe));
    return { report: tunnel.report(), heldAtEnd };
  }

  it('takes TLS to a DERP relay for Tailscale', async () => {
    expect((await tlsFlow('derp4.tailscale.com')).report.detections.map((d) => d.type)).toEqual(['tailscale']);
  });

  it('frees the probe of an ordinary TLS flow once both first payloads and the SNI were looked at', async () => {
    const { report, heldAtEnd } = await tlsFlow('api.example.com');
    expect(report.detections).toEqual([]);
    // The judged marker (a symbol), not a probe object kept until PROBE_PACKETS payload packets.
    expect(heldAtEnd.map((p) => typeof p)).toEqual(['symbol']);
  });
});
