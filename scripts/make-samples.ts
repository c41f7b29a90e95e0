/**
 * Writes the sample captures in samples/ (npm run samples). Deterministic:
 * fixed timestamps, fixed pseudo-random numbers, so the bytes never change.
 * Clients are RFC 1918 addresses; Twilio addresses come from the policy's
 * ranges. Written to files only: nothing is sent anywhere.
 * samples/README.md lists each capture and the findings it should produce.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  dnsMessage,
  ethernet,
  ip,
  mplsEthernet,
  rtp,
  stunMessage,
  tcpPacket,
  tlsClientHello,
  tlsServerHello,
  tlsAppData,
  udpPacket,
} from '../src/synth/packets.js';
import { buildPcap, buildPcapng, type WrittenPacket } from '../src/synth/pcap-writer.js';
import { dtlsRecord, esp, gre, ikeV2, rtcpReceiverReport, wgData, wgInitiation, wgResponse } from '../src/synth/tunnel-packets.js';
import { seededRandom } from '../src/synth/random.js';

/** 2024-03-05 14:00:00 UTC. */
const T0 = 1_709_647_200;

const DNS_SERVER = '10.1.2.1';
const CHUNDERW = { name: 'chunderw-vpc-gll.twilio.com', ip: '54.236.10.20' };
const SPOKE = { name: 'app.spokephone.com', ip: '13.54.70.12' };
const EVENTGW = { name: 'eventgw.twilio.com', ip: '54.236.10.40' };
const CHUNDERW_GLL = { name: 'chunderw-gll.twilio.com', ip: '54.236.10.30' };
const MEDIA = { ip: '168.86.130.4', port: 12000 };
const PUBLIC_IP = '203.0.113.7';
const WEB = { name: 'www.example.com', ip: '93.184.216.34' };

/** Collects packets with timestamps; sorted by time on output. */
class Capture {
  readonly packets: WrittenPacket[] = [];
  add(ts: number, data: Uint8Array): void {
    this.packets.push({ ts: Math.round(ts * 1e6) / 1e6, data });
  }
  sorted(): WrittenPacket[] {
    return this.packets.map((p, i) => ({ p, i })).sort((a, b) => a.p.ts - b.p.ts || a.i - b.i).map((x) => x.p);
  }
}

function dnsLookup(c: Capture, t: number, client: string, sport: number, id: number, name: string, answer: string | null, rcode = 0): void {
  c.add(t, udpPacket(client, sport, DNS_SERVER, 53, dnsMessage({ id, qname: name })));
  if (answer !== null) c.add(t + 0.012, udpPacket(DNS_SERVER, 53, client, sport, dnsMessage({ id, qname: name, answers: [{ name, type: 'A', data: answer }] })));
  else if (rcode !== 0) c.add(t + 0.015, udpPacket(DNS_SERVER, 53, client, sport, dnsMessage({ id, qname: name, rcode })));
}

