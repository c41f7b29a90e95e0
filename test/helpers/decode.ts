/** Assertions shared by the decoder unit tests and the decoder fuzz test. */
import { expect } from 'vitest';
import { decodePacket } from '../../src/decode/index.js';
import { PacketView } from '../../src/decode/view.js';

/** Every offset the view exposes stays inside buf; returns the first violation or null. */
export function viewBoundsViolation(view: PacketView): string | null {
  const n = view.buf.length;
  const inside = (off: number, len: number) => off >= 0 && len >= 0 && off + len <= n;
  if (!inside(view.payloadOff, view.payloadLen)) return `payload ${view.payloadOff}+${view.payloadLen} > ${n}`;
  if (view.srcOff !== 0 && !inside(view.srcOff, view.addrLen)) return `src ${view.srcOff}`;
  if (view.dstOff !== 0 && !inside(view.dstOff, view.addrLen)) return `dst ${view.dstOff}`;
  if (view.l4Off > n) return `l4 ${view.l4Off}`;
  if (view.icmpInner) {
    const len = view.innerVersion === 4 ? 4 : 16;
    if (!inside(view.innerSrcOff, len) || !inside(view.innerDstOff, len)) return 'icmp inner addresses';
  }
  if (view.payloadWireLen < view.payloadLen && view.malformed === null) return 'payloadWireLen < payloadLen';
  return null;
}

/**
 * Cut `packet` at every length short of its end: decoding must not throw,
 * must flag the packet (malformed or truncated) and keep offsets in bounds.
 */
export function expectEveryCutFlagged(packet: Uint8Array, linkType: number): void {
  const view = new PacketView();
  for (let n = 0; n < packet.length; n++) {
    decodePacket(view, packet.subarray(0, n), linkType);
    const flagged = view.malformed !== null || view.truncated;
    expect(flagged, `cut at ${n} of ${packet.length} not flagged`).toBe(true);
    expect(viewBoundsViolation(view), `cut at ${n}`).toBeNull();
  }
}
