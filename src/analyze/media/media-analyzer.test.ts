import { describe, expect, it } from 'vitest';
import { decodePacket } from '../../decode/index.js';
import { PacketView } from '../../decode/view.js';
import { FlowTable } from '../../flow/table.js';
import { SPOKE_TWILIO_POLICY } from '../../policy/spoke-twilio.js';
import type { RawPacket } from '../../capture/types.js';
import { rtp, stunMessage, udpPacket } from '../../synth/packets.js';
import { MediaAnalyzer } from './media-analyzer.js';

const LOCAL = '10.0.0.5';
const REMOTE = '168.86.128.10';
const internal = { containsIp: (ip: string) => ip.startsWith('10.') };

interface Pkt {
  ts: number;
  data: Uint8Array;
}

function analyze(packets: Pkt[], opts: { maxStreams?: number; timelineMaxPoints?: number } = {}) {
  const media = new MediaAnalyzer({ policy: SPOKE_TWILIO_POLICY, internal, ...opts });
  const view = new PacketView();
  const table = new FlowTable({ onEnd: (f) => media.onFlowEnd(f) });
  packets.sort((a, b) => a.ts - b.ts);
  packets.forEach((p, i) => {
    decodePacket(view, p.data, 1);
    const pkt = { data: p.data, caplen: p.data.length, origLen: p.data.length, linkType: 1 } as RawPacket;
    view.ts = p.ts;
    const flow = table.update(view, i + 1, p.data.length);
    media.onPacket({ frame: i + 1, ts: p.ts, pkt, view, flow, dir: table.dir, depth: 0, weird: () => {} });
  });
  table.flush();
  media.finish();
  return media;
}

interface StreamSpec {
  src?: [string, number];
  dst?: [string, number];
  ssrc?: number;
  pt?: number;
  count: number;
  t0?: number;
  interval?: number;
  tsStep?: number;
  seq0?: number;
  /** RTP timestamp of the first packet (default 5000). */
  rtpTs0?: number;
  /** Packet index → arrival delay (s). */
  delay?: (i: number) => number;
  skip?: (i: number) => boolean;
  fill?: number;
}

function stream(s: StreamSpec): Pkt[] {
  const [sip, sport] = s.src ?? [LOCAL, 40000];
  const [dip, dport] = s.dst ?? [REMOTE, 20000];
  const out: Pkt[] = [];
  for (let i = 0; i < s.count; i++) {
    if (s.skip?.(i)) continue;
    const payload = rtp({ pt: s.pt ?? 0, seq: (s.seq0 ?? 1000) + i, ts: (s.rtpTs0 ?? 5000) + i * (s.tsStep ?? 160), ssrc: s.ssrc ?? 0xabc, fill: s.fill ?? 0x55 });
    out.push({ ts: (s.t0 ?? 1000) + i * (s.interval ?? 0.02) + (s.delay?.(i) ?? 0), data: udpPacket(sip, sport, dip, dport, payload) });
  }
  return out;
}

const twoWay = (o: Partial<StreamSpec> = {}) => [
  ...stream({ count: 250, ...o }),
  ...stream({ src: [REMOTE, 20000], dst: [LOCAL, 40000], ssrc: 0xdef, count: 250, ...o }),
];

