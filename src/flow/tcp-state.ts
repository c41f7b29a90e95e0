/**
 * Per-connection TCP tracking, after Zeek's TCP analyzer (TCPSessionAdapter.cc):
 * an endpoint state machine per direction, the history string, and conn_state
 * computed from the two endpoint states exactly as base/protocols/conn/main.zeek
 * does. Direction 0 = originator (client), 1 = responder (server).
 * No allocation per packet: history letters are added at most a few times per flow.
 */
import type { Flow } from './flow.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/view.js';

// Zeek's TCP_ENDPOINT_* states.
export const TCP_INACTIVE = 0;
export const TCP_SYN_SENT = 1;
export const TCP_SYN_ACK_SENT = 2;
export const TCP_PARTIAL = 3;
export const TCP_ESTABLISHED = 4;
export const TCP_CLOSED = 5;
export const TCP_RESET = 6;

/** Sequence jumps larger than this on SYN/RST are not trusted (Zeek's TOO_LARGE_SEQ_DELTA). */
const TOO_LARGE_SEQ_DELTA = 1048576;

// History letters recorded once per direction; bit = index * 2 + direction.
const LETTERS = 'SHADFRIQ';
const L_SYN = 0;
const L_SYNACK = 1;
const L_ACK = 2;
const L_DATA = 3;
const L_FIN = 4;
const L_RST = 5;
const L_FINRST = 6;
const L_MULTI = 7;

/** Zeek's RSTOS0 test on the history: originator SYN, then its RST, no SYN-ACK/ACK/FIN/... in between. */
const RSTOS0_HISTORY = /^\^?S[^HAFGIQ]*R/;

// Slots of TcpTracker.v, two per field (index + direction): one array of doubles
// per tracker instead of nine small arrays, because every live TCP flow has one.
const STATE = 0;
const PREV_STATE = 2;
/** Highest sequence number + 1 seen per direction (retransmission detection). */
const LAST_SEQ = 4;
/** 1 once LAST_SEQ is set. */
const SEQ_INIT = 6;
/** Initial sequence number of each side's first SYN, -1 if none (port-reuse detection). */
const ISN = 8;
/** Retransmitted-payload packets and zero-window advertisements per direction. */
const RETRANSMITS = 10;
const ZERO_WINDOWS = 12;
// Logarithmic history thresholds (Zeek: 1, 10, 100, ...).
const RX_THRESHOLD = 14;
const ZW_THRESHOLD = 16;

export class TcpTracker {
  private readonly v: number[] = [
    TCP_INACTIVE, TCP_INACTIVE, TCP_INACTIVE, TCP_INACTIVE, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, 1, 1, 1, 1,
  ];
  private historyBits = 0;

  /** Endpoint state and previous state per direction. */
  get state(): [number, number] {
    return [this.v[STATE], this.v[STATE + 1]];
  }

  get prevState(): [number, number] {
    return [this.v[PREV_STATE], this.v[PREV_STATE + 1]];
  }

  /** Initial sequence number of each side's first SYN, -1 if none (port-reuse detection). */
  get isn(): [number, number] {
    return [this.v[ISN], this.v[ISN + 1]];
  }

  isnOf(dir: 0 | 1): number {
    return this.v[ISN + dir];
  }

  /** Retransmitted-payload packets and zero-window advertisements per direction. */
  get retransmits(): [number, number] {
    return [this.v[RETRANSMITS], this.v[RETRANSMITS + 1]];
  }

  get zeroWindows(): [number, number] {
    return [this.v[ZERO_WINDOWS], this.v[ZERO_WINDOWS + 1]];
  }

  /** True once the connection has finished (either side reset, or both closed). */
  finished(): boolean {
    const o = this.v[STATE];
    const r = this.v[STATE + 1];
    return o === TCP_RESET || r === TCP_RESET || (o === TCP_CLOSED && r === TCP_CLOSED);
  }

