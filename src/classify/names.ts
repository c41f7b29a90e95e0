/**
 * Address → name, from DNS answers (and pcapng name resolution blocks), for
 * naming flows whose TLS carried no SNI. Bounded (LRU over addresses) and
 * time-aware: a flow only gets a name answered at or before its first packet.
 *
 * TTLs are recorded but not enforced: resolvers, browsers and apps keep using
 * addresses past the TTL, and long calls outlive it, so an expired answer is
 * still the best evidence of what a server is. Reassignment is handled by
 * preferring the most recent answer instead.
 */

import { parseIp4 } from '../decode/view.js';
import type { Flow } from '../flow/flow.js';
import { flowIp4 } from '../flow/record.js';

/** What the DNS analyzer feeds. */
export interface NameSink {
  add(ip: string, name: string, ts: number, ttl: number): void;
  /** add() for an IPv4 address given as its 32-bit number (signed or unsigned), when the sink can take it without text. */
  addIp4?(ip4: number, name: string, ts: number, ttl: number): void;
}

export interface NameAnswer {
  name: string;
  /** First and latest time this name was answered for the address. */
  firstTs: number;
  lastTs: number;
  /** TTL of the latest answer, seconds. */
  ttl: number;
}

export const DEFAULT_MAX_NAME_ENTRIES = 100_000;
/** Names kept per address (CDNs and round-robin give several); the least recent is dropped. */
export const MAX_NAMES_PER_IP = 4;

/**
 * The map key of an address: IPv4 as its signed 32-bit number (a flow has it
 * without building text; signed, so a small integer V8 does not box), any
 * other address as its text.
 */
export type AddressKey = number | string;

export function addressKey(ip: string): AddressKey {
  const v4 = parseIp4(ip);
  return v4 >= 0 ? v4 | 0 : ip;
}

/** The key of a flow's client or server address. */
export function flowAddressKey(flow: Flow, side: 'client' | 'server'): AddressKey {
  const v4 = flowIp4(flow, side === 'server' ? 1 : 0);
  return v4 >= 0 ? v4 | 0 : addressKey(side === 'server' ? flow.serverIp : flow.clientIp);
}

/** End of an answer chain, and of the free list. */
const NONE = -1;
const FIRST_ROWS = 1024;

export class NameMap implements NameSink {
  private readonly maxEntries: number;
  /**
   * Address → its first answer row. Map order is recency order: the first key
   * is the least recently used.
   */
  private readonly byIp = new Map<AddressKey, number>();
  /** The key used last, so last in byIp's order: touching it again needs no delete and set. */
  private recentKey: AddressKey | undefined = undefined;
  private evicted = 0;

  /*
   * Answers as rows of typed arrays rather than an object (and an array) per
   * address: most addresses have one name, and ~50 000 of them cost ~8 MB as
   * objects. An address's rows are chained through `nextRow` in order of
   * first answer; free rows are chained from `freeHead`.
   */
  private rowNames: string[] = [];
  private rowFirstTs = new Float64Array(FIRST_ROWS);
  private rowLastTs = new Float64Array(FIRST_ROWS);
  private rowTtl = new Float64Array(FIRST_ROWS);
  private nextRow = new Int32Array(FIRST_ROWS);
  private freeHead = NONE;
  /** Rows handed out at least once (the rest of the arrays is unused). */
  private rowsUsed = 0;

