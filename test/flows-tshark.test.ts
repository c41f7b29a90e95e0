/**
 * Differential test of the flow table against tshark's conversation tables
 * (`tshark -n -q -z conv,tcp` / `conv,udp`): the same address/port pairs, and
 * the same packet count in each direction.
 *
 * Comparison rules (see docs/flows.md):
 * - Rows are compared as unordered endpoint pairs; tshark's A->B / B->A columns
 *   are matched to our client/server directions by address and port.
 * - tshark may split one 5-tuple into several rows (a new TCP stream on port
 *   reuse, or RTP/SDP conversations that give each direction its own UDP
 *   stream); both sides are summed per 5-tuple before comparing.
 * - ICMP errors quote a TCP/UDP header that tshark counts as a conversation
 *   packet; we attach them to the flow instead, so tshark's taps run with
 *   "not icmp and not icmpv6".
 * - Fixtures are chosen without decapsulated tunnels (tshark also counts the
 *   inner conversations of GRE/L2TP/IP-in-IP; the flow table sees the outer
 *   packet, inner packets are fed by the engine at the next depth) and without
 *   IP fragments (tshark reassembles, we count every fragment).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../src/capture/read.js';
import { decodePacket } from '../src/decode/index.js';
import { PacketView } from '../src/decode/view.js';
import { FlowTable } from '../src/flow/table.js';
import { protoName, type Flow } from '../src/flow/flow.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'public');

const FILES = [
  'tls/zeek_tls13-ech.pcap',
  'tls/ndpi_tls_1.2_unidirectional_client.pcapng',
  'dns/pcpp_DnsPackets.pcap',
  'dns/tcpdump_dns_tcp.pcap',
  'rtp/voipshark_SIP-RTP-Normal_Call_two_parties.pcap',
  'stun-webrtc/ndpi_stun_google_meet.pcapng',
  'ipv6/ndpi_http_ipv6.pcap',
  'vpn/openvpn/ndpi_openvpn.pcap',
  'vpn/openvpn/ndpi_openvpn-tlscrypt.pcap',
  'linktypes/pcpp_raw_ip.pcap',
];

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Packets per direction of one unordered 5-tuple; `a` is the lexically smaller endpoint. */
interface Conv {
  a: string;
  b: string;
  aToB: number;
  bToA: number;
}

function endpoint(ip: string, port: number): string {
  return `${ip}:${port}`;
}

function addConv(map: Map<string, Conv>, proto: string, x: string, y: string, xToY: number, yToX: number): void {
  const [a, b, aToB, bToA] = x <= y ? [x, y, xToY, yToX] : [y, x, yToX, xToY];
  const key = `${proto} ${a} ${b}`;
  const c = map.get(key);
  if (c) {
    c.aToB += aToB;
    c.bToA += bToA;
  } else map.set(key, { a, b, aToB, bToA });
}

/** Split "addr:port" at the last colon (IPv6 addresses contain colons). */
function splitEndpoint(s: string): string {
  const i = s.lastIndexOf(':');
  return endpoint(s.slice(0, i), Number(s.slice(i + 1)));
}

function tsharkConvs(file: string): Map<string, Conv> {
  const out = new Map<string, Conv>();
  const filter = 'not icmp and not icmpv6';
  const text = execFileSync('tshark', ['-r', file, '-n', '-q', '-z', `conv,tcp,${filter}`, '-z', `conv,udp,${filter}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // Section titles "TCP Conversations" / "UDP Conversations", then rows
  // "A <-> B   framesBtoA bytes unit   framesAtoB bytes unit ...".
  const row = /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+\S+\s+\S+\s+(\d+)\s/;
  let proto = '';
  for (const line of text.split('\n')) {
    const title = /^(TCP|UDP) Conversations/.exec(line);
    if (title) proto = title[1].toLowerCase();
    const m = row.exec(line);
    if (m && proto) addConv(out, proto, splitEndpoint(m[1]), splitEndpoint(m[2]), Number(m[4]), Number(m[3]));
  }
  return out;
}

async function ourConvs(file: string): Promise<{ convs: Map<string, Conv>; flows: Flow[] }> {
  const flows: Flow[] = [];
  const table = new FlowTable({ onEnd: (f) => flows.push(f) });
  const view = new PacketView();
  let frame = 0;
  await readCapture(file, (pkt) => {
    decodePacket(view, pkt.data, pkt.linkType);
    view.ts = pkt.tsSec + pkt.tsNsec / 1e9;
    table.update(view, ++frame, pkt.origLen);
  });
  table.flush();
  const convs = new Map<string, Conv>();
  for (const f of flows) {
    const proto = protoName(f.proto);
    if (proto !== 'tcp' && proto !== 'udp') continue;
    addConv(convs, proto, endpoint(f.clientIp, f.clientPort), endpoint(f.serverIp, f.serverPort), f.packets[0], f.packets[1]);
  }
  return { convs, flows };
}

// Under CI the tools are installed by .ci/run: a missing one must fail, not skip.
describe.skipIf(!hasTshark() && !process.env.CI)('flow table vs tshark conversations', () => {
  for (const name of FILES) {
    it(name, async () => {
      const file = join(FIXTURES, name);
      const expected = tsharkConvs(file);
      const { convs, flows } = await ourConvs(file);
      expect(expected.size).toBeGreaterThan(0);
      expect([...convs.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [key, want] of expected) expect({ key, ...convs.get(key) }).toEqual({ key, ...want });
      // Every flow ended exactly once, with a unique uid.
      expect(new Set(flows.map((f) => f.uid)).size).toBe(flows.length);
    });
  }
});
