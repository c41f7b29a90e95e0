/**
 * TLS handshake parsing from the cleartext start of a stream (TLS 1.0–1.3).
 *
 * - parseClientHello / parseServerHello / parseCertificateMessage read one
 *   handshake body each (shared with DTLS, whose ClientHello adds a cookie).
 * - TlsStreamParser walks one direction of a stream: records → handshake
 *   messages (which may span records and segments) → handler calls. It
 *   stops when the direction turns encrypted (ChangeCipherSpec or
 *   application data), so TLS 1.3 alerts, which are encrypted, are never
 *   seen; neither is the TLS 1.3 certificate.
 *
 * Everything is bounds-checked and never throws; names from the wire are
 * escaped (wireName for host names, sanitizeText for certificate fields).
 * Host names and ALPN lists are interned (bounded table): connections to the
 * same host share one string.
 */
import { sanitizeText, wireName } from '../report/sanitize.js';
import { WireInterner } from './intern.js';

export const TLS_CHANGE_CIPHER_SPEC = 20;
export const TLS_ALERT = 21;
export const TLS_HANDSHAKE = 22;
export const TLS_APPLICATION_DATA = 23;
export const TLS_HEARTBEAT = 24;

export const HS_CLIENT_HELLO = 1;
export const HS_SERVER_HELLO = 2;
export const HS_HELLO_VERIFY_REQUEST = 3;
export const HS_CERTIFICATE = 11;

const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;
const EXT_ECH = 0xfe0d;

/** Largest TLSCiphertext fragment (2^14 + 2048). */
export const MAX_TLS_RECORD = 18432;
/** Handshake bytes buffered per direction; the stream prefix is smaller anyway. */
const MAX_HANDSHAKE_BUFFER = 64 * 1024;
/** Longest host name / ALPN id kept, in output characters. */
const MAX_NAME = 255;
const MAX_ALPN = 16;
const MAX_SANS = 64;
/** Longest certificate subject/issuer text. */
const MAX_DN = 512;

/** RFC 8701 GREASE values: 0x0a0a, 0x1a1a, … 0xfafa. */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

export function tlsVersionName(v: number): string | null {
  switch (v) {
    case 0x0300:
      return 'SSL 3.0';
    case 0x0301:
      return 'TLS 1.0';
    case 0x0302:
      return 'TLS 1.1';
    case 0x0303:
      return 'TLS 1.2';
    case 0x0304:
      return 'TLS 1.3';
    case 0xfeff:
      return 'DTLS 1.0';
    case 0xfefd:
      return 'DTLS 1.2';
    case 0xfefc:
      return 'DTLS 1.3';
    default:
      return null;
  }
}

