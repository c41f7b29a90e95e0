import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Report } from '../report/schema.js';
import { initialUiState } from './keys.js';
import { buildScreen, callsScreen, captureLines, findingsScreen, flowsScreen, rowCounts, visibleWindow, type Line, type Screen } from './screens.js';

const fail = JSON.parse(readFileSync(new URL('../../test/fixtures/reports/fail.json', import.meta.url), 'utf8')) as Report;
const text = (line: Line) => line.map((s) => s.text).join('');

describe('screens', () => {
  it('focuses the selected finding and its expansion', () => {
    const screen = findingsScreen(fail, 1, 1, 100);
    const [start, end] = screen.focus;
    expect(text(screen.lines[start])).toMatch(/^› error +TCP to eventgw/);
    expect(screen.lines[start].every((s, i) => i === 0 || s.selected)).toBe(true);
    expect(text(screen.lines[end])).toMatch(/id +tcp-refused/);
    expect(screen.lines.slice(start, end + 1).some((l) => /remedy/.test(text(l)))).toBe(true);
  });

  it('shows sparklines for the selected call only', () => {
    const screen = callsScreen(fail, 2, 100);
    const sparkRows = screen.lines.filter((l) => /jitter ↑ +[▁-█]/.test(text(l)));
    expect(sparkRows).toHaveLength(1);
    expect(text(screen.lines[screen.focus[0]])).toMatch(/^› C3/);
  });

  it('expands a flow into its facts', () => {
    const screen = flowsScreen(fail, 1, 1, 100);
    const body = screen.lines.slice(screen.focus[0], screen.focus[1] + 1).map(text).join('\n');
    expect(body).toMatch(/sni +chunderw-vpc-gll\.twilio\.com/);
    expect(body).toMatch(/tls +TLS 1\.3, http\/1\.1/);
    expect(body).toMatch(/service +chunderw-vpc-gll, edge gll/);
  });

  it('counts the rows each tab can select', () => {
    expect(rowCounts(fail, 7)).toEqual({ findings: 10, calls: 3, flows: 12, capture: 7 });
    expect(captureLines(fail, 100).length).toBeGreaterThan(10);
    expect(buildScreen(fail, { ...initialUiState, tab: 'capture', selected: { ...initialUiState.selected, capture: 999 } }, 100).focus[0]).toBe(
      captureLines(fail, 100).length - 1,
    );
  });
});

describe('visibleWindow', () => {
  const screen = (n: number, focus: [number, number]): Screen => ({ lines: Array.from({ length: n }, (_, i) => [{ text: String(i) }]), focus });
  const first = (s: Screen, h: number) => visibleWindow(s, h).first;

  it('shows everything when it fits', () => {
    expect(visibleWindow(screen(5, [4, 4]), 10).lines).toHaveLength(5);
  });

  it('scrolls so the focus is visible, never past the end', () => {
    expect(first(screen(30, [3, 3]), 10)).toBe(0);
    expect(first(screen(30, [15, 15]), 10)).toBe(6);
    expect(first(screen(30, [29, 29]), 10)).toBe(20);
    expect(visibleWindow(screen(30, [15, 15]), 10).lines).toHaveLength(10);
  });

  it('shows the start of a focus range taller than the window', () => {
    expect(first(screen(40, [12, 30]), 10)).toBe(12);
  });
});
