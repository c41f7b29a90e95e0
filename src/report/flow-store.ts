/**
 * The report's flows, kept compact from the flow's end until the report is
 * built: numbers in typed-array rows and every text or list as an index into
 * one table of distinct values. A ReportFlow object (~1.2 KB with its
 * endpoints, counters, ISO times and arrays) becomes ~140 bytes that the
 * garbage collector never traces. The ReportFlow objects are made when the
 * report's flows are first read (withStoredFlows), after the analysis state
 * (flow table, analyzers) has become garbage.
 */
import { protoName, type Flow } from '../flow/flow.js';
import { flowBytes, flowIp4, flowPackets } from '../flow/record.js';
import { formatIp4, parseIp4 } from '../decode/view.js';
import type { ClassifiedBy, FlowClass, ReportFlow } from './schema.js';
import { isoTime, round, sanitizeName, sanitizeNote } from './build.js';
import { defineLazy } from './lazy.js';

// Float64 words per row.
const F_FIRST_TS = 0;
const F_LAST_TS = 1;
const F_BYTES = 2; // + 0 client, + 1 server
/** Seconds from SYN to SYN-ACK, NaN = none. */
const F_RTT = 4;
const F_WORDS = 5;

// Uint32 words per row.
/** The number in a "F<n>" uid (the usual form); see T_UID. */
const U_UID = 0;
const U_PROTO = 1;
const U_CLIENT_PORT = 2;
const U_SERVER_PORT = 3;
/** Dotted-quad addresses as numbers; see T_CLIENT_IP / T_SERVER_IP. */
const U_CLIENT4 = 4;
const U_SERVER4 = 5;
const U_PACKETS = 6; // + 0 client, + 1 server
const U_FIRST_FRAME = 8;
const U_WORDS = 9;

// Value-table indices per row (0 = null). A uid or address that is not in
// its usual numeric form is kept as text instead of the number above.
const T_UID = 0;
const T_CLIENT_IP = 1;
const T_SERVER_IP = 2;
const T_STATE = 3;
const T_SNI = 4;
const T_DNS_NAME = 5;
const T_CLASS = 6;
const T_SERVICE = 7;
const T_EDGE = 8;
const T_CLASSIFIED_BY = 9;
const T_HISTORY = 10;
const T_CLIENT_TYPE = 11;
const T_ALPN = 12;
const T_TLS_VERSION = 13;
const T_CONFLICTS = 14;
const T_NOTES = 15;
const T_WORDS = 16;

/** Rows are added in chunks of this many (no copying as the store grows, no unused half). */
const CHUNK_SHIFT = 12;
const CHUNK_ROWS = 1 << CHUNK_SHIFT;

type Value = string | readonly string[] | null;
type Clean = ((text: string) => string) | null;

/** A trie of lists by their items' value indices: a list is found without building a key. */
class ListNode {
  readonly next = new Map<number, ListNode>();
  /** The list ending here, 0 until one does. */
  index = 0;
}

class RowChunk {
  readonly f64 = new Float64Array(CHUNK_ROWS * F_WORDS);
  readonly u32 = new Uint32Array(CHUNK_ROWS * U_WORDS);
  /** Value-table indices. */
  readonly refs = new Uint32Array(CHUNK_ROWS * T_WORDS);
}

export class ReportFlowStore {
  private rows = 0;
  private readonly chunks: RowChunk[] = [];
  /** Distinct values; index 0 is null. */
  private readonly values: Value[] = [null];
  private readonly textIndex = new Map<string, number>();
  private readonly lists = new ListNode();

  get length(): number {
    return this.rows;
  }