/** True when buf[off..end) starts like a TLS handshake record (type 22, version 3.0–3.4). */
export function looksLikeTlsHandshake(buf: Uint8Array, off: number, end: number): boolean {
  return end - off >= 3 && buf[off] === TLS_HANDSHAKE && buf[off + 1] === 3 && buf[off + 2] <= 4;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function u24(b: Uint8Array, o: number): number {
  return (b[o] << 16) | (b[o + 1] << 8) | b[o + 2];
}

// ---------------------------------------------------------------- ClientHello

export class ClientHello {
  legacyVersion = 0;
  /** First host_name in server_name (with ECH, the outer public name); interned. */
  sni: string | null = null;
  /** host_name entries in server_name; more than one is unusual (Zeek: SSL_many_server_names). */
  sniCount = 0;
  /** Interned and frozen: shared by every hello with the same list, keep it as is. */
  alpn: string[] | null = null;
  /** supported_versions entries without GREASE values. */
  readonly supportedVersions: number[] = [];
  /** encrypted_client_hello extension present. */
  ech = false;
  /** The body or an extension ended early; what came before was read. */
  truncated = false;

  reset(): void {
    this.legacyVersion = 0;
    this.sni = null;
    this.sniCount = 0;
    this.alpn = null;
    this.supportedVersions.length = 0;
    this.ech = false;
    this.truncated = false;
  }
}

/** Skip a vector with a 1- or 2-byte length at p; returns the offset after it or -1. */
function skipVector(b: Uint8Array, p: number, end: number, lenBytes: 1 | 2): number {
  if (p + lenBytes > end) return -1;
  const n = lenBytes === 1 ? b[p] : u16(b, p);
  const next = p + lenBytes + n;
  return next <= end ? next : -1;
}

function hostName(b: Uint8Array, off: number, len: number): string {
  return wireName(b, off, len, MAX_NAME);
}

/** Host names as printed strings, shared across connections. */
const hostNames = new WireInterner(hostName);
/** ALPN protocol_name_lists (the extension body) as frozen lists, shared across connections. */
const alpnLists = new WireInterner(readAlpn);

function readServerName(b: Uint8Array, p: number, end: number, out: ClientHello): void {
  if (p + 2 > end) return;
  const listEnd = Math.min(end, p + 2 + u16(b, p));
  for (p += 2; p + 3 <= listEnd; ) {
    const type = b[p];
    const len = u16(b, p + 1);
    if (p + 3 + len > listEnd) {
      out.truncated = true;
      return;
    }
    if (type === 0) {
      if (out.sni === null) out.sni = hostNames.get(b, p + 3, len);
      out.sniCount++;
    }
    p += 3 + len;
  }
}

/** ALPN protocol_name_list (a list of 1-byte-length strings) in the extension body b[p, p + bodyLen), frozen. */
function readAlpn(b: Uint8Array, p: number, bodyLen: number): string[] {
  const list: string[] = [];
  const end = p + bodyLen;
  if (p + 2 <= end) {
    const listEnd = Math.min(end, p + 2 + u16(b, p));
    for (p += 2; p < listEnd && list.length < MAX_ALPN; ) {
      const len = b[p];
      if (p + 1 + len > listEnd) break;
      list.push(hostNames.get(b, p + 1, len));
      p += 1 + len;
    }
  }
  return Object.freeze(list) as string[];
}

/**
 * Parse a ClientHello body (after the handshake header) in b[off, end).
 * DTLS adds a cookie after the session id. Returns false when not even the
 * version is there; a body cut short sets `truncated`.
 */
export function parseClientHello(b: Uint8Array, off: number, end: number, out: ClientHello, dtls = false): boolean {
  out.reset();
  if (end > b.length) end = b.length;
  if (off < 0 || off + 2 > end) return false;
  out.legacyVersion = u16(b, off);
  let p = skipVector(b, off + 34, end, 1); // random, session id
  if (dtls && p >= 0) p = skipVector(b, p, end, 1); // cookie
  if (p >= 0) p = skipVector(b, p, end, 2); // cipher suites
  if (p >= 0) p = skipVector(b, p, end, 1); // compression methods
  if (p < 0) {
    out.truncated = true;
    return true;
  }
  readHelloExtensions(b, p, end, out, clientHelloExtension);
  return true;
}

function clientHelloExtension(b: Uint8Array, type: number, data: number, dataEnd: number, out: ClientHello): void {
  switch (type) {
    case EXT_SERVER_NAME:
      readServerName(b, data, dataEnd, out);
      break;
    case EXT_ALPN:
      out.alpn = alpnLists.get(b, data, dataEnd - data);
      break;
    case EXT_SUPPORTED_VERSIONS:
      for (let q = data + 1, qEnd = Math.min(dataEnd, data + 1 + b[data]); q + 2 <= qEnd; q += 2) {
        const v = u16(b, q);
        if (!isGrease(v) && out.supportedVersions.length < 16) out.supportedVersions.push(v);
      }
      break;
    case EXT_ECH:
      out.ech = true;
      break;
  }
}

/**
 * Walk the hello's extensions block at b[p, end): a 2-byte length, then
 * type/length/data entries, each whole one passed to `visit`. A missing block
 * is allowed (before TLS 1.3); a block or entry running past `end` sets
 * out.truncated. `visit` is a module-level function, so no closure per hello.
 */
function readHelloExtensions<T extends { truncated: boolean }>(
  b: Uint8Array,
  p: number,
  end: number,
  out: T,
  visit: (b: Uint8Array, type: number, data: number, dataEnd: number, out: T) => void,
): void {
  if (p + 2 > end) return;
  let extEnd = p + 2 + u16(b, p);
  if (extEnd > end) {
    out.truncated = true;
    extEnd = end;
  }
  for (p += 2; p + 4 <= extEnd; ) {
    const len = u16(b, p + 2);
    const data = p + 4;
    if (data + len > extEnd) {
      out.truncated = true;
      return;
    }
    visit(b, u16(b, p), data, data + len, out);
    p = data + len;
  }
}

// ---------------------------------------------------------------- ServerHello

/** SHA-256("HelloRetryRequest"): the ServerHello random that marks a HelloRetryRequest. */
const HRR_RANDOM = Uint8Array.from([
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
  0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
]);

export class ServerHello {
  legacyVersion = 0;
  /** Negotiated version: supported_versions when present, else the legacy field. */
  version = 0;
  cipher = 0;
  helloRetryRequest = false;
  /** Selected ALPN protocol; interned. */
  alpn: string | null = null;
  truncated = false;

  reset(): void {
    this.legacyVersion = 0;
    this.version = 0;
    this.cipher = 0;
    this.helloRetryRequest = false;
    this.alpn = null;
    this.truncated = false;
  }
}

/** Parse a ServerHello body (TLS or DTLS). Returns false when the fixed part is missing. */
export function parseServerHello(b: Uint8Array, off: number, end: number, out: ServerHello): boolean {
  out.reset();
  if (end > b.length) end = b.length;
  if (off < 0 || off + 2 > end) return false;
  out.legacyVersion = out.version = u16(b, off);
  let hrr = off + 34 <= end;
  for (let i = 0; hrr && i < 32; i++) hrr = b[off + 2 + i] === HRR_RANDOM[i];
  out.helloRetryRequest = hrr;
  let p = skipVector(b, off + 34, end, 1);
  if (p < 0 || p + 3 > end) {
    out.truncated = true;
    return true;
  }
  out.cipher = u16(b, p);
  p += 3; // cipher, compression method
  readHelloExtensions(b, p, end, out, serverHelloExtension);
  return true;
}

function serverHelloExtension(b: Uint8Array, type: number, data: number, dataEnd: number, out: ServerHello): void {
  if (type === EXT_SUPPORTED_VERSIONS && dataEnd - data >= 2) out.version = u16(b, data);
  else if (type === EXT_ALPN) out.alpn = alpnLists.get(b, data, dataEnd - data)[0] ?? null;
}

// ---------------------------------------------------------------- Certificate (DER)

export class CertificateSummary {
  /** Subject and issuer as "CN=…, O=…" in DER order. */
  subject: string | null = null;
  subjectCn: string | null = null;
  issuer: string | null = null;
  /** subjectAltName dNSName entries (bounded). */
  readonly sans: string[] = [];

  reset(): void {
    this.subject = null;
    this.subjectCn = null;
    this.issuer = null;
    this.sans.length = 0;
  }
}

/** Set by der(): content length of the element just read. */
let derLen = 0;

/**
 * Read the DER element header at p (its tag is b[p]); returns the content
 * offset, or -1 when the content does not fit before end or the tag is not
 * `expect` (when given).
 */
function der(b: Uint8Array, p: number, end: number, expect = -1): number {
  if (p + 2 > end) return -1;
  const tag = b[p];
  if ((tag & 0x1f) === 0x1f || (expect >= 0 && tag !== expect)) return -1; // high tag numbers never occur here
  let len = b[p + 1];
  p += 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || p + n > end) return -1;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p++];
  }
  if (p + len > end) return -1;
  derLen = len;
  return p;
}

