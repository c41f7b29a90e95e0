/**
 * The self-contained HTML report: inline CSS (allowed by its hash), no scripts
 * and a CSP that forbids them, no external requests, print-friendly. Every
 * string from the report goes through escapeHtml.
 */
import { createHash } from 'node:crypto';
import {
  callStreams,
  callVerdictText,
  findingsInOrder,
  fixed,
  fmtBytes,
  fmtClock,
  fmtDuration,
  fmtEndpoint,
  fmtInt,
  fmtList,
  fmtTime,
  severityHeading,
  SEVERITIES,
  streamSeries,
  verdictLine,
} from './format.js';
import { escapeHtml } from './sanitize.js';
import type { ChecklistItem, Report, ReportCall, ReportFinding, ReportFlow } from './schema.js';
import { chart } from './svg.js';

const CSS = `
:root { --fail: #b3261e; --warn: #9a6700; --pass: #1e7b34; --info: #1f5f99; --muted: #5f6368; --line: #dadce0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #202124; margin: 0 auto; max-width: 1180px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; border-bottom: 2px solid var(--line); padding-bottom: 4px; margin: 32px 0 12px; }
h3 { font-size: 15px; margin: 20px 0 8px; }
.banner { border-radius: 8px; padding: 16px 20px; color: #fff; }
.banner.fail { background: var(--fail); } .banner.warn { background: var(--warn); } .banner.pass { background: var(--pass); }
.banner p { margin: 0; opacity: .92; }
.finding { border-left: 4px solid var(--line); padding: 6px 12px; margin: 10px 0; break-inside: avoid; }
.finding.error { border-color: var(--fail); } .finding.warning { border-color: var(--warn); } .finding.info { border-color: var(--info); }
.finding h4 { margin: 0 0 4px; font-size: 15px; }
.finding .id { color: var(--muted); font-weight: normal; font-size: 12px; }
.finding dl { display: grid; grid-template-columns: 6em 1fr; gap: 2px 8px; margin: 6px 0 0; }
.finding dt { color: var(--muted); } .finding dd { margin: 0; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
code.copy { user-select: all; background: #f1f3f4; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12.5px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num, td.mono, table.flows td { white-space: nowrap; }
table.flows td.name { white-space: normal; word-break: break-all; }
table.by-class, table.facts { width: auto; min-width: 320px; }
.status-seen-ok, .verdict-pass { color: var(--pass); font-weight: 600; }
.status-seen-failing, .verdict-fail { color: var(--fail); font-weight: 600; }
.status-not-seen { color: var(--muted); }
.sev-error { color: var(--fail); } .sev-warning { color: var(--warn); } .sev-info { color: var(--info); }
figure { margin: 16px 0 24px; }
.charts { display: flex; flex-wrap: wrap; gap: 8px; break-inside: avoid; }
.chart { border: 1px solid var(--line); border-radius: 4px; background: #fff; }
.chart .grid { stroke: #eceff1; } .chart .axis { stroke: #9aa0a6; }
.chart .tick, .chart .legend { font-size: 10px; fill: var(--muted); }
.chart .chart-title { font-size: 11px; font-weight: 600; fill: #202124; }
.chart .limit { stroke: var(--fail); } .chart .limit-label { font-size: 10px; fill: var(--fail); }
.muted { color: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print { body { padding: 0; max-width: none; } .banner { -webkit-print-color-adjust: exact; print-color-adjust: exact; } h2 { break-after: avoid; } }
`;

const CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'; img-src data:; base-uri 'none'; form-action 'none'`;

/** Flows listed one by one; the rest are counted (the by-class summary has them all). */
const MAX_FLOW_ROWS = 2000;

const e = escapeHtml;
const UP = '#c0392b';
const DOWN = '#2471a3';

export function renderHtml(report: Report): string {
  const cap = report.capture;
  const title = `spokecap report: ${report.verdict.toUpperCase()}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${e(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="banner ${e(report.verdict)}">
<h1 id="verdict">${e(verdictLine(report))}</h1>
<p>${e(`${fmtInt(cap.packets)} packets, ${fmtTime(cap.start)} for ${fmtDuration(cap.durationS)}; policy ${report.policy.name}, edge ${report.policy.edge}`)}</p>
</header>
${findingsSection(report.findings)}
${checklistSection(report.checklist)}
${callsSection(report)}
${flowsSection(report)}
${captureSection(report)}
<footer>${e(`${report.tool.name} ${report.tool.version}, ${report.schema}`)}</footer>
</body>
</html>
`;
}

