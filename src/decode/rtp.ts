/**
 * RTP (RFC 3550) headers and RTCP compound packets. Both fill reused result
 * objects and never allocate or throw. RTCP report blocks are stored in
 * fixed typed arrays (SR/RR only); SDES, BYE, APP, RTPFB/PSFB and XR are
 * counted and skipped by length. SRTCP trailers (E flag, index, auth tag)
 * after the last packet are left as `trailingBytes`.
 */

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_APP = 204;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;
export const RTCP_XR = 207;

export class RtpHeader {
  version = 0;
  padding = false;
  extension = false;
  csrcCount = 0;
  marker = false;
  payloadType = 0;
  seq = 0;
  timestamp = 0;
  ssrc = 0;
  /** Header extension profile and length in bytes (0 if none). */
  extProfile = 0;
  extLen = 0;
  /** Header length including CSRCs and extension. */
  headerLen = 0;
  payloadOff = 0;
  /** Payload length without padding. */
  payloadLen = 0;
}

/**
 * Parse an RTP header at buf[off..end). Returns false unless version is 2 and
 * the header (CSRCs, extension, padding count) fits in the bytes given.
 */
export function parseRtp(buf: Uint8Array, off: number, end: number, out: RtpHeader): boolean {
  if (end > buf.length) end = buf.length;
  if (off < 0 || end - off < 12) return false;
  const b0 = buf[off];
  if (b0 >> 6 !== 2) return false;
  out.version = 2;
  out.padding = (b0 & 0x20) !== 0;
  out.extension = (b0 & 0x10) !== 0;
  out.csrcCount = b0 & 0x0f;
  out.marker = (buf[off + 1] & 0x80) !== 0;
  out.payloadType = buf[off + 1] & 0x7f;
  out.seq = (buf[off + 2] << 8) | buf[off + 3];
  out.timestamp = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
  out.ssrc = ((buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11]) >>> 0;
  let p = off + 12 + 4 * out.csrcCount;
  out.extProfile = 0;
  out.extLen = 0;
  if (out.extension) {
    if (p + 4 > end) return false;
    out.extProfile = (buf[p] << 8) | buf[p + 1];
    out.extLen = 4 * ((buf[p + 2] << 8) | buf[p + 3]);
    p += 4 + out.extLen;
  }
  if (p > end) return false;
  out.headerLen = p - off;
  out.payloadOff = p;
  let len = end - p;
  if (out.padding) {
    const pad = buf[end - 1];
    if (pad === 0 || pad > len) return false;
    len -= pad;
  }
  out.payloadLen = len;
  return true;
}

/**
 * The RTP packet at buf[off..end) as the media analyzer's per-packet path
 * takes it: the offset of its payload (padding included) when demuxUdp would
 * call it RTP and parseRtp would accept its header, else -1. It only checks,
 * storing nothing, so the caller reads the fixed header's bytes it needs
 * (bytes off..off+11 are within end). Unlike those two it does not clamp
 * end to buf.length: it returns -1 when end is past it.
 */
export function rtpPayloadOffset(buf: Uint8Array, off: number, end: number): number {
  if (end > buf.length || off < 0 || end - off < 12) return -1;
  const b0 = buf[off];
  // RFC 7983: 128–191 is RTP or RTCP; RFC 5761: RTCP packet types 192–223.
  if (b0 < 128 || b0 > 191) return -1;
  const b1 = buf[off + 1];
  if (b1 >= 192 && b1 <= 223) return -1;
  let p = off + 12 + 4 * (b0 & 0x0f);
  if ((b0 & 0x10) !== 0) {
    if (p + 4 > end) return -1;
    p += 4 + 4 * ((buf[p + 2] << 8) | buf[p + 3]);
  }
  if (p > end) return -1;
  if ((b0 & 0x20) !== 0) {
    const pad = buf[end - 1];
    if (pad === 0 || pad > end - p) return -1;
  }
  return p;
}

/** Report blocks kept per compound packet. */
export const MAX_REPORT_BLOCKS = 64;
/** RTCP packets walked per compound packet. */
const MAX_RTCP_PACKETS = 32;