/** A TCP connection with a TLS handshake and a little application data, closed with FIN. */
function tlsSession(
  c: Capture,
  t: number,
  client: string,
  sport: number,
  server: string,
  sni: string,
  o: { rtt?: number; frame?: (d: Uint8Array) => Uint8Array } = {},
): number {
  const rtt = o.rtt ?? 0.03;
  const wrap = o.frame ?? ((d: Uint8Array) => d);
  const cs = 1000;
  const ss = 5000;
  const out = (ts: number, flags: string, seq: number, ack: number, payload?: Uint8Array) =>
    c.add(ts, wrap(tcpPacket(client, server, { sport, dport: 443, seq, ack, flags, mss: flags === 'S' ? 1460 : undefined }, payload)));
  const back = (ts: number, flags: string, seq: number, ack: number, payload?: Uint8Array) =>
    c.add(ts, wrap(tcpPacket(server, client, { sport: 443, dport: sport, seq, ack, flags, mss: flags === 'SA' ? 1460 : undefined }, payload)));
  const ch = tlsClientHello(sni, ['http/1.1']);
  const sh = tlsServerHello();
  const appOut = tlsAppData(295);
  const appIn = tlsAppData(895);
  out(t, 'S', cs, 0);
  back(t + rtt, 'SA', ss, cs + 1);
  out(t + rtt + 0.0005, 'A', cs + 1, ss + 1);
  out(t + rtt + 0.001, 'PA', cs + 1, ss + 1, ch);
  back(t + 2 * rtt + 0.002, 'PA', ss + 1, cs + 1 + ch.length, sh);
  out(t + 2 * rtt + 0.003, 'PA', cs + 1 + ch.length, ss + 1 + sh.length, appOut);
  back(t + 3 * rtt + 0.004, 'PA', ss + 1 + sh.length, cs + 1 + ch.length + appOut.length, appIn);
  const end = t + 3 * rtt + 0.5;
  out(end, 'FA', cs + 1 + ch.length + appOut.length, ss + 1 + sh.length + appIn.length);
  back(end + rtt, 'FA', ss + 1 + sh.length + appIn.length, cs + 2 + ch.length + appOut.length);
  out(end + rtt + 0.0005, 'A', cs + 2 + ch.length + appOut.length, ss + 2 + sh.length + appIn.length);
  return end + rtt;
}

function txid(n: number): Uint8Array {
  const b = new Uint8Array(12);
  new DataView(b.buffer).setUint32(8, n);
  return b;
}

interface CallOpts {
  client: string;
  port: number;
  remote?: { ip: string; port: number };
  seconds: number;
  /** Send nothing back (blocked media). */
  noReturn?: boolean;
  stunRtt?: number;
  /** RFC 3550 jitter to give the downlink (at most 26 ms: packets must not reorder), and its drop rate (loss). */
  downJitter?: number;
  downLoss?: number;
  seed: number;
  frame?: (d: Uint8Array) => Uint8Array;
}

/** ICE/STUN, DTLS handshake, then two-way SRTP (PT 0, 20 ms) with STUN consent checks and RTCP. */
function call(c: Capture, t: number, o: CallOpts): number {
  const remote = o.remote ?? MEDIA;
  const wrap = o.frame ?? ((d: Uint8Array) => d);
  const up = (ts: number, payload: Uint8Array) => c.add(ts, wrap(udpPacket(o.client, o.port, remote.ip, remote.port, payload)));
  const down = (ts: number, payload: Uint8Array) => {
    if (!o.noReturn) c.add(ts, wrap(udpPacket(remote.ip, remote.port, o.client, o.port, payload)));
  };
  const rtt = o.stunRtt ?? 0.04;
  const rand = seededRandom(o.seed);
  let tx = o.seed * 100;
  const stun = (ts: number): void => {
    const id = txid(tx++);
    up(ts, stunMessage(0x0001, id));
    down(ts + rtt, stunMessage(0x0101, id, { ip: PUBLIC_IP, port: o.port }));
  };
  stun(t);
  if (o.noReturn) {
    // ICE retransmits the check (RFC 8489: 500 ms, doubling).
    stun(t + 0.5);
    stun(t + 1.5);
  }
  up(t + rtt + 0.01, dtlsRecord(22, 0, 0, 180, 1));
  down(t + 2 * rtt + 0.01, dtlsRecord(22, 0, 0, 900, 2));
  up(t + 2 * rtt + 0.02, dtlsRecord(22, 0, 1, 300, 16));
  down(t + 3 * rtt + 0.02, dtlsRecord(20, 0, 1, 1));
  const start = t + 3 * rtt + 0.05;
  const n = Math.round(o.seconds / 0.02);
  const upSsrc = (0x11110000 + o.seed) >>> 0;
  const downSsrc = (0x22220000 + o.seed) >>> 0;
  for (let i = 0; i < n; i++) {
    const ts = start + i * 0.02;
    up(ts, rtp({ pt: 0, seq: (1000 + i) & 0xffff, ts: 8000 + i * 160, ssrc: upSsrc }));
    const lost = o.downLoss !== undefined && rand() < o.downLoss;
    // Transit offsets 0, 1.5 J, 0.75 J repeating: |D| averages J and never falls below -20 ms (no reordering).
    const delay = 0.035 + (o.downJitter ? [0, 1.5, 0.75][i % 3] * o.downJitter : 0);
    if (!lost) down(ts + delay, rtp({ pt: 0, seq: (3000 + i) & 0xffff, ts: 24000 + i * 160, ssrc: downSsrc }));
    if (i > 0 && i % 125 === 0) stun(ts + 0.005); // consent freshness every 2.5 s
    if (i > 0 && i % 250 === 0) {
      up(ts + 0.007, rtcpReceiverReport(upSsrc, downSsrc, 0, 0, 40));
      down(ts + 0.04, rtcpReceiverReport(downSsrc, upSsrc, 0, 0, 40));
    }
  }
  return start + n * 0.02;
}

