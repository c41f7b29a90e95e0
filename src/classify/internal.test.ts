import { describe, expect, it } from 'vitest';
import { CidrSet, parseIp } from '../policy/match.js';
import { newFlow } from '../flow/table.js';
import { seededRandom } from '../synth/random.js';
import { DEFAULT_INTERNAL, InternalNetError, InternalNets } from './internal.js';

describe('InternalNets', () => {
  const nets = new InternalNets();

  it.each([
    ['10.0.0.0', true],
    ['10.255.255.255', true],
    ['9.255.255.255', false],
    ['11.0.0.0', false],
    ['172.16.0.0', true],
    ['172.31.255.255', true],
    ['172.15.255.255', false],
    ['172.32.0.0', false],
    ['192.168.0.0', true],
    ['192.168.255.255', true],
    ['192.167.255.255', false],
    ['192.169.0.0', false],
    ['100.64.0.0', true],
    ['100.127.255.255', true],
    ['100.63.255.255', false],
    ['100.128.0.0', false],
    ['169.254.0.1', true],
    ['169.255.0.0', false],
    ['127.0.0.1', true],
    ['127.255.255.255', true],
    ['128.0.0.0', false],
    ['fc00::', true],
    ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', false],
    ['fe00::', false],
    ['fe80::1', true],
    ['febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['fec0::', false],
    ['::1', true],
    ['::2', false],
    ['::ffff:192.168.1.1', true],
    ['168.86.128.1', false],
    ['2001:db8::1', false],
    ['not-an-ip', false],
  ])('default: %s internal = %s', (ip, inside) => {
    expect(nets.containsIp(ip)).toBe(inside);
  });

  it('lists the defaults in canonical form and checks bytes', () => {
    expect(nets.cidrs).toEqual(DEFAULT_INTERNAL);
    expect(nets.containsBytes(Uint8Array.from([10, 1, 2, 3]))).toBe(true);
    expect(nets.containsBytes(Uint8Array.from([8, 8, 8, 8]))).toBe(false);
  });

  it('answers as a CIDR set of the same networks for any text: dotted quads, near misses, IPv6, junk', () => {
    const cidrs = ['203.0.113.0/24', '10.0.0.0/8', '0.0.0.0/1', '198.51.100.7', '2001:db8:5::/48', '::ffff:192.0.2.0/120'];
    const custom = new InternalNets(cidrs);
    const reference = new CidrSet([...custom.cidrs, '127.0.0.0/8', '::1/128'].map((c) => [c, true] as const));
    const rand = seededRandom(11);
    const pick = (s: string) => s[Math.floor(rand() * s.length)];
    const octet = () => String(Math.floor(rand() * 260));
    const texts = ['', '.', '1.2.3', '1.2.3.4.', '.1.2.3', '1..2.3', '01.2.3.4', '1.2.3.04', '010.0.0.1', '10.0.0.01', '10.0.0.1a', '0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3.4 ', '::ffff:192.0.2.9', '::ffff:10.0.0.1'];
    for (let i = 0; i < 3000; i++) {
      texts.push([octet(), octet(), octet(), octet()].join('.'));
      texts.push(Array.from({ length: 1 + Math.floor(rand() * 16) }, () => pick('0123456789..:af ')).join(''));
    }
    for (const t of texts) expect([t, custom.containsIp(t)]).toEqual([t, reference.lookup(t).length > 0]);
  });

  it('checks IPv4 addresses given as numbers', () => {
    expect(nets.containsV4(0x0a010203)).toBe(true);
    expect(nets.containsV4(0xc0a80101)).toBe(true);
    expect(nets.containsV4(0xffffffff)).toBe(false);
    expect(new InternalNets(['0.0.0.0/0']).containsV4(0xffffffff)).toBe(true);
  });

  it("checks a flow's addresses by number, or by text for IPv6 and assigned text", () => {
    const v4 = newFlow('F1', 17, 4, parseIp('10.1.2.3')!, parseIp('8.8.8.8')!, 5000, 53, 0);
    expect(v4.ip4(0)).toBe(0x0a010203);
    expect([nets.containsFlowAddr(v4, 0), nets.containsFlowAddr(v4, 1)]).toEqual([true, false]);
    const v6 = newFlow('F2', 17, 6, parseIp('fd00::1')!, parseIp('2001:db8::1')!, 5000, 53, 0);
    expect(v6.ip4(0)).toBe(-1);
    expect([nets.containsFlowAddr(v6, 0), nets.containsFlowAddr(v6, 1)]).toEqual([true, false]);
    v4.serverIp = '192.168.1.1'; // assigned text wins over the row
    expect(v4.ip4(1)).toBe(-1);
    expect(nets.containsFlowAddr(v4, 1)).toBe(true);
  });

  it('replaces the defaults with --internal networks, keeping loopback; a bare address is a host', () => {
    const custom = new InternalNets(['203.0.113.0/24', '2001:db8:5::/48', '198.51.100.7']);
    expect(custom.cidrs).toEqual(['203.0.113.0/24', '2001:db8:5::/48', '198.51.100.7/32']);
    expect(custom.containsIp('203.0.113.255')).toBe(true);
    expect(custom.containsIp('203.0.114.0')).toBe(false);
    expect(custom.containsIp('2001:db8:5:ffff::1')).toBe(true);
    expect(custom.containsIp('198.51.100.7')).toBe(true);
    expect(custom.containsIp('198.51.100.8')).toBe(false);
    expect(custom.containsIp('10.0.0.1')).toBe(false);
    expect(custom.containsIp('127.0.0.1')).toBe(true);
    expect(custom.containsIp('::1')).toBe(true);
  });

  it.each([
    ['10.0.0/8', '--internal "10.0.0/8": "10.0.0" is not an IPv4 (dotted quad) or IPv6 address; expected a CIDR like "10.0.0.0/8" or a single address'],
    ['10.0.0.1/8', '--internal "10.0.0.1/8": host bits are set; the network is 10.0.0.0/8; expected a CIDR like "10.0.0.0/8" or a single address'],
    ['10.0.0.0/40', '--internal "10.0.0.0/40": the prefix length must be a whole number from 0 to 32; expected a CIDR like "10.0.0.0/8" or a single address'],
  ])('rejects %j with a clear message', (bad, message) => {
    expect(() => new InternalNets([bad])).toThrow(InternalNetError);
    expect(() => new InternalNets([bad])).toThrow(message);
  });
});
