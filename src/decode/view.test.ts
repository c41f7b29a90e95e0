import { describe, expect, it } from 'vitest';
import { formatIp, formatIp4, parseIp4 } from './view.js';

describe('formatIp4 / formatIp', () => {
  it('prints every octet width without leading zeros, from a number or bytes', () => {
    const cases: Array<[number, string]> = [
      [0, '0.0.0.0'],
      [0xffffffff, '255.255.255.255'],
      [0x0a000001, '10.0.0.1'],
      [0xc0a80164, '192.168.1.100'],
      [0x640a0b63, '100.10.11.99'],
      [0x09630a00, '9.99.10.0'],
    ];
    for (const [v, text] of cases) {
      expect(formatIp4(v)).toBe(text);
      expect(formatIp4(v | 0)).toBe(text);
      expect(formatIp(Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255), 0, 4)).toBe(text);
    }
  });

  it('compresses IPv6 per RFC 5952', () => {
    const b = new Uint8Array(16);
    b[0] = 0x20;
    b[1] = 0x01;
    b[2] = 0x0d;
    b[3] = 0xb8;
    b[15] = 1;
    expect(formatIp(b, 0, 16)).toBe('2001:db8::1');
  });
});

describe('parseIp4', () => {
  it('reads canonical dotted quads and refuses every other text', () => {
    expect(parseIp4('0.0.0.0')).toBe(0);
    expect(parseIp4('10.1.2.15')).toBe(0x0a01020f);
    expect(parseIp4('255.255.255.255')).toBe(0xffffffff);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1..2.3', '1.2.3.4 ', '::1', '1.2.3.a', '1.2.3.', '.1.2.3', '1000.2.3.4'])
      expect(parseIp4(bad), bad).toBe(-1);
  });
});
