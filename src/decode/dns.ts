/**
 * DNS message parser (RFC 1035): header, the first question, and the A, AAAA
 * and CNAME answers. Other answer types are skipped by rdlength; authority
 * and additional sections are not read.
 *
 * Bounds-checked and never throws. Truncated input parses what is there and
 * sets `truncated`. Name compression is followed with a jump limit, so a
 * pointer loop (or a crafted deep chain) stops with `error = 'bad-pointer'`.
 * Names are wire bytes escaped as wireName() does (non-printable bytes →
 * \xNN), interned by their wire labels (bounded tables), so a name seen
 * before costs no allocation; with `foldCase` they come lower case.
 * Answers are kept in reused columns, A addresses as numbers: answers()
 * builds objects (and address text) only for a caller that keeps them.
 */
import { formatIp, formatIp4 } from './view.js';
import { WireInterner } from './intern.js';

export const DNS_TYPE_A = 1;
export const DNS_TYPE_CNAME = 5;
export const DNS_TYPE_AAAA = 28;

export const DNS_RCODE_NOERROR = 0;
export const DNS_RCODE_SERVFAIL = 2;
export const DNS_RCODE_NXDOMAIN = 3;

/** At most this many A/AAAA/CNAME answers are kept per message. */
export const MAX_DNS_ANSWERS = 64;
/** Longest name we build, in output characters. */
export const MAX_DNS_NAME = 255;
/** Compression pointers followed per name (real names need one or two). */
const MAX_POINTER_JUMPS = 32;
/** Labels per name: 127 is the most a legal 255-byte name can hold. */
const MAX_LABELS = 127;

export type DnsAnswerType = 'A' | 'AAAA' | 'CNAME';

export interface DnsAnswer {
  name: string;
  type: DnsAnswerType;
  ttl: number;
  /** Address text for A/AAAA, target name for CNAME. */
  data: string;
}

/** Why parsing stopped before the end of the answer section. */
export type DnsError = 'bad-pointer' | 'bad-label' | 'bad-rdata';

/** Answer types as stored in DnsMessage.answerTypes. */
const ANSWER_A = 0;
const ANSWER_AAAA = 1;
const ANSWER_CNAME = 2;
const ANSWER_TYPE_NAMES: readonly DnsAnswerType[] = ['A', 'AAAA', 'CNAME'];

/**
 * One parsed message. Reused: parseDns() overwrites it, answer columns
 * included; answers() gives objects that may be kept.
 */
export class DnsMessage {
  id = 0;
  /** True for a response (QR bit). */
  response = false;
  opcode = 0;
  /** TC bit: the server truncated the message (retry over TCP). */
  tcFlag = false;
  rcode = 0;
  qdcount = 0;
  ancount = 0;
  nscount = 0;
  arcount = 0;
  /** First question; null when the message has none or it could not be read. */
  qname: string | null = null;
  qtype = 0;
  qclass = 0;
  /** A, AAAA and CNAME answers read (at most MAX_DNS_ANSWERS), in the columns below. */
  answerCount = 0;
  /** Owner names. */
  readonly answerNames: string[] = new Array<string>(MAX_DNS_ANSWERS).fill('');
  readonly answerTtls = new Uint32Array(MAX_DNS_ANSWERS);
  /** ANSWER_A, ANSWER_AAAA or ANSWER_CNAME: see isA()/isCname(). */
  private readonly answerTypes = new Uint8Array(MAX_DNS_ANSWERS);
  /** A: the address as a signed 32-bit number (`>>> 0` for the unsigned value). */
  readonly answerIp4s = new Int32Array(MAX_DNS_ANSWERS);
  /** AAAA: the address text; CNAME: the target name; A: ''. */
  readonly answerData: string[] = new Array<string>(MAX_DNS_ANSWERS).fill('');
  /** Answers of other types, or beyond MAX_DNS_ANSWERS, skipped. */
  skippedAnswers = 0;
  /** The captured bytes ended before the question/answer sections did. */
  truncated = false;
  error: DnsError | null = null;

  reset(): void {
    this.id = 0;
    this.response = false;
    this.opcode = 0;
    this.tcFlag = false;
    this.rcode = 0;
    this.qdcount = this.ancount = this.nscount = this.arcount = 0;
    this.qname = null;
    this.qtype = 0;
    this.qclass = 0;
    this.answerCount = 0;
    this.skippedAnswers = 0;
    this.truncated = false;
    this.error = null;
  }

  isA(i: number): boolean {
    return this.answerTypes[i] === ANSWER_A;
  }

  isCname(i: number): boolean {
    return this.answerTypes[i] === ANSWER_CNAME;
  }

  /** Answer i's address text (A, AAAA) or target name (CNAME). */
  answerText(i: number): string {
    return this.answerTypes[i] === ANSWER_A ? formatIp4(this.answerIp4s[i] >>> 0) : this.answerData[i];
  }

