import { describe, expect, it } from 'vitest';
import { stunMessage } from '../synth/packets.js';
import {
  ChannelData,
  STUN_CLASS_ERROR,
  STUN_CLASS_REQUEST,
  STUN_CLASS_SUCCESS,
  STUN_METHOD_ALLOCATE,
  STUN_METHOD_BINDING,
  StunMessage,
  parseChannelData,
  parseStun,
  stunAddressText,
  stunSoftware,
  stunUsername,
} from './stun.js';

const txid = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

/** Append attributes (type, value) to a STUN message and fix its length. */
function withAttrs(m: Uint8Array, attrs: Array<[number, number[]]>): Uint8Array {
  const extra: number[] = [];
  for (const [t, v] of attrs) {
    extra.push(t >> 8, t & 255, v.length >> 8, v.length & 255, ...v);
    while (extra.length % 4) extra.push(0);
  }
  const out = Uint8Array.from([...m, ...extra]);
  const len = out.length - 20;
  out.set([len >> 8, len & 255], 2);
  return out;
}

describe('parseStun', () => {
  const m = new StunMessage();

  it('reads a binding success with XOR-MAPPED-ADDRESS (IPv4)', () => {
    const b = stunMessage(0x0101, txid, { ip: '203.0.113.7', port: 54321 });
    expect(parseStun(b, 0, b.length, m)).toBe(true);
    expect(m).toMatchObject({ cls: STUN_CLASS_SUCCESS, method: STUN_METHOD_BINDING, magic: true, truncated: false, transactionIdOff: 8 });
    expect(stunAddressText(m.xorMapped)).toBe('203.0.113.7');
    expect(m.xorMapped.port).toBe(54321);
  });

  it('un-XORs an IPv6 address with cookie and transaction id', () => {
    const ip = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const key = [0x21, 0x12, 0xa4, 0x42, ...txid];
    const value = [0, 2, (443 ^ 0x2112) >> 8, (443 ^ 0x2112) & 255, ...ip.map((x, i) => x ^ key[i])];
    const b = withAttrs(stunMessage(0x0101, txid), [[0x0020, value]]);
    parseStun(b, 0, b.length, m);
    expect(stunAddressText(m.xorMapped)).toBe('2001:db8::1');
    expect(m.xorMapped.port).toBe(443);
  });

  it('reads ICE attributes, USERNAME, SOFTWARE, MAPPED-ADDRESS and ERROR-CODE', () => {
    const b = withAttrs(stunMessage(0x0001, txid), [
      [0x0006, [...Buffer.from('abc:def')]],
      [0x0024, [0x6e, 0x00, 0x1e, 0xff]],
      [0x0025, []],
      [0x802a, [0, 0, 0, 0, 0, 0, 0, 1]],
      [0x8022, [...Buffer.from('spoke\x07')]],
      [0x0001, [0, 1, 0x0d, 0x96, 10, 0, 0, 1]],
    ]);
    parseStun(b, 0, b.length, m);
    expect(m.cls).toBe(STUN_CLASS_REQUEST);
    expect(stunUsername(b, m)).toBe('abc:def');
    expect(stunSoftware(b, m)).toBe('spoke\\x07');
    expect(m.priority).toBe(0x6e001eff);
    expect(m.useCandidate).toBe(true);
    expect(m.iceControlling).toBe(true);
    expect(m.iceControlled).toBe(false);
    expect(stunAddressText(m.mapped)).toBe('10.0.0.1');
    expect(m.mapped.port).toBe(3478);
    const err = withAttrs(stunMessage(0x0113, txid), [[0x0009, [0, 0, 4, 1, ...Buffer.from('Unauthorized')]]]);
    parseStun(err, 0, err.length, m);
    expect(m).toMatchObject({ cls: STUN_CLASS_ERROR, method: STUN_METHOD_ALLOCATE, errorCode: 401 });
  });

  it('rejects non-STUN and flags truncation', () => {
    const rtp = new Uint8Array(40);
    rtp[0] = 0x80;
    expect(parseStun(rtp, 0, rtp.length, m)).toBe(false);
    const b = stunMessage(0x0101, txid, { ip: '198.51.100.1', port: 1 });
    for (let end = 0; end < b.length; end++) {
      const ok = parseStun(b, 0, end, m);
      expect(ok).toBe(end >= 20);
      if (ok) expect(m.truncated).toBe(true);
    }
  });
});

describe('parseChannelData', () => {
  it('frames TURN ChannelData over UDP and TCP', () => {
    const b = Uint8Array.from([0x40, 0x01, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0]);
    const c = new ChannelData();
    expect(parseChannelData(b, 0, b.length, false, c)).toBe(true);
    expect(c).toMatchObject({ channel: 0x4001, dataOff: 4, dataLen: 5, frameLen: 9, truncated: false });
    parseChannelData(b, 0, b.length, true, c);
    expect(c.frameLen).toBe(12);
    parseChannelData(b, 0, 6, false, c);
    expect(c).toMatchObject({ dataLen: 2, truncated: true });
    expect(parseChannelData(Uint8Array.from([0x50, 0, 0, 0]), 0, 4, false, c)).toBe(false);
  });
});
