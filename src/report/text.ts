/**
 * The plain-text report (non-TTY stdout and --no-tui). Every string that came
 * from the wire or from a file goes through sanitizeText before it is printed;
 * ANSI colour is added only when asked for.
 */
import {
  callStreams,
  callVerdictText,
  findingsInOrder,
  fixed,
  fmtBytes,
  fmtDuration,
  fmtEndpoint,
  fmtInt,
  fmtList,
  fmtTime,
  severityHeading,
  SEVERITIES,
  streamSeries,
  verdictLine,
  wrap,
} from './format.js';
import { sanitizeText } from './sanitize.js';
import type { ChecklistItem, Report, ReportCall, ReportFinding, ReportFlow, Severity } from './schema.js';
import { sparkline } from './sparkline.js';

export interface TextOptions {
  color: boolean;
  /** Terminal columns; prose is wrapped to fit. */
  width: number;
}

type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan';
const SGR: Record<Style, string> = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33', cyan: '36' };

/** A table cell: its text (already sanitised) and an optional style. */
type Cell = string | { text: string; style: Style };

const SEVERITY_STYLE: Record<Severity, Style> = { error: 'red', warning: 'yellow', info: 'cyan' };
const SEVERITY_MARK: Record<Severity, string> = { error: '✗', warning: '!', info: 'i' };
const VERDICT_STYLE: Record<Report['verdict'], Style> = { pass: 'green', warn: 'yellow', fail: 'red' };
const CHECK_MARK: Record<ChecklistItem['status'], [string, string, Style]> = {
  'seen-ok': ['✓', 'seen, ok', 'green'],
  'seen-failing': ['✗', 'seen, failing', 'red'],
  'not-seen': ['-', 'not seen', 'dim'],
};

/** A wire or file name, safe for a terminal. */
const name = (s: string): string => sanitizeText(s);
/** Longer text (details, remedies, filters), safe for a terminal. */
const prose = (s: string): string => sanitizeText(s, 4096);

const SPARK_WIDTH = 40;

