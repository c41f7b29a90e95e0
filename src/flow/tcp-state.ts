/**
 * Per-connection TCP tracking, after Zeek's TCP analyzer (TCPSessionAdapter.cc):
 * an endpoint state machine per direction, the history string, and conn_state
 * computed from the two endpoint states exactly as base/protocols/conn/main.zeek
 * does. Direction 0 = originator (client), 1 = responder (server).
 *
 * The tracker's state lives in the flow's row of the flow columns (TCP_WORDS
 * words from X_TCP), so a TCP flow has no tracker object; these functions work
 * on a FlowRecord's row. No allocation per packet: history letters are added
 * at most a few times per flow.
 */
import type { Flow } from './flow.js';
import type { FlowRecord } from './record.js';
import type { FlowColumns } from './columns.js';
import {
  G_SYN_TO_SYNACK,
  G_SYN_TS,
  G_SYNACK_TO_ACK,
  G_SYNACK_TS,
  F_PAYLOAD,
  F_WORDS,
  G_WORDS,
  X_TCP,
  X_WORDS,
} from './columns.js';
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
/** History letters per direction: the originator's upper case, the responder's lower case (no toLowerCase per letter). */
const DIR_LETTERS: readonly (readonly string[])[] = [LETTERS.split(''), LETTERS.toLowerCase().split('')];
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

// Words of the tracker (relative to X_TCP), two per per-direction field (+ dir).
const T_STATE = 0;
const T_PREV_STATE = 2;
/** Highest sequence number + 1 seen per direction (retransmission detection). */
const T_LAST_SEQ = 4;
/** Initial sequence number of each side's first SYN (valid with FL_ISN). */
const T_ISN = 6;
/** Retransmitted-payload packets and zero-window advertisements per direction. */
const T_RETRANSMITS = 8;
const T_ZERO_WINDOWS = 10;
/** Logarithmic history thresholds as powers of ten (Zeek: 1, 10, 100, ...). */
const T_RX_EXP = 12;
const T_ZW_EXP = 14;
const T_FLAGS = 16;
const T_HISTORY_BITS = 17;
const T_SYNS = 18;
const T_SYNACKS = 19;

// T_FLAGS bits (<< dir).
const FL_SEQ_INIT = 1;
const FL_ISN = 4;
const FL_FIN = 16;
const FL_RST = 64;

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/** What the tracker reads of a segment: a decoded packet (PacketView) has these fields. */
export interface TcpSegment {
  tcpFlags: number;
  tcpSeq: number;
  tcpWindow: number;
  /** Payload length on the wire. */
  payloadWireLen: number;
  /** Capture time, seconds. */
  ts: number;
}

/**
 * Account one TCP segment sent in direction `dir`. Updates flow.history and
 * the handshake fields. The segment is read from an object, not arguments: a
 * double argument to a call V8 does not inline is a new heap number.
 */
