import { PerformanceObserver, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ethernet, ipv4, ipv6, mplsEthernet, tcp, tcpPacket, udp, udpPacket, vlanEthernet } from '../synth/packets.js';
import { decodeAt, decodePacket } from './index.js';
import { PacketView, formatIp } from './view.js';

const view = new PacketView();

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

describe('decodeAt (decapsulation)', () => {
  const inner = ipv4({ src: '172.16.0.1', dst: '172.16.0.2', proto: 6 }, tcp({ sport: 3389, dport: 50000, flags: 'A' }));
  const inner6 = ipv6({ src: 'fd00::1', dst: 'fd00::2', proto: 17 }, udp(500, 4500, new Uint8Array(4)));
  const pad = new Uint8Array(10).fill(0xee);

  it('decodes an inner IPv4/IPv6 packet at an offset, bounded by end', () => {
    const buf = concat(pad, inner, pad);
    decodeAt(view, buf, 10, 10 + inner.length, 'ipv4');
    expect(view.buf).toBe(buf);
    expect([view.malformed, view.linkType, view.ipOff, view.srcPort, view.dstPort, view.payloadOff + view.payloadLen]).toEqual([null, 228, 10, 3389, 50000, 10 + inner.length]);
    expect(formatIp(buf, view.srcOff, 4)).toBe('172.16.0.1');
    decodeAt(view, concat(pad, inner6), 10, 10 + inner6.length, 'ipv6');
    expect([view.malformed, view.ipVersion, view.dstPort]).toEqual([null, 6, 4500]);
  });

  it("picks the version by nibble for 'ip'", () => {
    decodeAt(view, concat(pad, inner6), 10, 10 + inner6.length, 'ip');
    expect([view.ipVersion, view.srcPort]).toEqual([6, 500]);
    decodeAt(view, concat(pad, inner), 10, 10 + inner.length, 'ip');
    expect([view.ipVersion, view.srcPort]).toEqual([4, 3389]);
  });

  it("decodes 'ethernet' (GRE 0x6558, L2TPv3) and 'ppp' (PPTP, L2TPv2)", () => {
    const eth = vlanEthernet(inner, 12);
    decodeAt(view, concat(pad, eth), 10, 10 + eth.length, 'ethernet');
    expect([view.malformed, view.linkType, view.vlanIds[0], view.srcPort]).toEqual([null, 1, 12, 3389]);
    const ppp = concat(Uint8Array.of(0xff, 0x03, 0x00, 0x21), inner);
    decodeAt(view, concat(pad, ppp), 10, 10 + ppp.length, 'ppp');
    expect([view.malformed, view.linkType, view.srcPort]).toEqual([null, 9, 3389]);
  });

  it('clamps end to the buffer and flags a short inner packet', () => {
    decodeAt(view, inner, 0, inner.length + 100, 'ipv4');
    expect([view.malformed, view.srcPort]).toEqual([null, 3389]);
    decodeAt(view, inner, 0, 30, 'ipv4');
    expect([view.malformed, view.truncated]).toEqual(['tcp-truncated', true]);
  });
});