const OID_PREFIX_X520 = [0x55, 0x04]; // 2.5.4.x
const OID_EMAIL = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];
const OID_SUBJECT_ALT_NAME = [0x55, 0x1d, 0x11];
const X520_NAMES: Record<number, string> = {
  3: 'CN',
  4: 'SN',
  5: 'serialNumber',
  6: 'C',
  7: 'L',
  8: 'ST',
  9: 'street',
  10: 'O',
  11: 'OU',
  12: 'title',
  15: 'businessCategory',
  17: 'postalCode',
  42: 'GN',
};

function oidIs(b: Uint8Array, p: number, len: number, oid: number[]): boolean {
  if (len !== oid.length) return false;
  for (let i = 0; i < len; i++) if (b[p + i] !== oid[i]) return false;
  return true;
}

/** Short attribute name for an OID, dotted form for the rest. */
function attributeName(b: Uint8Array, p: number, len: number): string {
  if (len === 3 && b[p] === OID_PREFIX_X520[0] && b[p + 1] === OID_PREFIX_X520[1] && X520_NAMES[b[p + 2]])
    return X520_NAMES[b[p + 2]];
  if (oidIs(b, p, len, OID_EMAIL)) return 'emailAddress';
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < len && arcs.length < 32; i++) {
    v = v * 128 + (b[p + i] & 0x7f);
    if (!(b[p + i] & 0x80)) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}

