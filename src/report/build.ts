/** Record builders: internal state → the JSON contract (src/report/schema.ts). */
import type { SourceInfo } from '../capture/types.js';
import { protoName, type Flow } from '../flow/flow.js';
import type { ReportFlow, ReportSource } from './schema.js';
import { sanitizeText } from './sanitize.js';

/** ISO-8601 UTC with microseconds, from seconds since the epoch. */
export function isoTime(ts: number): string {
  let sec = Math.floor(ts);
  let micros = Math.round((ts - sec) * 1e6);
  if (micros >= 1e6) {
    sec += 1;
    micros -= 1e6;
  }
  const d = new Date(sec * 1000);
  if (Number.isNaN(d.getTime())) return '1970-01-01T00:00:00.000000Z';
  return `${d.toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}Z`;
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function toReportFlow(f: Flow): ReportFlow {
  const rtt = f.synToSynAck;
  return {
    uid: f.uid,
    proto: protoName(f.proto),
    client: { ip: f.clientIp, port: f.clientPort },
    server: { ip: f.serverIp, port: f.serverPort },
    firstSeen: isoTime(f.firstTs),
    lastSeen: isoTime(f.lastTs),
    packets: { client: f.packets[0], server: f.packets[1] },
    bytes: { client: f.bytes[0], server: f.bytes[1] },
    state: f.state,
    sni: f.tls?.sni != null ? sanitizeText(f.tls.sni) : null,
    dnsName: f.dnsName != null ? sanitizeText(f.dnsName) : null,
    class: f.cls ?? 'other',
    service: f.service,
    edge: f.edge,
    classifiedBy: f.classifiedBy,
    history: f.proto === 6 ? f.history : null,
    clientType: f.clientType,
    alpn: f.tls?.alpn ? f.tls.alpn.map((a) => sanitizeText(a)) : null,
    tlsVersion: f.tls?.version ?? null,
    handshakeRttMs: rtt != null ? round(rtt * 1000) : null,
    firstFrame: f.firstFrame,
    conflicts: f.conflicts,
    notes: f.notes.map((n) => sanitizeText(n, 500)),
  };
}

export function toReportSource(s: SourceInfo): ReportSource {
  return {
    path: s.path,
    format: s.format,
    linkTypes: s.linkTypes,
    packets: s.packets,
    bytes: s.bytes,
    truncated: s.truncated,
    errors: s.errors,
    gzip: s.gzip,
    snaplen: s.snaplen,
    warnings: s.warnings,
  };
}
