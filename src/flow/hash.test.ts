import { describe, expect, it } from 'vitest';
import { combineHash, endpointHash, endpointHash4, flowHash, flowHash4, HASH_MASK } from './hash.js';
import { seededRandom } from '../synth/random.js';
import { ipBytes } from '../synth/packets.js';

/** Address bytes of a and b side by side in one buffer: a at 0, b at len. */
function pair(a: string, b: string): { buf: Uint8Array; len: number } {
  const x = ipBytes(a);
  const y = ipBytes(b);
  return { buf: Uint8Array.from([...x, ...y]), len: x.length };
}

describe('flowHash', () => {
  it('is symmetric: A->B hashes like B->A (IPv4 and IPv6)', () => {
    for (const [a, b] of [
      ['10.0.0.1', '192.0.2.10'],
      ['2001:db8::1', '2001:db8::ff'],
    ]) {
      const { buf, len } = pair(a, b);
      for (const seed of [0, 1, 0xdeadbeef]) {
        expect(flowHash(6, buf, 0, 50000, len, 443, len, seed)).toBe(flowHash(6, buf, len, 443, 0, 50000, len, seed));
      }
    }
  });

  it('depends on protocol, ports, addresses and seed', () => {
    const { buf, len } = pair('10.0.0.1', '192.0.2.10');
    const base = flowHash(6, buf, 0, 50000, len, 443, len, 7);
    expect(flowHash(17, buf, 0, 50000, len, 443, len, 7)).not.toBe(base);
    expect(flowHash(6, buf, 0, 50001, len, 443, len, 7)).not.toBe(base);
    // Swapping the ports between the two addresses is a different flow.
    expect(flowHash(6, buf, 0, 443, len, 50000, len, 7)).not.toBe(base);
    expect(flowHash(6, buf, 0, 50000, len, 443, len, 8)).not.toBe(base);
    const other = pair('10.0.0.2', '192.0.2.10');
    expect(flowHash(6, other.buf, 0, 50000, len, 443, len, 7)).not.toBe(base);
  });

  it('stays in Smi range and spreads sequential ports over buckets', () => {
    const { buf, len } = pair('10.0.0.1', '192.0.2.10');
    const low = new Set<number>();
    for (let p = 1024; p < 1024 + 4096; p++) {
      const h = flowHash(17, buf, 0, p, len, 3478, len, 0);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThanOrEqual(HASH_MASK);
      low.add(h & 0xfff);
    }
    // 4096 keys into 4096 low-bit buckets: a good hash fills about 63% of them.
    expect(low.size).toBeGreaterThan(2300);
  });

  it('combineHash ignores endpoint order and endpointHash covers every byte', () => {
    expect(combineHash(1, 2, 6)).toBe(combineHash(2, 1, 6));
    const b = ipBytes('2001:db8::1');
    const u = Uint8Array.from(b);
    const h = endpointHash(u, 0, 16, 80, 0);
    for (let i = 0; i < 16; i++) {
      const v = Uint8Array.from(b);
      v[i] ^= 1;
      expect(endpointHash(v, 0, 16, 80, 0)).not.toBe(h);
    }
  });
});

describe('flowHash4', () => {
  it('is combineHash of the two endpointHash4s, symmetric, within HASH_MASK', () => {
    const rand = seededRandom(7);
    const u32 = () => Math.floor(rand() * 0x100000000) | 0;
    for (let i = 0; i < 1000; i++) {
      const [a, b, seed] = [u32(), u32(), u32() >>> 0];
      const [ap, bp, proto] = [Math.floor(rand() * 65536), Math.floor(rand() * 65536), rand() < 0.5 ? 6 : 17];
      const h = flowHash4(proto, a, ap, b, bp, seed);
      expect(h).toBe(combineHash(endpointHash4(a, ap, seed), endpointHash4(b, bp, seed), proto));
      expect(flowHash4(proto, b, bp, a, ap, seed)).toBe(h);
      expect(h & ~HASH_MASK).toBe(0);
    }
  });
});