const utf8 = new TextDecoder('utf-8');

/** A directory string value as text, escaped for display. */
function stringValue(b: Uint8Array, p: number, len: number, tag: number): string {
  let s = '';
  if (tag === 0x0c) s = utf8.decode(b.subarray(p, p + len));
  else if (tag === 0x1e) for (let i = 0; i + 1 < len; i += 2) s += String.fromCharCode(u16(b, p + i));
  else for (let i = 0; i < len; i++) s += String.fromCharCode(b[p + i]);
  return sanitizeText(s, MAX_NAME);
}

let lastCn: string | null = null;

/** Name ::= SEQUENCE OF SET OF AttributeTypeAndValue, as "CN=…, O=…". Sets lastCn. */
function readName(b: Uint8Array, p: number, end: number): string {
  const parts: string[] = [];
  lastCn = null;
  let total = 0;
  while (p < end && total < MAX_DN) {
    const set = der(b, p, end);
    if (set < 0) break;
    const setEnd = set + derLen;
    for (let q = set; q < setEnd; ) {
      const atv = der(b, q, setEnd, 0x30);
      if (atv < 0) break;
      const atvEnd = atv + derLen;
      q = atvEnd;
      const oid = der(b, atv, atvEnd, 0x06);
      if (oid < 0) continue;
      const oidLen = derLen;
      const val = der(b, oid + oidLen, atvEnd);
      if (val < 0) continue;
      const key = attributeName(b, oid, oidLen);
      const value = stringValue(b, val, derLen, b[oid + oidLen]);
      if (key === 'CN' && lastCn === null) lastCn = value;
      parts.push(`${key}=${value}`);
      total += key.length + value.length + 3;
    }
    p = setEnd;
  }
  const s = parts.join(', ');
  return s.length > MAX_DN ? s.slice(0, MAX_DN) + '…' : s;
}

/** subjectAltName extnValue: GeneralNames, keeping dNSName ([2] IA5String). */
function readSans(b: Uint8Array, p: number, end: number, out: CertificateSummary): void {
  const seq = der(b, p, end, 0x30);
  if (seq < 0) return;
  const seqEnd = seq + derLen;
  for (let q = seq; q < seqEnd && out.sans.length < MAX_SANS; ) {
    const gn = der(b, q, seqEnd);
    if (gn < 0) return;
    if (b[q] === 0x82) out.sans.push(wireName(b, gn, derLen, MAX_NAME));
    q = gn + derLen;
  }
}

