import { describe, expect, it } from 'vitest';
import { TcpSlots } from './tcp-slots.js';

describe('TcpSlots', () => {
  it('keeps each direction and the flags apart, with int32 origins', () => {
    const t = new TcpSlots();
    const s = t.alloc();
    t.addFlags(s, 1 | 2);
    t.setOrigin(s, 0, -123456789);
    t.setOrigin(s, 1, 0x7fffffff);
    t.park(s, 0, 16384, 18432, 15);
    t.park(s, 1, 7, 0, 0xff);
    t.park(s, 0, 100, 5, 4); // overwrites the client's numbers only
    expect([t.flags(s), t.origin(s, 0), t.origin(s, 1)]).toEqual([3, -123456789, 0x7fffffff]);
    expect([t.position(s, 0), t.recordRemaining(s, 0), t.parserState(s, 0)]).toEqual([100, 5, 4]);
    expect([t.position(s, 1), t.recordRemaining(s, 1), t.parserState(s, 1)]).toEqual([7, 0, 0xff]);
    t.addFlags(s, 16);
    expect(t.flags(s)).toBe(19);
    expect(t.parserState(s, 1)).toBe(0xff);
  });

  it('reuses freed slots, zeroed, across chunks', () => {
    const t = new TcpSlots();
    const slots = Array.from({ length: 10_000 }, (_, i) => {
      const s = t.alloc();
      t.setOrigin(s, 1, i);
      t.park(s, 0, i, 1, 3);
      return s;
    });
    expect(new Set(slots).size).toBe(10_000);
    expect(slots.every((s, i) => t.origin(s, 1) === i && t.position(s, 0) === i)).toBe(true);
    for (const s of slots.slice(4000, 6000)) t.free(s);
    expect(t.size).toBe(8000);
    const again = Array.from({ length: 2000 }, () => t.alloc());
    expect(new Set(again)).toEqual(new Set(slots.slice(4000, 6000)));
    expect(again.every((s) => t.flags(s) === 0 && t.origin(s, 1) === 0 && t.position(s, 0) === 0 && t.parserState(s, 0) === 0)).toBe(true);
    expect(t.alloc()).toBe(10_000);
  });
});
