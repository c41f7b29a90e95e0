/**
 * What each tab shows, as plain data: lines of styled segments, built from the
 * Report and the UI state. The Ink components only draw these lines, so all
 * layout decisions (and their sanitising) are here and tested without a terminal.
 */
import {
  callStreams,
  callVerdictText,
  clip,
  findingsInOrder,
  fixed,
  fmtBytes,
  fmtDuration,
  fmtEndpoint,
  fmtInt,
  fmtList,
  fmtTime,
  streamSeries,
  wrap,
} from '../report/format.js';
import { sanitizeText } from '../report/sanitize.js';
import type { ChecklistItem, Report, Severity } from '../report/schema.js';
import { sparkline } from '../report/sparkline.js';
import type { TabId, UiState } from './keys.js';

export type Tone = 'red' | 'yellow' | 'green' | 'cyan' | 'gray';

export interface Segment {
  text: string;
  tone?: Tone;
  bold?: boolean;
  /** The selected row. */
  selected?: boolean;
}

export type Line = Segment[];

export interface Screen {
  lines: Line[];
  /** Line range [first, last] that must stay visible (the selected row and its expansion). */
  focus: [number, number];
}

const name = (s: string): string => sanitizeText(s);
const prose = (s: string): string => sanitizeText(s, 4096);

export const SEVERITY_TONE: Record<Severity, Tone> = { error: 'red', warning: 'yellow', info: 'cyan' };
const SEVERITY_LABEL: Record<Severity, string> = { error: 'error  ', warning: 'warning', info: 'note   ' };
const CHECK: Record<ChecklistItem['status'], [string, Tone]> = {
  'seen-ok': ['✓ ok     ', 'green'],
  'seen-failing': ['✗ failing', 'red'],
  'not-seen': ['- not seen', 'gray'],
};

/** How many selectable rows each tab has (what ↑/↓ move over). */
export function rowCounts(report: Report, captureLines: number): Record<TabId, number> {
  return { findings: report.findings.length, calls: report.calls.length, flows: report.flows.length, capture: captureLines };
}

export function buildScreen(report: Report, ui: UiState, width: number): Screen {
  switch (ui.tab) {
    case 'findings':
      return findingsScreen(report, ui.selected.findings, ui.expanded.findings, width);
    case 'calls':
      return callsScreen(report, ui.selected.calls, width);
    case 'flows':
      return flowsScreen(report, ui.selected.flows, ui.expanded.flows, width);
    case 'capture': {
      const lines = captureLines(report, width);
      const at = Math.min(ui.selected.capture, Math.max(0, lines.length - 1));
      return { lines, focus: [at, at] };
    }
  }
}

/** A selectable row: a marker, then its segments, all flagged as selected when it is. */
function row(selected: boolean, segments: Segment[]): Line {
  return [{ text: selected ? '› ' : '  ', bold: selected }, ...segments.map((s) => (selected ? { ...s, selected: true } : s))];
}

function indented(label: string, text: string, width: number, tone?: Tone): Line[] {
  const lead = `    ${`${label} `.padEnd(10)}`;
  return wrap(text, width - lead.length).map((chunk, i) => [{ text: i === 0 ? lead : ' '.repeat(lead.length), tone: 'gray' }, { text: chunk, tone }]);
}

export function findingsScreen(report: Report, selected: number, expanded: number | null, width: number): Screen {
  const lines: Line[] = [];
  let focus: [number, number] = [0, 0];
  const findings = findingsInOrder(report.findings);
  if (findings.length === 0) lines.push([{ text: '  No findings: nothing on this capture breaks the policy.', tone: 'green' }]);
  findings.forEach((f, i) => {
    const start = lines.length;
    const tone = SEVERITY_TONE[f.severity];
    lines.push(row(i === selected, [{ text: SEVERITY_LABEL[f.severity], tone, bold: true }, { text: ' ' }, { text: clip(prose(f.title), width - 12) }]));
    if (i === expanded) {
      for (const chunk of wrap(prose(f.detail), width - 4)) lines.push([{ text: `    ${chunk}` }]);
      if (f.frames.length) lines.push(...indented('frames', fmtList(f.frames, 12), width));
      if (f.flows.length) lines.push(...indented('flows', fmtList(f.flows.map(name), 12), width));
      if (f.wiresharkFilter) lines.push(...indented('filter', prose(f.wiresharkFilter), width, 'cyan'));
      if (f.remedy) lines.push(...indented('remedy', prose(f.remedy), width, 'green'));
      lines.push(...indented('id', name(f.id), width));
    }
    if (i === selected) focus = [start, lines.length - 1];
  });
  if (report.checklist.length) {
    lines.push([], [{ text: 'Requirements', bold: true }]);
    for (const item of report.checklist) {
      const [mark, tone] = CHECK[item.status];
      lines.push([{ text: `  ${mark.padEnd(11)}`, tone }, { text: clip(name(item.label), width - 14) }]);
    }
  }
  return { lines, focus };
}