describe('RTP streams', () => {
  it('counts across the sequence wrap with Wireshark expected/lost', () => {
    const [s] = analyze(stream({ count: 100, seq0: 65500, skip: (i) => i === 50 || i === 51 })).streams();
    expect(s.packets).toBe(98);
    expect(s.expected).toBe(100);
    expect(s.lost).toBe(2);
    expect(s.lossPct).toBe(2);
  });

  it('counts duplicates (negative loss) and late packets', () => {
    const pkts = stream({ count: 50 });
    pkts.push({ ts: pkts[20].ts + 0.001, data: pkts[20].data }); // duplicate
    pkts[30].ts += 0.05; // arrives after 32
    const [s] = analyze(pkts).streams();
    expect(s.packets).toBe(51);
    expect(s.duplicates).toBe(1);
    expect(s.outOfOrder).toBe(1);
    // Wireshark: expected from the last packet's seq (49) → 50; lost = 50 − 51.
    expect(s.lost).toBe(-1);
  });

  it('computes RFC 3550 jitter in ms: a constant 5 ms offset on every other packet', () => {
    const [s] = analyze(stream({ count: 200, delay: (i) => (i % 2 ? 0.005 : 0) })).streams();
    // |D| = 5 ms for every packet → J → 5 ms.
    expect(s.maxJitterMs!).toBeGreaterThan(4.9);
    expect(s.maxJitterMs!).toBeLessThanOrEqual(5);
    expect(s.clockRate).toBe(8000);
    expect(s.codec).toBe('PCMU');
  });

  it('extends RTP timestamps across their 32-bit wrap (jitter as without it)', () => {
    const delay = (i: number) => (i % 2 ? 0.005 : 0);
    const [plain] = analyze(stream({ count: 200, delay })).streams();
    const [wrapped] = analyze(stream({ count: 200, delay, rtpTs0: 2 ** 32 - 160 * 100 })).streams();
    expect(wrapped.maxJitterMs).toBe(plain.maxJitterMs);
    expect(wrapped.meanJitterMs).toBe(plain.meanJitterMs);
    expect(wrapped.maxDeltaMs).toBe(plain.maxDeltaMs);
  });

  it('leaves marker and comfort-noise packets out of max delta', () => {
    const pkts = stream({ count: 60 });
    const gap = stream({ count: 1, seq0: 1060, t0: 1000 + 60 * 0.02 + 2 }); // 2 s silence then a talkspurt start
    const data = gap[0].data;
    data[14 + 20 + 8 + 1] |= 0x80; // marker bit
    const cn = stream({ count: 3, seq0: 1061, pt: 13, t0: 1000 + 61 * 0.02 + 2 });
    const [s] = analyze([...pkts, ...gap, ...cn]).streams();
    expect(s.maxDeltaMs).toBeLessThan(25);
  });

  it('infers dynamic clocks from timestamp step and spacing: 8, 16 and 48 kHz', () => {
    for (const [step, rate] of [
      [160, 8000],
      [320, 16000],
      [960, 48000],
    ] as const) {
      const [s] = analyze(stream({ count: 100, pt: 111, tsStep: step, delay: (i) => (i % 3) * 0.002 })).streams();
      expect(s.clockRate).toBe(rate);
      expect(s.clockRateInferred).toBe(true);
      expect(s.maxJitterMs).not.toBeNull();
    }
    const [opus] = analyze(stream({ count: 100, pt: 111, tsStep: 960 })).streams();
    expect(opus.codec).toBe('opus?');
  });

  it('gives telephone-event (timestamps that do not advance) no clock', () => {
    const pkts = stream({ count: 30, pt: 101, tsStep: 0 });
    const [s] = analyze(pkts).streams();
    expect(s.clockRate).toBeNull();
    expect(s.meanJitterMs).toBeNull();
  });

  it('keeps an SSRC change on one 5-tuple as two streams, each with all its packets', () => {
    const a = stream({ count: 40, ssrc: 1 });
    const b = stream({ count: 40, ssrc: 2, t0: 1000 + 40 * 0.02, seq0: 7 });
    const streams = analyze([...a, ...b]).streams();
    expect(streams.map((s) => [s.ssrc, s.packets])).toEqual([
      ['0x00000001', 40],
      ['0x00000002', 40],
    ]);
  });

  it('does not take DNS-like or random UDP for RTP', () => {
    const pkts: Pkt[] = [];
    for (let i = 0; i < 200; i++) {
      const payload = new Uint8Array(60).map((_, j) => (i * 31 + j * 17 + ((i * j) % 7)) & 0xff);
      payload[0] = 0x80 | (i & 0x3f);
      pkts.push({ ts: 1000 + i * 0.02, data: udpPacket(LOCAL, 5555, REMOTE, 6666, payload) });
    }
    expect(analyze(pkts).streams()).toEqual([]);
  });

  it('bounds the timeline by merging buckets', () => {
    const [s] = analyze(stream({ count: 1000, interval: 0.1 }), { timelineMaxPoints: 10 }).streams();
    expect(s.timeline.length).toBeLessThanOrEqual(10);
    expect(s.timeline.reduce((n, p) => n + p.packets, 0)).toBe(1000);
  });

  it('caps streams and counts evictions', () => {
    const pkts = [1, 2, 3].flatMap((k) => stream({ count: 10, ssrc: k, src: [LOCAL, 40000 + k], t0: 1000 + k }));
    const media = analyze(pkts, { maxStreams: 2 });
    expect(media.streams().length).toBe(2);
    expect(media.evictions).toBe(1);
  });
});