  /** Keep what the report says about an ended (classified) flow. */
  add(flow: Flow): void {
    const row = this.rows++;
    if (row >>> CHUNK_SHIFT === this.chunks.length) this.chunks.push(new RowChunk());
    const c = this.chunks[row >>> CHUNK_SHIFT];
    const inChunk = row & (CHUNK_ROWS - 1);
    const f = inChunk * F_WORDS;
    const u = inChunk * U_WORDS;
    const t = inChunk * T_WORDS;
    const { f64, u32, refs } = c;

    f64[f + F_FIRST_TS] = flow.firstTs;
    f64[f + F_LAST_TS] = flow.lastTs;
    f64[f + F_BYTES] = flowBytes(flow, 0);
    f64[f + F_BYTES + 1] = flowBytes(flow, 1);
    f64[f + F_RTT] = flow.synToSynAck ?? NaN;

    const uid = flow.uid;
    const uidNum = flowNumber(uid);
    u32[u + U_UID] = uidNum < 0 ? 0 : uidNum;
    refs[t + T_UID] = uidNum < 0 ? this.text(uid) : 0;
    u32[u + U_PROTO] = flow.proto;
    u32[u + U_CLIENT_PORT] = flow.clientPort;
    u32[u + U_SERVER_PORT] = flow.serverPort;
    this.putIp(c, flow, 0, u + U_CLIENT4, t + T_CLIENT_IP);
    this.putIp(c, flow, 1, u + U_SERVER4, t + T_SERVER_IP);
    u32[u + U_PACKETS] = flowPackets(flow, 0);
    u32[u + U_PACKETS + 1] = flowPackets(flow, 1);
    u32[u + U_FIRST_FRAME] = flow.firstFrame;

    const tls = flow.tls;
    refs[t + T_STATE] = this.text(flow.state);
    refs[t + T_SNI] = tls?.sni != null ? this.text(sanitizeName(tls.sni)) : 0;
    refs[t + T_DNS_NAME] = flow.dnsName != null ? this.text(sanitizeName(flow.dnsName)) : 0;
    refs[t + T_CLASS] = this.text(flow.cls ?? 'other');
    refs[t + T_SERVICE] = this.textOrNull(flow.service);
    refs[t + T_EDGE] = this.textOrNull(flow.edge);
    refs[t + T_CLASSIFIED_BY] = this.list(flow.classifiedBy, null);
    refs[t + T_HISTORY] = flow.proto === 6 ? this.text(flow.history) : 0;
    refs[t + T_CLIENT_TYPE] = this.textOrNull(flow.clientType);
    refs[t + T_ALPN] = tls?.alpn ? this.list(tls.alpn, sanitizeName) : 0;
    refs[t + T_TLS_VERSION] = this.textOrNull(tls?.version ?? null);
    refs[t + T_CONFLICTS] = this.list(flow.conflicts, null);
    refs[t + T_NOTES] = this.list(flow.notes, sanitizeNote);
  }

  /** The report's flows, in the order they were added. */
  toArray(): ReportFlow[] {
    const out: ReportFlow[] = new Array<ReportFlow>(this.rows);
    for (let row = 0; row < this.rows; row++) out[row] = this.flowAt(row);
    return out;
  }

  /** The flow added `row`-th, made anew. */
  flowAt(row: number): ReportFlow {
    const c = this.chunks[row >>> CHUNK_SHIFT];
    const inChunk = row & (CHUNK_ROWS - 1);
    const f = inChunk * F_WORDS;
    const u = inChunk * U_WORDS;
    const t = inChunk * T_WORDS;
    const { f64, u32, refs } = c;
    const rtt = f64[f + F_RTT];
    return {
      uid: refs[t + T_UID] !== 0 ? this.textAt(c, t + T_UID) : `F${u32[u + U_UID]}`,
      proto: protoName(u32[u + U_PROTO]),
      client: { ip: this.ipAt(c, u + U_CLIENT4, t + T_CLIENT_IP), port: u32[u + U_CLIENT_PORT] },
      server: { ip: this.ipAt(c, u + U_SERVER4, t + T_SERVER_IP), port: u32[u + U_SERVER_PORT] },
      firstSeen: isoTime(f64[f + F_FIRST_TS]),
      lastSeen: isoTime(f64[f + F_LAST_TS]),
      packets: { client: u32[u + U_PACKETS], server: u32[u + U_PACKETS + 1] },
      bytes: { client: f64[f + F_BYTES], server: f64[f + F_BYTES + 1] },
      state: this.textAt(c, t + T_STATE),
      sni: this.textOrNullAt(c, t + T_SNI),
      dnsName: this.textOrNullAt(c, t + T_DNS_NAME),
      class: this.textAt(c, t + T_CLASS) as FlowClass,
      service: this.textOrNullAt(c, t + T_SERVICE),
      edge: this.textOrNullAt(c, t + T_EDGE),
      classifiedBy: this.listAt(c, t + T_CLASSIFIED_BY) as ClassifiedBy[],
      history: this.textOrNullAt(c, t + T_HISTORY),
      clientType: this.textOrNullAt(c, t + T_CLIENT_TYPE) as ReportFlow['clientType'],
      alpn: refs[t + T_ALPN] !== 0 ? this.listAt(c, t + T_ALPN) : null,
      tlsVersion: this.textOrNullAt(c, t + T_TLS_VERSION),
      handshakeRttMs: rtt === rtt ? round(rtt * 1000) : null,
      firstFrame: u32[u + U_FIRST_FRAME],
      conflicts: this.listAt(c, t + T_CONFLICTS),
      notes: this.listAt(c, t + T_NOTES),
    };
  }