  /** The answers as fresh objects in a fresh array (of its exact size: callers keep thousands). */
  answers(): DnsAnswer[] {
    const out = new Array<DnsAnswer>(this.answerCount);
    for (let i = 0; i < this.answerCount; i++)
      out[i] = { name: this.answerNames[i], type: ANSWER_TYPE_NAMES[this.answerTypes[i]], ttl: this.answerTtls[i], data: this.answerText(i) };
    return out;
  }

  /** parseDns(): append an answer unless MAX_DNS_ANSWERS are read; the others are counted as skipped. */
  pushAnswer(type: number, name: string, ttl: number, ip4: number, data: string): void {
    const i = this.answerCount;
    if (i >= MAX_DNS_ANSWERS) {
      this.skippedAnswers++;
      return;
    }
    this.answerTypes[i] = type;
    this.answerNames[i] = name;
    this.answerTtls[i] = ttl;
    this.answerIp4s[i] = ip4;
    this.answerData[i] = data;
    this.answerCount = i + 1;
  }
}

/** Result of readName(): the name text (valid after a non-negative return). */
let nameText = '';
/** A name's text being made: at most MAX_DNS_NAME characters, then one more label of up to 63 bytes × 4. */
const nameBytes = new Uint8Array(MAX_DNS_NAME + 1 + 63 * 4);
const HEX = '0123456789abcdef';

/** Names are ASCII after escaping: the string is the bytes. */
function asciiText(b: Uint8Array, off: number, len: number): string {
  return String.fromCharCode.apply(null, b.subarray(off, off + len) as unknown as number[]);
}

/**
 * Names are interned by their labels in wire form (length byte, bytes; no
 * pointers), so a name seen before is found by hashing and comparing the bytes
 * where they lie, with no copy and no escaping. The text is made only for
 * labels not held: a function of the bytes (and of the case folding, hence two
 * tables).
 */
const foldedNames = new WireInterner(foldedNameText, 4096);
const exactNames = new WireInterner(exactNameText, 4096);

function foldedNameText(b: Uint8Array, off: number, len: number): string {
  return labelsText(b, off, len, 0x20);
}

function exactNameText(b: Uint8Array, off: number, len: number): string {
  return labelsText(b, off, len, 0);
}

/** The text of the wire-form labels in b[off, off + len): escaped, joined by dots, cut at MAX_DNS_NAME. */
function labelsText(b: Uint8Array, off: number, len: number, caseBit: number): string {
  let n = 0;
  for (let i = off, end = off + len; i < end && n < MAX_DNS_NAME; i += 1 + b[i]) n = appendLabel(b, i + 1, b[i], n, caseBit);
  return asciiText(nameBytes, 0, Math.min(n, MAX_DNS_NAME));
}

/**
 * Wire-form labels of a name split by compression pointers, gathered here.
 * Labels starting past NAME_KEY_BYTES are left out: the text ends before them.
 */
const NAME_KEY_BYTES = MAX_DNS_NAME + 2;
const keyBytes = new Uint8Array(NAME_KEY_BYTES + 64);
let keyLen = 0;

/** Append the (checked) labels in buf[from, to) to keyBytes, while they can still be part of the text. */
function gatherLabels(buf: Uint8Array, from: number, to: number): void {
  // Each label adds at least as many characters to the text as bytes, less one: one starting
  // at NAME_KEY_BYTES or later starts past MAX_DNS_NAME characters, where labelsText stops.
  for (let i = from; i < to && keyLen < NAME_KEY_BYTES; ) {
    for (let j = i, labelEnd = i + 1 + buf[i]; j < labelEnd; j++) keyBytes[keyLen++] = buf[j];
    i += 1 + buf[i];
  }
}

/** Why readName() failed: truncated input or a malformed name. */
let nameFailure: 'truncated' | DnsError = 'truncated';

/**
 * Read a (possibly compressed) name at `off`. `msg` is the offset of the DNS
 * header (pointers are relative to it), `end` the end of the message bytes.
 * Returns the offset just after the name at its original position, or -1
 * (see nameFailure).
 */
function readName(buf: Uint8Array, msg: number, off: number, end: number, foldCase: boolean): number {
  let pos = off;
  let next = -1;
  let jumps = 0;
  let labels = 0;
  /** Start of the labels read since the last pointer: buf[run, pos). */
  let run = off;
  /** Labels before a pointer were gathered into keyBytes (else the name's labels are buf[run, pos)). */
  let gathered = false;
  for (;;) {
    if (pos >= end) {
      nameFailure = 'truncated';
      return -1;
    }
    const len = buf[pos];
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= end) {
        nameFailure = 'truncated';
        return -1;
      }
      if (next < 0) next = pos + 2;
      const target = msg + (((len & 0x3f) << 8) | buf[pos + 1]);
      if (++jumps > MAX_POINTER_JUMPS || target >= end) {
        // A target past the captured bytes might be fine on the wire; a long chain is a loop.
        nameFailure = target >= end && jumps <= MAX_POINTER_JUMPS ? 'truncated' : 'bad-pointer';
        return -1;
      }
      if (pos > run) {
        if (!gathered) keyLen = 0;
        gathered = true;
        gatherLabels(buf, run, pos);
      }
      pos = run = target;
      continue;
    }
    if (kind !== 0 || ++labels > MAX_LABELS) {
      nameFailure = 'bad-label';
      return -1;
    }
    if (pos + 1 + len > end) {
      nameFailure = 'truncated';
      return -1;
    }
    pos += 1 + len;
  }
  const names = foldCase ? foldedNames : exactNames;
  if (gathered) {
    gatherLabels(buf, run, pos);
    nameText = names.get(keyBytes, 0, keyLen);
  } else nameText = names.get(buf, run, pos - run);
  return next;
}

