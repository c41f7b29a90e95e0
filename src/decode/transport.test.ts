import { describe, expect, it } from 'vitest';
import { expectEveryCutFlagged } from '../../test/helpers/decode.js';
import { ipv4, ipv6, tcp, tcpPacket, udp } from '../synth/packets.js';
import { decodePacket } from './index.js';
import { PacketView, TCP_ACK, TCP_PSH, TCP_SYN } from './view.js';

const view = new PacketView();

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));
}

describe('TCP', () => {
  it('decodes ports, flags, seq/ack, window, MSS and payload', () => {
    const pkt = tcpPacket('10.0.0.1', '10.0.0.2', { sport: 51515, dport: 443, flags: 'S', seq: 0xfffffff0, window: 64240, mss: 1460 });
    decodePacket(view, pkt, 1);
    expect(view.malformed).toBeNull();
    expect([view.srcPort, view.dstPort, view.tcpFlags, view.tcpSeq, view.tcpAck, view.tcpWindow]).toEqual([51515, 443, TCP_SYN, 0xfffffff0, 0, 64240]);
    expect([view.tcpHeaderLen, view.tcpMss, view.payloadOff, view.payloadLen]).toEqual([24, 1460, 58, 0]);
    const data = tcpPacket('10.0.0.2', '10.0.0.1', { sport: 443, dport: 51515, flags: 'PA', seq: 1, ack: 0x80000001 }, new Uint8Array(100));
    decodePacket(view, data, 1);
    expect([view.tcpFlags, view.tcpAck, view.tcpMss, view.payloadLen, view.payloadWireLen]).toEqual([TCP_PSH | TCP_ACK, 0x80000001, 0, 100, 100]);
  });

  it('walks a Linux SYN option block to the MSS', () => {
    // a0 02: data offset 10 (40 bytes); options:
    // 0204 05b4 (MSS 1460) 0402 (SACK ok) 080a 00000001 00000000 (TS) 01 (NOP) 0303 07 (WS 7)
    const seg = hex('c350 01bb 00000000 00000000 a002 faf0 0000 0000 020405b4 0402 080a0000000100000000 01 030307');
    decodePacket(view, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, seg), 101);
    expect([view.malformed, view.tcpHeaderLen, view.tcpMss]).toEqual([null, 40, 1460]);
  });

  it('stops the option walk at a bad option length without failing the segment', () => {
    // 6002: data offset 6; option 02 01 (length 1 is invalid)
    const seg = hex('0001 0002 00000000 00000000 6002 1000 0000 0000 0201 0000');
    decodePacket(view, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, seg), 101);
    expect([view.malformed, view.tcpMss, view.tcpHeaderLen]).toEqual([null, 0, 24]);
  });

  it('rejects a data offset under 5 or beyond the IP packet', () => {
    const low = tcp({ sport: 1, dport: 2, flags: 'A' });
    low[12] = 0x40;
    decodePacket(view, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, low), 101);
    expect([view.malformed, view.srcPort]).toEqual(['tcp-bad-offset', 1]);
    const high = tcp({ sport: 1, dport: 2, flags: 'A' });
    high[12] = 0xf0;
    decodePacket(view, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, high), 101);
    expect(view.malformed).toBe('tcp-bad-offset');
  });

  it('flags every cut', () => {
    expectEveryCutFlagged(tcpPacket('2001:db8::1', '2001:db8::2', { sport: 1, dport: 2, flags: 'S', mss: 1220 }, new Uint8Array(3)), 1);
  });
});

describe('UDP', () => {
  const v4 = (seg: Uint8Array) => ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, seg);

  it('bounds the payload by the UDP length', () => {
    const seg = udp(5004, 5005, new Uint8Array(20));
    seg[5] = 8 + 12; // UDP says 12 bytes of payload, IP carries 20
    decodePacket(view, v4(seg), 101);
    expect([view.malformed, view.udpLen, view.payloadLen, view.payloadWireLen]).toEqual([null, 20, 12, 12]);
  });

  it('flags a length under 8 or over the IP payload', () => {
    const small = udp(1, 2, new Uint8Array(4));
    small[5] = 7;
    decodePacket(view, v4(small), 101);
    expect(view.malformed).toBe('udp-bad-length');
    const big = udp(1, 2, new Uint8Array(4));
    big[5] = 13;
    decodePacket(view, v4(big), 101);
    expect([view.malformed, view.srcPort, view.payloadLen]).toEqual(['udp-bad-length', 1, 4]);
  });

  it('treats a length the capture cut short as truncated, not malformed (zeek udp-contents-truncated-oob)', () => {
    // IP total 65535, UDP length 65515 (65507 payload bytes), 40 bytes captured
    const seg = udp(1234, 5678, new Uint8Array(12));
    seg[4] = 0xff;
    seg[5] = 0xeb;
    const pkt = v4(seg);
    pkt[2] = pkt[3] = 0xff;
    decodePacket(view, pkt, 101);
    expect([view.malformed, view.truncated, view.udpLen, view.payloadLen, view.payloadWireLen]).toEqual([null, true, 65515, 12, 65507]);
  });

  it('does not check the length of a first fragment', () => {
    const seg = udp(53, 53, new Uint8Array(8));
    seg[4] = 0x05; // 1400 bytes: the whole datagram
    seg[5] = 0x78;
    const pkt = v4(seg);
    pkt[6] = 0x20; // MF
    decodePacket(view, pkt, 101);
    expect([view.malformed, view.isFragment, view.payloadLen]).toEqual([null, true, 8]);
  });

  it('flags every cut', () => {
    expectEveryCutFlagged(ipv6({ src: '::1', dst: '::2', proto: 17 }, udp(1, 2, new Uint8Array(3))), 229);
  });
});

describe('SCTP', () => {
  it('decodes the common header ports', () => {
    // 0b59 0b59 (2905) vtag 00000000 checksum 00000000
    const pkt = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 132 }, hex('0b59 0b59 00000000 00000000 0001 0004'));
    decodePacket(view, pkt, 101);
    expect([view.malformed, view.srcPort, view.dstPort, view.payloadLen]).toEqual([null, 2905, 2905, 4]);
    decodePacket(view, pkt.subarray(0, 30), 101);
    expect(view.malformed).toBe('sctp-truncated');
  });
});
