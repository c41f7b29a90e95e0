import { describe, expect, it } from 'vitest';
import { PrefixReassembler } from './reassembly.js';

const bytes = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 255);
const text = (s: string) => Buffer.from(s, 'latin1');
const str = (b: Uint8Array) => Buffer.from(b).toString('latin1');

describe('StreamPrefix', () => {
  it('starts after the SYN and delivers in-order data', () => {
    const r = new PrefixReassembler();
    const s = r.open();
    expect(s.segment(1000, true, new Uint8Array(0), 0, 0)).toBe(0);
    expect(s.segment(1001, false, text('hello '), 0, 6)).toBe(6);
    expect(s.segment(1007, false, text('world'), 0, 5)).toBe(5);
    expect(str(s.bytes())).toBe('hello world');
    expect(s.hasGap).toBe(false);
  });

  it('buffers out-of-order segments and releases them when the hole fills', () => {
    const s = new PrefixReassembler().open();
    s.segment(0, true, new Uint8Array(0), 0, 0);
    expect(s.segment(7, false, text('c'), 0, 1)).toBe(0);
    expect(s.segment(4, false, text('bbb'), 0, 3)).toBe(0);
    expect(s.hasGap).toBe(true);
    expect(s.length).toBe(0);
    expect(s.segment(1, false, text('aaa'), 0, 3)).toBe(7);
    expect(str(s.bytes())).toBe('aaabbbc');
    expect(s.hasGap).toBe(false);
  });

  it('keeps the first copy of overlapping and retransmitted bytes', () => {
    const s = new PrefixReassembler().open();
    s.segment(0, true, new Uint8Array(0), 0, 0);
    s.segment(1, false, text('AAAA'), 0, 4);
    s.segment(7, false, text('CC'), 0, 2); // out of order
    expect(s.segment(3, false, text('xxyyzz'), 0, 6)).toBe(4); // overlaps both sides
    expect(str(s.bytes())).toBe('AAAAyyCC');
    expect(s.segment(1, false, text('ZZZZ'), 0, 4)).toBe(0);
    expect(str(s.bytes())).toBe('AAAAyyCC');
  });

  it('handles sequence wrap-around and a flow picked up mid-stream', () => {
    const s = new PrefixReassembler().open();
    s.segment(0xfffffffe, false, text('ab'), 0, 2);
    s.segment(0, false, text('cd'), 0, 2);
    expect(str(s.bytes())).toBe('abcd');
    // Data before the origin is cut off, the rest is used.
    expect(s.segment(0xfffffffd, false, text('_abcde'), 0, 6)).toBe(1);
    expect(str(s.bytes())).toBe('abcde');
  });

  it('openAt continues a stream whose origin is known and whose first bytes were taken elsewhere', () => {
    const r = new PrefixReassembler({ cap: 16 });
    const s = r.openAt(0xfffffff0, 10); // stream offset 10 is sequence number 0xfffffffa
    expect(s.offset).toBe(10);
    expect(s.segment(0xfffffff0, false, text('0123456789'), 0, 10)).toBe(0); // already taken
    expect(s.segment(0xfffffffe, false, text('EF'), 0, 2)).toBe(0); // offsets 14-15: a hole before them
    expect(s.hasGap).toBe(true);
    expect(s.segment(0xfffffff8, false, text('89ABCDxx'), 0, 8)).toBe(6); // overlaps what was taken, fills the hole
    expect(str(s.bytes())).toBe('ABCDEF');
    expect(s.full).toBe(true);
    expect(r.bufferedBytes).toBe(6);
  });

  it('gives an emptied buffer back to the budget and allocates again for new data', () => {
    const r = new PrefixReassembler({ maxBufferedBytes: 4096 });
    const s = r.open();
    s.segment(0, true, new Uint8Array(0), 0, 0);
    s.segment(1, false, text('hello'), 0, 5);
    expect(r.bufferedBytes).toBeGreaterThan(0);
    s.consume(3);
    expect(r.bufferedBytes).toBeGreaterThan(0); // 'lo' is still buffered
    s.consume(2);
    expect(r.bufferedBytes).toBe(0);
    expect(s.length).toBe(0);
    expect(s.offset).toBe(5);
    expect(s.segment(6, false, text('world'), 0, 5)).toBe(5);
    expect(str(s.bytes())).toBe('world');
    expect(s.offset).toBe(5);
    // An emptied stream is not on the eviction list: another stream may take the whole budget.
    s.consume(5);
    const other = r.open();
    other.segment(0, true, new Uint8Array(0), 0, 0);
    expect(other.segment(1, false, bytes(4096), 0, 4096)).toBe(4096);
    expect(s.evicted).toBe(false);
    expect(r.evictions).toBe(0);
  });

  it('stops at the cap', () => {
    const s = new PrefixReassembler({ cap: 10 }).open();
    s.segment(0, true, new Uint8Array(0), 0, 0);
    expect(s.segment(1, false, bytes(8), 0, 8)).toBe(8);
    expect(s.segment(9, false, bytes(8, 8), 0, 8)).toBe(2);
    expect(s.full).toBe(true);
    expect(s.length).toBe(10);
    expect(s.segment(17, false, bytes(8), 0, 8)).toBe(0);
  });

  it('consumes parsed bytes from the front', () => {
    const s = new PrefixReassembler().open();
    s.segment(0, true, new Uint8Array(0), 0, 0);
    s.segment(1, false, text('0123456789'), 0, 10);
    s.segment(15, false, text('EF'), 0, 2);
    s.consume(4);
    expect(s.offset).toBe(4);
    expect(str(s.bytes())).toBe('456789');
    s.segment(11, false, text('abcd'), 0, 4);
    expect(str(s.bytes())).toBe('456789abcdEF');
  });

  it('drops segments beyond the bound on pending ranges', () => {
    const s = new PrefixReassembler().open();
    s.segment(0, true, new Uint8Array(0), 0, 0);
    for (let i = 0; i < 20; i++) s.segment(1 + 10 + 2 * i, false, text('x'), 0, 1);
    expect(s.dropped).toBe(4);
    expect(s.hasGap).toBe(true);
  });
});

describe('PrefixReassembler memory bound', () => {
  it('evicts the least recently used stream and counts it', () => {
    const r = new PrefixReassembler({ cap: 4096, maxBufferedBytes: 2500 });
    const a = r.open();
    const b = r.open();
    a.segment(0, true, new Uint8Array(0), 0, 0);
    b.segment(0, true, new Uint8Array(0), 0, 0);
    a.segment(1, false, bytes(1000), 0, 1000);
    b.segment(1, false, bytes(1000), 0, 1000);
    expect(r.bufferedBytes).toBe(2000);
    b.segment(1001, false, bytes(1000), 0, 1000); // b grows: a (least recently used) goes
    expect(a.evicted).toBe(true);
    expect(b.evicted).toBe(false);
    expect(r.evictions).toBe(1);
    expect(a.segment(1001, false, bytes(10), 0, 10)).toBe(0);
    expect(r.bufferedBytes).toBeLessThanOrEqual(2500);
    r.release(b);
    expect(r.bufferedBytes).toBe(0);
  });

  it('evicts a stream that alone exceeds the bound', () => {
    const r = new PrefixReassembler({ maxBufferedBytes: 100 });
    const s = r.open();
    s.segment(0, true, new Uint8Array(0), 0, 0);
    expect(s.segment(1, false, bytes(500), 0, 500)).toBe(0);
    expect(s.evicted).toBe(true);
    expect(r.evictions).toBe(1);
    expect(r.bufferedBytes).toBe(0);
  });
});