describe('decodePacket', () => {
  it('resets everything from the previous packet', () => {
    decodePacket(view, mplsEthernet(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, tcp({ sport: 1, dport: 2, flags: 'S', mss: 536 })), [5]), 1);
    expect([view.mplsCount, view.tcpMss]).toEqual([1, 536]);
    const fresh = new PacketView();
    const arp = ethernet(new Uint8Array(28), 0x0806);
    decodePacket(view, arp, 1);
    decodePacket(fresh, arp, 1);
    // Label/VLAN arrays keep stale entries beyond their counts by design.
    const scalars = (v: PacketView) => Object.entries(v).filter(([, x]) => !ArrayBuffer.isView(x) || x === v.buf);
    expect(scalars(view)).toEqual(scalars(fresh));
  });

  it('clears ICMP and tunnel fields after a packet that set them', () => {
    const icmpError = ethernet(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, concat(Uint8Array.of(3, 3, 0, 0, 0, 0, 0, 0), ipv4({ src: '10.0.0.2', dst: '10.0.0.1', proto: 17 }, udp(9, 10, new Uint8Array(0))))), 0x0800);
    const gre = ethernet(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 47 }, concat(Uint8Array.of(0x20, 0, 0x08, 0, 0, 0, 0, 42), new Uint8Array(20))), 0x0800);
    const esp = ethernet(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 50 }, Uint8Array.of(0, 0, 1, 0, 0, 0, 0, 9, 1, 2, 3, 4)), 0x0800);
    const plain = udpPacket('10.0.0.1', 5060, '10.0.0.2', 5060, new Uint8Array(16));
    const fresh = new PacketView();
    decodePacket(fresh, plain, 1);
    const scalars = (v: PacketView) => Object.entries(v).filter(([, x]) => !ArrayBuffer.isView(x) || x === v.buf);
    for (const before of [icmpError, gre, esp]) {
      decodePacket(view, before, 1);
      expect(view.icmpOrTunnel).toBe(true);
      decodePacket(view, plain, 1);
      expect(scalars(view)).toEqual(scalars(fresh));
    }
    decodePacket(view, gre, 1);
    expect([view.greKey, view.greProto]).toEqual([42, 0x0800]);
  });

  it('decodes a packet in place inside a bigger buffer: offsets shift, bytes past its end are ignored', () => {
    const pkt = tcpPacket('10.0.0.1', '10.0.0.2', { sport: 51515, dport: 443, flags: 'PA', seq: 7 }, new Uint8Array(40).fill(0xaa));
    const alone = new PacketView();
    decodePacket(alone, pkt, 1);
    // The same packet at offset 100 of a chunk, followed by junk that a bounds bug would read as payload.
    const chunk = new Uint8Array(100 + pkt.length + 500).fill(0x55);
    chunk.set(pkt, 100);
    const inChunk = new PacketView();
    decodePacket(inChunk, chunk, 1, 100, 100 + pkt.length);
    expect(inChunk.end).toBe(100 + pkt.length);
    for (const k of ['ipOff', 'srcOff', 'dstOff', 'l4Off', 'payloadOff'] as const) expect(inChunk[k]).toBe(alone[k] + 100);
    for (const k of ['proto', 'srcPort', 'dstPort', 'tcpSeq', 'payloadLen', 'payloadWireLen', 'ipChecksumOk', 'malformed', 'truncated'] as const)
      expect(inChunk[k]).toBe(alone[k]);
    // Cut by the capture: the claimed IP length runs past the packet's end, not into the junk after it.
    decodePacket(inChunk, chunk, 1, 100, 100 + pkt.length - 30);
    expect([inChunk.truncated, inChunk.payloadLen]).toEqual([true, 10]);
  });

  it('does not allocate per packet', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const packets = [
      tcpPacket('10.0.0.1', '10.0.0.2', { sport: 51515, dport: 443, flags: 'S', seq: 0xf0000000, mss: 1460 }),
      tcpPacket('2001:db8::1', '2001:db8::2', { sport: 1, dport: 2, flags: 'PA', seq: 3e9, ack: 4e9 }, new Uint8Array(200)),
      udpPacket('10.0.0.1', 5060, '10.0.0.2', 5060, new Uint8Array(160)),
      vlanEthernet(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udp(1, 2, new Uint8Array(20))), 7),
      mplsEthernet(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, Uint8Array.of(8, 0, 0, 0, 0, 1, 0, 1)), [16, 17]),
      ethernet(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, concat(Uint8Array.of(3, 3, 0, 0, 0, 0, 0, 0), ipv4({ src: '10.0.0.2', dst: '10.0.0.1', proto: 17 }, udp(9, 10, new Uint8Array(0))))), 0x0800),
      ethernet(new Uint8Array(28), 0x0806),
      new Uint8Array(10),
    ];
    // In one buffer, at their offsets, as the capture readers hand packets over (a new buffer costs the
    // view one DataView: a reader's next chunk, not a packet).
    const all = concat(...packets);
    const starts = packets.map((_, i) => packets.slice(0, i).reduce((n, p) => n + p.length, 0));
    const loop = (n: number) => {
      for (let i = 0; i < n; i++) decodePacket(view, all, 1, starts[i & 7], starts[i & 7] + packets[i & 7].length);
    };
    // Let the JIT settle: interpreted code boxes every non-small number it handles.
    for (let i = 0; i < 20; i++) loop(10_000);
    const gcStarts: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcStarts.push(e.startTime);
    });
    observer.observe({ entryTypes: ['gc'] });
    // 8 bytes per packet would be 1.6 MB per round: visible as heap growth, or as a scavenge in the round.
    const rounds: Array<{ growth: number; t0: number; t1: number }> = [];
    // Up to 20 rounds, stopping at the first without heap growth: on a loaded machine (the whole suite on 2 cores)
    // concurrent JIT and GC work can dirty several rounds in a row.
    for (let r = 0; r < 20; r++) {
      gc();
      const before = process.memoryUsage().heapUsed;
      const t0 = performance.now();
      loop(200_000);
      const t1 = performance.now();
      const growth = process.memoryUsage().heapUsed - before;
      rounds.push({ growth, t0, t1 });
      if (r >= 4 && growth < 64 * 1024) break;
    }
    await new Promise((r) => setTimeout(r, 50));
    observer.disconnect();
    // One clean round proves the steady state allocates nothing; JIT work may disturb the others.
    const clean = rounds.filter((r) => r.growth < 64 * 1024 && !gcStarts.some((t) => t >= r.t0 && t <= r.t1));
    expect(clean.length, JSON.stringify(rounds.map((r) => r.growth))).toBeGreaterThan(0);
  });
});
