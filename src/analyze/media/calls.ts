/**
 * Calls: the media flows of one conversation grouped together, with per-
 * direction quality, RTT, MOS and the policy verdict. Rules (docs/media.md):
 *
 * - A media flow is a UDP 5-tuple that carried accepted RTP streams, ICE
 *   connectivity checks (STUN Binding with ICE attributes) or DTLS. Plain
 *   STUN Binding without ICE attributes (server-reflexive discovery) is not
 *   a call.
 * - The local side is the endpoint inside opts.internal, else the flow's
 *   client. Flows with the same local IP:port whose media overlap or follow
 *   each other within MERGE_GAP_S are one call (ICE candidate pairs, an ICE
 *   restart or a selected-pair change keep the local socket); concurrent
 *   calls use different local sockets and stay apart.
 */
import type { Policy } from '../../policy/types.js';
import type { CallDirectionMetrics, CallViolation, Endpoint, ReportCall } from '../../report/schema.js';
import { isoTime, round } from '../../report/build.js';
import { nominalKbps } from './codecs.js';
import { g107Mos, twilioMos } from './mos.js';
import type { RtpStream } from './rtp-stream.js';
import type { StunTransactions } from './stun-rtt.js';

/** Gap between a local socket's media flows that still counts as the same call. */
export const MERGE_GAP_S = 5;
/** A direction is "active" in a timeline bucket carrying at least this share of its busiest bucket's packets. */
const ACTIVE_SHARE = 0.5;
/** Margin under the needed rate before a bandwidth violation (timing noise at bucket edges). */
const BANDWIDTH_MARGIN = 0.9;
const VIDEO_CLOCK = 90000;

export interface MediaFlow {
  uid: string;
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  streams: RtpStream[];
  stun: StunTransactions | null;
  dtlsPackets: number;
  firstTs: number;
  lastTs: number;
  edge: string | null;
  /** Packets per direction of the whole flow (client, server). */
  packets: [number, number];
}

interface Member {
  flow: MediaFlow;
  localIsClient: boolean;
  start: number;
  end: number;
}

function isCallFlow(f: MediaFlow): boolean {
  return f.streams.length > 0 || f.dtlsPackets > 0 || (f.stun !== null && f.stun.iceChecks > 0);
}

function mediaSpan(f: MediaFlow): [number, number] {
  let start = f.firstTs || Infinity;
  let end = f.lastTs;
  for (const s of f.streams) {
    if (s.firstTs < start) start = s.firstTs;
    if (s.lastTs > end) end = s.lastTs;
  }
  return [start, end];
}

export function buildCalls(flows: MediaFlow[], policy: Policy, internal: { containsIp(ip: string): boolean }): ReportCall[] {
  const bySocket = new Map<string, Member[]>();
  for (const f of flows) {
    if (!isCallFlow(f)) continue;
    const localIsClient = internal.containsIp(f.clientIp) || !internal.containsIp(f.serverIp);
    const key = localIsClient ? `${f.clientIp}|${f.clientPort}` : `${f.serverIp}|${f.serverPort}`;
    const [start, end] = mediaSpan(f);
    let list = bySocket.get(key);
    if (list === undefined) bySocket.set(key, (list = []));
    list.push({ flow: f, localIsClient, start, end });
  }
  const groups: Member[][] = [];
  for (const list of bySocket.values()) {
    list.sort((a, b) => a.start - b.start);
    let cur: Member[] = [];
    let curEnd = -Infinity;
    for (const m of list) {
      if (cur.length && m.start > curEnd + MERGE_GAP_S) {
        groups.push(cur);
        cur = [];
        curEnd = -Infinity;
      }
      cur.push(m);
      if (m.end > curEnd) curEnd = m.end;
    }
    if (cur.length) groups.push(cur);
  }
  groups.sort((a, b) => Math.min(...a.map((m) => m.start)) - Math.min(...b.map((m) => m.start)));
  return groups.map((g, i) => toCall(`C${i + 1}`, g, policy));
}

