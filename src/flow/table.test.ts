import { beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as columns from './columns.js';
import { DNS_SESSION_PORTS, FlowTable, MAX_ICMP_ERRORS_PER_FLOW, MAX_ORPHAN_ICMP_ERRORS, type FlowTableOptions } from './table.js';
import { MAX_EVIDENCE_FRAMES, type Flow } from './flow.js';
import { flowBytes, flowPackets } from './record.js';
import { PacketView } from '../decode/view.js';
import { decodePacket, LINKTYPE_ETHERNET } from '../decode/index.js';
import { ethernet, ipv4, ipv6, tcpPacket, udp, udpPacket, type TcpOpts } from '../synth/packets.js';

const view = new PacketView();
let frame = 0;
let ended: Flow[] = [];
let created: Flow[] = [];

function table(opts: Partial<FlowTableOptions> = {}): FlowTable {
  return new FlowTable({ onEnd: (f) => ended.push(f), onNew: (f) => created.push(f), hashSeed: 1, ...opts });
}

function feed(t: FlowTable, pkt: Uint8Array, ts: number): Flow | null {
  decodePacket(view, pkt, LINKTYPE_ETHERNET);
  view.ts = ts;
  return t.update(view, ++frame, pkt.length);
}

const tcpP = (src: string, dst: string, o: TcpOpts, payloadLen = 0) =>
  tcpPacket(src, dst, o, new Uint8Array(payloadLen));
const udpP = (src: string, sport: number, dst: string, dport: number, len = 20) =>
  udpPacket(src, sport, dst, dport, new Uint8Array(len));

/** ICMP(v6) error from `reporter` to `to` quoting the first bytes of `quoted` (an IP packet). */
function icmpError(reporter: string, to: string, type: number, code: number, quoted: Uint8Array): Uint8Array {
  const v6 = reporter.includes(':');
  const quoteLen = v6 ? Math.min(quoted.length, 1232) : Math.min(quoted.length, 28);
  const body = new Uint8Array(8 + quoteLen);
  body[0] = type;
  body[1] = code;
  body.set(quoted.subarray(0, quoteLen), 8);
  const ip = v6 ? ipv6({ src: reporter, dst: to, proto: 58 }, body) : ipv4({ src: reporter, dst: to, proto: 1 }, body);
  return ethernet(ip, v6 ? 0x86dd : 0x0800);
}

/** ICMP echo request (8) / reply (0). */
function echo(src: string, dst: string, type: number): Uint8Array {
  const body = new Uint8Array(16);
  body[0] = type;
  body[5] = 7; // id
  return ethernet(ipv4({ src, dst, proto: 1 }, body));
}

beforeEach(() => {
  ended = [];
  created = [];
  frame = 0;
});

describe('orientation', () => {
  it('the SYN sender is the client', () => {
    const t = table();
    const f = feed(t, tcpP('10.0.0.1', '192.0.2.10', { sport: 50000, dport: 443, flags: 'S' }), 1)!;
    expect(t.dir).toBe(0);
    expect([f.clientIp, f.clientPort, f.serverIp, f.serverPort]).toEqual(['10.0.0.1', 50000, '192.0.2.10', 443]);
    expect(f.midstream).toBe(false);
    expect(f.uid).toBe('F1');
    expect(created).toEqual([f]);
  });

  it('a SYN-ACK first makes its sender the server', () => {
    const t = table();
    const f = feed(t, tcpP('192.0.2.10', '10.0.0.1', { sport: 8000, dport: 50000, flags: 'SA' }), 1)!;
    expect(t.dir).toBe(1);
    expect([f.clientIp, f.clientPort, f.serverIp, f.serverPort]).toEqual(['10.0.0.1', 50000, '192.0.2.10', 8000]);
    expect(f.packets).toEqual([0, 1]);
    expect(f.history).toBe('^h');
    const g = feed(t, tcpP('10.0.0.1', '192.0.2.10', { sport: 50000, dport: 8000, flags: 'A' }), 2)!;
    expect(g).toBe(f);
    expect(t.dir).toBe(0);
    expect(f.packets).toEqual([1, 1]);
  });

  it('mid-stream: a first sender on a well-known port is the server', () => {
    const t = table();
    const f = feed(t, tcpP('192.0.2.10', '10.0.0.1', { sport: 443, dport: 50000, flags: 'PA' }, 100), 1)!;
    expect([f.clientPort, f.serverPort, f.serverIp]).toEqual([50000, 443, '192.0.2.10']);
    expect(f.midstream).toBe(true);
    expect(t.dir).toBe(1);
    expect(f.history).toBe('^d');
  });

  it('mid-stream between two unknown ports, or two well-known ports, keeps the first sender as client', () => {
    const t = table();
    const a = feed(t, tcpP('192.0.2.10', '10.0.0.1', { sport: 40000, dport: 50000, flags: 'A' }), 1)!;
    expect(a.clientIp).toBe('192.0.2.10');
    const b = feed(t, udpP('192.0.2.53', 53, '10.0.0.53', 53), 1)!;
    expect(b.clientIp).toBe('192.0.2.53');
  });

  it('UDP from a server port (STUN 3478) is oriented toward the ephemeral side', () => {
    const t = table();
    const f = feed(t, udpP('198.51.100.7', 3478, '10.0.0.1', 61000), 1)!;
    expect([f.clientIp, f.clientPort, f.serverPort]).toEqual(['10.0.0.1', 61000, 3478]);
    expect(f.state).toBe('SHR');
    feed(t, udpP('10.0.0.1', 61000, '198.51.100.7', 3478), 2);
    expect(f.state).toBe('SF');
  });

  it('ICMP echo flows are keyed by addresses; a reply first is oriented to the requester', () => {
    const t = table();
    const f = feed(t, echo('192.0.2.1', '10.0.0.1', 0), 1)!;
    expect([f.clientIp, f.serverIp, f.proto]).toEqual(['10.0.0.1', '192.0.2.1', 1]);
    expect(feed(t, echo('10.0.0.1', '192.0.2.1', 8), 2)).toBe(f);
    expect(f.packets).toEqual([1, 1]);
    expect(f.state).toBe('OTH');
  });
});

describe('per-direction accounting', () => {
  it('counts packets, wire bytes, payload bytes, first times and frames per direction', () => {
    const t = table();
    const syn = tcpP('10.0.0.1', '192.0.2.10', { sport: 50000, dport: 443, flags: 'S', seq: 0 });
    const synAck = tcpP('192.0.2.10', '10.0.0.1', { sport: 443, dport: 50000, flags: 'SA', seq: 0, ack: 1 });
    const data = tcpP('10.0.0.1', '192.0.2.10', { sport: 50000, dport: 443, flags: 'PA', seq: 1, ack: 1 }, 300);
    const f = feed(t, syn, 10)!;
    feed(t, synAck, 10.02);
    feed(t, data, 10.05);
    expect(f.packets).toEqual([2, 1]);
    expect(f.bytes).toEqual([syn.length + data.length, synAck.length]);
    expect([flowPackets(f, 0), flowPackets(f, 1), flowBytes(f, 0), flowBytes(f, 1)]).toEqual([...f.packets, ...f.bytes]);
    const plain = { ...f, packets: [7, 8], bytes: [9, 10] } as unknown as Flow; // not a FlowRecord: read through the tuples
    expect([flowPackets(plain, 1), flowBytes(plain, 0)]).toEqual([8, 9]);
    expect(f.payloadBytes).toEqual([300, 0]);
    expect(f.dirFirstTs).toEqual([10, 10.02]);
    expect([f.firstTs, f.lastTs, f.firstFrame, f.lastFrame]).toEqual([10, 10.05, 1, 3]);
    expect(f.frames).toEqual([1, 2, 3]);
    expect(f.history).toBe('ShD');
    expect(f.state).toBe('S1');
    expect(f.synToSynAck).toBeCloseTo(0.02, 9);
    expect(f.synAckToAck).toBeCloseTo(0.03, 9);
  });

  it('keeps the first frames and then only SYN/FIN/RST frames, bounded', () => {
    const t = table();
    const c = (flags: string, seq: number) => tcpP('10.0.0.1', '192.0.2.10', { sport: 50000, dport: 443, flags, seq }, flags === 'PA' ? 10 : 0);
    const f = feed(t, c('S', 0), 1)!;
    for (let i = 0; i < 40; i++) feed(t, c('PA', 1 + i * 10), 2);
    feed(t, c('FA', 401), 3);
    const first = Array.from({ length: MAX_EVIDENCE_FRAMES / 2 }, (_, i) => i + 1);
    expect(f.frames).toEqual([...first, 42]);
    for (let i = 0; i < 40; i++) feed(t, c('R', 402), 4);
    expect(f.frames.length).toBe(MAX_EVIDENCE_FRAMES);
  });

  it('IPv6 flows use compressed address text', () => {
    const t = table();
    const f = feed(t, tcpP('2001:db8::1', '2001:db8:0:0:1::2', { sport: 50000, dport: 443, flags: 'S' }), 1)!;
    expect([f.ipVersion, f.clientIp, f.serverIp]).toEqual([6, '2001:db8::1', '2001:db8::1:0:0:2']);
    feed(t, tcpP('2001:db8:0:0:1::2', '2001:db8::1', { sport: 443, dport: 50000, flags: 'SA' }), 1.1);
    expect(f.packets).toEqual([1, 1]);
    expect(f.state).toBe('S1');
    expect(t.size).toBe(1);
  });

  it('returns null for packets without IP and for undecodable transport headers', () => {
    const t = table();
    const arp = ethernet(new Uint8Array(28), 0x0806);
    expect(feed(t, arp, 1)).toBeNull();
    const cut = ethernet(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, new Uint8Array(2)));
    expect(feed(t, cut, 1)).toBeNull();
    expect(t.unattached).toBe(1);
    const shortIp = ethernet(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udp(1, 2, new Uint8Array(4))).subarray(0, 12));
    expect(feed(t, shortIp, 1)).toBeNull();
    expect(t.created).toBe(0);
  });
});

