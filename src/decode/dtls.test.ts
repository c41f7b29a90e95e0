import { describe, expect, it } from 'vitest';
import { tlsClientHello } from '../synth/packets.js';
import type { TlsHandshakeHandler } from './tls.js';
import {
  DTLS_ENCRYPTED,
  DTLS_SEEN,
  DtlsHandshakeAssembler,
  DtlsRecord,
  parseDtlsRecord,
  scanDtlsDatagram,
} from './dtls.js';

/** A DTLS 1.2 ClientHello built from the TLS one: add the empty cookie, the DTLS headers. */
function dtlsClientHello(sni: string): Uint8Array {
  const tls = tlsClientHello(sni);
  const body = tls.subarray(9);
  // ClientHello body: version(2) random(32) session id(1 + 0) then the cookie.
  const dtlsBody = Uint8Array.from([0xfe, 0xfd, ...body.subarray(2, 35), 0, ...body.subarray(35)]);
  return dtlsRecords(1, dtlsBody, dtlsBody.length);
}

/** Handshake message `type` fragmented into records of at most `frag` body bytes. */
function dtlsRecords(type: number, body: Uint8Array, frag: number): Uint8Array {
  const out: number[] = [];
  const u24 = (v: number) => [v >> 16, (v >> 8) & 255, v & 255];
  for (let off = 0, seq = 0; off < body.length; off += frag, seq++) {
    const piece = body.subarray(off, off + frag);
    const hs = [type, ...u24(body.length), 0, 0, ...u24(off), ...u24(piece.length), ...piece];
    out.push(22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, seq, hs.length >> 8, hs.length & 255, ...hs);
  }
  return Uint8Array.from(out);
}

function recorder() {
  const sni: Array<string | null> = [];
  const alerts: number[][] = [];
  const h: TlsHandshakeHandler = {
    onClientHello: (c) => sni.push(c.sni),
    onServerHello: () => {},
    onCertificate: () => {},
    onAlert: (l, d) => alerts.push([l, d]),
  };
  return { sni, alerts, h };
}

describe('DTLS', () => {
  it('parses the record header', () => {
    const d = dtlsClientHello('webrtc.example');
    const rec = new DtlsRecord();
    expect(parseDtlsRecord(d, 0, d.length, rec)).toBe(d.length);
    expect(rec).toMatchObject({ contentType: 22, version: 0xfefd, epoch: 0, seq: 0, unified: false, bodyOff: 13 });
    for (let end = 0; end < d.length; end++) expect(parseDtlsRecord(d, 0, end, rec)).toBe(-1);
  });

  it('reads the SNI of a ClientHello with a cookie', () => {
    const d = dtlsClientHello('webrtc.example');
    const { sni, h } = recorder();
    expect(scanDtlsDatagram(d, 0, d.length, h, new DtlsHandshakeAssembler())).toBe(DTLS_SEEN);
    expect(sni).toEqual(['webrtc.example']);
  });

  it('reassembles a ClientHello fragmented over datagrams', () => {
    const one = dtlsClientHello('frag.example');
    const body = one.subarray(25);
    const frags = dtlsRecords(1, body, 20);
    const { sni, h } = recorder();
    const asm = new DtlsHandshakeAssembler();
    // One record per datagram.
    for (let off = 0; off < frags.length; ) {
      const len = 13 + ((frags[off + 11] << 8) | frags[off + 12]);
      scanDtlsDatagram(frags, off, off + len, h, asm);
      if (off === 0) scanDtlsDatagram(frags, off, off + len, h, asm); // a retransmitted first fragment changes nothing
      off += len;
    }
    expect(sni).toEqual(['frag.example']);
  });

  it('reads epoch-0 alerts and marks encrypted records, including the DTLS 1.3 unified header', () => {
    const alert = [21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 2, 40];
    const epoch1 = [23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 3, 1, 2, 3];
    const unified = [0x2c, 0x01, 0x00, 0x00, 0x02, 9, 9]; // 001 0 1 1 00: 16-bit seq, length present
    const d = Uint8Array.from([...alert, ...epoch1, ...unified]);
    const { alerts, h } = recorder();
    expect(scanDtlsDatagram(d, 0, d.length, h, new DtlsHandshakeAssembler())).toBe(DTLS_SEEN | DTLS_ENCRYPTED);
    expect(alerts).toEqual([[2, 40]]);
    const rec = new DtlsRecord();
    expect(parseDtlsRecord(d, alert.length + epoch1.length, d.length, rec)).toBe(d.length);
    expect(rec).toMatchObject({ unified: true, seq: 0x0100, bodyLen: 2 });
  });

  it('returns 0 for datagrams that are not DTLS', () => {
    const rtp = Uint8Array.from([0x80, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]);
    expect(scanDtlsDatagram(rtp, 0, rtp.length, recorder().h, new DtlsHandshakeAssembler())).toBe(0);
  });
});