interface Direction {
  metrics: CallDirectionMetrics;
  /** Kbps over the direction's active seconds, and the codec's need (null: not judged). */
  activeKbps: number | null;
  needKbps: number | null;
}

/** Streams that carry the call's audio: video (90 kHz) is left out when anything else exists. */
function audioStreams(streams: RtpStream[]): RtpStream[] {
  const audio = streams.filter((s) => s.clockRate !== VIDEO_CLOCK);
  return audio.length ? audio : streams;
}

function direction(streams: RtpStream[]): Direction {
  if (streams.length === 0) {
    return { metrics: { lossPct: null, maxJitterMs: null, kbps: null, meanJitterMs: null, packets: 0 }, activeKbps: null, needKbps: null };
  }
  let packets = 0;
  let expected = 0;
  let lost = 0;
  let bytes = 0;
  let start = Infinity;
  let end = -Infinity;
  let maxJitter: number | null = null;
  let jitterWeighted = 0;
  let jitterPackets = 0;
  let main = streams[0];
  for (const s of streams) {
    packets += s.totalNr;
    expected += s.expected;
    lost += s.lost;
    bytes += s.ipBytes;
    if (s.firstTs < start) start = s.firstTs;
    if (s.lastTs > end) end = s.lastTs;
    if (s.clockRate !== null) {
      maxJitter = Math.max(maxJitter ?? 0, s.maxJitter);
      jitterWeighted += s.meanJitter * s.totalNr;
      jitterPackets += s.totalNr;
    }
    if (s.totalNr > main.totalNr) main = s;
  }
  const span = end - start;
  const need = nominalKbps(main.codec);
  return {
    metrics: {
      lossPct: expected > 0 ? round((Math.max(0, lost) * 100) / expected, 3) : null,
      maxJitterMs: maxJitter !== null ? round(maxJitter, 3) : null,
      kbps: span > 0 ? round((bytes * 8) / 1000 / span, 3) : null,
      meanJitterMs: jitterPackets > 0 ? round(jitterWeighted / jitterPackets, 3) : null,
      packets,
    },
    activeKbps: need !== null ? activeKbps(main) : null,
    needKbps: need,
  };
}

/**
 * Kbps of a stream over its active timeline buckets only, so that silence
 * suppression (DTX, comfort noise) does not read as a bandwidth shortfall.
 */
function activeKbps(s: RtpStream): number | null {
  return s.activeKbps(ACTIVE_SHARE);
}

function endpoint(ip: string, port: number): Endpoint {
  return { ip, port };
}

