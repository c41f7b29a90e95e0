import { describe, expect, it } from 'vitest';
import { MAX_NAMES_PER_IP, NameMap, type NameAnswer, type NameSink } from './names.js';
import { parseIp4 } from '../decode/view.js';
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

/** The map as it was (an object per answer, a Map of arrays in LRU order): the rows must behave exactly like it. */
class ModelNameMap {
  readonly byIp = new Map<string, NameAnswer[]>();
  evictions = 0;
  constructor(private readonly maxEntries: number) {}

  add(ip: string, name: string, ts: number, ttl: number): void {
    const n = name.toLowerCase().replace(/\.$/, '');
    if (n === '') return;
    let answers = this.byIp.get(ip);
    this.byIp.delete(ip);
    const known = answers?.find((a) => a.name === n);
    if (known) {
      known.firstTs = Math.min(known.firstTs, ts);
      known.lastTs = Math.max(known.lastTs, ts);
      known.ttl = ttl;
    } else {
      answers = answers ? [...answers] : [];
      if (answers.length >= MAX_NAMES_PER_IP) {
        let oldest = 0;
        for (let i = 1; i < answers.length; i++) if (answers[i].lastTs < answers[oldest].lastTs) oldest = i;
        answers.splice(oldest, 1);
      }
      answers.push({ name: n, firstTs: ts, lastTs: ts, ttl });
    }
    this.byIp.set(ip, answers!);
    if (this.byIp.size > this.maxEntries) {
      this.byIp.delete(this.byIp.keys().next().value!);
      this.evictions++;
    }
  }

  lookupAll(ip: string, ts: number): NameAnswer[] {
    const answers = this.byIp.get(ip);
    if (!answers) return [];
    this.byIp.delete(ip);
    this.byIp.set(ip, answers);
    return answers.filter((a) => a.firstTs <= ts).sort((a, b) => a.firstTs - b.firstTs).map((a) => ({ ...a }));
  }

  lookup(ip: string, ts: number): string | null {
    let best: string | null = null;
    let bestTs = -Infinity;
    for (const a of this.lookupAll(ip, ts)) {
      const t = a.lastTs <= ts ? a.lastTs : a.firstTs;
      if (t > bestTs) [best, bestTs] = [a.name, t];
    }
    return best;
  }
}

describe('NameMap against the map it replaced', () => {
  // IPv4 (low and high halves of the 32-bit range, as text and as numbers), IPv6 and other text keys.
  const ips = ['10.0.0.1', '10.0.0.2', '192.168.1.1', '200.1.2.3', '255.255.255.255', '0.0.0.0', '2001:db8::1', '::1', 'fe80::1', 'host.lan'];

  it('agrees on every lookup, size and eviction, with IPv4 added as text or as a number, signed or not', () => {
    for (let round = 0; round < 200; round++) {
      let x = 0x9e3779b9 ^ round;
      const rand = (n: number) => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>> 0) % n;
      };
      const maxEntries = 1 + rand(6);
      const m = new NameMap({ maxEntries });
      const model = new ModelNameMap(maxEntries);
      for (let op = 0; op < 120; op++) {
        const ip = ips[rand(ips.length)];
        const ts = rand(8);
        const r = rand(10);
        if (r < 6) {
          const name = `n${rand(7)}.example${rand(4) === 0 ? '.' : ''}`;
          const ttl = rand(100);
          model.add(ip, name, ts, ttl);
          const v4 = parseIp4(ip);
          if (v4 >= 0 && r < 2) m.addIp4(v4, name, ts, ttl);
          else if (v4 >= 0 && r < 4) m.addIp4(v4 | 0, name, ts, ttl);
          else m.add(ip, name, ts, ttl);
        } else if (r < 8) {
          expect(m.lookup(ip, ts)).toBe(model.lookup(ip, ts));
        } else {
          expect(m.lookupAll(ip, ts)).toEqual(model.lookupAll(ip, ts));
        }
        expect([m.size, m.evictions]).toEqual([model.byIp.size, model.evictions]);
      }
      // The same addresses held, the same recency order: evict them one by one.
      [...model.byIp.keys()].forEach((ip, k) => {
        m.add(`10.9.${k}.1`, 'filler', 0, 0);
        expect(m.lookupAll(ip, Infinity)).toEqual([]);
      });
    }
  });

  it('evicts the least recently used across IPv4 and IPv6 keys', () => {
    const m = new NameMap({ maxEntries: 3 });
    m.addIp4(0xc0a80101, 'a', 1, 1); // 192.168.1.1
    m.add('2001:db8::1', 'b', 1, 1);
    m.add('10.0.0.1', 'c', 1, 1);
    expect(m.lookup('192.168.1.1', 2)).toBe('a'); // a used: b is now the oldest
    m.add('fe80::1', 'd', 1, 1);
    expect(m.lookup('2001:db8::1', 2)).toBeNull();
    m.addIp4(0x0a000002, 'e', 1, 1); // 10.0.0.2 evicts 10.0.0.1
    expect([m.lookup('10.0.0.1', 2), m.lookup('192.168.1.1', 2), m.lookup('fe80::1', 2), m.lookup('10.0.0.2', 2)]).toEqual([null, 'a', 'd', 'e']);
    expect(m.evictions).toBe(2);
  });

  it('reuses the rows of dropped names and evicted addresses', () => {
    const m = new NameMap({ maxEntries: 2 });
    for (let i = 0; i < 5000; i++) m.addIp4(i, `n${i % 9}.example`, i, 60);
    expect(m.size).toBe(2);
    expect(m.lookupAll('0.0.19.135', Infinity)).toEqual([{ name: 'n4.example', firstTs: 4999, lastTs: 4999, ttl: 60 }]);
  });
});
