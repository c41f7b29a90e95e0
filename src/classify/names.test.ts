import { describe, expect, it } from 'vitest';
import { MAX_NAMES_PER_IP, NameMap, type NameSink } from './names.js';
import { newFlow } from '../flow/table.js';
import { makeFlow } from './test-flows.js';

describe('NameMap', () => {
  it("finds a flow's addresses from their bytes (IPv4) or text (IPv6), as answered in text", () => {
    const m = new NameMap();
    m.add('168.86.130.7', 'media.twilio.com', 10, 60);
    m.add('192.168.1.20', 'laptop.lan', 10, 60);
    m.add('2001:db8::1', 'v6.example', 10, 60);
    const v4 = newFlow('F1', 17, 4, Uint8Array.of(192, 168, 1, 20), Uint8Array.of(168, 86, 130, 7), 50000, 443, 11);
    expect([m.lookupFlow(v4, 'server', 11), m.lookupFlow(v4, 'client', 11)]).toEqual(['media.twilio.com', 'laptop.lan']);
    const v6 = makeFlow({ proto: 'udp', client: '2001:db8::2', server: '2001:db8::1', serverPort: 443 });
    expect(m.lookupFlow(v6, 'server', 11)).toBe('v6.example');
    expect(m.lookupFlow(v6, 'client', 11)).toBeNull();
  });

  it('names a flow only from answers at or before its start', () => {
    const m = new NameMap();
    m.add('3.1.2.3', 'chunderw-vpc-gll.twilio.com.', 10, 60);
    expect(m.lookup('3.1.2.3', 9.999)).toBeNull();
    expect(m.lookup('3.1.2.3', 10)).toBe('chunderw-vpc-gll.twilio.com');
    expect(m.lookup('3.1.2.3', 1e9)).toBe('chunderw-vpc-gll.twilio.com'); // TTL not enforced
    expect(m.lookup('3.1.2.4', 20)).toBeNull();
  });

  it('prefers the most recent answer before the flow and keeps the others', () => {
    const m = new NameMap();
    m.add('52.1.1.1', 'A.example.com', 1, 60);
    m.add('52.1.1.1', 'b.example.com', 10, 60);
    m.add('52.1.1.1', 'a.example.com', 20, 30);
    expect(m.lookup('52.1.1.1', 5)).toBe('a.example.com');
    expect(m.lookup('52.1.1.1', 15)).toBe('b.example.com');
    expect(m.lookup('52.1.1.1', 25)).toBe('a.example.com');
    expect(m.lookupAll('52.1.1.1', 15)).toEqual([
      { name: 'a.example.com', firstTs: 1, lastTs: 20, ttl: 30 },
      { name: 'b.example.com', firstTs: 10, lastTs: 10, ttl: 60 },
    ]);
    expect(m.lookupAll('52.1.1.1', 0)).toEqual([]);
    expect(m.size).toBe(1);
  });

  it(`keeps at most ${MAX_NAMES_PER_IP} names per address, dropping the least recently answered`, () => {
    const m = new NameMap();
    for (let i = 0; i < MAX_NAMES_PER_IP + 2; i++) m.add('1.1.1.1', `n${i}.example`, i, 60);
    const names = m.lookupAll('1.1.1.1', 100).map((a) => a.name);
    expect(names).toEqual(['n2.example', 'n3.example', 'n4.example', 'n5.example']);
  });

  it('is bounded: evicts the least recently used address and counts it', () => {
    const m = new NameMap({ maxEntries: 3 });
    m.add('10.0.0.1', 'one', 1, 60);
    m.add('10.0.0.2', 'two', 1, 60);
    m.add('10.0.0.3', 'three', 1, 60);
    expect(m.lookup('10.0.0.1', 2)).toBe('one'); // now most recently used
    m.add('10.0.0.4', 'four', 1, 60);
    expect(m.size).toBe(3);
    expect(m.evictions).toBe(1);
    expect(m.lookup('10.0.0.2', 2)).toBeNull();
    expect(m.lookup('10.0.0.1', 2)).toBe('one');
    m.add('10.0.0.3', 'three-again', 1, 60); // a new answer refreshes too
    m.add('10.0.0.5', 'five', 1, 60);
    expect(m.evictions).toBe(2);
    expect(m.lookup('10.0.0.4', 2)).toBeNull();
    expect(m.lookup('10.0.0.3', 2)).not.toBeNull();
  });

  it('ignores empty names and returns copies', () => {
    const m = new NameMap();
    m.add('1.2.3.4', '.', 1, 1);
    m.add('1.2.3.4', '', 1, 1);
    expect(m.lookup('1.2.3.4', 5)).toBeNull();
    m.add('1.2.3.4', 'x.example', 1, 1);
    m.lookupAll('1.2.3.4', 5)[0].name = 'changed';
    expect(m.lookup('1.2.3.4', 5)).toBe('x.example');
  });

  it('keeps names lower case without the trailing dot, so spellings of one name are one answer', () => {
    const m = new NameMap();
    m.add('1.2.3.4', 'Media.Twilio.COM.', 1, 1);
    m.add('1.2.3.4', 'media.twilio.com', 2, 1);
    m.add('1.2.3.4', 'ÉCOLE.example', 3, 1);
    expect(m.lookupAll('1.2.3.4', 5).map((a) => [a.name, a.firstTs, a.lastTs])).toEqual([
      ['media.twilio.com', 1, 2],
      ['école.example', 3, 3],
    ]);
  });

  it('is a NameSink', () => {
    const sink: NameSink = new NameMap();
    sink.add('::1', 'localhost', 0, 0);
    expect((sink as NameMap).lookup('::1', 0)).toBe('localhost');
  });

  it('lookup picks what scanning lookupAll for the latest answer at or before ts picks, ties included', () => {
    let x = 0x1234567;
    const rand = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    for (let round = 0; round < 300; round++) {
      const m = new NameMap();
      // Few distinct times so equal firstTs / lastTs ties are common.
      for (let i = 0; i < 1 + rand(8); i++) m.add('10.0.0.1', `n${rand(6)}.example`, rand(5), 60);
      const ts = rand(6);
      let expected: string | null = null;
      let bestTs = -Infinity;
      for (const a of m.lookupAll('10.0.0.1', ts)) {
        const t = a.lastTs <= ts ? a.lastTs : a.firstTs;
        if (t > bestTs) [expected, bestTs] = [a.name, t];
      }
      expect(m.lookup('10.0.0.1', ts)).toBe(expected);
    }
  });
});
