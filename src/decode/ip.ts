/**
 * IPv4 and IPv6 decoders. Each returns the offset of the transport header
 * (after IPv4 options, IPv6 extension headers and AH; view.proto names it) or
 * -1 when decoding stopped (view.malformed says why). For a non-first
 * fragment the returned offset is the start of the fragment data.
 *
 * `end` is the end of the captured bytes. The header's own length bounds the
 * packet: a longer capture is Ethernet padding, a shorter one sets
 * view.truncated.
 */
import { be16 } from './be.js';
import { fail } from './link.js';
import { IPPROTO_AH, type MalformedReason, type PacketView } from './view.js';

const IPPROTO_HOPOPTS = 0;
const IPPROTO_ROUTING = 43;
const IPPROTO_FRAGMENT = 44;
export const IPPROTO_NONE = 59;
const IPPROTO_DSTOPTS = 60;

/** Extension headers (and AH) followed before giving up: real stacks use a handful. */
export const MAX_IP_EXTENSIONS = 8;

/**
 * Result of walkExtensions. Module-level and overwritten by every call so the
 * walk allocates nothing; read it immediately after the call.
 */
export const ext = {
  off: 0,
  proto: 0,
  fragment: false,
  fragOffset: 0,
  moreFragments: false,
  fragId: 0,
  error: null as MalformedReason | null,
};

/**
 * Skip AH and, for IPv6, hop-by-hop / routing / destination-options headers,
 * recording a fragment header. Stops at the first other protocol (ESP and
 * no-next-header included) or at a non-first fragment.
 */
export function walkExtensions(buf: Uint8Array, off: number, end: number, proto: number, v6: boolean): void {
  ext.fragment = false;
  ext.fragOffset = 0;
  ext.moreFragments = false;
  ext.fragId = 0;
  ext.error = null;
  for (let n = 0; ; n++) {
    let len: number;
    if (proto === IPPROTO_AH) {
      if (off + 8 > end) {
        ext.error = 'ah-truncated';
        break;
      }
      len = (buf[off + 1] + 2) * 4;
      if (off + len > end) {
        ext.error = 'ah-truncated';
        break;
      }
    } else if (!v6) break;
    else if (proto === IPPROTO_HOPOPTS || proto === IPPROTO_ROUTING || proto === IPPROTO_DSTOPTS) {
      if (off + 8 > end) {
        ext.error = 'ipv6-ext-truncated';
        break;
      }
      len = (buf[off + 1] + 1) * 8;
      if (off + len > end) {
        ext.error = 'ipv6-ext-truncated';
        break;
      }
    } else if (proto === IPPROTO_FRAGMENT) {
      if (off + 8 > end) {
        ext.error = 'ipv6-ext-truncated';
        break;
      }
      len = 8;
      const offFlags = be16(buf, off + 2);
      ext.fragOffset = offFlags & 0xfff8;
      ext.moreFragments = (offFlags & 1) === 1;
      ext.fragment = ext.fragOffset > 0 || ext.moreFragments;
      // Inline, not be32(): a non-inlined call returning a large number would box it.
      ext.fragId = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
    } else break;
    if (n === MAX_IP_EXTENSIONS) {
      ext.error = 'ipv6-ext-too-many';
      break;
    }
    proto = buf[off];
    off += len;
    if (ext.fragOffset > 0) break;
  }
  ext.off = off;
  ext.proto = proto;
}

/** buf is view.buf (decodePacket and decodeAt reset the view with it), read through view.dv. */
export function decodeIpv4(view: PacketView, buf: Uint8Array, off: number, end: number): number {
  view.ipOff = off;
  if (off + 20 > end) return fail(view, 'ip-truncated');
  // The first 12 bytes as three 32-bit words (signed: they stay small integers).
  const dv = view.dv;
  const w0 = dv.getInt32(off); // version/IHL, DSCP/ECN, total length
  const w1 = dv.getInt32(off + 4); // identification, flags/fragment offset
  const w2 = dv.getInt32(off + 8); // TTL, protocol, header checksum
  const vihl = w0 >>> 24;
  if (vihl >> 4 !== 4) return fail(view, 'ip-bad-version');
  const hl = (vihl & 0x0f) * 4;
  if (hl < 20) return fail(view, 'ip-bad-header-length');
  if (off + hl > end) return fail(view, 'ip-truncated');
  view.ipHeaderLen = hl;
  let total = w0 & 0xffff;
  // Total length 0 comes from TCP segmentation offload: trust the capture (as Wireshark does).
  if (total === 0) total = end - off;
  else if (total < hl) return fail(view, 'ip-bad-total-length');
  view.ipTotalLen = total;
  if (off + total > end) view.truncated = true;
  view.ipId = w1 >>> 16;
  const offFlags = w1 & 0xffff;
  view.dontFragment = (offFlags & 0x4000) !== 0;
  view.moreFragments = (offFlags & 0x2000) !== 0;
  view.fragOffset = (offFlags & 0x1fff) * 8;
  view.isFragment = view.moreFragments || view.fragOffset > 0;
  view.ttl = w2 >>> 24;
  // Set with the addresses, not before the checks: the flow table keys any packet with an IP version
  // by its addresses, and a header cut short has none (srcOff 0 would read the capture's own bytes).
  view.ipVersion = 4;
  view.addrLen = 4;
  view.srcOff = off + 12;
  view.dstOff = off + 16;
  view.ip4HeaderDecoded = true;
  const proto = (w2 >>> 16) & 0xff;
  view.proto = proto;
  if (proto !== 51 /* IPPROTO_AH */ || view.fragOffset > 0) return off + hl;
  walkExtensions(buf, off + hl, ipEnd(view, end), proto, false);
  view.proto = ext.proto;
  if (ext.error !== null) return fail(view, ext.error);
  return ext.off;
}

export function decodeIpv6(view: PacketView, buf: Uint8Array, off: number, end: number): number {
  view.ipOff = off;
  if (off + 40 > end) return fail(view, 'ip-truncated');
  if (buf[off] >> 4 !== 6) return fail(view, 'ip-bad-version');
  view.ipHeaderLen = 40;
  const payloadLen = be16(buf, off + 4);
  // Payload length 0 is a jumbogram (or TSO): trust the capture.
  view.ipTotalLen = payloadLen === 0 ? end - off : 40 + payloadLen;
  if (off + view.ipTotalLen > end) view.truncated = true;
  view.ttl = buf[off + 7];
  view.ipVersion = 6; // with the addresses: see decodeIpv4
  view.addrLen = 16;
  view.srcOff = off + 8;
  view.dstOff = off + 24;
  walkExtensions(buf, off + 40, ipEnd(view, end), buf[off + 6], true);
  view.proto = ext.proto;
  if (ext.fragment) {
    view.isFragment = true;
    view.fragOffset = ext.fragOffset;
    view.moreFragments = ext.moreFragments;
    view.ipId = ext.fragId;
  }
  if (ext.error !== null) return fail(view, ext.error);
  return ext.off;
}

/** End of the IP packet in buf: the header's length, bounded by the capture. */
export function ipEnd(view: PacketView, end: number): number {
  const claimed = view.ipOff + view.ipTotalLen;
  return claimed < end ? claimed : end;
}
