/**
 * Tunnel headers: GRE (RFC 2784/2890 version 0, RFC 2637 enhanced version 1
 * used by PPTP, RFC 1701 routing) and ESP. They fill the view and set the
 * payload to the encapsulated bytes; decapsulation is the engine's job
 * (decodeAt with the kind that greProto names).
 */
import { be16, be32 } from './be.js';
import { fail } from './link.js';
import { setPayload } from './transport.js';
import { GRE_ACK, GRE_CHECKSUM, GRE_KEY, GRE_ROUTING, GRE_SEQ, type PacketView } from './view.js';

export function decodeGre(view: PacketView, buf: Uint8Array, off: number, end: number): void {
  view.icmpOrTunnel = true;
  view.l4Off = off;
  if (off + 4 > end) {
    fail(view, 'gre-truncated');
    return;
  }
  const word = be16(buf, off);
  const version = word & 0x7;
  view.greVersion = version;
  view.greProto = be16(buf, off + 2);
  if (version > 1) {
    fail(view, 'gre-bad-version');
    return;
  }
  // The acknowledgment bit exists only in version 1.
  const flags = version === 1 ? word : word & ~GRE_ACK;
  view.greFlags = flags;
  let p = off + 4;
  if (flags & (GRE_CHECKSUM | GRE_ROUTING)) {
    if (p + 4 > end) return void fail(view, 'gre-truncated');
    view.greChecksum = be16(buf, p);
    p += 4;
  }
  if (flags & GRE_KEY) {
    if (p + 4 > end) return void fail(view, 'gre-truncated');
    view.greKey = be32(buf, p);
    p += 4;
  }
  if (flags & GRE_SEQ) {
    if (p + 4 > end) return void fail(view, 'gre-truncated');
    view.greSeq = be32(buf, p);
    p += 4;
  }
  if (flags & GRE_ACK) {
    if (p + 4 > end) return void fail(view, 'gre-truncated');
    view.greAck = be32(buf, p);
    p += 4;
  }
  if (flags & GRE_ROUTING) {
    // RFC 1701 source route entries, ended by address family 0 with length 0; each is at least 4 bytes.
    for (;;) {
      if (p + 4 > end) return void fail(view, 'gre-truncated');
      const family = be16(buf, p);
      const sreLen = buf[p + 3];
      p += 4 + sreLen;
      if (family === 0 && sreLen === 0) break;
    }
    if (p > end) return void fail(view, 'gre-truncated');
  }
  setPayload(view, p, end);
}

/** ESP: SPI and sequence number; the rest is encrypted. */
export function decodeEsp(view: PacketView, buf: Uint8Array, off: number, end: number): void {
  view.icmpOrTunnel = true;
  view.l4Off = off;
  if (off + 8 > end) {
    fail(view, 'esp-truncated');
    return;
  }
  view.espSpi = be32(buf, off);
  view.espSeq = be32(buf, off + 4);
  setPayload(view, off + 8, end);
}
