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
import { FlowRecord } from '../flow/record.js';

/** What the DNS analyzer feeds. */
export interface NameSink {
  add(ip: string, name: string, ts: number, ttl: number): void;
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
 * The map key of an address: IPv4 as its 32-bit number (a flow has it without
 * building text), any other address as its text.
 */
export type AddressKey = number | string;

export function addressKey(ip: string): AddressKey {
  const v4 = parseIp4(ip);
  return v4 >= 0 ? v4 : ip;
}

/** The key of a flow's client or server address. */
export function flowAddressKey(flow: Flow, side: 'client' | 'server'): AddressKey {
  if (flow instanceof FlowRecord && flow.ipVersion === 4) return side === 'server' ? flow.server4 : flow.client4;
  return addressKey(side === 'server' ? flow.serverIp : flow.clientIp);
}

export class NameMap implements NameSink {
  private readonly maxEntries: number;
  /** Map order is recency order: the first key is the least recently used. */
  private readonly byIp = new Map<AddressKey, NameAnswer[]>();
  private evicted = 0;

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
    if (n === '') return;
    const key = addressKey(ip);
    let answers = this.byIp.get(key);
    let known: NameAnswer | null = null;
    if (answers) {
      this.byIp.delete(key);
      for (const a of answers)
        if (a.name === n) {
          known = a;
          break;
        }
    }
    if (known) {
      known.firstTs = Math.min(known.firstTs, ts);
      known.lastTs = Math.max(known.lastTs, ts);
      known.ttl = ttl;
    } else {
      const answer: NameAnswer = { name: n, firstTs: ts, lastTs: ts, ttl };
      // Arrays of their exact size: one grown by push keeps room for 17 (most addresses have one name).
      if (!answers) answers = [answer];
      else {
        if (answers.length >= MAX_NAMES_PER_IP) answers.splice(indexOfOldest(answers), 1);
        answers = [...answers, answer];
      }
    }
    this.byIp.set(key, answers!);
    if (this.byIp.size > this.maxEntries) {
      this.byIp.delete(this.byIp.keys().next().value!);
      this.evicted++;
    }
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
    const answers = this.byIp.get(key);
    if (!answers) return null;
    this.byIp.delete(key);
    this.byIp.set(key, answers);
    // As if scanning lookupAll's list (first answer first) for the greatest t, without building it: once per flow.
    let best: NameAnswer | null = null;
    let bestTs = -Infinity;
    for (const a of answers) {
      if (a.firstTs > ts) continue;
      // Latest answer known to be at or before ts: lastTs if it is, else at least firstTs.
      const t = a.lastTs <= ts ? a.lastTs : a.firstTs;
      if (t > bestTs || (t === bestTs && best !== null && a.firstTs < best.firstTs)) {
        best = a;
        bestTs = t;
      }
    }
    return best ? best.name : null;
  }

  /** Every name answered for `ip` at or before `ts`, in order of first answer. Counts as a use for the LRU. */
  lookupAll(ip: string, ts: number): NameAnswer[] {
    const key = addressKey(ip);
    const answers = this.byIp.get(key);
    if (!answers) return [];
    this.byIp.delete(key);
    this.byIp.set(key, answers);
    return answers
      .filter((a) => a.firstTs <= ts)
      .sort((a, b) => a.firstTs - b.firstTs)
      .map((a) => ({ ...a }));
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

function indexOfOldest(answers: NameAnswer[]): number {
  let oldest = 0;
  for (let i = 1; i < answers.length; i++) if (answers[i].lastTs < answers[oldest].lastTs) oldest = i;
  return oldest;
}
