/**
 * Link-layer decoders: Ethernet (802.1Q/QinQ, MPLS, PPPoE, 802.3 LLC/SNAP),
 * Linux SLL/SLL2, BSD NULL/LOOP and PPP.
 *
 * Each decoder reads only its own header, stores the EtherType of what follows
 * in `view.etherType` and returns the offset where that layer starts, or -1
 * when decoding stopped (`view.malformed` says why; a non-IP frame stops
 * without a reason). `end` is the end of the captured bytes.
 */
import { be16, be32 } from './be.js';
import { MAX_MPLS, MAX_VLANS, type MalformedReason, type PacketView } from './view.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_QINQ_OLD = 0x9100;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_MPLS = 0x8847;
export const ETHERTYPE_MPLS_MULTICAST = 0x8848;
export const ETHERTYPE_PPPOE_SESSION = 0x8864;

/** Largest value of the Ethernet type/length field that is an 802.3 length. */
const MAX_8023_LENGTH = 1500;

export const PPP_IPV4 = 0x0021;
export const PPP_IPV6 = 0x0057;

/** BSD address-family values seen in NULL/LOOP headers. */
const AF_INET = 2;
const AF_INET6_BSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

export function fail(view: PacketView, reason: MalformedReason): -1 {
  view.malformed = reason;
  return -1;
}

/** Ethernet II / 802.3 frame at `off`. */
export function decodeEthernet(view: PacketView, buf: Uint8Array, off: number, end: number): number {
  if (off + 14 > end) return fail(view, 'link-truncated');
  const type = view.dv.getUint16(off + 12); // buf is view.buf (decodePacket and decodeAt reset the view with it)
  // IP straight after the header (nearly every frame), with literals: Node 20 loads and hole-checks a module constant at every use.
  if (type === 0x0800 || type === 0x86dd) {
    view.etherType = type;
    return off + 14;
  }
  return decodeEtherChain(view, buf, off + 14, end, type);
}

/**
 * Walk the headers keyed by an EtherType (VLAN tags, MPLS label stack, PPPoE
 * session, LLC/SNAP) until a network-layer type; every step consumes bytes,
 * and VLAN/MPLS depth is capped, so the loop is bounded.
 */
export function decodeEtherChain(view: PacketView, buf: Uint8Array, off: number, end: number, type: number): number {
  for (;;) {
    switch (type) {
      case ETHERTYPE_VLAN:
      case ETHERTYPE_QINQ:
      case ETHERTYPE_QINQ_OLD:
        if (off + 4 > end) return fail(view, 'vlan-truncated');
        if (view.vlanCount === MAX_VLANS) return fail(view, 'vlan-too-deep');
        view.vlanIds[view.vlanCount++] = be16(buf, off) & 0x0fff;
        type = be16(buf, off + 2);
        off += 4;
        break;
      case ETHERTYPE_MPLS:
      case ETHERTYPE_MPLS_MULTICAST:
        off = decodeMpls(view, buf, off, end);
        if (off < 0) return -1;
        type = view.etherType;
        if (type !== 0) return off;
        // Pseudowire: control word, then a whole Ethernet frame.
        if (off + 18 > end) return fail(view, 'mpls-truncated');
        type = be16(buf, off + 16);
        off += 18;
        break;
      case ETHERTYPE_PPPOE_SESSION:
        view.pppoe = true;
        if (off + 6 > end) return fail(view, 'pppoe-truncated');
        return decodePpp(view, buf, off + 6, end);
      default:
        if (type <= MAX_8023_LENGTH) return decodeLlc(view, buf, off, end);
        view.etherType = type;
        if (type === ETHERTYPE_ARP) view.arp = true;
        return off;
    }
  }
}

/**
 * MPLS label stack. After bottom-of-stack there is no type field, so the
 * payload is sniffed like Wireshark does: first nibble 4 is IPv4, 6 is IPv6,
 * 0 is a pseudowire control word followed by Ethernet (view.etherType = 0 and
 * the returned offset points at the control word); anything else stops.
 */