/** Parse an X.509 certificate's subject, issuer and DNS SANs. False if the DER does not walk. */
export function parseX509(b: Uint8Array, off: number, end: number, out: CertificateSummary): boolean {
  out.reset();
  if (end > b.length) end = b.length;
  const cert = der(b, off, end, 0x30);
  if (cert < 0) return false;
  const tbs = der(b, cert, cert + derLen, 0x30);
  if (tbs < 0) return false;
  const tbsEnd = tbs + derLen;
  let p = der(b, tbs, tbsEnd);
  if (p >= 0 && b[tbs] === 0xa0) p = der(b, p + derLen, tbsEnd); // version
  // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo: start and length of each.
  const start: number[] = [];
  const len: number[] = [];
  for (let i = 0; i < 6; i++) {
    if (p < 0) return false;
    start.push(p);
    len.push(derLen);
    if (i < 5) p = der(b, p + derLen, tbsEnd);
  }
  out.issuer = readName(b, start[2], start[2] + len[2]);
  out.subject = readName(b, start[4], start[4] + len[4]);
  out.subjectCn = lastCn;
  // Optional issuerUniqueID [1], subjectUniqueID [2], extensions [3].
  for (let q = start[5] + len[5]; q < tbsEnd; ) {
    const el = der(b, q, tbsEnd);
    if (el < 0) break;
    const elEnd = el + derLen;
    if (b[q] === 0xa3) readExtensions(b, el, elEnd, out);
    q = elEnd;
  }
  return true;
}

function readExtensions(b: Uint8Array, p: number, end: number, out: CertificateSummary): void {
  const seq = der(b, p, end, 0x30);
  if (seq < 0) return;
  const seqEnd = seq + derLen;
  for (let q = seq; q < seqEnd; ) {
    const ext = der(b, q, seqEnd, 0x30);
    if (ext < 0) return;
    const extEnd = ext + derLen;
    q = extEnd;
    const oid = der(b, ext, extEnd, 0x06);
    if (oid < 0 || !oidIs(b, oid, derLen, OID_SUBJECT_ALT_NAME)) continue;
    let at = oid + derLen;
    if (b[at] === 0x01 && der(b, at, extEnd) >= 0) at += 2 + derLen; // critical flag (short form)
    const v = der(b, at, extEnd, 0x04);
    if (v >= 0) readSans(b, v, v + derLen, out);
  }
}

/**
 * Certificate handshake body (TLS ≤ 1.2): certificate_list<0..2^24-1> of
 * ASN.1Cert<1..2^24-1>. Reads only the first certificate, so it works on a
 * prefix of the message once that certificate is complete.
 */
export function parseCertificateMessage(b: Uint8Array, off: number, end: number, out: CertificateSummary): boolean {
  out.reset();
  if (end > b.length) end = b.length;
  if (off < 0 || off + 6 > end) return false;
  const certLen = u24(b, off + 3);
  if (certLen === 0 || off + 6 + certLen > end) return false;
  return parseX509(b, off + 6, off + 6 + certLen, out);
}

// ---------------------------------------------------------------- stream walker

/** Receives what TlsStreamParser finds. Arguments are reused: copy what you keep. */
export interface TlsHandshakeHandler {
  onClientHello(h: ClientHello): void;
  onServerHello(h: ServerHello): void;
  onCertificate(c: CertificateSummary): void;
  onAlert(level: number, description: number): void;
}

const clientHello = new ClientHello();
const serverHello = new ServerHello();
const certificate = new CertificateSummary();

/** Dispatch one handshake message (shared with DTLS). `complete` is false for a message prefix. */
export function handleHandshakeMessage(
  type: number,
  b: Uint8Array,
  off: number,
  end: number,
  complete: boolean,
  h: TlsHandshakeHandler,
  dtls = false,
): boolean {
  if (type === HS_CERTIFICATE) {
    if (!parseCertificateMessage(b, off, end, certificate)) return false;
    h.onCertificate(certificate);
    return true;
  }
  if (!complete) return false;
  if (type === HS_CLIENT_HELLO) {
    if (!parseClientHello(b, off, end, clientHello, dtls)) return false;
    h.onClientHello(clientHello);
  } else if (type === HS_SERVER_HELLO) {
    if (!parseServerHello(b, off, end, serverHello)) return false;
    h.onServerHello(serverHello);
  }
  return true;
}

