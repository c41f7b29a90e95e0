import { describe, expect, it } from 'vitest';
import { tlsClientHello } from '../synth/packets.js';
import { isRdpConnection, isRdpUdpSyn } from './vdi.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('RDP signatures', () => {
  it('recognises X.224 CR/CC with RDP negotiation (bytes from ndpi rdp.pcap, frames 4 and 5)', () => {
    const cr = hex('0300 0013 0ee0 0000 0000 0001 0008 000b 0000 00');
    const cc = hex('0300 0013 0ed0 0000 1234 0002 1f08 0008 0000 00');
    expect(isRdpConnection(cr, 0, cr.length)).toBe('request');
    expect(isRdpConnection(cc, 0, cc.length)).toBe('confirm');
  });

  it('recognises the mstshash cookie without negotiation, and rejects plain ISO-TSAP and TLS', () => {
    const cookie = Buffer.concat([hex('0300 0023 1ee0 0000 0000 00'), Buffer.from('Cookie: mstshash=ALICE\r\n')]);
    expect(isRdpConnection(cookie, 0, cookie.length)).toBe('request');
    const tsap = hex('0300 0016 11e0 0000 0001 00c1 0201 00c2 0201 02c0 010a');
    expect(isRdpConnection(tsap, 0, tsap.length)).toBeNull();
    const ch = tlsClientHello('rdp.example.com');
    expect(isRdpConnection(ch, 0, ch.length)).toBeNull();
  });

  it('recognises the MS-RDPEUDP SYN only at its padded size', () => {
    const syn = new Uint8Array(1232);
    syn.set(hex('ffff ffff 0040 1801'));
    expect(isRdpUdpSyn(syn, 0, 1232, 1232)).toBe(true);
    expect(isRdpUdpSyn(syn, 0, 1200, 1200)).toBe(false);
    syn[7] = 0x00;
    expect(isRdpUdpSyn(syn, 0, 1232, 1232)).toBe(false);
  });
});
