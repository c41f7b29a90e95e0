/**
 * A runtime check of the JSON contract (../shared/CONTRACT.md), independent of
 * our TypeScript types: it walks a parsed report and lists every deviation.
 */
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === 'string';
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const int: Check = (v) => Number.isInteger(v);
const bool: Check = (v) => typeof v === 'boolean';
const iso: Check = (v) => typeof v === 'string' && ISO.test(v);
const orNull = (c: Check): Check => (v) => v === null || c(v);
const oneOf = (...xs: unknown[]): Check => (v) => xs.includes(v);
const arrayOf = (c: Check): Check => (v) => Array.isArray(v) && v.every(c);
const endpoint: Check = (v) => !!v && typeof v === 'object' && str((v as any).ip) && int((v as any).port);

function fields(where: string, obj: any, spec: Record<string, Check>, out: string[]): void {
  if (!obj || typeof obj !== 'object') {
    out.push(`${where}: not an object`);
    return;
  }
  for (const [k, check] of Object.entries(spec)) {
    if (!(k in obj)) out.push(`${where}.${k}: missing`);
    else if (!check(obj[k])) out.push(`${where}.${k}: bad value ${JSON.stringify(obj[k])?.slice(0, 80)}`);
  }
}

export const CONTRACT_FINDING_IDS = [
  'tcp-blocked', 'tcp-refused', 'icmp-unreachable', 'udp-no-return', 'dns-failure', 'tls-failure', 'vpn-tunnel',
  'mpls', 'vdi-session', 'inbound-connection', 'slow-setup', 'call-jitter', 'call-loss', 'call-rtt',
  'call-bandwidth', 'one-way-audio', 'capture-quality',
];

export function contractViolations(r: any): string[] {
  const out: string[] = [];
  fields('report', r, {
    schema: oneOf('spokecap.report/1'),
    tool: (v: any) => v && v.name === 'spokecap' && str(v.version),
    capture: (v) => !!v,
    flows: Array.isArray,
    rtpStreams: Array.isArray,
    calls: Array.isArray,
    findings: Array.isArray,
    verdict: oneOf('pass', 'warn', 'fail'),
  }, out);
  if (out.length) return out;
  fields('capture', r.capture, {
    sources: Array.isArray, packets: int, start: orNull(iso), end: orNull(iso), malformedPackets: int, warnings: arrayOf(str),
  }, out);
  r.capture.sources.forEach((s: any, i: number) =>
    fields(`capture.sources[${i}]`, s, {
      path: str, format: oneOf('pcap', 'pcapng'), linkTypes: arrayOf(str), packets: int, bytes: int, truncated: bool,
      errors: arrayOf((e: any) => e && int(e.offset) && str(e.message)),
    }, out));
  r.flows.forEach((f: any, i: number) =>
    fields(`flows[${i}]`, f, {
      uid: str, proto: str, client: endpoint, server: endpoint, firstSeen: iso, lastSeen: iso,
      packets: (v: any) => v && int(v.client) && int(v.server), bytes: (v: any) => v && int(v.client) && int(v.server),
      state: str, sni: orNull(str), dnsName: orNull(str),
      class: oneOf('spoke-signalling', 'twilio-signalling', 'twilio-media', 'dns', 'tunnel', 'vdi', 'other'),
      service: orNull(str), edge: orNull(str), classifiedBy: arrayOf(oneOf('sni', 'dns', 'cidr', 'port', 'nrb', 'payload')),
    }, out));
  r.rtpStreams.forEach((s: any, i: number) =>
    fields(`rtpStreams[${i}]`, s, {
      ssrc: (v) => typeof v === 'string' && /^0x[0-9a-f]{8}$/.test(v), src: endpoint, dst: endpoint, payloadType: int,
      codec: orNull(str), clockRate: orNull(int), packets: int, expected: int, lost: int, lossPct: num, duplicates: int,
      outOfOrder: int, maxDeltaMs: num, meanJitterMs: orNull(num), maxJitterMs: orNull(num), kbps: num,
      srtp: orNull(bool), start: iso, end: iso,
    }, out));
  const metrics = (v: any) => v && orNull(num)(v.lossPct) && orNull(num)(v.maxJitterMs) && orNull(num)(v.kbps);
  r.calls.forEach((c: any, i: number) =>
    fields(`calls[${i}]`, c, {
      uid: str, start: iso, end: iso, durationS: num, local: endpoint, remote: endpoint, edge: orNull(str),
      streams: arrayOf(str), rttMs: orNull(num), up: metrics, down: metrics, mos: orNull(num),
      verdict: oneOf('pass', 'fail'), violations: arrayOf(oneOf('jitter', 'loss', 'rtt', 'bandwidth', 'one-way')),
    }, out));
  r.findings.forEach((f: any, i: number) =>
    fields(`findings[${i}]`, f, {
      id: str, severity: oneOf('error', 'warning', 'info'), title: str, detail: str, flows: arrayOf(str),
      frames: arrayOf(int), wiresharkFilter: str, remedy: str,
    }, out));
  const hasError = r.findings.some((f: any) => f.severity === 'error');
  const hasWarn = r.findings.some((f: any) => f.severity === 'warning');
  const expected = hasError ? 'fail' : hasWarn ? 'warn' : 'pass';
  if (r.verdict !== expected) out.push(`verdict: ${r.verdict}, expected ${expected} from the findings`);
  // No raw control characters anywhere (names from the wire are sanitised).
  const raw = JSON.stringify(r);
  if (/\\u00(0[0-8]|0b|0c|0e|0f|1[0-9a-f])|\\u009b|\\u001b/i.test(raw)) out.push('report contains raw control characters');
  return out;
}
