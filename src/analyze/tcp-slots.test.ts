import { describe, expect, it } from 'vitest';
import { CHUNK_SHIFT, CHUNK_SLOTS, SLOT_WORDS, TcpSlots } from './tcp-slots.js';

/** Slot s's words, as the TLS analyzer addresses them. */
function words(t: TcpSlots, s: number): Int32Array {
  const at = (s & (CHUNK_SLOTS - 1)) * SLOT_WORDS;
  return t.chunks[s >>> CHUNK_SHIFT].subarray(at, at + SLOT_WORDS);
}

describe('TcpSlots', () => {
  it('gives each slot words of its own, with int32 values kept', () => {
    const t = new TcpSlots();
    const [a, b, c] = [t.alloc(), t.alloc(), t.alloc()];
    words(t, b).set([-1, -123456789, 0x7fffffff, 16384, 18432, 7, 0]);
    expect([...words(t, a)]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect([...words(t, c)]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect([...words(t, b)]).toEqual([-1, -123456789, 0x7fffffff, 16384, 18432, 7, 0]);
  });

  it('reuses freed slots, zeroed, across chunks', () => {
    const t = new TcpSlots();
    const slots = Array.from({ length: 10_000 }, (_, i) => {
      const s = t.alloc();
      words(t, s).fill(i + 1);
      return s;
    });
    expect(new Set(slots).size).toBe(10_000);
    expect(slots.every((s, i) => words(t, s).every((w) => w === i + 1))).toBe(true);
    for (const s of slots.slice(4000, 6000)) t.free(s);
    expect(t.size).toBe(8000);
    const again = Array.from({ length: 2000 }, () => t.alloc());
    expect(new Set(again)).toEqual(new Set(slots.slice(4000, 6000)));
    expect(again.every((s) => words(t, s).every((w) => w === 0))).toBe(true);
    expect(t.alloc()).toBe(10_000);
  });
});
