/**
 * Differential test of the RTP stream analysis against tshark (the oracle):
 * `tshark -z rtp,streams` with heuristic RTP for every public capture with
 * RTP, plus a capture written here with loss, reordering, duplicates, a
 * sequence wrap, marker bits and comfort noise (decoded as RTP with -d).
 * Per stream (SSRC + 5-tuple): packets and lost equal; max delta, mean and
 * max jitter within 0.01 ms. Dynamic payload types have no clock in tshark
 * without SDP: for those our inferred-clock jitter is checked against RFC
 * 3550 computed here from tshark's per-packet rtp.seq/rtp.timestamp/time.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../src/capture/read.js';
import { decodePacket } from '../src/decode/index.js';
import { PacketView } from '../src/decode/view.js';
import { FlowTable } from '../src/flow/table.js';
import { MediaAnalyzer } from '../src/analyze/media/media-analyzer.js';
import { SPOKE_TWILIO_POLICY } from '../src/policy/spoke-twilio.js';
import type { ReportRtpStream } from '../src/report/schema.js';
import { rtp, udpPacket } from '../src/synth/packets.js';
import { buildPcap, type WrittenPacket } from '../src/synth/pcap-writer.js';

const run = promisify(execFile);
const PUB = join(import.meta.dirname, 'fixtures/public');
const CAPTURES = [
  'rtp/sipp_g711a.pcap',
  'rtp/sipp_dtmf_2833_1.pcap',
  'rtp/sngrep_aaa.pcap',
  'rtp/voipshark_SIP-RTP-Normal_Call_two_parties.pcap',
  'rtp/voipshark_SIP-SRTP-Normal_Call_two_parties.pcap',
  'rtp/ndpi_rtp.pcapng',
  'rtp/ndpi_rtcp_multiple_pkts_in_the_same_datagram.pcap',
  'stun-webrtc/ndpi_stun_dtls_rtp.pcapng',
  'stun-webrtc/ndpi_stun_google_meet.pcapng',
  'stun-webrtc/ndpi_stun_signal.pcapng',
  'stun-webrtc/arkime_stun-ice-testcall.pcap',
  'stun-webrtc/zeek_webrtc-stun.pcap',
];
/**
 * tshark streams we do not report, each for a documented reason (docs/media.md):
 * RTP carried in TURN Data indications (STUN-framed) is not unwrapped.
 */
const NOT_OURS = new Set(['142.250.82.249|3478|192.168.12.182|50221|0x2f696c70', '142.250.82.249|3478|192.168.12.182|50221|0x321d28bb']);

interface TsharkStream {
  key: string;
  packets: number;
  lost: number;
  maxDelta: number;
  minJitter: number;
  meanJitter: number;
  maxJitter: number;
}

const key = (srcIp: string, srcPort: number, dstIp: string, dstPort: number, ssrc: string) =>
  `${srcIp}|${srcPort}|${dstIp}|${dstPort}|${ssrc.toLowerCase()}`;

async function tsharkStreams(path: string, decodeAs: string[] = []): Promise<TsharkStream[]> {
  const args = ['-r', path, '-n', '-q', '-o', 'rtp.heuristic_rtp:TRUE', ...decodeAs, '-z', 'rtp,streams'];
  const { stdout } = await run('tshark', args, { maxBuffer: 16 << 20 });
  const out: TsharkStream[] = [];
  for (const line of stdout.split('\n')) {
    const t = line.trim().split(/\s+/);
    if (t.length < 17 || !/^0x[0-9A-Fa-f]{8}$/.test(t[6])) continue;
    // The payload column can hold spaces ("g711U, CN"): read the numbers from the right.
    if (t[t.length - 1] === 'X') t.pop();
    const n = t.length;
    out.push({
      key: key(t[2], Number(t[3]), t[4], Number(t[5]), t[6]),
      packets: Number(t[n - 9]),
      lost: Number(t[n - 8]),
      maxDelta: Number(t[n - 4]),
      minJitter: Number(t[n - 3]),
      meanJitter: Number(t[n - 2]),
      maxJitter: Number(t[n - 1]),
    });
  }
  return out;
}

async function ourStreams(path: string): Promise<ReportRtpStream[]> {
  const media = new MediaAnalyzer({ policy: SPOKE_TWILIO_POLICY, internal: { containsIp: () => false } });
  const view = new PacketView();
  const table = new FlowTable({ onEnd: (f) => media.onFlowEnd(f) });
  let frame = 0;
  await readCapture(path, (pkt) => {
    frame++;
    decodePacket(view, pkt.data, pkt.linkType);
    const ts = pkt.tsSec + pkt.tsNsec / 1e9;
    view.ts = ts;
    const flow = view.ipVersion !== 0 ? table.update(view, frame, pkt.origLen) : null;
    media.onPacket({ frame, ts, pkt, view, flow, dir: table.dir, depth: 0, weird: () => {} });
  });
  table.flush();
  media.finish();
  return media.streams();
}

