/**
 * ICMP and ICMPv6: type, code, and for error messages the embedded original
 * datagram (its IP header and first 8 transport bytes) into view.inner*, so
 * the flow table can attach the error to the flow it is about.
 */
import { be16 } from './be.js';
import { ext, walkExtensions } from './ip.js';
import { fail } from './link.js';
import { setPayload } from './transport.js';
import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, type PacketView } from './view.js';

/** Type, code, checksum and the 4-byte rest-of-header every ICMP message has. */
const ICMP_HEADER_LEN = 8;

/** Destination unreachable, source quench, redirect, time exceeded, parameter problem. */
function isIcmpv4Error(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** Destination unreachable, packet too big, time exceeded, parameter problem. */
function isIcmpv6Error(type: number): boolean {
  return type >= 1 && type <= 4;
}

export function decodeIcmp(view: PacketView, buf: Uint8Array, off: number, end: number, v6: boolean): void {
  view.icmpOrTunnel = true;
  view.l4Off = off;
  if (off + 2 <= end) {
    view.icmpType = buf[off];
    view.icmpCode = buf[off + 1];
  }
  if (off + ICMP_HEADER_LEN > end) {
    fail(view, 'icmp-truncated');
    return;
  }
  setPayload(view, off + ICMP_HEADER_LEN, end);
  if (v6 ? isIcmpv6Error(view.icmpType) : isIcmpv4Error(view.icmpType)) {
    decodeEmbedded(view, buf, off + ICMP_HEADER_LEN, end);
  }
}

/** The quoted datagram: an IP header that must be complete, then ports if at least 4 bytes follow. */
function decodeEmbedded(view: PacketView, buf: Uint8Array, off: number, end: number): void {
  if (off >= end) {
    fail(view, 'icmp-truncated');
    return;
  }
  const version = buf[off] >> 4;
  let l4: number;
  let proto: number;
  if (version === 4) {
    const hl = (buf[off] & 0x0f) * 4;
    if (hl < 20 || off + hl > end) {
      fail(view, 'icmp-truncated');
      return;
    }
    view.innerVersion = 4;
    view.innerSrcOff = off + 12;
    view.innerDstOff = off + 16;
    proto = buf[off + 9];
    l4 = off + hl;
    if ((be16(buf, off + 6) & 0x1fff) !== 0) l4 = -1;
  } else if (version === 6) {
    if (off + 40 > end) {
      fail(view, 'icmp-truncated');
      return;
    }
    view.innerVersion = 6;
    view.innerSrcOff = off + 8;
    view.innerDstOff = off + 24;
    walkExtensions(buf, off + 40, end, buf[off + 6], true);
    proto = ext.proto;
    l4 = ext.error === null && ext.fragOffset === 0 ? ext.off : -1;
  } else return;
  view.icmpInner = true;
  view.innerProto = proto;
  if (l4 >= 0 && l4 + 4 <= end && (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP)) {
    view.innerSrcPort = be16(buf, l4);
    view.innerDstPort = be16(buf, l4 + 2);
  }
}
