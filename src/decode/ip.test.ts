import { describe, expect, it } from 'vitest';
import { expectEveryCutFlagged } from '../../test/helpers/decode.js';
import { ethernet, ipv4, ipv6, tcp, udp } from '../synth/packets.js';
import { decodePacket } from './index.js';
import { MAX_IP_EXTENSIONS } from './ip.js';
import { PacketView, formatIp } from './view.js';

const view = new PacketView();

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/** Recompute the IPv4 header checksum in place (after a test edits the header). */
function fixV4Checksum(pkt: Uint8Array, hl = (pkt[0] & 15) * 4): Uint8Array {
  pkt[10] = pkt[11] = 0;
  let s = 0;
  for (let i = 0; i < hl; i += 2) s += (pkt[i] << 8) | pkt[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  s = ~s & 0xffff;
  pkt[10] = s >> 8;
  pkt[11] = s & 0xff;
  return pkt;
}

const udp4 = () => ipv4({ src: '198.51.100.7', dst: '203.0.113.9', proto: 17, ttl: 57, id: 0xbeef }, udp(53, 40000, new Uint8Array(12)));

describe('IPv4', () => {
  it('decodes the header fields and verifies the checksum', () => {
    decodePacket(view, udp4(), 101);
    expect(view.malformed).toBeNull();
    expect(formatIp(view.buf, view.srcOff, view.addrLen)).toBe('198.51.100.7');
    expect(formatIp(view.buf, view.dstOff, view.addrLen)).toBe('203.0.113.9');
    expect([view.ipHeaderLen, view.ipTotalLen, view.ttl, view.ipId, view.dontFragment, view.isFragment]).toEqual([20, 40, 57, 0xbeef, true, false]);
    expect(view.ipChecksumOk).toBe(true);
    const bad = udp4();
    bad[8] = 1; // TTL changed, checksum not
    decodePacket(view, bad, 101);
    expect([view.ipChecksumOk, view.malformed, view.srcPort]).toEqual([false, null, 53]);
  });

  it('skips options by the header length', () => {
    // 46 .. : IHL 6, one 4-byte option (01 01 01 00: NOP NOP NOP EOL)
    const plain = udp4();
    const withOpt = concat(plain.subarray(0, 20), hex('01010100'), plain.subarray(20));
    withOpt[0] = 0x46;
    withOpt[3] += 4;
    fixV4Checksum(withOpt);
    decodePacket(view, withOpt, 101);
    expect([view.malformed, view.ipHeaderLen, view.l4Off, view.srcPort, view.ipChecksumOk]).toEqual([null, 24, 24, 53, true]);
  });

  it('rejects a header length under 20 and a total length under the header', () => {
    const p = udp4();
    p[0] = 0x44;
    decodePacket(view, p, 101);
    expect(view.malformed).toBe('ip-bad-header-length');
    const q = udp4();
    q[2] = 0;
    q[3] = 19;
    decodePacket(view, q, 101);
    expect(view.malformed).toBe('ip-bad-total-length');
  });

  it('gives a header it could not read no IP version, so no flow is keyed by addresses it does not have', () => {
    for (const [frame, reason] of [
      [ethernet(udp4().subarray(0, 19)), 'ip-truncated'],
      [ethernet(Uint8Array.of(0x64, ...udp4().subarray(1))), 'ip-bad-version'], // IPv4 EtherType, version 6
    ] as const) {
      decodePacket(view, frame, 1);
      expect([view.malformed, view.ipVersion, view.addrLen]).toEqual([reason, 0, 0]);
    }
    decodePacket(view, ipv6({ src: '2001:db8::1', dst: '2001:db8::2', proto: 17 }, udp(1, 2, new Uint8Array(4))).subarray(0, 39), 101);
    expect([view.malformed, view.ipVersion, view.addrLen]).toEqual(['ip-truncated', 0, 0]);
  });

  it('takes total length 0 (TSO) as the captured length', () => {
    const p = udp4();
    p[2] = p[3] = 0;
    decodePacket(view, p, 101);
    expect([view.malformed, view.ipTotalLen, view.payloadLen]).toEqual([null, 40, 12]);
  });

  it('marks a capture shorter than the total length truncated and bounds the payload', () => {
    const p = udp4().subarray(0, 34);
    decodePacket(view, p, 101);
    expect([view.malformed, view.truncated, view.payloadLen, view.payloadWireLen]).toEqual([null, true, 6, 12]);
  });

  it('trims Ethernet padding beyond the total length', () => {
    // 60-byte minimum frame: 14 + 40 + 6 bytes of padding
    const frame = concat(ethernet(udp4()), new Uint8Array(6).fill(0xaa));
    decodePacket(view, frame, 1);
    expect([view.malformed, view.truncated, view.payloadOff + view.payloadLen]).toEqual([null, false, 54]);
  });

  it('records fragments: the first keeps its transport header, later ones have none', () => {
    const first = udp4();
    first[6] = 0x20; // MF, offset 0
    fixV4Checksum(first);
    decodePacket(view, first, 101);
    expect([view.isFragment, view.moreFragments, view.fragOffset, view.srcPort, view.malformed]).toEqual([true, true, 0, 53, null]);
    const later = udp4();
    later[6] = 0x00;
    later[7] = 0xb9; // offset 185 * 8 = 1480, last fragment
    fixV4Checksum(later);
    decodePacket(view, later, 101);
    expect([view.isFragment, view.moreFragments, view.fragOffset, view.proto]).toEqual([true, false, 1480, 17]);
    expect([view.l4Off, view.srcPort, view.payloadOff, view.payloadLen]).toEqual([0, 0, 20, 20]);
  });

  it('skips AH to the protocol it protects', () => {
    // AH: next 06, len 4 -> (4+2)*4 = 24 bytes: SPI 00000100, seq 00000001, 12-byte ICV
    const ah = concat(hex('06 04 0000 00000100 00000001'), new Uint8Array(12));
    const seg = tcp({ sport: 443, dport: 50123, flags: 'PA', seq: 7 });
    const p = ipv4({ src: '10.1.1.1', dst: '10.2.2.2', proto: 51 }, concat(ah, seg));
    decodePacket(view, p, 101);
    expect([view.malformed, view.proto, view.l4Off, view.srcPort, view.tcpSeq]).toEqual([null, 6, 44, 443, 7]);
    expectEveryCutFlagged(p, 101);
  });

  it('flags every cut of a UDP datagram', () => {
    expectEveryCutFlagged(udp4(), 101);
  });
});

describe('IPv6', () => {
  const src = '2001:db8::10';
  const dst = 'fe80::1';
  /** Generic extension header: next, length in 8-byte units beyond the first, padded with PadN. */
  const extHdr = (next: number, units = 0) => {
    const h = new Uint8Array(8 + units * 8);
    h[0] = next;
    h[1] = units;
    h[2] = 1; // PadN
    h[3] = h.length - 4;
    return h;
  };

  it('decodes the fixed header', () => {
    const p = ipv6({ src, dst, proto: 17, hopLimit: 3 }, udp(546, 547, new Uint8Array(5)));
    decodePacket(view, p, 229);
    expect(formatIp(view.buf, view.srcOff, 16)).toBe(src);
    expect(formatIp(view.buf, view.dstOff, 16)).toBe(dst);
    expect([view.malformed, view.ttl, view.ipTotalLen, view.proto, view.srcPort, view.payloadLen]).toEqual([null, 3, 53, 17, 546, 5]);
    expect(view.ipChecksumOk).toBeNull();
  });

  it('walks hop-by-hop, routing and destination options to the transport', () => {
    const chain = concat(extHdr(43), extHdr(60, 1), extHdr(6), tcp({ sport: 80, dport: 1234, flags: 'A' }));
    const p = ipv6({ src, dst, proto: 0 }, chain);
    decodePacket(view, p, 229);
    expect([view.malformed, view.proto, view.l4Off, view.srcPort, view.dstPort]).toEqual([null, 6, 40 + 8 + 16 + 8, 80, 1234]);
    expectEveryCutFlagged(p, 229);
  });

  it('records a fragment header; a non-first fragment has no transport', () => {
    // 2c: next 11 (UDP), reserved, offset 0 + M, id 0x01020304
    const first = ipv6({ src, dst, proto: 44 }, concat(hex('11 00 0001 01020304'), udp(53, 5353, new Uint8Array(16))));
    decodePacket(view, first, 229);
    expect([view.isFragment, view.moreFragments, view.fragOffset, view.ipId, view.proto, view.srcPort]).toEqual([true, true, 0, 0x01020304, 17, 53]);
    // offset 1448 (0x5a8), last
    const later = ipv6({ src, dst, proto: 44 }, concat(hex('11 00 05a8 01020304'), new Uint8Array(24)));
    decodePacket(view, later, 229);
    expect([view.isFragment, view.moreFragments, view.fragOffset, view.proto, view.l4Off, view.payloadOff, view.payloadLen]).toEqual([true, false, 1448, 17, 0, 48, 24]);
    expectEveryCutFlagged(first, 229);
  });

  it('skips AH, stops at ESP and at no-next-header', () => {
    const ah = concat(hex('3a 04 0000 00000200 00000009'), new Uint8Array(12));
    const icmp = hex('8000 0000 0001 0001');
    decodePacket(view, ipv6({ src, dst, proto: 51 }, concat(ah, icmp)), 229);
    expect([view.malformed, view.proto, view.icmpType]).toEqual([null, 58, 128]);
    decodePacket(view, ipv6({ src, dst, proto: 60 }, concat(extHdr(50), hex('0000abcd 00000005'), new Uint8Array(32))), 229);
    expect([view.malformed, view.proto, view.espSpi, view.espSeq]).toEqual([null, 50, 0xabcd, 5]);
    decodePacket(view, ipv6({ src, dst, proto: 59 }, new Uint8Array(4)), 229);
    expect([view.malformed, view.proto, view.l4Off, view.payloadLen]).toEqual([null, 59, 0, 4]);
  });

  it('gives up after MAX_IP_EXTENSIONS headers', () => {
    const many = concat(...Array.from({ length: MAX_IP_EXTENSIONS + 1 }, () => extHdr(60)), udp(1, 2, new Uint8Array(0)));
    decodePacket(view, ipv6({ src, dst, proto: 60 }, many), 229);
    expect(view.malformed).toBe('ipv6-ext-too-many');
    const enough = concat(...Array.from({ length: MAX_IP_EXTENSIONS - 1 }, () => extHdr(60)), extHdr(17), udp(1, 2, new Uint8Array(0)));
    decodePacket(view, ipv6({ src, dst, proto: 60 }, enough), 229);
    expect([view.malformed, view.srcPort]).toEqual([null, 1]);
  });

  it('flags an extension header longer than the payload length', () => {
    const p = ipv6({ src, dst, proto: 0 }, concat(extHdr(17), udp(1, 2, new Uint8Array(0))));
    p[41] = 5; // hop-by-hop claims 48 bytes
    decodePacket(view, p, 229);
    expect(view.malformed).toBe('ipv6-ext-truncated');
  });
});
