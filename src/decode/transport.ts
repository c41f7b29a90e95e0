/**
 * TCP, UDP and SCTP (ports only). `off` is the transport header, `end` the
 * end of the IP packet bounded by the capture (see ipEnd). Payload fields are
 * bounded by the captured bytes; payloadWireLen is what the headers claim.
 */
import { be16 } from './be.js';
import { fail } from './link.js';
import type { PacketView } from './view.js';

const TCP_OPT_END = 0;
const TCP_OPT_NOP = 1;
const TCP_OPT_MSS = 2;

/** Set ports when the first four bytes are there, even if the rest is cut (as Wireshark shows them). */
/** Both ports as one 32-bit word of view.dv (buf is view.buf: see decodeIpv4). */
function ports(view: PacketView, off: number, end: number): void {
  if (off + 4 > end) return;
  const w = view.dv.getInt32(off);
  view.srcPort = w >>> 16;
  view.dstPort = w & 0xffff;
}

/** Payload from `off`: captured up to `end`, on the wire up to the IP header's length. */
export function setPayload(view: PacketView, off: number, end: number): void {
  view.payloadOff = off;
  view.payloadLen = end > off ? end - off : 0;
  const wireEnd = view.ipOff + view.ipTotalLen;
  view.payloadWireLen = wireEnd > off ? wireEnd - off : 0;
}

export function decodeTcp(view: PacketView, buf: Uint8Array, off: number, end: number): void {
  view.l4Off = off;
  ports(view, off, end);
  if (off + 20 > end) {
    fail(view, 'tcp-truncated');
    return;
  }
  // Words of view.dv (buf is view.buf: see decodeIpv4); V8 compiles DataView reads inline.
  const dv = view.dv;
  view.tcpSeq = dv.getUint32(off + 4);
  view.tcpAck = dv.getUint32(off + 8);
  const w3 = dv.getInt32(off + 12); // data offset, flags, window
  const hl = (w3 >>> 28) * 4;
  view.tcpFlags = (w3 >>> 16) & 0xff;
  view.tcpWindow = w3 & 0xffff;
  if (hl < 20 || off + hl > view.ipOff + view.ipTotalLen) {
    fail(view, 'tcp-bad-offset');
    return;
  }
  if (off + hl > end) {
    fail(view, 'tcp-truncated');
    return;
  }
  view.tcpHeaderLen = hl;
  walkTcpOptions(view, buf, off + 20, off + hl);
  setPayload(view, off + hl, end);
}

/** Only MSS is kept; the walk stops at end-of-options or a malformed length. */
function walkTcpOptions(view: PacketView, buf: Uint8Array, off: number, end: number): void {
  while (off < end) {
    const kind = buf[off];
    if (kind === TCP_OPT_END) return;
    if (kind === TCP_OPT_NOP) {
      off++;
      continue;
    }
    if (off + 2 > end) return;
    const len = buf[off + 1];
    if (len < 2 || off + len > end) return;
    if (kind === TCP_OPT_MSS && len === 4) view.tcpMss = be16(buf, off + 2);
    off += len;
  }
}

/**
 * UDP. The length field must be at least 8 and fit the IP payload; a larger
 * claim is malformed (payload bounded by the IP payload). In a first fragment
 * the length covers the whole datagram, so it is not checked.
 */
export function decodeUdp(view: PacketView, buf: Uint8Array, off: number, end: number): void {
  view.l4Off = off;
  ports(view, off, end);
  if (off + 8 > end) {
    fail(view, 'udp-truncated');
    return;
  }
  const len = view.dv.getUint16(off + 4);
  view.udpLen = len;
  const ipPayloadLen = view.ipOff + view.ipTotalLen - off;
  if (view.isFragment) {
    setPayload(view, off + 8, end);
    return;
  }
  if (len < 8 || len > ipPayloadLen) {
    fail(view, 'udp-bad-length');
    setPayload(view, off + 8, end);
    return;
  }
  const udpEnd = off + len;
  view.payloadOff = off + 8;
  view.payloadLen = (udpEnd < end ? udpEnd : end) - view.payloadOff;
  view.payloadWireLen = len - 8;
}

/** SCTP common header: ports, then chunks (not decoded). */
export function decodeSctp(view: PacketView, buf: Uint8Array, off: number, end: number): void {
  view.l4Off = off;
  ports(view, off, end);
  if (off + 12 > end) {
    fail(view, 'sctp-truncated');
    return;
  }
  setPayload(view, off + 12, end);
}