describe('RTCP', () => {
  it('attaches receiver reports to the stream they describe, with jitter in ms and LSR/DLSR round trip', () => {
    const pkts = twoWay();
    // Remote sends an SR about its stream 0xdef at t=1001; we reply with an RR 30 ms later holding DLSR = 10 ms.
    const ntpSec = 0x12345678;
    const ntpFrac = 0x9abc0000;
    const sr = new Uint8Array(28);
    const dv = new DataView(sr.buffer);
    sr[0] = 0x80;
    sr[1] = 200;
    dv.setUint16(2, 6);
    dv.setUint32(4, 0xdef);
    dv.setUint32(8, ntpSec);
    dv.setUint32(12, ntpFrac);
    pkts.push({ ts: 1001, data: udpPacket(REMOTE, 20000, LOCAL, 40000, sr) });
    const rr = new Uint8Array(32);
    const rv = new DataView(rr.buffer);
    rr[0] = 0x81;
    rr[1] = 201;
    rv.setUint16(2, 7);
    rv.setUint32(4, 0xabc);
    rv.setUint32(8, 0xdef);
    rr[12] = 64; // fraction lost 25%
    rr[15] = 3; // cumulative 3
    rv.setUint32(20, 80); // jitter 80 units = 10 ms at 8 kHz
    rv.setUint32(24, ((ntpSec & 0xffff) << 16) | (ntpFrac >>> 16));
    rv.setUint32(28, Math.round(0.01 * 65536));
    pkts.push({ ts: 1001.03, data: udpPacket(LOCAL, 40000, REMOTE, 20000, rr) });
    const media = analyze(pkts);
    const down = media.streams().find((s) => s.ssrc === '0x00000def')!;
    expect(down.rtcp).toMatchObject({ reports: 1, fractionLostPct: 25, cumulativeLost: 3, jitterMs: 10 });
    expect(down.rtcp!.rttMs!).toBeCloseTo(20, 1);
    expect(down.srtp).toBe(false); // plain RTCP
    expect(media.calls()[0].rttMs!).toBeCloseTo(20, 1);
  });
});

describe('STUN', () => {
  const tx = (n: number) => new Uint8Array(12).fill(n);
  it('matches requests and responses by transaction id, skipping retransmitted ones', () => {
    const pkts: Pkt[] = [];
    const req = (t: number, id: number) => pkts.push({ ts: t, data: udpPacket(LOCAL, 40000, REMOTE, 3478, stunMessage(0x0001, tx(id))) });
    const res = (t: number, id: number) =>
      pkts.push({ ts: t, data: udpPacket(REMOTE, 3478, LOCAL, 40000, stunMessage(0x0101, tx(id), { ip: '198.51.100.7', port: 61000 })) });
    req(1000, 1);
    res(1000.04, 1); // 40 ms
    req(1002, 2);
    res(1002.06, 2); // 60 ms
    req(1004, 3);
    req(1004.5, 3); // retransmitted: ambiguous, no sample
    res(1004.52, 3);
    const media = analyze(pkts);
    const flows = (media as unknown as { ended: Array<{ stun: { rtt(): unknown; mapped: unknown[] } }> }).ended;
    expect(flows[0].stun.rtt()).toEqual({ minMs: expect.closeTo(40, 3), meanMs: expect.closeTo(50, 3), maxMs: expect.closeTo(60, 3), samples: 2 });
    expect(flows[0].stun.mapped[0]).toBe('198.51.100.7');
  });
});

