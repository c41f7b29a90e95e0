import { describe, expect, it } from 'vitest';
import { expectEveryCutFlagged } from '../../test/helpers/decode.js';
import { ethernet, ipv4, ipv6, mplsEthernet, tcp, udp, udpPacket, vlanEthernet } from '../synth/packets.js';
import { decodePacket } from './index.js';
import { MAX_MPLS, MAX_VLANS, PacketView, formatIp } from './view.js';

const view = new PacketView();

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

const udpV4 = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udp(5060, 5061, Uint8Array.of(1, 2, 3, 4)));
const udpV6 = ipv6({ src: '2001:db8::1', dst: '2001:db8::2', proto: 17 }, udp(3478, 50000, Uint8Array.of(9)));

function expectUdpV4(v: PacketView): void {
  expect(v.malformed).toBeNull();
  expect(v.etherType).toBe(0x0800);
  expect(formatIp(v.buf, v.srcOff, 4)).toBe('10.0.0.1');
  expect(formatIp(v.buf, v.dstOff, 4)).toBe('10.0.0.2');
  expect([v.proto, v.srcPort, v.dstPort, v.payloadLen]).toEqual([17, 5060, 5061, 4]);
}

/** `tags` = [TPID, VID] pairs, outermost first, in front of `inner` EtherType. */
function tagged(tags: Array<[number, number]>, innerType: number, payload: Uint8Array): Uint8Array {
  const hdr: number[] = [];
  for (let i = 0; i < tags.length; i++) {
    const nextType = i + 1 < tags.length ? tags[i + 1][0] : innerType;
    hdr.push(tags[i][1] >> 8, tags[i][1] & 0xff, nextType >> 8, nextType & 0xff);
  }
  return ethernet(concat(Uint8Array.from(hdr), payload), tags[0][0]);
}

describe('Ethernet and VLANs', () => {
  it('decodes Ethernet II / IPv4 / UDP', () => {
    decodePacket(view, udpPacket('10.0.0.1', 5060, '10.0.0.2', 5061, Uint8Array.of(1, 2, 3, 4)), 1);
    expectUdpV4(view);
    expect(view.vlanCount).toBe(0);
  });

  it('records an 802.1Q tag (priority bits masked off)', () => {
    const pkt = vlanEthernet(udpV4, 0x123);
    pkt[14] |= 0xe0; // PCP 7
    decodePacket(view, pkt, 1);
    expectUdpV4(view);
    expect(Array.from(view.vlanIds.subarray(0, view.vlanCount))).toEqual([0x123]);
  });

  it('records QinQ stacks with 0x88a8 and 0x9100 outer tags, outermost first', () => {
    decodePacket(view, tagged([[0x88a8, 100], [0x8100, 30]], 0x0800, udpV4), 1);
    expectUdpV4(view);
    expect(Array.from(view.vlanIds.subarray(0, view.vlanCount))).toEqual([100, 30]);
    decodePacket(view, tagged([[0x9100, 7], [0x8100, 8], [0x8100, 9]], 0x86dd, udpV6), 1);
    expect(view.malformed).toBeNull();
    expect(view.ipVersion).toBe(6);
    expect(Array.from(view.vlanIds.subarray(0, view.vlanCount))).toEqual([7, 8, 9]);
  });

  it('stops at MAX_VLANS tags', () => {
    const tags = Array.from({ length: MAX_VLANS + 1 }, (_, i): [number, number] => [0x8100, i + 1]);
    decodePacket(view, tagged(tags, 0x0800, udpV4), 1);
    expect(view.malformed).toBe('vlan-too-deep');
    expect(view.vlanCount).toBe(MAX_VLANS);
    expect(view.ipVersion).toBe(0);
  });

  it('flags ARP and decodes nothing further', () => {
    decodePacket(view, ethernet(new Uint8Array(28), 0x0806), 1);
    expect([view.arp, view.etherType, view.ipVersion, view.malformed]).toEqual([true, 0x0806, 0, null]);
  });

  it('follows 802.3 LLC/SNAP to IPv4 and ignores other LLC frames', () => {
    const snap = concat(hex('aaaa03 000000 0800'), udpV4);
    const frame = ethernet(snap, snap.length);
    decodePacket(view, frame, 1);
    expectUdpV4(view);
    // STP BPDU: DSAP/SSAP 0x42.
    decodePacket(view, ethernet(hex('424203 0000 00 00'), 7), 1);
    expect([view.etherType, view.ipVersion, view.malformed]).toEqual([0, 0, null]);
  });
});