  /** A dotted quad as a number when formatting the number gives the same text back, else the text. */
  private putIp(c: RowChunk, flow: Flow, side: 0 | 1, numWord: number, refWord: number): void {
    const v4 = flowIp4(flow, side);
    if (v4 >= 0) {
      c.u32[numWord] = v4;
      c.refs[refWord] = 0;
      return;
    }
    const ip = side === 0 ? flow.clientIp : flow.serverIp;
    const n = parseIp4(ip);
    c.u32[numWord] = n < 0 ? 0 : n;
    c.refs[refWord] = n < 0 ? this.text(ip) : 0;
  }

  private ipAt(c: RowChunk, numWord: number, refWord: number): string {
    return c.refs[refWord] !== 0 ? this.textAt(c, refWord) : formatIp4(c.u32[numWord]);
  }

  private text(s: string): number {
    let i = this.textIndex.get(s);
    if (i === undefined) {
      i = this.values.push(s) - 1;
      this.textIndex.set(s, i);
    }
    return i;
  }

  private textOrNull(s: string | null): number {
    return s === null ? 0 : this.text(s);
  }

  /** The index of `items`, each passed through `clean` first when given. */
  private list(items: readonly string[], clean: Clean): number {
    let node = this.lists;
    for (let k = 0; k < items.length; k++) {
      const item = this.text(clean === null ? items[k] : clean(items[k]));
      let next = node.next.get(item);
      if (next === undefined) {
        next = new ListNode();
        node.next.set(item, next);
      }
      node = next;
    }
    if (node.index === 0) node.index = this.values.push(Object.freeze(clean === null ? items.slice() : items.map((item) => clean(item)))) - 1;
    return node.index;
  }

  private textAt(c: RowChunk, word: number): string {
    return this.values[c.refs[word]] as string;
  }

  private textOrNullAt(c: RowChunk, word: number): string | null {
    return this.values[c.refs[word]] as string | null;
  }

  /** A fresh copy: each report flow owns its arrays. */
  private listAt(c: RowChunk, word: number): string[] {
    return (this.values[c.refs[word]] as readonly string[]).slice();
  }
}

/**
 * `report` with its `flows` made from `store` when first read (the JSON
 * serialiser, a renderer), then kept as a plain array. Defined here, not in
 * the engine: a getter made there would keep the engine's whole scope alive.
 */
export function withStoredFlows<R extends { flows: ReportFlow[] }>(report: R, store: ReportFlowStore): R {
  unread.set(report, store);
  return defineLazy(
    report,
    'flows',
    () => store.toArray() as R['flows'],
    () => unread.delete(report),
  );
}

/** Reports whose flows are still only in their store. */
const unread = new WeakMap<object, ReportFlowStore>();

/**
 * A report's flows one at a time, in order, without making them all at once
 * when they are still in the store (the JSON writer streams them).
 */
export function reportFlowSource(report: { flows: ReportFlow[] }): { length: number; at(i: number): ReportFlow } {
  const store = unread.get(report);
  if (store !== undefined) return { length: store.length, at: (i) => store.flowAt(i) };
  const flows = report.flows;
  return { length: flows.length, at: (i) => flows[i] };
}

/** n for a uid "F<n>" written the usual way (no sign, no leading zero, n < 2^32), else -1. */
export function flowNumber(uid: string): number {
  const len = uid.length;
  if (len < 2 || len > 11 || uid.charCodeAt(0) !== 70 /* F */) return -1;
  if (uid.charCodeAt(1) === 48 /* 0 */ && len > 2) return -1;
  let n = 0;
  for (let i = 1; i < len; i++) {
    const d = uid.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= 0xffffffff ? n : -1;
}
