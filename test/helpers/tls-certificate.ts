/** TLS Certificate records for tests: a minimal DER certificate and the handshake record carrying it. */

/** A minimal DER X.509 certificate with subject CN/O, issuer CN and SAN dNSNames. */
export function certificate(cn: string, issuer: string, sans: string[]): Uint8Array {
  const tlv = (tag: number, body: number[]): number[] => {
    const len = body.length;
    const hdr = len < 128 ? [len] : len < 256 ? [0x81, len] : [0x82, len >> 8, len & 255];
    return [tag, ...hdr, ...body];
  };
  const str = (s: string) => [...Buffer.from(s, 'utf8')];
  const atv = (oid: number, value: string, tag = 0x0c) => tlv(0x31, tlv(0x30, [...tlv(0x06, [0x55, 0x04, oid]), ...tlv(tag, str(value))]));
  const name = (...rdns: number[][]) => tlv(0x30, rdns.flat());
  const san = tlv(0x30, [
    ...tlv(0x06, [0x55, 0x1d, 0x11]),
    ...tlv(0x04, tlv(0x30, sans.flatMap((s) => tlv(0x82, str(s))))),
  ]);
  const tbs = tlv(0x30, [
    ...tlv(0xa0, tlv(0x02, [2])),
    ...tlv(0x02, [1]),
    ...tlv(0x30, tlv(0x06, [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])),
    ...name(atv(3, issuer, 0x13)),
    ...tlv(0x30, []),
    ...name(atv(6, 'US', 0x13), atv(10, 'Twilio, Inc.'), atv(3, cn)),
    ...tlv(0x30, []),
    ...tlv(0xa3, tlv(0x30, san)),
  ]);
  return Uint8Array.from(tlv(0x30, [...tbs, ...tlv(0x30, []), ...tlv(0x03, [0])]));
}

/** Handshake record(s) holding a Certificate message with one certificate. */
export function certificateRecord(der: Uint8Array): Uint8Array {
  const u24 = (v: number) => [v >> 16, (v >> 8) & 255, v & 255];
  const body = [...u24(der.length + 3), ...u24(der.length), ...der];
  const hs = [11, ...u24(body.length), ...body];
  return Uint8Array.from([22, 3, 3, hs.length >> 8, hs.length & 255, ...hs]);
}
