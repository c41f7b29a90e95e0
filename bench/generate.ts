/**
 * Writes the benchmark capture: a deterministic, realistic Spoke/Twilio mix.
 * ~80 % RTP (hundreds of concurrent calls, 20 ms G.711 frames with an SRTP-like
 * payload and auth tag, UDP between RFC 1918 clients and Twilio media
 * 168.86.128.0/18 ports 10000-60000, some loss and jitter), TLS handshakes with
 * SNI, DNS lookups and background TCP.
 *
 * Packets are built once as templates and then patched (RTP seq/timestamp,
 * TCP seq) so generating millions of packets stays fast.
 * Run directly: `tsx bench/generate.ts [out.pcap]` (BENCH_PACKETS sets the size).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PcapFileWriter } from '../src/synth/pcap-writer.js';
import { dnsMessage, rtp, tcpPacket, tlsClientHello, tlsServerHello, udpPacket } from '../src/synth/packets.js';
import { seededRandom } from '../src/synth/random.js';

export const DEFAULT_PACKETS = 3_000_000;

const SNIS = [
  'chunderw-vpc-gll.twilio.com',
  'app.spokephone.com',
  'eventgw.twilio.com',
  'media.twiliocdn.com',
  'api.spokephone.com',
  'outlook.office365.com',
  'www.google.com',
  'slack.com',
];

const TICK = 0.02; // one RTP frame per call leg per tick
const CONCURRENT_CALLS = 300;
const LOSS = 0.004;

// Offsets in Ethernet/IPv4(20)/UDP templates.
const UDP_CHECKSUM = 14 + 20 + 6;
const RTP = 14 + 20 + 8;
// Offsets in Ethernet/IPv4(20)/TCP templates.
const TCP_SEQ = 14 + 20 + 4;
const TCP_CHECKSUM = 14 + 20 + 16;

interface Leg {
  pkt: Uint8Array;
  seq: number;
  ts: number;
}

interface Call {
  legs: [Leg, Leg];
  ticksLeft: number;
}

export async function generateBenchCapture(path: string, packets = DEFAULT_PACKETS): Promise<{ packets: number }> {
  const rand = seededRandom(0xb3c4);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const client = () =>
    pick([() => `10.${int(0, 20)}.${int(0, 255)}.${int(1, 254)}`, () => `192.168.${int(0, 9)}.${int(1, 254)}`, () => `172.16.${int(0, 15)}.${int(1, 254)}`])();
  const twilio = () => `168.86.${int(128, 191)}.${int(1, 254)}`;

  const leg = (src: string, sport: number, dst: string, dport: number): Leg => {
    const payload = rtp({ pt: 0, seq: 0, ts: 0, ssrc: int(1, 0xfffffffe), payloadLen: 160 + 10 }); // + SRTP auth tag
    const pkt = udpPacket(src, sport, dst, dport, payload);
    pkt[UDP_CHECKSUM] = 0; // patched payloads: "no checksum" is valid for UDP over IPv4
    pkt[UDP_CHECKSUM + 1] = 0;
    return { pkt, seq: int(0, 0xffff), ts: int(0, 0x7fffffff) };
  };
  const newCall = (): Call => {
    const c = client();
    const cport = int(8192, 32767) & ~1;
    const t = twilio();
    const tport = int(10000, 60000) & ~1;
    return { legs: [leg(c, cport, t, tport), leg(t, tport, c, cport)], ticksLeft: int(500, 15000) };
  };

  // Non-RTP traffic is queued as whole exchanges and drained at ~1 packet per 4 RTP packets.
  const queue: Uint8Array[] = [];
  const background = Array.from({ length: 50 }, () =>
    tcpPacket(client(), `52.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`, { sport: int(32768, 60999), dport: 443, flags: 'A', seq: 1 }, new Uint8Array(int(60, 1400))),
  );
  let tcpSeq = 1;
  const enqueueExchange = () => {
    const r = rand();
    const c = client();
    if (r < 0.35) {
      const name = pick(SNIS);
      const id = int(0, 0xffff);
      const resolver = '10.0.0.53';
      const sport = int(32768, 60999);
      queue.push(udpPacket(c, sport, resolver, 53, dnsMessage({ id, qname: name })));
      queue.push(
        udpPacket(resolver, 53, c, sport, dnsMessage({ id, qname: name, answers: [{ name, type: 'A', ttl: 60, data: `34.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}` }] })),
      );
    } else if (r < 0.6) {
      const server = `34.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`;
      const sport = int(32768, 60999);
      const o = { sport, dport: 443 };
      const back = { sport: 443, dport: sport };
      queue.push(
        tcpPacket(c, server, { ...o, flags: 'S', seq: 100, mss: 1460 }),
        tcpPacket(server, c, { ...back, flags: 'SA', seq: 900, ack: 101, mss: 1460 }),
        tcpPacket(c, server, { ...o, flags: 'A', seq: 101, ack: 901 }),
        tcpPacket(c, server, { ...o, flags: 'PA', seq: 101, ack: 901 }, tlsClientHello(pick(SNIS), ['h2', 'http/1.1'])),
        tcpPacket(server, c, { ...back, flags: 'PA', seq: 901, ack: 300 }, tlsServerHello()),
      );
    } else {
      for (let i = 0; i < 6; i++) {
        const t = pick(background);
        tcpSeq = (tcpSeq + t.length) >>> 0;
        t[TCP_SEQ] = tcpSeq >>> 24;
        t[TCP_SEQ + 1] = (tcpSeq >>> 16) & 0xff;
        t[TCP_SEQ + 2] = (tcpSeq >>> 8) & 0xff;
        t[TCP_SEQ + 3] = tcpSeq & 0xff;
        t[TCP_CHECKSUM] = 0; // patched: checksum not recomputed (analysers do not verify TCP checksums by default)
        t[TCP_CHECKSUM + 1] = 0;
        queue.push(Uint8Array.from(t));
      }
    }
  };

  const writer = new PcapFileWriter(path, 1, 262144);
  const calls: Call[] = Array.from({ length: CONCURRENT_CALLS }, newCall);
  let written = 0;
  let time = 1_767_225_600; // 2026-01-01T00:00:00Z
  while (written < packets) {
    const inTick = calls.length * 2 + Math.ceil(calls.length / 2);
    const step = TICK / inTick;
    let t = time;
    // Starting each tick at a slightly different call shifts every leg by up to ~1 ms: jitter, while file time stays monotonic.
    const start = int(0, 40);
    for (let k = 0; k < calls.length && written < packets; k++) {
      const i = (start + k) % calls.length;
      const call = calls[i];
      for (const l of call.legs) {
        if (written >= packets) break;
        l.seq = (l.seq + 1) & 0xffff;
        l.ts = (l.ts + 160) >>> 0;
        if (rand() < LOSS) continue; // lost on the way: seq gap
        const p = l.pkt;
        p[RTP + 2] = l.seq >> 8;
        p[RTP + 3] = l.seq & 0xff;
        p[RTP + 4] = l.ts >>> 24;
        p[RTP + 5] = (l.ts >>> 16) & 0xff;
        p[RTP + 6] = (l.ts >>> 8) & 0xff;
        p[RTP + 7] = l.ts & 0xff;
        t += step;
        const full = writer.write({ ts: t, data: p });
        if (full) await full;
        written++;
      }
      if (--call.ticksLeft <= 0) calls[i] = newCall();
    }
    for (let i = 0; i < Math.ceil(calls.length / 2) && written < packets; i++) {
      if (queue.length === 0) enqueueExchange();
      t += step;
      const full = writer.write({ ts: t, data: queue.shift()! });
      if (full) await full;
      written++;
    }
    time += TICK;
  }
  await writer.close();
  return { packets: written };
}

export function defaultBenchPath(packets: number): string {
  return join(tmpdir(), `spokecap-bench-${packets}.pcap`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const packets = Number(process.env.BENCH_PACKETS ?? DEFAULT_PACKETS);
  const out = process.argv[2] ?? defaultBenchPath(packets);
  const t0 = performance.now();
  await generateBenchCapture(out, packets);
  console.log(`wrote ${packets} packets to ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
