import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rtp, tcpPacket, tlsClientHello, tlsServerHello, udpPacket } from '../synth/packets.js';
import { buildPcap, type WrittenPacket } from '../synth/pcap-writer.js';
import { runAnalyzers } from '../../test/findings-harness.js';
import { isRdpConnection, isRdpUdpSyn, VdiAnalyzer } from './vdi.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('RDP signatures', () => {
  it('recognises X.224 CR/CC with RDP negotiation (bytes from ndpi rdp.pcap, frames 4 and 5)', () => {
    const cr = hex('0300 0013 0ee0 0000 0000 0001 0008 000b 0000 00');
    const cc = hex('0300 0013 0ed0 0000 1234 0002 1f08 0008 0000 00');
    expect(isRdpConnection(cr, 0, cr.length)).toBe('request');
    expect(isRdpConnection(cc, 0, cc.length)).toBe('confirm');
  });

  it('recognises the mstshash cookie without negotiation, and rejects plain ISO-TSAP and TLS', () => {
    const cookie = Buffer.concat([hex('0300 0023 1ee0 0000 0000 00'), Buffer.from('Cookie: mstshash=ALICE\r\n')]);
    expect(isRdpConnection(cookie, 0, cookie.length)).toBe('request');
    const tsap = hex('0300 0016 11e0 0000 0001 00c1 0201 00c2 0201 02c0 010a');
    expect(isRdpConnection(tsap, 0, tsap.length)).toBeNull();
    const ch = tlsClientHello('rdp.example.com');
    expect(isRdpConnection(ch, 0, ch.length)).toBeNull();
  });

  it('recognises the MS-RDPEUDP SYN only at its padded size', () => {
    const syn = new Uint8Array(1232);
    syn.set(hex('ffff ffff 0040 1801'));
    expect(isRdpUdpSyn(syn, 0, 1232, 1232)).toBe(true);
    expect(isRdpUdpSyn(syn, 0, 1200, 1200)).toBe(false);
    syn[7] = 0x00;
    expect(isRdpUdpSyn(syn, 0, 1232, 1232)).toBe(false);
  });
});

describe('VdiAnalyzer probe state per flow', () => {
  /** Detections, and what each flow held in flow.vdiProbe when it ended. */
  async function probe(packets: Uint8Array[]) {
    const dir = mkdtempSync(join(tmpdir(), 'vdi-'));
    const file = join(dir, 'x.pcap');
    writeFileSync(file, buildPcap(packets.map((data, i): WrittenPacket => ({ ts: 1_700_000_000 + i * 0.02, data }))));
    const vdi = new VdiAnalyzer();
    const heldAtEnd: unknown[] = [];
    await runAnalyzers(file, [vdi], (flow) => heldAtEnd.push(flow.vdiProbe));
    return { detections: vdi.detections().map((d) => [d.kind, d.frames]), held: heldAtEnd.map((p) => typeof p) };
  }

  it('keeps an undecided flow as its count of payload packets, not an object', async () => {
    const o = { sport: 50000, dport: 443 };
    const back = { sport: 443, dport: 50000 };
    const { detections, held } = await probe([
      tcpPacket('10.1.2.15', '198.51.100.7', { ...o, flags: 'S', seq: 100 }),
      tcpPacket('10.1.2.15', '198.51.100.7', { ...o, flags: 'PA', seq: 101 }, tlsClientHello('www.example.com')),
      tcpPacket('198.51.100.7', '10.1.2.15', { ...back, flags: 'PA', seq: 901 }, tlsServerHello()),
    ]);
    expect(detections).toEqual([]);
    expect(held).toEqual(['number']);
  });

  it('frees a flow judged after its probe packets', async () => {
    const packets = Array.from({ length: 14 }, (_, i) => udpPacket('10.1.2.15', 10000, '168.86.130.4', 10000, rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 1 })));
    expect((await probe(packets)).held).toEqual(['symbol']);
  });

  it('follows evidence over several packets: TeamViewer UDP markers after a plain packet', async () => {
    const marker = new Uint8Array(24);
    marker[11] = 0x17;
    marker[12] = 0x24;
    const { detections, held } = await probe([
      udpPacket('10.1.2.15', 40000, '198.51.100.7', 5938, new Uint8Array(24)),
      ...[1, 2, 3].map(() => udpPacket('10.1.2.15', 40000, '198.51.100.7', 5938, marker)),
    ]);
    expect(detections).toEqual([['teamviewer', [2, 3, 4]]]);
    expect(held).toEqual(['symbol']);
  });

  it('follows per-direction counts: UDP both ways on the Blast port', async () => {
    const { detections } = await probe([
      udpPacket('10.1.2.15', 40000, '198.51.100.7', 22443, new Uint8Array(40)),
      udpPacket('10.1.2.15', 40000, '198.51.100.7', 22443, new Uint8Array(40)),
      udpPacket('198.51.100.7', 22443, '10.1.2.15', 40000, new Uint8Array(40)),
    ]);
    expect(detections).toEqual([['blast', [3]]]);
  });
});