export function tcpPacket(flow: FlowRecord, dir: 0 | 1, segment: TcpSegment): void {
  const flags = segment.tcpFlags;
  const seq = segment.tcpSeq;
  const window = segment.tcpWindow;
  const len = segment.payloadWireLen;
  const u = flow.c.x32;
  const t = flow.slot * X_WORDS + X_TCP;
  const syn = (flags & TCP_SYN) !== 0;
  const ack = (flags & TCP_ACK) !== 0;
  const fin = (flags & TCP_FIN) !== 0;
  const rst = (flags & TCP_RST) !== 0;
  const peer = (1 - dir) as 0 | 1;

  // History (Zeek update_history).
  const controlBits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
  if (controlBits > 1) letterOnce(flow, u, t, fin && rst ? L_FINRST : L_MULTI, dir);
  else if (syn) letterOnce(flow, u, t, ack ? L_SYNACK : L_SYN, dir);
  else if (fin) letterOnce(flow, u, t, L_FIN, dir);
  else if (rst) letterOnce(flow, u, t, L_RST, dir);
  else if (len > 0) letterOnce(flow, u, t, L_DATA, dir);
  else if (ack) letterOnce(flow, u, t, L_ACK, dir);

  // Zero windows are boring with/after a RST or after the peer's FIN (Zeek update_window).
  if (window === 0 && !rst && u[t + T_STATE + peer] !== TCP_CLOSED && u[t + T_STATE + dir] !== TCP_RESET) {
    const n = ++u[t + T_ZERO_WINDOWS + dir];
    if (n === POW10[u[t + T_ZW_EXP + dir]]) {
      u[t + T_ZW_EXP + dir]++;
      flow.history = withLetter(flow.history, dir === 0 ? 'W' : 'w');
    }
  }

  // Handshake counters and RTTs.
  if (syn || ack) handshake(flow, u, t, dir, syn, ack, segment);
  if (syn && (u[t + T_FLAGS] & (FL_ISN << dir)) === 0) {
    u[t + T_FLAGS] |= FL_ISN << dir;
    u[t + T_ISN + dir] = seq;
  }
  if (fin) u[t + T_FLAGS] |= FL_FIN << dir;
  if (rst) u[t + T_FLAGS] |= FL_RST << dir;

  trackSequence(flow, u, t, dir, syn, fin, rst, seq, len);
  updateStateMachine(u, t, dir, peer, syn, ack, fin, rst, len);
}

function handshake(flow: FlowRecord, u: Uint32Array, t: number, dir: 0 | 1, syn: boolean, ack: boolean, segment: TcpSegment): void {
  const ts = segment.ts;
  const f = flow.c.g64;
  const fb = flow.slot * G_WORDS;
  if (syn && !ack && dir === 0) {
    u[t + T_SYNS]++;
    if (f[fb + G_SYN_TS] !== f[fb + G_SYN_TS]) f[fb + G_SYN_TS] = ts;
  } else if (syn && ack && dir === 1) {
    u[t + T_SYNACKS]++;
    if (f[fb + G_SYNACK_TS] !== f[fb + G_SYNACK_TS]) {
      f[fb + G_SYNACK_TS] = ts;
      // NaN when no SYN was seen: no RTT.
      f[fb + G_SYN_TO_SYNACK] = ts - f[fb + G_SYN_TS];
    }
  } else if (!syn && ack && dir === 0) {
    const synAck = f[fb + G_SYNACK_TS];
    if (synAck === synAck && f[fb + G_SYNACK_TO_ACK] !== f[fb + G_SYNACK_TO_ACK]) f[fb + G_SYNACK_TO_ACK] = ts - synAck;
  }
}

/** Zeek update_last_seq: payload that does not advance the highest sequence is a retransmission. */
function trackSequence(flow: FlowRecord, u: Uint32Array, t: number, dir: 0 | 1, syn: boolean, fin: boolean, rst: boolean, seq: number, len: number): void {
  let segLen = len + (syn ? 1 : 0) + (fin ? 1 : 0);
  if (rst) segLen -= len;
  const end = (seq + segLen) >>> 0;
  if ((u[t + T_FLAGS] & (FL_SEQ_INIT << dir)) === 0) {
    u[t + T_FLAGS] |= FL_SEQ_INIT << dir;
    u[t + T_LAST_SEQ + dir] = syn ? end : seq;
  }
  const delta = (end - u[t + T_LAST_SEQ + dir]) | 0;
  if ((syn || rst) && (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA)) return;
  if (u[t + T_STATE + dir] === TCP_RESET) return;
  if (delta > 0) u[t + T_LAST_SEQ + dir] = end;
  else if (len > 0) {
    const n = ++u[t + T_RETRANSMITS + dir];
    if (n === POW10[u[t + T_RX_EXP + dir]]) {
      u[t + T_RX_EXP + dir]++;
      flow.history = withLetter(flow.history, dir === 0 ? 'T' : 't');
    }
  }
}

