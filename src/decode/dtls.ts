/**
 * DTLS (RFC 6347, RFC 9147) over UDP: record headers, handshake fragment
 * headers, and the cleartext epoch-0 handshake (ClientHello with its cookie,
 * ServerHello, the start of a Certificate) parsed with the TLS code.
 * DTLS 1.3 unified-header records (first byte 001xxxxx) are recognised as
 * encrypted. Never throws.
 */
import {
  HS_CERTIFICATE,
  HS_CLIENT_HELLO,
  HS_SERVER_HELLO,
  TLS_ALERT,
  TLS_APPLICATION_DATA,
  TLS_HANDSHAKE,
  handleHandshakeMessage,
  type TlsHandshakeHandler,
} from './tls.js';

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

/** A plaintext DTLS record header (content type 20–25, DTLS version) at off. */
export function looksLikeDtlsRecord(buf: Uint8Array, off: number, end: number): boolean {
  return end - off >= DTLS_RECORD_HEADER && buf[off] >= 20 && buf[off] <= 25 && isDtlsVersion((buf[off + 1] << 8) | buf[off + 2]);
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

/** Largest handshake message reassembled from fragments. */
const MAX_HANDSHAKE_MESSAGE = 64 * 1024;

/**
 * Reassembles fragmented handshake messages of one direction (ClientHello,
 * ServerHello, Certificate) in order of fragment offset; the first copy of
 * a byte wins and a fragment starting beyond the filled part is dropped
 * (its retransmission usually comes in order). A Certificate is reported as
 * soon as its first certificate is complete.
 */
export class DtlsHandshakeAssembler {
  private buf: Uint8Array | null = null;
  private seq = -1;
  private type = 0;
  private length = 0;
  private filled = 0;
  /** Reported already (the whole message, or the first certificate). */
  private reported = false;

  add(frag: DtlsHandshakeFragment, src: Uint8Array, h: TlsHandshakeHandler): void {
    const t = frag.msgType;
    if (t !== HS_CLIENT_HELLO && t !== HS_SERVER_HELLO && t !== HS_CERTIFICATE) return;
    if (frag.fragmentOffset === 0 && frag.fragmentLength === frag.length) {
      handleHandshakeMessage(t, src, frag.bodyOff, frag.bodyOff + frag.length, true, h, true);
      return;
    }
    if (frag.messageSeq !== this.seq || t !== this.type) {
      if (frag.length > MAX_HANDSHAKE_MESSAGE) return;
      this.seq = frag.messageSeq;
      this.type = t;
      this.length = frag.length;
      this.filled = 0;
      this.reported = false;
      if (!this.buf || this.buf.length < frag.length) this.buf = new Uint8Array(frag.length);
    }
    const buf = this.buf!;
    const fragEnd = frag.fragmentOffset + frag.fragmentLength;
    if (this.reported || frag.length !== this.length || frag.fragmentOffset > this.filled || fragEnd <= this.filled) return;
    const from = this.filled - frag.fragmentOffset;
    buf.set(src.subarray(frag.bodyOff + from, frag.bodyOff + frag.fragmentLength), this.filled);
    this.filled = fragEnd;
    this.reported = handleHandshakeMessage(t, buf, 0, this.filled, this.filled === this.length, h, true);
    if (this.filled === this.length) this.reported = true;
  }
}

/** scanDtlsDatagram() result bits. */
export const DTLS_SEEN = 1;
/** A record that cannot be read (epoch > 0, unified header, application data). */
export const DTLS_ENCRYPTED = 2;

const record = new DtlsRecord();
const fragment = new DtlsHandshakeFragment();

/**
 * Walk the records of one UDP datagram and report the epoch-0 handshake and
 * alerts to h, reassembling fragmented messages with `assembler` (one per
 * direction). Returns DTLS_* bits (0 when the datagram is not DTLS).
 */
export function scanDtlsDatagram(
  buf: Uint8Array,
  off: number,
  end: number,
  h: TlsHandshakeHandler,
  assembler: DtlsHandshakeAssembler,
): number {
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
        assembler.add(fragment, buf, h);
      }
    }
    off = next;
  }
  return result;
}
