/**
 * Matching primitives, compiled once and queried once per flow:
 * - host names: exact names and "*." wildcards in hash maps, so a lookup costs
 *   one map probe per label;
 * - addresses: `CidrSet`, a binary trie per IP version whose nodes carry every
 *   value of every CIDR covering them, so a lookup is one walk of at most
 *   32/128 bits and returns a shared array (no allocation).
 */
import ipaddr from 'ipaddr.js';
import { parseIp4 } from '../decode/view.js';

// ---------------------------------------------------------------- addresses

export interface ParsedCidr {
  version: 4 | 6;
  /** Network address bytes (4 or 16). */
  bytes: Uint8Array;
  prefix: number;
  /** Canonical text, e.g. "10.0.0.0/8", "fc00::/7". */
  text: string;
}

/** A CIDR that does not parse; `reason` says what is wrong with it. */
export class CidrError extends Error {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`"${input}" is not a CIDR: ${reason}`);
    this.name = 'CidrError';
  }
}

/**
 * Parse an address as 4 or 16 bytes; null if it is not one. IPv4 must be
 * dotted quad (ipaddr.js would also take "10.1" or "0xa.0.0.1").
 */
export function parseIp(text: string): Uint8Array | null {
  if (!text.includes(':')) return parseDottedQuad(text);
  if (text.includes(':') && !text.includes('%') && ipaddr.IPv6.isValid(text))
    return Uint8Array.from(ipaddr.IPv6.parse(text).toByteArray());
  return null;
}

/**
 * Exactly what ipaddr.js IPv4.isValidFourPartDecimal accepts (four decimal
 * parts 0–255 without leading zeros), parsed without it: this runs several
 * times per flow and ipaddr.js's regular expressions were a visible cost.
 */
