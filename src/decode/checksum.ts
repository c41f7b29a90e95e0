/** Internet checksums (RFC 1071): IPv4 header, and TCP/UDP over the pseudo-header. */
import { IPPROTO_TCP, IPPROTO_UDP, type PacketView } from './view.js';
import { fold, sumWords } from './inet-sum.js';

/**
 * Verify the TCP or UDP checksum of a decoded packet. Not called per packet:
 * the engine samples it to detect checksum offload (outgoing packets captured
 * before the NIC fills the checksum). Returns null when it cannot be checked:
 * not TCP/UDP, a fragment, a snapped or malformed segment, or a UDP checksum
 * of 0 (sender did not compute one). IPv6 routing headers are not consulted:
 * the pseudo-header uses the packet's destination address.
 */
export function verifyTransportChecksum(view: PacketView): boolean | null {
  const proto = view.proto;
  if ((proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) || view.l4Off === 0) return null;
  if (view.isFragment || view.truncated || view.malformed !== null) return null;
  const buf = view.buf;
  const l4 = view.l4Off;
  let len = view.ipOff + view.ipTotalLen - l4;
  if (proto === IPPROTO_UDP) {
    if (buf[l4 + 6] === 0 && buf[l4 + 7] === 0) return null;
    len = view.udpLen;
  }
  if (len < 8 || l4 + len > view.end) return null;
  let sum = sumWords(buf, view.srcOff, view.addrLen, 0);
  sum = sumWords(buf, view.dstOff, view.addrLen, sum);
  sum += proto + len;
  sum = sumWords(buf, l4, len, sum);
  return fold(sum) === 0xffff;
}