export function callsScreen(report: Report, selected: number, width: number): Screen {
  if (report.calls.length === 0) return { lines: [[{ text: '  No calls found in this capture.' }]], focus: [0, 0] };
  const pair = (a: number | null | undefined, b: number | null | undefined, digits: number) => `${fixed(a, digits)}/${fixed(b, digits)}`;
  const cols = [6, 5, 8, 11, 12, 9, 5, 5];
  const cells = (values: string[]) => values.map((v, i) => (i < cols.length ? v.padEnd(cols[i]) : v)).join(' ');
  const lines: Line[] = [[{ text: '  ' + cells(['call', 'edge', 'duration', 'loss% ↑/↓', 'jitter ↑/↓', 'kbps ↑/↓', 'RTT', 'MOS', 'verdict']), tone: 'gray' }]];
  let focus: [number, number] = [1, 1];
  const limits = report.policy.limits;
  const sparkWidth = Math.max(10, Math.min(60, width - 16));
  report.calls.forEach((call, i) => {
    const start = lines.length;
    const text = cells([
      name(call.uid),
      name(call.edge ?? '-'),
      fmtDuration(call.durationS),
      pair(call.up.lossPct, call.down.lossPct, 1),
      pair(call.up.maxJitterMs, call.down.maxJitterMs, 1),
      pair(call.up.kbps, call.down.kbps, 0),
      fixed(call.rttMs, 0),
      fixed(call.mos, 2),
      '',
    ]);
    lines.push(row(i === selected, [{ text: text }, { text: callVerdictText(call), tone: call.verdict === 'pass' ? 'green' : 'red', bold: true }]));
    if (i === selected) {
      const { up, down } = callStreams(call, report.rtpStreams);
      const u = streamSeries(up);
      const d = streamSeries(down);
      lines.push([{ text: `    ${fmtEndpoint(call.local)} ⇄ ${fmtEndpoint(call.remote)}  ${name(call.codec ?? '')}  ${fmtTime(call.start)}`, tone: 'gray' }]);
      const spark = (label: string, values: Array<number | null>, max: number | undefined, tone: Tone): Line => [
        { text: `    ${label.padEnd(10)}`, tone: 'gray' },
        { text: sparkline(values, sparkWidth, max), tone },
      ];
      lines.push(
        spark('jitter ↑', u.jitterMs, limits?.maxJitterMs, 'yellow'),
        spark('jitter ↓', d.jitterMs, limits?.maxJitterMs, 'yellow'),
        spark('loss ↑', u.lossPct, limits?.maxLossPct, 'red'),
        spark('loss ↓', d.lossPct, limits?.maxLossPct, 'red'),
        spark('kbps ↑', u.kbps, undefined, 'cyan'),
        spark('kbps ↓', d.kbps, undefined, 'cyan'),
      );
      if (limits) lines.push([{ text: `    full block = the limit: jitter ${limits.maxJitterMs} ms, loss ${limits.maxLossPct} %`, tone: 'gray' }]);
      focus = [start, lines.length - 1];
    }
  });
  return { lines, focus };
}