  /**
   * Account one TCP segment sent in direction `dir`. `len` is the payload length on the wire.
   * Updates flow.history, flow.state and the handshake fields.
   */
  packet(flow: Flow, dir: 0 | 1, flags: number, seq: number, window: number, len: number, ts: number): void {
    const syn = (flags & TCP_SYN) !== 0;
    const ack = (flags & TCP_ACK) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const peer = (1 - dir) as 0 | 1;

    // History (Zeek update_history).
    const controlBits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (controlBits > 1) this.letterOnce(flow, fin && rst ? L_FINRST : L_MULTI, dir);
    else if (syn) this.letterOnce(flow, ack ? L_SYNACK : L_SYN, dir);
    else if (fin) this.letterOnce(flow, L_FIN, dir);
    else if (rst) this.letterOnce(flow, L_RST, dir);
    else if (len > 0) this.letterOnce(flow, L_DATA, dir);
    else if (ack) this.letterOnce(flow, L_ACK, dir);

    // Zero windows are boring with/after a RST or after the peer's FIN (Zeek update_window).
    if (window === 0 && !rst && this.v[STATE + peer] !== TCP_CLOSED && this.v[STATE + dir] !== TCP_RESET) {
      this.v[ZERO_WINDOWS + dir]++;
      if (this.v[ZERO_WINDOWS + dir] === this.v[ZW_THRESHOLD + dir]) {
        this.v[ZW_THRESHOLD + dir] *= 10;
        flow.history += dir === 0 ? 'W' : 'w';
      }
    }

    // Handshake counters and RTTs.
    if (syn && !ack && dir === 0) {
      flow.synCount++;
      if (flow.synTs === null) flow.synTs = ts;
    } else if (syn && ack && dir === 1) {
      flow.synAckCount++;
      if (flow.synAckTs === null) {
        flow.synAckTs = ts;
        if (flow.synTs !== null) flow.synToSynAck = ts - flow.synTs;
      }
    } else if (!syn && ack && dir === 0 && flow.synAckTs !== null && flow.synAckToAck === null) {
      flow.synAckToAck = ts - flow.synAckTs;
    }
    if (syn && this.v[ISN + dir] === -1) this.v[ISN + dir] = seq;
    if (fin) flow.fin[dir] = true;
    if (rst) flow.rst[dir] = true;

    this.trackSequence(flow, dir, syn, fin, rst, seq, len);
    this.updateStateMachine(dir, peer, syn, ack, fin, rst, len);
    flow.state = this.connState(flow);
  }

  /** Zeek update_last_seq: payload that does not advance the highest sequence is a retransmission. */
  private trackSequence(flow: Flow, dir: 0 | 1, syn: boolean, fin: boolean, rst: boolean, seq: number, len: number): void {
    let segLen = len + (syn ? 1 : 0) + (fin ? 1 : 0);
    if (rst) segLen -= len;
    const end = (seq + segLen) >>> 0;
    if (this.v[SEQ_INIT + dir] === 0) {
      this.v[SEQ_INIT + dir] = 1;
      this.v[LAST_SEQ + dir] = syn ? end : seq;
    }
    const delta = (end - this.v[LAST_SEQ + dir]) | 0;
    if ((syn || rst) && (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA)) return;
    if (this.v[STATE + dir] === TCP_RESET) return;
    if (delta > 0) this.v[LAST_SEQ + dir] = end;
    else if (len > 0) {
      this.v[RETRANSMITS + dir]++;
      if (this.v[RETRANSMITS + dir] === this.v[RX_THRESHOLD + dir]) {
        this.v[RX_THRESHOLD + dir] *= 10;
        flow.history += dir === 0 ? 'T' : 't';
      }
    }
  }

  private letterOnce(flow: Flow, letter: number, dir: 0 | 1): void {
    const bit = 1 << (letter * 2 + dir);
    if (this.historyBits & bit) return;
    this.historyBits |= bit;
    const ch = LETTERS[letter];
    flow.history += dir === 0 ? ch : ch.toLowerCase();
  }

  private setState(dir: 0 | 1, s: number): void {
    this.v[PREV_STATE + dir] = this.v[STATE + dir];
    this.v[STATE + dir] = s;
  }

