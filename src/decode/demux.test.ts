import { describe, expect, it } from 'vitest';
import { DEMUX_DTLS, DEMUX_NAMES, DEMUX_OTHER, DEMUX_RTCP, DEMUX_RTP, DEMUX_STUN, DEMUX_TURN_CHANNEL, DEMUX_ZRTP, demuxUdp } from './demux.js';

const kind = (...bytes: number[]) => DEMUX_NAMES[demuxUdp(Uint8Array.from(bytes), 0, bytes.length)];

describe('demuxUdp (RFC 7983)', () => {
  it('classifies every first-byte range at its edges', () => {
    expect([kind(0), kind(3)]).toEqual(['stun', 'stun']);
    expect([kind(4), kind(15)]).toEqual(['other', 'other']);
    expect([kind(16), kind(19)]).toEqual(['zrtp', 'zrtp']);
    expect([kind(20), kind(63)]).toEqual(['dtls', 'dtls']);
    expect([kind(64), kind(79)]).toEqual(['turn-channel', 'turn-channel']);
    expect([kind(80), kind(127)]).toEqual(['other', 'other']);
    expect([kind(128, 0), kind(191, 111)]).toEqual(['rtp', 'rtp']);
    expect([kind(128, 191), kind(128, 224)]).toEqual(['rtp', 'rtp']);
    expect([kind(0x81, 192), kind(0x80, 200), kind(0x80, 223)]).toEqual(['rtcp', 'rtcp', 'rtcp']);
    expect([kind(192), kind(255)]).toEqual(['other', 'other']);
  });

  it('returns other for empty or one-byte RTP-range input', () => {
    expect(demuxUdp(new Uint8Array(0), 0, 0)).toBe(DEMUX_OTHER);
    expect(kind(0x80)).toBe('other');
    expect([DEMUX_STUN, DEMUX_ZRTP, DEMUX_DTLS, DEMUX_TURN_CHANNEL, DEMUX_RTP, DEMUX_RTCP].map((k) => DEMUX_NAMES[k])).toEqual([
      'stun',
      'zrtp',
      'dtls',
      'turn-channel',
      'rtp',
      'rtcp',
    ]);
  });
});
