import { describe, expect, it } from 'vitest';
import { downsample, sparkline } from './sparkline.js';

describe('sparkline', () => {
  it('maps 0..max onto the eight blocks', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7, 8], 20)).toBe('▁▁▂▃▄▅▆▇█');
  });

  it('draws nulls as spaces', () => {
    expect(sparkline([8, null, 8], 10)).toBe('█ █');
  });

  it('draws an all-zero series as the lowest block', () => {
    expect(sparkline([0, 0, 0], 10)).toBe('▁▁▁');
  });

  it('scales to a given max and clamps values above it', () => {
    expect(sparkline([5, 10, 40], 10, 10)).toBe('▄██');
  });

  it('never exceeds the width and keeps a spike when downsampling', () => {
    const values = Array.from({ length: 100 }, (_, i) => (i === 57 ? 50 : 1));
    const line = sparkline(values, 10);
    expect([...line]).toHaveLength(10);
    expect(line).toContain('█');
    expect(line.indexOf('█')).toBe(5);
  });

  it('returns an empty string for an empty series or zero width', () => {
    expect(sparkline([], 10)).toBe('');
    expect(sparkline([1, 2], 0)).toBe('');
  });
});

describe('downsample', () => {
  it('keeps the peak of each bucket and nulls for empty buckets', () => {
    expect(downsample([1, 3, null, null, 2, 0], 3)).toEqual([3, null, 2]);
  });

  it('returns short series unchanged', () => {
    expect(downsample([1, null, 2], 5)).toEqual([1, null, 2]);
  });
});
