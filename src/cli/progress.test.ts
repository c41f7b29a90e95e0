import { describe, expect, it } from 'vitest';
import type { Progress } from '../engine/engine.js';
import { progressLine, StderrProgress } from './progress.js';

const snapshot = (over: Partial<Progress> = {}): Progress => ({
  phase: 'reading',
  input: 'office.pcapng',
  inputIndex: 0,
  inputs: 1,
  bytesRead: 25_000_000,
  bytesTotal: 100_000_000,
  packets: 120_331,
  flows: 3210,
  rtpStreams: 4,
  calls: 2,
  elapsedS: 5,
  ...over,
});

describe('progressLine', () => {
  it('shows the bar, percentage, counts and ETA', () => {
    expect(progressLine(snapshot(), 200)).toBe(
      'reading office.pcapng [█████░░░░░░░░░░░░░░░] 25% 25.0 MB/100.0 MB · 120,331 packets · 3,210 flows · 2 calls · ETA 15.0 s',
    );
  });

  it('shows bytes read without a bar when the size is unknown (stdin, gzip)', () => {
    const line = progressLine(snapshot({ bytesTotal: null, input: '-', inputs: 2, inputIndex: 1 }), 200);
    expect(line).toBe('reading - (2/2) 25.0 MB read · 120,331 packets · 3,210 flows · 2 calls');
  });

  it('leaves calls out while they are not grouped yet (null), rather than showing 0', () => {
    const line = progressLine(snapshot({ calls: null, bytesTotal: null }), 200);
    expect(line).toBe('reading office.pcapng 25.0 MB read · 120,331 packets · 3,210 flows');
  });

  it('fits the terminal and neutralises control characters in the file name', () => {
    const line = progressLine(snapshot({ input: 'a\u001b[2Jb.pcap' }), 40);
    expect(line.length).toBeLessThanOrEqual(39);
    expect(line).not.toContain('\u001b');
  });
});

describe('StderrProgress', () => {
  it('rewrites one line and clears it only if it drew something', () => {
    const writes: string[] = [];
    const progress = new StderrProgress({ write: (s: string) => writes.push(s), columns: 100 });
    progress.clear();
    expect(writes).toEqual([]);
    progress.update(snapshot());
    progress.clear();
    expect(writes[0].startsWith('\rreading office.pcapng')).toBe(true);
    expect(writes[0].endsWith('\u001b[K')).toBe(true);
    expect(writes[1]).toBe('\r\u001b[K');
  });
});
