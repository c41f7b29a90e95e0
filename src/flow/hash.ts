/**
 * Symmetric flow hash (gopacket FastHash style): A->B hashes the same as B->A.
 * Each endpoint (address bytes + port) is hashed with FNV-1a; the two endpoint
 * hashes are combined in sorted order so the direction does not matter.
 * The result is kept to 30 bits so V8 stores it as a small integer (Smi) key.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Keeps hashes in Smi range (fast Map keys). */
export const HASH_MASK = 0x3fffffff;

/** FNV-1a over `len` address bytes at `off`, then the two port bytes. */
export function endpointHash(buf: Uint8Array, off: number, len: number, port: number, seed: number): number {
  let h = FNV_OFFSET ^ seed;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ buf[off + i], FNV_PRIME);
  h = Math.imul(h ^ (port >>> 8), FNV_PRIME);
  h = Math.imul(h ^ (port & 0xff), FNV_PRIME);
  return h >>> 0;
}

/**
 * Endpoint hash of an IPv4 address given as a 32-bit number (the table's fast
 * path; not equal to endpointHash). Signed result: it stays a small integer.
 */
export function endpointHash4(addr: number, port: number, seed: number): number {
  let h = Math.imul(addr ^ seed, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h ^ port, 0x85ebca6b);
  return h ^ (h >>> 13);
}

/**
 * combineHash(endpointHash4(a), endpointHash4(b), proto) in one function, for
 * the flow table's per-packet lookup (one call instead of three).
 */
export function flowHash4(proto: number, a4: number, aPort: number, b4: number, bPort: number, seed: number): number {
  let ha = Math.imul(a4 ^ seed, 0x9e3779b1);
  ha ^= ha >>> 15;
  ha = Math.imul(ha ^ aPort, 0x85ebca6b);
  ha ^= ha >>> 13;
  let hb = Math.imul(b4 ^ seed, 0x9e3779b1);
  hb ^= hb >>> 15;
  hb = Math.imul(hb ^ bPort, 0x85ebca6b);
  hb ^= hb >>> 13;
  const lo = ha < hb ? ha : hb;
  const hi = ha < hb ? hb : ha;
  let h = Math.imul(lo ^ proto, 0x01000193);
  h = Math.imul(h ^ hi, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x3fffffff;
}

/** Combine two endpoint hashes and the protocol, independent of endpoint order. */
export function combineHash(ha: number, hb: number, proto: number): number {
  const lo = ha < hb ? ha : hb;
  const hi = ha < hb ? hb : ha;
  let h = Math.imul(lo ^ proto, FNV_PRIME);
  h = Math.imul(h ^ hi, FNV_PRIME);
  // Final avalanche (murmur3 fmix32) so the low bits depend on every input bit.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & HASH_MASK;
}

/** Symmetric hash of (proto, a:aPort, b:bPort) with addresses read from `buf`. */
export function flowHash(
  proto: number,
  buf: Uint8Array,
  aOff: number,
  aPort: number,
  bOff: number,
  bPort: number,
  addrLen: number,
  seed: number,
): number {
  return combineHash(endpointHash(buf, aOff, addrLen, aPort, seed), endpointHash(buf, bOff, addrLen, bPort, seed), proto);
}
