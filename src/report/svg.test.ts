import { describe, expect, it } from 'vitest';
import { chart, linePath, niceCeiling } from './svg.js';

describe('niceCeiling', () => {
  it('rounds up to 1, 2 or 5 times a power of ten', () => {
    expect(niceCeiling(0)).toBe(1);
    expect(niceCeiling(3.2)).toBe(5);
    expect(niceCeiling(11)).toBe(20);
    expect(niceCeiling(50)).toBe(50);
    expect(niceCeiling(0.07)).toBeCloseTo(0.1);
  });
});

describe('linePath', () => {
  it('breaks the line at nulls', () => {
    expect(linePath([1, 2, null, 4], (i) => i * 10, (v) => 100 - v)).toBe('M0.0 99.0L10.0 98.0M30.0 96.0');
    expect(linePath([null, null], (i) => i, (v) => v)).toBe('');
  });
});

describe('chart', () => {
  const series = [
    { label: 'up', values: [1, 3, null, 30], color: '#c0392b' },
    { label: 'down', values: [2, 2, 2, 2], color: '#2471a3' },
  ];

  it('draws one path per series, axes with ticks and the limit line', () => {
    const svg = chart({ title: 'Jitter', unit: 'ms', kind: 'line', series, limit: { value: 10, label: 'limit 10 ms' } });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<path class="series"/g)).toHaveLength(2);
    expect(svg).toContain('class="limit"');
    expect(svg).toContain('>limit 10 ms</text>');
    expect(svg).toMatch(/>0<\/text>.*>25<\/text>.*>50<\/text>/);
    expect(svg).toContain('>3s</text>');
  });

  it('places the limit line at its value on the y scale', () => {
    const svg = chart({ title: 'Loss', unit: '%', kind: 'line', series: [{ label: 'up', values: [0, 0], color: 'red' }], limit: { value: 1, label: 'limit' }, height: 150 });
    // top = niceCeiling(1.1) = 2, so the limit sits half-way up the plot (22 + 104/2).
    expect(svg).toContain('y1="74.0" y2="74.0" stroke-dasharray');
  });

  it('draws bars for positive values only', () => {
    const svg = chart({ title: 'Loss', unit: '%', kind: 'bar', series: [{ label: 'up', values: [0, 5, null, 2], color: 'red' }] });
    const d = /class="series bars" d="([^"]*)"/.exec(svg)![1];
    expect(d.match(/M/g)).toHaveLength(2);
  });

  it('escapes labels', () => {
    const svg = chart({ title: '<b>x</b>', unit: 'ms', kind: 'line', series: [{ label: '"><script>', values: [1], color: 'red' }] });
    expect(svg).not.toContain('<script>');
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('&lt;b&gt;x&lt;/b&gt;');
  });
});