/** DNS + TLS to the Spoke gateway and the Twilio signalling gateway. */
function signalling(c: Capture, t: number, client: string, base: number, o: { frame?: (d: Uint8Array) => Uint8Array } = {}): number {
  dnsLookup(c, t, client, base, base & 0xffff, SPOKE.name, SPOKE.ip);
  dnsLookup(c, t + 0.05, client, base + 1, (base + 1) & 0xffff, CHUNDERW.name, CHUNDERW.ip);
  const a = tlsSession(c, t + 0.1, client, base + 2, SPOKE.ip, SPOKE.name, o);
  const b = tlsSession(c, t + 0.15, client, base + 3, CHUNDERW.ip, CHUNDERW.name, o);
  return Math.max(a, b);
}

// ------------------------------------------------------------------ samples

function compliantCall(): WrittenPacket[] {
  const c = new Capture();
  const client = '10.1.2.15';
  const t = signalling(c, T0, client, 50100);
  call(c, t + 0.2, { client, port: 50000, seconds: 30, seed: 1 });
  return c.sorted();
}

function blockedSignalling(): WrittenPacket[] {
  const c = new Capture();
  const client = '10.1.2.15';
  dnsLookup(c, T0, client, 50200, 0x0a01, SPOKE.name, SPOKE.ip);
  tlsSession(c, T0 + 0.05, client, 50201, SPOKE.ip, SPOKE.name);
  dnsLookup(c, T0 + 0.1, client, 50202, 0x0a02, CHUNDERW.name, CHUNDERW.ip);
  // SYN and its retransmissions (1 s, 2 s, 4 s backoff), never answered.
  for (const dt of [0, 1, 3, 7]) c.add(T0 + 0.2 + dt, tcpPacket(client, CHUNDERW.ip, { sport: 50203, dport: 443, seq: 7000, flags: 'S', mss: 1460 }));
  // A Twilio address refusing the connection.
  dnsLookup(c, T0 + 0.3, client, 50204, 0x0a03, EVENTGW.name, EVENTGW.ip);
  c.add(T0 + 0.4, tcpPacket(client, EVENTGW.ip, { sport: 50205, dport: 443, seq: 9000, flags: 'S', mss: 1460 }));
  c.add(T0 + 0.43, tcpPacket(EVENTGW.ip, client, { sport: 443, dport: 50205, seq: 0, ack: 9001, flags: 'RA' }));
  c.add(T0 + 10, udpPacket(client, 50206, DNS_SERVER, 53, dnsMessage({ id: 0x0a04, qname: WEB.name })));
  c.add(T0 + 10.01, udpPacket(DNS_SERVER, 53, client, 50206, dnsMessage({ id: 0x0a04, qname: WEB.name, answers: [{ name: WEB.name, type: 'A', data: WEB.ip }] })));
  return c.sorted();
}

function blockedMedia(): WrittenPacket[] {
  const c = new Capture();
  const client = '10.1.2.15';
  const t = signalling(c, T0, client, 50300);
  call(c, t + 0.2, { client, port: 50010, seconds: 10, noReturn: true, seed: 2 });
  return c.sorted();
}