function findingsSection(findings: readonly ReportFinding[]): string {
  if (findings.length === 0) return `<section id="findings"><h2>Findings</h2><p>No findings.</p></section>`;
  const ordered = findingsInOrder(findings);
  const groups = SEVERITIES.map((severity) => {
    const group = ordered.filter((f) => f.severity === severity);
    if (group.length === 0) return '';
    return `<h3 class="sev-${severity}">${e(severityHeading(severity, group.length))}</h3>\n${group.map(finding).join('\n')}`;
  });
  return `<section id="findings"><h2>Findings</h2>\n${groups.join('\n')}</section>`;
}

function finding(f: ReportFinding): string {
  const rows: string[] = [];
  if (f.remedy) rows.push(`<dt>remedy</dt><dd><code class="copy">${e(f.remedy)}</code></dd>`);
  if (f.wiresharkFilter) rows.push(`<dt>filter</dt><dd><code class="copy">${e(f.wiresharkFilter)}</code></dd>`);
  if (f.frames.length) rows.push(`<dt>frames</dt><dd class="mono">${e(fmtList(f.frames, 20))}</dd>`);
  if (f.flows.length) rows.push(`<dt>flows</dt><dd class="mono">${e(fmtList(f.flows, 20))}</dd>`);
  return `<article class="finding ${e(f.severity)}"><h4>${e(f.title)} <span class="id">${e(f.id)}</span></h4><p>${e(f.detail)}</p><dl>${rows.join('')}</dl></article>`;
}

const STATUS_TEXT: Record<ChecklistItem['status'], string> = { 'seen-ok': '✓ seen, ok', 'seen-failing': '✗ seen, failing', 'not-seen': '– not seen' };

