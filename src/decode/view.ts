/**
 * PacketView: the decoded layers of one packet, gopacket style.
 * One instance is allocated once and overwritten for every packet (reset()).
 * All offsets point into `buf`, which holds the packet (up to `end`) and is
 * valid only until the next packet. Nothing here allocates per packet.
 */

import { ipv4HeaderChecksumOk } from './inet-sum.js';

export const IPPROTO_ICMP = 1;
export const IPPROTO_IGMP = 2;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_GRE = 47;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

/** Why a packet was not fully decoded. Counted per reason in the report. */
export type MalformedReason =
  | 'link-truncated'
  | 'link-unsupported'
  | 'vlan-truncated'
  | 'mpls-truncated'
  | 'ip-truncated'
  | 'ip-bad-version'
  | 'ip-bad-header-length'
  | 'ip-bad-total-length'
  | 'ipv6-ext-truncated'
  | 'tcp-truncated'
  | 'tcp-bad-offset'
  | 'udp-truncated'
  | 'udp-bad-length'
  | 'icmp-truncated'
  | 'gre-truncated'
  | 'esp-truncated'
  | 'pppoe-truncated'
  | 'vlan-too-deep'
  | 'mpls-too-deep'
  | 'ipv6-ext-too-many'
  | 'ah-truncated'
  | 'gre-bad-version'
  | 'sctp-truncated';

/** Bits of PacketView.greFlags. */
export const GRE_CHECKSUM = 0x8000;
export const GRE_ROUTING = 0x4000;
export const GRE_KEY = 0x2000;
export const GRE_SEQ = 0x1000;
export const GRE_ACK = 0x0080;

export const MAX_VLANS = 4;
export const MAX_MPLS = 8;

export class PacketView {
  /** The buffer holding the packet (borrowed): the packet itself, or the reader's chunk it lies in. */
  buf: Uint8Array = new Uint8Array(0);
  /**
   * A DataView of buf, made when buf changes (per read chunk): the decoders read 16- and 32-bit header
   * fields through it, one bounds check per field instead of one per byte.
   */
  dv: DataView = new DataView(this.buf.buffer);
  /** Capture time of the packet, seconds since the epoch: set by whoever hands the view on (decoding leaves it). */
  ts = 0;
  /** End of the packet's captured bytes in buf: nothing at or after it belongs to the packet. */
  end = 0;
  linkType = 0;

  // ---- link layer ----
  /** EtherType / protocol of the network layer after link, VLAN and MPLS (0 if none). */
  etherType = 0;
  vlanCount = 0;
  readonly vlanIds = new Uint16Array(MAX_VLANS);
  mplsCount = 0;
  /** MPLS labels (20-bit), outermost first. */
  readonly mplsLabels = new Uint32Array(MAX_MPLS);
  /** PPPoE session seen. */
  pppoe = false;
  /** True if an ARP packet (etherType 0x0806). */
  arp = false;

  // ---- network layer ----
  /** 0 when there is no IP layer, else 4 or 6. */
  ipVersion: 0 | 4 | 6 = 0;
  /** Offset of the IP header in buf. */
  ipOff = 0;
  ipHeaderLen = 0;
  /** Total IP packet length claimed by the header (v4 total length, v6 40 + payload length). */
  ipTotalLen = 0;
  ttl = 0;
  /** 4 or 16. */
  addrLen = 0;
  srcOff = 0;
  dstOff = 0;
  /** IP protocol / IPv6 next header of the transport (after extension headers). */
  proto = 0;
  ipId = 0;
  dontFragment = false;
  /** True for any fragment (offset > 0 or more-fragments). */
  isFragment = false;
  fragOffset = 0;
  moreFragments = false;
  /** A whole IPv4 header was decoded: ipChecksumOk can verify it. */
  ip4HeaderDecoded = false;

  // ---- transport layer ----
  /** Offset of the transport header; 0 if none decoded. */
  l4Off = 0;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  tcpSeq = 0;
  tcpAck = 0;
  tcpWindow = 0;
  /** MSS option value, 0 if absent. */
  tcpMss = 0;
  tcpHeaderLen = 0;
  /** UDP length field. */
  udpLen = 0;
  /** Offset and captured length of the transport payload (bounded by caplen and the IP length). */
  payloadOff = 0;
  payloadLen = 0;
  /** Payload length on the wire according to the headers (may exceed payloadLen if snapped). */
  payloadWireLen = 0;

  /** An ICMP, GRE or ESP decoder wrote the fields below (reset() clears them then). */
  icmpOrTunnel = false;

  // ---- ICMP / ICMPv6 ----
  icmpType = -1;
  icmpCode = -1;
  /** For ICMP errors: the embedded original datagram's header, decoded as far as captured. */
  icmpInner = false;
  innerVersion: 0 | 4 | 6 = 0;
  innerProto = 0;
  innerSrcOff = 0;
  innerDstOff = 0;
  innerSrcPort = 0;
  innerDstPort = 0;

  // ---- tunnels (headers only; decapsulation is done by the engine) ----
  /** GRE: version, protocol type, and offset/length of the GRE payload. */
  greVersion = -1;
  greProto = 0;
  greKey: number | null = null;
  /** GRE flags and version word (first 16 bits); GRE_* bits say which optional fields below are present. */
  greFlags = 0;
  /** GRE checksum field (present when GRE_CHECKSUM). */
  greChecksum = 0;
  /** GRE sequence number (present when GRE_SEQ). */
  greSeq = 0;
  /** GRE (enhanced, version 1) acknowledgment number (present when GRE_ACK). */
  greAck = 0;
  /** ESP SPI (for ESP or UDP-encapsulated ESP if detected later), else null. */
  espSpi: number | null = null;
  espSeq = 0;