const ENCRYPTED = 1;
const FAILED = 2;
const CERTIFICATE_SEEN = 4;
const SKIP_HANDSHAKES = 8;

/**
 * Walks one direction of a TLS stream. Call feed() with each run of new
 * contiguous bytes; it resumes where it stopped. Bytes before `position` are
 * never needed again, so the caller keeps only the rest (and nothing at all
 * when the parser took everything, the usual case).
 * Handshake messages are read in place when a record holds them whole; only
 * a message spanning records or segments is copied into a buffer (bounded,
 * sized for that message, freed once it is read). A Certificate is read as
 * soon as its first certificate has arrived. Between messages the whole
 * state is three numbers (position, recordRemaining, state): a caller with
 * many idle streams can keep those and one parser (restore()).
 */
export class TlsStreamParser {
  /** Stream offset of the next unread byte. */
  private pos = 0;
  /** Body bytes of the current handshake record still to come. */
  private recordLeft = 0;
  /** The start of a handshake message that is not complete yet, at hs[0, hsLen); null when none waits. */
  private hs: Uint8Array | null = null;
  private hsLen = 0;
  /** ENCRYPTED | FAILED | CERTIFICATE_SEEN | SKIP_HANDSHAKES. */
  private flags = 0;

  /** ChangeCipherSpec or application data seen: the rest of this direction is unreadable. */
  get encrypted(): boolean {
    return (this.flags & ENCRYPTED) !== 0;
  }

  /** The bytes are not TLS (or are malformed): nothing more is parsed. */
  get failed(): boolean {
    return (this.flags & FAILED) !== 0;
  }

  get done(): boolean {
    return (this.flags & (ENCRYPTED | FAILED)) !== 0;
  }

  /** A Certificate message was read (or its first certificate was). */
  get certificateSeen(): boolean {
    return (this.flags & CERTIFICATE_SEEN) !== 0;
  }

  /** Stream offset of the first byte still needed. */
  get position(): number {
    return this.pos;
  }

  /** A handshake message is partly buffered: the parser cannot be saved as numbers now. */
  get holdsBytes(): boolean {
    return this.hs !== null;
  }

  /** With position and flags, the whole state of a parser that holds no bytes (see restore()). */
  get recordRemaining(): number {
    return this.recordLeft;
  }

  get state(): number {
    return this.flags;
  }

  /** Continue from a state saved as position, recordRemaining and state (with no bytes held). */
  restore(position: number, recordRemaining: number, state: number): void {
    this.pos = position;
    this.recordLeft = recordRemaining;
    this.flags = state;
    this.hs = null;
    this.hsLen = 0;
  }

  /**
   * No handshake message of this direction is wanted any more: their records
   * are skipped without buffering; alerts and the switch to encryption are
   * still seen. May be called from a handler callback.
   */
  skipHandshakes(): void {
    this.flags |= SKIP_HANDSHAKES;
    this.hs = null;
    this.hsLen = 0;
  }