export function renderText(report: Report, opts: TextOptions): string {
  const paint = (style: Style, s: string): string => (opts.color ? `\x1b[${SGR[style]}m${s}\x1b[0m` : s);
  const width = Math.max(40, opts.width);
  const out: string[] = [];
  const heading = (title: string) => out.push('', paint('bold', title));
  const table = (rows: Cell[][], indent = '  ') => {
    const text = (c: Cell) => (typeof c === 'string' ? c : c.text);
    const widths: number[] = [];
    for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, text(c).length)));
    for (const row of rows) {
      const cells = row.map((c, i) => {
        const padded = i === row.length - 1 ? text(c) : text(c).padEnd(widths[i]);
        return typeof c === 'string' ? padded : paint(c.style, padded);
      });
      out.push((indent + cells.join('  ')).trimEnd());
    }
  };
  const paragraph = (label: string, value: string, indent: string) => {
    const lead = `${indent}${label.padEnd(8)}`;
    wrap(value, width - lead.length).forEach((line, i) => out.push(i === 0 ? `${lead}${line}` : ' '.repeat(lead.length) + line));
  };

  out.push(paint('bold', paint(VERDICT_STYLE[report.verdict], verdictLine(report))));
  const cap = report.capture;
  out.push(
    paint(
      'dim',
      `${fmtInt(cap.packets)} packets from ${fmtList(cap.sources.map((s) => name(s.path)), 3)}${cap.start ? `, ${fmtTime(cap.start)} for ${fmtDuration(cap.durationS)}` : ''}; policy ${name(report.policy.name)}, edge ${name(report.policy.edge)}`,
    ),
  );

  renderFindings(report.findings);
  renderChecklist(report.checklist);
  renderCalls(report);
  renderFlows(report);
  renderCapture(report);
  return out.join('\n') + '\n';

  function renderFindings(findings: readonly ReportFinding[]) {
    if (findings.length === 0) {
      heading('FINDINGS');
      out.push('  none');
      return;
    }
    const ordered = findingsInOrder(findings);
    for (const severity of SEVERITIES) {
      const group = ordered.filter((f) => f.severity === severity);
      if (group.length === 0) continue;
      heading(paint(SEVERITY_STYLE[severity], severityHeading(severity, group.length)));
      for (const f of group) {
        out.push(`  ${paint(SEVERITY_STYLE[severity], SEVERITY_MARK[severity])} ${paint('bold', prose(f.title))} ${paint('dim', `[${name(f.id)}]`)}`);
        if (f.detail) wrap(prose(f.detail), width - 4).forEach((line) => out.push(`    ${line}`));
        if (f.frames.length) paragraph('frames', fmtList(f.frames, 12), '    ');
        if (f.flows.length) paragraph('flows', fmtList(f.flows.map(name), 12), '    ');
        if (f.wiresharkFilter) paragraph('filter', prose(f.wiresharkFilter), '    ');
        if (f.remedy) paragraph('remedy', prose(f.remedy), '    ');
      }
    }
  }

  function renderChecklist(items: readonly ChecklistItem[]) {
    heading('REQUIREMENTS');
    if (items.length === 0) {
      out.push('  no requirements in the policy');
      return;
    }
    table(
      items.map((item) => {
        const [mark, words, style] = CHECK_MARK[item.status];
        return [{ text: mark, style }, name(item.label), { text: words, style }, fmtList(item.flows.map(name), 6)];
      }),
    );
  }

  function renderCalls(r: Report) {
    heading(`CALLS (${r.calls.length})`);
    if (r.calls.length === 0) {
      out.push('  no calls found');
      return;
    }
    const limits = r.policy.limits;
    const header: Cell[] = ['call', 'edge', 'duration', 'loss % ↑/↓', 'jitter ms ↑/↓', 'kbps ↑/↓', 'RTT ms', 'MOS', 'verdict'].map((h) => ({
      text: h,
      style: 'dim' as const,
    }));
    table([header, ...r.calls.map(callRow)]);
    for (const call of r.calls) {
      const { up, down } = callStreams(call, r.rtpStreams);
      const upSeries = streamSeries(up);
      const downSeries = streamSeries(down);
      out.push(paint('dim', `  ${name(call.uid)} per second (${fmtEndpoint(call.local)} ⇄ ${fmtEndpoint(call.remote)})`));
      table(
        [
          ['jitter ↑', sparkline(upSeries.jitterMs, SPARK_WIDTH, limits?.maxJitterMs), '↓', sparkline(downSeries.jitterMs, SPARK_WIDTH, limits?.maxJitterMs)],
          ['loss   ↑', sparkline(upSeries.lossPct, SPARK_WIDTH, limits?.maxLossPct), '↓', sparkline(downSeries.lossPct, SPARK_WIDTH, limits?.maxLossPct)],
        ],
        '    ',
      );
    }
  }

  function callRow(call: ReportCall): Cell[] {
    const pair = (a: number | null | undefined, b: number | null | undefined, digits: number) => `${fixed(a, digits)} / ${fixed(b, digits)}`;
    return [
      name(call.uid),
      name(call.edge ?? '-'),
      fmtDuration(call.durationS),
      pair(call.up.lossPct, call.down.lossPct, 1),
      pair(call.up.maxJitterMs, call.down.maxJitterMs, 1),
      pair(call.up.kbps, call.down.kbps, 0),
      fixed(call.rttMs, 0),
      fixed(call.mos, 2),
      { text: callVerdictText(call), style: call.verdict === 'pass' ? 'green' : 'red' },
    ];
  }

  function renderFlows(r: Report) {
    const omitted = r.summary.flowsOmitted ? ` (${fmtInt(r.summary.flowsOmitted)} not listed in the report)` : '';
    heading(`FLOWS (${fmtInt(r.summary.flowsTotal)})${omitted}`);
    const byClass = new Map<string, ReportFlow[]>();
    for (const f of r.flows) byClass.set(f.class, [...(byClass.get(f.class) ?? []), f]);
    const rows: Cell[][] = [['class', 'flows', 'packets', 'bytes', 'destinations'].map((h) => ({ text: h, style: 'dim' as const }))];
    for (const [cls, count] of Object.entries(r.summary.flowsByClass).sort((a, b) => b[1] - a[1])) {
      const flows = byClass.get(cls) ?? [];
      const packets = flows.reduce((n, f) => n + f.packets.client + f.packets.server, 0);
      const bytes = flows.reduce((n, f) => n + f.bytes.client + f.bytes.server, 0);
      const destinations = [...new Set(flows.map(destination))];
      rows.push([name(cls), fmtInt(count), fmtInt(packets), fmtBytes(bytes), fmtList(destinations, 3)]);
    }
    table(rows);
  }

  function renderCapture(r: Report) {
    heading('CAPTURE');
    const c = r.capture;
    for (const s of c.sources) {
      const facts = [s.format + (s.gzip ? ' (gzip)' : ''), s.linkTypes.map(name).join(', '), `${fmtInt(s.packets)} packets`, fmtBytes(s.bytes)];
      if (s.snaplen !== null) facts.push(`snaplen ${s.snaplen}`);
      out.push(`  ${name(s.path)}: ${facts.join(', ')}${s.truncated ? paint('yellow', ', truncated') : ''}`);
      for (const e of s.errors) out.push(paint('yellow', `    error at offset ${e.offset}: ${prose(e.message)}`));
      for (const w of s.warnings) out.push(paint('yellow', `    warning: ${prose(w)}`));
    }
    const rows: Cell[][] = [
      ['packets', fmtInt(c.packets)],
      ['start', fmtTime(c.start)],
      ['end', fmtTime(c.end)],
      ['duration', fmtDuration(c.durationS)],
    ];
    const malformed = Object.entries(c.malformedByReason).map(([reason, n]) => `${name(reason)} ${n}`);
    rows.push(['malformed', fmtInt(c.malformedPackets) + (malformed.length ? ` (${malformed.join(', ')})` : '')]);
    const evictions = Object.entries(c.evictions).filter(([, n]) => n > 0);
    if (evictions.length) rows.push(['evicted', evictions.map(([table, n]) => `${table} ${fmtInt(n)}`).join(', ')]);
    table(rows);
    for (const w of c.warnings) out.push(paint('yellow', `  warning: ${prose(w)}`));
  }
}

/** What a flow went to, by its best name. */
function destination(f: ReportFlow): string {
  return name(f.sni ?? f.dnsName ?? fmtEndpoint(f.server));
}
