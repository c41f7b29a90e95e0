/**
 * Bounded intern table for values made from wire bytes (TLS host names, ALPN
 * lists): thousands of connections to the same few hosts share one value, and
 * a hit builds no string at all. Keyed by the raw bytes (FNV-1a hash, then a
 * byte-for-byte compare); when full it starts over, so its memory is bounded
 * whatever the traffic, and a value is only ever a function of its bytes.
 */

/** Builds the value for bytes b[off, off + len); a module-level function, so no closure per call. */
export type WireValueMaker<T> = (b: Uint8Array, off: number, len: number) => T;

interface Entry<T> {
  readonly bytes: Uint8Array;
  readonly value: T;
  /** Next entry with the same hash. */
  readonly next: Entry<T> | null;
}

export const DEFAULT_INTERN_ENTRIES = 1024;
/** Longer byte strings are not interned (no real host name or ALPN list is this long). */
export const MAX_INTERN_BYTES = 512;

export class WireInterner<T> {
  private readonly byHash = new Map<number, Entry<T>>();
  private entries = 0;

  constructor(
    private readonly make: WireValueMaker<T>,
    private readonly maxEntries = DEFAULT_INTERN_ENTRIES,
  ) {}

  /** Values held. */
  get size(): number {
    return this.entries;
  }

  /** The value for b[off, off + len), shared with every earlier call for the same bytes while it is held. */
  get(b: Uint8Array, off: number, len: number): T {
    if (len > MAX_INTERN_BYTES || off < 0 || off + len > b.length) return this.make(b, off, len);
    let hash = 0x811c9dc5;
    for (let i = off, end = off + len; i < end; i++) hash = Math.imul(hash ^ b[i], 0x01000193);
    const head = this.byHash.get(hash) ?? null;
    for (let e = head; e !== null; e = e.next) if (sameBytes(e.bytes, b, off, len)) return e.value;
    const value = this.make(b, off, len);
    if (this.entries >= this.maxEntries) {
      this.byHash.clear();
      this.entries = 0;
    }
    this.byHash.set(hash, { bytes: b.slice(off, off + len), value, next: this.entries === 0 ? null : head });
    this.entries++;
    return value;
  }
}

function sameBytes(kept: Uint8Array, b: Uint8Array, off: number, len: number): boolean {
  if (kept.length !== len) return false;
  for (let i = 0; i < len; i++) if (kept[i] !== b[off + i]) return false;
  return true;
}