export class RtcpCompound {
  /** RTCP packets parsed, and how many of each kind was seen. */
  packets = 0;
  srCount = 0;
  rrCount = 0;
  sdesCount = 0;
  byeCount = 0;
  otherCount = 0;
  /** Sender info of the first SR. */
  senderSsrc = 0;
  ntpSec = 0;
  ntpFrac = 0;
  rtpTimestamp = 0;
  senderPackets = 0;
  senderOctets = 0;
  /** Report blocks: the reporter (SR/RR sender), the reported source, and RFC 3550 fields. */
  blocks = 0;
  readonly reporter = new Uint32Array(MAX_REPORT_BLOCKS);
  readonly source = new Uint32Array(MAX_REPORT_BLOCKS);
  /** Fraction lost, 0–255 (divide by 256). */
  readonly fractionLost = new Uint8Array(MAX_REPORT_BLOCKS);
  /** Cumulative lost (24-bit signed). */
  readonly cumulativeLost = new Int32Array(MAX_REPORT_BLOCKS);
  readonly extHighestSeq = new Uint32Array(MAX_REPORT_BLOCKS);
  /** Interarrival jitter in timestamp units. */
  readonly jitter = new Uint32Array(MAX_REPORT_BLOCKS);
  readonly lsr = new Uint32Array(MAX_REPORT_BLOCKS);
  /** Delay since last SR, 1/65536 s. */
  readonly dlsr = new Uint32Array(MAX_REPORT_BLOCKS);
  /** Bytes after the last packet (SRTCP trailer) or an unparsable tail. */
  trailingBytes = 0;
  /** A packet's length ran past the bytes given. */
  truncated = false;

  reset(): void {
    this.packets = this.srCount = this.rrCount = this.sdesCount = this.byeCount = this.otherCount = 0;
    this.senderSsrc = this.ntpSec = this.ntpFrac = this.rtpTimestamp = this.senderPackets = this.senderOctets = 0;
    this.blocks = 0;
    this.trailingBytes = 0;
    this.truncated = false;
  }
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

/** First-packet check: version 2 and packet type 200–207 (SR … XR) or at least 192–223. */
export function looksLikeRtcp(buf: Uint8Array, off: number, end: number): boolean {
  return end - off >= 8 && buf[off] >> 6 === 2 && buf[off + 1] >= 192 && buf[off + 1] <= 223;
}

function readBlocks(b: Uint8Array, p: number, count: number, end: number, reporter: number, out: RtcpCompound): void {
  for (let i = 0; i < count && p + 24 <= end && out.blocks < MAX_REPORT_BLOCKS; i++, p += 24) {
    const k = out.blocks++;
    out.reporter[k] = reporter;
    out.source[k] = u32(b, p);
    out.fractionLost[k] = b[p + 4];
    out.cumulativeLost[k] = ((b[p + 5] << 24) | (b[p + 6] << 16) | (b[p + 7] << 8)) >> 8;
    out.extHighestSeq[k] = u32(b, p + 8);
    out.jitter[k] = u32(b, p + 12);
    out.lsr[k] = u32(b, p + 16);
    out.dlsr[k] = u32(b, p + 20);
  }
}

/**
 * Parse an RTCP compound packet. Returns false when the first packet is not
 * RTCP; otherwise walks packets by their length field.
 */
export function parseRtcp(buf: Uint8Array, off: number, end: number, out: RtcpCompound): boolean {
  out.reset();
  if (end > buf.length) end = buf.length;
  if (off < 0 || !looksLikeRtcp(buf, off, end)) return false;
  let p = off;
  for (let n = 0; n < MAX_RTCP_PACKETS && p + 4 <= end; n++) {
    if (buf[p] >> 6 !== 2 || buf[p + 1] < 192 || buf[p + 1] > 223) break;
    const count = buf[p] & 0x1f;
    const type = buf[p + 1];
    const next = p + 4 * (((buf[p + 2] << 8) | buf[p + 3]) + 1);
    if (next > end) {
      out.truncated = true;
      p = end;
      break;
    }
    out.packets++;
    if (type === RTCP_SR && p + 28 <= next) {
      if (out.srCount++ === 0) {
        out.senderSsrc = u32(buf, p + 4);
        out.ntpSec = u32(buf, p + 8);
        out.ntpFrac = u32(buf, p + 12);
        out.rtpTimestamp = u32(buf, p + 16);
        out.senderPackets = u32(buf, p + 20);
        out.senderOctets = u32(buf, p + 24);
      }
      readBlocks(buf, p + 28, count, next, u32(buf, p + 4), out);
    } else if (type === RTCP_RR && p + 8 <= next) {
      out.rrCount++;
      readBlocks(buf, p + 8, count, next, u32(buf, p + 4), out);
    } else if (type === RTCP_SDES) out.sdesCount++;
    else if (type === RTCP_BYE) out.byeCount++;
    else out.otherCount++;
    p = next;
  }
  out.trailingBytes = end - p;
  return true;
}
