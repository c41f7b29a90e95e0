import { describe, expect, it } from 'vitest';
import { rtp } from '../synth/packets.js';
import { DEMUX_RTP, demuxUdp } from './demux.js';
import { RtcpCompound, RtpHeader, parseRtcp, parseRtp, rtpPayloadOffset } from './rtp.js';

describe('parseRtp', () => {
  const h = new RtpHeader();

  it('reads the fixed header', () => {
    const b = rtp({ pt: 0, seq: 65535, ts: 0xfffffff0, ssrc: 0xdeadbeef, marker: true, payloadLen: 160 });
    expect(parseRtp(b, 0, b.length, h)).toBe(true);
    expect(h).toMatchObject({ version: 2, marker: true, payloadType: 0, seq: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, headerLen: 12, payloadOff: 12, payloadLen: 160 });
  });

  it('skips CSRCs and the header extension, and removes padding', () => {
    const b = new Uint8Array(12 + 8 + 4 + 8 + 10 + 4);
    b[0] = 0x80 | 0x20 | 0x10 | 2; // padding, extension, 2 CSRCs
    b[1] = 111;
    b.set([0xbe, 0xde, 0, 2], 20); // one-byte header extension profile, 2 words
    b[b.length - 1] = 4;
    expect(parseRtp(b, 0, b.length, h)).toBe(true);
    expect(h).toMatchObject({ csrcCount: 2, extension: true, extProfile: 0xbede, extLen: 8, headerLen: 32, payloadLen: 10 });
  });

  it('rejects a header extension or padding longer than the packet', () => {
    const b = new Uint8Array(20);
    b[0] = 0x90;
    b.set([0xbe, 0xde, 0, 9], 12);
    expect(parseRtp(b, 0, b.length, h)).toBe(false);
    const p = rtp({ pt: 8, seq: 1, ts: 1, ssrc: 1, payloadLen: 4, fill: 0 });
    p[0] |= 0x20;
    p[p.length - 1] = 200;
    expect(parseRtp(p, 0, p.length, h)).toBe(false);
    for (let end = 0; end < 12; end++) expect(parseRtp(p, 0, end, h)).toBe(false);
    p[0] = 0x40;
    expect(parseRtp(p, 0, p.length, h)).toBe(false);
  });
});

describe('rtpPayloadOffset', () => {
  const h = new RtpHeader();

  it('accepts what demuxUdp calls RTP and parseRtp accepts, and gives the payload offset', () => {
    // Headers with CSRCs, extensions and padding of every size around the packet's end, and every first byte.
    let seed = 1;
    const rand = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) >> 8) % n;
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      const b = new Uint8Array(rand(48));
      for (let k = 0; k < b.length; k++) b[k] = rand(4) === 0 ? rand(256) : rand(8);
      const off = rand(3);
      if (off < b.length && rand(4) > 0) b[off] = 0x80 | rand(64);
      if (off + 1 < b.length && rand(8) === 0) b[off + 1] = 192 + rand(32);
      const end = rand(4) === 0 ? b.length + 1 : b.length - rand(3);
      const expected = demuxUdp(b, off, end) === DEMUX_RTP && end <= b.length && parseRtp(b, off, end, h) ? h.payloadOff : -1;
      expect(rtpPayloadOffset(b, off, end)).toBe(expected);
      if (expected >= 0) accepted++;
    }
    expect(accepted).toBeGreaterThan(500);
  });

  it('refuses an end past the buffer, which demuxUdp and parseRtp clamp', () => {
    const b = rtp({ pt: 0, seq: 1, ts: 1, ssrc: 1, payloadLen: 4 });
    expect(rtpPayloadOffset(b, 0, b.length)).toBe(12);
    expect(rtpPayloadOffset(b, 0, b.length + 1)).toBe(-1);
  });
});

describe('parseRtcp', () => {
  const c = new RtcpCompound();
  const u32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  const block = (ssrc: number, fraction: number, lost: number, seq: number, jitter: number, lsr: number, dlsr: number) => [
    ...u32(ssrc),
    fraction,
    (lost >> 16) & 255,
    (lost >> 8) & 255,
    lost & 255,
    ...u32(seq),
    ...u32(jitter),
    ...u32(lsr),
    ...u32(dlsr),
  ];

  it('reads SR sender info, report blocks of SR and RR, and skips SDES/BYE by length', () => {
    const sr = [0x81, 200, 0, 12, ...u32(0x11111111), ...u32(0xe0000000), ...u32(0x80000000), ...u32(1234), ...u32(50), ...u32(8000), ...block(0x22222222, 64, 3, 70000, 45, 0xabcd, 0x10000)];
    const rr = [0x81, 201, 0, 7, ...u32(0x33333333), ...block(0x44444444, 0, -2 & 0xffffff, 5, 7, 0, 0)];
    const sdes = [0x81, 202, 0, 2, ...u32(0x11111111), 1, 2, 0x61, 0];
    const bye = [0x81, 203, 0, 1, ...u32(0x11111111)];
    const b = Uint8Array.from([...sr, ...rr, ...sdes, ...bye, 0x80, 0, 0, 1]); // + a 4-byte SRTCP-like trailer
    expect(parseRtcp(b, 0, b.length, c)).toBe(true);
    expect(c).toMatchObject({ packets: 4, srCount: 1, rrCount: 1, sdesCount: 1, byeCount: 1, senderSsrc: 0x11111111, senderPackets: 50, senderOctets: 8000, rtpTimestamp: 1234, blocks: 2, trailingBytes: 4, truncated: false });
    expect([c.reporter[0], c.source[0], c.fractionLost[0], c.cumulativeLost[0], c.extHighestSeq[0], c.jitter[0], c.lsr[0], c.dlsr[0]]).toEqual([0x11111111, 0x22222222, 64, 3, 70000, 45, 0xabcd, 0x10000]);
    expect([c.reporter[1], c.source[1], c.cumulativeLost[1]]).toEqual([0x33333333, 0x44444444, -2]);
  });

  it('flags a length past the end and rejects non-RTCP', () => {
    const b = Uint8Array.from([0x80, 201, 0, 9, 0, 0, 0, 1]);
    expect(parseRtcp(b, 0, b.length, c)).toBe(true);
    expect(c.truncated).toBe(true);
    expect(c.blocks).toBe(0);
    expect(parseRtcp(Uint8Array.from([0x80, 0, 0, 1, 0, 0, 0, 0]), 0, 8, c)).toBe(false);
  });
});
