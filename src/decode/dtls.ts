/**
 * DTLS (RFC 6347, RFC 9147) over UDP: record headers, handshake fragment
 * headers, and the cleartext epoch-0 handshake (ClientHello with its cookie,
 * ServerHello, the start of a Certificate) parsed with the TLS code.
 * DTLS 1.3 unified-header records (first byte 001xxxxx) are recognised as
 * encrypted. Never throws.
 */
import { TLS_ALERT, TLS_APPLICATION_DATA, TLS_HANDSHAKE, handleHandshakeMessage, type TlsHandshakeHandler } from './tls.js';

export const DTLS_RECORD_HEADER = 13;
export const DTLS_HANDSHAKE_HEADER = 12;
/** Records walked per datagram. */
const MAX_RECORDS = 32;

/** DTLS 1.0 (0xfeff), 1.2 (0xfefd), 1.3 (0xfefc, only inside supported_versions). */
export function isDtlsVersion(v: number): boolean {
  return v === 0xfeff || v === 0xfefd || v === 0xfefc;
}

/** First byte 0b001CSLEE: a DTLS 1.3 ciphertext record with the unified header. */
export function isDtlsUnifiedHeader(firstByte: number): boolean {
  return (firstByte & 0xe0) === 0x20;
}

export class DtlsRecord {
  /** 20–25 (25 = ack), or 23 for a unified-header (encrypted) record. */
  contentType = 0;
  /** 0 for unified-header records (the version is not on the wire). */
  version = 0;
  /** Full epoch for plaintext headers; low 2 bits for unified headers. */
  epoch = 0;
  /** 48-bit sequence number (low bits only for unified headers). */
  seq = 0;
  unified = false;
  bodyOff = 0;
  bodyLen = 0;
}

/**
 * Parse the record at buf[off..end). Returns the offset of the next record,
 * or -1 when this is not a DTLS record or it is cut short.
 */
export function parseDtlsRecord(buf: Uint8Array, off: number, end: number, out: DtlsRecord): number {
  if (end > buf.length) end = buf.length;
  if (off < 0 || off >= end) return -1;
  const b0 = buf[off];
  if (isDtlsUnifiedHeader(b0)) {
    // Connection-id length is negotiated, not on the wire: without it the record runs to the end.
    const hasCid = (b0 & 0x10) !== 0;
    const seqLen = b0 & 0x08 ? 2 : 1;
    const hasLen = (b0 & 0x04) !== 0;
    out.contentType = TLS_APPLICATION_DATA;
    out.version = 0;
    out.epoch = b0 & 0x03;
    out.unified = true;
    if (hasCid || !hasLen) {
      out.seq = 0;
      out.bodyOff = off + 1;
      out.bodyLen = end - off - 1;
      return end;
    }
    const lenOff = off + 1 + seqLen;
    if (lenOff + 2 > end) return -1;
    out.seq = seqLen === 2 ? (buf[off + 1] << 8) | buf[off + 2] : buf[off + 1];
    out.bodyOff = lenOff + 2;
    out.bodyLen = (buf[lenOff] << 8) | buf[lenOff + 1];
    return out.bodyOff + out.bodyLen <= end ? out.bodyOff + out.bodyLen : -1;
  }
  if (b0 < 20 || b0 > 25 || off + DTLS_RECORD_HEADER > end) return -1;
  const version = (buf[off + 1] << 8) | buf[off + 2];
  if (!isDtlsVersion(version)) return -1;
  out.contentType = b0;
  out.version = version;
  out.epoch = (buf[off + 3] << 8) | buf[off + 4];
  const seqLow = ((buf[off + 7] << 24) | (buf[off + 8] << 16) | (buf[off + 9] << 8) | buf[off + 10]) >>> 0;
  out.seq = ((buf[off + 5] << 8) | buf[off + 6]) * 2 ** 32 + seqLow;
  out.unified = false;
  out.bodyOff = off + DTLS_RECORD_HEADER;
  out.bodyLen = (buf[off + 11] << 8) | buf[off + 12];
  const next = out.bodyOff + out.bodyLen;
  return next <= end ? next : -1;
}

export class DtlsHandshakeFragment {
  msgType = 0;
  /** Length of the whole message. */
  length = 0;
  messageSeq = 0;
  fragmentOffset = 0;
  fragmentLength = 0;
  bodyOff = 0;
}

/** Parse a handshake fragment header at off; false if cut short or inconsistent. */
export function parseDtlsHandshake(buf: Uint8Array, off: number, end: number, out: DtlsHandshakeFragment): boolean {
  if (end > buf.length) end = buf.length;
  if (off < 0 || off + DTLS_HANDSHAKE_HEADER > end) return false;
  out.msgType = buf[off];
  out.length = (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
  out.messageSeq = (buf[off + 4] << 8) | buf[off + 5];
  out.fragmentOffset = (buf[off + 6] << 16) | (buf[off + 7] << 8) | buf[off + 8];
  out.fragmentLength = (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11];
  out.bodyOff = off + DTLS_HANDSHAKE_HEADER;
  return out.bodyOff + out.fragmentLength <= end && out.fragmentOffset + out.fragmentLength <= out.length;
}

/** scanDtlsDatagram() result bits. */
export const DTLS_SEEN = 1;
/** A record that cannot be read (epoch > 0, unified header, application data). */
export const DTLS_ENCRYPTED = 2;
/** A handshake message split over several fragments (only its first fragment was used). */
export const DTLS_FRAGMENTED = 4;

const record = new DtlsRecord();
const fragment = new DtlsHandshakeFragment();

/**
 * Walk the records of one UDP datagram and report the epoch-0 handshake and
 * alerts to h. Returns DTLS_* bits (0 when the datagram is not DTLS).
 */
export function scanDtlsDatagram(buf: Uint8Array, off: number, end: number, h: TlsHandshakeHandler): number {
  let result = 0;
  for (let n = 0; n < MAX_RECORDS && off < end; n++) {
    const next = parseDtlsRecord(buf, off, end, record);
    if (next < 0) break;
    result |= DTLS_SEEN;
    const body = record.bodyOff;
    const bodyEnd = body + record.bodyLen;
    if (record.unified || record.epoch > 0 || record.contentType === TLS_APPLICATION_DATA) result |= DTLS_ENCRYPTED;
    else if (record.contentType === TLS_ALERT && record.bodyLen === 2) h.onAlert(buf[body], buf[body + 1]);
    else if (record.contentType === TLS_HANDSHAKE) {
      for (let p = body; parseDtlsHandshake(buf, p, bodyEnd, fragment); p = fragment.bodyOff + fragment.fragmentLength) {
        const whole = fragment.fragmentOffset === 0 && fragment.fragmentLength === fragment.length;
        if (!whole) result |= DTLS_FRAGMENTED;
        if (fragment.fragmentOffset === 0) {
          const fragEnd = fragment.bodyOff + fragment.fragmentLength;
          handleHandshakeMessage(fragment.msgType, buf, fragment.bodyOff, fragEnd, whole, h, true);
        }
      }
    }
    off = next;
  }
  return result;
}