  /** Parse new bytes: b[off, end) holds stream offsets [base, base + end - off), with base <= position. */
  feed(b: Uint8Array, off: number, end: number, base: number, h: TlsHandshakeHandler): void {
    const streamEnd = base + end - off;
    const delta = off - base; // b index of stream offset s: s + delta
    while (!this.done) {
      if (this.recordLeft > 0) {
        const n = Math.min(this.recordLeft, streamEnd - this.pos);
        if (n <= 0) return;
        if (!(this.flags & SKIP_HANDSHAKES)) this.appendHandshake(b, this.pos + delta, n, h);
        this.pos += n;
        this.recordLeft -= n;
        continue;
      }
      const p = this.pos;
      if (p + 5 > streamEnd) return;
      const at = p + delta;
      const type = b[at];
      const recordLen = u16(b, at + 3);
      if (type < TLS_CHANGE_CIPHER_SPEC || type > TLS_HEARTBEAT || b[at + 1] !== 3 || recordLen > MAX_TLS_RECORD) {
        this.flags |= FAILED;
        return;
      }
      if (type === TLS_CHANGE_CIPHER_SPEC || type === TLS_APPLICATION_DATA) {
        this.flags |= ENCRYPTED;
        return;
      }
      if (type === TLS_HANDSHAKE) {
        this.pos = p + 5;
        this.recordLeft = recordLen;
        continue;
      }
      if (p + 5 + recordLen > streamEnd) return; // alert or heartbeat: wait for the whole record
      if (type === TLS_ALERT) {
        for (let a = at + 5; a + 2 <= at + 5 + recordLen; a += 2) h.onAlert(b[a], b[a + 1]);
      }
      this.pos = p + 5 + recordLen;
    }
  }

  /** Handshake record body bytes src[off, off + n): hand over every message they complete, keep the start of the next. */
  private appendHandshake(src: Uint8Array, off: number, n: number, h: TlsHandshakeHandler): void {
    const end = off + n;
    if (this.hsLen === 0) {
      const rest = this.dispatch(src, off, end, h);
      if (rest < end && !(this.flags & SKIP_HANDSHAKES)) this.keep(src, rest, end);
      return;
    }
    if (!this.keep(src, off, end)) return;
    const hs = this.hs!;
    const rest = this.dispatch(hs, 0, this.hsLen, h);
    if (this.flags & SKIP_HANDSHAKES) return; // the handler asked for no more (and the buffer is gone)
    if (rest === this.hsLen) {
      this.hs = null; // most connections send a few messages: keep no buffer between them
      this.hsLen = 0;
    } else if (rest > 0) {
      hs.copyWithin(0, rest, this.hsLen);
      this.hsLen -= rest;
    }
  }

  /** Append src[from, end) to the waiting message; false (and failed) past MAX_HANDSHAKE_BUFFER. */
  private keep(src: Uint8Array, from: number, end: number): boolean {
    const len = this.hsLen + end - from;
    if (len > MAX_HANDSHAKE_BUFFER) {
      this.flags |= FAILED;
      this.hs = null;
      this.hsLen = 0;
      return false;
    }
    if (!this.hs || this.hs.length < len) {
      // Sized for the whole message once its header is known, so it is copied into one buffer once.
      const bodyLen = this.hsLen >= 4 ? u24(this.hs!, 1) : this.hsLen === 0 && end - from >= 4 ? u24(src, from + 1) : 0;
      const grown = new Uint8Array(Math.min(MAX_HANDSHAKE_BUFFER, Math.max(len, bodyLen + 4, 2 * (this.hs?.length ?? 0))));
      if (this.hs) grown.set(this.hs.subarray(0, this.hsLen));
      this.hs = grown;
    }
    this.hs.set(src.subarray(from, end), this.hsLen);
    this.hsLen = len;
    return true;
  }

  /** Hand the whole messages in b[p, end) to h; returns the offset of the first incomplete one. */
  private dispatch(b: Uint8Array, p: number, end: number, h: TlsHandshakeHandler): number {
    while (end - p >= 4 && !(this.flags & SKIP_HANDSHAKES)) {
      const type = b[p];
      const body = p + 4;
      const bodyEnd = body + u24(b, p + 1);
      if (bodyEnd > end) {
        // A Certificate can be read from its first certificate on; other messages must be whole.
        if (type === HS_CERTIFICATE && !this.certificateSeen && handleHandshakeMessage(type, b, body, end, false, h))
          this.flags |= CERTIFICATE_SEEN;
        break;
      }
      if (type !== HS_CERTIFICATE || !this.certificateSeen) handleHandshakeMessage(type, b, body, bodyEnd, true, h);
      if (type === HS_CERTIFICATE) this.flags |= CERTIFICATE_SEEN;
      p = bodyEnd;
    }
    return p;
  }
}