export function flowsScreen(report: Report, selected: number, expanded: number | null, width: number): Screen {
  const byClass = Object.entries(report.summary.flowsByClass)
    .sort((a, b) => b[1] - a[1])
    .map(([cls, n]) => `${name(cls)} ${fmtInt(n)}`)
    .join('  ');
  const omitted = report.summary.flowsOmitted ? ` (+${fmtInt(report.summary.flowsOmitted)} not in the report)` : '';
  const lines: Line[] = [[{ text: clip(`  ${byClass}${omitted}`, width), tone: 'gray' }]];
  let focus: [number, number] = [0, 0];
  report.flows.forEach((f, i) => {
    const start = lines.length;
    const label = name(f.sni ?? f.dnsName ?? f.service ?? '');
    const text = `${name(f.uid).padEnd(6)} ${name(f.class).padEnd(17)} ${name(f.proto).padEnd(5)} ${fmtEndpoint(f.server).padEnd(22)} ${name(f.state).padEnd(5)} `;
    lines.push(row(i === selected, [{ text }, { text: clip(label, Math.max(8, width - text.length - 3)), tone: 'cyan' }]));
    if (i === expanded) {
      const facts: Array<[string, string]> = [
        ['client', fmtEndpoint(f.client)],
        ['packets', `${fmtInt(f.packets.client)} ↑ ${fmtInt(f.packets.server)} ↓`],
        ['bytes', `${fmtBytes(f.bytes.client)} ↑ ${fmtBytes(f.bytes.server)} ↓`],
        ['seen', `${fmtTime(f.firstSeen)} → ${fmtTime(f.lastSeen)}`],
        ['frame', String(f.firstFrame)],
      ];
      if (f.history) facts.push(['history', name(f.history)]);
      if (f.sni) facts.push(['sni', name(f.sni)]);
      if (f.dnsName) facts.push(['dns', name(f.dnsName)]);
      if (f.service || f.edge) facts.push(['service', [f.service, f.edge].filter(Boolean).map((s) => name(s!)).join(', edge ')]);
      if (f.tlsVersion) facts.push(['tls', [f.tlsVersion, ...(f.alpn ?? [])].map(name).join(', ')]);
      if (f.handshakeRttMs !== null) facts.push(['setup', `${fixed(f.handshakeRttMs, 1)} ms`]);
      facts.push(['by', f.classifiedBy.join(', ') || '-']);
      for (const c of f.conflicts) facts.push(['conflict', name(c)]);
      for (const n of f.notes) facts.push(['note', prose(n)]);
      for (const [k, v] of facts) lines.push(...indented(k, v, width));
    }
    if (i === selected) focus = [start, lines.length - 1];
  });
  return { lines, focus };
}

export function captureLines(report: Report, width: number): Line[] {
  const c = report.capture;
  const lines: Line[] = [];
  const fact = (k: string, v: string, tone?: Tone) => lines.push(...indented(k, v, width, tone).map((l) => [{ text: '' }, ...l]));
  for (const s of c.sources) {
    lines.push([{ text: `  ${name(s.path)}`, bold: true }]);
    fact('format', `${s.format}${s.gzip ? ' (gzip)' : ''}, ${s.linkTypes.map(name).join(', ')}${s.snaplen !== null ? `, snaplen ${s.snaplen}` : ''}`);
    fact('size', `${fmtInt(s.packets)} packets, ${fmtBytes(s.bytes)}${s.truncated ? ', truncated' : ''}`, s.truncated ? 'yellow' : undefined);
    for (const e of s.errors) fact('error', `at offset ${e.offset}: ${prose(e.message)}`, 'yellow');
    for (const w of s.warnings) fact('warning', prose(w), 'yellow');
  }
  lines.push([]);
  fact('packets', fmtInt(c.packets));
  fact('start', fmtTime(c.start));
  fact('end', fmtTime(c.end));
  fact('duration', fmtDuration(c.durationS));
  const malformed = Object.entries(c.malformedByReason).map(([r, n]) => `${name(r)} ${n}`);
  fact('malformed', `${fmtInt(c.malformedPackets)}${malformed.length ? ` (${malformed.join(', ')})` : ''}`);
  const evicted = Object.entries(c.evictions).filter(([, n]) => n > 0);
  fact('evicted', evicted.length ? evicted.map(([t, n]) => `${t} ${fmtInt(n)}`).join(', ') : 'nothing');
  for (const w of c.warnings) fact('warning', prose(w), 'yellow');
  fact('policy', `${name(report.policy.name)}, edge ${name(report.policy.edge)}`);
  fact('internal', report.policy.internal.map(name).join(', '));
  return lines;
}

/**
 * The slice of `lines` that fits `height` rows and shows the focus range
 * (its start, if the range is taller than the window).
 */
export function visibleWindow(screen: Screen, height: number): { lines: Line[]; first: number } {
  const total = screen.lines.length;
  if (total <= height) return { lines: screen.lines, first: 0 };
  const [start, end] = screen.focus;
  let first = Math.max(0, Math.min(end - height + 1, total - height));
  if (start < first) first = start;
  first = Math.max(0, Math.min(first, total - height));
  return { lines: screen.lines.slice(first, first + height), first };
}