  /** First reason decoding stopped early; null if fully decoded (or simply non-IP). */
  malformed: MalformedReason | null = null;
  /** Headers claimed more bytes than were captured (snaplen), not an error. */
  truncated = false;

  reset(buf: Uint8Array, linkType: number, end = buf.length): void {
    // Stored only when the buffer changes (a reader's next chunk): the store of a pointer goes through the
    // garbage collector's write barrier, whose slow path it took for every packet.
    if (this.buf !== buf) this.useBuffer(buf);
    this.end = end;
    this.linkType = linkType;
    this.etherType = 0;
    this.vlanCount = 0;
    this.mplsCount = 0;
    this.pppoe = false;
    this.arp = false;
    this.ipVersion = 0;
    this.ipOff = 0;
    this.ipHeaderLen = 0;
    this.ipTotalLen = 0;
    this.ttl = 0;
    this.addrLen = 0;
    this.srcOff = 0;
    this.dstOff = 0;
    this.proto = 0;
    this.ipId = 0;
    this.dontFragment = false;
    this.isFragment = false;
    this.fragOffset = 0;
    this.moreFragments = false;
    this.ip4HeaderDecoded = false;
    this.l4Off = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.tcpWindow = 0;
    this.tcpMss = 0;
    this.tcpHeaderLen = 0;
    this.udpLen = 0;
    this.payloadOff = 0;
    this.payloadLen = 0;
    this.payloadWireLen = 0;
    if (this.icmpOrTunnel) this.resetIcmpAndTunnel();
    this.malformed = null;
    this.truncated = false;
  }

  private useBuffer(buf: Uint8Array): void {
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Most packets are TCP or UDP: these fields are cleared only after a packet that set them. */
  private resetIcmpAndTunnel(): void {
    this.icmpOrTunnel = false;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.icmpInner = false;
    this.innerVersion = 0;
    this.innerProto = 0;
    this.innerSrcOff = 0;
    this.innerDstOff = 0;
    this.innerSrcPort = 0;
    this.innerDstPort = 0;
    this.greVersion = -1;
    this.greProto = 0;
    this.greKey = null;
    this.greFlags = 0;
    this.greChecksum = 0;
    this.greSeq = 0;
    this.greAck = 0;
    this.espSpi = null;
    this.espSeq = 0;
  }
  /**
   * Whether the IPv4 header checksum verifies; null without a whole IPv4
   * header. Computed when read: nothing on the per-packet path needs it.
   */
  get ipChecksumOk(): boolean | null {
    return this.ip4HeaderDecoded ? ipv4HeaderChecksumOk(this.buf, this.ipOff, this.ipHeaderLen) : null;
  }


  /** The transport payload as a view (borrowed). */
  payload(): Uint8Array {
    return this.buf.subarray(this.payloadOff, this.payloadOff + this.payloadLen);
  }
}

/**
 * Char-code lists for formatIp4, one per length of a dotted quad (7 to 15
 * characters), each filled in place: a single list emptied with `length = 0`
 * lost its backing store and grew it again push by push, for every address.
 */
const ipChars: number[][] = Array.from({ length: 16 }, (_, n) => Array.from({ length: n }, () => 0));

/**
 * A dotted quad as formatIp4 writes it (four decimal parts 0–255 without
 * leading zeros) as an unsigned number; -1 for any other text.
 */
export function parseIp4(text: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      dots++;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && part === 0) return -1; // leading zero
      part = part * 10 + (c - 0x30);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? value * 256 + part : -1;
}

/**
 * Dotted quad of an IPv4 address given as a 32-bit number. Built from char
 * codes so the result is one flat string: a template literal would leave a
 * tree of cons strings (~100 bytes more) in every flow and report that keeps it.
 */
export function formatIp4(v: number): string {
  let len = 3; // the dots
  for (let shift = 24; shift >= 0; shift -= 8) {
    const b = (v >>> shift) & 0xff;
    len += b >= 100 ? 3 : b >= 10 ? 2 : 1;
  }
  const out = ipChars[len];
  let k = 0;
  for (let shift = 24; shift >= 0; shift -= 8) {
    const b = (v >>> shift) & 0xff;
    if (b >= 100) out[k++] = 48 + ((b / 100) | 0);
    if (b >= 10) out[k++] = 48 + (((b / 10) | 0) % 10);
    out[k++] = 48 + (b % 10);
    if (shift > 0) out[k++] = 46;
  }
  return String.fromCharCode.apply(null, out);
}

/** Format 4 or 16 address bytes at `off` as text (allocates: use for output, not per packet). */
export function formatIp(buf: Uint8Array, off: number, len: number): string {
  if (len === 4) return formatIp4(((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0);
  // RFC 5952: lower-case hex, longest run of >= 2 zero groups compressed.
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((buf[off + i] << 8) | buf[off + i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // IPv4-mapped ::ffff:a.b.c.d
  if (bestStart === 0 && bestLen === 5 && g[5] === 0xffff) {
    return `::ffff:${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  }
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      parts.push(i === 0 ? ':' : '');
      i += bestLen - 1;
      if (i === 7) parts.push('');
      continue;
    }
    parts.push(g[i].toString(16));
  }
  return parts.join(':');
}
