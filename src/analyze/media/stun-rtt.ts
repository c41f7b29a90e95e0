/**
 * STUN Binding transactions on one flow: requests matched to success/error
 * responses by transaction id give round-trip samples (ICE connectivity
 * checks and RFC 7675 consent freshness recur every few seconds, so a call
 * has an RTT series); success responses carry XOR-MAPPED-ADDRESS, the
 * requester's public (NAT) address.
 *
 * Retransmitted requests (same transaction id) give no sample (Karn's
 * algorithm): the response cannot be attributed to one transmission.
 * Pending transactions are bounded (PENDING_MAX, oldest replaced) and expire
 * after TIMEOUT_S.
 */
import {
  STUN_CLASS_ERROR,
  STUN_CLASS_REQUEST,
  STUN_CLASS_SUCCESS,
  STUN_METHOD_BINDING,
  stunAddressText,
  type StunMessage,
} from '../../decode/stun.js';

const PENDING_MAX = 16;
const TIMEOUT_S = 5;
// Words of a pending slot: the 96-bit transaction id, the request time, and S_FLAGS.
const S_TX0 = 0;
const S_TX1 = 1;
const S_TX2 = 2;
const S_SENT_TS = 3;
const S_FLAGS = 4;
const S_WORDS = 5;
// Bits of S_FLAGS (0: a free slot).
const USED = 1;
const RETRANSMITTED = 2;
/** Set when the request was sent by the server side (dir 1). */
const SENT_BY_SERVER = 4;

function u32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

export interface RttStats {
  minMs: number;
  meanMs: number;
  maxMs: number;
  samples: number;
}

export class StunTransactions {
  /** Pending requests, S_WORDS per slot (one typed array per flow, not one per field). */
  private readonly pending = new Float64Array(PENDING_MAX * S_WORDS);

  requests = 0;
  responses = 0;
  errors = 0;
  /** Requests that carried ICE attributes (connectivity / consent checks). */
  iceChecks = 0;
  retransmissions = 0;
  timeouts = 0;
  private rttMin = Infinity;
  private rttMax = 0;
  private rttSum = 0;
  rttSamples = 0;
  firstTs = 0;
  lastTs = 0;
  /** XOR-MAPPED-ADDRESS reported to each side (index = direction the request was sent in). */
  readonly mapped: [string | null, string | null] = [null, null];
  readonly mappedPort: [number, number] = [0, 0];
  /** The addresses behind `mapped`, 16 bytes per side. */
  private readonly mappedRaw = new Uint8Array(32);
  private readonly mappedFamily: [number, number] = [0, 0];

  /** Feed one parsed STUN message (buf is the buffer it was parsed from). */
  onMessage(buf: Uint8Array, m: StunMessage, dir: 0 | 1, ts: number): void {
    if (this.firstTs === 0) this.firstTs = ts;
    this.lastTs = ts;
    if (m.method !== STUN_METHOD_BINDING) return;
    const t = m.transactionIdOff;
    const a = u32(buf, t);
    const b = u32(buf, t + 4);
    const c = u32(buf, t + 8);
    if (m.cls === STUN_CLASS_REQUEST) {
      this.requests++;
      if (m.priority >= 0 || m.useCandidate || m.iceControlling || m.iceControlled) this.iceChecks++;
      this.onRequest(a, b, c, dir, ts);
    } else if (m.cls === STUN_CLASS_SUCCESS || m.cls === STUN_CLASS_ERROR) {
      this.responses++;
      if (m.cls === STUN_CLASS_ERROR) this.errors++;
      this.onResponse(a, b, c, dir, ts);
      const requester = dir === 0 ? 1 : 0;
      if (m.cls === STUN_CLASS_SUCCESS && m.xorMapped.family !== 0) {
        // Responses recur every few seconds: text is built only when the address changes.
        if (!this.sameMapped(requester, m)) {
          this.mappedRaw.set(m.xorMapped.addr, requester * 16);
          this.mappedFamily[requester] = m.xorMapped.family;
          this.mapped[requester] = stunAddressText(m.xorMapped);
        }
        this.mappedPort[requester] = m.xorMapped.port;
      }
    }
  }

  private sameMapped(side: 0 | 1, m: StunMessage): boolean {
    if (this.mappedFamily[side] !== m.xorMapped.family) return false;
    const raw = this.mappedRaw;
    const n = m.xorMapped.family === 4 ? 4 : 16;
    for (let i = 0; i < n; i++) if (raw[side * 16 + i] !== m.xorMapped.addr[i]) return false;
    return true;
  }

  private find(a: number, b: number, c: number): number {
    const p = this.pending;
    for (let i = 0; i < PENDING_MAX; i++) {
      const at = i * S_WORDS;
      if (p[at + S_FLAGS] !== 0 && p[at + S_TX0] === a && p[at + S_TX1] === b && p[at + S_TX2] === c) return i;
    }
    return -1;
  }

  private onRequest(a: number, b: number, c: number, dir: 0 | 1, ts: number): void {
    const p = this.pending;
    const found = this.find(a, b, c);
    if (found >= 0) {
      p[found * S_WORDS + S_FLAGS] |= RETRANSMITTED;
      this.retransmissions++;
      return;
    }
    let slot = -1;
    let oldest = -1;
    for (let i = 0; i < PENDING_MAX; i++) {
      const at = i * S_WORDS;
      if (p[at + S_FLAGS] !== 0 && ts - p[at + S_SENT_TS] > TIMEOUT_S) {
        p[at + S_FLAGS] = 0;
        this.timeouts++;
      }
      if (p[at + S_FLAGS] === 0) {
        if (slot < 0) slot = i;
      } else if (oldest < 0 || p[at + S_SENT_TS] < p[oldest * S_WORDS + S_SENT_TS]) oldest = i;
    }
    if (slot < 0) {
      slot = oldest;
      this.timeouts++;
    }
    const at = slot * S_WORDS;
    p[at + S_TX0] = a;
    p[at + S_TX1] = b;
    p[at + S_TX2] = c;
    p[at + S_SENT_TS] = ts;
    p[at + S_FLAGS] = dir === 1 ? USED | SENT_BY_SERVER : USED;
  }

  private onResponse(a: number, b: number, c: number, dir: 0 | 1, ts: number): void {
    const i = this.find(a, b, c);
    if (i < 0) return;
    const at = i * S_WORDS;
    const flags = this.pending[at + S_FLAGS];
    if (((flags & SENT_BY_SERVER) !== 0 ? 1 : 0) === dir) return;
    this.pending[at + S_FLAGS] = 0;
    const rtt = ts - this.pending[at + S_SENT_TS];
    if ((flags & RETRANSMITTED) !== 0 || rtt > TIMEOUT_S || rtt < 0) return;
    const ms = rtt * 1000;
    this.rttSamples++;
    this.rttSum += ms;
    if (ms < this.rttMin) this.rttMin = ms;
    if (ms > this.rttMax) this.rttMax = ms;
  }

  rtt(): RttStats | null {
    if (this.rttSamples === 0) return null;
    return { minMs: this.rttMin, meanMs: this.rttSum / this.rttSamples, maxMs: this.rttMax, samples: this.rttSamples };
  }
}
