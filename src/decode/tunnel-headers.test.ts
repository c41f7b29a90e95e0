import { describe, expect, it } from 'vitest';
import { expectEveryCutFlagged } from '../../test/helpers/decode.js';
import { ipv4, udp } from '../synth/packets.js';
import { decodePacket } from './index.js';
import { GRE_ACK, GRE_CHECKSUM, GRE_KEY, GRE_SEQ, PacketView } from './view.js';

const view = new PacketView();

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

const inner = ipv4({ src: '172.16.0.1', dst: '172.16.0.2', proto: 17 }, udp(1, 2, new Uint8Array(4)));
const outer = (gre: Uint8Array) => ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 47 }, gre);

describe('GRE', () => {
  it('decodes a plain version 0 header; payload = the encapsulated packet', () => {
    // 0000 0800
    const pkt = outer(concat(hex('0000 0800'), inner));
    decodePacket(view, pkt, 101);
    expect([view.malformed, view.proto, view.greVersion, view.greProto, view.greFlags, view.greKey]).toEqual([null, 47, 0, 0x0800, 0, null]);
    expect([view.payloadOff, view.payloadLen]).toEqual([24, inner.length]);
  });

  it('decodes checksum, key and sequence number', () => {
    // b000 6558: C K S, transparent Ethernet; checksum 1234 + reserved, key 0000002a, seq 00000007
    const pkt = outer(concat(hex('b000 6558 1234 0000 0000002a 00000007'), new Uint8Array(14)));
    decodePacket(view, pkt, 101);
    expect([view.malformed, view.greProto, view.greFlags & (GRE_CHECKSUM | GRE_KEY | GRE_SEQ), view.greChecksum, view.greKey, view.greSeq]).toEqual([null, 0x6558, GRE_CHECKSUM | GRE_KEY | GRE_SEQ, 0x1234, 42, 7]);
    expect([view.payloadOff, view.payloadLen]).toEqual([36, 14]);
    expectEveryCutFlagged(pkt, 101);
  });

  it('decodes enhanced GRE (version 1, PPTP): key = payload length + call id, seq and ack', () => {
    // 3081 880b: K S, A + version 1, PPP; payload length 0006, call id 4001, seq 00000010, ack 0000000f
    const pkt = outer(concat(hex('3081 880b 0006 4001 00000010 0000000f'), hex('ff03 0021 4500')));
    decodePacket(view, pkt, 101);
    expect([view.malformed, view.greVersion, view.greProto, view.greKey! & 0xffff, view.greKey! >>> 16, view.greSeq, view.greAck]).toEqual([null, 1, 0x880b, 0x4001, 6, 16, 15]);
    expect((view.greFlags & GRE_ACK) !== 0).toBe(true);
    expect(view.payloadLen).toBe(6);
    expectEveryCutFlagged(pkt, 101);
  });

  it('ignores the acknowledgment bit in version 0', () => {
    decodePacket(view, outer(concat(hex('0080 0800'), inner)), 101);
    expect([view.malformed, view.greFlags, view.payloadOff]).toEqual([null, 0, 24]);
  });

  it('skips RFC 1701 source route entries', () => {
    // 4000 0800: R; checksum+offset 0000 0000; SRE af 0800 off 00 len 04 + 4 bytes; terminator 0000 00 00
    const pkt = outer(concat(hex('4000 0800 0000 0000 0800 00 04 c0000201 0000 00 00'), inner));
    decodePacket(view, pkt, 101);
    expect([view.malformed, view.payloadOff, view.payloadLen]).toEqual([null, 20 + 20, inner.length]);
    expectEveryCutFlagged(pkt, 101);
  });

  it('rejects versions above 1', () => {
    decodePacket(view, outer(concat(hex('0002 0800'), inner)), 101);
    expect([view.malformed, view.greVersion, view.payloadLen]).toEqual(['gre-bad-version', 2, 0]);
  });
});

describe('ESP', () => {
  it('reads SPI and sequence number; the rest is payload', () => {
    // SPI 00001001, seq 00000003, 24 bytes of ciphertext
    const pkt = ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 50 }, concat(hex('00001001 00000003'), new Uint8Array(24)));
    decodePacket(view, pkt, 101);
    expect([view.malformed, view.proto, view.espSpi, view.espSeq, view.payloadOff, view.payloadLen]).toEqual([null, 50, 0x1001, 3, 28, 24]);
    expectEveryCutFlagged(pkt, 101);
  });
});