/** RFC 3550 jitter with Wireshark's skips (first packet, marker), from tshark's per-packet fields. */
async function referenceJitter(path: string, s: ReportRtpStream): Promise<{ mean: number; max: number }> {
  const filter = `rtp.ssrc==${s.ssrc} && udp.srcport==${s.src.port} && udp.dstport==${s.dst.port}`;
  const args = ['-r', path, '-n', '-o', 'rtp.heuristic_rtp:TRUE', '-Y', filter, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'rtp.timestamp', '-e', 'rtp.marker', '-e', 'rtp.p_type'];
  const { stdout } = await run('tshark', args, { maxBuffer: 16 << 20 });
  const rows = stdout.trim().split('\n').map((l) => l.split('\t'));
  const clock = s.clockRate!;
  let jitter = 0;
  let max = 0;
  let mean = 0;
  let lastT = 0;
  let lastTs = 0;
  rows.forEach((r, n) => {
    const t = Number(r[0]) * 1000;
    const ts = Number(r[1]);
    const pt = Number(r[3]);
    if (n === 0) {
      lastT = t;
      lastTs = ts;
      return;
    }
    if (pt === s.payloadType) {
      const d = Math.abs(t - lastT - (ts - lastTs) / Math.floor(clock / 1000));
      jitter = (15 * jitter + d) / 16;
      if (r[2] !== '1') {
        max = Math.max(max, jitter);
        mean = (mean * (n - 1) + jitter) / n;
      }
    }
    lastT = t;
    lastTs = ts;
  });
  return { mean, max };
}

/**
 * A G.711 stream with loss burst, duplicate, sequence wrap, marker, comfort
 * noise and jittery arrival. (A packet whose RTP timestamp goes back is left
 * out: Wireshark 4.2 changed how it is treated, see docs/media.md; the unit
 * tests cover it.)
 */
function syntheticCapture(): Uint8Array {
  const packets: WrittenPacket[] = [];
  const t0 = 1_700_000_000;
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const send = (i: number, seq: number, o: { marker?: boolean; pt?: number } = {}) => {
    const ts = t0 + i * 0.02 + rand() * 0.006;
    const payload = rtp({ pt: o.pt ?? 0, seq: seq & 0xffff, ts: (4_000_000_000 + i * 160) >>> 0, ssrc: 0x11223344, marker: o.marker, fill: 0xff });
    packets.push({ ts, data: udpPacket('10.0.0.5', 40000, '203.0.113.9', 50000, payload) });
  };
  const base = 65500; // wraps after 36 packets
  for (let i = 0; i < 400; i++) {
    if (i >= 100 && i < 108) continue; // loss burst
    if (i === 200) send(i, base + i, { marker: true });
    else if (i >= 250 && i < 255) send(i, base + i, { pt: 13 });
    else send(i, base + i);
    if (i === 300) send(i, base + i); // duplicate
  }
  packets.sort((a, b) => a.ts - b.ts);
  return buildPcap(packets);
}

describe('RTP streams agree with tshark -z rtp,streams', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spokecap-rtp-'));
  const synthetic = join(dir, 'g711-edge-cases.pcap');
  writeFileSync(synthetic, syntheticCapture());
  const cases: Array<[string, string, string[]]> = [
    ...CAPTURES.map((c): [string, string, string[]] => [c, join(PUB, c), []]),
    ['synthetic g711-edge-cases', synthetic, ['-d', 'udp.port==50000,rtp']],
  ];

  it.each(cases)('%s', async (_name, path, decodeAs) => {
    const [theirs, ours] = await Promise.all([tsharkStreams(path, decodeAs), ourStreams(path)]);
    const byKey = new Map(theirs.map((t) => [t.key, t]));
    for (const s of ours) {
      const k = key(s.src.ip, s.src.port, s.dst.ip, s.dst.port, s.ssrc);
      const t = byKey.get(k);
      expect(t, `tshark has stream ${k}`).toBeDefined();
      expect({ k, packets: s.packets, lost: s.lost }).toEqual({ k, packets: t!.packets, lost: t!.lost });
      expect(Math.abs(s.maxDeltaMs - t!.maxDelta), `${k} max delta`).toBeLessThanOrEqual(0.01);
      if (t!.minJitter !== -1) {
        expect(s.clockRateInferred).toBe(false);
        expect(Math.abs(s.maxJitterMs! - t!.maxJitter), `${k} max jitter`).toBeLessThanOrEqual(0.01);
        expect(Math.abs(s.meanJitterMs! - t!.meanJitter), `${k} mean jitter`).toBeLessThanOrEqual(0.01);
      } else if (s.clockRate !== null) {
        expect(s.clockRateInferred).toBe(true);
        const ref = await referenceJitter(path, s);
        expect(Math.abs(s.maxJitterMs! - ref.max), `${k} max jitter (inferred clock)`).toBeLessThanOrEqual(0.01);
        expect(Math.abs(s.meanJitterMs! - ref.mean), `${k} mean jitter (inferred clock)`).toBeLessThanOrEqual(0.01);
      }
    }
    // Every tshark stream long enough for our heuristic is ours too.
    const ourKeys = new Set(ours.map((s) => key(s.src.ip, s.src.port, s.dst.ip, s.dst.port, s.ssrc)));
    const missing = theirs.filter((t) => t.packets >= 3 && !ourKeys.has(t.key) && !NOT_OURS.has(t.key)).map((t) => t.key);
    expect(missing).toEqual([]);
  });

  it('the synthetic capture exercises loss, wrap, reordering and duplicates', async () => {
    const [s] = await ourStreams(synthetic);
    expect(s.packets).toBe(400 - 8 + 1);
    expect(s.lost).toBe(7); // 8 lost, 1 duplicate
    expect(s.duplicates).toBe(1);
    expect(s.outOfOrder).toBe(0);
    expect(s.codec).toBe('PCMU');
    expect(s.srtp).toBe(false); // constant 0xff payload: cleartext
  });
});