/**
 * Append a label (after a dot unless first) to nameBytes at n, escaped as
 * wireName() does, upper-case letters OR-ed with caseBit (0x20 lowers them);
 * returns the new length.
 */
function appendLabel(buf: Uint8Array, off: number, len: number, n: number, caseBit: number): number {
  const out = nameBytes;
  if (n > 0) out[n++] = 0x2e;
  for (let i = off, end = off + len; i < end; i++) {
    const b = buf[i];
    if (b >= 0x21 && b < 0x7f && b !== 0x5c) out[n++] = b >= 0x41 && b <= 0x5a ? b | caseBit : b;
    else {
      out[n++] = 0x5c; // \xNN
      out[n++] = 0x78;
      out[n++] = HEX.charCodeAt(b >> 4);
      out[n++] = HEX.charCodeAt(b & 15);
    }
  }
  return n;
}

/** Record why readName() failed on the message. */
function failName(out: DnsMessage): void {
  if (nameFailure === 'truncated') out.truncated = true;
  else out.error = nameFailure;
}

/**
 * Parse the DNS message in buf[off, end). Returns false when not even the
 * 12-byte header is there; otherwise true, with `truncated`/`error` telling
 * whether everything up to the end of the answers was read. `foldCase`:
 * names in lower case (DNS names are case-insensitive).
 */
export function parseDns(buf: Uint8Array, off: number, end: number, out: DnsMessage, foldCase = false): boolean {
  out.reset();
  if (end > buf.length) end = buf.length;
  if (off < 0 || end - off < 12) return false;
  out.id = (buf[off] << 8) | buf[off + 1];
  const flags = (buf[off + 2] << 8) | buf[off + 3];
  out.response = (flags & 0x8000) !== 0;
  out.opcode = (flags >> 11) & 0xf;
  out.tcFlag = (flags & 0x0200) !== 0;
  out.rcode = flags & 0xf;
  out.qdcount = (buf[off + 4] << 8) | buf[off + 5];
  out.ancount = (buf[off + 6] << 8) | buf[off + 7];
  out.nscount = (buf[off + 8] << 8) | buf[off + 9];
  out.arcount = (buf[off + 10] << 8) | buf[off + 11];

  let pos = off + 12;
  for (let q = 0; q < out.qdcount; q++) {
    pos = readName(buf, off, pos, end, foldCase);
    if (pos < 0) {
      failName(out);
      return true;
    }
    if (pos + 4 > end) {
      out.truncated = true;
      return true;
    }
    if (q === 0) {
      out.qname = nameText;
      out.qtype = (buf[pos] << 8) | buf[pos + 1];
      out.qclass = (buf[pos + 2] << 8) | buf[pos + 3];
    }
    pos += 4;
  }

  for (let a = 0; a < out.ancount; a++) {
    const rr = readName(buf, off, pos, end, foldCase);
    if (rr < 0) {
      failName(out);
      return true;
    }
    const owner = nameText;
    if (rr + 10 > end) {
      out.truncated = true;
      return true;
    }
    const type = (buf[rr] << 8) | buf[rr + 1];
    const ttl = ((buf[rr + 4] << 24) | (buf[rr + 5] << 16) | (buf[rr + 6] << 8) | buf[rr + 7]) >>> 0;
    const rdlen = (buf[rr + 8] << 8) | buf[rr + 9];
    const rdata = rr + 10;
    if (rdata + rdlen > end) {
      out.truncated = true;
      return true;
    }
    pos = rdata + rdlen;
    if (type === DNS_TYPE_A || type === DNS_TYPE_AAAA) {
      const size = type === DNS_TYPE_A ? 4 : 16;
      if (rdlen !== size) {
        out.error = 'bad-rdata';
        return true;
      }
      if (size === 4) out.pushAnswer(ANSWER_A, owner, ttl, (buf[rdata] << 24) | (buf[rdata + 1] << 16) | (buf[rdata + 2] << 8) | buf[rdata + 3], '');
      else if (out.answerCount < MAX_DNS_ANSWERS) out.pushAnswer(ANSWER_AAAA, owner, ttl, 0, formatIp(buf, rdata, size));
      else out.skippedAnswers++;
    } else if (type === DNS_TYPE_CNAME) {
      // The target's inline labels must lie within the rdata; pointers may go anywhere before.
      if (readName(buf, off, rdata, pos, foldCase) < 0) {
        if (nameFailure === 'truncated') nameFailure = 'bad-rdata';
        failName(out);
        return true;
      }
      out.pushAnswer(ANSWER_CNAME, owner, ttl, 0, nameText);
    } else {
      out.skippedAnswers++;
    }
  }
  return true;
}