describe('MPLS', () => {
  it('records the label stack and sniffs IPv4 after bottom-of-stack', () => {
    decodePacket(view, mplsEthernet(udpV4, [16000, 1, 0xfffff]), 1);
    expectUdpV4(view);
    expect(Array.from(view.mplsLabels.subarray(0, view.mplsCount))).toEqual([16000, 1, 0xfffff]);
  });

  it('sniffs IPv6 after bottom-of-stack (multicast EtherType too)', () => {
    const pkt = mplsEthernet(udpV6, [18]);
    pkt[12] = 0x88;
    pkt[13] = 0x48;
    decodePacket(view, pkt, 1);
    expect([view.malformed, view.etherType, view.ipVersion, view.srcPort]).toEqual([null, 0x86dd, 6, 3478]);
  });

  it('decodes an Ethernet pseudowire behind a 0x0000 control word', () => {
    // 00000000 control word, then dst/src MAC, 8100 VLAN 5, 0800 IPv4
    const pw = concat(new Uint8Array(4), vlanEthernet(udpV4, 5));
    decodePacket(view, mplsEthernet(pw, [18, 16]), 1);
    expectUdpV4(view);
    expect(Array.from(view.mplsLabels.subarray(0, view.mplsCount))).toEqual([18, 16]);
    expect(Array.from(view.vlanIds.subarray(0, view.vlanCount))).toEqual([5]);
  });

  it('stops at an unknown first nibble and at MAX_MPLS labels', () => {
    const odd = new Uint8Array(20).fill(0x90);
    decodePacket(view, mplsEthernet(odd, [3]), 1);
    expect([view.malformed, view.etherType, view.mplsCount]).toEqual([null, 0, 1]);
    decodePacket(view, mplsEthernet(udpV4, Array.from({ length: MAX_MPLS + 1 }, (_, i) => i + 20)), 1);
    expect(view.malformed).toBe('mpls-too-deep');
  });
});

describe('PPPoE and PPP', () => {
  // 11 00 0001 len | 0021 (PPP IPv4) | IPv4...
  const pppoe = (pppProto: number, payload: Uint8Array) =>
    ethernet(concat(hex('1100 0001'), Uint8Array.of((payload.length + 2) >> 8, (payload.length + 2) & 0xff, pppProto >> 8, pppProto & 0xff), payload), 0x8864);

  it('decodes IPv4 and IPv6 in a PPPoE session', () => {
    decodePacket(view, pppoe(0x0021, udpV4), 1);
    expectUdpV4(view);
    expect(view.pppoe).toBe(true);
    decodePacket(view, pppoe(0x0057, udpV6), 1);
    expect([view.malformed, view.ipVersion, view.dstPort]).toEqual([null, 6, 50000]);
  });

  it('leaves PPP control protocols (LCP c021) undecoded without a reason', () => {
    decodePacket(view, pppoe(0xc021, hex('0101 0004')), 1);
    expect([view.pppoe, view.etherType, view.ipVersion, view.malformed]).toEqual([true, 0, 0, null]);
  });

  it('decodes LINKTYPE_PPP with HDLC address/control and a compressed protocol field', () => {
    // ff 03 0021 | IPv4
    decodePacket(view, concat(hex('ff03 0021'), udpV4), 9);
    expectUdpV4(view);
    // 21 | IPv4  (protocol-field compression: odd first byte)
    decodePacket(view, concat(hex('21'), udpV4), 9);
    expectUdpV4(view);
  });
});

