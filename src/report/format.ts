/**
 * Pure formatting and view-model helpers shared by the text report, the HTML
 * report and the Ink UI. Nothing here prints or escapes for a medium: the
 * renderers do that (sanitizeText for terminals, escapeHtml for HTML).
 */
import type { Report, ReportCall, ReportFinding, ReportRtpStream, Severity } from './schema.js';

export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

const SEVERITY_NOUN: Record<Severity, [string, string]> = {
  error: ['error', 'errors'],
  warning: ['warning', 'warnings'],
  info: ['note', 'notes'],
};

/** "1 call", "12,345 packets". */
export function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

export function severityCounts(findings: readonly ReportFinding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}

/** "2 errors, 1 warning" (notes are left out: they never change the verdict). */
export function countsPhrase(findings: readonly ReportFinding[]): string {
  const counts = severityCounts(findings);
  const parts = (['error', 'warning'] as const).filter((s) => counts[s] > 0).map((s) => plural(counts[s], ...SEVERITY_NOUN[s]));
  return parts.length ? parts.join(', ') : 'no errors or warnings';
}

export function severityHeading(severity: Severity, n: number): string {
  return `${SEVERITY_NOUN[severity][1].toUpperCase()} (${n})`;
}

const VERDICT_SENTENCE: Record<Report['verdict'], string> = {
  pass: 'this network meets the Spoke calling requirements',
  warn: 'Spoke calls should work on this network, with problems to fix',
  fail: 'Spoke calls will not work on this network',
};

/** "FAIL — Spoke calls will not work on this network: 2 errors, 1 warning". */
export function verdictLine(report: Pick<Report, 'verdict' | 'findings'>): string {
  return `${report.verdict.toUpperCase()} — ${verdictSentence(report)}: ${countsPhrase(report.findings)}`;
}

/** Errors that only concern call quality mean calls connect but sound bad; nothing tested is not a pass. */
function verdictSentence(report: Pick<Report, 'verdict' | 'findings'>): string {
  const worst = report.verdict === 'fail' ? 'error' : 'warning';
  const blocking = report.findings.filter((f) => f.severity === worst);
  if (report.verdict === 'fail' && blocking.every((f) => QUALITY_IDS.has(f.id))) {
    return 'calls connect, but this network does not meet the call-quality requirements';
  }
  if (report.verdict === 'warn' && blocking.length === 1 && blocking[0].id === 'not-tested') {
    return 'no Spoke or Twilio traffic in this capture, so nothing was tested';
  }
  return VERDICT_SENTENCE[report.verdict];
}

const QUALITY_IDS = new Set(['call-jitter', 'call-loss', 'call-rtt', 'call-bandwidth']);

/** Findings in display order: errors, then warnings, then notes; stable within a severity. */
export function findingsInOrder(findings: readonly ReportFinding[]): ReportFinding[] {
  return SEVERITIES.flatMap((s) => findings.filter((f) => f.severity === s));
}

// ---- numbers -------------------------------------------------------------

export const NONE = '-';

export function fixed(n: number | null | undefined, digits: number): string {
  return n === null || n === undefined || !Number.isFinite(n) ? NONE : n.toFixed(digits);
}

export function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

export function fmtBytes(n: number): string {
  let v = n;
  let unit = 0;
  while (v >= 1000 && unit < BYTE_UNITS.length - 1) {
    v /= 1000;
    unit++;
  }
  return unit === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${BYTE_UNITS[unit]}`;
}

/** "4.2 s", "3m 05s", "1h 02m". */
export function fmtDuration(s: number | null): string {
  if (s === null || !Number.isFinite(s) || s < 0) return NONE;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const sec = whole % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m ${String(sec).padStart(2, '0')}s`;
}

/** "2025-03-14 09:30:00 UTC" from the report's ISO time (microseconds dropped). */
export function fmtTime(iso: string | null): string {
  if (!iso) return NONE;
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

/** "09:30:00.100" (UTC time of day, milliseconds) from the report's ISO time. */
export function fmtClock(iso: string | null): string {
  const m = iso ? /T(\d{2}:\d{2}:\d{2}(?:\.\d{3})?)/.exec(iso) : null;
  return m ? m[1] : NONE;
}

export function fmtEndpoint(e: { ip: string; port: number }): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/** "1, 2, 3 … (+12 more)". */
export function fmtList(items: ReadonlyArray<string | number>, max = 8): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} … (+${items.length - max} more)`;
}

/** ETA in seconds from bytes read so far, or null when it cannot be estimated. */
export function etaSeconds(bytesRead: number, bytesTotal: number | null, elapsedS: number): number | null {
  if (!bytesTotal || bytesRead <= 0 || elapsedS <= 0 || bytesRead >= bytesTotal) return null;
  return ((bytesTotal - bytesRead) * elapsedS) / bytesRead;
}

// ---- layout --------------------------------------------------------------

/** Greedy word wrap to `width` columns; words longer than a line are split. */
export function wrap(text: string, width: number): string[] {
  const w = Math.max(8, width);
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (let word of paragraph.split(/ +/)) {
      while (word.length > w) {
        if (line) lines.push(line);
        lines.push(word.slice(0, w));
        word = word.slice(w);
        line = '';
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= w) line += ' ' + word;
      else {
        lines.push(line);
        line = word;
      }
    }
    lines.push(line);
  }
  return lines;
}

/** Cut to `width` characters, marking the cut with an ellipsis. */
export function clip(s: string, width: number): string {
  return s.length <= width ? s : width <= 1 ? s.slice(0, width) : s.slice(0, width - 1) + '…';
}

// ---- calls ---------------------------------------------------------------

export interface CallSeries {
  jitterMs: Array<number | null>;
  lossPct: Array<number | null>;
  kbps: Array<number | null>;
}

export interface CallStreams {
  up: ReportRtpStream | null;
  down: ReportRtpStream | null;
}

const sameEndpoint = (a: { ip: string; port: number }, b: { ip: string; port: number }) => a.ip === b.ip && a.port === b.port;

/** The call's uplink (sent from the local endpoint) and downlink streams. */
export function callStreams(call: ReportCall, streams: readonly ReportRtpStream[]): CallStreams {
  const mine = streams.filter((s) => call.streams.includes(s.ssrc) && (sameEndpoint(s.src, call.local) || sameEndpoint(s.dst, call.local)));
  return {
    up: mine.find((s) => sameEndpoint(s.src, call.local)) ?? null,
    down: mine.find((s) => sameEndpoint(s.dst, call.local)) ?? null,
  };
}

/** Per-second series of one stream; seconds without packets carry null jitter and loss. */
export function streamSeries(stream: ReportRtpStream | null): CallSeries {
  const series: CallSeries = { jitterMs: [], lossPct: [], kbps: [] };
  if (!stream) return series;
  for (const p of stream.timeline) {
    const expected = p.packets + p.lost;
    series.jitterMs.push(p.jitterMs);
    series.lossPct.push(expected > 0 ? (Math.max(0, p.lost) * 100) / expected : null);
    series.kbps.push(p.kbps);
  }
  return series;
}

/** "pass", or "FAIL jitter, loss" naming the violated limits. */
export function callVerdictText(call: ReportCall): string {
  return call.verdict === 'pass' ? 'pass' : `FAIL ${call.violations.join(', ')}`;
}

/** "█████░░░░░" for a fraction 0..1 in `width` cells. */
export function progressBar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return '█'.repeat(filled) + '░'.repeat(Math.max(0, width - filled));
}
