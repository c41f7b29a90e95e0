/**
 * The JSON report as `JSON.stringify(report, null, 2)` writes it, byte for
 * byte, but streamed: the flows (up to 40 000, tens of megabytes of text) are
 * made and written a batch at a time instead of as one string, so writing a
 * large report costs little more memory than analysing the capture.
 */
import { reportFlowSource } from './flow-store.js';
import type { Report } from './schema.js';

/** Flows serialised per write. */
const FLOWS_PER_WRITE = 256;

export function writeReportJson(report: Report, write: (text: string) => void): void {
  const flows = reportFlowSource(report);
  // Everything but the flows, with a marker where they go (the key keeps its place).
  const marker = `\u0000flows-${Math.random()}\u0000`;
  const rest: Record<string, unknown> = {};
  for (const key of Object.keys(report)) rest[key] = key === 'flows' ? marker : report[key as keyof Report];
  const text = JSON.stringify(rest, null, 2);
  const at = text.indexOf(JSON.stringify(marker));
  if (at < 0) {
    write(text + '\n');
    return;
  }
  write(text.slice(0, at));
  if (flows.length === 0) write('[]');
  else {
    // Array elements at depth 2: every line of an element's own JSON indented by four spaces.
    let batch = '[\n';
    for (let i = 0; i < flows.length; i++) {
      batch += '    ' + JSON.stringify(flows.at(i), null, 2).replaceAll('\n', '\n    ') + (i < flows.length - 1 ? ',\n' : '\n');
      if ((i + 1) % FLOWS_PER_WRITE === 0) {
        write(batch);
        batch = '';
      }
    }
    write(batch + '  ]');
  }
  write(text.slice(at + JSON.stringify(marker).length) + '\n');
}
