/**
 * Packet decoding entry points: link layer to transport, in place into a
 * reused PacketView (gopacket DecodingLayerParser style). Each layer decodes
 * its own header and names the next; nothing allocates and nothing throws;
 * a header that does not fit sets view.malformed and decoding stops there.
 */
import { decodeIcmp } from './icmp.js';
import { decodeIpv4, decodeIpv6, ipEnd } from './ip.js';
import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  decodeEthernet,
  decodeNull,
  decodePpp,
  decodeRawIp,
  decodeSll,
  decodeSll2,
} from './link.js';
import { decodeSctp, decodeTcp, decodeUdp, setPayload } from './transport.js';
import { decodeEsp, decodeGre } from './tunnel-headers.js';
import {
  IPPROTO_ESP,
  IPPROTO_GRE,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  type PacketView,
} from './view.js';

export { verifyTransportChecksum } from './checksum.js';

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_PPP = 9;
/** DLT_RAW as numbered on OpenBSD (12) and BSD/OS (14). */
export const LINKTYPE_RAW_OPENBSD = 12;
export const LINKTYPE_RAW_BSDOS = 14;
export const LINKTYPE_PPP_HDLC = 50;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_PPP_PPPD = 204;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

export type InnerKind = 'ethernet' | 'ipv4' | 'ipv6' | 'ip' | 'ppp';

/**
 * Reset `view` and decode one captured packet of the given LINKTYPE_* as far
 * as possible. The packet is data[start, end): by default all of data; a
 * reader hands its own buffer and the packet's place in it (no subarray per
 * packet), and every offset in the view is then an offset into that buffer.
 */
export function decodePacket(view: PacketView, data: Uint8Array, linkType: number, start = 0, end = data.length): void {
  if (end > data.length) end = data.length;
  view.reset(data, linkType, end);
  let off: number;
  // Literals on the per-packet path: Node 20 loads and hole-checks a module constant at every use.
  if (linkType === 1 /* LINKTYPE_ETHERNET */) off = decodeEthernet(view, data, start, end);
  else switch (linkType) {
    case LINKTYPE_ETHERNET:
      off = decodeEthernet(view, data, start, end);
      break;
    case LINKTYPE_LINUX_SLL:
      off = decodeSll(view, data, start, end);
      break;
    case LINKTYPE_LINUX_SLL2:
      off = decodeSll2(view, data, start, end);
      break;
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_OPENBSD:
    case LINKTYPE_RAW_BSDOS:
      off = decodeRawIp(view, data, start, end);
      break;
    case LINKTYPE_IPV4:
      view.etherType = ETHERTYPE_IPV4;
      off = start;
      break;
    case LINKTYPE_IPV6:
      view.etherType = ETHERTYPE_IPV6;
      off = start;
      break;
    case LINKTYPE_NULL:
      off = decodeNull(view, data, start, end, false);
      break;
    case LINKTYPE_LOOP:
      off = decodeNull(view, data, start, end, true);
      break;
    case LINKTYPE_PPP:
    case LINKTYPE_PPP_HDLC:
    case LINKTYPE_PPP_PPPD:
      off = decodePpp(view, data, start, end);
      break;
    default:
      view.malformed = 'link-unsupported';
      return;
  }
  if (off >= 0) decodeNetwork(view, data, off, end);
}

/**
 * Reset `view` (buf = data) and decode an inner packet in data[off, end):
 * used by the engine to decapsulate GRE, L2TP and IP-in-IP payloads.
 * view.linkType is set to the LINKTYPE_* equivalent of `kind`.
 */
export function decodeAt(view: PacketView, data: Uint8Array, off: number, end: number, kind: InnerKind): void {
  if (end > data.length) end = data.length;
  if (off < 0) off = 0;
  let next: number;
  switch (kind) {
    case 'ethernet':
      view.reset(data, LINKTYPE_ETHERNET, end);
      next = decodeEthernet(view, data, off, end);
      break;
    case 'ppp':
      view.reset(data, LINKTYPE_PPP, end);
      next = decodePpp(view, data, off, end);
      break;
    case 'ipv4':
      view.reset(data, LINKTYPE_IPV4, end);
      view.etherType = ETHERTYPE_IPV4;
      next = off;
      break;
    case 'ipv6':
      view.reset(data, LINKTYPE_IPV6, end);
      view.etherType = ETHERTYPE_IPV6;
      next = off;
      break;
    case 'ip':
      view.reset(data, LINKTYPE_RAW, end);
      next = decodeRawIp(view, data, off, end);
      break;
  }
  if (next >= 0) decodeNetwork(view, data, next, end);
}

function decodeNetwork(view: PacketView, buf: Uint8Array, off: number, end: number): void {
  let l4: number;
  if (view.etherType === 0x0800 /* ETHERTYPE_IPV4 */) l4 = decodeIpv4(view, buf, off, end);
  else if (view.etherType === 0x86dd /* ETHERTYPE_IPV6 */) l4 = decodeIpv6(view, buf, off, end);
  else return;
  if (l4 < 0) return;
  const l4End = ipEnd(view, end);
  // A non-first fragment carries no transport header: hand its data on as payload.
  if (view.fragOffset > 0) {
    setPayload(view, l4, l4End);
    return;
  }
  const proto = view.proto;
  if (proto === 17 /* IPPROTO_UDP */) decodeUdp(view, buf, l4, l4End);
  else if (proto === 6 /* IPPROTO_TCP */) decodeTcp(view, buf, l4, l4End);
  else switch (proto) {
    case IPPROTO_ICMP:
      decodeIcmp(view, buf, l4, l4End, false);
      break;
    case IPPROTO_ICMPV6:
      decodeIcmp(view, buf, l4, l4End, true);
      break;
    case IPPROTO_SCTP:
      decodeSctp(view, buf, l4, l4End);
      break;
    case IPPROTO_GRE:
      decodeGre(view, buf, l4, l4End);
      break;
    case IPPROTO_ESP:
      decodeEsp(view, buf, l4, l4End);
      break;
    default:
      // IP-in-IP, IPv6-in-IP and the rest: the payload is the IP payload.
      setPayload(view, l4, l4End);
  }
}