function dnsFailure(): WrittenPacket[] {
  const c = new Capture();
  const client = '10.1.2.15';
  dnsLookup(c, T0, client, 50400, 0x0b01, CHUNDERW.name, null, 3);
  // No response at all, retried once.
  c.add(T0 + 0.1, udpPacket(client, 50401, DNS_SERVER, 53, dnsMessage({ id: 0x0b02, qname: SPOKE.name })));
  c.add(T0 + 2.1, udpPacket(client, 50402, DNS_SERVER, 53, dnsMessage({ id: 0x0b03, qname: SPOKE.name })));
  dnsLookup(c, T0 + 6, client, 50403, 0x0b04, WEB.name, WEB.ip);
  return c.sorted();
}

function vpn(): WrittenPacket[] {
  const c = new Capture();
  const client = '10.1.2.15';
  const router = '10.1.2.254';
  const concentrator = '198.51.100.10';
  const greRemote = '198.51.100.20';
  // WireGuard from the laptop to the VPN concentrator: handshake, then data both ways.
  c.add(T0, udpPacket(client, 51820, concentrator, 51820, wgInitiation(0x1234)));
  c.add(T0 + 0.03, udpPacket(concentrator, 51820, client, 51820, wgResponse(0x5678, 0x1234)));
  for (let i = 0; i < 40; i++) {
    c.add(T0 + 0.05 + i * 0.1, udpPacket(client, 51820, concentrator, 51820, wgData(0x5678, i, 100 + (i % 5) * 30)));
    c.add(T0 + 0.08 + i * 0.1, udpPacket(concentrator, 51820, client, 51820, wgData(0x1234, i, 400 + (i % 3) * 200)));
  }
  // IKEv2 + ESP from the branch router to the same concentrator.
  c.add(T0 + 0.2, udpPacket(router, 500, concentrator, 500, ikeV2({ initiatorSpi: 0xa1b2c3d4 })));
  c.add(T0 + 0.23, udpPacket(concentrator, 500, router, 500, ikeV2({ initiatorSpi: 0xa1b2c3d4, responderSpi: 0x0badcafe, response: true })));
  for (let i = 1; i <= 10; i++) {
    c.add(T0 + 0.3 + i * 0.2, ethernet(ip(router, concentrator, 50, esp(0xc0de0001, i))));
    c.add(T0 + 0.32 + i * 0.2, ethernet(ip(concentrator, router, 50, esp(0xc0de0002, i))));
  }
  // Twilio signalling and media carried inside a GRE tunnel from the router.
  const inGre = (d: Uint8Array): Uint8Array => {
    // Strip the inner Ethernet header: GRE carries the IP packet.
    const inner = d.subarray(14);
    const fromClient = inner[12] === 10;
    return fromClient ? ethernet(ip(router, greRemote, 47, gre(inner))) : ethernet(ip(greRemote, router, 47, gre(inner)));
  };
  const t = signalling(c, T0 + 1, client, 50500, { frame: inGre });
  call(c, t + 0.2, { client, port: 50020, seconds: 5, seed: 3, frame: inGre });
  return c.sorted();
}

function inbound(): WrittenPacket[] {
  const c = new Capture();
  const client = '10.1.2.15';
  // Ordinary outbound traffic and its return traffic (not inbound).
  dnsLookup(c, T0, client, 50600, 0x0c01, WEB.name, WEB.ip);
  tlsSession(c, T0 + 0.05, client, 50601, WEB.ip, WEB.name);
  // An outside host opens TCP 3389 on the client, and the client answers.
  const outside = '198.51.100.77';
  c.add(T0 + 3, tcpPacket(outside, client, { sport: 41000, dport: 3389, seq: 100, flags: 'S', mss: 1460 }));
  c.add(T0 + 3.001, tcpPacket(client, outside, { sport: 3389, dport: 41000, seq: 900, ack: 101, flags: 'SA', mss: 1460 }));
  c.add(T0 + 3.05, tcpPacket(outside, client, { sport: 41000, dport: 3389, seq: 101, ack: 901, flags: 'A' }));
  c.add(T0 + 3.06, tcpPacket(outside, client, { sport: 41000, dport: 3389, seq: 101, ack: 901, flags: 'R' }));
  // Unsolicited UDP from outside to a client port.
  const scanner = '198.51.100.78';
  for (let i = 0; i < 3; i++) c.add(T0 + 5 + i, udpPacket(scanner, 40000, client, 5060, new Uint8Array(64).fill(0x41 + i)));
  return c.sorted();
}

