/**
 * Builders for tunnel and secure-media messages (samples and tests):
 * GRE, WireGuard, ISAKMP (IKE) headers, ESP, DTLS records. Contents past the
 * headers are deterministic filler: only the framing is realistic.
 */

function filler(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** GRE version 0 header (no optional fields) in front of a payload of `proto` (0x0800 IPv4). */
export function gre(payload: Uint8Array, proto = 0x0800): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out[2] = proto >> 8;
  out[3] = proto & 0xff;
  out.set(payload, 4);
  return out;
}

function le32(out: Uint8Array, off: number, v: number): void {
  out[off] = v & 0xff;
  out[off + 1] = (v >>> 8) & 0xff;
  out[off + 2] = (v >>> 16) & 0xff;
  out[off + 3] = (v >>> 24) & 0xff;
}

/** WireGuard handshake initiation (148 bytes). */
export function wgInitiation(senderIndex: number): Uint8Array {
  const out = filler(148, senderIndex);
  out.set([1, 0, 0, 0], 0);
  le32(out, 4, senderIndex);
  return out;
}

/** WireGuard handshake response (92 bytes). */
export function wgResponse(senderIndex: number, receiverIndex: number): Uint8Array {
  const out = filler(92, senderIndex ^ receiverIndex);
  out.set([2, 0, 0, 0], 0);
  le32(out, 4, senderIndex);
  le32(out, 8, receiverIndex);
  return out;
}

/** WireGuard transport data: 16-byte header, encrypted payload padded to 16, 16-byte tag. */
export function wgData(receiverIndex: number, counter: number, plainLen: number): Uint8Array {
  const padded = Math.ceil(plainLen / 16) * 16;
  const out = filler(16 + padded + 16, receiverIndex + counter);
  out.set([4, 0, 0, 0], 0);
  le32(out, 4, receiverIndex);
  le32(out, 8, counter);
  le32(out, 12, 0);
  return out;
}

/** An IKEv2 message header (IKE_SA_INIT by default) with `bodyLen` bytes of payload. */
export function ikeV2(o: { initiatorSpi: number; responderSpi?: number; exchange?: number; response?: boolean; bodyLen?: number }): Uint8Array {
  const bodyLen = o.bodyLen ?? 220;
  const out = new Uint8Array(28 + bodyLen);
  out.set(filler(bodyLen, o.initiatorSpi), 28);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x1c2d3e4f);
  dv.setUint32(4, o.initiatorSpi >>> 0);
  dv.setUint32(12, (o.responderSpi ?? 0) >>> 0);
  out[16] = 33; // next payload: SA
  out[17] = 0x20;
  out[18] = o.exchange ?? 34;
  out[19] = o.response ? 0x20 : 0x08;
  dv.setUint32(24, out.length);
  return out;
}

/** ESP header (SPI, sequence) and encrypted filler. */
export function esp(spi: number, seq: number, len = 120): Uint8Array {
  const out = filler(8 + len, spi ^ seq);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, spi >>> 0);
  dv.setUint32(4, seq >>> 0);
  return out;
}

/** A DTLS 1.2 record: content type (22 handshake, 23 application data), epoch, sequence, filler body. */
export function dtlsRecord(contentType: number, epoch: number, seq: number, bodyLen: number, handshakeType?: number): Uint8Array {
  const out = new Uint8Array(13 + bodyLen);
  out.set(filler(bodyLen, seq + 7 * contentType), 13);
  out[0] = contentType;
  out[1] = 0xfe;
  out[2] = 0xfd;
  out[3] = epoch >> 8;
  out[4] = epoch & 0xff;
  // 48-bit sequence number at 5..10: the low 24 bits are enough here.
  out[8] = (seq >>> 16) & 0xff;
  out[9] = (seq >>> 8) & 0xff;
  out[10] = seq & 0xff;
  new DataView(out.buffer).setUint16(11, bodyLen);
  if (handshakeType !== undefined && bodyLen >= 12) {
    out[13] = handshakeType;
    const len = bodyLen - 12;
    out[14] = (len >>> 16) & 0xff;
    out[15] = (len >>> 8) & 0xff;
    out[16] = len & 0xff;
    out[17] = 0;
    out[18] = 0; // message_seq
    out[19] = out[20] = out[21] = 0; // fragment offset
    out[22] = (len >>> 16) & 0xff;
    out[23] = (len >>> 8) & 0xff;
    out[24] = len & 0xff;
  }
  return out;
}

/** An RTCP receiver report (PT 201) with one report block. */
export function rtcpReceiverReport(ssrc: number, sourceSsrc: number, fractionLost: number, cumulativeLost: number, jitter: number): Uint8Array {
  const out = new Uint8Array(32);
  const dv = new DataView(out.buffer);
  out[0] = 0x81;
  out[1] = 201;
  dv.setUint16(2, 7);
  dv.setUint32(4, ssrc >>> 0);
  dv.setUint32(8, sourceSsrc >>> 0);
  dv.setUint32(12, ((fractionLost & 0xff) << 24) | (cumulativeLost & 0xffffff));
  dv.setUint32(20, jitter >>> 0);
  return out;
}
