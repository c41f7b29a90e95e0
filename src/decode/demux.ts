/**
 * RFC 7983 (with RFC 9443's TURN channel range) first-byte demultiplexing of
 * a UDP payload shared by STUN, ZRTP, DTLS, TURN ChannelData and RTP/RTCP.
 * RTP and RTCP are told apart by the second byte (RFC 5761: RTCP packet types
 * 192–223 are never used as RTP marker+payload-type values).
 */

export const DEMUX_OTHER = 0;
export const DEMUX_STUN = 1;
export const DEMUX_ZRTP = 2;
export const DEMUX_DTLS = 3;
export const DEMUX_TURN_CHANNEL = 4;
export const DEMUX_RTP = 5;
export const DEMUX_RTCP = 6;

export type DemuxKind =
  | typeof DEMUX_OTHER
  | typeof DEMUX_STUN
  | typeof DEMUX_ZRTP
  | typeof DEMUX_DTLS
  | typeof DEMUX_TURN_CHANNEL
  | typeof DEMUX_RTP
  | typeof DEMUX_RTCP;

export const DEMUX_NAMES = ['other', 'stun', 'zrtp', 'dtls', 'turn-channel', 'rtp', 'rtcp'] as const;

/** Classify buf[off..end) by its first byte (and second, for RTP vs RTCP). */
export function demuxUdp(buf: Uint8Array, off: number, end: number): DemuxKind {
  if (end > buf.length) end = buf.length;
  if (off < 0 || off >= end) return DEMUX_OTHER;
  const b = buf[off];
  if (b <= 3) return DEMUX_STUN;
  if (b >= 16 && b <= 19) return DEMUX_ZRTP;
  if (b >= 20 && b <= 63) return DEMUX_DTLS;
  if (b >= 64 && b <= 79) return DEMUX_TURN_CHANNEL;
  if (b >= 128 && b <= 191) {
    if (off + 1 >= end) return DEMUX_OTHER;
    const pt = buf[off + 1];
    return pt >= 192 && pt <= 223 ? DEMUX_RTCP : DEMUX_RTP;
  }
  return DEMUX_OTHER;
}