  /** Zeek TCPSessionAdapter::UpdateStateMachine, without the sequence-number sanity checks. */
  private updateStateMachine(dir: 0 | 1, peer: 0 | 1, syn: boolean, ack: boolean, fin: boolean, rst: boolean, len: number): void {
    const isOrig = dir === 0;
    switch (this.v[STATE + dir]) {
      case TCP_INACTIVE: {
        if (syn) {
          if (isOrig) this.setState(dir, ack ? TCP_SYN_ACK_SENT : TCP_SYN_SENT);
          else {
            if (this.v[STATE + peer] === TCP_SYN_SENT) this.setState(peer, TCP_ESTABLISHED);
            this.setState(dir, TCP_ESTABLISHED);
          }
        }
        if (fin) this.setState(dir, TCP_CLOSED);
        if (rst) this.setState(dir, TCP_RESET);
        if (this.v[STATE + dir] === TCP_INACTIVE) {
          if (!isOrig && len === 0 && this.v[STATE] === TCP_SYN_SENT) {
            // Some stacks ACK a SYN before answering it: not a partial connection.
          } else if (ack && this.v[STATE + peer] === TCP_ESTABLISHED) {
            // Missed the SYN but saw the SYN-ACK and now an ACK: established.
            this.setState(dir, TCP_ESTABLISHED);
          } else this.setState(dir, TCP_PARTIAL);
        }
        break;
      }
      case TCP_SYN_SENT:
      case TCP_SYN_ACK_SENT:
        if (fin) this.setState(dir, TCP_CLOSED);
        if (rst) this.setState(dir, TCP_RESET);
        break;
      case TCP_ESTABLISHED:
      case TCP_PARTIAL:
        if (syn && this.v[STATE + dir] === TCP_PARTIAL && this.v[STATE + peer] === TCP_INACTIVE && !ack) {
          this.setState(dir, TCP_SYN_SENT);
        }
        if (fin && !rst) {
          this.setState(dir, TCP_CLOSED);
          // The peer sent FIN then RST: that was a normal termination.
          if (this.v[STATE + peer] === TCP_RESET && this.v[PREV_STATE + peer] === TCP_CLOSED) this.setState(peer, TCP_CLOSED);
        }
        if (rst) this.setState(dir, TCP_RESET);
        break;
      case TCP_CLOSED:
        // After a complete FIN exchange a RST does not change the state.
        if (rst && this.v[STATE + peer] !== TCP_CLOSED) this.setState(dir, TCP_RESET);
        break;
      case TCP_RESET:
        break;
    }
  }

  /** conn_state from base/protocols/conn/main.zeek. */
  connState(flow: Flow): string {
    const os = this.v[STATE];
    const rs = this.v[STATE + 1];
    const oInactive = os === TCP_INACTIVE || os === TCP_PARTIAL;
    const rInactive = rs === TCP_INACTIVE || rs === TCP_PARTIAL;
    if (rs === TCP_RESET) {
      if (
        os === TCP_SYN_SENT ||
        os === TCP_SYN_ACK_SENT ||
        (os === TCP_RESET && flow.payloadBytes[0] === 0 && flow.payloadBytes[1] === 0)
      )
        return 'REJ';
      return oInactive ? 'RSTRH' : 'RSTR';
    }
    if (os === TCP_RESET) {
      if (rInactive) return RSTOS0_HISTORY.test(flow.history) ? 'RSTOS0' : 'OTH';
      return 'RSTO';
    }
    if (rs === TCP_CLOSED && os === TCP_CLOSED) return 'SF';
    if (os === TCP_CLOSED) return rInactive ? 'SH' : 'S2';
    if (rs === TCP_CLOSED) return oInactive ? 'SHR' : 'S3';
    if (os === TCP_SYN_SENT && rs === TCP_INACTIVE) return 'S0';
    if (os === TCP_ESTABLISHED && rs === TCP_ESTABLISHED) return 'S1';
    return 'OTH';
  }
}

/** conn_state for UDP (Zeek: an endpoint is active once it sent a packet). */
export function udpConnState(flow: Flow): string {
  const o = flow.packets[0] > 0;
  const r = flow.packets[1] > 0;
  if (o) return r ? 'SF' : 'S0';
  return r ? 'SHR' : 'OTH';
}
