/** The one-line progress display on stderr in text and JSON modes. */
import type { Progress } from '../engine/engine.js';
import { clip, etaSeconds, fmtBytes, fmtDuration, fmtInt, progressBar } from '../report/format.js';
import { sanitizeText } from '../report/sanitize.js';

const BAR_WIDTH = 20;

/** "[████░░░░] 41% 12.3 MB/30.0 MB · 120,331 packets · 3,210 flows · 2 calls · ETA 6.0 s", clipped to width. */
export function progressLine(p: Progress, width: number): string {
  const parts: string[] = [];
  const input = p.inputs > 1 ? `${sanitizeText(p.input)} (${p.inputIndex + 1}/${p.inputs})` : sanitizeText(p.input);
  if (p.bytesTotal) {
    const fraction = p.bytesRead / p.bytesTotal;
    parts.push(`[${progressBar(fraction, BAR_WIDTH)}] ${Math.floor(fraction * 100)}% ${fmtBytes(p.bytesRead)}/${fmtBytes(p.bytesTotal)}`);
  } else parts.push(`${fmtBytes(p.bytesRead)} read`);
  parts.push(`${fmtInt(p.packets)} packets`, `${fmtInt(p.flows)} flows`);
  if (p.calls !== null) parts.push(`${fmtInt(p.calls)} calls`);
  const eta = etaSeconds(p.bytesRead, p.bytesTotal, p.elapsedS);
  if (eta !== null) parts.push(`ETA ${fmtDuration(eta)}`);
  return clip(`${p.phase === 'analyzing' ? 'analysing' : 'reading'} ${input} ${parts.join(' · ')}`, Math.max(20, width - 1));
}

/** Rewrites one stderr line in place; `clear()` leaves the terminal as it was. */
export class StderrProgress {
  private shown = false;

  constructor(
    private readonly stream: { write(s: string): unknown; columns?: number },
  ) {}

  update(p: Progress): void {
    this.stream.write(`\r${progressLine(p, this.stream.columns ?? 80)}\x1b[K`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
