import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { CidrError, CidrSet, expandPattern, HostMatcher, hostPatternProblem, normalizeHostName, parseCidr, parseIp } from './match.js';

/** The address `delta` away from `ip` (BigInt arithmetic, IPv4 or IPv6). */
function offset(ip: string, delta: bigint): string {
  const bytes = parseIp(ip)!;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  n += delta;
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    out.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  const addr = ipaddr.fromByteArray(out);
  return addr.kind() === 'ipv6' ? (addr as ipaddr.IPv6).toRFC5952String() : addr.toString();
}

/** First and last address of a CIDR. */
function bounds(cidr: string): [string, string] {
  const { bytes, prefix } = parseCidr(cidr);
  const size = 1n << BigInt(bytes.length * 8 - prefix);
  const first = parseCidr(cidr).text.split('/')[0];
  return [first, offset(first, size - 1n)];
}

describe('parseIp', () => {
  it('accepts exactly the dotted quads ipaddr.js isValidFourPartDecimal accepts, with the same bytes', () => {
    const texts = [
      '0.0.0.0', '10.1.2.3', '255.255.255.255', '256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.02.3.4', '1.2.3.00',
      '1..2.3', '.1.2.3', '1.2.3.', '1.2.3.4 ', ' 1.2.3.4', '0x1.2.3.4', '1.2.3.-4', '', '1.2.3.4/8', '9999999999.1.1.1', '1.2.3.4a',
    ];
    let x = 0x2545f491;
    for (let i = 0; i < 2000; i++) {
      // Random short strings over digits and dots, so edge cases are covered beyond the list.
      let t = '';
      const n = 1 + (i % 15);
      for (let j = 0; j < n; j++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        t += '0123456789....'[(x >>> 0) % 14];
      }
      texts.push(t);
    }
    for (const t of texts) {
      const expected = ipaddr.IPv4.isValidFourPartDecimal(t) ? ipaddr.IPv4.parse(t).toByteArray() : null;
      const got = parseIp(t);
      expect(got === null ? null : Array.from(got), t).toEqual(expected);
    }
  });
});

describe('parseCidr', () => {
  it('parses IPv4 and IPv6 networks into canonical text', () => {
    expect(parseCidr('10.0.0.0/8')).toMatchObject({ version: 4, prefix: 8, text: '10.0.0.0/8' });
    expect(parseCidr(' fc00:0000::/7 ')).toMatchObject({ version: 6, prefix: 7, text: 'fc00::/7' });
    expect(parseCidr('0.0.0.0/0').text).toBe('0.0.0.0/0');
    expect(parseCidr('::1/128').text).toBe('::1/128');
  });

  it.each([
    ['10.0.0/8', /not an IPv4 \(dotted quad\) or IPv6 address/],
    ['10.0.0.0', /no "\/prefix" length/],
    ['10.0.0.0/33', /from 0 to 32/],
    ['2001:db8::/129', /from 0 to 128/],
    ['10.0.0.0/-1', /from 0 to 32/],
    ['10.0.0.0/8.0', /from 0 to 32/],
    ['10.0.0.1/8', /host bits are set; the network is 10\.0\.0\.0\/8/],
    ['2001:db8::1/32', /host bits are set; the network is 2001:db8::\/32/],
    ['0xa.0.0.0/8', /not an IPv4/],
    ['fe80::1%eth0/64', /not an IPv4/],
    ['', /no "\/prefix"/],
  ])('rejects %j', (text, reason) => {
    expect(() => parseCidr(text)).toThrow(CidrError);
    try {
      parseCidr(text);
    } catch (e) {
      expect((e as CidrError).reason).toMatch(reason);
    }
  });

  it('takes a bare address as a host route only when asked', () => {
    expect(parseCidr('192.0.2.7', true).text).toBe('192.0.2.7/32');
    expect(parseCidr('2001:db8::7', true).text).toBe('2001:db8::7/128');
  });
});

