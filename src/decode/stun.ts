/**
 * STUN (RFC 5389 / 8489) messages and TURN ChannelData framing (RFC 8656).
 * parseStun() fills a reused StunMessage without allocating: addresses are
 * kept as bytes, USERNAME/SOFTWARE as offsets into the (borrowed) buffer;
 * the *Text() helpers allocate and are meant for output only. Never throws.
 */
import { formatIp } from './view.js';
import { wireName } from '../report/sanitize.js';

export const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_HEADER = 20;

export const STUN_CLASS_REQUEST = 0;
export const STUN_CLASS_INDICATION = 1;
export const STUN_CLASS_SUCCESS = 2;
export const STUN_CLASS_ERROR = 3;

export const STUN_METHOD_BINDING = 0x001;
export const STUN_METHOD_ALLOCATE = 0x003;
export const STUN_METHOD_REFRESH = 0x004;
export const STUN_METHOD_SEND = 0x006;
export const STUN_METHOD_DATA = 0x007;
export const STUN_METHOD_CREATE_PERMISSION = 0x008;
export const STUN_METHOD_CHANNEL_BIND = 0x009;

const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_USERNAME = 0x0006;
const ATTR_ERROR_CODE = 0x0009;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_PRIORITY = 0x0024;
const ATTR_USE_CANDIDATE = 0x0025;
const ATTR_SOFTWARE = 0x8022;
const ATTR_ICE_CONTROLLED = 0x8029;
const ATTR_ICE_CONTROLLING = 0x802a;

/** Attributes walked per message. */
const MAX_ATTRIBUTES = 64;

/** A transport address from (XOR-)MAPPED-ADDRESS, already un-XORed. */
export class StunAddress {
  /** 0 = absent, else 4 or 6. */
  family: 0 | 4 | 6 = 0;
  port = 0;
  readonly addr = new Uint8Array(16);
}

export class StunMessage {
  type = 0;
  /** STUN_CLASS_* */
  cls = 0;
  /** STUN_METHOD_* (12 bits). */
  method = 0;
  /** Attribute bytes after the header. */
  length = 0;
  /** True when the RFC 5389 magic cookie is present (false: classic RFC 3489). */
  magic = false;
  /** Offset of the 96-bit transaction id in the buffer (12 bytes). */
  transactionIdOff = 0;
  readonly xorMapped = new StunAddress();
  readonly mapped = new StunAddress();
  /** USERNAME / SOFTWARE value offset and length in the buffer (len -1 = absent). */
  usernameOff = 0;
  usernameLen = -1;
  softwareOff = 0;
  softwareLen = -1;
  /** ICE PRIORITY, -1 if absent. */
  priority = -1;
  useCandidate = false;
  iceControlling = false;
  iceControlled = false;
  /** ERROR-CODE as class*100+number (e.g. 401), -1 if absent. */
  errorCode = -1;
  /** Message claims more attribute bytes than were captured. */
  truncated = false;

  reset(): void {
    this.type = this.cls = this.method = this.length = 0;
    this.magic = false;
    this.transactionIdOff = 0;
    this.xorMapped.family = 0;
    this.mapped.family = 0;
    this.usernameLen = this.softwareLen = -1;
    this.priority = -1;
    this.useCandidate = this.iceControlling = this.iceControlled = false;
    this.errorCode = -1;
    this.truncated = false;
  }
}

/** Quick check of the fixed header: top two bits zero, length multiple of 4, magic cookie. */
export function looksLikeStun(buf: Uint8Array, off: number, end: number): boolean {
  return (
    end - off >= STUN_HEADER &&
    (buf[off] & 0xc0) === 0 &&
    (buf[off + 3] & 3) === 0 &&
    buf[off + 4] === 0x21 &&
    buf[off + 5] === 0x12 &&
    buf[off + 6] === 0xa4 &&
    buf[off + 7] === 0x42
  );
}

function readAddress(buf: Uint8Array, p: number, len: number, msgOff: number, xor: boolean, out: StunAddress): void {
  if (len < 8) return;
  const family = buf[p + 1];
  const size = family === 1 ? 4 : family === 2 ? 16 : 0;
  if (size === 0 || len < 4 + size) return;
  out.family = size === 4 ? 4 : 6;
  out.port = ((buf[p + 2] << 8) | buf[p + 3]) ^ (xor ? 0x2112 : 0);
  // XOR key: magic cookie then transaction id, i.e. header bytes 4..19.
  for (let i = 0; i < size; i++) out.addr[i] = buf[p + 4 + i] ^ (xor ? buf[msgOff + 4 + i] : 0);
}

