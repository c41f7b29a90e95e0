import { describe, expect, it } from 'vitest';
import { ipv4, tcpPacket, udp, udpPacket } from '../synth/packets.js';
import { ipv4HeaderChecksumOk } from './inet-sum.js';
import { decodePacket, verifyTransportChecksum } from './index.js';
import { PacketView } from './view.js';

const view = new PacketView();

function decoded(pkt: Uint8Array, linkType = 1): PacketView {
  decodePacket(view, pkt, linkType);
  return view;
}

describe('IPv4 header checksum', () => {
  it('verifies a correct header (with an odd-looking value) and rejects a changed one', () => {
    // 4500 003c 1c46 4000 4006 b1e6 ac10 0a63 ac10 0a0c: the RFC 1071 worked example header
    const hdr = Uint8Array.from([0x45, 0, 0, 0x3c, 0x1c, 0x46, 0x40, 0, 0x40, 6, 0xb1, 0xe6, 0xac, 0x10, 0x0a, 0x63, 0xac, 0x10, 0x0a, 0x0c]);
    expect(ipv4HeaderChecksumOk(hdr, 0, 20)).toBe(true);
    hdr[15] ^= 1;
    expect(ipv4HeaderChecksumOk(hdr, 0, 20)).toBe(false);
  });
});

describe('verifyTransportChecksum', () => {
  it('accepts correct TCP and UDP checksums over IPv4 and IPv6 and rejects a flipped byte', () => {
    const packets = [
      tcpPacket('10.0.0.1', '10.0.0.2', { sport: 1, dport: 2, flags: 'PA' }, Uint8Array.of(1, 2, 3)),
      tcpPacket('2001:db8::1', '2001:db8::2', { sport: 1, dport: 2, flags: 'PA' }, Uint8Array.of(1, 2, 3)),
      udpPacket('10.0.0.1', 53, '10.0.0.2', 5353, Uint8Array.of(9, 9, 9, 9, 9)),
      udpPacket('2001:db8::1', 53, '2001:db8::2', 5353, Uint8Array.of(9, 9, 9, 9, 9)),
    ];
    for (const pkt of packets) {
      expect(verifyTransportChecksum(decoded(pkt))).toBe(true);
      pkt[pkt.length - 1] ^= 0x40;
      expect(verifyTransportChecksum(decoded(pkt))).toBe(false);
    }
  });

  it('ignores Ethernet padding', () => {
    const pkt = udpPacket('10.0.0.1', 53, '10.0.0.2', 5353, Uint8Array.of(1));
    const padded = new Uint8Array(60).fill(0xee);
    padded.set(pkt);
    expect(verifyTransportChecksum(decoded(padded))).toBe(true);
  });

  it('returns null when it cannot tell: snapped, fragment, UDP checksum 0, not TCP/UDP', () => {
    const pkt = tcpPacket('10.0.0.1', '10.0.0.2', { sport: 1, dport: 2, flags: 'PA' }, new Uint8Array(50));
    expect(verifyTransportChecksum(decoded(pkt.subarray(0, pkt.length - 10)))).toBeNull();
    const frag = pkt.slice();
    frag[14 + 6] |= 0x20;
    expect(verifyTransportChecksum(decoded(frag))).toBeNull();
    const noSum = udpPacket('10.0.0.1', 53, '10.0.0.2', 5353, Uint8Array.of(1));
    noSum[14 + 20 + 6] = noSum[14 + 20 + 7] = 0;
    expect(verifyTransportChecksum(decoded(noSum))).toBeNull();
    expect(verifyTransportChecksum(decoded(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, new Uint8Array(8)), 101))).toBeNull();
    const badLen = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udp(1, 2, new Uint8Array(4)));
    badLen[20 + 5] = 40;
    expect(verifyTransportChecksum(decoded(badLen, 101))).toBeNull();
  });
});
