/** Engine wiring: names across stages, several inputs, and usage errors. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, UsageError } from '../src/engine/engine.js';
import { CaptureOpenError } from '../src/capture/types.js';
import { buildPcap, pcapngInterface, pcapngPacket, pcapngSectionHeader } from '../src/synth/pcap-writer.js';
import { tcpPacket, udpPacket, rtp } from '../src/synth/packets.js';

const dir = mkdtempSync(join(tmpdir(), 'spokecap-engine-'));
const T = 1_700_000_000;

/** A pcapng Name Resolution Block with one IPv4 record. */
function nrbBlock(ip: number[], name: string): Uint8Array {
  const value = Buffer.concat([Buffer.from(ip), Buffer.from(name + '\0')]);
  const rec = Buffer.alloc(4 + ((value.length + 3) & ~3));
  rec.writeUInt16LE(1, 0);
  rec.writeUInt16LE(value.length, 2);
  value.copy(rec, 4);
  const body = Buffer.concat([rec, Buffer.alloc(4)]); // nrb_record_end
  const len = 12 + body.length;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(4, 0);
  b.writeUInt32LE(len, 4);
  body.copy(b, 8);
  b.writeUInt32LE(len, len - 4);
  return b;
}

function handshake(client: string, server: string, sport: number, t: number) {
  return [
    { ts: t, data: tcpPacket(client, server, { sport, dport: 443, flags: 'S', seq: 1 }) },
    { ts: t + 0.02, data: tcpPacket(server, client, { sport: 443, dport: sport, flags: 'SA', seq: 9, ack: 2 }) },
    { ts: t + 0.021, data: tcpPacket(client, server, { sport, dport: 443, flags: 'A', seq: 2, ack: 10 }) },
  ];
}

describe('engine', () => {
  it('names a flow from a pcapng name-resolution record when DNS saw nothing', async () => {
    const file = join(dir, 'nrb.pcapng');
    writeFileSync(
      file,
      Buffer.concat([
        pcapngSectionHeader(),
        pcapngInterface(1),
        nrbBlock([54, 236, 10, 20], 'chunderw-vpc-gll.twilio.com'),
        ...handshake('10.1.2.15', '54.236.10.20', 50000, T).map((p) => pcapngPacket(p)),
      ]),
    );
    const r = await analyze({ inputs: [file] });
    expect(r.flows).toHaveLength(1);
    expect(r.flows[0].dnsName).toBe('chunderw-vpc-gll.twilio.com');
    expect(r.flows[0].class).toBe('twilio-signalling');
    expect(r.flows[0].classifiedBy).toContain('nrb');
  });

  it('numbers frames across inputs in order and counts every source', async () => {
    const a = join(dir, 'a.pcap');
    const b = join(dir, 'b.pcap');
    writeFileSync(a, buildPcap(handshake('10.1.2.15', '54.236.10.20', 50000, T)));
    writeFileSync(b, buildPcap(handshake('10.1.2.16', '54.236.10.21', 50001, T + 5)));
    const r = await analyze({ inputs: [a, b] });
    expect(r.capture.packets).toBe(6);
    expect(r.capture.sources.map((s) => s.packets)).toEqual([3, 3]);
    expect(r.flows.map((f) => f.firstFrame).sort()).toEqual([1, 4]);
  });

  it('reports an unreadable input among readable ones instead of failing the run', async () => {
    const a = join(dir, 'a.pcap');
    const r = await analyze({ inputs: [a, join(dir, 'missing.pcap')] });
    expect(r.capture.sources).toHaveLength(2);
    expect(r.capture.sources[1].errors[0].message).toMatch(/no such file/);
    expect(r.capture.packets).toBeGreaterThan(0);
  });

  it('rejects an unknown edge, a bad --internal and a missing policy in one sentence', async () => {
    const a = join(dir, 'a.pcap');
    await expect(analyze({ inputs: [a], edge: 'mars1' })).rejects.toThrow(UsageError);
    await expect(analyze({ inputs: [a], edge: 'mars1' })).rejects.toThrow(/--edge/);
    // Edge aliases from the policy are accepted and reported by their id.
    expect((await analyze({ inputs: [a], edge: 'ashburn' })).policy.edge).toBe('us1');
    await expect(analyze({ inputs: [a], internal: ['10.0.0/8'] })).rejects.toThrow(UsageError);
    await expect(analyze({ inputs: [a], policyPath: join(dir, 'nope.json') })).rejects.toThrow(UsageError);
    await expect(analyze({ inputs: [] })).rejects.toThrow(UsageError);
  });

  it('fails with the offset when nothing at all could be read, but reports what was read otherwise', async () => {
    const broken = join(dir, 'broken.pcap');
    const whole = buildPcap(handshake('10.1.2.15', '54.236.10.20', 50000, T));
    writeFileSync(broken, whole.subarray(0, 24 + 10)); // header plus part of the first record
    await expect(analyze({ inputs: [broken] })).rejects.toThrow(CaptureOpenError);
    await expect(analyze({ inputs: [broken] })).rejects.toThrow(/byte 24/);

    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 5));
    const r = await analyze({ inputs: [cut] });
    expect(r.capture.packets).toBe(2);
    expect(r.capture.sources[0].truncated).toBe(true);
    expect(r.capture.sources[0].errors[0].offset).toBeGreaterThan(24);
    expect(r.findings.some((f) => f.id === 'capture-quality' && /truncated/.test(f.title))).toBe(true);
  });

  it('reports flows evicted by the table cap as a capture warning', async () => {
    const file = join(dir, 'many.pcap');
    const packets = [];
    for (let i = 0; i < 50; i++) packets.push({ ts: T + i * 0.001, data: udpPacket('10.1.2.15', 40000 + i, '192.0.2.1', 53, new Uint8Array(4)) });
    writeFileSync(file, buildPcap(packets));
    const r = await analyze({ inputs: [file], maxFlows: 10 });
    expect(r.capture.evictions.flows).toBeGreaterThan(0);
    expect(r.capture.warnings.some((w) => /flow table full/.test(w))).toBe(true);
    expect(r.summary.flowsTotal).toBe(50);
  });

  it('classifies SRTP media to the shared Twilio range and builds a two-way call', async () => {
    const file = join(dir, 'call.pcap');
    const packets = [];
    for (let i = 0; i < 100; i++) {
      const t = T + i * 0.02;
      packets.push({ ts: t, data: udpPacket('10.1.2.15', 50030, '168.86.130.4', 12000, rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 0x11 })) });
      packets.push({ ts: t + 0.005, data: udpPacket('168.86.130.4', 12000, '10.1.2.15', 50030, rtp({ pt: 0, seq: 500 + i, ts: i * 160, ssrc: 0x22 })) });
    }
    writeFileSync(file, buildPcap(packets));
    const r = await analyze({ inputs: [file] });
    expect(r.flows[0].class).toBe('twilio-media');
    expect(r.rtpStreams).toHaveLength(2);
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0].verdict).toBe('pass');
    expect(r.calls[0].up.lossPct).toBe(0);
  });
});