function toCall(uid: string, members: Member[], policy: Policy): ReportCall {
  const limits = policy.limits;
  const up: RtpStream[] = [];
  const down: RtpStream[] = [];
  let start = Infinity;
  let end = -Infinity;
  let rttMin = Infinity;
  let rttMax = 0;
  let rttSum = 0;
  let rttSamples = 0;
  let rtcpRttSum = 0;
  let rtcpRttSamples = 0;
  let publicAddress: Endpoint | null = null;
  let selected = members[0];
  let selectedPackets = -1;
  for (const m of members) {
    const f = m.flow;
    if (m.start < start) start = m.start;
    if (m.end > end) end = m.end;
    let packets = 0;
    for (const s of f.streams) {
      const sentByLocal = (s.dir === 0) === m.localIsClient;
      (sentByLocal ? up : down).push(s);
      packets += s.totalNr;
      rtcpRttSum += s.rttSumMs;
      rtcpRttSamples += s.rttSamples;
    }
    if (packets > selectedPackets) {
      selected = m;
      selectedPackets = packets;
    }
    const rtt = f.stun?.rtt();
    if (rtt) {
      rttMin = Math.min(rttMin, rtt.minMs);
      rttMax = Math.max(rttMax, rtt.maxMs);
      rttSum += rtt.meanMs * rtt.samples;
      rttSamples += rtt.samples;
    }
    const side = m.localIsClient ? 0 : 1;
    const mapped = f.stun?.mapped[side];
    if (mapped) publicAddress = endpoint(mapped, f.stun!.mappedPort[side]);
  }
  const upDir = direction(audioStreams(up));
  const downDir = direction(audioStreams(down));
  const rtt =
    rttSamples > 0
      ? { minMs: round(rttMin, 3), meanMs: round(rttSum / rttSamples, 3), maxMs: round(rttMax, 3), samples: rttSamples }
      : null;
  const rttMs = rtt ? rtt.meanMs : rtcpRttSamples > 0 ? round(rtcpRttSum / rtcpRttSamples, 3) : null;

  // MOS of the worse direction; an unknown RTT counts as 0 (a LAN), see docs/media.md.
  const main = [...down, ...up].sort((a, b) => b.totalNr - a.totalNr)[0];
  const codec = main?.codec ?? null;
  let mos: number | null = null;
  let mosG107: number | null = null;
  for (const d of [upDir, downDir]) {
    const jitter = d.metrics.meanJitterMs;
    const loss = d.metrics.lossPct;
    if (jitter == null || loss == null) continue;
    const t = twilioMos(rttMs ?? 0, jitter, loss);
    const g = g107Mos(rttMs ?? 0, jitter, loss, codec);
    if (t !== null && (mos === null || t < mos)) mos = t;
    if (g !== null && (mosG107 === null || g < mosG107)) mosG107 = g;
  }

  const violations: CallViolation[] = [];
  const dirs = [upDir, downDir];
  if (dirs.some((d) => (d.metrics.meanJitterMs ?? 0) > limits.maxJitterMs)) violations.push('jitter');
  if (dirs.some((d) => (d.metrics.lossPct ?? 0) > limits.maxLossPct)) violations.push('loss');
  if (rttMs !== null && rttMs > limits.maxRttMs) violations.push('rtt');
  if (
    dirs.some(
      (d) => d.needKbps !== null && d.activeKbps !== null && d.activeKbps < Math.min(limits.minKbps, d.needKbps) * BANDWIDTH_MARGIN,
    )
  )
    violations.push('bandwidth');
  // One-way: RTP in exactly one direction, or no RTP at all while the remote side never answered (ICE checks into a
  // filter). A short capture with a two-way ICE/DTLS exchange and no RTP yet is not a failure.
  const remoteSilent = members.every((m) => m.flow.packets[m.localIsClient ? 1 : 0] === 0);
  if ((up.length === 0) !== (down.length === 0) || (up.length === 0 && down.length === 0 && remoteSilent)) violations.push('one-way');

  const sf = selected.flow;
  const local = selected.localIsClient ? endpoint(sf.clientIp, sf.clientPort) : endpoint(sf.serverIp, sf.serverPort);
  const remote = selected.localIsClient ? endpoint(sf.serverIp, sf.serverPort) : endpoint(sf.clientIp, sf.clientPort);
  const ssrcs = [...new Set([...up, ...down].sort((a, b) => a.firstTs - b.firstTs).map((s) => s.ssrcText))];
  return {
    uid,
    start: isoTime(start),
    end: isoTime(end),
    durationS: round(Math.max(0, end - start), 3),
    local,
    remote,
    edge: sf.edge ?? members.find((m) => m.flow.edge !== null)?.flow.edge ?? null,
    streams: ssrcs,
    rttMs,
    up: upDir.metrics,
    down: downDir.metrics,
    mos: mos !== null ? round(mos, 2) : null,
    verdict: violations.length ? 'fail' : 'pass',
    violations,
    codec,
    rtt,
    mosG107: mosG107 !== null ? round(mosG107, 2) : null,
    publicAddress,
    flows: members.map((m) => m.flow.uid),
  };
}
