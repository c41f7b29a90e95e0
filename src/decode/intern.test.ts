import { describe, expect, it } from 'vitest';
import { WireInterner } from './intern.js';

const text = (b: Uint8Array, off: number, len: number) => Buffer.from(b.subarray(off, off + len)).toString('latin1');

describe('WireInterner', () => {
  it('returns the value made for the same bytes, wherever they sit', () => {
    let made = 0;
    const names = new WireInterner((b, off, len) => {
      made++;
      return { name: text(b, off, len) };
    });
    const a = names.get(Buffer.from('xxslack.com'), 2, 9);
    const b = names.get(Buffer.from('slack.comyy'), 0, 9);
    expect(b).toBe(a);
    expect(a.name).toBe('slack.com');
    expect(names.get(Buffer.from('slack.co'), 0, 8).name).toBe('slack.co');
    expect(made).toBe(2);
  });

  it('keeps values apart whose bytes collide in the hash', () => {
    const names = new WireInterner(text);
    // Known FNV-1a 32-bit collisions.
    for (const [a, b] of [['costarring', 'liquid'], ['declinate', 'macallums']]) {
      expect(names.get(Buffer.from(a), 0, a.length)).toBe(a);
      expect(names.get(Buffer.from(b), 0, b.length)).toBe(b);
      expect(names.get(Buffer.from(a), 0, a.length)).toBe(a);
    }
    expect(names.size).toBe(4);
  });

  it('starts over when full, so it never holds more than its bound', () => {
    const names = new WireInterner(text, 4);
    for (let i = 0; i < 10; i++) names.get(Uint8Array.of(65 + i), 0, 1);
    expect(names.size).toBeLessThanOrEqual(4);
    expect(names.get(Uint8Array.of(65), 0, 1)).toBe('A');
  });

  it('makes long or out-of-range byte strings without keeping them', () => {
    const names = new WireInterner(text);
    expect(names.get(new Uint8Array(600).fill(66), 0, 600)).toHaveLength(600);
    expect(names.get(Uint8Array.of(67), 0, 5)).toBe('C');
    expect(names.size).toBe(0);
  });
});