function decodeMpls(view: PacketView, buf: Uint8Array, off: number, end: number): number {
  for (;;) {
    if (off + 4 > end) return fail(view, 'mpls-truncated');
    if (view.mplsCount === MAX_MPLS) return fail(view, 'mpls-too-deep');
    // label(20) tc(3) bottom-of-stack(1) ttl(8)
    view.mplsLabels[view.mplsCount++] = (buf[off] << 12) | (buf[off + 1] << 4) | (buf[off + 2] >> 4);
    const bottom = buf[off + 2] & 1;
    off += 4;
    if (bottom) break;
  }
  if (off >= end) return fail(view, 'mpls-truncated');
  switch (buf[off] >> 4) {
    case 4:
      view.etherType = ETHERTYPE_IPV4;
      return off;
    case 6:
      view.etherType = ETHERTYPE_IPV6;
      return off;
    case 0:
      view.etherType = 0;
      return off;
    default:
      view.etherType = 0;
      return -1;
  }
}

/** 802.2 LLC; only SNAP (AA AA 03) names a next EtherType. */
function decodeLlc(view: PacketView, buf: Uint8Array, off: number, end: number): number {
  if (off + 3 > end) return fail(view, 'link-truncated');
  if (buf[off] !== 0xaa || buf[off + 1] !== 0xaa || buf[off + 2] !== 0x03) return -1;
  if (off + 8 > end) return fail(view, 'link-truncated');
  const type = be16(buf, off + 6);
  // A SNAP-encapsulated 802.3 length would recurse; treat it as non-IP.
  if (type <= MAX_8023_LENGTH) return -1;
  return decodeEtherChain(view, buf, off + 8, end, type);
}

/** PPP (optional HDLC address/control FF 03, protocol field possibly compressed to one byte). */
export function decodePpp(view: PacketView, buf: Uint8Array, off: number, end: number): number {
  const truncated: MalformedReason = view.pppoe ? 'pppoe-truncated' : 'link-truncated';
  if (off < end && buf[off] === 0xff) {
    // 0xff is the HDLC all-stations address (never a protocol byte): the control byte must follow.
    if (off + 2 > end) return fail(view, truncated);
    if (buf[off + 1] === 0x03) off += 2;
  }
  if (off >= end) return fail(view, truncated);
  let proto: number;
  if (buf[off] & 1) {
    proto = buf[off];
    off += 1;
  } else {
    if (off + 2 > end) return fail(view, truncated);
    proto = be16(buf, off);
    off += 2;
  }
  if (proto === PPP_IPV4) view.etherType = ETHERTYPE_IPV4;
  else if (proto === PPP_IPV6) view.etherType = ETHERTYPE_IPV6;
  else return -1;
  return off;
}

/** Linux cooked capture v1: 16 bytes, protocol (EtherType) last. */
export function decodeSll(view: PacketView, buf: Uint8Array, off: number, end: number): number {
  if (off + 16 > end) return fail(view, 'link-truncated');
  return decodeEtherChain(view, buf, off + 16, end, be16(buf, off + 14));
}

/** Linux cooked capture v2: 20 bytes, protocol (EtherType) first. */
export function decodeSll2(view: PacketView, buf: Uint8Array, off: number, end: number): number {
  if (off + 20 > end) return fail(view, 'link-truncated');
  return decodeEtherChain(view, buf, off + 20, end, be16(buf, off));
}

/**
 * BSD NULL (host byte order, unknown to us) and LOOP (network byte order):
 * a 4-byte address family. For NULL the value is read little-endian and
 * swapped when that puts bits in the upper half; a value above the 802.3
 * length range is an EtherType in its low 16 bits (Wireshark's rules).
 */
export function decodeNull(view: PacketView, buf: Uint8Array, off: number, end: number, networkOrder: boolean): number {
  if (off + 4 > end) return fail(view, 'link-truncated');
  let family = be32(buf, off);
  if (!networkOrder) {
    const le = (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
    if ((le & 0xffff0000) === 0) family = le;
  }
  if (family > MAX_8023_LENGTH) return decodeEtherChain(view, buf, off + 4, end, family & 0xffff);
  if (family === AF_INET) view.etherType = ETHERTYPE_IPV4;
  else if (family === AF_INET6_BSD || family === AF_INET6_FREEBSD || family === AF_INET6_DARWIN) {
    view.etherType = ETHERTYPE_IPV6;
  } else return -1;
  return off + 4;
}

/** Raw IP: the version nibble names the network layer. */
export function decodeRawIp(view: PacketView, buf: Uint8Array, off: number, end: number): number {
  if (off >= end) return fail(view, 'ip-truncated');
  const version = buf[off] >> 4;
  if (version === 4) view.etherType = ETHERTYPE_IPV4;
  else if (version === 6) view.etherType = ETHERTYPE_IPV6;
  else return fail(view, 'ip-bad-version');
  return off;
}
