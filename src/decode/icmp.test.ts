import { describe, expect, it } from 'vitest';
import { expectEveryCutFlagged } from '../../test/helpers/decode.js';
import { ipv4, ipv6, tcp, udp } from '../synth/packets.js';
import { decodePacket } from './index.js';
import { PacketView, formatIp } from './view.js';

const view = new PacketView();

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/** ICMP header: type, code, checksum 0, 4 bytes rest-of-header. */
const icmpHeader = (type: number, code: number) => Uint8Array.of(type, code, 0, 0, 0, 0, 0, 0);

describe('ICMP', () => {
  it('decodes an echo request', () => {
    const pkt = ipv4({ src: '10.0.0.1', dst: '8.8.8.8', proto: 1 }, concat(Uint8Array.of(8, 0, 0, 0, 0, 1, 0, 7), new Uint8Array(32)));
    decodePacket(view, pkt, 101);
    expect([view.malformed, view.icmpType, view.icmpCode, view.icmpInner, view.payloadLen]).toEqual([null, 8, 0, false, 32]);
  });

  it('decodes the datagram quoted in a port unreachable (inner UDP ports)', () => {
    // the original: 10.0.0.1:5060 -> 192.0.2.9:5061 UDP, quoted as IP header + 8 bytes
    const original = ipv4({ src: '10.0.0.1', dst: '192.0.2.9', proto: 17 }, udp(5060, 5061, new Uint8Array(100))).subarray(0, 28);
    const pkt = ipv4({ src: '192.0.2.9', dst: '10.0.0.1', proto: 1 }, concat(icmpHeader(3, 3), original));
    decodePacket(view, pkt, 101);
    expect([view.malformed, view.truncated, view.icmpType, view.icmpCode, view.icmpInner]).toEqual([null, false, 3, 3, true]);
    expect([view.innerVersion, view.innerProto, view.innerSrcPort, view.innerDstPort]).toEqual([4, 17, 5060, 5061]);
    expect(formatIp(view.buf, view.innerSrcOff, 4)).toBe('10.0.0.1');
    expect(formatIp(view.buf, view.innerDstOff, 4)).toBe('192.0.2.9');
    expectEveryCutFlagged(pkt, 101);
  });

  it('decodes a time exceeded quoting TCP, and takes no ports from a quoted non-first fragment', () => {
    const original = ipv4({ src: '10.0.0.1', dst: '192.0.2.9', proto: 6 }, tcp({ sport: 40000, dport: 443, flags: 'S' })).subarray(0, 28);
    decodePacket(view, ipv4({ src: '198.51.100.1', dst: '10.0.0.1', proto: 1 }, concat(icmpHeader(11, 0), original)), 101);
    expect([view.icmpType, view.innerProto, view.innerSrcPort, view.innerDstPort]).toEqual([11, 6, 40000, 443]);
    const fragment = original.slice();
    fragment[7] = 0x10;
    decodePacket(view, ipv4({ src: '198.51.100.1', dst: '10.0.0.1', proto: 1 }, concat(icmpHeader(11, 1), fragment)), 101);
    expect([view.icmpInner, view.innerProto, view.innerSrcPort]).toEqual([true, 6, 0]);
  });

  it('flags an error whose quoted IP header is incomplete', () => {
    const quoted = ipv4({ src: '10.0.0.1', dst: '192.0.2.9', proto: 17 }, new Uint8Array(0)).subarray(0, 16);
    decodePacket(view, ipv4({ src: '192.0.2.9', dst: '10.0.0.1', proto: 1 }, concat(icmpHeader(3, 1), quoted)), 101);
    expect([view.malformed, view.icmpInner]).toEqual(['icmp-truncated', false]);
  });

  it('flags a header under 8 bytes but keeps type and code', () => {
    decodePacket(view, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, Uint8Array.of(0, 0, 0, 0)), 101);
    expect([view.malformed, view.icmpType, view.icmpCode]).toEqual(['icmp-truncated', 0, 0]);
  });
});

describe('ICMPv6', () => {
  it('decodes a packet too big quoting IPv6/UDP', () => {
    const original = ipv6({ src: '2001:db8::5', dst: '2001:db8:1::9', proto: 17 }, udp(3478, 19302, new Uint8Array(1300))).subarray(0, 48);
    // type 2 code 0, MTU 1280
    const hdr = Uint8Array.of(2, 0, 0, 0, 0, 0, 0x05, 0x00);
    const pkt = ipv6({ src: '2001:db8::1', dst: '2001:db8::5', proto: 58 }, concat(hdr, original));
    decodePacket(view, pkt, 229);
    expect([view.malformed, view.icmpType, view.icmpInner, view.innerVersion, view.innerProto, view.innerSrcPort, view.innerDstPort]).toEqual([null, 2, true, 6, 17, 3478, 19302]);
    expect(formatIp(view.buf, view.innerDstOff, 16)).toBe('2001:db8:1::9');
    expectEveryCutFlagged(pkt, 229);
  });

  it('does not look inside informational messages', () => {
    // 135 neighbor solicitation: target address follows the header
    const pkt = ipv6({ src: 'fe80::1', dst: 'ff02::1:ff00:2', proto: 58 }, concat(icmpHeader(135, 0), new Uint8Array(16).fill(0x60)));
    decodePacket(view, pkt, 229);
    expect([view.malformed, view.icmpType, view.icmpInner]).toEqual([null, 135, false]);
  });
});
