/** The Internet checksum sum (RFC 1071), shared by the IPv4 header check (view.ts) and the TCP/UDP check (checksum.ts). */

/** One's-complement sum of big-endian 16-bit words in buf[off, off + len), not folded. */
export function sumWords(buf: Uint8Array, off: number, len: number, sum: number): number {
  const last = off + (len & ~1);
  for (let i = off; i < last; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (len & 1) sum += buf[last] << 8;
  return sum;
}

/** Sums here stay below 2^32 (at most 32768 words of 0xffff plus the pseudo-header), so >>> is safe. */
export function fold(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum & 0xffff) + (sum >>> 16);
}

export function ipv4HeaderChecksumOk(buf: Uint8Array, off: number, headerLen: number): boolean {
  return fold(sumWords(buf, off, headerLen, 0)) === 0xffff;
}