/**
 * Parse a STUN message at buf[off..end). Returns false if the header is not
 * STUN. Attributes are read as far as they were captured.
 */
export function parseStun(buf: Uint8Array, off: number, end: number, out: StunMessage): boolean {
  out.reset();
  if (end > buf.length) end = buf.length;
  if (off < 0 || end - off < STUN_HEADER || (buf[off] & 0xc0) !== 0) return false;
  const length = (buf[off + 2] << 8) | buf[off + 3];
  if (length & 3) return false;
  const t = (buf[off] << 8) | buf[off + 1];
  out.type = t;
  out.cls = ((t >> 7) & 2) | ((t >> 4) & 1);
  out.method = (t & 0x000f) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0f80);
  out.length = length;
  out.magic = looksLikeStun(buf, off, end);
  out.transactionIdOff = off + 8;
  let attrEnd = off + STUN_HEADER + length;
  if (attrEnd > end) {
    out.truncated = true;
    attrEnd = end;
  }
  for (let p = off + STUN_HEADER, n = 0; p + 4 <= attrEnd && n < MAX_ATTRIBUTES; n++) {
    const type = (buf[p] << 8) | buf[p + 1];
    const len = (buf[p + 2] << 8) | buf[p + 3];
    const v = p + 4;
    if (v + len > attrEnd) {
      out.truncated = true;
      break;
    }
    switch (type) {
      case ATTR_XOR_MAPPED_ADDRESS:
        if (out.magic) readAddress(buf, v, len, off, true, out.xorMapped);
        break;
      case ATTR_MAPPED_ADDRESS:
        readAddress(buf, v, len, off, false, out.mapped);
        break;
      case ATTR_USERNAME:
        out.usernameOff = v;
        out.usernameLen = len;
        break;
      case ATTR_SOFTWARE:
        out.softwareOff = v;
        out.softwareLen = len;
        break;
      case ATTR_PRIORITY:
        if (len >= 4) out.priority = ((buf[v] << 24) | (buf[v + 1] << 16) | (buf[v + 2] << 8) | buf[v + 3]) >>> 0;
        break;
      case ATTR_USE_CANDIDATE:
        out.useCandidate = true;
        break;
      case ATTR_ICE_CONTROLLING:
        out.iceControlling = true;
        break;
      case ATTR_ICE_CONTROLLED:
        out.iceControlled = true;
        break;
      case ATTR_ERROR_CODE:
        if (len >= 4) out.errorCode = (buf[v + 2] & 7) * 100 + buf[v + 3];
        break;
    }
    p = v + ((len + 3) & ~3); // values are padded to 4 bytes
  }
  return true;
}

/** Address text ("ip") of a parsed address, or null when absent. Allocates. */
export function stunAddressText(a: StunAddress): string | null {
  return a.family === 0 ? null : formatIp(a.addr, 0, a.family === 4 ? 4 : 16);
}

/** USERNAME as escaped text (allocates; the buffer must still be the one parsed). */
export function stunUsername(buf: Uint8Array, m: StunMessage): string | null {
  return m.usernameLen < 0 ? null : wireName(buf, m.usernameOff, m.usernameLen);
}

/** SOFTWARE as escaped text (allocates; the buffer must still be the one parsed). */
export function stunSoftware(buf: Uint8Array, m: StunMessage): string | null {
  return m.softwareLen < 0 ? null : wireName(buf, m.softwareOff, m.softwareLen);
}

/** TURN ChannelData header (first byte 0x40–0x4f). */
export class ChannelData {
  channel = 0;
  dataOff = 0;
  dataLen = 0;
  /** Bytes of this frame including header and, over TCP, padding to 4. */
  frameLen = 0;
  truncated = false;
}

/**
 * Parse a ChannelData frame. `stream` = over TCP (frames are padded to a
 * multiple of 4 there). Returns false if the channel number is out of range
 * (0x4000–0x4fff) or the header is missing.
 */
export function parseChannelData(buf: Uint8Array, off: number, end: number, stream: boolean, out: ChannelData): boolean {
  if (end > buf.length) end = buf.length;
  if (off < 0 || off + 4 > end) return false;
  const channel = (buf[off] << 8) | buf[off + 1];
  if (channel < 0x4000 || channel > 0x4fff) return false;
  const len = (buf[off + 2] << 8) | buf[off + 3];
  out.channel = channel;
  out.dataOff = off + 4;
  out.dataLen = Math.min(len, end - off - 4);
  out.truncated = len > end - off - 4;
  out.frameLen = 4 + (stream ? (len + 3) & ~3 : len);
  return true;
}