function letterOnce(flow: FlowRecord, u: Uint32Array, t: number, letter: number, dir: 0 | 1): void {
  const bit = 1 << (letter * 2 + dir);
  if (u[t + T_HISTORY_BITS] & bit) return;
  u[t + T_HISTORY_BITS] |= bit;
  flow.history = withLetter(flow.history, DIR_LETTERS[dir][letter]);
}

/** Histories made so far, each with its one-letter extensions: flows share the few distinct strings. */
const historyNext = new Map<string, Map<string, string>>();
/** Distinct histories kept (the cache starts over when full; a history is at most ~30 letters). */
const MAX_HISTORIES = 4096;

/**
 * history + letter, as one shared string per distinct history: tens of
 * thousands of live TCP flows then hold a handful of strings, not one each,
 * and no string is made per letter once a history is known.
 */
export function withLetter(history: string, letter: string): string {
  let next = historyNext.get(history);
  if (next === undefined) {
    if (historyNext.size >= MAX_HISTORIES) historyNext.clear();
    historyNext.set(history, (next = new Map()));
  }
  let h = next.get(letter);
  if (h === undefined) next.set(letter, (h = history + letter));
  return h;
}

function setState(u: Uint32Array, t: number, dir: 0 | 1, s: number): void {
  u[t + T_PREV_STATE + dir] = u[t + T_STATE + dir];
  u[t + T_STATE + dir] = s;
}

/** Zeek TCPSessionAdapter::UpdateStateMachine, without the sequence-number sanity checks. */
function updateStateMachine(u: Uint32Array, t: number, dir: 0 | 1, peer: 0 | 1, syn: boolean, ack: boolean, fin: boolean, rst: boolean, len: number): void {
  const isOrig = dir === 0;
  switch (u[t + T_STATE + dir]) {
    case TCP_INACTIVE: {
      if (syn) {
        if (isOrig) setState(u, t, dir, ack ? TCP_SYN_ACK_SENT : TCP_SYN_SENT);
        else {
          if (u[t + T_STATE + peer] === TCP_SYN_SENT) setState(u, t, peer, TCP_ESTABLISHED);
          setState(u, t, dir, TCP_ESTABLISHED);
        }
      }
      if (fin) setState(u, t, dir, TCP_CLOSED);
      if (rst) setState(u, t, dir, TCP_RESET);
      if (u[t + T_STATE + dir] === TCP_INACTIVE) {
        if (!isOrig && len === 0 && u[t + T_STATE] === TCP_SYN_SENT) {
          // Some stacks ACK a SYN before answering it: not a partial connection.
        } else if (ack && u[t + T_STATE + peer] === TCP_ESTABLISHED) {
          // Missed the SYN but saw the SYN-ACK and now an ACK: established.
          setState(u, t, dir, TCP_ESTABLISHED);
        } else setState(u, t, dir, TCP_PARTIAL);
      }
      break;
    }
    case TCP_SYN_SENT:
    case TCP_SYN_ACK_SENT:
      if (fin) setState(u, t, dir, TCP_CLOSED);
      if (rst) setState(u, t, dir, TCP_RESET);
      break;
    case TCP_ESTABLISHED:
    case TCP_PARTIAL:
      if (syn && u[t + T_STATE + dir] === TCP_PARTIAL && u[t + T_STATE + peer] === TCP_INACTIVE && !ack) {
        setState(u, t, dir, TCP_SYN_SENT);
      }
      if (fin && !rst) {
        setState(u, t, dir, TCP_CLOSED);
        // The peer sent FIN then RST: that was a normal termination.
        if (u[t + T_STATE + peer] === TCP_RESET && u[t + T_PREV_STATE + peer] === TCP_CLOSED) setState(u, t, peer, TCP_CLOSED);
      }
      if (rst) setState(u, t, dir, TCP_RESET);
      break;
    case TCP_CLOSED:
      // After a complete FIN exchange a RST does not change the state.
      if (rst && u[t + T_STATE + peer] !== TCP_CLOSED) setState(u, t, dir, TCP_RESET);
      break;
    case TCP_RESET:
      break;
  }
}

