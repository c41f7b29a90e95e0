import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dnsMessage, tcpPacket, udpPacket } from '../synth/packets.js';
import { buildPcap, type WrittenPacket } from '../synth/pcap-writer.js';
import { runAnalyzers } from '../../test/helpers/mini-flows.js';
import { DnsAnalyzer } from './dns-analyzer.js';
import { NameMap } from '../classify/names.js';

const dir = mkdtempSync(join(tmpdir(), 'spokecap-dns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const C = '192.168.1.20';
const R = '192.168.1.1';
const T0 = 1_700_000_000;

function recordingSink() {
  const added: Array<[string, string, number, number]> = [];
  return { added, sink: { add: (ip: string, name: string, ts: number, ttl: number) => added.push([ip, name, ts, ttl]) } };
}

async function run(packets: WrittenPacket[], name: string, dns: DnsAnalyzer) {
  const path = join(dir, `${name}.pcap`);
  writeFileSync(path, buildPcap(packets));
  return runAnalyzers(path, [dns]);
}

const query = (ts: number, id: number, qname: string, sport = 40000): WrittenPacket => ({ ts, data: udpPacket(C, sport, R, 53, dnsMessage({ id, qname })) });

describe('DnsAnalyzer', () => {
  it('names addresses after the question and every name of the CNAME chain, question first', async () => {
    const { added, sink } = recordingSink();
    const dns = new DnsAnalyzer(sink);
    const answers = [
      { name: 'chunderw-vpc-gll.twilio.com', type: 'CNAME' as const, data: 'chunderw-vpc-gll.elb.amazonaws.com', ttl: 60 },
      { name: 'chunderw-vpc-gll.elb.amazonaws.com', type: 'A' as const, data: '54.172.60.1', ttl: 30 },
    ];
    const { flows } = await run(
      [query(T0, 1, 'Chunderw-VPC-gll.twilio.com'), { ts: T0 + 0.02, data: udpPacket(R, 53, C, 40000, dnsMessage({ id: 1, qname: 'chunderw-vpc-gll.twilio.com', answers })) }],
      'cname',
      dns,
    );
    expect(added).toEqual([
      ['54.172.60.1', 'chunderw-vpc-gll.twilio.com', T0 + 0.02, 30],
      ['54.172.60.1', 'chunderw-vpc-gll.elb.amazonaws.com', T0 + 0.02, 30],
    ]);
    expect(dns.transactions()).toEqual([
      {
        ts: T0,
        frame: 1,
        responseFrame: 2,
        flowUid: flows[0].uid,
        client: C,
        server: R,
        id: 1,
        qname: 'chunderw-vpc-gll.twilio.com',
        qtype: 1,
        rcode: 0,
        answers,
        tcp: false,
      },
    ]);
    expect(flows[0].dnsPayload).toBe(true);
  });

  it('records NXDOMAIN, and a query unanswered within 5 s (or by the end) as rcode null', async () => {
    const dns = new DnsAnalyzer(recordingSink().sink);
    const { flows } = await run(
      [
        query(T0, 2, 'nx.example'),
        { ts: T0 + 0.01, data: udpPacket(R, 53, C, 40000, dnsMessage({ id: 2, qname: 'nx.example', rcode: 3 })) },
        query(T0 + 1, 3, 'late.example', 40001),
        { ts: T0 + 7, data: udpPacket(R, 53, C, 40001, dnsMessage({ id: 3, qname: 'late.example', answers: [] })) },
        query(T0 + 8, 4, 'never.example', 40002),
      ],
      'fail',
      dns,
    );
    const tx = dns.transactions().map((t) => [t.qname, t.frame, t.responseFrame, t.rcode]);
    expect(tx).toEqual([
      ['nx.example', 1, 2, 3],
      ['late.example', 3, null, null],
      ['late.example', 4, 4, 0], // the late response, without its query
      ['never.example', 5, null, null],
    ]);
    // The unanswered query outlived its flow (ended by the final flush): the transaction still names it.
    const never = dns.transactions()[3];
    const flow = flows.find((f) => f.clientPort === 40002)!;
    expect([never.flowUid, never.client, never.server]).toEqual([flow.uid, C, R]);
  });

  it('keeps failures first when over maxKept, and bounds pending queries', async () => {
    const dns = new DnsAnalyzer(recordingSink().sink, { maxKept: 2, maxPending: 2 });
    const pkts: WrittenPacket[] = [];
    for (let i = 0; i < 3; i++) {
      pkts.push(query(T0 + i, 10 + i, `ok${i}.example`, 41000 + i));
      pkts.push({ ts: T0 + i + 0.01, data: udpPacket(R, 53, C, 41000 + i, dnsMessage({ id: 10 + i, qname: `ok${i}.example`, answers: [] })) });
    }
    pkts.push({ ts: T0 + 4, data: udpPacket(R, 53, C, 42000, dnsMessage({ id: 99, qname: 'bad.example', rcode: 2 })) });
    for (let i = 0; i < 3; i++) pkts.push(query(T0 + 5, 20 + i, `p${i}.example`, 43000 + i));
    await run(pkts, 'bounds', dns);
    const kept = dns.transactions();
    // ok2 did not fit; the SERVFAIL pushed ok1 out and the unanswered p1 pushed ok0 out; p0 was evicted while pending; p2 did not fit.
    expect(kept.map((t) => [t.qname, t.rcode])).toEqual([
      ['bad.example', 2],
      ['p1.example', null],
    ]);
    expect(dns.omitted).toBe(4);
    expect(dns.evictions).toBe(1);
  });

  it('pairs several pending queries of one flow answered out of order, and times out the rest in send order', async () => {
    const dns = new DnsAnalyzer(recordingSink().sink);
    const answer = (ts: number, id: number, qname: string): WrittenPacket => ({
      ts,
      data: udpPacket(R, 53, C, 40000, dnsMessage({ id, qname, answers: [{ name: qname, type: 'A', data: '203.0.113.1' }] })),
    });
    await run(
      [
        query(T0, 1, 'a.example'),
        query(T0 + 0.1, 2, 'b.example'),
        query(T0 + 0.2, 3, 'c.example'),
        query(T0 + 0.3, 4, 'd.example'),
        query(T0 + 0.4, 2, 'b.example'), // retransmission: still timed from the first
        answer(T0 + 0.5, 3, 'c.example'), // the middle of the flow's list
        answer(T0 + 0.6, 1, 'a.example'), // its head
        answer(T0 + 0.7, 4, 'd.example'), // its tail
        query(T0 + 10, 5, 'e.example', 40001), // b times out
      ],
      'out-of-order',
      dns,
    );
    expect(dns.transactions().map((t) => [t.qname, t.frame, t.responseFrame])).toEqual([
      ['a.example', 1, 7],
      ['b.example', 2, null],
      ['c.example', 3, 6],
      ['d.example', 4, 8],
      ['e.example', 9, null],
    ]);
  });

  it('reads DNS over TCP split across segments', async () => {
    const { added, sink } = recordingSink();
    const dns = new DnsAnalyzer(sink);
    const q = dnsMessage({ id: 7, qname: 'www.tcpdump.org' });
    const a = dnsMessage({ id: 7, qname: 'www.tcpdump.org', answers: [{ name: 'www.tcpdump.org', type: 'A', data: '192.139.46.66' }] });
    const framed = (m: Uint8Array) => Uint8Array.from([m.length >> 8, m.length & 255, ...m]);
    const qa = framed(q);
    const ra = framed(a);
    const seg = (ts: number, fromClient: boolean, seq: number, flags: string, payload?: Uint8Array): WrittenPacket => ({
      ts,
      data: fromClient ? tcpPacket(C, R, { sport: 40500, dport: 53, seq, flags }, payload) : tcpPacket(R, C, { sport: 53, dport: 40500, seq, flags }, payload),
    });
    await run(
      [
        seg(T0, true, 100, 'S'),
        seg(T0 + 0.001, false, 900, 'SA'),
        seg(T0 + 0.002, true, 101, 'PA', qa),
        seg(T0 + 0.003, false, 901, 'PA', ra.subarray(0, 1)),
        seg(T0 + 0.004, false, 902, 'PA', ra.subarray(1)),
      ],
      'tcp',
      dns,
    );
    expect(added.map((x) => x.slice(0, 2))).toEqual([['192.139.46.66', 'www.tcpdump.org']]);
    expect(dns.transactions()).toMatchObject([{ frame: 3, responseFrame: 5, tcp: true, rcode: 0 }]);
  });

  it('gives a NameMap A records as numbers, with the names it would get from their text', async () => {
    const answers = [
      { name: 'a.example', type: 'CNAME' as const, data: 'b.example', ttl: 60 },
      { name: 'b.example', type: 'A' as const, data: '203.0.113.9', ttl: 30 },
      { name: 'b.example', type: 'A' as const, data: '10.0.0.9', ttl: 30 },
      { name: 'b.example', type: 'AAAA' as const, data: '2001:db8::9', ttl: 30 },
    ];
    const packets = [query(T0, 5, 'a.example'), { ts: T0 + 0.02, data: udpPacket(R, 53, C, 40000, dnsMessage({ id: 5, qname: 'a.example', answers })) }];
    const numeric = new NameMap();
    const text = new NameMap();
    const added: string[] = [];
    await run(packets, 'numeric', new DnsAnalyzer(numeric));
    // Through add() only, as a sink without addIp4 is fed.
    await run(packets, 'text', new DnsAnalyzer({ add: (ip, name, ts, ttl) => (added.push(ip), text.add(ip, name, ts, ttl)) }));
    expect(added).toEqual(['203.0.113.9', '203.0.113.9', '10.0.0.9', '10.0.0.9', '2001:db8::9', '2001:db8::9']);
    for (const ip of ['203.0.113.9', '10.0.0.9', '2001:db8::9']) {
      expect(numeric.lookupAll(ip, T0 + 1)).toEqual(text.lookupAll(ip, T0 + 1));
      expect(numeric.lookupAll(ip, T0 + 1).map((a) => a.name)).toEqual(['a.example', 'b.example']);
    }
    expect(numeric.size).toBe(3);
  });

  it('ignores mDNS', async () => {
    const { added, sink } = recordingSink();
    const dns = new DnsAnalyzer(sink);
    const m = dnsMessage({ id: 0, qname: 'printer.local', answers: [{ name: 'printer.local', type: 'A', data: '192.168.1.50' }] });
    await run([{ ts: T0, data: udpPacket('192.168.1.50', 5353, '224.0.0.251', 5353, m) }], 'mdns', dns);
    expect(added).toEqual([]);
    expect(dns.transactions()).toEqual([]);
  });
});