describe('TCP port reuse', () => {
  it('a new SYN after a finished connection starts a new flow; a retransmitted SYN does not', () => {
    const t = table();
    const c = (flags: string, seq: number) => tcpP('10.0.0.1', '192.0.2.10', { sport: 50000, dport: 80, flags, seq });
    const s = (flags: string, seq: number) => tcpP('192.0.2.10', '10.0.0.1', { sport: 80, dport: 50000, flags, seq });
    const first = feed(t, c('S', 100), 1)!;
    feed(t, s('RA', 0), 1.1);
    expect(first.state).toBe('REJ');
    expect(feed(t, c('S', 100), 2)).toBe(first); // retransmission: same ISN
    const second = feed(t, c('S', 5000), 3)!;
    expect(second).not.toBe(first);
    expect(ended).toEqual([first]);
    expect(t.portReuses).toBe(1);
    expect(second.uid).toBe('F2');
  });
});

describe('ICMP errors', () => {
  it('attaches an IPv4 port unreachable to the UDP flow it quotes', () => {
    const t = table();
    const out = ipv4({ src: '10.0.0.1', dst: '198.51.100.7', proto: 17 }, udp(61000, 3478, new Uint8Array(20)));
    const f = feed(t, ethernet(out), 1)!;
    expect(feed(t, icmpError('198.51.100.7', '10.0.0.1', 3, 3, out), 1.5)).toBeNull();
    expect(f.packets).toEqual([1, 0]);
    expect(f.icmpErrors).toEqual([{ ts: 1.5, frame: 2, version: 4, type: 3, code: 3, reporter: '198.51.100.7' }]);
    expect(t.orphanIcmpErrors).toBe(0);
  });

  it('attaches an error about a packet the server sent (reversed direction)', () => {
    const t = table();
    const f = feed(t, tcpP('10.0.0.1', '192.0.2.10', { sport: 50000, dport: 443, flags: 'S' }), 1)!;
    const back = ipv4({ src: '192.0.2.10', dst: '10.0.0.1', proto: 6 }, new Uint8Array(20));
    back[20] = 443 >> 8;
    back[21] = 443 & 0xff;
    back[22] = 50000 >> 8;
    back[23] = 50000 & 0xff;
    expect(feed(t, icmpError('192.0.2.254', '192.0.2.10', 11, 0, back), 2)).toBeNull();
    expect(f.icmpErrors.map((e) => [e.type, e.code, e.reporter])).toEqual([[11, 0, '192.0.2.254']]);
  });

  it('attaches an ICMPv6 destination unreachable to the IPv6 flow, bounded per flow', () => {
    const t = table();
    const out = ipv6({ src: '2001:db8::1', dst: '2001:db8::99', proto: 17 }, udp(5000, 9000, new Uint8Array(30)));
    const f = feed(t, ethernet(out, 0x86dd), 1)!;
    for (let i = 0; i < MAX_ICMP_ERRORS_PER_FLOW + 5; i++) {
      expect(feed(t, icmpError('2001:db8::fe', '2001:db8::1', 1, 4, out), 2 + i)).toBeNull();
    }
    expect(f.icmpErrors.length).toBe(MAX_ICMP_ERRORS_PER_FLOW);
    expect(f.icmpErrors[0]).toMatchObject({ version: 6, type: 1, code: 4, reporter: '2001:db8::fe' });
  });

  it('counts and lists errors that name no flow, without creating one', () => {
    const t = table();
    const out = ipv4({ src: '10.0.0.1', dst: '198.51.100.7', proto: 17 }, udp(61000, 3478, new Uint8Array(20)));
    for (let i = 0; i < MAX_ORPHAN_ICMP_ERRORS + 3; i++) feed(t, icmpError('203.0.113.1', '10.0.0.1', 3, 13, out), 5);
    expect(t.created).toBe(0);
    expect(t.orphanIcmpErrors).toBe(MAX_ORPHAN_ICMP_ERRORS + 3);
    expect(t.orphanErrors().length).toBe(MAX_ORPHAN_ICMP_ERRORS);
    expect(t.orphanErrors()[0]).toEqual({
      ts: 5,
      frame: 1,
      version: 4,
      type: 3,
      code: 13,
      reporter: '203.0.113.1',
      proto: 17,
      src: '10.0.0.1',
      srcPort: 61000,
      dst: '198.51.100.7',
      dstPort: 3478,
    });
  });
});