describe('CidrSet', () => {
  it('finds first and last addresses inside and misses one outside on each side (IPv4 and IPv6)', () => {
    const cidrs = ['54.252.254.64/26', '35.156.191.128/25', '3.1.77.0/24', '54.172.60.0/23', '168.86.128.0/18', '2001:db8:1::/48', 'fd00::/8', '192.0.2.9/32', '2001:db8::5/128'];
    const set = new CidrSet(cidrs.map((c) => [c, c] as const));
    for (const c of cidrs) {
      const [first, last] = bounds(c);
      expect(set.lookup(first), `${c} first ${first}`).toEqual([c]);
      expect(set.lookup(last), `${c} last ${last}`).toEqual([c]);
      expect(set.lookup(offset(first, -1n)), `${c} below`).toEqual([]);
      expect(set.lookup(offset(last, 1n)), `${c} above`).toEqual([]);
    }
  });

  it('returns every covering value, least specific first', () => {
    const set = new CidrSet([
      ['10.1.2.0/24', 'c'],
      ['10.0.0.0/8', 'a'],
      ['10.1.0.0/16', 'b'],
      ['10.1.0.0/16', 'b2'],
    ]);
    expect(set.lookup('10.1.2.3')).toEqual(['a', 'b', 'b2', 'c']);
    expect(set.lookup('10.1.3.3')).toEqual(['a', 'b', 'b2']);
    expect(set.lookup('10.2.0.0')).toEqual(['a']);
    expect(set.size).toBe(4);
  });

  it('keeps IPv4 and IPv6 apart, maps IPv4-mapped IPv6 to IPv4, and handles /0', () => {
    const set = new CidrSet([
      ['0.0.0.0/0', 'any4'],
      ['::/0', 'any6'],
    ]);
    expect(set.lookup('255.255.255.255')).toEqual(['any4']);
    expect(set.lookup('::')).toEqual(['any6']);
    expect(set.lookup('::ffff:10.0.0.1')).toEqual(['any4']);
    expect(set.lookupBytes(Uint8Array.from([10, 0, 0, 1]))).toEqual(['any4']);
    expect(set.lookupBytes(new Uint8Array(5))).toEqual([]);
    expect(set.lookup('not an address')).toEqual([]);
  });

  it('agrees with ipaddr.js match() on random CIDRs and addresses', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const cidrs: string[] = [];
    for (let i = 0; i < 60; i++) {
      const v6 = i % 3 === 0;
      const bytes = Array.from({ length: v6 ? 16 : 4 }, () => rand(4) * 64 + rand(2));
      const prefix = rand(v6 ? 129 : 33);
      const ip = ipaddr.fromByteArray(bytes).toString();
      const net = v6 ? ipaddr.IPv6.networkAddressFromCIDR(`${ip}/${prefix}`) : ipaddr.IPv4.networkAddressFromCIDR(`${ip}/${prefix}`);
      cidrs.push(`${net.toString()}/${prefix}`);
    }
    const set = new CidrSet(cidrs.map((c) => [c, c] as const));
    const parsed = cidrs.map((c) => [c, ipaddr.parseCIDR(c)] as const);
    let hits = 0;
    for (let i = 0; i < 3000; i++) {
      const v6 = i % 3 === 0;
      const ip = ipaddr.fromByteArray(Array.from({ length: v6 ? 16 : 4 }, () => rand(4) * 64 + rand(2)));
      const expected = parsed.filter(([, p]) => p[0].kind() === ip.kind() && ip.match(p)).map(([c]) => c);
      const got = [...set.lookup(ip.toString())].sort();
      if (got.join() !== expected.sort().join()) expect(got, ip.toString()).toEqual(expected);
      if (!v6) {
        const b = ip.toByteArray();
        const byNumber = [...set.lookupV4(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0)].sort();
        if (byNumber.join() !== got.join()) expect(byNumber, `${ip} as a number`).toEqual(got);
      }
      hits += got.length;
    }
    expect(hits).toBeGreaterThan(1000);
  });
});

describe('host patterns', () => {
  it('normalises names', () => {
    expect(normalizeHostName('EventGW.Twilio.COM.')).toBe('eventgw.twilio.com');
    expect(normalizeHostName('a..b')).toBeNull();
    expect(normalizeHostName('.a.b')).toBeNull();
    expect(normalizeHostName('.')).toBeNull();
  });

  it('expands placeholders into every combination, with bindings', () => {
    expect(expandPattern('gw-{region}.example.com', { region: ['us1', 'au1'] })).toEqual([
      { pattern: 'gw-us1.example.com', bindings: { region: 'us1' } },
      { pattern: 'gw-au1.example.com', bindings: { region: 'au1' } },
    ]);
    expect(expandPattern('{edge}.{region}.x.com', { region: ['r1', 'r2'], edge: ['e'] }).map((e) => e.pattern)).toEqual([
      'e.r1.x.com',
      'e.r2.x.com',
    ]);
    expect(expandPattern('plain.x.com', {})).toEqual([{ pattern: 'plain.x.com', bindings: {} }]);
  });

  it.each([
    ['*.spokephone.com', null],
    ['chunderw-vpc-gll-{region}.twilio.com', null],
    ['voice-js.{edge}.twilio.com', null],
    ['x.{zone}.example.com', /unknown placeholder "\{zone\}"/],
    ['com', /at least two labels/],
    ['*.com', /at least two labels/],
    ['a.*.example.com', /"\*" is allowed only as the whole first label/],
    ['*foo.example.com', /"\*" is allowed only/],
    ['-a.example.com', /label "-a"/],
    ['a_b.example.com', /label "a_b"/],
    ['a..example.com', /label ""/],
  ])('pattern %j', (pattern, problem) => {
    const got = hostPatternProblem(pattern, ['region', 'edge']);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toMatch(problem);
  });

  it('matches exact names, wildcards of one or more labels, case-insensitively, ignoring a trailing dot', () => {
    const m = new HostMatcher([
      { pattern: '*.example.com', value: 'wild' },
      { pattern: 'api.example.com', value: 'exact' },
      { pattern: '*.eu.example.com', value: 'eu-wild' },
      { pattern: 'api.example.com', value: 'duplicate' },
    ]);
    expect(m.match('api.example.com')).toBe('exact');
    expect(m.match('API.Example.com.')).toBe('exact');
    expect(m.match('www.example.com')).toBe('wild');
    expect(m.match('a.b.c.example.com')).toBe('wild');
    expect(m.match('x.eu.example.com')).toBe('eu-wild');
    expect(m.match('eu.example.com')).toBe('wild');
    expect(m.match('example.com')).toBeNull();
    expect(m.match('badexample.com')).toBeNull();
    expect(m.match('example.com.evil.net')).toBeNull();
    expect(m.match('a..example.com')).toBeNull();
    expect(m.match('')).toBeNull();
  });
});