describe('calls', () => {
  it('passes a clean two-way G.711 call, with MOS and bandwidth', () => {
    const [call] = analyze(twoWay()).calls();
    expect(call.local).toEqual({ ip: LOCAL, port: 40000 });
    expect(call.remote).toEqual({ ip: REMOTE, port: 20000 });
    expect(call.verdict).toBe('pass');
    expect(call.violations).toEqual([]);
    expect(call.codec).toBe('PCMU');
    expect(call.up.kbps!).toBeCloseTo(80, 0);
    expect(call.down.packets).toBe(250);
    expect(call.mos!).toBeGreaterThan(4.3);
    expect(call.streams).toHaveLength(2);
  });

  it('keeps concurrent calls apart', () => {
    const a = twoWay();
    const b = [
      ...stream({ src: [LOCAL, 41000], dst: [REMOTE, 21000], ssrc: 5, count: 250 }),
      ...stream({ src: [REMOTE, 21000], dst: [LOCAL, 41000], ssrc: 6, count: 250 }),
    ];
    const calls = analyze([...a, ...b]).calls();
    expect(calls.map((c) => c.local.port).sort()).toEqual([40000, 41000]);
  });

  it('fails one-way audio (inbound filtered) and STUN/DTLS-only calls', () => {
    const [oneWay] = analyze(stream({ count: 250 })).calls();
    expect(oneWay.violations).toContain('one-way');
    expect(oneWay.verdict).toBe('fail');
    expect(oneWay.down.lossPct).toBeNull();

    // ICE checks with no answer and no media: the blocked-media symptom.
    const ice = stunMessage(0x0001, new Uint8Array(12).fill(9));
    const withPriority = new Uint8Array(ice.length + 8);
    withPriority.set(ice);
    withPriority.set([0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x1e, 0xff], ice.length);
    withPriority[3] = 8;
    const [blocked] = analyze([{ ts: 1000, data: udpPacket(LOCAL, 40000, REMOTE, 3478, withPriority) }]).calls();
    expect(blocked.verdict).toBe('fail');
    expect(blocked.violations).toEqual(['one-way']);
    expect(blocked.streams).toEqual([]);
  });

  it('reports jitter, loss and bandwidth violations', () => {
    const calls = analyze([
      ...stream({ count: 500, skip: (i) => i % 4 === 3, delay: (i) => (i % 2 ? 0.019 : 0) }),
      ...stream({ src: [REMOTE, 20000], dst: [LOCAL, 40000], ssrc: 0xdef, count: 500 }),
    ]).calls();
    expect(calls[0].violations).toEqual(expect.arrayContaining(['jitter', 'loss', 'bandwidth']));
    expect(calls[0].up.lossPct!).toBeGreaterThan(20);
  });

  it('merges a selected-pair change on the same local socket into one call', () => {
    const first = twoWay();
    const second = [
      ...stream({ dst: ['168.86.129.20', 20002], count: 100, t0: 1006, seq0: 1250, ssrc: 0xabc }),
      ...stream({ src: ['168.86.129.20', 20002], dst: [LOCAL, 40000], ssrc: 0x999, count: 100, t0: 1006 }),
    ];
    const calls = analyze([...first, ...second]).calls();
    expect(calls).toHaveLength(1);
    expect(calls[0].flows).toHaveLength(2);
  });
});