function parseDottedQuad(text: string): Uint8Array | null {
  const v = parseIp4(text);
  return v < 0 ? null : Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/** Parse "a.b.c.d/n" or "v6/n"; throws CidrError. With `allowBare`, an address alone is a host route. */
export function parseCidr(input: string, allowBare = false): ParsedCidr {
  const text = input.trim();
  const slash = text.indexOf('/');
  if (slash < 0 && !allowBare) throw new CidrError(input, 'no "/prefix" length');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseIp(addrText);
  if (!bytes) throw new CidrError(input, `"${addrText}" is not an IPv4 (dotted quad) or IPv6 address`);
  const version: 4 | 6 = bytes.length === 4 ? 4 : 6;
  const maxPrefix = bytes.length * 8;
  const prefixText = slash < 0 ? String(maxPrefix) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > maxPrefix)
    throw new CidrError(input, `the prefix length must be a whole number from 0 to ${maxPrefix}`);
  const prefix = Number(prefixText);
  const network = maskBytes(bytes, prefix);
  const networkText = formatBytes(network);
  if (!sameBytes(network, bytes))
    throw new CidrError(input, `host bits are set; the network is ${networkText}/${prefix}`);
  return { version, bytes: network, prefix, text: `${networkText}/${prefix}` };
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = bytes[i] & ((0xff00 >> keep) & 0xff);
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function formatBytes(bytes: Uint8Array): string {
  const ip = ipaddr.fromByteArray(Array.from(bytes));
  return ip.kind() === 'ipv6' ? (ip as ipaddr.IPv6).toRFC5952String() : ip.toString();
}

const EMPTY: readonly never[] = Object.freeze([]);
const NO_CHILD = -1;

/** Binary trie over address bits; `covering[n]` holds the values of every prefix on the path to n. */
class BitTrie<T> {
  private readonly zero: number[] = [NO_CHILD];
  private readonly one: number[] = [NO_CHILD];
  private readonly own: Array<T[] | undefined> = [undefined];
  private covering: Array<readonly T[]> = [];

  insert(bytes: Uint8Array, prefix: number, value: T): void {
    let node = 0;
    for (let i = 0; i < prefix; i++) {
      const branch = (bytes[i >> 3] >> (7 - (i & 7))) & 1 ? this.one : this.zero;
      let next = branch[node];
      if (next === NO_CHILD) {
        next = this.zero.length;
        this.zero.push(NO_CHILD);
        this.one.push(NO_CHILD);
        this.own.push(undefined);
        branch[node] = next;
      }
      node = next;
    }
    (this.own[node] ??= []).push(value);
  }

  /** Precompute each node's covering values (ancestors first, so the most specific come last). */
  seal(): void {
    this.covering = new Array(this.zero.length);
    const stack: Array<[number, readonly T[]]> = [[0, EMPTY]];
    while (stack.length > 0) {
      const [node, inherited] = stack.pop()!;
      const own = this.own[node];
      const here = own ? Object.freeze([...inherited, ...own]) : inherited;
      this.covering[node] = here;
      if (this.zero[node] !== NO_CHILD) stack.push([this.zero[node], here]);
      if (this.one[node] !== NO_CHILD) stack.push([this.one[node], here]);
    }
  }

  lookup(bytes: Uint8Array, offset: number, bits: number): readonly T[] {
    let node = 0;
    for (let i = 0; i < bits; i++) {
      const b = (bytes[offset + (i >> 3)] >> (7 - (i & 7))) & 1;
      const next = b ? this.one[node] : this.zero[node];
      if (next === NO_CHILD) break;
      node = next;
    }
    return this.covering[node];
  }

  /** lookup() of an IPv4 address given as an unsigned 32-bit number. */
  lookupU32(addr: number): readonly T[] {
    let node = 0;
    for (let i = 31; i >= 0; i--) {
      const next = (addr >>> i) & 1 ? this.one[node] : this.zero[node];
      if (next === NO_CHILD) break;
      node = next;
    }
    return this.covering[node];
  }
}

function isV4Mapped(addr: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (addr[i] !== 0) return false;
  return addr[10] === 0xff && addr[11] === 0xff;
}

/**
 * A set of CIDRs (IPv4 and IPv6, possibly overlapping), each with a value.
 * A lookup returns the values of every CIDR that contains the address, least
 * specific first. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 CIDRs.
 */
export class CidrSet<T> {
  private readonly v4 = new BitTrie<T>();
  private readonly v6 = new BitTrie<T>();
  readonly size: number;

  /** Throws CidrError for a CIDR that does not parse. */
  constructor(entries: Iterable<readonly [cidr: string | ParsedCidr, value: T]>) {
    let size = 0;
    for (const [cidr, value] of entries) {
      const parsed = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
      (parsed.version === 4 ? this.v4 : this.v6).insert(parsed.bytes, parsed.prefix, value);
      size++;
    }
    this.size = size;
    this.v4.seal();
    this.v6.seal();
  }

  /** Values for an address given as 4 or 16 bytes (as in Flow.clientAddr/serverAddr). */
  lookupBytes(addr: Uint8Array): readonly T[] {
    if (addr.length === 4) return this.v4.lookup(addr, 0, 32);
    if (addr.length !== 16) return EMPTY;
    return isV4Mapped(addr) ? this.v4.lookup(addr, 12, 32) : this.v6.lookup(addr, 0, 128);
  }

  /** Values for an IPv4 address as an unsigned 32-bit number (FlowRecord.ip4). */
  lookupV4(addr: number): readonly T[] {
    return this.v4.lookupU32(addr);
  }

  /** Values for an address as text; none for text that is not an address. */
  lookup(ip: string): readonly T[] {
    const bytes = parseIp(ip);
    return bytes ? this.lookupBytes(bytes) : EMPTY;
  }
}

// ---------------------------------------------------------------- host names

/** Lower case, one trailing dot dropped; null for a name with an empty label. */
export function normalizeHostName(name: string): string | null {
  let n = name.toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  if (n === '' || n.startsWith('.') || n.includes('..')) return null;
  return n;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * Why a host pattern is invalid, or null if it is valid. A pattern is dot-separated
 * labels (letters, digits, hyphens), optionally starting with "*." and with
 * placeholders from `placeholders` ("{region}") inside labels.
 */
export function hostPatternProblem(pattern: string, placeholders: readonly string[]): string | null {
  const lower = pattern.toLowerCase();
  for (const m of lower.matchAll(PLACEHOLDER))
    if (!placeholders.includes(m[1]))
      return `unknown placeholder "{${m[1]}}"${placeholders.length ? ` (known: ${placeholders.map((p) => `{${p}}`).join(', ')})` : ''}`;
  const body = lower.startsWith('*.') ? lower.slice(2) : lower;
  const labels = body.replace(PLACEHOLDER, 'x').split('.');
  if (labels.length < 2) return 'it needs at least two labels after any "*." (e.g. "example.com")';
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined)
    return bad.includes('*')
      ? '"*" is allowed only as the whole first label ("*.example.com")'
      : `label "${bad}" must be letters, digits and inner hyphens`;
  return null;
}

export interface ExpandedPattern {
  /** Concrete pattern: an exact name or "*.suffix". */
  pattern: string;
  /** Placeholder values used, e.g. { region: "us1" }. */
  bindings: Record<string, string>;
}

/** Substitute every combination of placeholder values into a (valid, lower-case) pattern. */
export function expandPattern(pattern: string, values: Readonly<Record<string, readonly string[]>>): ExpandedPattern[] {
  const m = /\{([^{}]*)\}/.exec(pattern);
  if (!m) return [{ pattern, bindings: {} }];
  const name = m[1];
  const out: ExpandedPattern[] = [];
  for (const v of values[name] ?? []) {
    const substituted = pattern.slice(0, m.index) + v + pattern.slice(m.index + m[0].length);
    for (const e of expandPattern(substituted, values)) out.push({ pattern: e.pattern, bindings: { [name]: v, ...e.bindings } });
  }
  return out;
}

/**
 * Concrete host patterns → values. Exact names beat wildcards; among wildcards the
 * longest suffix wins; for the same concrete pattern the first entry wins.
 */
export class HostMatcher<T> {
  private readonly exact = new Map<string, T>();
  private readonly wildcard = new Map<string, T>();

  constructor(entries: Iterable<{ pattern: string; value: T }>) {
    for (const { pattern, value } of entries) {
      const p = pattern.toLowerCase();
      const [map, key] = p.startsWith('*.') ? [this.wildcard, p.slice(2)] : [this.exact, p];
      if (!map.has(key)) map.set(key, value);
    }
  }

  match(name: string): T | null {
    const n = normalizeHostName(name);
    return n === null ? null : this.matchNormalized(n);
  }

  /** For a name already through normalizeHostName. */
  matchNormalized(n: string): T | null {
    const hit = this.exact.get(n);
    if (hit !== undefined) return hit;
    // Suffixes from the longest: the first hit is the most specific wildcard.
    for (let dot = n.indexOf('.'); dot !== -1; dot = n.indexOf('.', dot + 1)) {
      const w = this.wildcard.get(n.slice(dot + 1));
      if (w !== undefined) return w;
    }
    return null;
  }
}