function checklistSection(items: readonly ChecklistItem[]): string {
  const rows = items.map(
    (i) => `<tr><td class="status-${e(i.status)}">${e(STATUS_TEXT[i.status])}</td><td>${e(i.label)}</td><td class="mono">${e(fmtList(i.flows, 10))}</td></tr>`,
  );
  return `<section id="checklist"><h2>Requirements</h2><table><thead><tr><th>status</th><th>destination</th><th>flows</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

function callsSection(report: Report): string {
  if (report.calls.length === 0) return `<section id="calls"><h2>Calls</h2><p>No calls found.</p></section>`;
  const pair = (a: number | null | undefined, b: number | null | undefined, digits: number) => `${fixed(a, digits)} / ${fixed(b, digits)}`;
  const rows = report.calls.map(
    (c) =>
      `<tr><td><a href="#call-${e(c.uid)}">${e(c.uid)}</a></td><td>${e(c.edge ?? '-')}</td><td class="num">${e(fmtDuration(c.durationS))}</td>` +
      `<td class="num">${pair(c.up.lossPct, c.down.lossPct, 1)}</td><td class="num">${pair(c.up.maxJitterMs, c.down.maxJitterMs, 1)}</td>` +
      `<td class="num">${pair(c.up.kbps, c.down.kbps, 0)}</td><td class="num">${fixed(c.rttMs, 0)}</td><td class="num">${fixed(c.mos, 2)}</td>` +
      `<td class="verdict-${e(c.verdict)}">${e(callVerdictText(c))}</td></tr>`,
  );
  const head =
    '<tr><th>call</th><th>edge</th><th class="num">duration</th><th class="num">loss % ↑/↓</th><th class="num">jitter ms ↑/↓</th>' +
    '<th class="num">kbps ↑/↓</th><th class="num">RTT ms</th><th class="num">MOS</th><th>verdict</th></tr>';
  return `<section id="calls"><h2>Calls</h2><table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>\n${report.calls.map((c) => callCharts(c, report)).join('\n')}</section>`;
}

function callCharts(call: ReportCall, report: Report): string {
  const { up, down } = callStreams(call, report.rtpStreams);
  const u = streamSeries(up);
  const d = streamSeries(down);
  const limits = report.policy.limits;
  const series = (key: 'jitterMs' | 'lossPct' | 'kbps') => [
    { label: 'up', values: u[key], color: UP },
    { label: 'down', values: d[key], color: DOWN },
  ];
  const charts = [
    chart({ title: 'Jitter', unit: 'ms', kind: 'line', series: series('jitterMs'), ...(limits && { limit: { value: limits.maxJitterMs, label: `limit ${limits.maxJitterMs} ms` } }) }),
    chart({ title: 'Loss', unit: '%', kind: 'bar', series: series('lossPct'), ...(limits && { limit: { value: limits.maxLossPct, label: `limit ${limits.maxLossPct} %` } }) }),
    chart({ title: 'Bitrate', unit: 'kbps', kind: 'line', series: series('kbps'), ...(limits && { limit: { value: limits.minKbps, label: `needs ${limits.minKbps} kbps` } }) }),
  ];
  const who = `${fmtEndpoint(call.local)} ⇄ ${fmtEndpoint(call.remote)}, ${call.codec ?? 'unknown codec'}, ${fmtTime(call.start)}`;
  return `<figure id="call-${e(call.uid)}"><h3>Call ${e(call.uid)} <span class="muted">${e(who)}</span></h3><div class="charts">${charts.join('')}</div></figure>`;
}

function flowsSection(report: Report): string {
  const byClass = Object.entries(report.summary.flowsByClass)
    .sort((a, b) => b[1] - a[1])
    .map(([cls, n]) => `<tr><td>${e(cls)}</td><td class="num">${fmtInt(n)}</td></tr>`);
  const shown = report.flows.slice(0, MAX_FLOW_ROWS);
  const rows = shown.map(flowRow);
  const hidden = report.flows.length - shown.length + report.summary.flowsOmitted;
  const note = hidden > 0 ? `<p class="muted">${fmtInt(hidden)} more flows are not listed.</p>` : '';
  const head =
    '<tr><th>uid</th><th>class</th><th>proto</th><th>client</th><th>server</th><th>name</th><th>state</th><th class="num">packets ↑/↓</th><th class="num">bytes ↑/↓</th><th>first seen (UTC)</th></tr>';
  return `<section id="flows"><h2>Flows (${fmtInt(report.summary.flowsTotal)})</h2><table class="by-class"><thead><tr><th>class</th><th class="num">flows</th></tr></thead><tbody>${byClass.join('')}</tbody></table><table class="flows"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>${note}</section>`;
}

function flowRow(f: ReportFlow): string {
  const label = f.sni ?? f.dnsName ?? f.service ?? '';
  return (
    `<tr><td class="mono">${e(f.uid)}</td><td>${e(f.class)}${f.edge ? ` <span class="muted">${e(f.edge)}</span>` : ''}</td><td>${e(f.proto)}</td>` +
    `<td class="mono">${e(fmtEndpoint(f.client))}</td><td class="mono">${e(fmtEndpoint(f.server))}</td><td class="name">${e(label)}</td><td class="mono">${e(f.state)}</td>` +
    `<td class="num">${fmtInt(f.packets.client)} / ${fmtInt(f.packets.server)}</td><td class="num">${e(fmtBytes(f.bytes.client))} / ${e(fmtBytes(f.bytes.server))}</td>` +
    `<td class="mono">${e(fmtClock(f.firstSeen))}</td></tr>`
  );
}

function captureSection(report: Report): string {
  const c = report.capture;
  const sources = c.sources.map((s) => {
    const problems = [...s.errors.map((x) => `error at offset ${x.offset}: ${x.message}`), ...s.warnings].map((p) => `<li>${e(p)}</li>`).join('');
    return (
      `<tr><td class="mono">${e(s.path)}</td><td>${e(s.format)}${s.gzip ? ' (gzip)' : ''}</td><td>${e(s.linkTypes.join(', '))}</td>` +
      `<td class="num">${fmtInt(s.packets)}</td><td class="num">${e(fmtBytes(s.bytes))}</td><td class="num">${s.snaplen ?? '-'}</td>` +
      `<td>${s.truncated ? 'truncated' : ''}${problems ? `<ul>${problems}</ul>` : ''}</td></tr>`
    );
  });
  const malformed = Object.entries(c.malformedByReason).map(([reason, n]) => `${reason} ${n}`);
  const evicted = Object.entries(c.evictions).filter(([, n]) => n > 0).map(([table, n]) => `${table} ${fmtInt(n)}`);
  const facts: Array<[string, string]> = [
    ['packets', fmtInt(c.packets)],
    ['start', fmtTime(c.start)],
    ['end', fmtTime(c.end)],
    ['duration', fmtDuration(c.durationS)],
    ['malformed', `${fmtInt(c.malformedPackets)}${malformed.length ? ` (${malformed.join(', ')})` : ''}`],
    ['evicted', evicted.length ? evicted.join(', ') : 'nothing'],
    ['internal networks', report.policy.internal.join(', ')],
  ];
  const warnings = c.warnings.length ? `<ul>${c.warnings.map((w) => `<li>${e(w)}</li>`).join('')}</ul>` : '';
  return (
    `<section id="capture"><h2>Capture</h2><table><thead><tr><th>source</th><th>format</th><th>link types</th><th class="num">packets</th><th class="num">bytes</th><th class="num">snaplen</th><th>problems</th></tr></thead><tbody>${sources.join('')}</tbody></table>` +
    `<table class="facts"><tbody>${facts.map(([k, v]) => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`).join('')}</tbody></table>${warnings}</section>`
  );
}