  constructor(opts: { maxEntries?: number } = {}) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_MAX_NAME_ENTRIES);
  }

  /** Addresses dropped to stay within maxEntries. */
  get evictions(): number {
    return this.evicted;
  }

  /** Addresses held. */
  get size(): number {
    return this.byIp.size;
  }

  /** Names are kept lower case without a trailing dot. */
  add(ip: string, name: string, ts: number, ttl: number): void {
    const n = normalName(name);
    if (n !== '') this.addKey(addressKey(ip), n, ts, ttl);
  }

  /** add() without the address text: the DNS analyzer's A records. */
  addIp4(ip4: number, name: string, ts: number, ttl: number): void {
    const n = normalName(name);
    if (n !== '') this.addKey(ip4 | 0, n, ts, ttl);
  }

  private addKey(key: AddressKey, n: string, ts: number, ttl: number): void {
    const head = this.byIp.get(key);
    if (head === undefined) {
      this.touch(key, this.newRow(n, ts, ttl));
      if (this.byIp.size > this.maxEntries) this.evictOldest();
      return;
    }
    const next = this.nextRow;
    let count = 0;
    let tail = NONE;
    for (let r = head; r !== NONE; r = next[r]) {
      if (this.rowNames[r] === n) {
        this.rowFirstTs[r] = Math.min(this.rowFirstTs[r], ts);
        this.rowLastTs[r] = Math.max(this.rowLastTs[r], ts);
        this.rowTtl[r] = ttl;
        this.touch(key, head);
        return;
      }
      count++;
      tail = r;
    }
    let first = head;
    if (count >= MAX_NAMES_PER_IP) {
      // Drop the least recently answered (the first of equals), keeping the others' order.
      const lastTs = this.rowLastTs;
      let oldest = head;
      let beforeOldest = NONE;
      for (let prev = head, r = next[head]; r !== NONE; prev = r, r = next[r])
        if (lastTs[r] < lastTs[oldest]) {
          oldest = r;
          beforeOldest = prev;
        }
      if (beforeOldest === NONE) first = next[oldest];
      else next[beforeOldest] = next[oldest];
      if (tail === oldest) tail = beforeOldest;
      this.freeRow(oldest);
    }
    const row = this.newRow(n, ts, ttl);
    if (tail === NONE) first = row;
    else next[tail] = row;
    this.touch(key, first);
  }

  /** Make `key` the most recently used, with `head` its first row. */
  private touch(key: AddressKey, head: number): void {
    if (key === this.recentKey) {
      this.byIp.set(key, head); // already last: set keeps the position
      return;
    }
    this.byIp.delete(key);
    this.byIp.set(key, head);
    this.recentKey = key;
  }

  private evictOldest(): void {
    const key = this.byIp.keys().next().value!;
    this.freeChain(this.byIp.get(key)!);
    this.byIp.delete(key);
    if (key === this.recentKey) this.recentKey = undefined;
    this.evicted++;
  }

  private newRow(n: string, ts: number, ttl: number): number {
    let row = this.freeHead;
    if (row !== NONE) {
      this.freeHead = this.nextRow[row];
      this.rowNames[row] = n;
    } else {
      if (this.rowsUsed === this.nextRow.length) this.grow();
      row = this.rowsUsed++;
      this.rowNames.push(n);
    }
    this.rowFirstTs[row] = ts;
    this.rowLastTs[row] = ts;
    this.rowTtl[row] = ttl;
    this.nextRow[row] = NONE;
    return row;
  }

  private freeRow(row: number): void {
    this.rowNames[row] = ''; // let the name go
    this.nextRow[row] = this.freeHead;
    this.freeHead = row;
  }

  /** Free `head` and the rows chained after it. */
  private freeChain(head: number): void {
    for (let r = head; r !== NONE; ) {
      const after = this.nextRow[r];
      this.freeRow(r);
      r = after;
    }
  }

  private grow(): void {
    const size = this.nextRow.length * 2;
    const widen = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    this.rowFirstTs = widen(this.rowFirstTs);
    this.rowLastTs = widen(this.rowLastTs);
    this.rowTtl = widen(this.rowTtl);
    const next = new Int32Array(size);
    next.set(this.nextRow);
    this.nextRow = next;
  }

  /** The most recently answered name for `ip` at time `ts` (a flow's first packet), or null. */
  lookup(ip: string, ts: number): string | null {
    return this.lookupKey(addressKey(ip), ts);
  }

  /** lookup() for a flow's client or server address. */
  lookupFlow(flow: Flow, side: 'client' | 'server', ts: number): string | null {
    return this.lookupKey(flowAddressKey(flow, side), ts);
  }

  private lookupKey(key: AddressKey, ts: number): string | null {
    const head = this.byIp.get(key);
    if (head === undefined) return null;
    this.touch(key, head);
    const firstTs = this.rowFirstTs;
    const lastTs = this.rowLastTs;
    // As if scanning lookupAll's list (first answer first) for the greatest t, without building it: once per flow.
    let best = NONE;
    let bestTs = -Infinity;
    for (let r = head; r !== NONE; r = this.nextRow[r]) {
      if (firstTs[r] > ts) continue;
      // Latest answer known to be at or before ts: lastTs if it is, else at least firstTs.
      const t = lastTs[r] <= ts ? lastTs[r] : firstTs[r];
      if (t > bestTs || (t === bestTs && best !== NONE && firstTs[r] < firstTs[best])) {
        best = r;
        bestTs = t;
      }
    }
    return best !== NONE ? this.rowNames[best] : null;
  }

  /** Every name answered for `ip` at or before `ts`, in order of first answer. Counts as a use for the LRU. */
  lookupAll(ip: string, ts: number): NameAnswer[] {
    const key = addressKey(ip);
    const head = this.byIp.get(key);
    if (head === undefined) return [];
    this.touch(key, head);
    const answers: NameAnswer[] = [];
    for (let r = head; r !== NONE; r = this.nextRow[r])
      if (this.rowFirstTs[r] <= ts) answers.push({ name: this.rowNames[r], firstTs: this.rowFirstTs[r], lastTs: this.rowLastTs[r], ttl: this.rowTtl[r] });
    return answers.sort((a, b) => a.firstTs - b.firstTs);
  }
}

/** Lower case without a trailing dot; the name itself (no copy) when it already is, as DNS answers are. */
function normalName(name: string): string {
  let plain = name.charCodeAt(name.length - 1) !== 0x2e;
  for (let i = 0; plain && i < name.length; i++) {
    const c = name.charCodeAt(i);
    plain = c < 0x41 || (c > 0x5a && c < 0x80);
  }
  return plain ? name : name.toLowerCase().replace(/\.$/, '');
}