describe('eviction', () => {
  it('expires idle flows per protocol class against the newest capture time', () => {
    const t = table({ tcpIdleS: 300, udpIdleS: 60, otherIdleS: 30 });
    const tcpF = feed(t, tcpP('10.0.0.1', '192.0.2.10', { sport: 50000, dport: 443, flags: 'S' }), 0)!;
    const udpF = feed(t, udpP('10.0.0.1', 5000, '192.0.2.53', 3478), 0)!;
    const icmpF = feed(t, echo('10.0.0.1', '192.0.2.1', 8), 0)!;
    const udp2 = feed(t, udpP('10.0.0.2', 5000, '192.0.2.53', 3478), 31)!;
    expect(ended).toEqual([icmpF]);
    feed(t, udpP('10.0.0.2', 5000, '192.0.2.53', 3478), 61);
    expect(ended).toEqual([icmpF, udpF]);
    // A timestamp going slightly backwards neither expires nor revives anything.
    feed(t, udpP('10.0.0.2', 5000, '192.0.2.53', 3478), 60.5);
    expect(ended.length).toBe(2);
    feed(t, udpP('10.0.0.2', 5000, '192.0.2.53', 3478), 301);
    expect(ended).toEqual([icmpF, udpF, tcpF, udp2]);
    expect(t.evictions).toEqual({ idle: 4, cap: 0 });
    expect(ended.every((f) => !f.evicted)).toBe(true);
    expect(t.size).toBe(1);
  });

  it('a packet after the idle timeout starts a new flow even before the sweep runs', () => {
    const t = table({ udpIdleS: 10 });
    const a = feed(t, udpP('10.0.0.1', 5000, '192.0.2.53', 53), 100)!;
    // Sweep at 100.0; the next packet (10.5 s later) arrives before the 1 s sweep clock matters.
    const b = feed(t, udpP('10.0.0.1', 5000, '192.0.2.53', 53), 110.5)!;
    expect(b).not.toBe(a);
    expect(ended).toEqual([a]);
    expect(t.evictions.idle).toBe(1);
  });

  it('ends UDP flows to a DNS port after 10 s idle, as Zeek ends DNS sessions, and other UDP after 60 s', () => {
    const t = table();
    const dns = DNS_SESSION_PORTS.map((p, i) => feed(t, udpP('10.0.0.1', 40000 + i, '192.0.2.53', p), 0)!);
    // Answered from port 53: the server port decides, whichever side spoke first.
    const answered = feed(t, udpP('192.0.2.53', 53, '10.0.0.2', 40100), 0)!;
    const other = feed(t, udpP('10.0.0.1', 40200, '192.0.2.53', 3478), 0)!;
    const tcp53 = feed(t, tcpP('10.0.0.1', '192.0.2.53', { sport: 40300, dport: 53, flags: 'S' }), 0)!;
    feed(t, udpP('10.0.0.1', 40000, '192.0.2.53', 53), 9.5); // DNS flow 1 stays alive
    feed(t, udpP('10.0.0.9', 1, '10.0.0.8', 2), 10.6);
    expect(ended).toEqual([...dns.slice(1), answered]);
    feed(t, udpP('10.0.0.9', 1, '10.0.0.8', 2), 19.6);
    expect(ended.slice(-1)).toEqual([dns[0]]);
    feed(t, udpP('10.0.0.9', 1, '10.0.0.8', 2), 60.5);
    expect(ended.slice(-1)).toEqual([other]);
    expect(tcp53.state).toBe('S0'); // DNS over TCP is a TCP connection: 300 s
    expect(t.size).toBe(2);
  });

  it('ends a TCP connection 5 s after both sides closed or one reset it, and a half-closed one only at the TCP timeout', () => {
    const t = table({ tcpIdleS: 300 });
    const open = (port: number, ts: number) => {
      const f = feed(t, tcpP('10.0.0.1', '192.0.2.10', { sport: port, dport: 443, flags: 'S', seq: 100 }), ts)!;
      feed(t, tcpP('192.0.2.10', '10.0.0.1', { sport: 443, dport: port, flags: 'SA', seq: 900, ack: 101 }), ts);
      feed(t, tcpP('10.0.0.1', '192.0.2.10', { sport: port, dport: 443, flags: 'A', seq: 101, ack: 901 }), ts);
      return f;
    };
    const fin = open(50001, 0);
    feed(t, tcpP('10.0.0.1', '192.0.2.10', { sport: 50001, dport: 443, flags: 'FA', seq: 101, ack: 901 }), 1);
    feed(t, tcpP('192.0.2.10', '10.0.0.1', { sport: 443, dport: 50001, flags: 'FA', seq: 901, ack: 102 }), 1);
    const rst = open(50002, 0);
    feed(t, tcpP('192.0.2.10', '10.0.0.1', { sport: 443, dport: 50002, flags: 'R', seq: 901 }), 2);
    const half = open(50003, 0);
    feed(t, tcpP('10.0.0.1', '192.0.2.10', { sport: 50003, dport: 443, flags: 'FA', seq: 101, ack: 901 }), 1);
    // The last ACK after both FINs still joins the connection (within 5 s).
    feed(t, tcpP('10.0.0.1', '192.0.2.10', { sport: 50001, dport: 443, flags: 'A', seq: 102, ack: 902 }), 3);
    feed(t, udpP('10.0.0.9', 1, '10.0.0.8', 2), 7.5);
    expect(ended).toEqual([rst]);
    expect([fin.packets, fin.state]).toEqual([[4, 2], 'SF']);
    feed(t, udpP('10.0.0.9', 1, '10.0.0.8', 2), 8.5);
    expect(ended).toEqual([rst, fin]);
    expect(rst.state).toBe('RSTR');
    const tcpEnded = () => ended.filter((f) => f.proto === 6);
    feed(t, udpP('10.0.0.9', 1, '10.0.0.8', 2), 299.5);
    expect(tcpEnded()).toEqual([rst, fin]);
    feed(t, udpP('10.0.0.9', 1, '10.0.0.8', 2), 302.5); // its last packet came at clock 2
    expect(tcpEnded()).toEqual([rst, fin, half]);
    expect(half.state).toBe('S2');
  });

  it('evicts the least recently active flow at the cap and marks it', () => {
    const t = table({ maxFlows: 3 });
    const f = [1, 2, 3].map((i) => feed(t, udpP('10.0.0.1', 5000 + i, '192.0.2.53', 53), i)!);
    feed(t, udpP('10.0.0.1', 5001, '192.0.2.53', 53), 4); // flow 1 is now the most recent
    const f4 = feed(t, udpP('10.0.0.1', 5004, '192.0.2.53', 53), 5)!;
    expect(ended).toEqual([f[1]]);
    expect(f[1].evicted).toBe(true);
    feed(t, udpP('10.0.0.1', 5005, '192.0.2.53', 53), 6);
    expect(ended).toEqual([f[1], f[2]]);
    expect(t.size).toBe(3);
    expect(t.evictions).toEqual({ idle: 0, cap: 2 });
    t.flush();
    expect(ended).toEqual([f[1], f[2], f[0], f4, ended[4]]);
    expect(ended[4].clientPort).toBe(5005);
    expect(t.size).toBe(0);
    expect(ended.filter((x) => x.evicted).length).toBe(2);
  });

  it('gives a UDP flow that reuses an ended TCP flow\'s row no TCP state', () => {
    const t = table({ tcpIdleS: 1 });
    feed(t, tcpP('10.0.0.1', '192.0.2.10', { sport: 50000, dport: 443, flags: 'S' }), 1);
    feed(t, tcpP('192.0.2.10', '10.0.0.1', { sport: 443, dport: 50000, flags: 'R' }), 1.1);
    const udpFlow = feed(t, udpP('10.0.0.1', 5000, '192.0.2.53', 53), 6.2)!; // the reset TCP flow ended 5 s after: its row is reused
    expect(ended.map((f) => [f.synCount, f.rst])).toEqual([[1, [false, true]]]);
    expect([udpFlow.synCount, udpFlow.synAckCount, udpFlow.rst, udpFlow.fin, udpFlow.state]).toEqual([0, 0, [false, false], [false, false], 'S0']);
  });

  it('reserves rows for maxFlows at once, and small columns after a flush', () => {
    const capacity = (t: FlowTable) => (t as unknown as { cols: { capacity: number } }).cols.capacity;
    const t = table({ maxFlows: 5000 });
    expect(capacity(t)).toBe(5000);
    expect(capacity(table())).toBe(250_000);
    t.flush();
    expect(capacity(t)).toBe(1024);
  });

  it('grows its columns past the rows reserved at first, every flow still found', () => {
    const t = table({ reservedRows: 4, maxFlows: 100, hashMask: 0x7 });
    const flows = Array.from({ length: 50 }, (_, i) => feed(t, udpP('10.0.0.1', 6000 + i, '192.0.2.53', 53), 1)!);
    for (let i = 0; i < 50; i++) expect(feed(t, udpP('192.0.2.53', 53, '10.0.0.1', 6000 + i), 2)).toBe(flows[i]);
    expect(t.size).toBe(50);
    expect(flows.map((f) => f.packets)).toEqual(flows.map(() => [1, 1]));
    expect(flows[49].clientPort).toBe(6049);
  });

  it('reuses the rows of ended flows, and still after growing past them', () => {
    const t = table({ reservedRows: 4, maxFlows: 100, hashMask: 0x7 });
    const early = Array.from({ length: 4 }, (_, i) => feed(t, udpP('10.0.0.1', 6000 + i, '192.0.2.53', 53), 1)!);
    // Past the DNS idle timeout: the four end and their rows go back on the free stack.
    const later = Array.from({ length: 40 }, (_, i) => feed(t, udpP('10.0.0.2', 7000 + i, '192.0.2.53', 53), 100)!);
    expect(ended).toEqual(early);
    expect(t.size).toBe(40);
    for (let i = 0; i < 40; i++) expect(feed(t, udpP('192.0.2.53', 53, '10.0.0.2', 7000 + i), 101)).toBe(later[i]);
    expect(later.map((f) => f.packets)).toEqual(later.map(() => [1, 1]));
    expect(early.map((f) => f.packets)).toEqual(early.map(() => [1, 0]));
  });

  it('flush ends every flow exactly once and the table can be reused', () => {
    const t = table();
    feed(t, tcpP('10.0.0.1', '192.0.2.10', { sport: 50000, dport: 443, flags: 'S' }), 1);
    feed(t, udpP('10.0.0.1', 5000, '192.0.2.53', 53), 2);
    feed(t, echo('10.0.0.1', '192.0.2.1', 8), 3);
    t.flush();
    t.flush();
    expect(ended.map((f) => f.uid)).toEqual(['F1', 'F2', 'F3']);
    const again = feed(t, udpP('10.0.0.1', 5000, '192.0.2.53', 53), 4)!;
    expect(again.uid).toBe('F4');
    expect(t.created).toBe(4);
    // The flushed flows kept their rows: the new flow's packets land elsewhere.
    feed(t, udpP('10.0.0.1', 5000, '192.0.2.53', 53), 5);
    expect(again.packets).toEqual([2, 0]);
    expect([ended[1].packets, ended[1].firstTs, ended[1].lastTs]).toEqual([[1, 0], 2, 2]);
  });

  it('a flood of 300k distinct SYNs stays under the cap and ends every flow once', () => {
    const cap = 1000;
    let endedCount = 0;
    const N = 300_000;
    const seen = new Uint8Array(N + 1);
    let duplicates = 0;
    const t = new FlowTable({
      maxFlows: cap,
      onEnd: (fl) => {
        endedCount++;
        const n = Number(fl.uid.slice(1));
        if (seen[n]) duplicates++;
        seen[n] = 1;
      },
    });
    const pkt = tcpP('10.0.0.1', '192.0.2.10', { sport: 1, dport: 80, flags: 'S' });
    const ipOff = 14;
    let maxLive = 0;
    for (let i = 0; i < N; i++) {
      // Vary source address and port in place: 1M distinct 5-tuples.
      pkt[ipOff + 13] = (i >>> 16) & 0xff;
      pkt[ipOff + 14] = (i >>> 8) & 0xff;
      pkt[ipOff + 15] = i & 0xff;
      pkt[ipOff + 20] = (i >>> 8) & 0xff;
      pkt[ipOff + 21] = i & 0xff;
      decodePacket(view, pkt, LINKTYPE_ETHERNET);
      view.ts = 1000 + i * 1e-5;
      t.update(view, i + 1, pkt.length);
      if (t.size > maxLive) maxLive = t.size;
    }
    expect(maxLive).toBeLessThanOrEqual(cap);
    expect(t.created).toBe(N);
    expect(t.evictions.cap).toBe(N - cap);
    t.flush();
    expect(endedCount).toBe(N);
    expect(duplicates).toBe(0);
    expect(t.size).toBe(0);
  });
});