function poorQuality(): WrittenPacket[] {
  const c = new Capture();
  const client = '10.1.2.15';
  const t = signalling(c, T0, client, 50700);
  call(c, t + 0.2, { client, port: 50030, seconds: 20, stunRtt: 0.18, downJitter: 0.025, downLoss: 0.03, seed: 4 });
  return c.sorted();
}

function office(): WrittenPacket[] {
  const c = new Capture();
  // Two users with compliant calls.
  const a = '10.1.2.15';
  const b = '10.1.2.16';
  call(c, signalling(c, T0, a, 50800) + 0.2, { client: a, port: 50040, seconds: 10, seed: 5 });
  call(c, signalling(c, T0 + 2, b, 50810) + 0.2, { client: b, port: 50050, seconds: 8, remote: { ip: '168.86.131.9', port: 14000 }, seed: 6 });
  // One user whose media is blocked.
  const d = '10.1.2.17';
  call(c, signalling(c, T0 + 1, d, 50820) + 0.2, { client: d, port: 50060, seconds: 6, noReturn: true, seed: 7 });
  // Web and DNS noise.
  const w = '10.1.2.20';
  for (let i = 0; i < 5; i++) {
    dnsLookup(c, T0 + 0.5 + i * 2, w, 50830 + i, 0x0d00 + i, `host${i}.example.com`, `93.184.216.${10 + i}`);
    tlsSession(c, T0 + 0.55 + i * 2, w, 50840 + i, `93.184.216.${10 + i}`, `host${i}.example.com`);
  }
  c.add(T0 + 4, udpPacket(w, 123, '10.1.2.1', 123, new Uint8Array(48).fill(0x23)));
  c.add(T0 + 4.001, udpPacket('10.1.2.1', 123, w, 123, new Uint8Array(48).fill(0x24)));
  // A branch segment behind the MPLS WAN: labelled frames.
  const branch = '10.9.0.5';
  const mpls = (d: Uint8Array): Uint8Array => mplsEthernet(d.subarray(14), [1001, 2002]);
  tlsSession(c, T0 + 3, branch, 50900, WEB.ip, WEB.name, { frame: mpls });
  return c.sorted();
}

// ------------------------------------------------------------------ output

export const SAMPLES: Array<{ file: string; build: () => WrittenPacket[] }> = [
  { file: 'compliant-call.pcapng', build: compliantCall },
  { file: 'blocked-signalling.pcap', build: blockedSignalling },
  { file: 'blocked-media.pcap', build: blockedMedia },
  { file: 'dns-failure.pcap', build: dnsFailure },
  { file: 'vpn.pcap', build: vpn },
  { file: 'inbound.pcap', build: inbound },
  { file: 'poor-quality.pcapng', build: poorQuality },
  { file: 'office.pcapng', build: office },
];

export function sampleBytes(file: string): Uint8Array {
  const s = SAMPLES.find((x) => x.file === file);
  if (!s) throw new Error(`no sample ${file}`);
  const packets = s.build();
  return file.endsWith('.pcapng') ? buildPcapng(packets) : buildPcap(packets);
}

const here = dirname(fileURLToPath(import.meta.url));
export const SAMPLES_DIR = join(here, '..', 'samples');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(SAMPLES_DIR, { recursive: true });
  for (const s of SAMPLES) {
    const bytes = sampleBytes(s.file);
    writeFileSync(join(SAMPLES_DIR, s.file), bytes);
    console.log(`${s.file}: ${bytes.length} bytes`);
  }
}
