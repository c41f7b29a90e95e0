import { describe, expect, it } from 'vitest';
import type { ReportFinding } from '../report/schema.js';
import { colorEnabled, exitCodeFor, outputMode, progressWanted } from './mode.js';

describe('outputMode', () => {
  it('uses the TUI only on a terminal without --json or --no-tui', () => {
    expect(outputMode({ json: false, noTui: false }, true)).toBe('tui');
    expect(outputMode({ json: false, noTui: false }, false)).toBe('text');
    expect(outputMode({ json: false, noTui: true }, true)).toBe('text');
    expect(outputMode({ json: true, noTui: false }, true)).toBe('json');
    expect(outputMode({ json: true, noTui: true }, false)).toBe('json');
    expect(outputMode({ json: false, noTui: false }, true, { CI: 'true' })).toBe('text');
  });
});

describe('colorEnabled', () => {
  it('colours a terminal unless told otherwise', () => {
    expect(colorEnabled(false, {}, true)).toBe(true);
    expect(colorEnabled(false, {}, false)).toBe(false);
    expect(colorEnabled(false, { TERM: 'dumb' }, true)).toBe(false);
  });

  it('honours NO_COLOR, FORCE_COLOR and --no-color in that order of strength', () => {
    expect(colorEnabled(false, { NO_COLOR: '1' }, true)).toBe(false);
    expect(colorEnabled(false, { NO_COLOR: '' }, true)).toBe(true);
    expect(colorEnabled(false, { FORCE_COLOR: '1' }, false)).toBe(true);
    expect(colorEnabled(false, { FORCE_COLOR: '0' }, true)).toBe(false);
    expect(colorEnabled(false, { FORCE_COLOR: '1', NO_COLOR: '1' }, true)).toBe(true);
    expect(colorEnabled(true, { FORCE_COLOR: '1' }, true)).toBe(false);
  });
});

describe('progressWanted', () => {
  it('shows progress on an interactive stderr only, never in CI or in the TUI', () => {
    expect(progressWanted('text', true, {})).toBe(true);
    expect(progressWanted('json', true, {})).toBe(true);
    expect(progressWanted('text', false, {})).toBe(false);
    expect(progressWanted('text', true, { CI: 'true' })).toBe(false);
    expect(progressWanted('tui', true, {})).toBe(false);
  });
});

describe('exitCodeFor', () => {
  const f = (severity: ReportFinding['severity']) => ({ severity }) as ReportFinding;
  it('is 1 when any finding is an error, else 0', () => {
    expect(exitCodeFor({ findings: [] })).toBe(0);
    expect(exitCodeFor({ findings: [f('warning'), f('info')] })).toBe(0);
    expect(exitCodeFor({ findings: [f('warning'), f('error')] })).toBe(1);
  });
});