describe('hash buckets', () => {
  it('keeps flows apart when every hash collides (test hook)', () => {
    const t = table({ hashMask: 0, maxFlows: 40 });
    const flows: Flow[] = [];
    for (let i = 0; i < 50; i++) flows.push(feed(t, udpP('10.0.0.1', 6000 + i, '192.0.2.53', 53), i * 0.01)!);
    // Cap 40: the first 10 were evicted out of the shared bucket.
    expect(ended).toEqual(flows.slice(0, 10));
    for (let i = 10; i < 50; i++) {
      expect(feed(t, udpP('192.0.2.53', 53, '10.0.0.1', 6000 + i), 1 + i * 0.01)).toBe(flows[i]);
      expect(t.dir).toBe(1);
    }
    expect(flows.slice(10).every((f) => f.packets[0] === 1 && f.packets[1] === 1)).toBe(true);
    // A flow evicted from the bucket comes back as a new one.
    const back = feed(t, udpP('10.0.0.1', 6000, '192.0.2.53', 53), 2)!;
    expect(back).not.toBe(flows[0]);
    expect(t.size).toBe(40);
  });

  it('the same endpoints on different protocols or IP versions are different flows', () => {
    const t = table({ hashMask: 0 });
    const u = feed(t, udpP('10.0.0.1', 5000, '192.0.2.53', 53), 1)!;
    const c = feed(t, tcpP('10.0.0.1', '192.0.2.53', { sport: 5000, dport: 53, flags: 'S' }), 1)!;
    const v6 = feed(t, udpP('::ffff:a00:1', 5000, '::ffff:c000:235', 53), 1)!;
    expect(new Set([u, c, v6]).size).toBe(3);
    expect(v6.clientIp).toBe('::ffff:10.0.0.1');
  });
});