/** True once the connection in row `slot` has finished (either side reset, or both closed). */
export function tcpFinished(cols: FlowColumns, slot: number): boolean {
  const t = slot * X_WORDS + X_TCP;
  const o = cols.x32[t + T_STATE];
  const r = cols.x32[t + T_STATE + 1];
  return o === TCP_RESET || r === TCP_RESET || (o === TCP_CLOSED && r === TCP_CLOSED);
}

/** Initial sequence number of side `dir`'s first SYN, -1 if none (port-reuse detection). */
export function tcpIsn(cols: FlowColumns, slot: number, dir: 0 | 1): number {
  const t = slot * X_WORDS + X_TCP;
  return cols.x32[t + T_FLAGS] & (FL_ISN << dir) ? cols.x32[t + T_ISN + dir] : -1;
}

/** Client/server sent a FIN / RST (flag words of the row). */
export function tcpFlagsOf(cols: FlowColumns, slot: number, rst: boolean): [boolean, boolean] {
  const fl = cols.x32[slot * X_WORDS + X_TCP + T_FLAGS];
  const bit = rst ? FL_RST : FL_FIN;
  return [(fl & bit) !== 0, (fl & (bit << 1)) !== 0];
}

export function setTcpFlags(cols: FlowColumns, slot: number, rst: boolean, v: readonly [boolean, boolean]): void {
  const i = slot * X_WORDS + X_TCP + T_FLAGS;
  const bit = rst ? FL_RST : FL_FIN;
  cols.x32[i] = (cols.x32[i] & ~(bit | (bit << 1))) | (v[0] ? bit : 0) | (v[1] ? bit << 1 : 0);
}

/** SYNs sent by the client, SYN-ACKs by the server. */
export function tcpSynCounts(cols: FlowColumns, slot: number): [number, number] {
  const t = slot * X_WORDS + X_TCP;
  return [cols.x32[t + T_SYNS], cols.x32[t + T_SYNACKS]];
}

export function setTcpSynCount(cols: FlowColumns, slot: number, synAck: boolean, n: number): void {
  cols.x32[slot * X_WORDS + X_TCP + (synAck ? T_SYNACKS : T_SYNS)] = n;
}

/** Diagnostics of the tracker: retransmitted-payload packets, zero-window advertisements and ISNs per direction. */
export function tcpCounters(flow: FlowRecord): { retransmits: [number, number]; zeroWindows: [number, number]; isn: [number, number] } {
  const u = flow.c.x32;
  const t = flow.slot * X_WORDS + X_TCP;
  return {
    retransmits: [u[t + T_RETRANSMITS], u[t + T_RETRANSMITS + 1]],
    zeroWindows: [u[t + T_ZERO_WINDOWS], u[t + T_ZERO_WINDOWS + 1]],
    isn: [tcpIsn(flow.c, flow.slot, 0), tcpIsn(flow.c, flow.slot, 1)],
  };
}

/** conn_state from base/protocols/conn/main.zeek. */
export function tcpConnState(flow: FlowRecord): string {
  const u = flow.c.x32;
  const t = flow.slot * X_WORDS + X_TCP;
  const os = u[t + T_STATE];
  const rs = u[t + T_STATE + 1];
  const oInactive = os === TCP_INACTIVE || os === TCP_PARTIAL;
  const rInactive = rs === TCP_INACTIVE || rs === TCP_PARTIAL;
  if (rs === TCP_RESET) {
    const fb = flow.slot * F_WORDS;
    const f = flow.c.f64;
    if (os === TCP_SYN_SENT || os === TCP_SYN_ACK_SENT || (os === TCP_RESET && f[fb + F_PAYLOAD] === 0 && f[fb + F_PAYLOAD + 1] === 0)) return 'REJ';
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

/** conn_state for UDP (Zeek: an endpoint is active once it sent a packet). */
export function udpConnState(flow: Flow): string {
  const o = flow.packets[0] > 0;
  const r = flow.packets[1] > 0;
  if (o) return r ? 'SF' : 'S0';
  return r ? 'SHR' : 'OTH';
}