describe('Linux cooked, NULL/LOOP and raw IP', () => {
  it('decodes SLL (113): 16-byte header, protocol last', () => {
    // 0000 0001 0006 0200000000010000 0800
    decodePacket(view, concat(hex('0000 0001 0006 020000000001 0000 0800'), udpV4), 113);
    expectUdpV4(view);
  });

  it('decodes SLL2 (276): 20-byte header, protocol first', () => {
    // 86dd 0000 00000002 0001 00 06 020000000001 0000
    decodePacket(view, concat(hex('86dd 0000 00000002 0001 00 06 020000000001 0000'), udpV6), 276);
    expect([view.malformed, view.ipVersion, view.srcPort]).toEqual([null, 6, 3478]);
  });

  it('reads the NULL family in either byte order and LOOP in network order', () => {
    decodePacket(view, concat(hex('02000000'), udpV4), 0); // little-endian AF_INET
    expectUdpV4(view);
    decodePacket(view, concat(hex('00000002'), udpV4), 0); // big-endian writer
    expectUdpV4(view);
    for (const af of ['1e000000', '1c000000', '18000000']) {
      decodePacket(view, concat(hex(af), udpV6), 0);
      expect([view.malformed, view.ipVersion]).toEqual([null, 6]);
    }
    decodePacket(view, concat(hex('00000018'), udpV6), 108);
    expect([view.malformed, view.ipVersion]).toEqual([null, 6]);
    decodePacket(view, concat(hex('00000007'), udpV6), 108);
    expect([view.malformed, view.ipVersion]).toEqual([null, 0]);
  });

  it('takes a NULL value above 1500 as an EtherType', () => {
    // 0f 00 08 00: swapped to 0x0f000800, low 16 bits 0x0800 (Wireshark's reading)
    decodePacket(view, concat(hex('0f000800'), udpV4), 0);
    expectUdpV4(view);
  });

  it('picks IPv4/IPv6 by version nibble for raw IP, and fixes it for 228/229', () => {
    for (const lt of [101, 12, 14]) {
      decodePacket(view, udpV4, lt);
      expectUdpV4(view);
      decodePacket(view, udpV6, lt);
      expect(view.ipVersion).toBe(6);
    }
    decodePacket(view, udpV4, 228);
    expectUdpV4(view);
    decodePacket(view, udpV6, 229);
    expect([view.ipVersion, view.malformed]).toEqual([6, null]);
    decodePacket(view, udpV6, 228);
    expect(view.malformed).toBe('ip-bad-version');
    decodePacket(view, Uint8Array.of(0x50, 0, 0, 0), 101);
    expect(view.malformed).toBe('ip-bad-version');
  });

  it('flags unsupported link types', () => {
    decodePacket(view, udpV4, 160);
    expect(view.malformed).toBe('link-unsupported');
  });
});

describe('bounds: every header cut at every byte is flagged', () => {
  const payload = tcp({ sport: 1, dport: 2, flags: 'S', mss: 1460 });
  const v4 = ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 6 }, payload);
  const cases: Array<[string, Uint8Array, number]> = [
    ['ethernet', ethernet(v4), 1],
    ['qinq', tagged([[0x88a8, 1], [0x8100, 2]], 0x0800, v4), 1],
    ['mpls', mplsEthernet(v4, [1, 2]), 1],
    ['mpls pseudowire', mplsEthernet(concat(new Uint8Array(4), ethernet(v4)), [1]), 1],
    ['pppoe', ethernet(concat(hex('1100 0001'), Uint8Array.of(0, v4.length + 2, 0, 0x21), v4), 0x8864), 1],
    ['llc/snap', ethernet(concat(hex('aaaa03 000000 0800'), v4), v4.length + 8), 1],
    ['sll', concat(hex('0000 0001 0006 020000000001 0000 0800'), v4), 113],
    ['sll2', concat(hex('0800 0000 00000002 0001 00 06 020000000001 0000'), v4), 276],
    ['null', concat(hex('02000000'), v4), 0],
    ['loop', concat(hex('00000002'), v4), 108],
    ['ppp', concat(hex('ff03 0021'), v4), 9],
    ['raw', v4, 101],
  ];
  for (const [name, pkt, lt] of cases) {
    it(name, () => {
      decodePacket(view, pkt, lt);
      expect(view.malformed).toBeNull();
      expect(view.tcpMss).toBe(1460);
      expectEveryCutFlagged(pkt, lt);
    });
  }
});