describe('IP fragments', () => {
  function fragments(id: number): Uint8Array[] {
    // A UDP datagram split in two IPv4 fragments.
    const dgram = udp(5000, 53, new Uint8Array(40));
    const mk = (offset: number, more: boolean, part: Uint8Array) => {
      const p = ipv4({ src: '10.0.0.1', dst: '192.0.2.53', proto: 17, id, df: false }, part);
      const v = (more ? 0x2000 : 0) | (offset / 8);
      p[6] = v >> 8;
      p[7] = v & 0xff;
      return ethernet(p);
    };
    return [mk(0, true, dgram.subarray(0, 24)), mk(24, false, dgram.subarray(24))];
  }

  it('later fragments join the flow of their first fragment', () => {
    const t = table();
    const [first, second] = fragments(77);
    const f = feed(t, first, 1)!;
    expect(f.clientPort).toBe(5000);
    expect(feed(t, second, 1.001)).toBe(f);
    expect(f.packets).toEqual([2, 0]);
  });

  it('a later fragment without its first one goes to an addresses-only flow', () => {
    const t = table();
    const [, second] = fragments(78);
    const f = feed(t, second, 1)!;
    expect([f.proto, f.clientPort, f.serverPort, f.clientIp]).toEqual([17, 0, 0, '10.0.0.1']);
  });
});

describe('hot path literals', () => {
  it('repeat the row layout of columns.ts exactly', () => {
    const source = readFileSync(new URL('./table.ts', import.meta.url), 'utf8');
    const layout = columns as unknown as Record<string, number>;
    const named: Record<string, number> = { ...layout, FIRST_EVIDENCE_FRAMES: MAX_EVIDENCE_FRAMES / 2, MAX_EVIDENCE_FRAMES, IPPROTO_UDP: 17, IPPROTO_TCP: 6, TCP_SYN: 2, TCP_SYN_FIN_RST: 7 };
    const literals = [...source.matchAll(/\b([A-Z][A-Z0-9_]*) = (0x[0-9a-f]+|\d+)[,;]/g)].filter(([, name]) => name in named);
    expect(literals.length).toBeGreaterThan(20);
    for (const [, name, value] of literals) expect([name, Number(value)]).toEqual([name, named[name]]);
  });
});
